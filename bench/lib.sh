# bench/lib.sh — the shell helpers the bench scripts share; sourced (`. "$bench/lib.sh"`),
# POSIX sh, nothing run when it is read. Processes are read from /proc, ports from ss and
# /proc/net/udp. Functions that set a variable (free_port, free_udp_port) must not be
# called in a subshell: next_port has to move on.

# shellcheck disable=SC2034  # hz: for the scripts that source this
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
next_port=$((20000 + $$ * 7 % 12000))	# below the ephemeral range

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# kv KEY FILE: the value of KEY=... in the last line of FILE that has it ("" when none)
kv() { sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" "$2" | tail -1; }

# free_port VAR: VAR set to a loopback TCP port nobody uses.
free_port() {
	while [ -n "$(ss -Htan "( sport = :$next_port )" 2>/dev/null)" ]; do
		next_port=$((next_port + 1))
	done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}

# free_udp_port VAR: VAR set to a UDP port nobody uses.
free_udp_port() {
	while awk -v p="$(printf ':%04X' "$next_port")" \
	    'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
	    /proc/net/udp /proc/net/udp6; do
		next_port=$((next_port + 1))
	done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}

# wait_listen PORT PID [SECONDS]: until PID listens on TCP PORT (10 s); 1 if it died or did not.
wait_listen() {
	i=0
	while [ $i -lt $((${3:-10} * 10)) ]; do
		kill -0 "$2" 2>/dev/null || return 1
		ss -Htlnp "( sport = :$1 )" 2>/dev/null | grep -q "pid=$2," && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_udp PORT PID SECONDS: until something is bound to UDP PORT; 1 if PID died or nothing was.
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

# udp_rxq PORT: bytes waiting to be read on the IPv4 sockets bound to PORT;
# udp_drops PORT: datagrams the kernel dropped there, their buffer full.
udp_rxq() {
	awk -v p="$(printf ':%04X' "$1")" '
	substr($2, length($2) - 4) == p { split($5, q, ":"); print q[2] }' /proc/net/udp |
	while read -r h; do printf '%d\n' "0x$h"; done | awk '{ s += $1 } END { print s + 0 }'
}
udp_drops() {
	awk -v p="$(printf ':%04X' "$1")" '
	substr($2, length($2) - 4) == p { d += $13 } END { print d + 0 }' /proc/net/udp
}

# tree PID: PID and its children (lazaretd's portal front and nftables helper, pmacct's plugins).
tree() {
	echo "$1"
	ps -o pid= --ppid "$1" 2>/dev/null || true
}

# cpu_user_sys PID: "USER SYS" ticks of PID and its children, all threads, with the children
# they reaped; cpu_ticks PID: the two added.
cpu_user_sys() {
	for p in $(tree "$1"); do
		cat "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ sub(/^.*\) /, ""); u += $12 + $14; s += $13 + $15 } END { print u + 0, s + 0 }'
}
cpu_ticks() { cpu_user_sys "$1" | awk '{ print $1 + $2 }'; }

# named_thread_ticks PID NAME: user + system ticks of PID's thread named NAME (lazaretd's
# lazaretd-store, lazaretd-shared), 0 when it has none.
named_thread_ticks() {
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] || continue
		awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null && return 0
	done
	echo 0
}

# thread_ticks PID: user + system ticks of PID's first thread alone (lazaretd's event loop).
thread_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/task/$1/stat" 2>/dev/null || echo 0; }

# sched_wait PID: "WAIT_NS SLICES" of PID's first thread from /proc/PID/task/PID/schedstat: the
# nanoseconds it spent runnable but waiting for a CPU, and how many times it got one.
sched_wait() { awk '{ print $2, $3 }' "/proc/$1/task/$1/schedstat" 2>/dev/null || echo 0 0; }

# machine_ticks: ticks the whole machine used so far, all CPUs, idle and I/O wait left out.
machine_ticks() {
	read -r _ u n s _ _ q sq st _ </proc/stat
	echo $((u + n + s + q + sq + st))
}

# rss_kib PID / hwm_kib PID: resident and peak resident KiB of PID plus its children's.
rss_kib() {
	for p in $(tree "$1"); do
		cat "/proc/$p/status" 2>/dev/null || true
	done | awk '$1 == "VmRSS:" { k += $2 } END { print k + 0 }'
}
hwm_kib() {
	for p in $(tree "$1"); do
		cat "/proc/$p/status" 2>/dev/null || true
	done | awk '$1 == "VmHWM:" { k += $2 } END { print k + 0 }'
}

# load_check NAME: warns when the load average is above half the CPUs: the figures then say
# as much about the neighbours as about what is measured.
load_check() {
	ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$ncpu" 'BEGIN { exit !(l > n / 2) }'; then
		echo "$1: warning: load average $(cut -d' ' -f1-3 /proc/loadavg) on $ncpu CPUs:" \
		    "the figures will say as much about the neighbours" >&2
	fi
}
