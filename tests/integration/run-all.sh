#!/bin/bash
# run-all.sh BUILD_DIR [TEST...] — run lazaret's integration tests (tests/integration/test_*.sh,
# or the named ones) against $BUILD_DIR/lazaretd and $BUILD_DIR/lazaretctl.
# Prints each test's output, a PASS/FAIL/SKIP line per test with its duration and a summary;
# exits 1 if any test failed. A test exits 77 to skip (a tool is missing outside CI).
# Environment: IT_TIMEOUT (seconds per test, default 600), IT_KEEP=1 (keep temp dirs).
set -u

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $0 BUILD_DIR [test_NAME.sh...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build_abs=$(cd "$1" 2>/dev/null && pwd) || { echo "run-all: no build directory '$1'" >&2; exit 2; }
shift
# Tests run from the repository root with BUILD_DIR relative to it when the build directory is
# inside the tree ("build"), absolute otherwise: both "$BUILD_DIR/src/..." and
# "$ROOT/$BUILD_DIR/src/..." then name the binaries.
cd "$root" || exit 2
case $build_abs in
"$root"/*) BUILD_DIR=${build_abs#"$root"/} ;;
*) BUILD_DIR=$build_abs ;;
esac
export BUILD_DIR

tests=()
if [ $# -gt 0 ]; then
	for t in "$@"; do t=$(basename "$t" .sh); tests+=("$here/$t.sh"); done
else
	for t in "$here"/test_*.sh; do [ -e "$t" ] && tests+=("$t"); done
fi
if [ ${#tests[@]} -eq 0 ]; then
	echo "run-all: no tests found in $here" >&2
	exit 1
fi

results=()
npass=0 nfail=0 nskip=0
tpid=""
interrupted=0
trap 'interrupted=1; [ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null' INT TERM HUP
t_all=$(date +%s%3N)
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "===== $name"
	t0=$(date +%s%3N)
	if [ ! -f "$t" ]; then
		echo "run-all: no such test: $t"
		rc=127
	else
		# In the background so that an interrupt reaches us: we pass it on as SIGTERM, which
		# timeout(1) forwards to the test, whose EXIT trap stops what it started.
		timeout -k 20 "${IT_TIMEOUT:-600}" bash "$t" </dev/null 2>&1 &
		tpid=$!
		wait "$tpid"
		rc=$?
		while kill -0 "$tpid" 2>/dev/null; do
			wait "$tpid"
			rc=$?
		done
		tpid=""
	fi
	secs=$(awk -v a="$t0" -v b="$(date +%s%3N)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
	case $rc in
	0) verdict=PASS; npass=$((npass + 1)) ;;
	77) verdict=SKIP; nskip=$((nskip + 1)) ;;
	124 | 137) verdict=FAIL; nfail=$((nfail + 1)); echo "run-all: $name timed out after ${IT_TIMEOUT:-600} s" ;;
	*) verdict=FAIL; nfail=$((nfail + 1)) ;;
	esac
	line=$(printf '%-4s %-32s %7ss' "$verdict" "$name" "$secs")
	[ "$verdict" = FAIL ] && line="$line (exit status $rc)"
	echo "$line"
	results+=("$line")
	if [ "$interrupted" = 1 ]; then
		results+=("(interrupted: remaining tests not run)")
		break
	fi
done

total=$(awk -v a="$t_all" -v b="$(date +%s%3N)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
echo
echo "===== integration test summary ($build_abs)"
printf '%s\n' "${results[@]}"
echo "$npass passed, $nfail failed, $nskip skipped in ${total}s"
[ "$interrupted" = 0 ] && [ "$nfail" -eq 0 ]
