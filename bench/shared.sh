#!/bin/sh
# shared.sh BUILD_DIR — issue 12's figures (bench/README.md, "The shared store on PostgreSQL"):
# several lazaretd nodes on one PostgreSQL 15 (tests/pg/cluster.sh: Debian's server in a temp
# dir, on a Unix socket), on this machine, in one run:
#   1. Propagation: PROPAGATION operator quarantines paced at RATE a second into relay A's API
#      (BUILD_DIR/bench/shared_probe); for each, from when A made the verdict (lz_changes.at:
#      the verdict's time, which A commits to its SQLite file with the outbox row right after,
#      or once its store writer gets to it) to relay B answering REJECT to a Postfix policy
#      request from the address (the probe asks B every millisecond), and to gateway G's
#      enforcement batch holding it (G's log line "enforce: batch applied ... added_hosts=ADDR").
#      G runs [enforce] mode = nftables in a network namespace of its own (root; with NFT=0, or
#      without `ip`/`nft`, mode = none and the same log line of its in-memory sets). p50 / p99 /
#      max in ms; target p99 < 1 s.
#   2. Mass quarantine: MASS verdicts made by A's own judge from a Shadowserver drone report of
#      MASS rows (one row an address; [judge] quarantine = 3, a report_infection event weighs
#      3.5, quarantine_cap = 0) dropped into A's spool at once: how long making them took (the
#      drop to the last verdict made on A), and from the first one made on A to G's sets holding
#      all of them (target < 5 s); when B had applied all of them too; the CPU each node and
#      PostgreSQL used meanwhile. Then (MASS_BASELINE=1, the default) the same report on one
#      node alone with store = SQLite and its own enforcement (there from its first verdict
#      committed, as its log tells): the same path without the shared store, for comparison.
#   3. The policy hot path: one relay, store = SQLite and store = PostgreSQL (its own cluster,
#      empty), otherwise the same config (bench/policy.sh's), alternating (which goes first
#      turned each round), RUNS rounds each;
#      BUILD_DIR/bench/policy_load, closed loop, as bench/policy.sh runs it. Judged on
#      requests/s, p99 and CPU time per request (the figure the neighbours move least) pair
#      by pair (each PostgreSQL round against the SQLite round of its pair, run right before or after it; the median
#      of the pairs; best against best and each side's lowest p99 shown too); target:
#      PostgreSQL within 10 % of SQLite.
# Times come from one clock (the wall clock: lz_changes.at, lazaretd's log lines with their
# millisecond stamps, the probe's CLOCK_REALTIME). Everything is removed at the end (KEEP=1
# keeps the temp dir: configs, logs). Needs root (PostgreSQL runs as the postgres user).
#
# Environment: PROPAGATION [200] RATE [20] MASS [100000] RUNS [7] CONNS [64] HOSTS [10000]
#   WARMUP [2] DURATION [10] NFT [1] SECTIONS ["1 2 3"] LAZARETD [BUILD_DIR/lazaretd]
#   COUNT [1500000]: each hot-path round answers COUNT requests, no warm-up (COUNT=0: WARMUP +
#     DURATION seconds instead): the same requests in every round, so how many are deferred
#     does not follow the machine's speed, which with a fixed time it does (a fast round
#     exceeds more limits, and 0 to 165 000 deferrals a round were seen in one run)
#   BACKGROUND_NICE: [daemon] background_nice of the hot path's relays (unset: the default, 10;
#     0: the writer and sync thread at the loop's priority, as before 2026-12-06)
#   PG_LOG=1: every statement with its duration in the cluster's log (kept as pg.log with KEEP=1)
#   TIMELINE=1: each hot-path round's requests, when answered and how long each took
#     (policy_load -T; hot-KIND-N.timeline, kept with KEEP=1), and the relay logging at info
#     (its verdicts and first deferrals, to set beside it) rather than warn
#   PG_SETTINGS ["shared_buffers = 1GB; max_wal_size = 4GB"]: the server sized as a deployment on
#     this 24 GB machine would be (tests/pg/cluster.sh keeps the tests' clusters at 16 MB of
#     buffers, where 100 000 changes spill to the disk and back); PG_SETTINGS= for that
# Exit status: 1 when a step failed; a missed target is reported, not failed.
# shellcheck disable=SC2046  # set -- $(...): the words of one line, split on purpose
# shellcheck disable=SC2154  # hz from lib.sh; pport, port_NAME set by free_port's and node_conf's eval
set -eu

