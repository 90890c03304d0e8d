#!/bin/sh
# flows.sh BUILD_DIR — how many NetFlow v9 / IPFIX records a second each flow
# collector keeps up with on this machine, beside its peers, with the same
# load for each: at increasing rates over loopback, per rate the records it
# says it processed, the loss (its own counters and the kernel's drops on its
# socket), its CPU and its peak RSS.
#
# Receivers, one after the other (RECEIVERS):
#   flowsink    BUILD_DIR/bench/flowsink: only counts (the ceiling)
#   nfcapd      nfdump's collector, storing to files in the temp dir
#   nfacctd     pmacct's collector, print plugin, aggregated per source host
#   fastnetmon  FastNetMon community (Debian), the /10 as its network list
#   lazaretd    BUILD_DIR/lazaretd, only once it accepts a [flows] section
#               (checked with lazaretd -n); skipped, and said so, before
# Load: BUILD_DIR/bench/flowgen, 30 records a datagram, HOSTS active hosts in
# PREFIX, DURATION seconds a rate, each format in turn (bench/README.md).
#
# Environment (defaults in brackets):
#   RATES ["10000 100000 400000 1200000 2400000"] records/s
#   FORMATS ["v9 ipfix"]  DURATION [4]  HOSTS [10000]  PREFIX [100.64.0.0/10]
#   RCVBUF [33554432]: the socket buffer asked of every receiver, by its own
#     option (net.core.rmem_max is raised to it for the run, then restored)
#   SENDERS: flowgen processes per rate [one, and one more for every 3 M records/s]
#   RECEIVERS ["flowsink nfcapd nfacctd fastnetmon lazaretd"]
#   FNM_RCVBUF=1: FastNetMon has no option for its socket buffer; this raises
#     net.core.rmem_default to RCVBUF while it opens its socket (for every
#     socket opened on the machine meanwhile), restored right after.
#   LAZARETD [BUILD_DIR/lazaretd]  KEEP=1 keeps the temp dir.
# Exit status: 0 when every receiver ran (or was skipped for a reason it
# prints), 1 when one failed to start or died.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
build=$(cd "$1" && pwd) || usage
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")

RATES=${RATES:-10000 100000 400000 1200000 2400000}
FORMATS=${FORMATS:-v9 ipfix}
DURATION=${DURATION:-4}
HOSTS=${HOSTS:-10000}
PREFIX=${PREFIX:-100.64.0.0/10}
RCVBUF=${RCVBUF:-33554432}
SENDERS=${SENDERS:-}
RECEIVERS=${RECEIVERS:-flowsink nfcapd nfacctd fastnetmon lazaretd}

gen=$build/bench/flowgen
sink=$build/bench/flowsink
lazaretd=${LAZARETD:-$build/lazaretd}
for f in "$gen" "$sink"; do
	if [ ! -x "$f" ]; then
		echo "flows.sh: $f missing: build it first (ninja -C $build)" >&2
		exit 1
	fi
done
# the peers, as make bench installs them (scripts/install-deps.sh bench)
if [ "$(id -u)" -eq 0 ]; then
	sh "$repo/scripts/install-deps.sh" bench >&2 || true
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-flows.XXXXXX")
results=$tmp/results		# one line a step, key=value
server_pid=""
failed=0
old_rmem_max=$(cat /proc/sys/net/core/rmem_max)
old_rmem_default=$(cat /proc/sys/net/core/rmem_default)

stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -"${1:-TERM}" "$server_pid" 2>/dev/null || true
	i=0
	while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

