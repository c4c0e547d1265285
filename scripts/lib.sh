# Shared by the scripts in this folder; source it, do not run it.
# shellcheck shell=bash

# PASS/FAIL lines and their count, for the test scripts.
passed=0
failed=0
pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}
# expect WHAT GOT WANT: PASS if GOT equals WANT.
expect() {
	if [[ $2 == "$3" ]]; then
		pass "$1: $2"
	else
		fail "$1: got '$2', want '$3'"
	fi
}
# fatal MESSAGE: a FAIL that ends the script.
fatal() {
	fail "$*"
	exit 1
}
# report NAME RC: prints the count and exits with RC, or 1 when a check
# failed. For the scripts' EXIT traps.
report() {
	echo "$1: $passed passed, $failed failed"
	if (($2 == 0 && failed > 0)); then
		exit 1
	fi
	exit "$2"
}

# ensure_tools CMD:PACKAGE...: installs the Debian packages of the commands
# that are missing (needs root), or fails.
ensure_tools() {
	local missing=() pair
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	((${#missing[@]} == 0)) && return 0
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "installing Debian packages: ${missing[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		fatal "run as root, or install these Debian packages yourself: ${missing[*]}"
	fi
	if ! { apt-get update -qq >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
		fatal "cannot install ${missing[*]}"
	fi
}

# ensure_go: puts /usr/local/go/bin on PATH if go is not found, or fails.
ensure_go() {
	if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
		PATH=/usr/local/go/bin:$PATH
	fi
	command -v go >/dev/null 2>&1 || fatal "go is not installed (expected at /usr/local/go)"
}
