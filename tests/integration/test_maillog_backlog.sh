#!/bin/bash
# test_maillog_backlog.sh — a backlog of gigabytes of mail log must not stall the policy service.
# lazaretd reads the log on the loop that answers Postfix; a backlog (a first start on a big
# log, a restart after a long stop, a log that was unreachable) used to be read in one go,
# and no policy request was answered until it was done: 600 MB stalled the loop for 0.81 s,
# about 10 GB would outlast Postfix's 10 s policy timeout. Now the log is read in slices of
# at most half a millisecond between the loop's other work.
#   1. a 2 GB log (bench/maillog_gen, realistic Postfix lines) appears where lazaretd expects
#      its maillog while policy requests arrive at a steady 1 000/s (bench/policy_load -r:
#      latency counted from when each request was due, so a stall counts fully): p50, p99
#      and max while the backlog is read, and the catch-up rate; every line read once
#   2. stopped in the middle of a backlog (SIGTERM is answered at once), the log rotated
#      while down: the rest of the rotated file and the new one are read, every line once
#
# Bounds, case 1: p50 < 5 ms, p99 < 100 ms and max < 500 ms while the backlog is read, in the
# best of up to 3 attempts. A slice is 0.5 ms: p50 stays under 1 ms whatever the machine does
# (0.41-0.75 ms measured at load averages of 2 to 7 on a 2-CPU VM), and a p50 over 5 ms means
# slices grew coarse. p99 and max are the machine's: a process busy reading is preempted by its
# neighbours for 4 to 20 ms at a time (measured: one involuntary switch per long loop turn, its
# CPU time under 1 ms), which on the shared VM gave p99 8-76 ms and max 17-118 ms, so the bounds
# leave room for a loaded CI machine and the attempts for a neighbour's burst. Today's code fails
# every attempt by far: it reads the whole backlog in one go (1.9 GB: p50 1.8 s, p99 6.3 s, max
# 6.4 s on the same VM).
# Environment: BACKLOG_PIECES (5) copies of a generated piece of BACKLOG_PIECE_LINES
# (2 000 000, about 400 MB) lines; LOAD_RATE (1000) requests/s over LOAD_CONNS (16)
# connections; P50_MAX_MS (5), P99_MAX_MS (100), MAX_MS (500), ATTEMPTS (3).
# Usage: BUILD_DIR=build tests/integration/test_maillog_backlog.sh   (IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

PIECES=${BACKLOG_PIECES:-5}
PIECE_LINES=${BACKLOG_PIECE_LINES:-2000000}
LOAD_RATE=${LOAD_RATE:-1000}
LOAD_CONNS=${LOAD_CONNS:-16}
P50_MAX_MS=${P50_MAX_MS:-5}
P99_MAX_MS=${P99_MAX_MS:-100}
MAX_MS=${MAX_MS:-500}
ATTEMPTS=${ATTEMPTS:-3}

t_init
t_require_cmd sqlite3 ss curl
GEN=$BUILD_DIR/bench/maillog_gen
LOAD=$BUILD_DIR/bench/policy_load
for f in "$GEN" "$LOAD"; do
	[ -x "$f" ] || fail "$f not built (ninja -C $BUILD_DIR)"
done

# ---------------------------------------------------------------------------------------------
# the backlog: one generated piece, copied PIECES times (generating it all would take longer)

mkdir -p "$T/log"
PF_LOG=$T/log/maillog           # what lib.sh's lz_maillog_* helpers count against
t0=$(now_ms)
"$GEN" -n "$PIECE_LINES" -s 1 -o "$T/piece" 2>"$T/gen.err" || fail "maillog_gen failed: $(cat "$T/gen.err")"
for ((i = 0; i < PIECES; i++)); do cat "$T/piece"; done >"$T/backlog"
backlog_bytes=$(stat -c %s "$T/backlog")
backlog_lines=$((PIECES * PIECE_LINES))
log "backlog: $backlog_lines lines, $((backlog_bytes / 1048576)) MiB ($PIECES copies of maillog_gen -n $PIECE_LINES) in $(( $(now_ms) - t0 )) ms"

lz_config daemon.log_level=info "maillog.file=$PF_LOG" maillog.poll_interval=100ms
lz_start