build=$(cd "${1:?usage: shared.sh BUILD_DIR}" && pwd)
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench/.." && pwd)
# shellcheck source=bench/lib.sh
. "$bench/lib.sh"
PROPAGATION=${PROPAGATION:-200}
RATE=${RATE:-20}
MASS=${MASS:-100000}
RUNS=${RUNS:-7}
CONNS=${CONNS:-64}
HOSTS=${HOSTS:-10000}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
COUNT=${COUNT:-1500000}
NFT=${NFT:-1}
SECTIONS=${SECTIONS:-1 2 3}
PG_SETTINGS=${PG_SETTINGS-shared_buffers = 1GB; max_wal_size = 4GB}
lazaretd=${LAZARETD:-$build/lazaretd}
probe=$build/bench/shared_probe
load=$build/bench/policy_load
cluster=$repo/tests/pg/cluster.sh
PATH=$PATH:/usr/sbin:/sbin
for f in "$lazaretd" "$probe" "$load"; do
	[ -x "$f" ] || { echo "shared.sh: $f missing: build it first (ninja -C $build)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "shared.sh: needs root (PostgreSQL runs as the postgres user)" >&2; exit 1; }
command -v psql >/dev/null 2>&1 || { echo "shared.sh: needs psql (apt-get install postgresql)" >&2; exit 1; }
if [ "$NFT" = 1 ] && ! { command -v ip && command -v nft; } >/dev/null 2>&1; then
	echo "shared.sh: no ip or nft: the gateway runs [enforce] mode = none" >&2
	NFT=0
fi

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/lazaret-shared.XXXXXX")
chmod 711 "$tmp"                # the postgres user reaches its cluster's directory in it
ns=lz-shared-$$
ns_made=0
pids=""                         # the lazaretd nodes running
clusters=""                     # the PostgreSQL clusters started
failed=0
# pg_destroy DIR: the cluster stopped and removed; its log kept beside it with KEEP=1
pg_destroy() {
	[ -d "$1" ] || return 0
	[ "${KEEP:-0}" != 1 ] || cp "$1/log" "$1.log" 2>/dev/null || true
	sh "$cluster" destroy "$1" >/dev/null 2>&1 || true
}
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	for c in $clusters; do pg_destroy "$c"; done
	[ "$ns_made" = 0 ] || ip netns del "$ns" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "shared.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
die() { echo "shared.sh: $*" >&2; exit 1; }

# pg_start NAME: a fresh cluster in $tmp/NAME; sets conninfo
pg_start() {
	clusters="$clusters $tmp/$1"
	conninfo=$(PG_CLUSTER_OWNER=$$ PG_SETTINGS=$PG_SETTINGS sh "$cluster" start "$tmp/$1") ||
	    die "PostgreSQL did not start"
	# PG_LOG=1: every statement and its duration in the cluster's log (with KEEP=1, to read)
	if [ "${PG_LOG:-0}" = 1 ]; then
		psql -X -q -h "$tmp/$1" -p "$(cat "$tmp/$1/port")" -U postgres -d postgres \
		    -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
	fi
}
# Every change of the feed, a row each: the single rows (schema 4 and before) as they are, a
# batch row's lines (schema 5: node_seq, at, subject text, the verdict line) split
CHANGES_SQL="WITH changes AS (SELECT seq, node, node_seq, at, subject FROM lz_changes WHERE kind <> 'verdicts'
    UNION ALL SELECT c.seq, c.node, split_part(l, E'\\t', 1)::bigint, split_part(l, E'\\t', 2)::bigint,
    split_part(l, E'\\t', 3) FROM lz_changes c, regexp_split_to_table(rtrim(c.verdict, E'\\n'), E'\\n') AS l
    WHERE c.kind = 'verdicts')"
# sql DIR QUERY: one query as the lazaret role, unaligned, no headers
sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$(cat "$1/port")" -U lazaret -d lazaret -c "$2"
}

# node_conf NAME STORE EXTRA: writes $tmp/NAME/lazaret.conf for a node (policy on a free
# loopback port, the API on a socket, its own SQLite file); EXTRA: more lines, sections included
node_conf() {
	d=$tmp/$1
	mkdir -p "$d"
	free_port port
	free_port pport
	eval "port_$(echo "$1" | tr -c 'a-z0-9\n' _)=$port"
	cat >"$d/lazaret.conf" <<EOF
; generated by bench/shared.sh
[daemon]
store = $2
local_store = $d/local.db
node = $1
log_level = info
[network]
subscribers = 100.64.0.0/10
[policy]
listen = 127.0.0.1:$port
[api]
socket = $d/api.sock
[portal]
url = http://portal.example.net/
listen = 127.0.0.1:$pport
templates = $repo/share/portal
$3
EOF
	"$lazaretd" -n -c "$d/lazaret.conf" >"$d/check.out" 2>&1 || { cat "$d/check.out" >&2; die "$1: config refused"; }
}

# node_start NAME [NETNS]: starts the node (in NETNS), waits for its API; sets node_pid
node_start() {
	d=$tmp/$1
	# each node runs as lzb-NAME, a symlink to lazaretd: ps tells the nodes apart, and a
	# "pkill lazaretd" run by something else on a shared machine (seen here: a SIGTERM we never
	# sent, in the middle of a run) leaves them alone
	mkdir -p "$tmp/bin"
	ln -sfn "$lazaretd" "$tmp/bin/lzb-$1"
	if [ -n "${2:-}" ]; then
		ip netns exec "$2" "$tmp/bin/lzb-$1" --init-store -c "$d/lazaret.conf" 2>"$d/lazaretd.log" &
	else
		"$tmp/bin/lzb-$1" --init-store -c "$d/lazaret.conf" 2>"$d/lazaretd.log" &
	fi
	node_pid=$!
	pids="$pids $node_pid"
	i=0
	until [ -S "$d/api.sock" ]; do
		alive "$node_pid" || { tail -n 20 "$d/lazaretd.log" >&2; die "$1 died at start"; }
		i=$((i + 1)); [ $i -lt 200 ] || { tail -n 20 "$d/lazaretd.log" >&2; die "$1 did not start"; }
		sleep 0.1
	done
}
# alive PID: running, not a zombie waiting for us (kill -0 succeeds on one)
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# node_stop PID: SIGTERM, and its exit status told when it was not 0 (a crash shows here)
node_stop() {
	was_alive=0
	alive "$1" && was_alive=1
	kill -TERM "$1" 2>/dev/null || true
	rc=0
	wait "$1" 2>/dev/null || rc=$?
	pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	if [ "$rc" != 0 ]; then
		echo "shared.sh: lazaretd pid $1 exited with status $rc$([ $was_alive = 1 ] || echo ' before it was stopped')" >&2
		failed=1
	fi
}
metric() {
	curl -s -m 5 --unix-socket "$tmp/$1/api.sock" http://localhost/metrics | awk -v m="$2" '$1 == m { print $2 }'
}
# wait_metric NODE METRIC VALUE SECONDS: until NODE's METRIC is at least VALUE
wait_metric() {
	i=0
	while :; do
		v=$(metric "$1" "$2")
		awk -v v="${v:-0}" -v w="$3" 'BEGIN { exit !(v + 0 >= w + 0) }' && return 0
		i=$((i + 1)); [ $i -lt $(($4 * 10)) ] || return 1
		sleep 0.1
	done
}

