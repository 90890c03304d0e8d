# checks.sh — the ok/bad/check lines and a free port, for the integration tests that do not
# use lib.sh (bash; source it, do not run it). A test counts its failures in $failures.
# shellcheck shell=bash disable=SC2034

failures=${failures:-0}
ok()    { echo "ok   - $*"; }
bad()   { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# free_port — a loopback TCP port nobody answers on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
	done
}
