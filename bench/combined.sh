#!/bin/sh
# combined.sh BUILD_DIR — one lazaretd carrying a million-subscriber ISP's load at once
# (issue 9's second figure): flow records, policy requests and mail log lines together, on
# one node, for DURATION seconds of steady load after WARMUP seconds, and whether it lost
# anything. The target: no loss (every flow record processed, no kernel drop, every policy
# request answered, every log line read) and policy p99 under 2 ms.
#
# lazaretd (BUILD_DIR/lazaretd; a release build is the one to measure) with every detector
# on: [flows] listening on loopback with a 32 MiB buffer, a /10 of [network] subscribers, the
# relay, a DROP-sized C&C list and a Feodo list loaded; the policy service on TCP loopback;
# [maillog] file following a log the writer appends to; the API on a Unix socket (its
# counters: /metrics), the portal on a free port. All at once, from the same start:
#   flows   BUILD_DIR/bench/flowgen: FLOW_RATE records/s (100 000), FORMAT (v9), 30 records a
#           datagram, HOSTS active sources in the /10, a quarter of the records replies and
#           1 % of the hosts misbehaving (flowgen -R 25 -b 1), one run per HOSTS_LIST entry
#   policy  BUILD_DIR/bench/policy_load -r: POLICY_RATE requests/s (2 000) over POLICY_CONNS
#           (64) persistent connections, an open loop (latency from each request's due time),
#           POLICY_HOSTS (10 000) hosts, POLICY_ACCOUNTS (10 000) SASL accounts on 30 %
#   log     BUILD_DIR/bench/maillog_gen -P: LOG_RATE Postfix lines/s (10 000) appended to the
#           followed file, rotated (rename + create) every ROTATE seconds (30)
# Measured over the DURATION seconds after the warm-up: lazaretd's CPU (user and system
# seconds a second, its children included; its event loop's thread alone), RSS; policy
# latency (p50, p99, p99.9, max; policy_load's own); the machine's load average and the CPU
# everything else used (other%). Counted over the whole run, warm-up included, once every
# generator is done and lazaretd has caught up: flow records sent and processed
# (lazaret_flow_records_total), kernel drops (lazaret_flow_kernel_drops_total and the
# socket's in /proc/net/udp), exports lost on the way (sequence gaps); policy requests due,
# answered, unanswered, errors; log lines written and read (lazaret_maillog_lines_total),
# bytes behind when the writer stopped (lazaret_maillog_behind_bytes) and how long lazaretd
# took to read the rest.
#
# Environment (defaults in brackets): HOSTS_LIST ["10000 100000"]  FORMAT [v9]
#   FLOW_RATE [100000]  POLICY_RATE [2000]  POLICY_CONNS [64]  POLICY_HOSTS [10000]
#   POLICY_ACCOUNTS [10000]  LOG_RATE [10000]  LOG_HOSTS [200000] (maillog_gen -H)
#   ROTATE [30]  WARMUP [10]  DURATION [60]  PREFIX [100.64.0.0/10]  RCVBUF [33554432]
#   LAZARETD [BUILD_DIR/lazaretd]  KEEP=1 keeps the temp dir (configs, lazaretd's log).
#   FLOW_RATE=0 or LOG_RATE=0 leaves that load out (to see what each adds to the others').
#   CONTROL=1 runs a second policy_load, the same, against dunno_server (answers DUNNO, does
#     nothing else) at the same time: the latency the machine itself gives that load.
#   RT=1 starts lazaretd and its policy_load at SCHED_FIFO priority 10 (chrt, root): on a
#     shared machine, they then get a CPU when they wake, whatever the neighbours do.
# Also printed: how long lazaretd's loop thread and policy_load waited for a CPU while
# runnable (/proc/PID/task/PID/schedstat): on a shared machine, the neighbours' share of
# the latency.
# About 80 s a HOSTS_LIST entry with the defaults. Exit status: 1 when lazaretd did not
# start or died, or a generator failed; a missed target is reported, not failed.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")
# shellcheck source=bench/lib.sh
. "$bench/lib.sh"