# Log stamps (2026-12-05T05:30:12.345Z, UTC) as milliseconds since the epoch; mawk has no mktime.
AWK_MS='function ms(s,   y, m, d, era, yoe, doy, doe) {
	y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
	y -= (m <= 2); era = int(y / 400); yoe = y - era * 400
	doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
	doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
	return ((era * 146097 + doe - 719468) * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)) * 1000 + substr(s, 21, 3)
}'
# pct FILE: "p50 p99 max n" of the numbers in FILE (one a line), exact ranks
pct() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - - 0"; exit }
		i50 = int(0.50 * NR + 0.999999); i99 = int(0.99 * NR + 0.999999)
		printf "%.1f %.1f %.1f %d\n", v[i50 < 1 ? 1 : i50], v[i99 < 1 ? 1 : i99], v[NR], NR }'
}

# drone_report DIR: a Shadowserver drone report (event4_drone columns) of MASS rows, one an
# address from 100.96.0.0 on, dated now, written into DIR (not yet in a spool); sets report
drone_report() {
	report=$1/$(date -u +%Y-%m-%d)-event4_drone-bench-asn.csv
	awk -v n="$MASS" -v stamp="$(date -u '+%Y-%m-%d %H:%M:%S')" 'BEGIN {
	print "timestamp,ip,port,asn,geo,region,city,hostname,type,infection,family,tag,application,version,dst_ip,dst_port,dst_asn,dst_geo,naics,sic,sector"
	for (i = 0; i < n; i++)
		printf "%s,100.%d.%d.%d,%d,64496,XX,Region,City,,tcp,mirai,mirai,bot,,,198.51.100.%d,80,64511,YY,0,0,\n",
		    stamp, 96 + int(i / 65536), int(i / 256) % 256, i % 256, 1024 + i % 60000, 1 + i % 200
	}' >"$report"
}
# wait_enforced LOG N: until LOG's last enforcement batch says quarantined=N or more (120 s);
# only the log's end is read, twice a second: grepping a growing log of 100 000 lines, or
# four programs started ten times a second, would take CPU from the nodes measured (the
# figures come from the log's stamps, not from when this wait ends)
wait_enforced() {
	i=0
	while ! tail -c 65536 "$1" | grep 'enforce: batch applied' | tail -n 1 | awk -v w="$2" '
	    { for (i = 1; i <= NF; i++) if ($i ~ /^quarantined=/) q = substr($i, 13) + 0 } END { exit !(q >= w) }'; do
		i=$((i + 1))
		[ $i -lt 240 ] || { echo "shared.sh: $1: not $2 quarantines enforced in 120 s" >&2; failed=1; return 1; }
		sleep 0.5
	done
}
ncpu=$(nproc)
echo "shared.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $ncpu CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1);" \
    "load $(cut -d' ' -f1-3 /proc/loadavg); $(psql --version | head -1); lazaretd $lazaretd"
load_check shared.sh
: >"$tmp/table"
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$tmp/table"; }

# ---- sections 1 and 2: three nodes on one PostgreSQL -------------------------------------
case " $SECTIONS " in *" 1 "*|*" 2 "*)
pg_start pg
echo "shared.sh: PostgreSQL $(sql "$tmp/pg" 'SHOW server_version'), shared_buffers $(sql "$tmp/pg" 'SHOW shared_buffers'), max_wal_size $(sql "$tmp/pg" 'SHOW max_wal_size'): $conninfo"
# A: the relay the verdicts are made on (an operator's through its API; its judge's from a
# report: one drone report row quarantines, no hourly cap); B: another relay; G: the gateway
# one [judge] for all: each subject is judged by its owner, whichever node that is
judge_conf="[judge]
watch = 1
throttle = 2
quarantine = 3
quarantine_cap = 0"
node_conf relay-a "$conninfo" "$judge_conf
[reports]
directory = $tmp/relay-a/spool
poll_interval = 100ms
[enforce]
mode = none"
node_conf relay-b "$conninfo" "$judge_conf
[enforce]
mode = none"
if [ "$NFT" = 1 ]; then
	ip netns add "$ns" && ns_made=1
	ip -n "$ns" link set lo up
	node_conf gateway "$conninfo" "$judge_conf
[enforce]
mode = nftables
table = lazaret_bench
subscribers = 100.64.0.0/10
relay = 192.0.2.25
resolver = 192.0.2.53
portal = 127.0.0.1:8080
element_timeout = 1h"
	gw_ns=$ns
	gw_how="[enforce] mode = nftables in a network namespace"
else
	node_conf gateway "$conninfo" "$judge_conf
[enforce]
mode = none"
	gw_ns=""
	gw_how="[enforce] mode = none (its in-memory sets)"