cleanup() {
	stop_server
	if [ "$(cat /proc/sys/net/core/rmem_max)" != "$old_rmem_max" ]; then
		echo "$old_rmem_max" >/proc/sys/net/core/rmem_max 2>/dev/null || true
	fi
	if [ "$(cat /proc/sys/net/core/rmem_default)" != "$old_rmem_default" ]; then
		echo "$old_rmem_default" >/proc/sys/net/core/rmem_default 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "flows.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# Every peer sets its buffer with SO_RCVBUF, which net.core.rmem_max caps:
# raised for the run so that each gets the RCVBUF it asks for.
if [ "$old_rmem_max" -lt "$RCVBUF" ]; then
	if ! echo "$RCVBUF" >/proc/sys/net/core/rmem_max 2>/dev/null; then
		echo "flows.sh: cannot raise net.core.rmem_max to $RCVBUF (not root?):" \
		    "the peers get $old_rmem_max" >&2
	fi
fi

# free_udp_port VAR: a loopback UDP port nobody uses (not in a subshell).
next_port=$((21000 + $$ * 7 % 11000))
free_udp_port() {
	while awk -v p="$(printf ':%04X' "$next_port")" \
	    'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
	    /proc/net/udp /proc/net/udp6; do
		next_port=$((next_port + 1))
	done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}

# udp_rxq PORT: bytes waiting to be read on the sockets bound to PORT;
# udp_drops PORT: datagrams the kernel dropped there (/proc/net/udp).
udp_rxq() {
	awk -v p="$(printf ':%04X' "$1")" '
	substr($2, length($2) - 4) == p { split($5, q, ":"); print q[2] }' /proc/net/udp |
	while read -r h; do printf '%d\n' "0x$h"; done | awk '{ s += $1 } END { print s + 0 }'
}
udp_drops() {
	awk -v p="$(printf ':%04X' "$1")" '
	substr($2, length($2) - 4) == p { d += $13 } END { print d + 0 }' /proc/net/udp
}

# wait_udp PORT PID SECONDS: until something is bound to PORT; 1 if PID died.
wait_udp() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		kill -0 "$2" 2>/dev/null || return 1
		awk -v p="$(printf ':%04X' "$1")" \
		    'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		    /proc/net/udp && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# drain PORT: until the socket's queue is empty (the receiver has read
# everything sent; 10 s at most), then half a second for the last batch.
drain() {
	i=0
	while [ "$(udp_rxq "$1")" -gt 0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	drained_at=$(now)
	sleep 0.5
}

# tree PID: PID and its children (pmacct's plugins, FastNetMon's none).
tree() {
	echo "$1"
	ps -o pid= --ppid "$1" 2>/dev/null || true
}
# cpu_ticks PID: user + system ticks of PID and its children, threads included,
# and of the children they have reaped (pmacct forks a writer every second).
cpu_ticks() {
	for p in $(tree "$1"); do
		cat "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
# hwm_kib PID: peak RSS of PID plus its children's, KiB.
hwm_kib() {
	for p in $(tree "$1"); do
		cat "/proc/$p/status" 2>/dev/null || true
	done | awk '$1 == "VmHWM:" { k += $2 } END { print k + 0 }'
}
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

senders_for() {
	if [ -n "$SENDERS" ]; then
		echo "$SENDERS"
	else
		echo $(($1 / 3000000 + 1))
	fi
}

# send FORMAT RATE PORT: flowgen's line in $tmp/gen.out. Each format a
# source id of its own, so that a collector's sequence check is not fooled
# by the switch.
send() {
	case $1 in v9) sid=100 ;; *) sid=200 ;; esac
	"$gen" -f "$1" -r "$2" -d "$DURATION" -H "$HOSTS" -p "$PREFIX" \
	    -P "$(senders_for "$2")" -i "$sid" "127.0.0.1:$3" >"$tmp/gen.out" 2>&1
}

kv() {	# kv KEY FILE: the value of KEY=... in the last line of FILE holding it
	sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" "$2" | tail -1
}

# record NAME FORMAT RATE PROCESSED OWN_LOSS KDROPS TICKS WALL HWM
record() {
	echo "receiver=$1 format=$2 rate=$3 sent=$(kv records "$tmp/gen.out")" \
	    "sent_rate=$(kv rate "$tmp/gen.out") behind_ms=$(kv behind_ms "$tmp/gen.out")" \
	    "senders=$(kv senders "$tmp/gen.out") seconds=$(kv seconds "$tmp/gen.out") processed=$4 own_loss=$5 kernel_drops=$6" \
	    "ticks=$7 wall=$8 hwm_kib=$9 catchup=$(elapsed "$sent_at" "$drained_at")" >>"$results"
	tail -1 "$results"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# A step for a receiver started afresh for it: start_X sets server_pid and
# port, counted_X prints "PROCESSED OWN_LOSS" after stop_server.
step_fresh() {	# step_fresh NAME FORMAT RATE
	"start_$1" || return 1
	t0=$(now)
	c0=$(cpu_ticks "$server_pid")
	send "$2" "$3" "$port" || { cat "$tmp/gen.out" >&2; stop_server; return 1; }
	sent_at=$(now)
	drain "$port"
	# what the receiver read but has not counted yet (pmacct's pipe to its plugin)
	if command -v "settle_$1" >/dev/null 2>&1; then
		"settle_$1"
	fi
	c1=$(cpu_ticks "$server_pid")
	t1=$(now)
	hwm=$(hwm_kib "$server_pid")
	kd=$(udp_drops "$port")
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "flows.sh: $1 died at $3 records/s ($2)" >&2
		server_pid=""
		return 1
	fi
	"stop_$1"
	set -- "$1" "$2" "$3" $("counted_$1")
	record "$1" "$2" "$3" "$4" "$5" "$kd" $((c1 - c0)) "$(elapsed "$t0" "$t1")" "$hwm"
}

# --- flowsink: the ceiling
start_flowsink() {
	free_udp_port port
	"$sink" -b "$RCVBUF" "127.0.0.1:$port" >"$tmp/flowsink.out" 2>"$tmp/flowsink.err" &
	server_pid=$!
	wait_udp "$port" "$server_pid" 5 || { cat "$tmp/flowsink.err" >&2; return 1; }
}
stop_flowsink() { stop_server TERM; }
counted_flowsink() {
	echo "$(kv records "$tmp/flowsink.out") seq=$(kv seq_lost_datagrams "$tmp/flowsink.out")/$(kv seq_lost_records "$tmp/flowsink.out")"
}

# --- nfcapd: stores every record in a file; prints its totals when it ends
start_nfcapd() {
	free_udp_port port
	rm -rf "$tmp/nfcapd"
	mkdir -p "$tmp/nfcapd"
	nfcapd -w "$tmp/nfcapd" -b 127.0.0.1 -p "$port" -B "$RCVBUF" -t 300 \
	    >"$tmp/nfcapd.log" 2>&1 &
	server_pid=$!
	wait_udp "$port" "$server_pid" 5 || { cat "$tmp/nfcapd.log" >&2; return 1; }
}
stop_nfcapd() { stop_server TERM; }
counted_nfcapd() {
	# "Ident: 'none' Flows: N, Packets: ..., Sequence Errors: S, Bad Packets: B"
	sed -n 's/.*Flows: \([0-9]*\),.*Sequence Errors: \([0-9]*\), Bad Packets: \([0-9]*\).*/\1 seqerr=\2,bad=\3/p' \
	    "$tmp/nfcapd.log" | tail -1 | grep . || echo "0 no-stats"
}

# --- nfacctd: print plugin, one line per source host a second, with its
# record count (FLOWS); the core and the plugin are two processes.
start_nfacctd() {
	free_udp_port port
	d=$tmp/nfacctd
	rm -rf "$d"
	mkdir -p "$d"
	cat >"$d/nfacctd.conf" <<EOF
! generated by bench/flows.sh
daemonize: false
logfile: $d/nfacctd.log
nfacctd_ip: 127.0.0.1
nfacctd_port: $port
nfacctd_pipe_size: $RCVBUF
plugin_pipe_size: 102400000
plugin_buffer_size: 102400
plugins: print[bench]
aggregate[bench]: src_host, flows
print_output[bench]: csv
print_output_file[bench]: $d/out.csv
print_output_file_append[bench]: true
print_refresh_time[bench]: 1
EOF
	nfacctd -f "$d/nfacctd.conf" >"$d/stderr" 2>&1 &
	server_pid=$!
	wait_udp "$port" "$server_pid" 10 || { cat "$d/stderr" "$d/nfacctd.log" >&2; return 1; }
}
# SIGINT: the core passes it on and the plugin writes out what it holds and
# ends; Debian's core (1.7.7) then stays up with its plugin unreaped, so it
# is killed once the plugin is gone.
stop_nfacctd() {
	plugins=$(ps -o pid= --ppid "$server_pid" 2>/dev/null || true)
	kill -INT "$server_pid" 2>/dev/null || true
	i=0
	while [ $i -lt 100 ]; do
		alive=0
		for p in $plugins; do
			case $(ps -o stat= -p "$p" 2>/dev/null) in
			Z*|"") ;;
			*) alive=1 ;;
			esac
		done
		[ $alive = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	stop_server KILL
}
nfacctd_flows() {
	awk -F, '$3 ~ /^[0-9]+$/ { f += $3 } END { print f + 0 }' "$tmp/nfacctd/out.csv" 2>/dev/null || echo 0
}
# The plugin works through its pipe (up to 100 MB behind the core) and
# writes what it counted every second: wait until its processes stop using
# CPU and two writes in a row add nothing (30 s at most), so that SIGINT
# does not cut its backlog.
settle_nfacctd() {
	last=-1
	lastc=-10
	same=0
	i=0
	while [ $same -lt 3 ] && [ $i -lt 60 ]; do
		sleep 0.5
		cur=$(nfacctd_flows)
		c=$(cpu_ticks "$server_pid")
		if [ "$cur" = "$last" ] && [ $((c - lastc)) -le 1 ]; then
			same=$((same + 1))
		else
			same=0
		fi
		last=$cur
		lastc=$c
		i=$((i + 1))
	done
}
counted_nfacctd() {
	f=$(nfacctd_flows)
	# the core logs what the plugin's pipe could not take
	m=$(grep -c 'Missing data detected' "$tmp/nfacctd/nfacctd.log" 2>/dev/null || true)
	echo "$f missing_data_warnings=${m:-0}"
}

# --- fastnetmon: started once (its start-up allocates counters for every
# address of the /10), its counters read from its Prometheus endpoint as
# deltas around each step. No option for its socket buffer: the kernel's
# default (net.core.rmem_default), unless FNM_RCVBUF=1 (below).
fnm_metric() {	# fnm_metric NAME: a counter from the endpoint, 0 when absent
	curl -s -m 5 "http://127.0.0.1:$fnm_prom/metrics" 2>/dev/null |
	    awk -v n="fastnetmon_$1" '$1 == n { v = $2 } END { printf "%d\n", v + 0 }'
}
run_fastnetmon() {
	if ! command -v fastnetmon >/dev/null 2>&1 && [ ! -x /usr/sbin/fastnetmon ]; then
		echo "flows.sh: fastnetmon not installed (scripts/install-deps.sh bench)" >&2
		return 1
	fi
	free_udp_port port
	fnm_prom=$((port + 1))
	next_port=$((port + 2))
	d=$tmp/fastnetmon
	mkdir -p "$d"
	echo "$PREFIX" >"$d/networks_list"
	: >"$d/networks_whitelist"
	cat >"$d/fastnetmon.conf" <<EOF
# generated by bench/flows.sh: NetFlow in, counters out, no actions
logging_level = info
enable_ban = off
enable_ban_ipv6 = off
process_incoming_traffic = on
process_outgoing_traffic = on
networks_list_path = $d/networks_list
white_list_path = $d/networks_whitelist
check_period = 1
enable_connection_tracking = on
netflow = on
sflow = off
pcap = off
mirror_afpacket = off
netflow_host = 127.0.0.1
netflow_port = $port
netflow_sampling_ratio = 1
average_calculation_time = 5
pid_path = $d/fastnetmon.pid
cli_stats_file_path = $d/fastnetmon.dat
cli_stats_ipv6_file_path = $d/fastnetmon_ipv6.dat
enable_api = off
prometheus = on
prometheus_host = 127.0.0.1
prometheus_port = $fnm_prom
redis_enabled = off
mongodb_enabled = off
influxdb = off
graphite = off
exabgp = off
gobgp = off
monitor_local_ip_addresses = off
disable_usage_report = on
EOF
	fnm=$(command -v fastnetmon || echo /usr/sbin/fastnetmon)
	# FNM_RCVBUF=1: the machine's default buffer raised to RCVBUF while
	# FastNetMon opens its socket, put back as soon as it has: every socket
	# opened meanwhile on the machine gets it too.
	[ "${FNM_RCVBUF:-0}" = 1 ] && echo "$RCVBUF" >/proc/sys/net/core/rmem_default
	t0=$(now)
	"$fnm" --configuration_file "$d/fastnetmon.conf" --log_file "$d/fastnetmon.log" \
	    --disable_pid_logic >"$d/stdout" 2>&1 &
	server_pid=$!
	if ! wait_udp "$port" "$server_pid" 120; then
		echo "$old_rmem_default" >/proc/sys/net/core/rmem_default 2>/dev/null || true
		echo "flows.sh: fastnetmon did not start:" >&2
		tail -20 "$d/fastnetmon.log" "$d/stdout" >&2
		stop_server
		return 1
	fi
	fnm_buf=$(cat /proc/sys/net/core/rmem_default)
	echo "$old_rmem_default" >/proc/sys/net/core/rmem_default 2>/dev/null || true
	i=0
	until curl -s -m 1 "http://127.0.0.1:$fnm_prom/metrics" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$server_pid" 2>/dev/null; then
			echo "flows.sh: fastnetmon's Prometheus endpoint did not answer" >&2
			stop_server
			return 1
		fi
		sleep 0.2
	done
	echo "fastnetmon: started in $(elapsed "$t0" "$(now)") s, RSS $(hwm_kib "$server_pid") KiB, socket buffer $fnm_buf (net.core.rmem_default$([ "${FNM_RCVBUF:-0}" = 1 ] && echo ", raised for its start"))" |
	    tee "$tmp/fastnetmon.start"
	for f in $FORMATS; do
		for r in $RATES; do
			p0=$(fnm_metric netflow_ipfix_all_protocols_total_flows)
			u0=$(fnm_metric netflow_ipfix_udp_packet_drops)
			k0=$(udp_drops "$port")
			c0=$(cpu_ticks "$server_pid")
			t0=$(now)
			send "$f" "$r" "$port" || { cat "$tmp/gen.out" >&2; stop_server; return 1; }
			sent_at=$(now)
			drain "$port"
			c1=$(cpu_ticks "$server_pid")
			t1=$(now)
			if ! kill -0 "$server_pid" 2>/dev/null; then
				echo "flows.sh: fastnetmon died at $r records/s ($f)" >&2
				server_pid=""
				return 1
			fi
			p1=$(fnm_metric netflow_ipfix_all_protocols_total_flows)
			u1=$(fnm_metric netflow_ipfix_udp_packet_drops)
			k1=$(udp_drops "$port")
			record fastnetmon "$f" "$r" $((p1 - p0)) "udp_drops=$((u1 - u0))" \
			    $((k1 - k0)) $((c1 - c0)) "$(elapsed "$t0" "$t1")" "$(hwm_kib "$server_pid")"
		done
	done
	stop_server TERM
}

# --- lazaretd: the collector ([flows]), its records counted by its own counter in /metrics
# (lazaret_flow_records_total, summed over exporters); the /10 as subscribers ([network]);
# the policy service on a Unix socket and the portal on a free port, out of the way.
lazaretd_conf() {	# lazaretd_conf DIR PORT
	cat >"$1/lazaret.conf" <<EOF
; generated by bench/flows.sh
[daemon]
store = $1/lazaret.db
log_level = warn

[policy]
listen = unix:$1/policy.sock

[api]
socket = $1/api.sock

[portal]
listen = 127.0.0.1:$(( $2 + 1 ))

[network]
subscribers = $PREFIX

[flows]
listen = 127.0.0.1:$2
receive_buffer = $RCVBUF
EOF
}
start_lazaretd() {
	free_udp_port port
	d=$tmp/lazaretd
	rm -rf "$d"
	mkdir -p "$d"
	lazaretd_conf "$d" "$port"
	"$lazaretd" --init-store -c "$d/lazaret.conf" 2>"$d/lazaretd.log" &
	server_pid=$!
	wait_udp "$port" "$server_pid" 10 || { tail -20 "$d/lazaretd.log" >&2; return 1; }
	lazaretd_before=0
}
lazaretd_records() {
	curl -s -m 5 --unix-socket "$tmp/lazaretd/api.sock" http://localhost/metrics 2>/dev/null |
	    awk '$1 ~ /^lazaret_flow_records_total/ { s += $2 } END { printf "%d\n", s + 0 }'
}
stop_lazaretd() {
	lazaretd_after=$(lazaretd_records)
	stop_server TERM
}
counted_lazaretd() { echo "$lazaretd_after metrics"; }
lazaretd_has_flows() {
	[ -x "$lazaretd" ] || return 1
	mkdir -p "$tmp/lazaretd-check"
	lazaretd_conf "$tmp/lazaretd-check" 2055
	"$lazaretd" -n -c "$tmp/lazaretd-check/lazaret.conf" >"$tmp/lazaretd-check/out" 2>&1
}

echo "flows.sh: $(uname -n), $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "flows.sh: load at start: $(cut -d' ' -f1-3 /proc/loadavg); rates $RATES; formats $FORMATS;" \
    "$DURATION s a rate; $HOSTS hosts in $PREFIX; socket buffers $RCVBUF"
for rcv in $RECEIVERS; do
	echo "=== $rcv"
	case $rcv in
	fastnetmon)
		run_fastnetmon || failed=1
		continue ;;
	lazaretd)
		if ! lazaretd_has_flows; then
			why=$(head -1 "$tmp/lazaretd-check/out" 2>/dev/null | sed 's/^[^ ]*: //')
			case $why in
			*"section [flows]"*) why="$why: no collector in this build" ;;
			esac
			echo "lazaretd: skipped: $lazaretd -n refuses the bench's config ($why)"
			echo "receiver=lazaretd skipped=1" >>"$results"
			continue
		fi ;;
	nfcapd|nfacctd)
		if ! command -v "$rcv" >/dev/null 2>&1; then
			echo "flows.sh: $rcv not installed (scripts/install-deps.sh bench)" >&2
			failed=1
			continue
		fi ;;
	flowsink) ;;
	*) echo "flows.sh: unknown receiver $rcv" >&2; failed=1; continue ;;
	esac
	for f in $FORMATS; do
		for r in $RATES; do
			step_fresh "$rcv" "$f" "$r" || { failed=1; stop_server; break 2; }
		done
	done
