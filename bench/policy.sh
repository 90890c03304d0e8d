#!/bin/sh
# policy.sh BUILD_DIR — requests/s and latency of lazaretd's policy service
# beside its peers, on this machine, with the same load for each.
#
# Servers, in turn, RUNS rounds:
#   dunno_server  answers DUNNO without doing anything (the loopback ceiling)
#   lazaretd      BUILD_DIR/lazaretd on a generated config (temp dir)
#   postfwd       Debian's postfwd2 with bench/postfwd.cf, pre-forked
# Load: BUILD_DIR/bench/policy_load, closed loop (bench/README.md).
#
# Environment (defaults in brackets):
#   CONNS [64]  HOSTS [10000]  ACCOUNTS [0]  SASL_PERCENT [30]
#   WARMUP [2]  DURATION [10]  RUNS [3] (the best run by requests/s is kept:
#   on a shared machine the neighbours only ever take away)
#   COUNT [0]: each round answers COUNT requests, no warm-up, instead of WARMUP + DURATION
#     seconds: the same requests for every round and server, so how many hosts exceed their
#     limits (and are deferred, which costs lazaretd more than DUNNO) does not follow the
#     machine's speed, as it does over a fixed time
#   SERVERS ["dunno lazaretd postfwd"]
#   POSTFWD_SERVERS [70]  POSTFWD_MAX_SERVERS [100]
#   POSTFWD_ARGS: more postfwd2 options (they win over the defaults above)
#   LAZARETD [BUILD_DIR/lazaretd]: another lazaretd binary to measure
#   KEEP=1 keeps the temp dir (configs, logs) for a look afterwards.
# Exit status: 0 when every server ran, 1 when one failed (the others still
# run); missed targets are reported, not failed.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
build=$(cd "$1" && pwd) || usage
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")

CONNS=${CONNS:-64}
HOSTS=${HOSTS:-10000}
ACCOUNTS=${ACCOUNTS:-0}
SASL_PERCENT=${SASL_PERCENT:-30}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
COUNT=${COUNT:-0}
SERVERS=${SERVERS:-dunno lazaretd postfwd}
POSTFWD_SERVERS=${POSTFWD_SERVERS:-70}
POSTFWD_MAX_SERVERS=${POSTFWD_MAX_SERVERS:-100}

load=$build/bench/policy_load
dunno=$build/bench/dunno_server
lazaretd=${LAZARETD:-$build/lazaretd}
for f in "$load" "$dunno"; do
	if [ ! -x "$f" ]; then
		echo "policy.sh: $f missing: build it first (ninja -C $build)" >&2
		exit 1
	fi
done
command -v ss >/dev/null 2>&1 || { echo "policy.sh: needs ss (iproute2)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-bench.XXXXXX")
chmod 711 "$tmp"		# postfwd's user must reach its own subdirectory
server_pid=""			# the server being measured
server_pgid=""			# ... or its process group (postfwd)
failed=0

stop_server() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		i=0
		while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
	if [ -n "$server_pgid" ]; then
		kill -TERM "-$server_pgid" 2>/dev/null || true
		i=0
		while kill -0 "-$server_pgid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "-$server_pgid" 2>/dev/null || true
		server_pgid=""
	fi
}

cleanup() {
	stop_server
	if [ "${KEEP:-0}" = 1 ]; then
		echo "policy.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE	# e.g. piped into head

# free_port VAR: set VAR to a loopback TCP port nobody uses (not in a
# subshell: next_port must move on).
next_port=$((20000 + $$ * 7 % 12000))	# below the ephemeral range
free_port() {
	while [ -n "$(ss -Htan "( sport = :$next_port )" 2>/dev/null)" ]; do
		next_port=$((next_port + 1))
	done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}

# wait_listen PORT PID|-PGID: until the server listens on PORT (10 s); 1 if
# it died (another program may have taken the port first).
wait_listen() {
	case $2 in
	-*) who="" ;;			# any process of the group
	*) who="pid=$2," ;;
	esac
	i=0
	while [ $i -lt 100 ]; do
		kill -0 "$2" 2>/dev/null || return 1
		ss -Htlnp "( sport = :$1 )" 2>/dev/null | grep -q "$who" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# CPU ticks (user + system) used so far by a process (PID) or a process