fi
node_start relay-a; pid_a=$node_pid
node_start relay-b; pid_b=$node_pid
node_start gateway "$gw_ns"; pid_g=$node_pid
for n in relay-a relay-b gateway; do
	wait_metric "$n" lazaret_store_up 1 30 || die "$n: not connected to PostgreSQL: $(tail -n 5 "$tmp/$n/lazaretd.log")"
done
# each node sees the three share the judging before anything is judged: a node that still
# thinks itself alone judges every subject it has evidence about, not only its own
for n in relay-a relay-b gateway; do
	wait_metric "$n" lazaret_store_shared_nodes 3 30 || die "$n: does not see the three nodes: $(tail -n 5 "$tmp/$n/lazaretd.log")"
done
echo "shared.sh: nodes relay-a (pid $pid_a), relay-b (pid $pid_b), gateway (pid $pid_g, $gw_how) up"
;; esac

case " $SECTIONS " in *" 1 "*)
echo
echo "== 1. Propagation: $PROPAGATION operator quarantines at $RATE/s through relay-a's API"
gwlog=$tmp/gateway/lazaretd.log
if ! "$probe" -n "$PROPAGATION" -r "$RATE" -b 100.80 "$tmp/relay-a/api.sock" "127.0.0.1:$port_relay_b" \
    >"$tmp/probe.out" 2>"$tmp/probe.err"; then
	cat "$tmp/probe.err" >&2
	failed=1
fi
tail -n 1 "$tmp/probe.out"
# G's sets: each address's first batch applied (waiting up to 10 s for the last ones)
i=0
while [ "$(grep -c 'verdict host=100\.80\.' "$gwlog" || true)" -lt "$PROPAGATION" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 0.5
sql "$tmp/pg" "$CHANGES_SQL SELECT subject, at FROM changes WHERE node = 'relay-a' AND subject LIKE '100.80.%' ORDER BY seq, node_seq" |
    tr '|' ' ' >"$tmp/commits"
awk "$AWK_MS"'
	FILENAME == ARGV[1] { at[$1] = $2; next }                  # subject at_us
	FILENAME == ARGV[2] {                                       # the probe
		if ($1 != "probe") next
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		a = f["addr"]; order[++n] = a; sent[a] = f["sent_us"]; ack[a] = f["ack_us"]; rej[a] = f["reject_us"]
		next
	}
	/enforce: batch applied/ {                                  # the gateway log
		t = ms($1)
		for (i = 1; i <= NF; i++) if ($i ~ /^added_hosts=/) {
			k = split(substr($i, 13), h, ",")
			for (j = 1; j <= k; j++) if (!(h[j] in gw)) gw[h[j]] = t
		}
		# a batch too large to name each: the addresses the gateway took in before it
		for (a in seen) if (!(a in gw)) gw[a] = t
		delete seen
		next
	}
	/verdict host=100\.80\./ { for (i = 1; i <= NF; i++) if ($i ~ /^host=/) seen[substr($i, 6)] = 1 }
	END {
		for (i = 1; i <= n; i++) {
			a = order[i]
			c = (a in at) ? at[a] / 1000 : -1
			printf "%s %s %s %s %s\n", a,
			    (c >= 0 && rej[a] > 0) ? sprintf("%.3f", rej[a] / 1000 - c) : "-",
			    (c >= 0 && (a in gw)) ? sprintf("%.3f", gw[a] - c) : "-",
			    (ack[a] > 0) ? sprintf("%.3f", (ack[a] - sent[a]) / 1000) : "-",
			    (c >= 0) ? sprintf("%.3f", c - sent[a] / 1000) : "-"
		}
	}' "$tmp/commits" "$tmp/probe.out" "$gwlog" >"$tmp/prop"
awk '$2 != "-" { print $2 }' "$tmp/prop" >"$tmp/prop.b"
awk '$3 != "-" { print $3 }' "$tmp/prop" >"$tmp/prop.g"
awk '$4 != "-" { print $4 }' "$tmp/prop" >"$tmp/prop.api"
awk '$5 != "-" { print $5 }' "$tmp/prop" >"$tmp/prop.c"
set -- $(pct "$tmp/prop.b"); b50=$1 b99=$2 bmax=$3 bn=$4
set -- $(pct "$tmp/prop.g"); g50=$1 g99=$2 gmax=$3 gn=$4
set -- $(pct "$tmp/prop.api"); api50=$1 api99=$2 apimax=$3
set -- $(pct "$tmp/prop.c"); c50=$1 c99=$2
echo "  made on relay-a -> relay-b answers REJECT: p50 $b50 ms, p99 $b99 ms, max $bmax ms ($bn of $PROPAGATION)"
echo "  made on relay-a -> gateway's batch applied: p50 $g50 ms, p99 $g99 ms, max $gmax ms ($gn of $PROPAGATION; $gw_how)"
echo "  (request sent -> made on relay-a: p50 $c50 ms, p99 $c99 ms; the API's answer, which waits for the"
echo "   verdict to come back from PostgreSQL: p50 $api50 ms, p99 $api99 ms, max $apimax ms)"
if [ -n "$gw_ns" ]; then
	k=$(ip netns exec "$gw_ns" nft list set inet lazaret_bench quarantine_v4 | grep -o '100\.80\.[0-9.]*' | sort -u | wc -l)
	echo "  the gateway's kernel set holds $k of the $PROPAGATION addresses"
	[ "$k" = "$PROPAGATION" ] || failed=1
fi
[ "$bn" = "$PROPAGATION" ] && [ "$gn" = "$PROPAGATION" ] || { echo "shared.sh: propagation: some verdicts never arrived" >&2; failed=1; }
row "propagation, verdict made on relay-a -> relay-b REJECTs ($bn quarantines at $RATE/s), p50 / p99 / max" \
    "$b50 / **$b99** / $bmax ms" "$(awk -v q="$b99" 'BEGIN { print (q != "-" && q < 1000) ? "p99 < 1 s: met" : "p99 < 1 s: MISSED" }')"
row "propagation, verdict made on relay-a -> gateway's set ($gw_how), p50 / p99 / max" \
    "$g50 / **$g99** / $gmax ms" "$(awk -v q="$g99" 'BEGIN { print (q != "-" && q < 1000) ? "p99 < 1 s: met" : "p99 < 1 s: MISSED" }')"
row "operator's quarantine answered by relay-a's API (after the round trip through PostgreSQL), p50 / p99 / max" \
    "$api50 / $api99 / $apimax ms" ""
;; esac

case " $SECTIONS " in *" 2 "*)
echo
echo "== 2. Mass quarantine: $MASS verdicts from one drone report read by relay-a, each made by its subject's owner"
gwlog=$tmp/gateway/lazaretd.log
base=$(metric relay-b lazaret_store_shared_pulled_total)
gw_before=$(grep 'enforce: batch applied' "$gwlog" | tail -n 1 | sed -n 's/.* quarantined=\([0-9]*\).*/\1/p')
gw_before=${gw_before:-0}
mkdir -p "$tmp/in" "$tmp/relay-a/spool/shadowserver"
drone_report "$tmp/in"
# CPU of each node and of PostgreSQL (the postmaster and its backends) over the mass quarantine
pg_pid=$(head -n 1 "$tmp/pg/data/postmaster.pid")
cpu_all() { echo "$(cpu_ticks "$pid_a") $(cpu_ticks "$pid_b") $(cpu_ticks "$pid_g") $(cpu_ticks "$pg_pid") $(machine_ticks)"; }
cpu0=$(cpu_all)
# each node's local store: commits and rows written over the burst (group commit's reach)
store_commits() { for n in relay-a relay-b gateway; do echo "$(metric $n lazaret_store_transactions_total) $(metric $n lazaret_store_writes_total)"; done; }
commits0=$(store_commits)
t_drop=$(date +%s%N)
mv "$report" "$tmp/relay-a/spool/shadowserver/"
want=$((gw_before + MASS))
wait_enforced "$gwlog" "$want" || true
wait_metric relay-b lazaret_store_shared_pulled_total $((base + MASS)) 60 || { echo "shared.sh: relay-b did not apply them all" >&2; failed=1; }
cpu1=$(cpu_all)
t_end=$(date +%s%N)
cpu_line=$(echo "$cpu0 $cpu1" | awk -v hz="$hz" -v s="$(awk -v a="$t_drop" -v b="$t_end" 'BEGIN { print (b - a) / 1e9 }')" -v n="$ncpu" '{
	a = ($6 - $1) / hz; b = ($7 - $2) / hz; g = ($8 - $3) / hz; p = ($9 - $4) / hz; m = ($10 - $5) / hz
	printf "CPU seconds over the %.1f s (%d CPUs): relay-a %.1f, relay-b %.1f, gateway %.1f, PostgreSQL %.1f, everything else %.1f (idle %.1f)",
	    s, n, a, b, g, p, m - a - b - g - p, n * s - m }')
