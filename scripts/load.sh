#!/usr/bin/env bash
# Load test of docspace_exporter against fake DocSpace portals on loopback.
#
#   scripts/load.sh [scrape|burst|probe|all|soak]     (default all; soak is not in all)
#
# Builds the exporter, the fake portals (cmd/fakedocspace) and the load
# generator (cmd/loadtest) into a temporary directory, starts the fake with
# LOAD_PORTALS portals answering after 20 ms, each on its own loopback
# address (127.1.x.y) as real portals are on hosts of their own, and runs the
# phases asked for, each against a freshly started exporter:
#
#   scrape  one portal (--docspace.url); 50 concurrent scrapes of /metrics
#           back to back for 30 s, about 1,900 a second: a saturation test.
#           Thresholds: no error, peak RSS < 24 MiB.
#   burst   one portal (--docspace.url) with the exporter's default flags,
#           served by the load generator itself (--fake-portal, also 20 ms)
#           so that it counts the exporter's calls: a burst of 640 scrapes
#           of /metrics, 64 at a time. Thresholds: no error, RSS right after
#           the burst < 20 MiB, at most 0.2 getbackupschedule calls per
#           scrape (concurrent scrapes share the call in flight).
#   probe   LOAD_PORTALS portals (--config.file; default 1000), each probed
#           once every LOAD_INTERVAL (default 15s) for LOAD_DURATION
#           (seconds, or e.g. 180s or 3m; default 180s). Thresholds: no
#           error, p99 within 5 ms of the portals' own p99 (nominally 20 ms),
#           which is measured alongside: every probed portal (1 in
#           LOAD_PORTALS/1000 above 1000) is also called directly, as the
#           exporter calls it, over kept connections, under the same load; peak RSS
#           < LOAD_MAX_RSS_MIB and CPU < LOAD_MAX_CPU of one core, by default
#           100 MiB and 0.25 up to 1000 portals, 300 MiB and 0.5 above.
#   soak    1000 portals (--config.file) of another fake, of which 100 hang,
#           100 answer HTTP 500, 100 answer HTTP 429 with Retry-After: 60 and
#           100 reset the connection, each probed once every 15 s for
#           SOAK_DURATION (default 10m) with a 10 s scrape timeout, while the
#           configuration flips between two versions (every portal's timeout
#           10s or 11s) with a reload every 30 s. Prints goroutines, fds, RSS,
#           CPU and log lines (--log.level=info) per minute. Thresholds: every
#           probe answers as its portal behaves, peak RSS < 150 MiB, CPU < 0.3
#           of one core, healthy p99 within 5 ms of the portals' own, fewer
#           than 10 log lines a minute after the first 2, goroutines, fds and
#           RSS flat after the warm-up, at most one schedule call per
#           Retry-After to a rate-limited portal.
#
# LOAD_EXPORTER_ARGS adds flags to the exporter of the probe phase, e.g.
# --docspace.max-idle-connections=0 to measure the probes without
# kept-alive connections. Many portals take many file descriptors (the fake
# listens on one address per portal): the script raises its soft limit
# (ulimit -n) to the hard one.
#
# The exporter's CPU and memory are read from /proc/<pid>, so the load
# generator and the fake sharing the machine do not count. Exits 1 when a
# phase fails a threshold. Every process started and the temporary directory
# are removed on exit.
#
# The fake serves its portals over HTTPS unless LOAD_TLS=0: every real
# portal is https://, so that is what a run measures by default. Each portal
# has its own certificate, issued by a CA the fake makes at start, with a
# key of LOAD_KEY_TYPE: ecdsa (P-256, the default: what Let's Encrypt's
# certbot issues since 2.0) or rsa (2048 bits); TLS 1.2 and 1.3 with HTTP/2
# and HTTP/1.1 offered, as DocSpace's nginx does. The exporter trusts the CA
# through tls.ca_file (--docspace.tls.ca-file in the scrape phase), and the
# probe phase prints the exporter's TLS connections, full and resumed
# handshakes per probe, counted by the fake. The burst phase (its portal
# is the load generator's own) and the soak phase stay on plain HTTP.
#
# LOAD_EXPORTER_REF builds the exporter from another commit (git archive),
# e.g. LOAD_EXPORTER_REF=HEAD~1, to measure one change on its own; the fake
# and the load generator are those of the work tree. GODEBUG=http2client=0
# in LOAD_EXPORTER_ENV turns the exporter's HTTP/2 off.
#
# LOAD_EXPORTER_ENV holds NAME=VALUE words put in the exporter's environment
# only (not the build's nor the load generator's), to try runtime settings.
# It defaults to GOGC=50, as the container image and the systemd unit set
# it; LOAD_EXPORTER_ENV='GOGC=100' measures Go's default, and e.g.
# LOAD_EXPORTER_ENV='GOMEMLIMIT=12MiB' other settings.
set -euo pipefail

