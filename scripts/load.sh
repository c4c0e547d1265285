#!/usr/bin/env bash
# Load test of docspace_exporter against fake DocSpace portals on loopback.
#
#   scripts/load.sh [scrape|probe|all|soak]     (default all; soak is not in all)
#
# Builds the exporter, the fake portals (cmd/fakedocspace) and the load
# generator (cmd/loadtest) into a temporary directory, starts the fake with
# 1000 portals answering after 20 ms, and runs the phases asked for, each
# against a freshly started exporter:
#
#   scrape  one portal (--docspace.url); 50 concurrent scrapes of /metrics
#           for 30 s. Thresholds: no error, peak RSS < 20 MiB.
#   probe   1000 portals (--config.file), each probed once every 15 s for
#           LOAD_DURATION (seconds, or e.g. 180s or 3m; default 180s).
#           Thresholds: no error, peak RSS < 100 MiB, CPU < 0.25 of one core,
#           p99 within 5 ms of the portals' own p99 (nominally 20 ms), which
#           is measured alongside: every probed portal is also called
#           directly, as the exporter calls it, under the same load.
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
# The exporter's CPU and memory are read from /proc/<pid>, so the load
# generator and the fake sharing the machine do not count. Exits 1 when a
# phase fails a threshold. Every process started and the temporary directory
# are removed on exit.
set -euo pipefail

cd "$(dirname "$0")/.."

phase=${1:-all}
case $phase in
scrape | probe | all | soak) ;;
*)
	echo "usage: $0 [scrape|probe|all|soak]" >&2
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

portals=1000
portal_latency=20ms

tmp=$(mktemp -d)
pids=()

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

# free_port prints a loopback TCP port nobody listens on, below the
# ephemeral ports (32768 on), which outgoing connections may hold.
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 12000))
		if ! ss -Htln "sport = :$port" | grep -q .; then
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
		if curl -s -o /dev/null --max-time 1 "$url"; then
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
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/docspace_exporter" .
go build -o "$tmp/fakedocspace" ./cmd/fakedocspace
go build -o "$tmp/loadtest" ./cmd/loadtest

key="sk-load-test-$RANDOM$RANDOM"
(
	umask 077
	printf '%s\n' "$key" >"$tmp/key"
)

fake_port=$(free_port)
fake="http://127.0.0.1:$fake_port"
"$tmp/fakedocspace" --listen-address="127.0.0.1:$fake_port" --key="$key" \
	--portals="$portals" --latency="$portal_latency" 2>"$tmp/fake.log" &
fake_pid=$!
pids+=("$fake_pid")
wait_http "$fake_pid" "$fake/"
echo "== fake DocSpace: $portals portals on $fake, latency $portal_latency (pid $fake_pid)"

{
	echo "portals:"
	for i in $(seq -f '%04g' 1 "$portals"); do
		echo "  - name: portal-$i"
		echo "    url: $fake/portal-$i"
		echo "    api_key_file: $tmp/key"
		echo "    timezone: UTC"
	done
} >"$tmp/portals.yml"

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
	"$tmp/docspace_exporter" --web.listen-address="127.0.0.1:$port" --log.level=warn \
		"${exporter_args[@]}" 2>"$tmp/exporter-$name.log" &
	pid=$!
	pids+=("$pid")
	wait_http "$pid" "http://127.0.0.1:$port/-/ready"

	echo
	echo "== phase $name: exporter pid $pid on 127.0.0.1:$port ${exporter_args[*]}"
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
		--docspace.url="$fake/portal-0001" --docspace.api-key-file="$tmp/key" --web.disable-exporter-metrics \
		-- \
		--mode=scrape --concurrency=50 --duration=30s --max-requests=500000 \
		--max-errors=0 --max-rss-mib=20
fi

if [[ $phase == probe || $phase == all ]]; then
	run_phase probe \
		--config.file="$tmp/portals.yml" \
		-- \
		--mode=probe --targets="$portals" --interval=15s --duration="${duration_s}s" --max-requests=500000 \
		--portals="$fake" --key-file="$tmp/key" \
		--max-errors=0 --max-rss-mib=100 --max-cpu-core-ratio=0.25 --max-p99-over=5ms
fi

echo
if ((${#failed[@]} > 0)); then
	echo "== load test FAILED: ${failed[*]}"
	exit 1
fi
echo "== load test passed: $phase"
