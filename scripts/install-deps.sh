#!/usr/bin/env bash
# Installs what the tests need on a Debian machine: Prometheus, promtool
# and Alertmanager for the rule and end-to-end tests, buildah/podman for the
# image test, systemd-analyze, yamllint, shellcheck, and staticcheck.
# Idempotent: installs only what is missing. Needs root for apt-get.
set -euo pipefail

staticcheck_version=v0.8.2

# command -> Debian package
declare -A packages=(
	[prometheus]=prometheus
	[promtool]=prometheus
	[prometheus-alertmanager]=prometheus-alertmanager
	[amtool]=prometheus-alertmanager
	[buildah]=buildah
	[podman]=podman
	[runc]=runc
	[systemd-analyze]=systemd
	[yamllint]=yamllint
	[shellcheck]=shellcheck
	[file]=file
	[openssl]=openssl
	[curl]=curl
	[make]=make
	[ss]=iproute2
)

missing=()
for cmd in "${!packages[@]}"; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		missing+=("${packages[$cmd]}")
	fi
done
if ((${#missing[@]})); then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "install-deps: installing Debian packages: ${missing[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: FAIL: run as root, or install these Debian packages yourself: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

gobin=$(go env GOPATH)/bin
if ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
	echo "install-deps: installing staticcheck $staticcheck_version"
	go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
echo "install-deps: ok"