echo "  $cpu_line"
echo "$commits0 $(store_commits)" | tr '\n' ' ' | awk '{
	printf "  local stores: commits (rows written) relay-a %d (%d), relay-b %d (%d), gateway %d (%d)\n",
	    $7 - $1, $8 - $2, $9 - $3, $10 - $4, $11 - $5, $12 - $6 }'
sleep 0.2
# made by each subject's owner: relay-a, relay-b or the gateway (the evidence is relay-a's)
set -- $(sql "$tmp/pg" "$CHANGES_SQL SELECT count(DISTINCT subject), min(at), max(at) FROM changes WHERE subject LIKE '100.9_.%'" | tr '|' ' ')
made=$1 first_us=$2 last_us=$3
gw_all=$(awk "$AWK_MS"' /enforce: batch applied/ { for (i = 1; i <= NF; i++) if ($i ~ /^quarantined=/ && substr($i, 13) + 0 >= w) { printf "%.0f\n", ms($1); exit } }' w="$want" "$gwlog")
b_all=$(awk "$AWK_MS"' /verdict host=100\.9[67]\./ { t = ms($1) } END { printf "%.0f\n", t }' "$tmp/relay-b/lazaretd.log")
a_read=$(awk "$AWK_MS"' /report file=.*event4_drone/ { t = ms($1) } END { printf "%.0f\n", t }' "$tmp/relay-a/lazaretd.log")
batches=$(grep 'enforce: batch applied' "$gwlog" | awk -v w="$gw_before" '{ for (i = 1; i <= NF; i++) if ($i ~ /^quarantined=/ && substr($i, 13) + 0 > w) n++ } END { print n + 0 }')
awk -v drop="$t_drop" -v first="$first_us" -v last="$last_us" -v g="${gw_all:-0}" -v b="$b_all" -v r="$a_read" -v made="$made" -v want="$MASS" -v nb="$batches" 'BEGIN {
	drop /= 1e6; first /= 1e3; last /= 1e3
	printf "  %d verdicts made: the report dropped -> the file read on relay-a %.0f ms; -> first verdict made %.0f ms, last %.0f ms (made in %.0f ms)\n", made, r - drop, first - drop, last - drop, last - first
	if (g > 0) printf "  first verdict made -> the gateway holds all %d: %.0f ms (%.0f ms after the last was made; %d enforcement batches)\n", want, g - first, g - last, nb
	if (b > 0) printf "  first verdict made -> relay-b has applied all: %.0f ms\n", b - first
}'
gw_ms=$(awk -v f="$first_us" -v g="${gw_all:-0}" 'BEGIN { if (g > 0) printf "%.0f", g - f / 1e3; else print "-" }')
mk_ms=$(awk -v f="$first_us" -v l="$last_us" 'BEGIN { printf "%.0f", (l - f) / 1e3 }')
rd_ms=$(awk -v d="$t_drop" -v f="$first_us" 'BEGIN { printf "%.0f", f / 1e3 - d / 1e6 }')
if [ -n "$gw_ns" ]; then
	k=$(ip netns exec "$gw_ns" nft list set inet lazaret_bench quarantine_v4 | grep -o '100\.9[67]\.[0-9.]*' | sort -u | wc -l)
	echo "  the gateway's kernel set holds $k of the $MASS addresses"
	[ "$k" = "$MASS" ] || failed=1