# load_start / load_stop — policy_load in an open loop at LOAD_RATE until load_stop; load_stop
# sets P50, P99, MAX (ms), REQUESTS, ERRORS from its report.
load_start() {
	"$LOAD" -m -l backlog -r "$LOAD_RATE" -c "$LOAD_CONNS" -w 0 -d 3600 "127.0.0.1:$LZ_POLICY_PORT" \
		>"$T/load.out" 2>"$T/load.err" &
	LOAD_PID=$!
	t_on_exit "kill $LOAD_PID 2>/dev/null"
}
load_stop() {
	kill -TERM "$LOAD_PID" 2>/dev/null
	wait "$LOAD_PID" || fail "policy_load failed: $(cat "$T/load.err")"
	local out
	out=$(cat "$T/load.out")
	P50=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$out")
	P99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
	MAX=$(sed -n 's/.* max_ms=\([0-9.]*\).*/\1/p' <<<"$out")
	REQUESTS=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$out")
	ERRORS=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$out")
	if [ -z "$P99" ] || [ -z "$MAX" ] || [ -z "$REQUESTS" ]; then
		fail "policy_load said: $out $(cat "$T/load.err")"
	fi
}

# ms_below WHAT LIMIT VALUE — VALUE (decimal ms) < LIMIT
ms_below() {
	awk -v v="$3" -v l="$2" 'BEGIN { exit !(v < l) }' && return 0
	fail "$1: expected < $2 ms, saw $3 ms"
}

# behind_bytes — lazaretd's bytes behind for the maillog, from lazaretctl stats
behind_bytes() { json_get "$(lzctl stats --json 2>/dev/null)" "\$.maillog.files.\"$PF_LOG\".behind_bytes"; }

# within_bounds — the last load_stop's figures are within the bounds
within_bounds() {
	awk -v p50="$P50" -v p99="$P99" -v max="$MAX" -v b50="$P50_MAX_MS" -v b99="$P99_MAX_MS" -v bmax="$MAX_MS" \
		'BEGIN { exit !(p50 < b50 && p99 < b99 && max < bmax) }'
}

# ---------------------------------------------------------------------------------------------
case_begin "1. a $((backlog_bytes / 1048576)) MiB backlog read while policy requests arrive at $LOAD_RATE/s"
# Up to ATTEMPTS times, each on a fresh store with the backlog new to lazaretd: a neighbour's
# burst on a shared machine can spoil one run (the benches keep the best of several too);
# today's code is over the bounds by seconds in every run.
for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
	if [ "$attempt" -gt 1 ]; then
		lz_stop
		mv "$PF_LOG" "$T/backlog"
		LZ_STORE=$T/lazaret-$attempt.db
		lz_config daemon.log_level=info "maillog.file=$PF_LOG" maillog.poll_interval=100ms
		lz_start
	fi
	load_start
	sleep 0.3
	t0=$(now_ms)
	mv "$T/backlog" "$PF_LOG"
	# the backlog shows in the stats while it is read (the API answers between slices)
	max_behind=0
	for ((i = 0; i < 30; i++)); do
		b=$(behind_bytes)
		[ -n "$b" ] && [ "$b" -gt "$max_behind" ] && max_behind=$b
		[ "$max_behind" -gt 0 ] && break
		sleep 0.05
	done
	wait_for 300 _lz_maillog_caught_up || fail "lazaretd did not read the backlog in 300 s: $(lz_maillog_lines) of $backlog_lines lines"
	t1=$(now_ms)
	load_stop
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
	log "attempt $attempt (load average $(cut -d' ' -f1 /proc/loadavg)): policy latency while the backlog was read: p50 $P50 ms, p99 $P99 ms, max $MAX ms ($REQUESTS requests, $ERRORS errors)"
	log "catch-up: $backlog_bytes bytes, $backlog_lines lines in $secs s as seen from here: $(awk -v b="$backlog_bytes" -v l="$backlog_lines" -v s="$secs" 'BEGIN { printf "%.0f MB/s, %.0f lines/s", b / 1e6 / s, l / s }')"
	grep -q "maillog $PF_LOG: caught up" "$LZ_LOG" && log "lazaretd: $(grep "maillog $PF_LOG: caught up" "$LZ_LOG" | tail -n1 | sed 's/^.*maillog /maillog /')"
	log "most bytes behind seen in lazaretctl stats: $max_behind"
	assert_ge "policy requests answered while the backlog was read" 100 "$REQUESTS"
	assert_eq "policy_load errors (connections reset or answers missing)" 0 "$ERRORS"
	sleep 0.5
	assert_eq "lines lazaretd read (each line once: none lost or repeated at a slice's edge)" "$backlog_lines" "$(lz_maillog_lines)"
	within_bounds && break
	log "attempt $attempt: over the bounds (p50 < $P50_MAX_MS, p99 < $P99_MAX_MS, max < $MAX_MS ms)"
