#!/bin/bash
# test_flows_netns.sh — the flow detectors on real traffic from real programs (issue 9): in
# network namespaces of our own, subscribers behave as infected hosts do while softflowd on
# the gateway exports their flows (NetFlow v9) to lazaretd, and each behaviour must become
# its evidence, explained, while a host that only browses stays normal; the flooder, at
# quarantine, lands in the walled garden ([enforce] mode = nftables).
#
#   sub  s0: 10.79.1.2 scanner (nmap -sS over 40 addresses, TCP/445)
#            10.79.1.3 spam bot (TCP/25 to 30 "mail servers", none the relay)
#            10.79.1.4 flooder (hping3 SYN flood, low rate)
#            10.79.1.5 a web server many outside clients use (fast flux, a proxy)
#            10.79.1.6 contacts an address on a C&C list
#            10.79.1.7 browses the web and sends mail through the relay
#            10.79.1.8 vertical scanner (nmap -sS -p 1-2000 against the web server)
#   gw   forwards; softflowd -i g0 exports to lazaretd on 127.0.0.1 (both in gw); lazaretd
#        with [network] subscribers = 10.79.1.0/24, relay = 10.79.3.25, [enforce] nftables
#   inet .10 web, .25 the relay; .100-.139 addresses nobody serves (scan and MX targets, and
#        the web server's outside clients); .66 the C&C address
#
# Thresholds are lowered for a test's few seconds of traffic (the defaults are for an ISP's).
set -u
BUILD_DIR=${BUILD_DIR:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
LAZARETD=$B/lazaretd
LAZARETCTL=$B/lazaretctl
PROBE=$B/tests/netprobe
PATH=$PATH:/usr/sbin:/sbin

. "$ROOT/tests/integration/netns.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
for c in ip nft curl softflowd softflowctl nmap hping3; do
	command -v "$c" >/dev/null 2>&1 || skip "command not found: $c"
done
for f in "$LAZARETD" "$LAZARETCTL" "$PROBE"; do [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }; done

netns_init lzf 79
LZ_PID="" SF_PID=""
API_SOCK=$T/api.sock
FPORT=12055
LZ_LOG=$T/lazaretd.log

netns_before_cleanup() {
	[ -n "$SF_PID" ] && kill "$SF_PID" 2>/dev/null && wait "$SF_PID" 2>/dev/null
	if [ -n "$LZ_PID" ]; then
		kill -TERM "$LZ_PID" 2>/dev/null
		wait_for 10 pid_gone "$LZ_PID" || kill -9 "$LZ_PID" 2>/dev/null
		wait "$LZ_PID" 2>/dev/null
	fi
}
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
ctl() { "$LAZARETCTL" --api "unix:$API_SOCK" "$@"; }
fatal() {
	bad "$*"
	echo "----- lazaretd log (last 40 lines) -----"
	tail -n 40 "$LZ_LOG" 2>/dev/null
	echo "----- softflowd -----"
	tail -n 10 "$T/softflowd.log" 2>/dev/null
	exit 1
}

targets=""
for h in $(seq 100 139); do targets="$targets $h"; done
netns_topology "2 3 4 5 6 7 8" "10 25 26 53 66 80$targets"
netns_serve_inet

section "lazaretd in gw: [flows], [network], the detectors at a test's scale, [enforce] nftables"
echo "10.79.3.66" >"$T/cc.txt"
cat >"$T/lazaret.conf" <<EOF
[daemon]
store = $T/lazaret.db
checkpoint_interval = 1s
[network]
subscribers = 10.79.1.0/24
relay = 10.79.3.25
[policy]
listen = unix:$T/policy.sock
[api]
socket = $API_SOCK
[portal]
listen = [::]:8080
templates = $ROOT/share/portal
[enforce]
mode = nftables
resolver = 10.79.3.53
portal = 10.79.1.1:8080
[flows]
listen = 127.0.0.1:$FPORT
direct_mx_destinations = 20
scan_destinations = 20
dos_packets = 300
dos_flows = 100
hosting_sources = 20
blocklist = cc plain $T/cc.txt
[evidence outbound_dos]
; one flood is a quarantine here, to see the garden take it
weight = 7
EOF
out=$("$LAZARETD" -n -c "$T/lazaret.conf" 2>&1) || fatal "lazaretd -n rejects the configuration: $out"
# ip netns exec execs the program: $! is lazaretd itself (a shell function would be a subshell)
ip netns exec "$NS_GW" "$LAZARETD" --init-store -c "$T/lazaret.conf" >>"$LZ_LOG" 2>&1 &
LZ_PID=$!
wait_for 10 curl -sf --unix-socket "$API_SOCK" http://localhost/v1/stats || fatal "lazaretd not ready in 10 s"
wait_for 10 gw nft list set inet lazaret quarantine_v4 || fatal "no table inet lazaret after 10 s"
ok "lazaretd pid $LZ_PID in gw, flows on 127.0.0.1:$FPORT"

# softflowd sees the subscribers' side of the gateway; short timeouts, and expire-all below
ip netns exec "$NS_GW" softflowd -i g0 -n "127.0.0.1:$FPORT" -v 9 -m 65536 -d -c "$T/sf.ctl" -p "$T/sf.pid" \
	-t tcp=5 -t tcp.rst=2 -t tcp.fin=2 -t udp=5 -t icmp=5 -t general=5 -t maxlife=20 -t expint=1 \
	>"$T/softflowd.log" 2>&1 &
SF_PID=$!
wait_for 10 test -S "$T/sf.ctl" || fatal "softflowd did not start: $(cat "$T/softflowd.log")"
ok "softflowd pid $SF_PID on g0, NetFlow v9 to lazaretd"

section "the subscribers behave"
net=10.79.3
range="$net.100-139"
sub nmap -sS -n -Pn -S 10.79.1.2 -e s0 --max-retries 0 --max-rate 400 -p 445 "$range" >"$T/nmap.out" 2>&1 ||
	bad "nmap: $(tail -3 "$T/nmap.out")"
ok "10.79.1.2: nmap -sS over $range, TCP/445 ($(grep -c 'closed\|filtered' "$T/nmap.out") ports answered)"
sub nmap -sS -n -Pn -S 10.79.1.8 -e s0 --max-retries 0 --max-rate 2000 -p 1-2000 "$net.10" >"$T/nmap-v.out" 2>&1 ||
	bad "nmap -p 1-2000: $(tail -3 "$T/nmap-v.out")"
ok "10.79.1.8: nmap -sS -p 1-2000 against $net.10 ($(grep -c '/tcp' "$T/nmap-v.out") ports listed open)"
for h in $(seq 100 129); do
	sub "$PROBE" connect -s 10.79.1.3 -t 300 tcp "$net.$h" 25 >/dev/null
done
ok "10.79.1.3: TCP/25 to 30 addresses that are not the relay"
ip netns exec "$NS_SUB" "$PROBE" serve tcp,SERVED,10.79.1.5,80 >"$T/served.out" 2>&1 &
PIDS+=($!)
wait_file "$T/served.out" '^ready' 5 || fatal "the web server on 10.79.1.5 did not start"
for h in $(seq 100 129); do
	inet "$PROBE" connect -s "$net.$h" -t 500 tcp 10.79.1.5 80 >/dev/null
done
ok "10.79.1.5: served 30 outside clients on TCP/80"
sub "$PROBE" connect -s 10.79.1.6 -t 500 tcp "$net.66" 443 >/dev/null
ok "10.79.1.6: contacted $net.66:443, on the list 'cc'"
for i in 1 2 3; do
	sub "$PROBE" connect -s 10.79.1.7 -t 500 tcp "$net.10" 80 >/dev/null
	sub "$PROBE" connect -s 10.79.1.7 -t 500 tcp "$net.25" 25 >/dev/null
done
ok "10.79.1.7: the web and the relay, as anyone"

# the flood last: its thousands of flows do not crowd the others out of softflowd's table
sub timeout 10 hping3 -S -p 80 -i u1000 -c 4000 -a 10.79.1.4 -I s0 "$net.10" >"$T/hping.out" 2>&1
ok "10.79.1.4: hping3 -S, 4 000 SYNs at 1 000/s to $net.10:80"
# every flow out to lazaretd now
sleep 0.5
gw softflowctl -c "$T/sf.ctl" expire-all >/dev/null || bad "softflowctl expire-all"

section "the evidence (within a minute)"
kinds_of() { ctl explain "$1" --json 2>/dev/null | sed -n 's/.*"kind": *"\([a-z_]*\)".*/\1/p' | sort -u | tr '\n' ' '; }
has_kind() { ctl explain "$1" --json 2>/dev/null | grep -q "\"kind\": *\"$2\""; }
for pair in "10.79.1.2 scanning" "10.79.1.3 direct_mx" "10.79.1.4 outbound_dos" "10.79.1.5 hosting" "10.79.1.6 cc_contact"; do
	set -- $pair
	if wait_for 60 has_kind "$1" "$2"; then
		ok "$1: $2 ($(ctl explain "$1" | grep -m1 "$2" | sed 's/^ *//'))"
	else
		bad "$1: no $2 evidence within a minute (kinds: $(kinds_of "$1"))"
	fi
done
vertical() { ctl explain 10.79.1.8 2>/dev/null | grep -q "probed [0-9 ]* TCP ports of $net.10 in 5 minutes"; }
if wait_for 60 vertical; then
	ok "10.79.1.8: scanning, vertical ($(ctl explain 10.79.1.8 | grep -m1 -o 'probed [^)]*)'))"
else
	bad "10.79.1.8: no vertical scanning summary within a minute ($(ctl explain 10.79.1.8 2>&1 | grep -m1 scanning))"
fi
lvl=$(ctl explain 10.79.1.7 --json 2>/dev/null | sed -n 's/.*"level": *"\([a-z]*\)".*/\1/p' | head -1)
check "10.79.1.7 (browsing, mail through the relay) stays normal (level: ${lvl:-not tracked})" \
	test "${lvl:-normal}" = normal
check "the detectors' counts in stats" bash -c "'$LAZARETCTL' --api unix:$API_SOCK stats --json | grep -q '\"detect\"'"

section "the flooder in the walled garden"
in_garden() { gw nft list set inet lazaret quarantine_v4 | grep -q '10\.79\.1\.4'; }
if wait_for 15 in_garden; then
	ok "10.79.1.4 is in table inet lazaret's quarantine set"
else
	bad "10.79.1.4 is not in the garden: $(ctl explain 10.79.1.4 2>&1 | head -5)"
fi
out=$(sub "$PROBE" connect -s 10.79.1.4 -t 2000 tcp "$net.10" 8443)
check "10.79.1.4 reaches the web no more ($out)" test "${out%% *}" != open
out=$(sub "$PROBE" connect -s 10.79.1.7 -t 2000 tcp "$net.10" 8443)
check "10.79.1.7 still does ($out)" test "${out%% *}" = open

echo "flows: $(ctl stats --json 2>/dev/null | tr -d '\n ' | sed 's/.*"flows"://' | cut -c1-1500)"
echo
if [ "$failures" -eq 0 ]; then
	echo "all flow behaviour checks passed in $(elapsed) s"
else
	echo "----- lazaretd log (last 40 lines) -----"
	tail -n 40 "$LZ_LOG"
	echo "-----"
	echo "$failures failed"
fi
[ "$failures" -eq 0 ]