# group (-PGID), threads included.
cpu_ticks() {
	case $1 in
	-*)	want=${1#-}; field=3 ;;	# pgrp, counting from the state field
	*)	want=$1; field=0 ;;
	esac
	# one cat: processes come and go while it reads
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v want="$want" -v field="$field" '
	{
		pid = $1
		sub(/^.*\) /, "")	# comm may hold spaces; fields from state on
		if ((field == 0 && pid == want) || (field == 3 && $3 == want))
			t += $12 + $13
	}
	END { print t + 0 }'
}
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

# machine_ticks: CPU ticks used so far by the whole machine, all CPUs
machine_ticks() {
	read -r _ u n s i w q sq st _ </proc/stat
	echo $((u + n + s + q + sq + st))
}

# measure NAME TARGET PID|-PGID: one load run; appends "SUMMARY cpu=PCT"
# to $tmp/NAME.runs.
measure() {
	c0=$(cpu_ticks "$3")
	m0=$(machine_ticks)
	t0=$(date +%s%N)
	if [ "$COUNT" != 0 ]; then span="-w 0 -n $COUNT -d 600"; else span="-w $WARMUP -d $DURATION"; fi
	# shellcheck disable=SC2086  # span: options, split on purpose
	if ! "$load" -m -l "$1" -c "$CONNS" -H "$HOSTS" -a "$ACCOUNTS" \
	    -s "$SASL_PERCENT" $span "$2" \
	    >"$tmp/$1.out" 2>"$tmp/$1.err"; then
		cat "$tmp/$1.err" >&2
		return 1
	fi
	m1=$(machine_ticks)
	c1=$(cpu_ticks "$3")
	secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$secs" \
	    'BEGIN { printf "%.0f", (b - a) / hz / s * 100 }')
	all=$(sed -n "s/.* all=\([0-9]*\) .*/\1/p" "$tmp/$1.out")
	# CPU time per request: what the neighbours change least
	us=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="${all:-0}" \
	    'BEGIN { printf "%.1f", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }')
	# what everything else on the machine used meanwhile (100 = one CPU)
	lc=$(sed -n "s/.* load_cpu=\([0-9]*\) .*/\1/p" "$tmp/$1.out")
	other=$(awk -v a="$m0" -v b="$m1" -v hz="$hz" -v s="$secs" \
	    -v c="$cpu" -v l="${lc:-0}" 'BEGIN {
		o = (b - a) / hz / s * 100 - c - l
		printf "%.0f", (o < 0 ? 0 : o) }')
	echo "$(cat "$tmp/$1.out") cpu=$cpu cpu_us=$us other=$other" >>"$tmp/$1.runs"
}

run_dunno() {
	free_port port
	"$dunno" -q "127.0.0.1:$port" 2>"$tmp/dunno.log" &
	server_pid=$!
	if ! wait_listen "$port" "$server_pid"; then
		echo "policy.sh: dunno_server did not start:" >&2
		cat "$tmp/dunno.log" >&2
		stop_server
		return 2
	fi
	measure dunno "127.0.0.1:$port" "$server_pid"
	rc=$?
	stop_server
	return $rc
}