fi
[ "$made" = "$MASS" ] || { echo "shared.sh: $made verdicts made of $MASS" >&2; failed=1; }
row "mass quarantine: $made verdicts by their owners from one $MASS-row drone report read by relay-a (drop -> first verdict made $rd_ms ms; first -> last made $mk_ms ms)" \
    "first verdict made -> gateway holds all: **$gw_ms ms**" "$(awk -v q="$gw_ms" 'BEGIN { print (q != "-" && q < 5000) ? "< 5 s: met" : "< 5 s: MISSED" }')"
;; esac

case " $SECTIONS " in *" 1 "*|*" 2 "*)
for p in $pids; do node_stop "$p"; done
pg_destroy "$tmp/pg"
;; esac

# The same report on one node alone (store = SQLite, its own enforcement, no PostgreSQL): what
# the judge, the store and the enforcement take without the shared store, for comparison
case " $SECTIONS " in *" 2 "*)
if [ "${MASS_BASELINE:-1}" = 1 ]; then
	echo
	echo "== 2b. The same report on one node alone: store = SQLite, its own $gw_how"
	if [ -n "$gw_ns" ]; then
		enf="[enforce]
mode = nftables
table = lazaret_single
subscribers = 100.64.0.0/10
relay = 192.0.2.25
resolver = 192.0.2.53
portal = 127.0.0.1:8080
element_timeout = 1h"
	else
		enf="[enforce]
mode = none"
	fi
	node_conf single "$tmp/single/lazaret.db" "[judge]
watch = 1
throttle = 2
quarantine = 3
quarantine_cap = 0
[reports]
directory = $tmp/single/spool
poll_interval = 100ms
$enf"
	node_start single "$gw_ns"; pid_s=$node_pid
	i=0    # its sets set up first
	while ! grep -q "enforce: setup applied" "$tmp/single/lazaretd.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	mkdir -p "$tmp/single/spool/shadowserver"
	drone_report "$tmp/in"
	t_drop=$(date +%s%N)
	s_c0=$(cpu_ticks "$pid_s")
	mv "$report" "$tmp/single/spool/shadowserver/"
	if wait_enforced "$tmp/single/lazaretd.log" "$MASS"; then
		s_cpu=$(awk -v a="$s_c0" -v b="$(cpu_ticks "$pid_s")" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz }')
		echo "  CPU seconds of the node (its privileged helper included) from the drop to the last batch: $s_cpu"
		set -- $(awk "$AWK_MS"'
		    /verdict host=100\.9[67]\./ { t = ms($1); if (!f) f = t; l = t; n++ }
		    /enforce: batch applied/ { for (i = 1; i <= NF; i++) if ($i ~ /^quarantined=/ && substr($i, 13) + 0 >= w && !g) g = ms($1) }
		    END { printf "%.0f %.0f %.0f %d\n", f, l, g, n }' w="$MASS" "$tmp/single/lazaretd.log")
		s_first=$1 s_last=$2 s_gw=$3 s_n=$4
		awk -v d="$t_drop" -v f="$s_first" -v l="$s_last" -v g="$s_gw" -v n="$s_n" 'BEGIN { d /= 1e6
			printf "  %d verdicts: the report dropped -> first commit %.0f ms, last commit %.0f ms (made in %.0f ms); first commit -> its sets hold all: %.0f ms (%.0f ms after the last commit)\n",
			    n, f - d, l - d, l - f, g - f, g - l }'
		row "the same $MASS verdicts on one node alone, store = SQLite (drop -> first commit $(awk -v d="$t_drop" -v f="$s_first" 'BEGIN { printf "%.0f", f - d / 1e6 }') ms; first -> last commit $(awk -v f="$s_first" -v l="$s_last" 'BEGIN { printf "%.0f", l - f }') ms)" \
		    "first commit -> its own sets hold all: $(awk -v f="$s_first" -v g="$s_gw" 'BEGIN { printf "%.0f", g - f }') ms" "(for comparison)"
	fi
	node_stop "$pid_s"
fi
;; esac

