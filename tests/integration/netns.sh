# netns.sh — sourced by the tests that need a network of their own: three namespaces made
# by the test, sub (subscribers) — gw (the gateway) — inet ("the Internet"), joined by veth
# pairs created inside them, on 10.N.1.0/24 + fdN:1::/64 (sub side, gw .1) and 10.N.3.0/24 +
# fdN:3::/64 (inet side, gw .1), N chosen by each test so that two can run at once; the
# far-end servers (netprobe serve) and probes from sub; the ok/FAIL lines. Nothing outside
# the namespaces is touched.
#
#   netns_init TAG N      namespaces TAG-sub-PID, TAG-gw-PID, TAG-inet-PID; T a temp dir;
#                         cleanup on every exit path (a function netns_before_cleanup, if the
#                         test defines one, runs first: stop what the test started itself)
#   netns_topology "SUB_HOSTS" "INET_HOSTS"
#   netns_serve_inet [SPEC...]   the usual far ends plus SPECs, on both families; waits for them
#
# Needs PROBE (BUILD_DIR/tests/netprobe) set before use.

skip() {
	if [ -n "${CI:-}" ]; then echo "FAIL: $* (CI: a missing prerequisite is a failure)"; exit 1; fi
	echo "SKIP: $*"
	exit 77
}

now_ms() { date +%s%3N; }
elapsed() { awk -v a="$T0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
section() { echo; echo "=== [$(elapsed)s] $*"; }
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# wait_for SECONDS CMD... — poll CMD every 0.1 s until it succeeds; 1 on timeout (SECONDS may
# have a fraction).
wait_for() {
	local limit=$(($(now_ms) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$limit" ] || return 1
		sleep 0.1
	done
}

# wait_file FILE REGEX SECONDS
wait_file() { wait_for "$3" grep -Eq "$2" "$1"; }

sub() { ip netns exec "$NS_SUB" "$@"; }
gw() { ip netns exec "$NS_GW" "$@"; }
inet() { ip netns exec "$NS_INET" "$@"; }

# expect WHAT WORD [-s SRC] tcp|udp ADDR PORT — the probe from sub ends in WORD ("open LABEL",
# "refused", "unreachable", "prohibited"); a refusal must come within a second, not a timeout.
expect() {
	local what=$1 want=$2 out word ms
	shift 2
	out=$(sub "$PROBE" connect -t 3000 "$@")
	word=${out% ms=*}
	ms=${out##* ms=}
	if [ "$word" != "$want" ]; then
		bad "$what: expected '$want', got '$out'"
	elif [ "${want%% *}" != open ] && [ "$ms" -ge 1000 ]; then
		bad "$what: '$want' but only after $ms ms"
	else
		ok "$what ($out)"
	fi
}

netns_cleanup() {
	local p ns
	trap - EXIT INT TERM HUP
	declare -F netns_before_cleanup >/dev/null && netns_before_cleanup
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# a namespace's nftables tables, sockets and veths go with it
	for ns in "$NS_SUB" "$NS_GW" "$NS_INET"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}

netns_init() {
	NS_SUB=$1-sub-$$ NS_GW=$1-gw-$$ NS_INET=$1-inet-$$
	NETNS_NET=$2
	T=$(mktemp -d "/tmp/lazaret-$1.XXXXXX")
	PIDS=()          # the far ends; "ip netns exec" execs the command, so $! is the process to stop
	failures=0
	T0=$(now_ms)
	trap netns_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# netns_topology "SUB_HOSTS" "INET_HOSTS" — sub holds 10.N.1.H for each H (and fdN:1::2), inet
# 10.N.3.H and fdN:3::H; gw forwards between them.
netns_topology() {
	local n=$NETNS_NET ns h
	for ns in "$NS_SUB" "$NS_GW" "$NS_INET"; do
		ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
		ip -n "$ns" link set lo up
	done
	# the veth pairs are created inside the namespaces: nothing appears in ours, even briefly
	ip -n "$NS_SUB" link add s0 type veth peer name g0 netns "$NS_GW" || exit 1
	ip -n "$NS_GW" link add g1 type veth peer name i0 netns "$NS_INET" || exit 1

	for h in $1; do ip -n "$NS_SUB" addr add "10.$n.1.$h/24" dev s0; done
	ip -n "$NS_SUB" addr add "fd$n:1::2/64" dev s0 nodad
	ip -n "$NS_SUB" link set s0 up
	ip -n "$NS_SUB" route add default via "10.$n.1.1"
	ip -n "$NS_SUB" -6 route add default via "fd$n:1::1"

	ip -n "$NS_GW" addr add "10.$n.1.1/24" dev g0
	ip -n "$NS_GW" addr add "fd$n:1::1/64" dev g0 nodad
	ip -n "$NS_GW" addr add "10.$n.3.1/24" dev g1
	ip -n "$NS_GW" addr add "fd$n:3::1/64" dev g1 nodad
	ip -n "$NS_GW" link set g0 up
	ip -n "$NS_GW" link set g1 up
	gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# The kernel rate-limits the ICMP errors it sends to one host (a burst of 6, then one a
	# second): a quarantined host trying many ports would see some attempts answered only on
	# the SYN retry, a second later. Off here, so that every rejection can be required quick.
	gw sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

	for h in $2; do
		ip -n "$NS_INET" addr add "10.$n.3.$h/24" dev i0
		ip -n "$NS_INET" addr add "fd$n:3::$h/64" dev i0 nodad
	done
	ip -n "$NS_INET" link set i0 up
	ip -n "$NS_INET" route add default via "10.$n.3.1"
	ip -n "$NS_INET" -6 route add default via "fd$n:3::1"
}

# netns_serve_inet [SPEC...] — in inet, on both families: .10 web (80, 443, 8443, a rogue DNS
# on 53), .25 the relay (25), .26 another mail server (25, 587, 465), .53 the resolver (53 udp
# and tcp), .80 the update site (443); plus SPECs (netprobe serve's KIND,LABEL,ADDR,PORT).
# Returns once they listen and sub reaches them.
netns_serve_inet() {
	local p specs=() i
	for p in "10.$NETNS_NET.3." "fd$NETNS_NET:3::"; do
		specs+=("http,WEB,${p}10,80" "tcp,WEB443,${p}10,443" "tcp,WEB8443,${p}10,8443" "udp,ROGUEDNS,${p}10,53"
			"tcp,RELAY,${p}25,25" "tcp,MX,${p}26,25" "tcp,SUBMISSION,${p}26,587" "tcp,SMTPS,${p}26,465"
			"udp,DNS,${p}53,53" "tcp,DNS,${p}53,53" "tcp,UPDATE,${p}80,443")
	done
	ip netns exec "$NS_INET" "$PROBE" serve "${specs[@]}" "$@" >"$T/inet.out" 2>&1 &
	PIDS+=($!)
	wait_file "$T/inet.out" '^ready' 5 || { echo "FAIL: servers in inet: $(cat "$T/inet.out")"; exit 1; }
	# neighbour discovery over fresh veths can take a moment
	for ((i = 0; i < 50; i++)); do
		sub "$PROBE" connect -t 200 tcp "fd$NETNS_NET:3::10" 443 | grep -q '^open' &&
			sub "$PROBE" connect -t 200 tcp "10.$NETNS_NET.3.10" 443 | grep -q '^open' && return 0
		sleep 0.1
	done
}