run_lazaretd() {
	if [ ! -x "$lazaretd" ]; then
		echo "policy.sh: $lazaretd missing" >&2
		return 1
	fi
	free_port port
	free_port aport
	free_port wport
	rm -rf "$tmp/lazaretd"
	mkdir -p "$tmp/lazaretd"
	conf=$tmp/lazaretd/lazaret.conf
	# The API on a Unix socket (a TCP listener needs a token file since the API was
	# locked); a lazaretd from before [api] socket gets the loopback port instead.
	api="socket = $tmp/lazaretd/api.sock"
	for attempt in socket listen; do
	# The per-host limit bites only a host that sends more than 100
	# messages plus one a second: at the bench's rates each host sends
	# a few per second, so the limiter works on every request and
	# defers little or nothing. Recipients: three per message.
	cat >"$conf" <<EOF
; generated by bench/policy.sh
[daemon]
store = $tmp/lazaretd/lazaret.db
log_level = warn

[policy]
listen = 127.0.0.1:$port
count_at = data

[limits]
host_messages = 3600/1h
host_messages_burst = 100
host_recipients = 10800/1h
host_recipients_burst = 300
account_messages = 3600/1h
account_messages_burst = 100
account_recipients = 10800/1h
account_recipients_burst = 300

[api]
$api

[portal]
url = http://portal.example.net/
listen = 127.0.0.1:$wport
templates = $repo/share/portal
EOF
	"$lazaretd" -n -c "$conf" >"$tmp/lazaretd/check.out" 2>&1 && break
	if [ "$attempt" = listen ]; then
		echo "policy.sh: lazaretd -n rejects the generated config:" >&2
		cat "$tmp/lazaretd/check.out" >&2
		return 1
	fi
	api="listen = 127.0.0.1:$aport"
	done
	"$lazaretd" --init-store -c "$conf" 2>"$tmp/lazaretd/lazaretd.log" &
	server_pid=$!
	if ! wait_listen "$port" "$server_pid"; then
		echo "policy.sh: lazaretd did not start:" >&2
		tail -20 "$tmp/lazaretd/lazaretd.log" >&2
		stop_server
		return 2
	fi
	rc=0
	measure lazaretd "127.0.0.1:$port" "$server_pid" || rc=1
	if command -v curl >/dev/null 2>&1; then
		case $api in
		socket*) curl -s -m 5 --unix-socket "$tmp/lazaretd/api.sock" "http://localhost/v1/stats" ;;
		*) curl -s -m 5 "http://127.0.0.1:$aport/v1/stats" ;;
		esac >"$tmp/lazaretd.stats" 2>/dev/null || true
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "policy.sh: lazaretd died under load:" >&2
		tail -20 "$tmp/lazaretd/lazaretd.log" >&2
		rc=1
	fi
	stop_server
	return $rc
}