done
ms_below "policy p50 while the backlog was read" "$P50_MAX_MS" "$P50"
ms_below "policy p99 while the backlog was read" "$P99_MAX_MS" "$P99"
ms_below "policy max latency while the backlog was read" "$MAX_MS" "$MAX"
assert_ge "bytes behind in lazaretctl stats while the backlog was read" 1 "$max_behind"
assert_file_match "lazaretd logs the backlog when it finds it" "maillog $PF_LOG: backlog of [0-9.]+ MiB" "$LZ_LOG"
assert_file_match "lazaretd logs when it has caught up, with the rate" \
	"maillog $PF_LOG: caught up: [0-9.]+ MiB, [0-9]+ lines in [0-9.]+ s \([0-9]+ MB/s, [0-9]+ lines/s\)" "$LZ_LOG"
assert_eq "bytes behind once caught up" 0 "$(behind_bytes)"
metrics=$(api_curl -s "$LZ_API_URL/metrics") || fail "GET /metrics failed"
assert_match "/metrics: bytes behind, per file" "^lazaret_maillog_behind_bytes\{file=\"$PF_LOG\"\} 0$" "$metrics"
assert_match "/metrics: bytes read, per file" "^lazaret_maillog_read_bytes_total\{file=\"$PF_LOG\"\} $backlog_bytes$" "$metrics"
case_pass "attempt $attempt: p50 $P50 ms, p99 $P99 ms, max $MAX ms; $backlog_lines lines in $secs s"

# ---------------------------------------------------------------------------------------------
case_begin "2. stopped in the middle of a backlog, rotated while down: every line once"
lz_stop
assert_eq "lazaretd exit status after SIGTERM" 0 "$LZ_EXIT"
size_before=$(stat -c %s "$PF_LOG")
# while down, the log grows by 4 pieces: a backlog at the restart
for ((i = 0; i < 4; i++)); do cat "$T/piece"; done >>"$PF_LOG"
lines_old=$(( backlog_lines + 4 * PIECE_LINES ))
found_before=$(grep -c "maillog $PF_LOG: backlog of" "$LZ_LOG")
_backlog_found_again() { [ "$(grep -c "maillog $PF_LOG: backlog of" "$LZ_LOG")" -gt "$found_before" ]; }
lz_start
wait_for 60 _backlog_found_again || fail "lazaretd did not log the backlog after its restart"
t0=$(now_ms)
lz_stop
stop_ms=$(( $(now_ms) - t0 ))
assert_eq "lazaretd exit status after SIGTERM in the middle of a backlog" 0 "$LZ_EXIT"
log "SIGTERM in the middle of the backlog: stopped in $stop_ms ms"
assert_le "ms to stop in the middle of a backlog (SIGTERM is handled between slices)" 3000 "$stop_ms"

# while down: logrotate renames the log, the writer starts a new one
mv "$PF_LOG" "$PF_LOG.1"
head -n 100000 "$T/piece" >"$PF_LOG"
lines_new=100000
lz_start
wait_for 10 grep -q "maillog $PF_LOG: finishing the rotated $PF_LOG.1 from offset" "$LZ_LOG" ||
	fail "lazaretd did not go back to the rotated $PF_LOG.1"
offset=$(sed -n 's/.*maillog .*: finishing the rotated .* from offset \([0-9][0-9]*\).*/\1/p' "$LZ_LOG" | tail -n1)
log "lazaretd: finishing the rotated $PF_LOG.1 from offset $offset (it had $size_before bytes read-ready at the first stop, $(stat -c %s "$PF_LOG.1") now)"
assert_ge "resume offset (past what was read before the first stop)" "$size_before" "$offset"
[ "$offset" -lt "$(stat -c %s "$PF_LOG.1")" ] || fail "the stop came after the backlog was read (offset $offset): nothing tested"
[ "$(tail -c +"$offset" "$PF_LOG.1" | head -c 1 | od -An -c | tr -d ' ')" = '\n' ] ||
	fail "the saved offset $offset is not at the end of a line"
before=$(lines_before_offset "$PF_LOG.1" "$offset")
want=$(( lines_old - before + lines_new ))
log "$before lines before the offset; $want to read: the rest of $PF_LOG.1 and the $lines_new of the new file"
_caught_up_want() { local n; n=$(lz_maillog_lines) && [ "$n" -ge "$want" ]; }
wait_for 300 _caught_up_want || fail "lazaretd read $(lz_maillog_lines) lines after the restart, want $want"
sleep 0.5
assert_eq "lines read after the restart (the rest of the rotated file, then the new one, each once)" "$want" "$(lz_maillog_lines)"
assert_eq "bytes behind once caught up" 0 "$(behind_bytes)"
case_pass "resumed in $PF_LOG.1 at $offset, read $want lines"

echo
log "all cases passed"
