#!/usr/bin/env bash
# Checks that every module whose packages the exporter or its tests build
# (go list -deps -test ./..., here and in spec/) carries a licence file whose licence is one
# that is compatible with the exporter's Apache-2.0: Apache-2.0, MIT,
# BSD-2-Clause, BSD-3-Clause, ISC or MPL-2.0. A module without a licence
# file, or with a licence that is none of these, fails the check.
# First the classifier is checked on texts it must accept and reject.
#
# Usage: bash scripts/check-licenses.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_go

# classify FILE prints the licence of FILE, or "unknown:..." / "incompatible:...".
classify() {
	local t
	t=$(tr -s '[:space:]#*' ' ' <"$1" | tr '[:upper:]' '[:lower:]')
	case $t in
	*"gnu general public license"* | *"gnu affero"* | *"gnu lesser general"* | *"business source license"* | \
		*"server side public license"* | *"commons clause"*)
		echo "incompatible:copyleft-or-source-available"
		;;
	*"apache license version 2.0, january 2004"*) echo Apache-2.0 ;;
	*"mozilla public license version 2.0"*) echo MPL-2.0 ;;
	*"permission is hereby granted, free of charge, to any person obtaining a copy"*) echo MIT ;;
	*"permission to use, copy, modify, and/or distribute this software for any purpose"*) echo ISC ;;
	*"redistribution and use in source and binary forms"*"redistributions in binary form must reproduce"*)
		case $t in
		*"neither the name of"* | *"names of its contributors may not be used"*) echo BSD-3-Clause ;;
		*) echo BSD-2-Clause ;;
		esac
		;;
	*) echo "unknown:not-a-known-licence" ;;
	esac
}

# The classifier itself: our own LICENSE, and texts it must refuse.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-licenses.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf 'GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n' >"$tmp/gpl"
printf 'All rights reserved. You may not copy this software.\n' >"$tmp/proprietary"
expect "classify LICENSE" "$(classify LICENSE)" Apache-2.0
expect "classify a GPL-3.0 text" "$(classify "$tmp/gpl")" incompatible:copyleft-or-source-available
expect "classify a proprietary text" "$(classify "$tmp/proprietary")" unknown:not-a-known-licence

# The exporter's modules and those of the check against DocSpace's API
# description (spec/, whose validator is a test dependency of its own).
list='{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}} {{.Dir}}{{end}}{{end}}'
mods=$({ go list -deps -test -f "$list" ./...; (cd spec && go list -deps -test -f "$list" ./...); } |
	grep -v '^github.com/docspace-exporter/docspace_exporter@' | sort -u)
[[ -n $mods ]] || fatal "go list found no dependency modules"
n=0
while read -r mod dir; do
	n=$((n + 1))
	mapfile -t files < <(find "$dir" -maxdepth 1 -type f -iregex '.*/\(licen[cs]e\|copying\)\(\.[a-z]*\)?\(\.[a-z]*\)?' | sort)
	if ((${#files[@]} == 0)); then
		fail "$mod: no licence file in $dir"
		continue
	fi
	kinds=()
	bad=""
	for f in "${files[@]}"; do
		k=$(classify "$f")
		kinds+=("$(basename "$f")=$k")
		[[ $k == *:* ]] && bad=1
	done
	if [[ -z $bad ]]; then
		pass "$mod: ${kinds[*]}"
	else
		fail "$mod: ${kinds[*]}"
	fi
done <<<"$mods"
echo "check-licenses: $n modules"
((failed == 0)) || exit 1
