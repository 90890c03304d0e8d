#!/bin/bash
# test_bench_shared.sh — what bench/shared.sh builds its figures on says what happened (issue
# 12's propagation and mass-quarantine figures):
#   1. shared_probe against a real lazaretd (its API and its own policy service): every
#      quarantine answered 200 and every address refused afterwards, each time after its send,
#      and lazaretd holds them all in quarantine
#   2. shared_probe against a policy service that never refuses (dunno_server): no REJECT is
#      invented, the run ends after -t seconds and exits 1
#   3. bench/shared.sh itself, small (10 quarantines, 300 verdicts, sections 1 and 2) on a
#      PostgreSQL cluster of its own: every verdict arrived, the table has its figures, exit 0,
#      and nothing is left behind (temp dir, processes, network namespace)
# About 20 s. Needs root and PostgreSQL's server (apt-get install postgresql) for case 3.
# Usage: BUILD_DIR=build tests/integration/test_bench_shared.sh   (IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

t_init
t_require_cmd ss curl
PROBE=$BUILD_DIR/bench/shared_probe
DUNNO=$BUILD_DIR/bench/dunno_server
for f in "$PROBE" "$DUNNO" "$BUILD_DIR/bench/policy_load"; do
	[ -x "$f" ] || fail "$f not built (ninja -C $BUILD_DIR)"
done

# field KEY — KEY's value in the probe's summary line ($T/probe.out)
field() { sed -n "s/^probe_done .*[ ]$1=\([^ ]*\).*/\1/p" "$T/probe.out"; }

# ---------------------------------------------------------------------------------------------
case_begin "shared_probe: quarantines through the API, each address refused after its send"
lz_config "network.subscribers=100.64.0.0/10"
lz_start
"$PROBE" -n 20 -r 40 -b 100.80 -t 5 "$LZ_API_SOCK" "127.0.0.1:$LZ_POLICY_PORT" >"$T/probe.out" 2>"$T/probe.err" ||
	fail "shared_probe failed: $(cat "$T/probe.err") $(tail -n 1 "$T/probe.out")"
log "$(tail -n 1 "$T/probe.out")"
assert_eq "quarantines answered 200" 20 "$(field acked)"
assert_eq "addresses refused" 20 "$(field rejected)"
assert_eq "a line per address" 20 "$(grep -c '^probe addr=100\.80\.0\.' "$T/probe.out")"
# every time after its send: the answer and the refusal cannot come before the quarantine
bad=$(awk '$1 == "probe" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (f["status"] != 200 || f["ack_us"] < f["sent_us"] || f["reject_us"] < f["sent_us"]) print $2 }' "$T/probe.out")
[ -z "$bad" ] || fail "times out of order or not 200: $bad"
# 40 a second: the last send 19/40 s after the first
span=$(awk '$1 == "probe" { split($3, s, "="); if (!a || s[2] < a) a = s[2]; if (s[2] > b) b = s[2] }
	END { printf "%d", (b - a) / 1000 }' "$T/probe.out")
[ "$span" -ge 450 ] && [ "$span" -lt 5000 ] || fail "20 sends at 40/s spanned $span ms: not paced"
n=$(lzctl quarantines --json | grep -o '"100\.80\.0\.[0-9]*"' | sort -u | wc -l)
assert_eq "lazaretd holds them in quarantine" 20 "$n"
lz_stop
case_pass

# ---------------------------------------------------------------------------------------------
case_begin "shared_probe: a policy service that never refuses gives no REJECT, and exit 1"
lz_start
PORT=$(free_port)
"$DUNNO" -q "127.0.0.1:$PORT" 2>"$T/dunno.err" &
DUNNO_PID=$!
t_on_exit "kill $DUNNO_PID 2>/dev/null"
wait_port "$PORT" || fail "dunno_server did not listen: $(cat "$T/dunno.err")"
t0=$(now_ms)
rc=0
"$PROBE" -n 5 -r 10 -b 100.81 -t 2 "$LZ_API_SOCK" "127.0.0.1:$PORT" >"$T/probe.out" 2>"$T/probe.err" || rc=$?
ms=$(($(now_ms) - t0))
log "$(tail -n 1 "$T/probe.out") in $ms ms, exit $rc"
assert_eq "exit status" 1 "$rc"
assert_eq "quarantines answered 200" 5 "$(field acked)"
assert_eq "addresses refused" 0 "$(field rejected)"
assert_eq "no refusal time" 5 "$(grep -c ' reject_us=0$' "$T/probe.out")"
# the last send at 0.4 s, given up 2 s after it
[ "$ms" -ge 2000 ] && [ "$ms" -lt 10000 ] || fail "the probe gave up after $ms ms, not about 2.4 s"
lz_stop
case_pass

# ---------------------------------------------------------------------------------------------
case_begin "bench/shared.sh, small: three nodes on PostgreSQL, every verdict arrives, nothing left behind"
t_require_root
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || t_skip "PostgreSQL's server is not installed (apt-get install postgresql)"
t_require_cmd psql
mkdir -p "$T/bench"
# the nodes are named lzb-NAME and their temp dir is $T/bench/lazaret-shared.*
rc=0
TMPDIR=$T/bench PROPAGATION=10 RATE=20 MASS=300 SECTIONS="1 2" \
	sh "$REPO_ROOT/bench/shared.sh" "$BUILD_DIR" >"$T/bench.out" 2>&1 || rc=$?
cat "$T/bench.out"
assert_eq "bench/shared.sh exit status" 0 "$rc"
assert_match "relay-b refused all 10" 'relay-b answers REJECT: p50 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms \(10 of 10\)' "$(cat "$T/bench.out")"
assert_match "the gateway enforced all 10" "gateway's batch applied: p50 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms \\(10 of 10" "$(cat "$T/bench.out")"
assert_match "300 verdicts made on relay-a" '300 verdicts made: ' "$(cat "$T/bench.out")"
assert_match "the gateway holds all 300" 'the gateway holds all 300: [0-9]+ ms' "$(cat "$T/bench.out")"
assert_match "the same on one node alone" '300 verdicts: the report dropped -> first commit' "$(cat "$T/bench.out")"
assert_match "the results table" '^\| propagation, verdict made on relay-a -> relay-b REJECTs \(10 quarantines at 20/s\)' "$(cat "$T/bench.out")"
left=$(find "$T/bench" -mindepth 1 -maxdepth 1 | head -n 3)
[ -z "$left" ] || fail "bench/shared.sh left behind: $left"
# (the cluster's watchdog checks its owner once a second: give it that)
no_bench_procs() { ! pgrep -f "$T/bench/" >/dev/null; }
wait_for 5 no_bench_procs || fail "processes of the bench still run: $(pgrep -af "$T/bench/")"
if ip netns list 2>/dev/null | grep -q '^lz-shared-'; then fail "a network namespace lz-shared-* is left"; fi
case_pass

log "PASS"