done
echo "flows.sh: load at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# The tables: loss per receiver side by side, then each receiver's detail.
echo
awk -v recv="$RECEIVERS" '
function fmt(n) {	# 1234567 -> 1 234 567
	s = sprintf("%d", n); o = ""
	while (length(s) > 3) { o = " " substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
	return s o
}
{
	delete kv
	for (i = 1; i <= NF; i++) { split($i, a, "="); kv[a[1]] = substr($i, length(a[1]) + 2) }
	if (kv["skipped"] == 1) { skipped[kv["receiver"]] = 1; next }
	k = kv["format"] SUBSEP kv["rate"]
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	r = kv["receiver"]
	sent = kv["sent"] + 0
	loss = sent > 0 ? (sent - kv["processed"]) / sent * 100 : 0
	if (loss < 0) loss = 0
	cell[r, k] = sprintf("%.2f %%", loss)
	line[r, k] = sprintf("| %s | %s | %s | %s | %s | %.2f %% | %s | %s | %.1f | %.0f | %s | %.0f |",
	    kv["format"], fmt(kv["rate"]), fmt(kv["sent_rate"]) (kv["sent_rate"] + 0 < 0.98 * kv["rate"] ? " (behind)" : ""),
	    fmt(sent), fmt(kv["processed"]), loss, fmt(kv["kernel_drops"]), kv["own_loss"], kv["catchup"],
	    kv["seconds"] > 0 ? kv["ticks"] / '"$hz"' / kv["seconds"] * 100 : 0,
	    kv["processed"] > 0 ? sprintf("%.2f", kv["ticks"] / '"$hz"' * 1e6 / kv["processed"]) : "-",
	    kv["hwm_kib"] / 1024)
	has[r] = 1
}
END {
	m = split(recv, R, " ")
	hdr = "| format | records/s |"; sep = "|---|---:|"
	for (j = 1; j <= m; j++) { hdr = hdr " " R[j] " loss |"; sep = sep "---:|" }
	print hdr; print sep
	for (i = 1; i <= n; i++) {
		split(order[i], fr, SUBSEP)
		row = "| " fr[1] " | " fmt(fr[2]) " |"
		for (j = 1; j <= m; j++)
			row = row " " ((R[j], order[i]) in cell ? cell[R[j], order[i]] : (R[j] in skipped ? "skipped" : "-")) " |"
		print row
	}
	for (j = 1; j <= m; j++) {
		if (!(R[j] in has)) continue
		print ""
		print R[j] ":"
		print ""
		print "| format | target/s | sent/s | sent | processed | loss | kernel drops (datagrams) | own counter | catch-up s | CPU % of the sending time | µs CPU / record | peak RSS MiB |"
		print "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
		for (i = 1; i <= n; i++)
			if ((R[j], order[i]) in line) print line[R[j], order[i]]
	}
}' "$results"
[ -f "$tmp/fastnetmon.start" ] && { echo; cat "$tmp/fastnetmon.start"; }
exit $failed
