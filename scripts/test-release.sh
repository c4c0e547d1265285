#!/usr/bin/env bash
# Runs scripts/release.sh into a temporary directory and checks its output:
# the three archives with the expected layout (binary, README.md, LICENSE),
# sha256sums.txt (sha256sum -c), the version
# and revision injected into the binary, and static binaries for the right
# architectures (file(1) and the build settings Go records in the binary).
#
# Usage: bash scripts/test-release.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly NAME=docspace_exporter
readonly TEST_VERSION=0.0.0-releasetest

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

tmp=""
cleanup() {
	local rc=$?
	[[ -n $tmp ]] && rm -rf "$tmp"
	report test-release "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools file:file
ensure_go

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-release-test.XXXXXX")
dist=$tmp/dist
revision=$(git rev-parse HEAD)

start=$SECONDS
if DIST_DIR=$dist timeout 1200 bash scripts/release.sh "$TEST_VERSION" >"$tmp/release.log" 2>&1; then
	pass "scripts/release.sh $TEST_VERSION in $((SECONDS - start))s"
else
	cat "$tmp/release.log"
	fatal "scripts/release.sh $TEST_VERSION failed"
fi

# arch  file(1) must say  GOARCH  GOARM
expected=(
	"amd64|ELF 64-bit LSB executable, x86-64|amd64|"
	"arm64|ELF 64-bit LSB executable, ARM aarch64|arm64|"
	"armv7|ELF 32-bit LSB executable, ARM, EABI5|arm|7"
)
want_archives=()
for e in "${expected[@]}"; do
	IFS='|' read -r arch machine goarch goarm <<<"$e"
	dir=$NAME-$TEST_VERSION.linux-$arch
	archive=$dir.tar.gz
	want_archives+=("$archive")
	if [[ ! -f $dist/$archive ]]; then
		fail "$archive is missing"
		continue
	fi
	listing=$(tar -tzf "$dist/$archive" | sort)
	if grep -qxF "$dir/$NAME" <<<"$listing" && grep -qxF "$dir/README.md" <<<"$listing" &&
		grep -qxF "$dir/LICENSE" <<<"$listing" && ! grep -qv "^$dir/" <<<"$listing"; then
		pass "$archive holds $dir/ with the binary, README.md and LICENSE"
	else
		fail "$archive: unexpected contents: $(tr '\n' ' ' <<<"$listing")"
	fi
	mkdir -p "$tmp/x"
	tar -C "$tmp/x" -xzf "$dist/$archive"
	bin=$tmp/x/$dir/$NAME
	desc=$(file -b "$bin")
	if [[ $desc == "$machine"* && $desc == *"statically linked"* ]]; then
		pass "$arch: ${desc%%, Go BuildID*}"
	else
		fail "$arch: file says '$desc', want '$machine ... statically linked'"
	fi
	info=$(go version -m "$bin")
	settings=$(awk '$1 == "build" { print $2 }' <<<"$info")
	want_settings=("CGO_ENABLED=0" "GOOS=linux" "GOARCH=$goarch" "-trimpath=true")
	if [[ -n $goarm ]]; then
		want_settings+=("GOARM=$goarm")
	fi
	missing=()
	for s in "${want_settings[@]}"; do
		grep -qxF -- "$s" <<<"$settings" || missing+=("$s")
	done
	if ((${#missing[@]} == 0)); then
		pass "$arch: built with ${want_settings[*]}"
	else
		fail "$arch: build settings lack ${missing[*]}: $(tr '\n' ' ' <<<"$settings")"
	fi
done

extra=$(cd "$dist" && find . -maxdepth 1 -type f ! -name sha256sums.txt -printf '%f\n' | sort)
if [[ $extra == "$(printf '%s\n' "${want_archives[@]}" | sort)" ]]; then
	pass "dist holds exactly the three archives and sha256sums.txt"
else
	fail "dist holds: $(tr '\n' ' ' <<<"$extra")"
fi

if [[ -f $dist/sha256sums.txt ]] && (cd "$dist" && sha256sum --strict -c sha256sums.txt) >"$tmp/sum.log" 2>&1 &&
	[[ $(wc -l <"$dist/sha256sums.txt") -eq 3 ]]; then
	pass "sha256sum -c sha256sums.txt: $(tr '\n' ' ' <"$tmp/sum.log")"
else
	cat "$tmp/sum.log" 2>/dev/null || true
	fail "sha256sums.txt is missing, incomplete or does not match"
fi

bin=$tmp/x/$NAME-$TEST_VERSION.linux-amd64/$NAME
if [[ -x $bin ]] && out=$("$bin" --version 2>&1); then
	if [[ $out == *"version $TEST_VERSION "* && $out == *"revision: $revision"* && $out == *"build date:"*Z* ]]; then
		pass "amd64 --version: $(head -n 1 <<<"$out")"
	else
		fail "amd64 --version lacks version $TEST_VERSION, revision $revision or a build date: $out"
	fi
else
	fail "the amd64 binary does not run --version"
fi

# Without an argument the version is the VERSION file's, which heads CHANGELOG.md.
file_version=$(<VERSION)
changelog_version=$(sed -n 's|^## \([^ ]*\) / [0-9-]*$|\1|p' CHANGELOG.md | head -n 1)
expect "CHANGELOG.md's top entry is VERSION" "$changelog_version" "$file_version"
if DIST_DIR=$tmp/dist-default PLATFORMS=linux/amd64 SOURCE_DATE_EPOCH=1700000000 \
	timeout 600 bash scripts/release.sh >"$tmp/release-default.log" 2>&1 &&
	[[ -f $tmp/dist-default/$NAME-$file_version.linux-amd64.tar.gz ]]; then
	pass "without an argument the version is the VERSION file's: $file_version"
else
	cat "$tmp/release-default.log"
	fail "without an argument: no $NAME-$file_version.linux-amd64.tar.gz"
fi

# make build names the same version in --version.
if make -s build BINARY="$tmp/make-build/$NAME" >"$tmp/make-build.log" 2>&1 &&
	out=$("$tmp/make-build/$NAME" --version 2>&1) && [[ $out == "$NAME, version $file_version "* ]]; then
	pass "make build --version: $(head -n 1 <<<"$out")"
else
	cat "$tmp/make-build.log"
	fail "make build: --version does not name version $file_version: ${out:-}"
fi

((failed == 0)) || exit 1
