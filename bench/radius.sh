#!/bin/sh
# radius.sh BUILD_DIR — issue 10's figures, in one run (bench/README.md, "radius"):
#   1. lazaretd (BUILD_DIR/lazaretd: use a release build) takes SUBSCRIBERS Starts, each an
#      IPv4 address and a delegated /56: Starts/s, then its RSS, the identity layer's own
#      count of its memory (stats identity.memory_bytes) and the store's size.
#   2. The morning reconnect storm: QUARANTINED of them quarantined through the API
#      (lazaretctl quarantine subscriber:ID), then STORM_STARTS subscribers send a Stop and a
#      Start on a new address within STORM_SECONDS; every quarantined one among them is
#      watched: from its Start sent to the relay's first REJECT of its new address (the
#      policy service asked every 2 ms), and its old address no longer refused at the end.
#      Then the same on the next STORM_STARTS subscribers without their /56 (where the time goes).
#   3. Accounting records/s, a Start/Interim/Stop mix over the same subscribers, at each
#      rate of RATES for DURATION s: lazaretd, then FreeRADIUS 3.2 (Debian's) with the
#      detail module writing every request to a file, pair by pair; answered, lost, latency,
#      CPU and RSS of each; then lazaretd once more at V4_RATE without the /56s.
#   4. The address history for 180 days: HISTORY_SUBSCRIBERS reconnecting daily for
#      HISTORY_DAYS days written to a store (bench/radius_history), scaled by rows to
#      SUBSCRIBERS over 180 days.
# The load is BUILD_DIR/bench/radius_load (open loop over loopback UDP, SOCKETS sockets of
# 256 Identifiers each, answers checked by their Response Authenticator); a request not
# answered within 2 s is lost. Everything lives in a temp dir on disk (TMPDIR, by default
# /var/tmp: the store is on the machine's disk, not tmpfs), removed at the end (KEEP=1 keeps it).
#
# Environment (defaults in brackets):
#   SUBSCRIBERS [1000000]  RATES ["10000 50000 100000 150000 200000 250000"]  DURATION [5]  SOCKETS [32]
#   STORM_STARTS [500000]  STORM_SECONDS [60]  QUARANTINED [1000]
#   HISTORY_SUBSCRIBERS [100000]  HISTORY_DAYS [10]  LAZARETD [BUILD_DIR/lazaretd]
#   V4_RATE [50000]: one more lazaretd run, its records without the delegated /56
# Exit status: 0 when every step ran, 1 when a server failed to start or died.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
build=$(cd "$1" && pwd) || usage
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")
PATH=$PATH:/usr/sbin:/sbin

SUBSCRIBERS=${SUBSCRIBERS:-1000000}
RATES=${RATES:-10000 50000 100000 150000 200000 250000}
DURATION=${DURATION:-5}
SOCKETS=${SOCKETS:-32}
STORM_STARTS=${STORM_STARTS:-500000}
STORM_SECONDS=${STORM_SECONDS:-60}
QUARANTINED=${QUARANTINED:-1000}
HISTORY_SUBSCRIBERS=${HISTORY_SUBSCRIBERS:-100000}
HISTORY_DAYS=${HISTORY_DAYS:-10}
V4_RATE=${V4_RATE:-50000}

# the private raddb every FreeRADIUS of ours starts from
. "$(dirname "$0")/../tests/integration/freeradius.sh"
load=$build/bench/radius_load
history=$build/bench/radius_history
lazaretd=${LAZARETD:-$build/lazaretd}
lazaretctl=$build/lazaretctl
for f in "$load" "$history" "$lazaretd" "$lazaretctl"; do
	if [ ! -x "$f" ]; then
		echo "radius.sh: $f missing: build it first (ninja -C $build)" >&2
		exit 1
	fi
done
# the peer, as make bench installs it (scripts/install-deps.sh bench)
if [ "$(id -u)" -eq 0 ]; then
	sh "$repo/scripts/install-deps.sh" bench >&2 || true
fi
if ! command -v freeradius >/dev/null 2>&1; then
	echo "radius.sh: freeradius not installed (apt-get install freeradius: scripts/install-deps.sh bench)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/lazaret-radius.XXXXXX")