case " $SECTIONS " in *" 3 "*)
echo
echo "== 3. Policy hot path: one relay, store = SQLite and store = PostgreSQL, $RUNS rounds"
pg_start pg3
pg3_pid=$(head -n 1 "$tmp/pg3/data/postmaster.pid")
limits="[limits]
host_messages = 3600/1h
host_messages_burst = 100
host_recipients = 10800/1h
host_recipients_burst = 300
account_messages = 3600/1h
account_messages_burst = 100
account_recipients = 10800/1h
account_recipients_burst = 300"
# COUNT: every round answers COUNT requests from the start (no warm-up) rather than running
# WARMUP + DURATION seconds (COUNT=0): the same requests, so the same mix of answers, in every round
if [ "$COUNT" != 0 ]; then span="-w 0 -n $COUNT -d 600"; else span="-w $WARMUP -d $DURATION"; fi
: >"$tmp/hot.sqlite" ; : >"$tmp/hot.pg"
r=1
while [ $r -le "$RUNS" ]; do
	# the order turned each round (SQLite first in odd rounds, PostgreSQL in even ones): the
	# first pair of a run often came out far apart (+33, +35, +18 %), and with the same side
	# always second a machine that slows or speeds up through the run counted against it
	for kind in $(if [ $((r % 2)) = 1 ]; then echo sqlite pg; else echo pg sqlite; fi); do
		name=hot-$kind-$r
		if [ $kind = sqlite ]; then store=$tmp/$name/lazaret.db; else store=$conninfo; fi
		# each round from nothing, like the SQLite rounds' new files: without it the PostgreSQL
		# rounds began with the verdicts the earlier rounds had made, and answered another mix
		[ $kind = sqlite ] || sql "$tmp/pg3" "TRUNCATE lz_changes, lz_evidence, lz_evidence_log, lz_nodes" >/dev/null 2>&1 || true
		node_conf "$name" "$store" "$limits
[enforce]
mode = none"
		[ -n "${TIMELINE:-}" ] || sed -i "s/^log_level = info/log_level = warn/" "$tmp/$name/lazaret.conf"
		# BACKGROUND_NICE: [daemon] background_nice for both sides (unset: lazaretd's default)
		[ -z "${BACKGROUND_NICE:-}" ] || sed -i "s/^\[daemon\]\$/[daemon]\nbackground_nice = $BACKGROUND_NICE/" "$tmp/$name/lazaret.conf"
		node_start "$name"
		port=$(sed -n 's/^listen = 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/$name/lazaret.conf" | head -n 1)
		wait_listen "$port" "$node_pid" 10 || die "$name: not listening"
		[ $kind = sqlite ] || wait_metric "$name" lazaret_store_up 1 30 || die "$name: not connected"
		c0=$(cpu_ticks "$node_pid"); m0=$(machine_ticks); p0=$(cpu_ticks "$pg3_pid"); t0=$(date +%s%N)
		# shellcheck disable=SC2086  # $span: its words on purpose
		"$load" -m -l "$kind" -c "$CONNS" -H "$HOSTS" $span ${TIMELINE:+-T "$tmp/$name.timeline"} "127.0.0.1:$port" \
		    >"$tmp/$name.out" 2>"$tmp/$name.err" || { cat "$tmp/$name.err" >&2; failed=1; echo "label=$kind rps=0 failed=1" >"$tmp/$name.out"; }
		c1=$(cpu_ticks "$node_pid"); m1=$(machine_ticks); p1=$(cpu_ticks "$pg3_pid")
		secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
		# PostgreSQL's own CPU meanwhile (its postmaster and backends: part of other=)
		extra=" pg_cpu=$(awk -v a="$p0" -v b="$p1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / hz / s * 100 }')"
		# the relay's store writer and sync thread, CPU seconds over the round (they start at 0)
		extra="$extra store_s=$(awk -v t="$(named_thread_ticks "$node_pid" lazaretd-store)" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')"
		[ $kind = sqlite ] || extra="$extra sync_s=$(awk -v t="$(named_thread_ticks "$node_pid" lazaretd-shared)" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')"
		[ $kind = sqlite ] || extra="$extra outbox=$(metric "$name" lazaret_store_outbox) pushed=$(metric "$name" lazaret_store_shared_pushed_total) evidence_published=$(metric "$name" lazaret_store_shared_evidence_published_total)"
		alive "$node_pid" || { tail -n 20 "$tmp/$name/lazaretd.log" >&2; echo "shared.sh: $name died under load" >&2; failed=1; }
		node_stop "$node_pid"
		lc=$(sed -n 's/.* load_cpu=\([0-9]*\) .*/\1/p' "$tmp/$name.out")
		all=$(sed -n 's/.* all=\([0-9]*\) .*/\1/p' "$tmp/$name.out")
		# us/req: lazaretd's CPU time per answered request, the figure the neighbours move least
		echo "$(cat "$tmp/$name.out") $(awk -v a="$c0" -v b="$c1" -v ma="$m0" -v mb="$m1" -v hz="$hz" -v s="$secs" \
		    -v l="${lc:-0}" -v n="${all:-0}" 'BEGIN {
			c = (b - a) / hz / s * 100; o = (mb - ma) / hz / s * 100 - c - l
			printf "cpu=%.0f cpu_us=%.2f other=%.0f", c, (n > 0 ? (b - a) / hz * 1e6 / n : 0), (o < 0 ? 0 : o) }')$extra" >>"$tmp/hot.$kind"
		echo "  round $r $kind: $(tail -n 1 "$tmp/hot.$kind" | sed 's/^label=[^ ]* //')"
	done
	r=$((r + 1))
