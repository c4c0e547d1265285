#!/usr/bin/env bash
# Builds Helm v4 from its Go module for the chart's tests (examples/helm_test.go)
# into /var/cache/docspace-exporter/tools/helm-<version>/helm, outside the
# clone so a warm CI reuses it. Skipped when that binary already exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

helm_version=v4.3.2
dir=/var/cache/docspace-exporter/tools/helm-$helm_version

ensure_go
if [[ -x $dir/helm ]]; then
	echo "helm $helm_version: cached in $dir"
	exit 0
fi
echo "building helm $helm_version into $dir"
mkdir -p "$dir"
tmp=$(mktemp -d "$dir.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN=$tmp CGO_ENABLED=0 go install "helm.sh/helm/v4/cmd/helm@$helm_version"
mv "$tmp/helm" "$dir/helm"
"$dir/helm" version
