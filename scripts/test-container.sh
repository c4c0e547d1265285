#!/usr/bin/env bash
# Builds the container image from the Dockerfile with podman and checks that
# it runs as documented: --version shows the injected version, a scrape of a
# fake portal (plain HTTP, and HTTPS with a mounted CA file) gives
# docspace_up 1 with the API key mounted as a file, the process runs as
# 65534:65534 without capabilities, and the image stays under 25 MB.
#
# Needs root and network access to the Go module proxy only: no Docker engine
# and no registry. The builder stage's GO_IMAGE (golang:1.26-bookworm) is
# replaced by a local stand-in image made from this machine's Go toolchain
# and /bin/sh; the final stage is scratch. Everything lives in a private
# podman storage under a temporary directory, removed at exit.
#
# Usage: bash scripts/test-container.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly MAX_IMAGE_BYTES=$((25 * 1000 * 1000))
readonly TEST_VERSION="0.0.0-containertest"
readonly KEY="sk-fake-container-test-$$" # a fake key, accepted only by the fake portal
readonly IN_CONTAINER_KEY=/etc/docspace_exporter/api-key
readonly IN_CONTAINER_CA=/etc/docspace_exporter/ca.pem

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

tmp=""
containers=()
pids=()
podman_cmd=()
cleanup() {
	local rc=$?
	set +e
	if ((${#podman_cmd[@]})); then
		for c in "${containers[@]}"; do
			"${podman_cmd[@]}" rm -f -t 1 "$c" >/dev/null 2>&1
		done
	fi
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [[ -n $tmp && -d $tmp ]]; then
		if ((${#podman_cmd[@]})); then
			"${podman_cmd[@]}" rmi -a -f >/dev/null 2>&1
		fi
		# Anything podman left mounted below the private storage.
		awk -v dir="$tmp/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
			while read -r m; do umount -l "$m"; done
		rm -rf "$tmp"
	fi
	report test-container "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -----------------------------------------------------------------

[[ $EUID -eq 0 ]] || fatal "must run as root (podman with a private vfs storage)"

ensure_tools podman:podman runc:runc openssl:openssl curl:curl ss:iproute2
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || ensure_tools update-ca-certificates:ca-certificates
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || fatal "no /etc/ssl/certs/ca-certificates.crt"

ensure_go

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docspace-container-test.XXXXXX")
mkdir -p "$tmp/storage" "$tmp/runroot" "$tmp/libpod" "$tmp/buildtmp"
podman_cmd=(podman --root "$tmp/storage" --runroot "$tmp/runroot" --tmpdir "$tmp/libpod"
	--storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
run_opts=(--runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network host)
p() { "${podman_cmd[@]}" "$@"; }

used_ports=()
# free_port prints a TCP port on which nothing listens on this machine.
free_port() {
	local port _
	for _ in $(seq 200); do
		port=$((20000 + RANDOM % 30000))
		[[ " ${used_ports[*]} " == *" $port "* ]] && continue
		if [[ -z $(ss -Htln "sport = :$port") ]]; then
			used_ports+=("$port")
			echo "$port"
			return 0
		fi
	done
	return 1
}

# wait_http URL [CURL-ARGS...]: waits up to 30 s for URL to answer 2xx.
wait_http() {
	local url=$1 _
	shift
	for _ in $(seq 60); do
		curl -fsS --max-time 2 -o /dev/null "$@" "$url" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

# --- the stand-in builder image ---------------------------------------------

standin=localhost/docspace-go-builder:test
image=localhost/docspace_exporter:test
start=$SECONDS

goroot=$(go env GOROOT)
rootfs=$tmp/rootfs
mkdir -p "$rootfs/usr/local/go" "$rootfs/tmp" "$rootfs/root" "$rootfs/go"
chmod 1777 "$rootfs/tmp"
tar -C "$goroot" -cf - --exclude=./test --exclude=./doc --exclude=./api --exclude=./misc --exclude=testdata . |
	tar -C "$rootfs/usr/local/go" -xf -
# A shell for RUN, and the CA roots for the module proxy and the final stage.
for f in /bin/sh $(ldd "$(readlink -f /bin/sh)" | grep -o '/[^ ]*') /etc/ssl/certs/ca-certificates.crt; do
	cp -L --parents "$f" "$rootfs/"
done
tar -C "$rootfs" -cf "$tmp/rootfs.tar" .
rm -rf "$rootfs"
p import \
	--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'ENV GOPATH=/go' --change 'ENV HOME=/root' --change 'ENV GOTOOLCHAIN=local' \
	--change "ENV GOPROXY=$(go env GOPROXY)" --change "ENV GOSUMDB=$(go env GOSUMDB)" \
	--change 'WORKDIR /go' \
	"$tmp/rootfs.tar" "$standin" >"$tmp/import.log" 2>&1 || {
	cat "$tmp/import.log"
	fatal "cannot import the stand-in builder image"
}
rm -f "$tmp/rootfs.tar"
pass "stand-in builder image $standin ($(go env GOVERSION)) made in $((SECONDS - start))s"

# --- build --------------------------------------------------------------------

start=$SECONDS
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# --layers=false: commit each stage once; with vfs every layer is a full copy.
if TMPDIR=$tmp/buildtmp timeout 900 "${podman_cmd[@]}" build \
	--isolation chroot --network host --pull=never --layers=false \
	--build-arg GO_IMAGE="$standin" \
	--build-arg TARGETOS="$(go env GOOS)" --build-arg TARGETARCH="$(go env GOARCH)" \
	--build-arg VERSION="$TEST_VERSION" --build-arg REVISION="$revision" \
	--build-arg BRANCH=test --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	-t "$image" -f Dockerfile . >"$tmp/build.log" 2>&1; then
	pass "image built from Dockerfile (FROM $standin, final stage scratch) in $((SECONDS - start))s"
else
	tail -n 40 "$tmp/build.log"
	fatal "image build failed after $((SECONDS - start))s (log above)"
fi
# The build cache holds the module cache; it is no longer needed.
rm -rf "$tmp/buildtmp"

# --- the image's configuration --------------------------------------------------

size=$(p image inspect --format '{{.Size}}' "$image")
if ((size < MAX_IMAGE_BYTES)); then
	pass "image size $size bytes < $MAX_IMAGE_BYTES"
else
	fail "image size $size bytes >= $MAX_IMAGE_BYTES"
fi
expect "image user" "$(p image inspect --format '{{.Config.User}}' "$image")" 65534:65534
expect "image GOGC" "$(p image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" | grep '^GOGC=')" GOGC=50
# shellcheck disable=SC2016 # a Go template, not a shell expansion
expect "image exposed ports" "$(p image inspect --format '{{range $k, $v := .Config.ExposedPorts}}{{$k}}{{end}}' "$image")" 9977/tcp
expect "image entrypoint" "$(p image inspect --format '{{json .Config.Entrypoint}}' "$image")" '["/bin/docspace_exporter"]'
expect "image label org.opencontainers.image.version" \
	"$(p image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$image")" "$TEST_VERSION"

version_out=$(timeout 60 "${podman_cmd[@]}" run --rm "${run_opts[@]}" "$image" --version 2>&1) ||
	fail "--version exited non-zero: $version_out"
if [[ $version_out == *"version $TEST_VERSION"* && $version_out == *"revision: $revision"* ]]; then
	pass "--version: $(head -n 1 <<<"$version_out")"
else
	fail "--version does not show version $TEST_VERSION and revision $revision: $version_out"
fi

# --- fake portals ---------------------------------------------------------------

go build -o "$tmp/fakedocspace" ./cmd/fakedocspace || fatal "cannot build ./cmd/fakedocspace"

# A test CA and a certificate for 127.0.0.1 signed by it.
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$tmp/portal.ext"
if ! {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=docspace_exporter test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
			-keyout "$tmp/portal.key" -out "$tmp/portal.csr" &&
		openssl x509 -req -in "$tmp/portal.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
			-days 2 -extfile "$tmp/portal.ext" -out "$tmp/portal.pem"
} >"$tmp/openssl.log" 2>&1; then
	cat "$tmp/openssl.log"
	fatal "cannot make the test certificates with openssl"
fi
chmod 0644 "$tmp/ca.pem"

http_port=$(free_port) || fatal "no free port"
"$tmp/fakedocspace" --listen-address="127.0.0.1:$http_port" --key="$KEY" 2>"$tmp/fake-http.log" &
pids+=($!)
https_port=$(free_port) || fatal "no free port"
"$tmp/fakedocspace" --listen-address="127.0.0.1:$https_port" --key="$KEY" \
	--tls.cert-file="$tmp/portal.pem" --tls.key-file="$tmp/portal.key" 2>"$tmp/fake-https.log" &
pids+=($!)
wait_http "http://127.0.0.1:$http_port/" || fatal "fake portal on :$http_port did not start"
wait_http "https://127.0.0.1:$https_port/" --cacert "$tmp/ca.pem" || fatal "fake HTTPS portal on :$https_port did not start"

# The key as a file readable only by the container's user, like a secret.
printf '%s\n' "$KEY" >"$tmp/api-key"
chown 65534:65534 "$tmp/api-key"
chmod 0400 "$tmp/api-key"

# run_exporter NAME PORT [ARGS...]: starts the image detached on 127.0.0.1:PORT
# with the key mounted at $IN_CONTAINER_KEY.
run_exporter() {
	local name=$1 port=$2
	shift 2
	containers+=("$name")
	timeout 120 "${podman_cmd[@]}" run -d --name "$name" "${run_opts[@]}" \
		-v "$tmp/api-key:$IN_CONTAINER_KEY:ro" \
		"$@" \
		--docspace.api-key-file="$IN_CONTAINER_KEY" \
		--web.listen-address="127.0.0.1:$port" >/dev/null
}

# docspace_up PORT: prints the value of docspace_up scraped from the exporter.
docspace_up() {
	curl -fsS --max-time 20 "http://127.0.0.1:$1/metrics" |
		awk '$1 ~ /^docspace_up({.*})?$/ { print $2 }'
}

# expect_up NAME PORT WANT WHAT
expect_up() {
	local name=$1 port=$2 want=$3 what=$4 got
	if ! wait_http "http://127.0.0.1:$port/-/healthy"; then
		fail "$what: exporter did not answer /-/healthy; its log:"
		p logs "$name" 2>&1 | tail -n 20
		return
	fi
	got=$(docspace_up "$port" || true)
	if [[ $got == "$want" ]]; then
		pass "$what: docspace_up $got"
	else
		fail "$what: docspace_up '$got', want $want; exporter log:"
		p logs "$name" 2>&1 | tail -n 20
	fi
}

# --- plain HTTP portal, key from a mounted file, non-root -----------------------

name=docspace-exporter-test-$$-http
port=$(free_port) || fatal "no free port"
run_exporter "$name" "$port" -e DOCSPACE_URL="http://127.0.0.1:$http_port" "$image" ||
	fatal "cannot start the container"
expect_up "$name" "$port" 1 "HTTP portal (DOCSPACE_URL from the environment), key from mounted file"
if curl -fsS --max-time 5 "http://127.0.0.1:$port/-/ready" >/dev/null; then
	pass "/-/ready answers"
else
	fail "/-/ready does not answer"
fi

expect "container user" "$(p inspect --format '{{.Config.User}}' "$name")" 65534:65534
pid=$(p inspect --format '{{.State.Pid}}' "$name")
if [[ $pid =~ ^[1-9][0-9]*$ && -r /proc/$pid/status ]]; then
	expect "container process $pid real/effective/saved/fs uid" \
		"$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" "65534 65534 65534 65534"
	expect "container process $pid real/effective/saved/fs gid" \
		"$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" "65534 65534 65534 65534"
	expect "container process $pid effective capabilities" \
		"$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000
else
	fail "cannot find the container process (pid '$pid')"
fi
if p inspect "$name" | grep -qF -- "$KEY"; then
	fail "the API key shows in podman inspect (arguments or environment)"
else
	pass "the API key is not in the container's arguments or environment"
fi

# --- HTTPS portal with a self-signed CA, CA file mounted ------------------------

name=docspace-exporter-test-$$-https
port=$(free_port) || fatal "no free port"
run_exporter "$name" "$port" -v "$tmp/ca.pem:$IN_CONTAINER_CA:ro" "$image" \
	--docspace.url="https://127.0.0.1:$https_port" --docspace.tls.ca-file="$IN_CONTAINER_CA" ||
	fatal "cannot start the container"
expect_up "$name" "$port" 1 "HTTPS portal, CA file mounted"

# Without the CA file the portal's certificate must not be trusted.
name=docspace-exporter-test-$$-https-noca
port=$(free_port) || fatal "no free port"
run_exporter "$name" "$port" "$image" --docspace.url="https://127.0.0.1:$https_port" ||
	fatal "cannot start the container"
expect_up "$name" "$port" 0 "HTTPS portal without the CA file (certificate not trusted)"

((failed == 0)) || exit 1
