#!/bin/sh
# backlog.sh BUILD_DIR — lazaretd catching up on a backlog of mail log: how fast it reads it,
# and how long policy requests wait meanwhile.
#
# The backlog: BUILD_DIR/bench/maillog_gen -n PIECE_LINES (2 000 000 lines, about 400 MB),
# copied PIECES (5) times: 10 M lines, 1.9 GB. Generated into a temp dir and removed at the end.
# Each run starts lazaretd on a fresh store with [maillog] file naming a file that is not there
# yet, then moves the backlog into place (a first start on a big log, as after a long stop),
# and waits until `lazaretctl stats` counts every line:
#   alone   nothing else: wall seconds, lazaretd's CPU seconds (all its threads: the store's
#           commits too), MB/s and lines/s of wall time, MB per CPU second (what neighbours on a
#           shared machine change least)
#   load    policy requests arrive meanwhile at LOAD_RATE/s (1 000) over LOAD_CONNS (16)
#           connections, in an open loop (policy_load -r: latency from when each request was
#           due): p50, p99, max while the backlog is read
# RUNS (3) rounds, each binary in turn in each round; the best run of each (shortest wall time;
# lowest p99). BASE=/path/to/lazaretd adds another binary (e.g. an older build) to compare.
# Environment: RUNS, PIECES, PIECE_LINES, LOAD_RATE, LOAD_CONNS, LAZARETD, BASE, MODES ("alone load"),
# LOAD_POLL (0.5: seconds between the progress polls of a load run),
# BASE_TEMPLATES (the portal templates BASE reads, when it is older than this tree's: its own
# tree's share/portal).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
PIECES=${PIECES:-5}
PIECE_LINES=${PIECE_LINES:-2000000}
LOAD_RATE=${LOAD_RATE:-1000}
LOAD_CONNS=${LOAD_CONNS:-16}
MODES=${MODES:-alone load}
lazaretd=${LAZARETD:-$build/lazaretd}
gen=$build/bench/maillog_gen
load=$build/bench/policy_load
ctl=$build/lazaretctl
for f in "$lazaretd" "$gen" "$load" "$ctl" ${BASE:+"$BASE"}; do
	[ -x "$f" ] || { echo "backlog.sh: $f missing: build it first (ninja -C $build)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-backlog.XXXXXX")
