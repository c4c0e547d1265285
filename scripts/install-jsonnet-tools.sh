#!/usr/bin/env bash
# Installs jsonnetfmt and jsonnet-lint (go-jsonnet, the version the mixin's
# go.mod uses to render the mixin) into
# /var/cache/docspace-exporter/tools/jsonnet-<version>/, for make lint.
# Skipped when both binaries of that version are there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_go

readonly version=v0.22.0
dir=/var/cache/docspace-exporter/tools/jsonnet-$version
if [[ -x $dir/jsonnetfmt && -x $dir/jsonnet-lint ]]; then
	echo "jsonnet tools $version: cached in $dir"
	exit 0
fi
mkdir -p "$dir"
echo "installing jsonnetfmt and jsonnet-lint $version into $dir"
GOBIN=$dir go install "github.com/google/go-jsonnet/cmd/jsonnetfmt@$version" \
	"github.com/google/go-jsonnet/cmd/jsonnet-lint@$version"
