#!/usr/bin/env bash
# Checks the systemd units in examples/systemd/:
#   - `systemd-analyze verify` accepts them and prints nothing (systemd
#     ignores unknown or misspelled keys with only a warning, so any output
#     fails), in a temporary root holding the built binary where ExecStart
#     points, so nothing is installed on this machine;
#   - `systemd-analyze security --offline` rates the service's exposure at
#     2.0 or less;
#   - the hardening settings, LoadCredential= and the key flag are there;
#   - the ExecStart line, expanded as systemd would with the example
#     environment file and a credentials directory, runs the exporter as an
#     unprivileged user against a fake portal and a scrape gives docspace_up 1;
#   - rotating the key as the unit's comment and the README say (edit the key
#     file, `systemctl restart docspace_exporter`, simulated by copying the
#     credential again and restarting) gives docspace_up 1, and the edit alone
#     does not reach the running exporter, which reads systemd's copy;
#   - many portals (the drop-in portals.conf with portals.yml): verify accepts
#     the unit with the drop-in; a root-only /etc/docspace_exporter holding
#     portals.yml and its keys is unreadable by the service's user, as the
#     README says; with the credentials the drop-in names, copied as systemd
#     does, the merged ExecStart line serves every portal of portals.yml.
# systemd need not be running (it is not PID 1 in a container).
#
# Usage: bash scripts/test-systemd.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly UNIT_DIR=examples/systemd
readonly SERVICE=docspace_exporter.service
readonly SOCKET=docspace_exporter.socket
readonly DEFAULTS=docspace_exporter.default
readonly DROPIN=portals.conf
readonly PORTALS=portals.yml
readonly MAX_EXPOSURE=20 # systemd-analyze security --threshold: exposure 2.0
readonly KEY="sk-fake-systemd-test-$$" # a fake key, accepted only by the fake portal

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

