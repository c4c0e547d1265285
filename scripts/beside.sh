#!/usr/bin/env bash
# beside.sh SCRIPT -- COMMAND...: runs the script SCRIPT in the background
# while COMMAND runs, then waits for it and shows its output. Fails when
# either failed. When COMMAND fails or is interrupted, SCRIPT is stopped.
#
# make test builds kube-apiserver and etcd (scripts/build-kube.sh, minutes
# of CPU on a fresh machine) beside everything else: the downloads, the
# end-to-end tests and the demo test mostly wait, and leave the cores free.
set -euo pipefail

if (($# < 3)) || [[ $2 != -- ]]; then
	echo "usage: $0 SCRIPT -- COMMAND..." >&2
	exit 2
fi
script=$1
shift 2

log=$(mktemp "${TMPDIR:-/tmp}/beside.XXXXXX")
# Its own process group, so that stopping it stops the builds it started.
set -m
bash "$script" >"$log" 2>&1 &
pid=$!
set +m
stop() {
	kill -TERM -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$log"
}
trap 'stop; exit 130' INT TERM
echo "beside.sh: $script runs in the background (pid $pid); its output follows when it ends"

if ! "$@"; then
	echo "beside.sh: $* failed; stopping $script"
	stop
	exit 1
fi
rc=0
wait "$pid" || rc=$?
echo "--- $script (in the background, exit status $rc):"
cat "$log"
rm -f "$log"
if ((rc != 0)); then
	echo "FAIL: $script"
	exit "$rc"
fi
