#!/bin/bash
# test_bench_load.sh — the load generators bench/combined.sh builds its verdict on say what
# they did (issue 9's combined figure: "no loss" means every policy request answered and every
# log line read, so the generators must count what they asked for, not only what came back).
#   1. policy_load -r (open loop) against dunno_server: of the requests that fell due after the
#      warm-up (RATE x seconds), every one answered (due=, unanswered=0), with p99.9 reported
#   2. the same with the server stopped for a second (SIGSTOP): the requests that fell due
#      meanwhile are still counted as due and answered late, the stall shows as latency (max
#      near a second) instead of as fewer requests
#   3. maillog_gen -P writes at its rate in real time, time stamps from the wall clock, and
#      -R rotates the file as logrotate does (rename to .1, create anew): every line once
# About 10 s.
# Usage: BUILD_DIR=build tests/integration/test_bench_load.sh   (IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

t_init
t_require_cmd ss
LOAD=$BUILD_DIR/bench/policy_load
DUNNO=$BUILD_DIR/bench/dunno_server
GEN=$BUILD_DIR/bench/maillog_gen
for f in "$LOAD" "$DUNNO" "$GEN"; do
	[ -x "$f" ] || fail "$f not built (ninja -C $BUILD_DIR)"
done

# field KEY — KEY's value in policy_load's -m line ($T/load.out)
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$T/load.out"; }

PORT=$(free_port)
"$DUNNO" -q "127.0.0.1:$PORT" 2>"$T/dunno.err" &
DUNNO_PID=$!
t_on_exit "kill -CONT $DUNNO_PID 2>/dev/null; kill $DUNNO_PID 2>/dev/null"
wait_port "$PORT" || fail "dunno_server did not listen: $(cat "$T/dunno.err")"

# ---------------------------------------------------------------------------------------------
case_begin "policy_load -r: every request that fell due is counted, and answered"
"$LOAD" -m -r 400 -c 8 -w 1 -d 3 "127.0.0.1:$PORT" >"$T/load.out" 2>"$T/load.err" ||
	fail "policy_load failed: $(cat "$T/load.err")"
log "$(cat "$T/load.out")"
assert_eq "requests due after the warm-up (400/s x 3 s)" 1200 "$(field due)"
assert_eq "unanswered" 0 "$(field unanswered)"
assert_eq "answered" 1200 "$(field requests)"
assert_eq "errors" 0 "$(field errors)"
assert_match "p99.9 reported" '^[0-9]+\.[0-9]{3}$' "$(field p999_ms)"
case_pass

# ---------------------------------------------------------------------------------------------
case_begin "policy_load -r: a server stopped for a second shows as latency, not as fewer requests"
"$LOAD" -m -r 400 -c 8 -w 0 -d 3 "127.0.0.1:$PORT" >"$T/load.out" 2>"$T/load.err" &
lpid=$!
sleep 1
kill -STOP "$DUNNO_PID"
sleep 1
kill -CONT "$DUNNO_PID"
wait "$lpid" || fail "policy_load failed: $(cat "$T/load.err")"
log "$(cat "$T/load.out")"
# while stopped, each connection's one request waits and its later ones are never sent until
# the server is back: they still fell due, and count from then
assert_eq "requests due (400/s x 3 s)" 1200 "$(field due)"
assert_eq "unanswered" 0 "$(field unanswered)"
assert_eq "answered" 1200 "$(field requests)"
max=$(field max_ms)
awk -v m="$max" 'BEGIN { exit !(m >= 800) }' || fail "max latency $max ms: the 1 s stall should show (>= 800 ms)"
p999=$(field p999_ms)
awk -v p="$p999" -v m="$max" 'BEGIN { exit !(p >= 500 && p <= m) }' ||
	fail "p99.9 $p999 ms: a third of the requests fell due in the stall, so p99.9 is within it (max $max)"
case_pass

# ---------------------------------------------------------------------------------------------
case_begin "maillog_gen -P: paced in real time, wall-clock time stamps, -R rotates"
t0=$(now_ms)
"$GEN" -P 2000 -R 1 -n 3000 -o "$T/mail.log" 2>"$T/gen.err" || fail "maillog_gen failed: $(cat "$T/gen.err")"
ms=$(($(now_ms) - t0))
report=$(grep '^maillog_gen: lines=' "$T/gen.err")
log "$report in $ms ms"
# 3 000 lines at 2 000 a second: 1.5 s (a busy machine may make it later, never earlier)
[ "$ms" -ge 1400 ] || fail "3 000 lines at 2 000/s took $ms ms: not paced"
[ "$ms" -lt 15000 ] || fail "3 000 lines at 2 000/s took $ms ms"
assert_match "its report" 'lines=3000 .*rotations=1 ' "$report"
# the rotation at 1 s: the first 2 000 lines in mail.log.1, the other 1 000 in a new mail.log
assert_eq "lines in mail.log.1" 2000 "$(wc -l <"$T/mail.log.1")"
assert_eq "lines in mail.log" 1000 "$(wc -l <"$T/mail.log")"
[ ! -e "$T/mail.log.2" ] || fail "one rotation keeps one old file"
first=$(head -1 "$T/mail.log.1" | cut -d' ' -f1)
ts=$(date -d "$first" +%s) || fail "first line's time stamp '$first' unreadable"
d=$((ts - t0 / 1000))
if [ "$d" -lt -60 ] || [ "$d" -gt 60 ]; then
	fail "first time stamp $first is $d s from the start: not the wall clock's"
fi
assert_match "a Postfix line" ' relay1 postfix/[a-z/]+\[[0-9]+\]: ' "$(head -1 "$T/mail.log")"
case_pass

log "PASS"