tmp=""
pids=()
cleanup() {
	local rc=$?
	set +e
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[[ -n $tmp ]] && rm -rf "$tmp"
	report test-systemd "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools systemd-analyze:systemd curl:curl ss:iproute2 setpriv:util-linux
ensure_go

for f in "$SERVICE" "$SOCKET" "$DEFAULTS" "$DROPIN" "$PORTALS"; do
	[[ -f $UNIT_DIR/$f ]] || fatal "$UNIT_DIR/$f is missing"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docspace-systemd-test.XXXXXX")
chmod 0755 "$tmp"
root=$tmp/root

# --- systemd-analyze verify in a temporary root ---------------------------------

exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$UNIT_DIR/$SERVICE")
[[ $exec_path == /* ]] || fatal "no absolute ExecStart= path in $SERVICE"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root$(dirname "$exec_path")"
go build -o "$root$exec_path" . || fatal "cannot build the exporter"
# The units verify resolves dependencies against (sysinit.target, ...).
system_units=""
for d in /usr/lib/systemd/system /lib/systemd/system; do
	if [[ -f $d/sysinit.target ]]; then
		system_units=$d
		break
	fi
done
[[ -n $system_units ]] || fatal "no systemd system units (sysinit.target) on this machine"
cp -a "$system_units" "$root/usr/lib/systemd/"
cp "$UNIT_DIR/$SERVICE" "$UNIT_DIR/$SOCKET" "$root/etc/systemd/system/"

# verify UNIT...: runs systemd-analyze verify in the temporary root; prints its output.
verify() {
	(cd "$root/etc/systemd/system" &&
		timeout 60 systemd-analyze verify --root="$root" --man=no --generators=no "$@" 2>&1)
}
if out=$(verify "$SERVICE" "$SOCKET") && [[ -z $out ]]; then
	pass "systemd-analyze verify $SERVICE $SOCKET: no errors, no warnings"
else
	fail "systemd-analyze verify $SERVICE $SOCKET:"
	printf '%s\n' "$out"
fi

# The check above must catch what systemd only warns about: a misspelled key.
cp "$root/etc/systemd/system/$SERVICE" "$tmp/$SERVICE.orig"
sed -i 's/^ProtectSystem=strict$/ProtectSystem=strict\nProtectSytem=strict/' "$root/etc/systemd/system/$SERVICE"
if out=$(verify "$SERVICE") && [[ -z $out ]]; then
	fail "systemd-analyze verify printed nothing for a misspelled key: the check above proves nothing"
else
	pass "systemd-analyze verify warns about a misspelled key ($(head -n 1 <<<"$out" | sed 's/.*: //'))"
fi
cp "$tmp/$SERVICE.orig" "$root/etc/systemd/system/$SERVICE"

# ExecStart must point at an existing executable: verify says so when it does not.
mv "$root$exec_path" "$tmp/exporter"
if out=$(verify "$SERVICE") && [[ -z $out ]]; then
	fail "systemd-analyze verify accepts a missing $exec_path"
else
	pass "systemd-analyze verify checks that $exec_path exists"
fi
mv "$tmp/exporter" "$root$exec_path"

if out=$(timeout 60 systemd-analyze security --offline=yes --root="$root" --threshold="$MAX_EXPOSURE" \
	--no-pager "$root/etc/systemd/system/$SERVICE" 2>&1); then
	pass "systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$out")"
else
	fail "systemd-analyze security: exposure above $((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10)):"
	printf '%s\n' "$out" | grep -v '^✓' | tail -n 40
fi

# --- the settings the README promises --------------------------------------------

required=(
	'DynamicUser=yes'
	'LoadCredential=api-key:/etc/docspace_exporter/api-key'
	'EnvironmentFile=-/etc/default/docspace_exporter'
	'Environment=GOGC=50'
	'Restart=on-failure'
	'CapabilityBoundingSet='
	'AmbientCapabilities='
	'NoNewPrivileges=yes'
	'ProtectSystem=strict'
	'ProtectHome=yes'
	'PrivateTmp=yes'
	'PrivateDevices=yes'
	'ProtectKernelTunables=yes'
	'ProtectKernelModules=yes'
	'ProtectKernelLogs=yes'
	'ProtectControlGroups=yes'
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
	'RestrictNamespaces=yes'
	'RestrictSUIDSGID=yes'
	'LockPersonality=yes'
	'MemoryDenyWriteExecute=yes'
	'SystemCallArchitectures=native'
	'SystemCallFilter=@system-service'
)
missing=()
for line in "${required[@]}"; do
	grep -qxF -- "$line" "$UNIT_DIR/$SERVICE" || missing+=("$line")
done
if ((${#missing[@]} == 0)); then
	pass "$SERVICE has all ${#required[@]} required settings (DynamicUser, LoadCredential, hardening)"
else
	fail "$SERVICE lacks: ${missing[*]}"
fi
exec_line=$(grep '^ExecStart=' "$UNIT_DIR/$SERVICE")
# shellcheck disable=SC2016 # systemd's variable, not the shell's
if [[ $exec_line == *' --docspace.api-key-file=${CREDENTIALS_DIRECTORY}/api-key'* && $exec_line == *' $ARGS'* ]]; then
	pass "ExecStart reads the key from \${CREDENTIALS_DIRECTORY}/api-key and takes \$ARGS"
else
	fail "ExecStart does not read the key from \${CREDENTIALS_DIRECTORY}/api-key or lacks \$ARGS: $exec_line"
fi
if grep -q '^ListenStream=9977$' "$UNIT_DIR/$SOCKET"; then
	pass "$SOCKET listens on 9977"
else
	fail "$SOCKET does not listen on 9977"
fi
if grep -qE '^DOCSPACE_URL=https://' "$UNIT_DIR/$DEFAULTS" && ! grep -qiE '^[^#]*(sk-|API_KEY=)' "$UNIT_DIR/$DEFAULTS"; then
	pass "$DEFAULTS sets DOCSPACE_URL and holds no key"
else
	fail "$DEFAULTS must set DOCSPACE_URL=https://... and hold no API key"
fi

# --- the ExecStart line, run as systemd would run it ------------------------------

free_port() {
	local port _
	for _ in $(seq 200); do
		port=$((20000 + RANDOM % 30000))
		if [[ -z $(ss -Htln "sport = :$port") ]]; then
			echo "$port"
			return 0
		fi
	done
	return 1
}
wait_http() {
	local _
	for _ in $(seq 60); do
		curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

go build -o "$tmp/fakedocspace" ./cmd/fakedocspace || fatal "cannot build ./cmd/fakedocspace"
portal_port=$(free_port) || fatal "no free port"
"$tmp/fakedocspace" --listen-address="127.0.0.1:$portal_port" --key="$KEY" --portals=2 2>"$tmp/fake.log" &
pids+=($!)
wait_http "http://127.0.0.1:$portal_port/" || fatal "the fake portal did not start"
listen_port=$(free_port) || fatal "no free port"
while [[ $listen_port == "$portal_port" ]]; do listen_port=$(free_port); done

# The example environment file, pointed at the fake portal, with extra ARGS.
sed -e "s|^DOCSPACE_URL=.*|DOCSPACE_URL=http://127.0.0.1:$portal_port|" \
	-e "s|^ARGS=.*|ARGS=\"--web.listen-address=127.0.0.1:$listen_port --log.level=debug\"|" \
	"$UNIT_DIR/$DEFAULTS" >"$tmp/default"
url=$(sed -n 's/^DOCSPACE_URL=//p' "$tmp/default")
args=$(sed -n 's/^ARGS="\(.*\)"$/\1/p' "$tmp/default")
creds=$tmp/credentials
# systemd: ${VAR} is one word, $VAR is split at whitespace.
cmdline=${exec_line#ExecStart=}
cmdline=${cmdline//\$\{CREDENTIALS_DIRECTORY\}/$creds}
cmdline=${cmdline//\$ARGS/$args}
cmdline=${cmdline/#"$exec_path"/"$root$exec_path"}
read -r -a argv <<<"$cmdline"

# start_service: does what `systemctl start` does with the unit: copies the
# key file named by LoadCredential= ($tmp/api-key here) into a credentials
# directory readable by the service user only, then runs the ExecStart line
# as that user with the environment file.
exporter_pid=""
start_service() {
	rm -rf "$creds"
	mkdir -m 0500 "$creds"
	cp "$tmp/api-key" "$creds/api-key"
	chmod 0400 "$creds/api-key"
	chown -R 65534:65534 "$creds"
	env -i PATH=/usr/bin:/bin DOCSPACE_URL="$url" CREDENTIALS_DIRECTORY="$creds" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs -- "${argv[@]}" 2>>"$tmp/exporter.log" &
	exporter_pid=$!
	pids+=("$exporter_pid")
	wait_http "http://127.0.0.1:$listen_port/-/healthy"
}
stop_service() {
	kill "$exporter_pid" 2>/dev/null
	wait "$exporter_pid" 2>/dev/null || true
}
# metric NAME: the value of NAME in one scrape.
metric() {
	curl -fsS --max-time 20 "http://127.0.0.1:$listen_port/metrics" | awk -v name="$1" '$1 == name { print $2 }' || true
}

printf '%s\n' "$KEY" >"$tmp/api-key"
echo "running as 65534:65534: DOCSPACE_URL=$url ${argv[*]}"
if start_service; then
	expect "ExecStart with the example environment file and a credential: docspace_up" "$(metric docspace_up)" 1
else
	fail "the exporter started by the ExecStart line did not answer; its log:"
	tail -n 20 "$tmp/exporter.log"
fi

# --- rotating the key, as the unit's comment and the README say -----------------

# LoadCredential= copies the key at start, so a key edited in the key file
# reaches the exporter with `systemctl restart docspace_exporter`.
readonly RESTART='systemctl restart docspace_exporter'
if grep -qF "$RESTART" "$UNIT_DIR/$SERVICE" && sed -n '/^### systemd/,/^### Kubernetes/p' README.md | grep -qF "$RESTART"; then
	pass "the unit's comment and the README's systemd section say to rotate the key with $RESTART"
else
	fail "the unit's comment or the README's systemd section does not say $RESTART after editing the key"
fi
printf '%s\n' "sk-fake-rotated-away-$$" >"$tmp/api-key" # the portal knows only $KEY
stop_service
start_service || fatal "the exporter did not restart"
expect "after a restart with a key the portal rejects: docspace_api_status_code" "$(metric docspace_api_status_code)" 401
printf '%s\n' "$KEY" >"$tmp/api-key"
expect "the key edited, before the restart (the credential is a copy): docspace_api_status_code" "$(metric docspace_api_status_code)" 401
stop_service
start_service || fatal "the exporter did not restart"
expect "the key edited, after $RESTART: docspace_up" "$(metric docspace_up)" 1
if grep -qF -- "$KEY" "$tmp/exporter.log"; then
	fail "the exporter's log shows the key"
else
	pass "the exporter's log does not show the key"
fi

# --- many portals: the drop-in portals.conf and portals.yml -------------------

dropin_dir=$root/etc/systemd/system/$SERVICE.d
mkdir -p "$dropin_dir"
cp "$UNIT_DIR/$DROPIN" "$dropin_dir/"
if out=$(verify "$SERVICE") && [[ -z $out ]]; then
	pass "systemd-analyze verify $SERVICE with the drop-in $DROPIN: no errors, no warnings"
else
	fail "systemd-analyze verify $SERVICE with the drop-in $DROPIN:"
	printf '%s\n' "$out"
fi

# effective NAME FILE...: the values of the list setting NAME in the unit
# FILEs read in order, as systemd merges a unit and its drop-ins: an empty
# assignment drops what came before.
effective() {
	local name=$1 line
	shift
	local -a values=()
	while IFS= read -r line; do
		if [[ -z $line ]]; then
			values=()
		else
			values+=("$line")
		fi
	done < <(sed -n "s/^$name=//p" "$@")
	((${#values[@]} == 0)) || printf '%s\n' "${values[@]}"
}
files=("$UNIT_DIR/$SERVICE" "$UNIT_DIR/$DROPIN")
mapfile -t exec_starts < <(effective ExecStart "${files[@]}")
mapfile -t credentials < <(effective LoadCredential "${files[@]}")
# shellcheck disable=SC2016 # systemd's variable, not the shell's
if ((${#exec_starts[@]} == 1)) && [[ ${exec_starts[0]} == "$exec_path --config.file=\${CREDENTIALS_DIRECTORY}/$PORTALS \$ARGS" ]]; then
	pass "with $DROPIN, ExecStart reads \${CREDENTIALS_DIRECTORY}/$PORTALS and takes \$ARGS"
else
	fail "with $DROPIN, ExecStart is not one line reading \${CREDENTIALS_DIRECTORY}/$PORTALS: ${exec_starts[*]}"
fi
if [[ " ${credentials[*]} " != *" api-key:"* && " ${credentials[*]} " == *" $PORTALS:/etc/docspace_exporter/$PORTALS "* ]]; then
	pass "with $DROPIN, the credentials are $PORTALS and its keys, without the base unit's api-key"
else
	fail "with $DROPIN, the credentials are: ${credentials[*]}"
fi
if grep -qxF 'UnsetEnvironment=DOCSPACE_URL' "$UNIT_DIR/$DROPIN"; then
	pass "$DROPIN drops DOCSPACE_URL of the environment file"
else
	fail "$DROPIN does not drop DOCSPACE_URL, which would add a portal without a key"
fi
# Every key file of portals.yml is a credential, named by a relative path.
mapfile -t key_files < <(sed -n 's/^ *api_key_file: *//p' "$UNIT_DIR/$PORTALS")
for k in "${key_files[@]}"; do
	if [[ $k != */* && " ${credentials[*]} " == *" $k:/etc/docspace_exporter/$k "* ]]; then
		pass "$PORTALS names $k, a credential of $DROPIN"
	else
		fail "$PORTALS names $k, which is not a credential of $DROPIN by that relative name"
	fi
done
((${#key_files[@]} >= 2)) || fail "$PORTALS has ${#key_files[@]} key files, want an example of many"

# /etc/docspace_exporter as the README makes it: root-only, holding the
# example portals.yml (pointed at the fake portals) and a key per portal.
etc=$tmp/etc/docspace_exporter
mkdir -p "$tmp/etc"
install -d -m 0700 "$etc"
n=0
while IFS= read -r line; do
	if [[ $line =~ ^(\ *url:\ *) ]]; then
		n=$((n + 1))
		line="${BASH_REMATCH[1]}http://127.0.0.1:$portal_port/portal-$(printf '%04d' "$n")"
	fi
	printf '%s\n' "$line"
done <"$UNIT_DIR/$PORTALS" >"$etc/$PORTALS"
chmod 0600 "$etc/$PORTALS"
for k in "${key_files[@]}"; do
	install -m 0600 /dev/null "$etc/$k"
	printf '%s\n' "$KEY" >"$etc/$k"
done

# The folder itself is unreadable for the service's user: the reason for
# the credentials.
if env -i PATH=/usr/bin:/bin setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs -- \
	"$root$exec_path" --config.file="$etc/$PORTALS" --config.check >"$tmp/check.out" 2>&1; then
	fail "the service's user can read the root-only $etc/$PORTALS: the test proves nothing"
else
	pass "the service's user cannot read a root-only /etc/docspace_exporter ($(head -n 1 "$tmp/check.out"))"
fi
if "$root$exec_path" --config.file="$etc/$PORTALS" --config.check >"$tmp/check.out" 2>&1; then
	pass "--config.check as root with /etc/docspace_exporter/$PORTALS: $(tail -n 1 "$tmp/check.out")"
else
	fail "--config.check as root with /etc/docspace_exporter/$PORTALS: $(cat "$tmp/check.out")"
fi

stop_service # the single-portal service of the steps above

# What `systemctl start` does with the drop-in: each LoadCredential=ID:PATH
# copied to $CREDENTIALS_DIRECTORY/ID, then the merged ExecStart line run as
# the service's user, with the environment file less UnsetEnvironment=.
rm -rf "$creds"
mkdir -m 0500 "$creds"
for c in "${credentials[@]}"; do
	cp "$tmp${c#*:}" "$creds/${c%%:*}"
	chmod 0400 "$creds/${c%%:*}"
done
chown -R 65534:65534 "$creds"
cmdline=${exec_starts[0]}
cmdline=${cmdline//\$\{CREDENTIALS_DIRECTORY\}/$creds}
cmdline=${cmdline//\$ARGS/$args}
cmdline=${cmdline/#"$exec_path"/"$root$exec_path"}
read -r -a argv <<<"$cmdline"
env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY="$creds" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs -- "${argv[@]}" 2>>"$tmp/portals.log" &
exporter_pid=$!
pids+=("$exporter_pid")
if wait_http "http://127.0.0.1:$listen_port/-/healthy"; then
	mapfile -t names < <(sed -n 's/^ *- name: *//p' "$UNIT_DIR/$PORTALS")
	for name in "${names[@]}"; do
		up=$(curl -fsS --max-time 20 "http://127.0.0.1:$listen_port/probe?target=$name" | awk '$1 == "docspace_up" { print $2 }' || true)
		expect "with $DROPIN and its credentials, /probe?target=$name: docspace_up" "$up" 1
	done
else
	fail "the exporter started by the drop-in's ExecStart line did not answer; its log:"
	tail -n 20 "$tmp/portals.log"
fi
stop_service
if grep -qF -- "$KEY" "$tmp/portals.log"; then
	fail "the exporter's log shows the key"
fi
if sed -n '/^### systemd/,/^### Kubernetes/p' README.md | grep -qF "examples/systemd/$DROPIN"; then
	pass "the README's systemd section installs $DROPIN"
else
	fail "the README's systemd section does not say how to install $DROPIN"
fi

((failed == 0)) || exit 1