HOSTS_LIST=${HOSTS_LIST:-10000 100000}
FORMAT=${FORMAT:-v9}
FLOW_RATE=${FLOW_RATE:-100000}
POLICY_RATE=${POLICY_RATE:-2000}
POLICY_CONNS=${POLICY_CONNS:-64}
POLICY_HOSTS=${POLICY_HOSTS:-10000}
POLICY_ACCOUNTS=${POLICY_ACCOUNTS:-10000}
LOG_RATE=${LOG_RATE:-10000}
LOG_HOSTS=${LOG_HOSTS:-200000}
ROTATE=${ROTATE:-30}
WARMUP=${WARMUP:-10}
DURATION=${DURATION:-60}
PREFIX=${PREFIX:-100.64.0.0/10}
RCVBUF=${RCVBUF:-33554432}
lazaretd=${LAZARETD:-$build/lazaretd}
flowgen=$build/bench/flowgen
load=$build/bench/policy_load
writer=$build/bench/maillog_gen
for f in "$lazaretd" "$flowgen" "$load" "$writer"; do
	[ -x "$f" ] || { echo "combined.sh: $f missing: build it first (ninja -C $build)" >&2; exit 1; }
done
command -v curl >/dev/null 2>&1 || { echo "combined.sh: needs curl" >&2; exit 1; }
rt=""
if [ "${RT:-0}" = 1 ]; then
	rt="chrt -f 10"
	$rt true 2>/dev/null || { echo "combined.sh: RT=1 needs chrt and root" >&2; exit 1; }
fi
command -v ss >/dev/null 2>&1 || { echo "combined.sh: needs ss (iproute2)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-combined.XXXXXX")
results=$tmp/results		# one line a run, key=value
pid=""				# lazaretd
gens=""				# the generators of the run under way
failed=0

stop_lazaretd() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
}
cleanup() {
	for g in $gens; do kill -TERM "$g" 2>/dev/null || true; done
	stop_lazaretd
	if [ "${KEEP:-0}" = 1 ]; then
		echo "combined.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The lists cc_contact looks destinations up in, as an operator loads them: a DROP-sized
# Spamhaus text list (1 500 /24s, as bench/flowdetect's) and a Feodo Tracker CSV (500
# addresses), spread over the unicast space by a fixed sequence, so that a few of flowgen's
# random destinations hit them (about one record in 10 000), as a few subscribers' do.
awk 'BEGIN {
	print "; Spamhaus DROP List (bench/combined.sh: generated)"
	x = 12345
	for (i = 0; i < 1500; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		a = 1 + int(x / 65536) % 222; if (a == 10 || a == 100 || a == 127) a++
		printf "%d.%d.%d.0/24 ; SBL%d\n", a, int(x / 256) % 256, x % 256, 100000 + i
	}
}' >"$tmp/drop.txt"
awk 'BEGIN {
	print "# Feodo Tracker Botnet C2 IP Blocklist (bench/combined.sh: generated)"
	print "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\""
	x = 777
	for (i = 0; i < 500; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		a = 1 + int(x / 65536) % 222; if (a == 10 || a == 100 || a == 127) a++
		printf "\"2026-11-%02d 10:00:00\",\"%d.%d.%d.%d\",\"%d\",\"online\",\"2026-12-01\",\"QakBot\"\n",
		    1 + i % 28, a, int(x / 256) % 256, x % 256, 1 + int(x / 7) % 254, (i % 2) ? 443 : 8080
	}
}' >"$tmp/feodo.csv"

# metric NAME: a counter or gauge of lazaretd's /metrics, summed over its labels (0 when absent).
metric() {
	curl -s -m 5 --unix-socket "$d/api.sock" http://localhost/metrics 2>/dev/null |
	    awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}
