#!/usr/bin/env bash
# Builds kube-apiserver and etcd from their Go modules (pinned in
# scripts/kube-tools/*/go.mod) and generates the prometheus-operator CRDs at
# the monitoring/v1 version examples/go.mod pins, into the tool cache, for
# the examples' server-side dry-run test (examples/apiserver_test.go).
# Each step is skipped when its output already exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_go

kube_version=1.37.2
controller_tools_version=v0.23.0
dir=/var/cache/docspace-exporter/tools/kube-$kube_version
mkdir -p "$dir"

# build NAME: builds scripts/kube-tools/NAME into $dir/BINARY.
build() {
	local name=$1 binary=$2 ldflags=${3:-}
	[[ -x $dir/$binary ]] && return 0
	echo "building $binary"
	local start=$SECONDS
	(cd "scripts/kube-tools/$name" &&
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/$binary.tmp" .)
	mv "$dir/$binary.tmp" "$dir/$binary"
	echo "built $binary in $((SECONDS - start))s"
}

build etcd etcd
build apiserver kube-apiserver \
	"-X k8s.io/component-base/version.gitVersion=v$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${kube_version#1.}"

# The CRDs, generated from the API types examples/go.mod pins, so the test
# validates against the same schema the examples are compiled against.
monitoring=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
monitoring_version=$(cd examples && go list -m -f '{{.Version}}' "$monitoring")
crds=$dir/crds/monitoring-$monitoring_version
if [[ ! -d $crds ]]; then
	gen_dir=/var/cache/docspace-exporter/tools/controller-tools-$controller_tools_version
	if [[ ! -x $gen_dir/controller-gen ]]; then
		echo "installing controller-gen $controller_tools_version"
		GOBIN=$gen_dir go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$controller_tools_version"
	fi
	echo "generating the monitoring.coreos.com CRDs at $monitoring_version"
	src=$(cd examples && go mod download -json "$monitoring@$monitoring_version" |
		sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	work=$(mktemp -d)
	trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
	cp -r "$src" "$work/monitoring"
	chmod -R u+w "$work/monitoring"
	(cd "$work/monitoring" &&
		"$gen_dir/controller-gen" crd paths=./... output:crd:dir="$work/crds")
	mkdir -p "$(dirname "$crds")"
	mv "$work/crds" "$crds"
fi
echo "kube tools in $dir: ok"
