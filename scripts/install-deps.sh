#!/usr/bin/env bash
# Installs what the tests need on a Debian machine: Prometheus, promtool
# and Alertmanager for the rule and end-to-end tests, buildah/podman for the
# image test, systemd-analyze, yamllint, shellcheck, script (the demo test's
# terminal), unshare (the README's shell blocks, sandboxed), and staticcheck;
# Prometheus 3, Alertmanager, Helm and the jsonnet tools from their Go
# modules. kube-apiserver and etcd, for the examples' tests only, are
# scripts/build-kube.sh's (make kube-tools).
# Idempotent: installs only what is missing. Needs root for apt-get.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

staticcheck_version=v0.8.2

ensure_tools \
	prometheus:prometheus promtool:prometheus \
	prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager \
	buildah:buildah podman:podman runc:runc \
	systemd-analyze:systemd yamllint:yamllint shellcheck:shellcheck \
	file:file openssl:openssl curl:curl make:make ss:iproute2 \
	script:bsdutils unshare:util-linux
ensure_go

gobin=$(go env GOPATH)/bin
if ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
	echo "installing staticcheck $staticcheck_version"
	go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
bash scripts/build-prometheus.sh
bash scripts/build-helm.sh
bash scripts/install-jsonnet-tools.sh
echo "install-deps: ok"