run_postfwd() {
	pf=$(command -v postfwd2 || true)
	if [ -z "$pf" ]; then
		echo "policy.sh: postfwd2 not installed (scripts/install-deps.sh bench)" >&2
		return 1
	fi
	free_port port
	d=$tmp/postfwd
	rm -rf "$d"
	mkdir -p "$d"
	cp "$bench/postfwd.cf" "$d/postfwd.cf"
	asuser=""
	if [ "$(id -u)" -eq 0 ]; then	# as an operator would: not as root
		chown -R nobody:"$(id -gn nobody)" "$d"
		asuser="--user nobody --group $(id -gn nobody)"
	fi
	# postfwd2 has no foreground server mode (--nodaemon reads requests
	# from stdin and turns rate() off): it forks, calls setsid and writes
	# its pid file; its pid is its process group, which we stop.
	if ! "$pf" --file "$d/postfwd.cf" \
	    --server_socket "tcp:127.0.0.1:$port" \
	    --cache_proto unix --cache_port "$d/cache.socket" \
	    --pidfile "$d/master.pid" \
	    $asuser \
	    --min_servers "$POSTFWD_SERVERS" \
	    --max_servers "$POSTFWD_MAX_SERVERS" \
	    --min_spare_servers 5 --max_spare_servers 50 \
	    --cache 0 --nodns --perfmon ${POSTFWD_ARGS:-} \
	    >"$d/postfwd.log" 2>&1; then
		echo "policy.sh: postfwd2 did not start:" >&2
		cat "$d/postfwd.log" >&2
		return 2
	fi
	i=0
	while [ ! -s "$d/master.pid" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	server_pgid=$(cat "$d/master.pid" 2>/dev/null || true)
	if [ -z "$server_pgid" ] || ! wait_listen "$port" "-$server_pgid"; then
		echo "policy.sh: postfwd2 did not start" >&2
		stop_server
		return 2
	fi
	# let it pre-fork its children: master, cache, policy parent + N
	i=0
	while [ "$(ps -e -o pgid= | awk -v g="$server_pgid" '$1 == g' | wc -l)" \
	    -lt $((POSTFWD_SERVERS + 3)) ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rc=0
	measure postfwd "127.0.0.1:$port" "-$server_pgid" || rc=1
	stop_server
	return $rc
}

# field NAME LINE: the value of NAME= in a summary line
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# the best run of NAME by requests/s
best() {
	[ -s "$tmp/$1.runs" ] || return 0
	awk '{ split($2, a, "="); print a[2] "\t" $0 }' "$tmp/$1.runs" |
	    sort -g | tail -1 | cut -f2-
}

echo "policy bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) CPUs," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
if [ "$COUNT" != 0 ]; then span_text="$COUNT requests a round"; else span_text="${WARMUP}s warm-up + ${DURATION}s"; fi
echo "load: $CONNS connections, $HOSTS hosts, $ACCOUNTS accounts," \
    "$span_text, $RUNS run(s) per server"
# How busy the machine is, over one second (the load average lags).
busy() {
	read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ </proc/stat
	sleep 1
	read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ </proc/stat
	t=$(( (u2 + n2 + s2 + i2 + w2 + q2 + sq2 + st2) - \
	    (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) ))
	echo $(( t > 0 ? 100 - 100 * (i2 - i1 + w2 - w1) / t : 0 ))
}
read -r la1 la5 _ </proc/loadavg
b=$(busy)
echo "before: CPUs $b % busy, load average $la1 $la5"
if [ "$b" -gt 20 ]; then
	echo "WARNING: the machine is busy ($b % of its CPUs in use before we start): figures will be low and noisy"
fi

for s in $SERVERS; do
	case $s in
	dunno|lazaretd|postfwd) ;;
	*) echo "policy.sh: unknown server $s" >&2; exit 2 ;;
	esac
done

# Rounds of one run per server, so that each sees the same neighbours.
broken=""
r=1
while [ $r -le "$RUNS" ]; do
	for s in $SERVERS; do
		case " $broken " in *" $s "*) continue ;; esac
		tries=0
		while :; do
			rc=0
			"run_$s" || rc=$?
			# 2: it did not start; another program may have
			# taken its port under us: try again
			[ $rc -eq 2 ] && [ $tries -lt 3 ] || break
			tries=$((tries + 1))
		done
		if [ $rc -ne 0 ]; then
			echo "policy.sh: $s: run $r failed" >&2
			broken="$broken $s"
			failed=1
		fi
	done
	r=$((r + 1))
done

echo
printf '%-10s %11s %8s %8s %8s %5s %7s %5s %6s  %s\n' server requests/s "p50 ms" \
    "p99 ms" "max ms" "cpu%" "us/req" "load%" "other%" actions
for s in $SERVERS; do
	line=$(best "$s")
	if [ -z "$line" ]; then
		printf '%-10s %12s\n' "$s" "(failed)"
		continue
	fi
	printf '%-10s %11s %8s %8s %8s %5s %7s %5s %6s  %s\n' "$s" "$(field rps "$line")" \
	    "$(field p50_ms "$line")" "$(field p99_ms "$line")" \
	    "$(field max_ms "$line")" "$(field cpu "$line")" \
	    "$(field cpu_us "$line")" "$(field load_cpu "$line")" \
	    "$(field other "$line")" \
	    "$(field actions "$line")"
	e=$(field errors "$line")
	[ "$e" = 0 ] || echo "           ($e protocol errors, $(field reconnects "$line") reconnects)"
