#!/usr/bin/env bash
# Checks `make demo` as a person uses it: runs it on a terminal (a pty made
# by script(1)), waits until it prints its URLs, opens each one (every URL
# must answer 200 with what its line promises), waits until an alert fires
# (the demo cuts every `for:` to 15 s), then types Ctrl-C and checks that the
# demo lists the alerts that fired, that the demo and make end quietly (exit
# 0, no "make: ***" line) and that nothing the demo started is left. Then a
# short run with DEMO_KEEP=1 must keep its folder with the logs.
#
# Usage: bash scripts/test-demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_tools script:util-linux curl:curl make:make prometheus:prometheus
ensure_go

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docspace-demo-test.XXXXXX")
demo_pid=""
cleanup() {
	local rc=$?
	set +e
	exec 3>&- 2>/dev/null
	if [[ -n $demo_pid ]] && kill -0 "$demo_pid" 2>/dev/null; then
		kill -TERM "$demo_pid"
		wait "$demo_pid"
	fi
	rm -rf "$tmp"
	report test-demo "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The terminal's keyboard: a FIFO kept open on fd 3 until Ctrl-C is typed.
mkfifo "$tmp/keys"
log=$tmp/demo.log
# DEMO_SECONDS bounds a demo this test fails to stop.
DEMO_SECONDS=600 script -qfec "make demo" /dev/null <"$tmp/keys" >"$log" 2>&1 &
demo_pid=$!
exec 3>"$tmp/keys"

for _ in $(seq 1 600); do
	grep -q 'Press Ctrl-C to stop\|Ctrl-C stops earlier' "$log" && break
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.5
done
grep -q 'Ctrl-C' "$log" || {
	cat "$log"
	fatal "the demo did not start within 5 minutes"
}
tr -d '\r' <"$log" >"$tmp/printed"
demo_dir=$(sed -n 's/^DocSpace exporter demo (configuration and logs in \(.*\)):$/\1/p' "$tmp/printed")
[[ -d $demo_dir ]] || fatal "the demo does not say where its files are"

# check_url URL WANT: URL answers 200 with a body that contains WANT,
# within 20 s (Prometheus lists its targets after its first scrapes).
check_url() {
	local body code _
	for _ in $(seq 1 20); do
		code=$(curl -sS --max-time 20 -o "$tmp/body" -w '%{http_code}' "$1") || code=000
		body=$(cat "$tmp/body" 2>/dev/null || true)
		[[ $code == 200 && $body == *"$2"* ]] && break
		sleep 1
	done
	if [[ $code == 200 && $body == *"$2"* ]]; then
		pass "$1 answers 200 with '$2'"
	else
		fail "$1 answers HTTP $code without '$2': ${body:0:200}"
	fi
}

mapfile -t urls < <(grep -o 'http://127\.0\.0\.1:[0-9]*[^ ]*' "$tmp/printed")
((${#urls[@]} >= 15)) || fail "the demo printed ${#urls[@]} URLs, want the exporter's, Prometheus' and every fake portal's"
for url in "${urls[@]}"; do
	line=$(grep -F -- "$url" "$tmp/printed" | head -n 1)
	case $line in
	*"exporter  "*) want='/probe?target=overdue&amp;debug=true' ;;
	*"probe a portal"*) want='docspace_up 1' ;;
	*"debug page"*) want='Metrics that would have been served:' ;;
	*"exporter metrics"*) want='docspace_exporter_build_info' ;;
	*"Alertmanager"*) want='Alertmanager' ;;
	*/targets) want='docspace' ;;
	*/alerts) want='DocSpaceBackupOverdue' ;;
	*) want="Fake DocSpace portal ${url##*/}:" ;;
	esac
	check_url "$url" "$want"
done
check_url "http://$(grep -o '127\.0\.0\.1:[0-9]*' <<<"${urls[0]}")/probe?target=not-stored" 'docspace_backup_history_latest_timestamp_seconds'

# DocSpaceAPIDown of the portal "unauthorized" fires within a minute.
prom=$(grep -o 'http://127\.0\.0\.1:[0-9]*' <<<"$(grep -F 'Prometheus' "$tmp/printed")" | head -n 1)
firing=""
for _ in $(seq 1 90); do
	if curl -fsS --max-time 5 -G "$prom/api/v1/query" \
		--data-urlencode 'query=ALERTS{alertname="DocSpaceAPIDown", alertstate="firing"}' 2>/dev/null |
		grep -q '"instance":"unauthorized"'; then
		firing=yes
		break
	fi
	sleep 1
done
if [[ -n $firing ]]; then
	pass "DocSpaceAPIDown fires in $prom within 90 s"
else
	fail "DocSpaceAPIDown does not fire in $prom within 90 s"
fi

# Ctrl-C, typed on the demo's terminal.
printf '\003' >&3
exec 3>&-
rc=0
for _ in $(seq 1 120); do
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.5
done
if kill -0 "$demo_pid" 2>/dev/null; then
	fail "the demo did not stop within 60 s of Ctrl-C"
else
	wait "$demo_pid" || rc=$?
	demo_pid=""
	expect "make demo's exit code after Ctrl-C" "$rc" 0
fi
tr -d '\r' <"$log" >"$tmp/printed"
if grep -q 'make: \*\*\*\|Error [0-9]\|stopped unexpectedly' "$tmp/printed"; then
	fail "Ctrl-C did not end the demo quietly: $(grep 'make: \*\*\*\|Error [0-9]\|stopped unexpectedly' "$tmp/printed" | head -n 3)"
else
	pass "Ctrl-C ends the demo quietly: $(tail -n 1 "$tmp/printed")"
fi
if grep -A 20 '^demo: alerts firing when stopped' "$tmp/printed" | grep -Eq '^  DocSpaceAPIDown +unauthorized$'; then
	pass "the demo lists the alerts that fired: $(grep -A 20 '^demo: alerts firing when stopped' "$tmp/printed" | grep -c '^  DocSpace') alerts"
else
	fail "the demo's summary does not list DocSpaceAPIDown of unauthorized: $(grep -A 10 '^demo: alerts firing' "$tmp/printed" || tail -n 5 "$tmp/printed")"
fi
if [[ -e $demo_dir ]]; then
	fail "the demo left $demo_dir"
else
	pass "the demo removed $demo_dir"
fi
left=$(pgrep -f -- "$demo_dir/" || true)
if [[ -n $left ]]; then
	fail "processes of the demo are left: $left"
else
	pass "no process of the demo is left"
fi

# DEMO_KEEP=1 keeps the folder and says where it is.
DEMO_KEEP=1 DEMO_SECONDS=1 bash scripts/demo.sh </dev/null >"$tmp/keep.log" 2>&1 || fail "DEMO_KEEP=1 DEMO_SECONDS=1: the demo failed: $(tail -n 5 "$tmp/keep.log")"
kept=$(sed -n 's/^demo: the configuration and the logs are kept in \(.*\)$/\1/p' "$tmp/keep.log")
if [[ -n $kept && -s $kept/docspace_exporter.log && -s $kept/prometheus.log ]]; then
	pass "DEMO_KEEP=1 keeps $kept with the logs: $(cd "$kept" && echo ./*.log)"
else
	fail "DEMO_KEEP=1 does not keep the demo's logs: $(tail -n 3 "$tmp/keep.log")"
fi
[[ -n $kept && $kept == "${TMPDIR:-/tmp}"/docspace-demo.* ]] && rm -rf "$kept"

((failed == 0)) || exit 1