cd "$(dirname "$0")/.."

phase=${1:-all}
case $phase in
scrape | burst | probe | all | soak) ;;
*)
	echo "usage: $0 [scrape|burst|probe|all|soak]" >&2
	exit 2
	;;
esac

duration=${LOAD_DURATION:-180s}
if [[ $duration =~ ^([0-9]+)(s?)$ ]]; then
	duration_s=${BASH_REMATCH[1]}
elif [[ $duration =~ ^([0-9]+)m$ ]]; then
	duration_s=$((BASH_REMATCH[1] * 60))
else
	echo "LOAD_DURATION must be seconds, e.g. 180, 180s or 3m; got '$duration'" >&2
	exit 2
fi

portals=${LOAD_PORTALS:-1000}
interval=${LOAD_INTERVAL:-15s}
if ! [[ $portals =~ ^[1-9][0-9]{0,4}$ ]]; then
	echo "LOAD_PORTALS must be 1 to 99999; got '$portals'" >&2
	exit 2
fi
if ((portals > 1000)); then
	max_rss=${LOAD_MAX_RSS_MIB:-300} max_cpu=${LOAD_MAX_CPU:-0.5}
else
	max_rss=${LOAD_MAX_RSS_MIB:-100} max_cpu=${LOAD_MAX_CPU:-0.25}
fi
read -r -a exporter_extra <<<"${LOAD_EXPORTER_ARGS:-}"
tls=${LOAD_TLS:-1}
key_type=${LOAD_KEY_TYPE:-ecdsa}
if [[ $tls != [01] || ($key_type != ecdsa && $key_type != rsa) ]]; then
	echo "LOAD_TLS must be 0 or 1 and LOAD_KEY_TYPE ecdsa or rsa; got '$tls', '$key_type'" >&2
	exit 2
fi
portal_latency=20ms
ulimit -n "$(ulimit -Hn)"

read -ra exporter_env <<<"${LOAD_EXPORTER_ENV-GOGC=50}"
for word in "${exporter_env[@]}"; do
	if [[ ! $word =~ ^[A-Z_][A-Z0-9_]*= ]]; then
		echo "LOAD_EXPORTER_ENV must hold NAME=VALUE words, e.g. 'GOGC=50 GOMEMLIMIT=12MiB'; got '$word'" >&2
		exit 2
	fi
done

tmp=$(mktemp -d)
pids=()
curl_tls=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints a loopback TCP port no socket uses, taken below the
# ephemeral port range so that no outgoing connection can take it first (a
# busy machine may hold tens of thousands of them).
free_port() {
	local port low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range || true
	if ((low < 12000)); then
		low=60000
	fi
	for _ in $(seq 100); do
		port=$((10000 + RANDOM % (low - 10000)))
		if ! ss -Htan "sport = :$port" | grep -q .; then
			echo "$port"
			return
		fi
	done
	echo "no free port found" >&2
	return 1
}

