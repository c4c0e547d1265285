#!/usr/bin/env bash
# Builds the release archives of docspace_exporter, as Prometheus projects
# ship them: one static binary per platform in
#   dist/docspace_exporter-<version>.linux-<arch>.tar.gz
# holding the directory docspace_exporter-<version>.linux-<arch>/ with the
# binary, README.md and LICENSE/NOTICE if present, and dist/sha256sums.txt.
#
# Usage: scripts/release.sh [VERSION]
#   VERSION            default: the VERSION file (a leading v is dropped)
# Environment:
#   DIST_DIR           output directory (default dist)
#   PLATFORMS          default "linux/amd64 linux/arm64 linux/armv7"
#   SOURCE_DATE_EPOCH  build date and file times, for reproducible archives (default now)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly NAME=docspace_exporter
readonly VERSION_PKG=github.com/prometheus/common/version

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null 2>&1 || {
	echo "FAIL: go is not installed" >&2
	exit 1
}

version=${1:-$(<VERSION)}
if [[ $version =~ ^v[0-9] ]]; then
	version=${version#v}
fi
if [[ ! $version =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
	echo "FAIL: version '$version' is not usable in a file name" >&2
	exit 1
fi
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
build_user="$(id -un)@$(hostname)"
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
build_date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
dist=${DIST_DIR:-dist}
platforms=${PLATFORMS:-linux/amd64 linux/arm64 linux/armv7}

ldflags="-X $VERSION_PKG.Version=$version
-X $VERSION_PKG.Revision=$revision
-X $VERSION_PKG.Branch=$branch
-X $VERSION_PKG.BuildUser=$build_user
-X $VERSION_PKG.BuildDate=$build_date"
ldflags=${ldflags//$'\n'/ }

mkdir -p "$dist"
staging=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-release.XXXXXX")
trap 'rm -rf "$staging"' EXIT

echo "building $NAME $version (revision $revision, branch $branch, $build_date) into $dist/"
archives=()
for platform in $platforms; do
	os=${platform%%/*}
	arch=${platform#*/}
	goarch=$arch
	goarm=""
	if [[ $arch =~ ^armv([5-7])$ ]]; then
		goarch=arm
		goarm=${BASH_REMATCH[1]}
	fi
	dir=$NAME-$version.$os-$arch
	mkdir -p "$staging/$dir"
	start=$SECONDS
	CGO_ENABLED=0 GOOS=$os GOARCH=$goarch GOARM=$goarm \
		go build -trimpath -ldflags "$ldflags" -o "$staging/$dir/$NAME" .
	for f in LICENSE NOTICE README.md; do
		if [[ -f $f ]]; then
			cp "$f" "$staging/$dir/"
		fi
	done
	archive=$dir.tar.gz
	tar -C "$staging" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
		-cf - "$dir" | gzip -9 -n >"$dist/$archive"
	archives+=("$archive")
	echo "  $dist/$archive ($((SECONDS - start))s)"
done

(cd "$dist" && sha256sum "${archives[@]}" >sha256sums.txt)
echo "  $dist/sha256sums.txt"