lz_pid="" fr_pid=""
LZ_PORT=18213 FR_PORT=18214 PORTAL_PORT=18215
SECRET=bench-secret

stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	stop_pid "$lz_pid"
	stop_pid "$fr_pid"
	if [ "${KEEP:-0}" = 1 ]; then
		echo "radius.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The CPU seconds of a process and its children (lazaretd's helpers), and the RSS of the
# process itself (MB: lazaretd's tables are in the main process), its peak.
cpu_ticks() {
	t=0
	for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		set -- $(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null) 0 0 0 0 0 0 0 0 0 0 0 0 0
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
rss_mb() { awk -v k="${2:-VmRSS}:" '$1 == k { printf "%.0f", $2 / 1024 }' /proc/"$1"/status; }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# datagrams the kernel dropped at the UDP socket bound to port (its buffer full)
udp_drops() {
	awk -v p="$(printf ':%04X' "$1")" 'index($2, p) == length($2) - 4 { d += $NF } END { print d + 0 }' /proc/net/udp
}
udp_bound() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }
wait_until() {
	n=$1
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
die() {
	echo "radius.sh: $*" >&2
	for f in "$tmp/lazaretd.log" "$tmp/raddb/log/radius.log"; do
		[ -f "$f" ] && tail -n 20 "$f" >&2
	done
	exit 1
}

# lazaretd: the release build's [radius] alone, [enforce] mode = none (the garden logs what
# it would apply), the policy service for the relay's answers
printf '%s\n' "$SECRET" >"$tmp/radius.secret"
chmod 600 "$tmp/radius.secret"
cat >"$tmp/lazaret.conf" <<EOF
; generated by bench/radius.sh
[daemon]
store = $tmp/lazaret.db
log_level = warn
[network]
subscribers = 100.64.0.0/10
[policy]
listen = unix:$tmp/policy.sock
[api]
socket = $tmp/api.sock
[portal]
listen = 127.0.0.1:$PORTAL_PORT
templates = $repo/share/portal
[enforce]
mode = none
[radius]
listen = 127.0.0.1:$LZ_PORT
[radius client bench]
address = 127.0.0.1
secret_file = $tmp/radius.secret
EOF

# FreeRADIUS 3.2 as an ISP runs it for accounting: the detail module writing every request
# (the default detail file per NAS and day), the default thread pool; max_requests raised
# from 16384 so that its duplicate-detection table (each request kept cleanup_delay = 5 s)
# is not what limits it at these rates
raddb=$tmp/raddb
freeradius_raddb "$raddb" 1048576
cat >>"$raddb/radiusd.conf" <<EOF
thread pool {
	start_servers = 5
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 10
	max_requests_per_server = 0
	auto_limit_acct = no
}
client bench {
	ipaddr = 127.0.0.1
	secret = $SECRET
}
modules {
	detail {
		filename = \${radacctdir}/%{%{Packet-Src-IP-Address}:-%{Packet-Src-IPv6-Address}}/detail-%Y%m%d
		escape_filenames = no
		permissions = 0600
		header = "%t"
	}
}
server bench {
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = $FR_PORT
	}
	accounting {
		detail
	}
}
EOF

echo "radius.sh: $(uname -n), $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
    "$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)"
echo "radius.sh: load at start: $(cut -d' ' -f1-3 /proc/loadavg); $SUBSCRIBERS subscribers (an IPv4 address and" \
    "a /56 each); rates $RATES for $DURATION s; storm $STORM_STARTS Starts in $STORM_SECONDS s," \
    "$QUARANTINED quarantined; temp dir $tmp ($(df -T "$tmp" | awk 'NR == 2 { print $2 }'))"
echo "radius.sh: $("$lazaretd" -V 2>&1 | head -1) ($lazaretd), FreeRADIUS" \
    "$(freeradius -v 2>/dev/null | grep -o 'Version [0-9.]*' | head -1 | cut -d' ' -f2)"