done
echo "(cpu%: the server's CPU use over the run, 100 = one CPU; us/req: its CPU time"
echo " per answered request, in microseconds; load%: policy_load's CPU use;"
echo " other%: everything else on the machine meanwhile: above ~10 the run is"
echo " disturbed)"
if [ "$RUNS" -gt 1 ]; then
	echo "every run, requests/s (other%) (the best is shown above):"
	for s in $SERVERS; do
		[ -s "$tmp/$s.runs" ] && echo "  $s: $(sed "s/.* rps=\([^ ]*\) .* other=\([0-9]*\)$/\1 (\2)/" \
		    "$tmp/$s.runs" | tr "\n" " ")"
	done
	# With HOSTS hosts, the faster lazaretd answers the more each host sends and
	# the more of it is deferred (more work: evidence): say how much, per run.
	[ -s "$tmp/lazaretd.runs" ] && echo "  lazaretd's answers deferred, per run: $(awk '{
		n = d = 0
		for (i = 1; i <= NF; i++) if ($i ~ /^actions=/) {
			k = split(substr($i, 9), a, ",")
			for (j = 1; j <= k; j++) { split(a[j], p, ":"); n += p[2]; if (p[1] == "DEFER_IF_PERMIT") d += p[2] }
		}
		printf "%.0f %% ", n ? 100 * d / n : 0 }' "$tmp/lazaretd.runs")"
fi

# ratio A B: A's best requests/s over B's
ratio() {
	awk -v a="$(field rps "$(best "$1")")" -v b="$(field rps "$(best "$2")")" \
	    'BEGIN { print (b > 0 ? a / b : 0) }'
}

l=$(best lazaretd)
echo
if [ -n "$l" ]; then
	lp99=$(field p99_ms "$l")
	if [ -s "$tmp/dunno.runs" ]; then
		awk -v r="$(ratio lazaretd dunno)" 'BEGIN {
			p = 100 * r
			printf "lazaretd = %.1f %% of dunno_server (target >= 85 %%): %s\n",
			    p, (p >= 85 ? "met" : "MISSED") }'
	fi
	if [ -s "$tmp/dunno.runs" ] && [ "$RUNS" -gt 1 ]; then
		# The two servers of one round ran a few seconds apart: their ratio is
		# the figure the machine's changes of speed move least.
		paste "$tmp/lazaretd.runs" "$tmp/dunno.runs" | awk '{
			l = d = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^rps=/) { v = substr($i, 5); if (l == 0) l = v; else d = v }
			}
			if (d > 0) print 100 * l / d
		}' | sort -g >"$tmp/paired"
		awk '{ v[NR] = $1 } END {
			if (NR == 0) exit
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "round by round (each pair run back to back): median %.1f %% (%.1f to %.1f) of dunno_server: %s\n",
			    m, v[1], v[NR], (m >= 85 ? "met" : "MISSED") }' "$tmp/paired"
	fi
	if [ -s "$tmp/postfwd.runs" ]; then
		awk -v m="$(ratio lazaretd postfwd)" 'BEGIN {
			printf "lazaretd = %.1fx postfwd (target >= 20x): %s\n",
			    m, (m >= 20 ? "met" : "MISSED") }'
	fi
	awk -v q="$lp99" 'BEGIN {
		printf "lazaretd p99 = %.3f ms (target < 2 ms): %s\n",
		    q, (q < 2 ? "met" : "MISSED") }'
	if [ -s "$tmp/lazaretd.stats" ]; then
		echo "lazaretd /v1/stats after the run: $(tr -d '\n' <"$tmp/lazaretd.stats" | cut -c1-400)"
	fi
fi
exit $failed
