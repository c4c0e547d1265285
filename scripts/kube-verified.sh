#!/usr/bin/env bash
# kube-verified.sh check|write: whether `make test` runs the examples' test on
# a real kube-apiserver (examples/apiserver_test.go, TestAPIServer), and the
# record that it passed.
#
# That test dry-runs what lies in examples/ and charts/ on kube-apiserver and
# etcd, which scripts/build-kube.sh builds with controller-gen: about
# 20 minutes of a fresh 2-core machine. So `make test` runs it when what it
# checks has changed since it last passed, or when the tools are already
# built (then it costs seconds). .ci/kube-verified holds the digest of the
# files it checks, as they were when it last passed; `make examples-test`
# writes it. Commit it with a change to examples/ or charts/.
#
#   check  exit 0 when the test must run, 1 when it may be left out; says why
#   write  record the digest of the files as they are now
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

record=.ci/kube-verified
# Where scripts/build-kube.sh puts the tools, at the version it builds.
tools=/var/cache/docspace-exporter/tools/kube-$(sed -n 's/^kube_version=//p' scripts/build-kube.sh)

# digest: one SHA-256 over the names and contents of the files the test
# checks or is built from.
digest() {
	git ls-files -z --cached --others --exclude-standard -- \
		examples charts scripts/build-kube.sh scripts/kube-tools |
		sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

case ${1:-} in
check)
	if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		echo "kube-verified: not a git checkout, so the kube-apiserver test runs"
		exit 0
	fi
	if [[ -x $tools/kube-apiserver && -x $tools/etcd ]] && compgen -G "$tools/crds/monitoring-*" >/dev/null; then
		echo "kube-verified: kube-apiserver and etcd are built ($tools), so the kube-apiserver test runs"
		exit 0
	fi
	now=$(digest)
	if [[ ! -f $record ]]; then
		echo "kube-verified: no $record, so the kube-apiserver test runs"
		exit 0
	fi
	was=$(head -c 64 "$record")
	if [[ $now != "$was" ]]; then
		echo "kube-verified: examples/, charts/ or the kube build changed since the kube-apiserver test passed ($record), so it runs"
		exit 0
	fi
	echo "kube-verified: examples/, charts/ and the kube build are as they were when the kube-apiserver test passed ($record: $now);"
	echo "kube-verified: it is left out, with the build of kube-apiserver and etcd (make examples-test runs it)"
	exit 1
	;;
write)
	digest >"$record"
	echo "kube-verified: $record: $(cat "$record")"
	;;
*)
	echo "usage: $0 check|write" >&2
	exit 2
	;;
esac