"$lazaretd" -n -c "$tmp/lazaret.conf" >/dev/null 2>"$tmp/check" || die "lazaretd -n: $(cat "$tmp/check")"
"$lazaretd" --init-store -c "$tmp/lazaret.conf" 2>"$tmp/lazaretd.log" &
lz_pid=$!
wait_until 100 udp_bound $LZ_PORT || die "lazaretd did not start"
wait_until 100 test -S "$tmp/api.sock" || die "lazaretd: no API socket"
freeradius -f -d "$raddb" >"$tmp/freeradius.out" 2>&1 &
fr_pid=$!
wait_until 100 udp_bound $FR_PORT || die "FreeRADIUS did not start: $(tail -5 "$tmp/freeradius.out")"
ctl() { "$lazaretctl" --api "unix:$tmp/api.sock" "$@"; }
stat_json() { ctl stats --json | tr -d ' \n' | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
# Starts and Stops waiting in the store's address journal to be folded into the indexed history
journal() { stat_json address_journal; }
journal_empty() { [ "$(journal)" = 0 ]; }
lz_base=$(rss_mb "$lz_pid")
gen() {
	gport=$1
	shift
	"$load" -a "127.0.0.1:$gport" -k "$SECRET" -n "$SUBSCRIBERS" -S "$SOCKETS" "$@"
}

echo
# 2048 in flight: 8192 at once lost requests (more than its 4 MB socket buffer holds, presumably)
echo "== 1. lazaretd takes $SUBSCRIBERS Starts (closed loop: 2048 in flight at most)"
c0=$(cpu_ticks "$lz_pid")
out=$(gen $LZ_PORT -m starts -r 1000000 -s "$tmp/state" -S 8)
c1=$(cpu_ticks "$lz_pid")
kill -0 "$lz_pid" 2>/dev/null || die "lazaretd died"
sleep 2       # the store's writer catches up
secs=$(field seconds "$out")
printf '  starts %s answered %s lost %s (kernel drops %s) in %s s: %s Starts/s; latency p50 %s ms p99 %s ms; lazaretd CPU %.0f %%\n' \
    "$(field sent "$out")" "$(field answered "$out")" "$(field timeouts "$out")" "$(udp_drops $LZ_PORT)" "$secs" \
    "$(field answered_per_s "$out")" "$(($(field p50_us "$out") / 1000))" "$(($(field p99_us "$out") / 1000))" \
    "$(echo "$c0 $c1 $hz $secs" | awk '{ print ($2 - $1) / $3 / $4 * 100 }')"
held=$(stat_json networks_held)
mem=$(stat_json memory_bytes)
rss=$(rss_mb "$lz_pid")
store_mb=$(du -cm "$tmp"/lazaret.db* | tail -1 | cut -f1)
printf '  memory: %s networks held by %s subscribers; lazaretd RSS %s MB (%s MB before: %s MB for them,' \
    "$held" "$(stat_json subscribers_online)" "$rss" "$lz_base" "$((rss - lz_base))"
printf ' %.0f bytes a subscriber); identity.memory_bytes %s MB (%.0f bytes a subscriber); store %s MB\n' \
    "$(echo "$rss $lz_base $SUBSCRIBERS" | awk '{ print ($1 - $2) * 1048576 / $3 }')" "$((mem / 1048576))" \
    "$(echo "$mem $SUBSCRIBERS" | awk '{ print $1 / $2 }')" "$store_mb"
echo "  address journal: $(journal) events not yet folded into the indexed history (folded while the writer is idle)"

echo
every=$((STORM_STARTS / QUARANTINED))
# storm FIRST [-4] — subscribers FIRST.. (STORM_STARTS of them): every ${every}th quarantined
# through the API, then the storm, its quarantines watched at the relay
storm() {
	first=$1
	shift
	i=0 n=0
	while [ $i -lt "$STORM_STARTS" ] && [ $n -lt "$QUARANTINED" ]; do
		ctl quarantine "$(printf 'subscriber:sub%07d' $((first + i)))" --reason "bench: storm" >/dev/null ||
		    die "quarantine sub$((first + i))"
		i=$((i + every))
		n=$((n + 1))
	done
	c0=$(cpu_ticks "$lz_pid")
	d0=$(udp_drops $LZ_PORT)
	out=$(gen $LZ_PORT -m storm -o "$first" -c "$STORM_STARTS" -r $((STORM_STARTS / STORM_SECONDS)) \
	    -p "unix:$tmp/policy.sock" -w "$every" -s "$tmp/state" "$@")
	c1=$(cpu_ticks "$lz_pid")
	kill -0 "$lz_pid" 2>/dev/null || die "lazaretd died"
	secs=$(field seconds "$out")
	printf '  %s records (%s Starts) in %s s: answered %s, lost %s (kernel drops %s); latency p50 %s ms p99 %s ms; lazaretd CPU %.0f %%\n' \
	    "$(field sent "$out")" "$(field starts "$out")" "$secs" "$(field answered "$out")" \
	    "$(( $(field timeouts "$out") + $(field skipped "$out") ))" "$(( $(udp_drops $LZ_PORT) - d0 ))" \
	    "$(($(field p50_us "$out") / 1000))" "$(($(field p99_us "$out") / 1000))" \
	    "$(echo "$c0 $c1 $hz $secs" | awk '{ print ($2 - $1) / $3 / $4 * 100 }')"
	printf '  quarantine moved: %s of the %s quarantined beforehand whose Start was sent (%s more found no free' \
	    "$(field moved "$out")" "$(( $(field watched "$out") - $(field unsent "$out") ))" "$(field unsent "$out")"
	printf ' Identifier); Start sent -> relay REJECTs the new address:'
	printf ' p50 %s ms, p99 %s ms, max %s ms; old address freed for %s\n' "$(field move_p50_ms "$out")" \
	    "$(field move_p99_ms "$out")" "$(field move_max_ms "$out")" "$(field old_freed "$out")"
}
echo "== 2. The reconnect storm: $QUARANTINED subscribers quarantined (every ${every}th of the first $STORM_STARTS)," \
    "then $STORM_STARTS Stop+Start in $STORM_SECONDS s"
storm 0
# where the time goes: the same storm on the other subscribers, without their /56
if [ $((SUBSCRIBERS - STORM_STARTS)) -ge "$STORM_STARTS" ]; then
	echo "== 2b. The same storm on the next $STORM_STARTS subscribers, their IPv4 address alone (no /56 in the requests)"
	storm "$STORM_STARTS" -4
fi
# what the storm left behind (requests in the socket, the store's queue) is not the mix's
udp_queue() {
	awk -v p="$(printf ':%04X' "$1")" 'index($2, p) == length($2) - 4 { split($5, q, ":"); n += (q[2] !~ /^0+$/) }
	    END { print n + 0 }' /proc/net/udp 2>/dev/null || echo 0
}
settled() {
	[ "$(udp_queue $LZ_PORT)" = 0 ] &&
	    [ "$(ctl stats --json | tr -d ' \n' | grep -o '"store":{[^}]*}' | grep -o '"queued":[0-9]*' | cut -d: -f2)" = 0 ] &&
	    [ "$(journal)" = 0 ]
}
t0=$(date +%s)
j0=$(journal)
wait_until 3000 settled || echo "  (lazaretd still busy after the storms: 300 s waited)"
echo "  lazaretd settled $(( $(date +%s) - t0 )) s after the storm: its address journal ($j0 events then) folded"
cp "$tmp/state" "$tmp/state.fr"
mv "$tmp/state" "$tmp/state.lz"

echo
echo "== 3. Accounting records/s: a Start/Interim/Stop mix over $SUBSCRIBERS subscribers, $DURATION s a rate"
printf '  %-10s %8s %9s %9s %7s %8s %8s %6s %7s\n' server "rate/s" answered "answ/s" lost "p50 ms" "p99 ms" "CPU %" "RSS MB"
for rate in $RATES; do
	for srv in lazaretd freeradius; do
		if [ $srv = lazaretd ]; then pid=$lz_pid port=$LZ_PORT st=$tmp/state.lz; else pid=$fr_pid port=$FR_PORT st=$tmp/state.fr; fi
		kill -0 "$pid" 2>/dev/null || die "$srv died"
		# lazaretd folds the last turn's journal before the next turn, its own or FreeRADIUS's
		t0=$(date +%s)
		j0=$(journal)
		wait_until 3000 journal_empty || echo "  (the address journal not folded in 300 s)"
		[ "$j0" = 0 ] || echo "$j0 $(( $(date +%s) - t0 ))" >>"$tmp/folds"
		c0=$(cpu_ticks "$pid")
		out=$(gen "$port" -m mix -r "$rate" -d "$DURATION" -s "$st")
		c1=$(cpu_ticks "$pid")
		sent=$(field sent "$out")
		printf '  %-10s %8s %9s %9s %7s %8.1f %8.1f %6.0f %7s\n' $srv "$rate" \
		    "$(field answered "$out")" "$(field answered_per_s "$out")" \
		    "$(( $(field timeouts "$out") + $(field skipped "$out") ))" \
		    "$(echo "$(field p50_us "$out")" | awk '{ print $1 / 1000 }')" \
		    "$(echo "$(field p99_us "$out")" | awk '{ print $1 / 1000 }')" \
		    "$(echo "$c0 $c1 $hz $DURATION" | awk '{ print ($2 - $1) / $3 / $4 * 100 }')" "$(rss_mb "$pid")"
		echo "$srv $rate $out" >>"$tmp/mix"
		sleep 1
	done
done
echo "  (mix sent, of the records: $(awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
    END { printf "%d Starts, %d Interims, %d Stops", s["starts"], s["interims"], s["stops"] }' "$tmp/mix");" \
    "detail file $(du -cm "$raddb"/log/radacct | tail -1 | cut -f1) MB)"
echo "  lazaretd stats: identity $(ctl stats --json | tr -d ' \n' | grep -o '"identity":{[^}]*}' | cut -c12-)"
# the mix's Starts and Stops were journaled: what folding them into the indexed history took
t0=$(date +%s)
j0=$(journal)
wait_until 3000 journal_empty || echo "  (the address journal not folded in 300 s)"
echo "  address journal after the mix: $j0 events, folded in $(( $(date +%s) - t0 )) s; between the turns:" \
    "$(awk '{ e += $1; s += $2 } END { printf "%d events in %d s", e, s }' "$tmp/folds" 2>/dev/null || echo none)"
# where lazaretd's time goes: the same mix without the delegated /56 (the garden reconsiders
# each of a /56's 256 /64s at every Start and Stop)
c0=$(cpu_ticks "$lz_pid")
out=$(gen $LZ_PORT -m mix -r "$V4_RATE" -d "$DURATION" -s "$tmp/state.lz" -4)
c1=$(cpu_ticks "$lz_pid")
printf '  %-10s %8s %9s %9s %7s %8.1f %8.1f %6.0f %7s   <- the IPv4 address alone, no /56\n' lazaretd \
    "$V4_RATE" "$(field answered "$out")" "$(field answered_per_s "$out")" \
    "$(( $(field timeouts "$out") + $(field skipped "$out") ))" "$(echo "$(field p50_us "$out")" | awk '{ print $1 / 1000 }')" \
    "$(echo "$(field p99_us "$out")" | awk '{ print $1 / 1000 }')" \
    "$(echo "$c0 $c1 $hz $DURATION" | awk '{ print ($2 - $1) / $3 / $4 * 100 }')" "$(rss_mb "$lz_pid")"
stop_pid "$fr_pid"
fr_pid=""

echo
echo "== 4. The address history: $HISTORY_SUBSCRIBERS subscribers reconnecting daily for $HISTORY_DAYS days" \
    "(an IPv4 address and a /56 each: 2 intervals a day)"
stop_pid "$lz_pid"
lz_pid=""
out=$("$history" "$tmp/history.db" "$HISTORY_SUBSCRIBERS" "$HISTORY_DAYS" 2>/dev/null)
printf '  %s intervals written in %s s (%s a second), %s MB: %s bytes an interval\n' "$(field rows "$out")" \
    "$(field seconds "$out")" "$(field rows_per_s "$out")" "$(($(field bytes "$out") / 1048576))" \
    "$(field bytes_per_row "$out")"
echo "$(field bytes_per_row "$out") $SUBSCRIBERS" | awk '{
	daily = $2 * 180 * 2; weekly = $2 * 26 * 2
	printf "  180 days of %d subscribers, scaled by intervals: reconnecting daily %.0f M intervals, %.1f GB;", $2, daily / 1e6, daily * $1 / 1e9
	printf " weekly %.0f M, %.1f GB\n", weekly / 1e6, weekly * $1 / 1e9 }'
echo
echo "radius.sh: load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
