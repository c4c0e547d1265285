#!/usr/bin/env bash
# Builds Prometheus 3 (prometheus, promtool) and Alertmanager (alertmanager,
# amtool) from their Go modules at pinned versions, for the end-to-end and
# rule tests that run against them besides Debian's older packages. The
# binaries are cached in /var/cache/docspace-exporter/tools/<name>-<version>/
# and a build is skipped when its binary already reports the right version.
# The web UIs are not built: the tests use only the HTTP APIs.
# Prometheus and promtool are built with Prometheus' own build tag
# remove_all_sd (see plugins/ in its module): every service discovery but
# static, file and http is left out. The tests use static and http only,
# and the build downloads and compiles half as much.
set -euo pipefail

prometheus_version=3.16.0
prometheus_module=v0.316.0
prometheus_tags=remove_all_sd
alertmanager_version=0.35.0

tools=${TOOLS_DIR:-/var/cache/docspace-exporter/tools}
prom_dir=$tools/prometheus-$prometheus_version
am_dir=$tools/alertmanager-$alertmanager_version

# has_version BINARY VERSION: whether BINARY --version reports VERSION.
has_version() {
	[[ -x $1 ]] && "$1" --version 2>&1 | head -n1 | grep -qF "version $2 "
}

# go_install DIR VERSION_PKG PKG@VERSION VERSION [TAGS]: go install into DIR
# with the version stamped into VERSION_PKG.
go_install() {
	GOBIN=$1 go install -tags "${5:-}" -ldflags "-X $2.Version=$4" "$3"
}

for cmd in prometheus promtool; do
	if ! has_version "$prom_dir/$cmd" "$prometheus_version" ||
		! "$prom_dir/$cmd" --version 2>&1 | grep -qE "^ *tags: +$prometheus_tags\$"; then
		echo "building $cmd $prometheus_version (tags $prometheus_tags)"
		mkdir -p "$prom_dir"
		go_install "$prom_dir" github.com/prometheus/common/version \
			"github.com/prometheus/prometheus/cmd/$cmd@$prometheus_module" "$prometheus_version" "$prometheus_tags"
	fi
done

if ! has_version "$am_dir/amtool" "$alertmanager_version"; then
	echo "building amtool $alertmanager_version"
	mkdir -p "$am_dir"
	go_install "$am_dir" github.com/prometheus/common/version \
		"github.com/prometheus/alertmanager/cmd/amtool@v$alertmanager_version" "$alertmanager_version"
fi

# go install of the alertmanager command fails: the module lacks the built
# UI its ui package embeds. Build it from a copy with stub UI files.
if ! has_version "$am_dir/alertmanager" "$alertmanager_version"; then
	echo "building alertmanager $alertmanager_version"
	src=$(go mod download -json "github.com/prometheus/alertmanager@v$alertmanager_version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp -r "$src/." "$work"
	chmod -R u+w "$work"
	for ui in elm mantine; do
		mkdir -p "$work/ui/app/dist/$ui"
		echo '<!doctype html><title>Alertmanager</title>' >"$work/ui/app/dist/$ui/index.html"
	done
	mkdir -p "$am_dir"
	(cd "$work" && go build -o "$am_dir/alertmanager" \
		-ldflags "-X github.com/prometheus/common/version.Version=$alertmanager_version" \
		./cmd/alertmanager)
fi
echo "build-prometheus: ok"