pid=""
lpid=""
cleanup() {
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
load_avg() { cut -d' ' -f1 /proc/loadavg; }
if awk -v l="$(load_avg)" -v n="$ncpu" 'BEGIN { exit !(l > n / 2) }'; then
	echo "backlog.sh: warning: load average $(load_avg) on $ncpu CPUs: the figures will say as much about the neighbours"
fi

echo "generating the backlog: $PIECES x maillog_gen -n $PIECE_LINES ..."
"$gen" -n "$PIECE_LINES" -s 1 -o "$tmp/piece" 2>/dev/null
i=0
while [ $i -lt "$PIECES" ]; do cat "$tmp/piece"; i=$((i + 1)); done >"$tmp/backlog"
rm -f "$tmp/piece"
bytes=$(stat -c %s "$tmp/backlog")
lines=$((PIECES * PIECE_LINES))
echo "backlog: $lines lines, $((bytes / 1048576)) MiB"

next_port=$((20000 + $$ * 7 % 12000))
free_port() {
	while [ -n "$(ss -Htan "( sport = :$next_port )" 2>/dev/null)" ]; do next_port=$((next_port + 1)); done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}
now_ms() { date +%s%3N; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
loop_ticks() { awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat"; }    # the loop's thread alone

# shellcheck disable=SC2154  # pport, aport, wport: set by free_port's eval
# run BINARY MODE — one catch-up; appends "label mode wall_s cpu_s p50 p99 max" to $tmp/rows
run() {
	bin=$1 mode=$2 label=$3
	d=$tmp/run
	templates=$repo/share/portal
	[ "$label" = base ] && templates=${BASE_TEMPLATES:-$templates}
	rm -rf "$d"
	mkdir -p "$d/log"
	free_port pport
	free_port aport
	free_port wport
	cat >"$d/lazaret.conf" <<EOF
[daemon]
store = $d/lazaret.db
log_level = info
[policy]
listen = 127.0.0.1:$pport
[api]
listen = 127.0.0.1:$aport
[portal]
url = http://portal.example.net/
listen = 127.0.0.1:$wport
templates = $templates
[maillog]
file = $d/log/maillog
poll_interval = 100ms
EOF
	# a fresh store: builds since --init-store must be told to create it, older ones do not know the option
	init=""
	"$bin" --help 2>&1 | grep -q -- --init-store && init=--init-store
	"$bin" $init -c "$d/lazaret.conf" >"$d/lazaretd.log" 2>&1 &
	pid=$!
	n=0
	until [ -n "$(ss -Htln "( sport = :$aport )" 2>/dev/null)" ]; do
		n=$((n + 1))
		[ $n -lt 100 ] || { echo "backlog.sh: $bin did not start" >&2; tail "$d/lazaretd.log" >&2; exit 1; }
		sleep 0.1
	done
	if [ "$mode" = load ]; then
		"$load" -m -l "$label" -r "$LOAD_RATE" -c "$LOAD_CONNS" -w 0 -d 3600 "127.0.0.1:$pport" >"$d/load.out" &
		lpid=$!
		sleep 0.3
	fi
	c0=$(cpu_ticks "$pid")
	l0=$(loop_ticks "$pid")
	t0=$(now_ms)
	mv "$tmp/backlog" "$d/log/maillog"
	while :; do
		seen=$("$ctl" --api "http://127.0.0.1:$aport" stats --json 2>/dev/null |
			sed -n 's/^    "lines": \([0-9]*\),*$/\1/p' | head -1)
		[ "${seen:-0}" -ge "$lines" ] && break
		# Under load the poll is rare: each is a lazaretctl process, and on a machine of two
		# CPUs twenty of them a second preempt lazaretd often enough to be the policy p99
		# (4 ms instead of 1.3). The load rows' wall time is then good to 0.5 s; the
		# rate is the alone rows'.
		if [ "$mode" = load ]; then sleep "${LOAD_POLL:-0.5}"; else sleep 0.05; fi
	done
	t1=$(now_ms)
	c1=$(cpu_ticks "$pid")
	l1=$(loop_ticks "$pid")
	p50=- p99=- max=-
	if [ -n "$lpid" ]; then
		kill -TERM "$lpid"
		wait "$lpid" || true
		lpid=""
		out=$(cat "$d/load.out")
		p50=$(echo "$out" | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p')
		p99=$(echo "$out" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p')
		max=$(echo "$out" | sed -n 's/.* max_ms=\([0-9.]*\).*/\1/p')
	fi
	kill "$pid"
	wait "$pid" || true
	pid=""
	mv "$d/log/maillog" "$tmp/backlog"
	hz=$(getconf CLK_TCK)
	echo "$label $mode $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }') \
$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }') $p50 $p99 $max \
$(awk -v a="$l0" -v b="$l1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')" | tee -a "$tmp/rows"
}

: >"$tmp/rows"
r=0
while [ $r -lt "$RUNS" ]; do
	r=$((r + 1))
	for mode in $MODES; do
		run "$lazaretd" "$mode" lazaretd
		[ -n "${BASE:-}" ] && run "$BASE" "$mode" base
	done
done

echo
echo "Backlog catch-up, $(date -u +%Y-%m-%d), $(uname -n), $ncpu CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), best of $RUNS"
echo "backlog: $lines lines, $bytes bytes; load: $LOAD_RATE requests/s over $LOAD_CONNS connections, open loop"
awk -v bytes="$bytes" -v lines="$lines" '
	{ k = $1 " " $2
	  if (!(k in wall) || $3 < wall[k]) { wall[k] = $3; cpu[k] = $4 }
	  if ($6 != "-" && (!(k in p99) || $6 + 0 < p99[k] + 0)) { p50[k] = $5; p99[k] = $6; max[k] = $7 }
	  if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
	END {
		printf "%-10s %-6s %8s %8s %7s %11s %9s %9s %9s %9s\n", "binary", "mode", "wall s", "CPU s", "MB/s",
		    "lines/s", "MB/CPU-s", "p50 ms", "p99 ms", "max ms"
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, f, " ")
			printf "%-10s %-6s %8.2f %8.2f %7.0f %11.0f %9.0f %9s %9s %9s\n", f[1], f[2], wall[k], cpu[k],
			    bytes / 1e6 / wall[k], lines / wall[k], (cpu[k] > 0 ? bytes / 1e6 / cpu[k] : 0),
			    (k in p99) ? p50[k] : "-", (k in p99) ? p99[k] : "-", (k in p99) ? max[k] : "-"
		}
	}' "$tmp/rows"