done
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
best() { awk '{ split($2, a, "="); print a[2] "\t" $0 }' "$1" | sort -g | tail -n 1 | cut -f2-; }
# stat FIELD KIND min|median: over the runs that answered
stat() {
	awk -v f="$1" '{ for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) { v = substr($i, length(f) + 2); if ($2 != "rps=0") print v } }' \
	    "$tmp/hot.$2" | sort -g | awk -v how="$3" '{ v[NR] = $1 } END { if (NR == 0) { print 0; exit }
		if (how == "min") print v[1]; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ls_=$(best "$tmp/hot.sqlite"); lp=$(best "$tmp/hot.pg")
for k in sqlite pg; do
	l=$(best "$tmp/hot.$k")
	[ -n "$l" ] || continue
	echo "  best $k: $(field rps "$l") requests/s, p50 $(field p50_ms "$l") ms, p99 $(field p99_ms "$l") ms, max $(field max_ms "$l") ms," \
	    "lazaretd cpu $(field cpu "$l") %, other $(field other "$l") %, $(field actions "$l");" \
	    "over the $RUNS runs: lowest p99 $(stat p99_ms "$k" min) ms, median $(stat cpu_us "$k" median) us of CPU a request"
done
# the rounds side by side (each pair ran back to back), with what the neighbours used
ratios=$(paste "$tmp/hot.sqlite" "$tmp/hot.pg" | awk '{ s = p = 0; os = op = ""
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^rps=/) { v = substr($i, 5); if (s == 0) s = v; else p = v }
		if ($i ~ /^other=/) { if (os == "") os = substr($i, 7); else op = substr($i, 7) }
	}
	printf "%s%s", (NR > 1 ? ", " : ""), (s > 0 && p > 0) ? sprintf("%.0f %% (other %s/%s %%)", 100 * p / s, os, op) : "failed" }')
# p99 pair by pair: each PostgreSQL round against the SQLite round of its pair (run right before or after it), which ran
# on the machine as it was then (this VM's speed drifts by a third within one run: each
# side's lowest p99 may come from different phases), and the median of those pairs
# pairs FIELD: PostgreSQL's FIELD against SQLite's, in %, a line a pair of rounds
pairs() {
	paste "$tmp/hot.sqlite" "$tmp/hot.pg" | awk -v f="$1=" '{ s = p = 0
		for (i = 1; i <= NF; i++) if (index($i, f) == 1) { v = substr($i, length(f) + 1); if (s == 0) s = v; else p = v }
		if (s > 0 && p > 0) printf "%.1f\n", 100 * (p - s) / s }'
}
median() { sort -g | awk 'NF { v[++n] = $1 } END { if (n == 0) { print "-"; exit }
	printf "%.0f\n", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
p99_pairs=$(pairs p99_ms)
p99_median=$(echo "$p99_pairs" | median)
# the CPU a request likewise: each side's median mixes the machine's phases as the p99 did
us_pairs=$(pairs cpu_us)
us_median=$(echo "$us_pairs" | median)
# the requests/s likewise (since 2026-12-06 07:20: best against best, which assumed that the
# neighbours only ever take away, as in bench/policy.sh, put one run at -21 % while its pairs
# were 127, 98, 100, 79 and 106 %: the best SQLite round and the best PostgreSQL round came
# from different phases of the machine)
rps_pairs=$(pairs rps)
rps_median=$(echo "$rps_pairs" | median)
# each figure by the median of the pairs (best against best and the lowest p99 of each side
# shown too)
verdict=$(awk -v s="$(field rps "$ls_")" -v p="$(field rps "$lp")" -v sq="$(stat p99_ms sqlite min)" \
    -v pq="$(stat p99_ms pg min)" -v um="$us_median" -v pm="$p99_median" -v rm="$rps_median" 'BEGIN {
	b = (s > 0) ? 100 * p / s : 0; q = (sq > 0) ? 100 * (pq - sq) / sq : 0
	ok = pm != "-" && pm + 0 <= 10; uok = um != "-" && um + 0 <= 10; rok = rm != "-" && rm + 0 >= -10
	printf "requests/s %+d %% (median of the pairs; best against best %+.1f %%), p99 %+d %% (median of the pairs; lowest of each side %+.0f %%), CPU a request %+d %% (median of the pairs); within 10 %%: %s",
	    rm, b - 100, pm, q, um, (rok && ok && uok) ? "met" : (rok && uok ? "requests/s and CPU met, p99 MISSED" : "MISSED") }')
echo "  PostgreSQL against SQLite: $verdict"
echo "  round by round, PostgreSQL's requests/s as % of SQLite's: $ratios"
echo "  round by round, PostgreSQL's p99 against SQLite's: $(echo "$p99_pairs" | awk 'NF { printf "%s%+.0f %%", (n++ ? ", " : ""), $1 }')"
echo "  round by round, PostgreSQL's CPU a request against SQLite's: $(echo "$us_pairs" | awk 'NF { printf "%s%+.0f %%", (n++ ? ", " : ""), $1 }')"
row "policy hot path, store = SQLite (best of $RUNS, $CONNS connections, $HOSTS hosts)" \
    "$(field rps "$ls_") requests/s; lowest p99 $(stat p99_ms sqlite min) ms; $(stat cpu_us sqlite median) us CPU a request" ""
row "policy hot path, store = PostgreSQL (best of $RUNS, the same load, alternating)" \
    "$(field rps "$lp") requests/s; lowest p99 $(stat p99_ms pg min) ms; $(stat cpu_us pg median) us CPU a request" "$verdict"
;; esac

echo
echo "| figure | measured | target |"
echo "|---|---|---|"
cat "$tmp/table"
echo "shared.sh: load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