# proc_ticks PID...: user + system ticks of these processes (the generators), 0 for gone ones.
proc_ticks() {
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
	    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# shellcheck disable=SC2154  # pport, wport, fport: set by free_port's and free_udp_port's eval
# run HOSTS — one lazaretd, fresh store, under the three loads; appends a line to $results.
run() {
	hosts=$1
	d=$tmp/run-$hosts
	mkdir -p "$d/log"
	free_port pport
	free_port wport
	free_udp_port fport
	cat >"$d/lazaret.conf" <<EOF
; generated by bench/combined.sh
[daemon]
store = $d/lazaret.db

[network]
subscribers = $PREFIX
relay = 192.0.2.25

[policy]
listen = 127.0.0.1:$pport

[api]
socket = $d/api.sock

[portal]
url = http://portal.example.net/
listen = 127.0.0.1:$wport
templates = $repo/share/portal

[maillog]
file = $d/log/mail.log

[flows]
listen = 127.0.0.1:$fport
receive_buffer = $RCVBUF
blocklist = drop drop $tmp/drop.txt
blocklist = feodo feodo-csv $tmp/feodo.csv
EOF
	if ! "$lazaretd" -n -c "$d/lazaret.conf" >"$d/check.out" 2>&1; then
		echo "combined.sh: $lazaretd -n refuses the generated config:" >&2
		cat "$d/check.out" >&2
		return 1
	fi
	: >"$d/log/mail.log"
	# shellcheck disable=SC2086  # $rt: a command and its arguments, or nothing
	$rt "$lazaretd" --init-store -c "$d/lazaret.conf" 2>"$d/lazaretd.log" &
	pid=$!
	if ! wait_listen "$pport" "$pid" || ! wait_udp "$fport" "$pid" 10; then
		echo "combined.sh: lazaretd did not start:" >&2
		tail -20 "$d/lazaretd.log" >&2
		stop_lazaretd
		return 1
	fi
	i=0
	until [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' --unix-socket "$d/api.sock" \
	    http://localhost/metrics 2>/dev/null)" = 200 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "combined.sh: lazaretd's API did not answer" >&2; stop_lazaretd; return 1; }
		sleep 0.1
	done

	dpid=""
	: >"$d/control.out"
	if [ "${CONTROL:-0}" = 1 ]; then
		free_port cport
		"$build/bench/dunno_server" -q "127.0.0.1:$cport" 2>"$d/dunno.err" &
		dpid=$!
		wait_listen "$cport" "$dpid" || { echo "combined.sh: dunno_server did not start" >&2; return 1; }
	fi
	load0=$(cut -d' ' -f1 /proc/loadavg)
	total=$((WARMUP + DURATION))
	t_start=$(now)
	wpid="" fpid=""
	: >"$d/writer.out"
	: >"$d/flowgen.out"
	if [ "$LOG_RATE" -gt 0 ]; then
		"$writer" -P "$LOG_RATE" -R "$ROTATE" -n $((LOG_RATE * total)) -H "$LOG_HOSTS" \
		    -o "$d/log/mail.log" 2>"$d/writer.out" &
		wpid=$!
	fi
	if [ "$FLOW_RATE" -gt 0 ]; then
		"$flowgen" -f "$FORMAT" -r "$FLOW_RATE" -d "$total" -H "$hosts" -p "$PREFIX" -R 25 -b 1 \
		    -i 100 "127.0.0.1:$fport" >"$d/flowgen.out" 2>&1 &
		fpid=$!
	fi
	# shellcheck disable=SC2086
	$rt "$load" -m -l lazaretd -r "$POLICY_RATE" -c "$POLICY_CONNS" -H "$POLICY_HOSTS" \
	    -a "$POLICY_ACCOUNTS" -w "$WARMUP" -d "$DURATION" "127.0.0.1:$pport" \
	    >"$d/load.out" 2>"$d/load.err" &
	lpid=$!
	cpid=""
	if [ "${CONTROL:-0}" = 1 ]; then
		"$load" -m -l control -r "$POLICY_RATE" -c "$POLICY_CONNS" -H "$POLICY_HOSTS" \
		    -a "$POLICY_ACCOUNTS" -w "$WARMUP" -d "$DURATION" "127.0.0.1:$cport" \
		    >"$d/control.out" 2>"$d/control.err" &
		cpid=$!
	fi
	gens="$wpid $fpid $lpid $cpid $dpid"

	# the steady window: CPU and memory from the end of the warm-up to the end of the load
	sleep "$WARMUP"
	us=$(cpu_user_sys "$pid")
	u0=${us% *} s0=${us#* }
	th0=$(thread_ticks "$pid")
	lw0=$(sched_wait "$pid")
	pw0=$(sched_wait "$lpid")
	m0=$(machine_ticks)
	# shellcheck disable=SC2086  # one pid a word
	g0=$(proc_ticks $gens)
	w0=$(now)
	# to half a second before the loads end, while every generator still runs
	sleep "$(awk -v t="$t_start" -v e="$total" -v n="$(now)" 'BEGIN { s = t + e - 0.5 - n; printf "%.2f", (s > 0 ? s : 0) }')"
	us=$(cpu_user_sys "$pid")
	u1=${us% *} s1=${us#* }
	th1=$(thread_ticks "$pid")
	lw1=$(sched_wait "$pid")
	pw1=$(sched_wait "$lpid")
	m1=$(machine_ticks)
	# shellcheck disable=SC2086
	g1=$(proc_ticks $gens)
	w1=$(now)
	rss=$(rss_kib "$pid")
	load1=$(cut -d' ' -f1 /proc/loadavg)

	# the writer's last line: how far behind lazaretd was then, and how long it took to read the rest
	if [ -n "$wpid" ] && ! wait "$wpid"; then
		echo "combined.sh: maillog_gen failed:" >&2
		cat "$d/writer.out" >&2
		failed=1
	fi
	t_wend=$(now)
	behind=$(metric lazaret_maillog_behind_bytes)
	lines_then=$(metric lazaret_maillog_lines_total)
	written=$(kv lines "$d/writer.out")
	written=${written:-0}
	i=0
	while [ "$(metric lazaret_maillog_lines_total)" -lt "$written" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	caught=$(elapsed "$t_wend" "$(now)")
	if [ -n "$fpid" ] && ! wait "$fpid"; then
		echo "combined.sh: flowgen failed:" >&2
		cat "$d/flowgen.out" >&2
		failed=1
	fi
	i=0
	while [ "$(udp_rxq "$fport")" -gt 0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$lpid" || { echo "combined.sh: policy_load failed:" >&2; cat "$d/load.err" >&2; failed=1; }
	if [ -n "$cpid" ]; then
		wait "$cpid" || { echo "combined.sh: the control's policy_load failed" >&2; failed=1; }
		kill "$dpid" 2>/dev/null || true
		wait "$dpid" 2>/dev/null || true
	fi
	gens=""
	sleep 0.5		# the last loop turns' counters
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "combined.sh: lazaretd died under the load:" >&2
		tail -20 "$d/lazaretd.log" >&2
		pid=""
		return 1
	fi
	hwm=$(hwm_kib "$pid")
	lo=$d/load.out
	echo "hosts=$hosts format=$FORMAT load0=$load0 load1=$load1" \
	    "window=$(elapsed "$w0" "$w1")" \
	    "user=$((u1 - u0)) sys=$((s1 - s0)) loop=$((th1 - th0)) machine=$((m1 - m0)) gens=$((g1 - g0))" \
	    "loop_wait_ns=$((${lw1% *} - ${lw0% *})) loop_slices=$((${lw1#* } - ${lw0#* }))" \
	    "load_wait_ns=$((${pw1% *} - ${pw0% *})) load_slices=$((${pw1#* } - ${pw0#* }))" \
	    "c_p50=$(kv p50_ms "$d/control.out") c_p99=$(kv p99_ms "$d/control.out")" \
	    "c_p999=$(kv p999_ms "$d/control.out") c_max=$(kv max_ms "$d/control.out")" \
	    "rss_kib=$rss hwm_kib=$hwm" \
	    "flow_sent=$(kv records "$d/flowgen.out" | grep . || echo 0) flow_rate=$(kv rate "$d/flowgen.out")" \
	    "flow_behind_ms=$(kv behind_ms "$d/flowgen.out")" \
	    "flow_processed=$(metric lazaret_flow_records_total)" \
	    "flow_kdrops=$(metric lazaret_flow_kernel_drops_total) flow_udp_drops=$(udp_drops "$fport")" \
	    "flow_seq_lost=$(metric lazaret_flow_sequence_lost_total)" \
	    "flow_malformed=$(metric lazaret_flow_malformed_total)" \
	    "flow_detected=$(metric lazaret_flow_detect_evidence_total)" \
	    "pol_due=$(kv due "$lo") pol_answered=$(kv requests "$lo") pol_unanswered=$(kv unanswered "$lo")" \
	    "pol_errors=$(kv errors "$lo") pol_reconnects=$(kv reconnects "$lo")" \
	    "p50=$(kv p50_ms "$lo") p99=$(kv p99_ms "$lo") p999=$(kv p999_ms "$lo") max=$(kv max_ms "$lo")" \
	    "pol_actions=$(kv actions "$lo" | sed 's/ due=.*//')" \
	    "log_written=$written log_rate=$(kv rate "$d/writer.out") log_behind_ms=$(kv behind_ms "$d/writer.out")" \
	    "log_rotations=$(kv rotations "$d/writer.out") log_read=$(metric lazaret_maillog_lines_total)" \
	    "log_rotations_seen=$(curl -s -m 5 --unix-socket "$d/api.sock" http://localhost/v1/stats |
		sed -n 's/.*"rotations": *\([0-9]*\).*/\1/p' | head -1)" \
	    "log_lines_at_end=$lines_then log_behind_bytes=$behind log_catchup=$caught" \
	    "level_changes=$(metric lazaret_level_changes_total)" \
	    "held=$(metric lazaret_policy_decision_seconds_count)" \
	    "held_1ms=$(metric 'lazaret_policy_decision_seconds_bucket{le="0.001"}')" \
	    "held_2_5ms=$(metric 'lazaret_policy_decision_seconds_bucket{le="0.0025"}')" >>"$results"
	stop_lazaretd
}

echo "combined.sh: $(uname -n), $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1);" \
    "$(date -u '+%Y-%m-%d %H:%M UTC'); $("$lazaretd" -V 2>/dev/null | head -1 || true)"
load_check combined.sh
for h in $HOSTS_LIST; do
	echo "combined.sh: run with $h active flow sources ($WARMUP s warm-up + $DURATION s) ..." >&2
	run "$h" || { failed=1; stop_lazaretd; }
done

# One block: the settings, then a table of every run, then the verdict of each.
echo
echo "Load${rt:+ (lazaretd and its policy_load under $rt)}: $FLOW_RATE flow records/s ($FORMAT, 30 a datagram, sources in $PREFIX), $POLICY_RATE policy requests/s" \
    "(open loop, $POLICY_CONNS connections, $POLICY_HOSTS hosts, $POLICY_ACCOUNTS accounts), $LOG_RATE log lines/s" \
    "(rotated every $ROTATE s); $WARMUP s warm-up + $DURATION s measured"
awk -v hz="$hz" -v ncpu="$(nproc)" '
function fmt(n,   s, o) {	# 1234567 -> 1 234 567
	s = sprintf("%d", n); o = ""
	while (length(s) > 3) { o = " " substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
	return s o
}
{
	delete v
	for (i = 1; i <= NF; i++) { split($i, a, "="); v[a[1]] = substr($i, length(a[1]) + 2) }
	n++
	w = v["window"] > 0 ? v["window"] : 1
	other = (v["machine"] - v["user"] - v["sys"] - v["gens"]) / hz / w * 100
	row[n] = sprintf("| %s | %s / %s | %s | %s | %s / %s / %s / %s | %s / %s / %s / %s | %s / %s | %s B, %.1f s | %.2f / %.2f (loop %.2f) | %.0f / %.0f | %s / %s, %.0f %% |",
	    fmt(v["hosts"]), fmt(v["flow_processed"]), fmt(v["flow_sent"]), fmt(v["flow_kdrops"]), fmt(v["flow_seq_lost"]),
	    v["p50"], v["p99"], v["p999"], v["max"],
	    fmt(v["pol_answered"]), fmt(v["pol_due"]), fmt(v["pol_unanswered"]), fmt(v["pol_errors"]),
	    fmt(v["log_read"]), fmt(v["log_written"]), fmt(v["log_behind_bytes"]), v["log_catchup"],
	    v["user"] / hz / w, v["sys"] / hz / w, v["loop"] / hz / w, v["rss_kib"] / 1024, v["hwm_kib"] / 1024,
	    v["load0"], v["load1"], other < 0 ? 0 : other)
	miss = ""
	if (v["flow_processed"] + 0 != v["flow_sent"] + 0) miss = miss sprintf(" %s flow records not processed;", fmt(v["flow_sent"] - v["flow_processed"]))
	if (v["flow_kdrops"] + v["flow_udp_drops"] > 0) miss = miss sprintf(" kernel drops %s (socket %s);", fmt(v["flow_kdrops"]), fmt(v["flow_udp_drops"]))
	if (v["pol_unanswered"] + v["pol_errors"] > 0 || v["pol_due"] == "") miss = miss sprintf(" policy: %s unanswered, %s errors;", v["pol_unanswered"], v["pol_errors"])
	if (v["p99"] + 0 >= 2) miss = miss sprintf(" policy p99 %s ms (target < 2);", v["p99"])
	if (v["log_read"] + 0 < v["log_written"] + 0) miss = miss sprintf(" %s log lines not read;", fmt(v["log_written"] - v["log_read"]))
	if (v["log_rotations_seen"] + 0 < v["log_rotations"] + 0) miss = miss sprintf(" %s rotations written, %s followed;", v["log_rotations"], v["log_rotations_seen"])
	verdict[n] = sprintf("%s active sources: %s", fmt(v["hosts"]), miss == "" ? "no loss, p99 < 2 ms: met" : "MISSED:" miss)
	extra[n] = sprintf("%s active sources: sent %s records/s (flowgen behind %s ms), log %s lines/s (writer behind %s ms, %s rotations, %s followed), policy actions %s, evidence from flows %s, level changes %s, malformed %s",
	    fmt(v["hosts"]), fmt(v["flow_rate"]), v["flow_behind_ms"], fmt(v["log_rate"]), v["log_behind_ms"], v["log_rotations"],
	    v["log_rotations_seen"], v["pol_actions"], fmt(v["flow_detected"]), fmt(v["level_changes"]), v["flow_malformed"])
	sched[n] = sprintf("%s active sources: waiting for a CPU while runnable, ms a second: lazaretd'"'"'s loop %.1f (%.0f µs a wake-up), policy_load %.1f (%.0f µs)%s",
	    fmt(v["hosts"]), v["loop_wait_ns"] / 1e6 / w, v["loop_slices"] > 0 ? v["loop_wait_ns"] / 1e3 / v["loop_slices"] : 0,
	    v["load_wait_ns"] / 1e6 / w, v["load_slices"] > 0 ? v["load_wait_ns"] / 1e3 / v["load_slices"] : 0,
	    (v["held"] > 0 ? sprintf("; lazaretd held %.2f %% of its answers over 1 ms, %.2f %% over 2.5 ms (its own histogram, from reading a request to the end of that loop turn)",
	    (v["held"] - v["held_1ms"]) * 100 / v["held"], (v["held"] - v["held_2_5ms"]) * 100 / v["held"]) : "") \
	    (v["c_p99"] == "" ? "" : sprintf("; control (dunno_server, the same load at the same time) p50 / p99 / p99.9 / max %s / %s / %s / %s ms",
	    v["c_p50"], v["c_p99"], v["c_p999"], v["c_max"])))
}
END {
	print ""
	print "| active flow sources | flow records processed / sent | kernel drops | sequence lost | policy p50 / p99 / p99.9 / max ms | policy answered / due / unanswered / errors | log lines read / written | log behind at the end, caught up in | lazaretd CPU s/s user / sys | RSS / peak MiB | load avg start / end, other CPU |"
	print "|---:|---:|---:|---:|---|---|---:|---|---|---|---|"
	for (i = 1; i <= n; i++) print row[i]
	print ""
	for (i = 1; i <= n; i++) print verdict[i]
	for (i = 1; i <= n; i++) print extra[i]
	for (i = 1; i <= n; i++) print sched[i]
}' "$results"
exit $failed