# wait_http PID URL waits (at most 10 s) until URL answers, failing early
# when process PID is gone.
wait_http() {
	local pid=$1 url=$2
	for _ in $(seq 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "process $pid exited before $url answered" >&2
			return 1
		fi
		if curl -s -o /dev/null --max-time 1 "${curl_tls[@]}" "$url"; then
			return
		fi
		sleep 0.1
	done
	echo "$url did not answer within 10 s" >&2
	return 1
}

# stop PID stops a process this script started.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

echo "== building into $tmp"
# The exporter is built as `make build` builds it (what ships): stripped,
# without cgo.
if [[ -n ${LOAD_EXPORTER_REF:-} ]]; then
	mkdir "$tmp/src"
	git archive "$LOAD_EXPORTER_REF" | tar -x -C "$tmp/src"
	echo "== the exporter is built from $LOAD_EXPORTER_REF ($(git rev-parse --short "$LOAD_EXPORTER_REF"))"
	(cd "$tmp/src" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/docspace_exporter" .)
else
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/docspace_exporter" .
fi
go build -o "$tmp/fakedocspace" ./cmd/fakedocspace
go build -o "$tmp/loadtest" ./cmd/loadtest

key="sk-load-test-$RANDOM$RANDOM"
(
	umask 077
	printf '%s\n' "$key" >"$tmp/key"
)

fake_port=$(free_port)
fake="http://127.0.0.1:$fake_port"
fake_tls=() exporter_tls=() load_tls=()
if ((tls)); then
	fake="https://127.0.0.1:$fake_port"
	fake_tls=(--tls.ca-cert-file="$tmp/ca.pem" --tls.key-type="$key_type")
	curl_tls=(--cacert "$tmp/ca.pem")
	exporter_tls=(--docspace.tls.ca-file="$tmp/ca.pem")
	load_tls=(--ca-file="$tmp/ca.pem" --tls-counts="$fake/-/tls")
fi
"$tmp/fakedocspace" --listen-address="127.0.0.1:$fake_port" --key="$key" \
	--portals="$portals" --portal-per-address --portals-file="$tmp/portals.txt" \
	--latency="$portal_latency" "${fake_tls[@]}" 2>"$tmp/fake.log" &
fake_pid=$!
pids+=("$fake_pid")
if ! wait_http "$fake_pid" "$fake/"; then
	tail -n 20 "$tmp/fake.log" >&2
	exit 1
fi
echo "== fake DocSpace: $portals portals on ${fake%%://*}://127.1.x.y:$fake_port${fake_tls[*]:+ ($key_type keys)}, latency $portal_latency (pid $fake_pid)"

{
	echo "portals:"
	while read -r name url; do
		echo "  - name: $name"
		echo "    url: $url"
		echo "    api_key_file: $tmp/key"
		echo "    timezone: UTC"
		if ((tls)); then
			echo "    tls:"
			echo "      ca_file: $tmp/ca.pem"
		fi
	done <"$tmp/portals.txt"
} >"$tmp/portals.yml"
first_portal=$(awk 'NR == 1 { print $2 }' "$tmp/portals.txt")

failed=()

# run_phase NAME EXPORTER_FLAGS... -- LOADTEST_FLAGS... starts an exporter,
# loads it, stops it and records a failure.
run_phase() {
	local name=$1 exporter_args=() load_args=() port pid load_pid status=0
	shift
	while [[ $1 != -- ]]; do
		exporter_args+=("$1")
		shift
	done
	shift
	load_args=("$@")

	port=$(free_port)
	env "${exporter_env[@]}" "$tmp/docspace_exporter" --web.listen-address="127.0.0.1:$port" --log.level=warn \
		"${exporter_args[@]}" 2>"$tmp/exporter-$name.log" &
	pid=$!
	pids+=("$pid")
	if ! wait_http "$pid" "http://127.0.0.1:$port/-/ready"; then
		echo "== the exporter's log:" >&2
		cat "$tmp/exporter-$name.log" >&2
		exit 1
	fi

	echo
	echo "== phase $name: exporter pid $pid on 127.0.0.1:$port ${exporter_args[*]}${exporter_env[*]:+ (environment: ${exporter_env[*]})}"
	# The load generator ends on its own after --duration plus the request
	# timeout; timeout(1) is the backstop. It runs in the background so that
	# an interrupt reaches the traps at once rather than when it ends.
	timeout --kill-after=10s "$((duration_s + 120))s" \
		"$tmp/loadtest" --exporter="http://127.0.0.1:$port" --pid="$pid" \
		--portal-latency="$portal_latency" --timeout=10s "${load_args[@]}" &
	load_pid=$!
	pids+=("$load_pid")
	wait "$load_pid" || status=$?
	stop "$pid"
	if ((status != 0)); then
		failed+=("$name")
		echo "== phase $name FAILED (exit $status)"
		if [[ -s $tmp/exporter-$name.log ]]; then
			echo "== the exporter's log (--log.level=warn) ends with:"
			tail -n 20 "$tmp/exporter-$name.log"
		fi
	else
		echo "== phase $name passed"
	fi
}

# run_soak starts a fake with failing portals and an exporter, runs the
# soak load against them, stops them and records a failure.
run_soak() {
	local soak_s soak_fake_port soak_fake soak_fake_pid port pid load_pid status=0
	soak_s=$(seconds "${SOAK_DURATION:-10m}") || exit 2
	soak_fake_port=$(free_port)
	soak_fake="http://127.0.0.1:$soak_fake_port"
	"$tmp/fakedocspace" --listen-address="127.0.0.1:$soak_fake_port" --key="$key" \
		--portals="$portals" --latency="$portal_latency" \
		--hung=100 --server-error=100 --rate-limited=100 --reset=100 --retry-after=60s 2>"$tmp/fake-soak.log" &
	soak_fake_pid=$!
	pids+=("$soak_fake_pid")
	if ! wait_http "$soak_fake_pid" "$soak_fake/"; then
		cat "$tmp/fake-soak.log" >&2
		exit 1
	fi
	soak_config "$soak_fake" 10s >"$tmp/soak.yml"
	soak_config "$soak_fake" 11s >"$tmp/soak-flipped.yml"

	port=$(free_port)
	"$tmp/docspace_exporter" --web.listen-address="127.0.0.1:$port" --log.level=info \
		--config.file="$tmp/soak.yml" 2>"$tmp/exporter-soak.log" &
	pid=$!
	pids+=("$pid")
	wait_http "$pid" "http://127.0.0.1:$port/-/ready"

	echo
	echo "== phase soak: exporter pid $pid on 127.0.0.1:$port, fake with failing portals on $soak_fake, ${soak_s}s"
	timeout --kill-after=10s "$((soak_s + 120))s" \
		"$tmp/loadtest" --mode=soak --exporter="http://127.0.0.1:$port" --pid="$pid" \
		--targets="$portals" --interval=15s --duration="${soak_s}s" --timeout=15s --max-requests=500000 \
		--portals="$soak_fake" --key-file="$tmp/key" \
		--soak.config-file="$tmp/soak.yml" --soak.flip-to="$tmp/soak-flipped.yml" --soak.log-file="$tmp/exporter-soak.log" \
		--soak.retry-after=60s --soak.scrape-timeout=10s \
		--max-errors=0 --max-rss-mib=150 --max-cpu-core-ratio=0.3 --max-p99-over=5ms &
	load_pid=$!
	pids+=("$load_pid")
	wait "$load_pid" || status=$?
	stop "$pid"
	stop "$soak_fake_pid"
	echo "== the exporter's log lines by message:"
	sed -n 's/.*msg="\([^"]*\)".*/\1/p; s/.*msg=\([^ "]*\) .*/\1/p' "$tmp/exporter-soak.log" | sort | uniq -c | sort -rn | head -n 10
	if ((status != 0)); then
		failed+=(soak)
		echo "== phase soak FAILED (exit $status)"
	else
		echo "== phase soak passed"
	fi
}

# soak_config FAKE TIMEOUT prints a configuration of the fake's portals,
# each with TIMEOUT.
soak_config() {
	local i
	echo "portals:"
	for i in $(seq -f '%04g' 1 "$portals"); do
		echo "  - name: portal-$i"
		echo "    url: $1/portal-$i"
		echo "    api_key_file: $tmp/key"
		echo "    timezone: UTC"
		echo "    timeout: $2"
	done
}

# seconds DURATION prints a duration given as 600, 600s or 10m in seconds.
seconds() {
	if [[ $1 =~ ^([0-9]+)(s?)$ ]]; then
		echo "${BASH_REMATCH[1]}"
	elif [[ $1 =~ ^([0-9]+)m$ ]]; then
		echo "$((BASH_REMATCH[1] * 60))"
	else
		echo "a duration must be seconds or minutes, e.g. 600, 600s or 10m; got '$1'" >&2
		return 1
	fi
}

if [[ $phase == soak ]]; then
	run_soak
fi

if [[ $phase == scrape || $phase == all ]]; then
	run_phase scrape \
		--docspace.url="$first_portal" --docspace.api-key-file="$tmp/key" --web.disable-exporter-metrics "${exporter_tls[@]}" \
		-- \
		--mode=scrape --concurrency=50 --duration=30s --max-requests=500000 \
		--max-errors=0 --max-rss-mib=24
fi

if [[ $phase == burst || $phase == all ]]; then
	# The load generator serves this portal itself, to count the calls.
	burst_port=$(free_port)
	run_phase burst \
		--docspace.url="http://127.0.0.1:$burst_port" --docspace.api-key-file="$tmp/key" \
		-- \
		--mode=scrape --concurrency=64 --max-requests=640 --duration=60s \
		--fake-portal="127.0.0.1:$burst_port" --key-file="$tmp/key" \
		--max-errors=0 --max-rss-after-mib=20 --max-upstream-per-request=0.2
fi

if [[ $phase == probe || $phase == all ]]; then
	run_phase probe \
		--config.file="$tmp/portals.yml" "${exporter_extra[@]}" \
		-- \
		--mode=probe --targets="$portals" --interval="$interval" --duration="${duration_s}s" --max-requests=500000 \
		--portals-file="$tmp/portals.txt" --key-file="$tmp/key" "${load_tls[@]}" \
		--max-errors=0 --max-rss-mib="$max_rss" --max-cpu-core-ratio="$max_cpu" --max-p99-over=5ms
fi

echo
if ((${#failed[@]} > 0)); then
	echo "== load test FAILED: ${failed[*]}"
	exit 1
fi
echo "== load test passed: $phase"
