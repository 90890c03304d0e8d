#!/bin/bash
# test_dhcp_netns.sh — DHCP leases in from a real Kea (issue 10 item 2): kea-dhcp4 serves a
# subnet in a network namespace of our own, a real dhclient in another takes a lease over a
# veth pair, and lazaretd, following Kea's memfile lease file, must log and count the binding
# (the leased address, the client's client-id as subscriber); dhclient -r gives the release.
# Then kea-dhcp6 gives the same client an address and a delegated prefix (by DUID).
# Kea runs its own lease-file cleanup every 2 s meanwhile (the file renamed to .1, kea-lfc
# merging it into .2): each binding must still be told exactly once. A restart of lazaretd
# resumes at the saved position and tells nothing again. About 10 s.
#
#   gw   (Kea's side) g0 10.80.1.1/24, fd80:1::1/64: kea-dhcp4, pool 10.80.1.100-.150;
#        kea-dhcp6, fd80:1::100-1ff and prefixes of /56 from fd80:8100::/40; lazaretd
#   sub  (the subscriber) s0, MAC 02:00:00:00:80:01: dhclient, client-id 01:02:00:00:00:80:01
set -u
BUILD_DIR=${BUILD_DIR:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
LAZARETD=$B/lazaretd
LAZARETCTL=$B/lazaretctl
PATH=$PATH:/usr/sbin:/sbin

. "$ROOT/tests/integration/netns.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for c in ip curl kea-dhcp4 kea-dhcp6 kea-lfc dhclient; do
	command -v "$c" >/dev/null 2>&1 || skip "command not found: $c"
done
for f in "$LAZARETD" "$LAZARETCTL"; do [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }; done

netns_init lzd 80
LZ_PID="" KEA_PID="" KEA6_PID=""
API_SOCK=$T/api.sock
LZ_LOG=$T/lazaretd.log
LEASES=$T/kea-leases4.csv
LEASES6=$T/kea-leases6.csv
CLIENT_ID=01:02:00:00:00:80:01

pid_gone() { ! kill -0 "$1" 2>/dev/null; }
# lz_stop — SIGTERM, and its exit status in LZ_RC (under ASan a leak makes it non-zero)
lz_stop() {
	[ -n "$LZ_PID" ] || return 0
	kill -TERM "$LZ_PID" 2>/dev/null
	wait_for 10 pid_gone "$LZ_PID" || kill -9 "$LZ_PID" 2>/dev/null
	wait "$LZ_PID" 2>/dev/null
	LZ_RC=$?
	LZ_PID=""
}
netns_before_cleanup() {
	local p
	# the dhclients are in PIDS (netns_cleanup stops and reaps them)
	[ -n "$KEA_PID" ] && kill "$KEA_PID" 2>/dev/null && wait "$KEA_PID" 2>/dev/null
	[ -n "$KEA6_PID" ] && kill "$KEA6_PID" 2>/dev/null && wait "$KEA6_PID" 2>/dev/null
	# a kea-lfc Kea started may still run: it is Kea's child, named by its pid file
	p=$(cat "$LEASES.pid" 2>/dev/null) && [ -n "$p" ] && kill "$p" 2>/dev/null
	lz_stop
}
ctl() { "$LAZARETCTL" --api "unix:$API_SOCK" "$@"; }
fatal() {
	bad "$*"
	echo "----- lazaretd log (last 30 lines) -----"
	tail -n 30 "$LZ_LOG" 2>/dev/null
	echo "----- kea -----"
	tail -n 15 "$T/kea.log" 2>/dev/null
	echo "----- lease files -----"
	head -n 20 "$LEASES"* 2>/dev/null
	exit 1
}
# The lines lazaretd logged for bindings; with an argument, only those with it.
bindings() { grep 'dhcp: address=' "$LZ_LOG" | grep -e "${1:-.}"; }
nbindings() { bindings "$@" | wc -l; }
# stat_of PATH — a number from lazaretctl stats --json, e.g. dhcp.leases (sqlite3's JSON reader)
stat_of() {
	local j
	j=$(ctl stats --json 2>/dev/null) || return 1
	sqlite3 -batch :memory: "select json_extract('${j//\'/\'\'}', '\$.$1')"
}
lz_start() {
	# ip netns exec execs the program: $! is lazaretd itself
	ip netns exec "$NS_GW" "$LAZARETD" --init-store -c "$T/lazaret.conf" >>"$LZ_LOG" 2>&1 &
	LZ_PID=$!
	wait_for 10 curl -sf --unix-socket "$API_SOCK" http://localhost/v1/stats || fatal "lazaretd not ready in 10 s"
}

section "two namespaces, a veth pair between them"
for ns in "$NS_SUB" "$NS_GW"; do
	ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
	# no duplicate address detection: link-local addresses usable at once (DHCPv6 runs on them)
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	ip -n "$ns" link set lo up
done
ip -n "$NS_SUB" link add s0 type veth peer name g0 netns "$NS_GW" || exit 1
ip -n "$NS_SUB" link set s0 address 02:00:00:00:80:01
ip -n "$NS_GW" addr add 10.80.1.1/24 dev g0
ip -n "$NS_GW" addr add fd80:1::1/64 dev g0 nodad
ip -n "$NS_GW" link set g0 up
ip -n "$NS_SUB" link set s0 up
ok "gw g0 10.80.1.1/24 fd80:1::1/64 — sub s0 02:00:00:00:80:01"

section "kea-dhcp4 in gw, its lease file in $T, its lease-file cleanup every 2 s"
cat >"$T/kea4.json" <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "g0" ], "dhcp-socket-type": "raw" },
  "lease-database": { "type": "memfile", "persist": true, "name": "$LEASES", "lfc-interval": 2 },
  "valid-lifetime": 600,
  "subnet4": [ { "id": 1, "subnet": "10.80.1.0/24", "pools": [ { "pool": "10.80.1.100 - 10.80.1.150" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
} }
EOF
# Debian's AppArmor profiles keep /usr/sbin/kea-dhcp4 and kea-lfc to /etc/kea and /var/lib/kea:
# copies in $T run unconfined, kea-lfc named by KEA_LFC_EXECUTABLE. The pid file and logger
# lock in $T too, not /run/kea: a system Kea is none of ours.
for c in kea-dhcp4 kea-dhcp6 kea-lfc; do cp "$(command -v $c)" "$T/$c" || fatal "cannot copy $c"; done
ip netns exec "$NS_GW" env KEA_PIDFILE_DIR="$T" KEA_LOCKFILE_DIR="$T" KEA_LFC_EXECUTABLE="$T/kea-lfc" \
	"$T/kea-dhcp4" -c "$T/kea4.json" >"$T/kea.log" 2>&1 &
KEA_PID=$!
wait_file "$T/kea.log" 'DHCP4_STARTED' 10 || fatal "kea-dhcp4 did not start"
ok "kea-dhcp4 pid $KEA_PID serves 10.80.1.100-150 on g0"

section "lazaretd in gw follows $LEASES"
cat >"$T/lazaret.conf" <<EOF
[daemon]
store = $T/lazaret.db
checkpoint_interval = 1s
[policy]
listen = unix:$T/policy.sock
[api]
socket = $API_SOCK
[portal]
listen = 127.0.0.1:8080
templates = $ROOT/share/portal
[dhcp]
lease_file = $LEASES
lease_file = $LEASES6
subscriber_id = client-id
poll_interval = 200ms
EOF
out=$("$LAZARETD" -n -c "$T/lazaret.conf" 2>&1) || fatal "lazaretd -n rejects the configuration: $out"
lz_start
ok "lazaretd pid $LZ_PID"

section "dhclient in sub takes a lease"
printf 'send dhcp-client-identifier %s;\n' "$CLIENT_ID" >"$T/dhclient.conf"
# -sf /bin/true: the address is not configured (nothing outside the namespace is touched:
# no resolv.conf); -d: in the foreground, a child of ours that the cleanup stops and reaps
# (one that daemonized itself would be left to init, a zombie where init reaps nothing)
dh() { ip netns exec "$NS_SUB" dhclient -4 -cf "$T/dhclient.conf" -lf "$T/dhclient.leases" \
	-pf "$T/dhclient.pid" -sf /bin/true "$@" s0; }
dh -d >"$T/dhclient.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q 'fixed-address' "$T/dhclient.leases" ||
	fatal "dhclient got no lease in 10 s: $(tail -5 "$T/dhclient.out")"
addr=$(sed -n 's/^ *fixed-address \([0-9.]*\);/\1/p' "$T/dhclient.leases" | tail -n1)
[ -n "$addr" ] || fatal "no fixed-address in dhclient's lease file"
# what dhclient-script would do, here alone: the release is unicast from the address
ip -n "$NS_SUB" addr add "$addr/24" dev s0
ok "dhclient: $addr"
wait_for 5 grep -q "^$addr,02:00:00:00:80:01,$CLIENT_ID," "$LEASES" || fatal "Kea did not write the lease of $addr"
ok "Kea's lease file: $(grep "^$addr," "$LEASES" | tail -n1)"

lease_re="address=$addr subscriber=$CLIENT_ID id=client-id source=dhcp4 .*reason=lease"
if wait_for 5 bindings "$lease_re"; then
	ok "lazaretd: $(bindings "$lease_re" | sed 's/.*dhcp: //')"
else
	fatal "lazaretd logged no lease of $addr to $CLIENT_ID within 5 s: $(bindings | tail -3)"
fi
leases=$(stat_of dhcp.leases)
check "lazaretctl stats: dhcp leases = 1 (${leases:-none})" test "${leases:-0}" = 1
check "lazaretctl stats: no lease without a subscriber id" test "$(stat_of dhcp.without_subscriber_id)" = 0
check "/metrics: lazaret_dhcp_events_total{event=\"lease\"} 1" bash -c \
	"curl -s --unix-socket '$API_SOCK' http://localhost/metrics | grep -qx 'lazaret_dhcp_events_total{event=\"lease\"} 1'"
leased_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
who_of() { ctl who "$1" ${2:+--at "$2"} 2>/dev/null | head -1 | sed -n 's/.*: subscriber:\(.*\)$/\1/p'; }
check "lazaretctl who $addr: the client-id ($(who_of "$addr"))" test "$(who_of "$addr")" = "$CLIENT_ID"
ctl quarantine "$addr" --reason "test: a leased address names its subscriber" >/dev/null 2>&1
check "quarantining $addr quarantines subscriber:$CLIENT_ID" \
	grep -q "^subscriber:$CLIENT_ID *quarantine" <<<"$(ctl hosts 2>&1)"

section "Kea's lease-file cleanup runs meanwhile; each binding is told once"
wait_for 10 test -e "$LEASES.2" || fatal "no lease-file cleanup within 10 s ($(ls "$T"))"
saw_cleanup() { [ "$(stat_of "dhcp.files.\"$LEASES\".cleanups")" -ge 1 ] 2>/dev/null; }
wait_for 10 saw_cleanup || fatal "lazaretd saw no cleanup of $LEASES"
ok "kea-lfc merged the file into $LEASES.2 ($(grep -c . "$LEASES.2") lines); lazaretd followed the new file"
check "still exactly one lease event for $addr ($(nbindings "address=$addr "))" test "$(nbindings "address=$addr ")" = 1

section "dhclient -r: the release"
# sends the DHCPRELEASE and stops the dhclient of its pid file, ours
dh -r >"$T/dhclient-r.out" 2>&1 || bad "dhclient -r: $(tail -3 "$T/dhclient-r.out")"
release_re="address=$addr subscriber=$CLIENT_ID id=client-id source=dhcp4 .*reason=release"
if wait_for 5 bindings "$release_re"; then
	ok "lazaretd: $(bindings "$release_re" | sed 's/.*dhcp: //')"
else
	fatal "lazaretd logged no release of $addr within 5 s (Kea: $(grep "^$addr," "$LEASES" | tail -n1))"
fi
check "lazaretctl stats: dhcp releases = 1" test "$(stat_of dhcp.releases)" = 1
check "lazaretctl who $addr after the release: nobody" test -z "$(who_of "$addr")"
check "lazaretctl who $addr --at $leased_at: still the client-id" test "$(who_of "$addr" "$leased_at")" = "$CLIENT_ID"
sleep 2.5      # another cleanup or two
check "one lease and one release for $addr, after more cleanups" test "$(nbindings "address=$addr ")" = 2

section "kea-dhcp6: an address and a delegated prefix, by DUID"
cat >"$T/kea6.json" <<EOF
{ "Dhcp6": {
  "interfaces-config": { "interfaces": [ "g0" ] },
  "lease-database": { "type": "memfile", "persist": true, "name": "$LEASES6", "lfc-interval": 0 },
  "server-id": { "type": "LLT", "persist": false },
  "valid-lifetime": 600, "preferred-lifetime": 300,
  "subnet6": [ { "id": 1, "subnet": "fd80:1::/64", "interface": "g0",
    "pools": [ { "pool": "fd80:1::100 - fd80:1::1ff" } ],
    "pd-pools": [ { "prefix": "fd80:8100::", "prefix-len": 40, "delegated-len": 56 } ] } ],
  "loggers": [ { "name": "kea-dhcp6", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
} }
EOF
ip netns exec "$NS_GW" env KEA_PIDFILE_DIR="$T" KEA_LOCKFILE_DIR="$T" "$T/kea-dhcp6" -c "$T/kea6.json" \
	>"$T/kea6.log" 2>&1 &
KEA6_PID=$!
wait_file "$T/kea6.log" 'DHCP6_STARTED' 10 || fatal "kea-dhcp6 did not start: $(tail -3 "$T/kea6.log")"
ip netns exec "$NS_SUB" dhclient -6 -d -N -P -lf "$T/dhclient6.leases" -pf "$T/dhclient6.pid" -sf /bin/true s0 \
	>"$T/dhclient6.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q 'iaprefix' "$T/dhclient6.leases" ||
	fatal "dhclient -6 got no lease in 10 s: $(tail -5 "$T/dhclient6.out")"
addr6=$(sed -n 's/^ *iaaddr \([0-9a-f:]*\) {/\1/p' "$T/dhclient6.leases" | tail -n1)
prefix6=$(sed -n 's|^ *iaprefix \([0-9a-f:]*/56\) {|\1|p' "$T/dhclient6.leases" | tail -n1)
{ [ -n "$addr6" ] && [ -n "$prefix6" ]; } || fatal "no iaaddr or iaprefix in dhclient's lease file"
ok "dhclient -6: $addr6 and $prefix6"
for net in "$addr6" "$prefix6"; do
	re="address=$net subscriber=[0-9a-f:]* id=client-id source=dhcp6 .*reason=lease"
	if wait_for 5 bindings "$re"; then
		ok "lazaretd: $(bindings "$re" | sed 's/.*dhcp: //')"
	else
		bad "lazaretd logged no DHCPv6 lease of $net within 5 s: $(bindings dhcp6 | tail -2)"
	fi
done
check "lazaretctl stats: dhcp leases = 3" test "$(stat_of dhcp.leases)" = 3

section "a restart resumes where it stopped"
before=$(nbindings)
lz_stop
check "lazaretd stopped cleanly (status $LZ_RC)" test "$LZ_RC" = 0
lz_start
# where depends on Kea's cleanup meanwhile: the same file, its rest in .1, or (merged into .2)
# Kea's files read again, which tells the earlier leases at debug level only, marked replay
wait_for 5 grep -q "dhcp $LEASES: \(resuming at offset\|finishing the rotated\|the file read last is gone\)" \
	"$LZ_LOG" || bad "lazaretd did not resume in $LEASES: $(grep "dhcp $LEASES" "$LZ_LOG" | tail -3)"
ok "$(grep "dhcp $LEASES: \(resuming at offset\|finishing the rotated\|the file read last is gone\)" "$LZ_LOG" |
	tail -n1 | sed 's/.*dhcp /dhcp /')"
sleep 1
check "nothing told again after the restart ($before binding lines before, $(nbindings) now)" \
	test "$(nbindings)" = "$before"
lz_stop
check "lazaretd stopped cleanly again (status $LZ_RC)" test "$LZ_RC" = 0

echo
if [ "$failures" -eq 0 ]; then
	echo "all DHCP lease checks passed in $(elapsed) s"
else
	echo "----- lazaretd log (last 30 lines) -----"
	tail -n 30 "$LZ_LOG"
	echo "$failures failed"
fi
[ "$failures" -eq 0 ]
