#!/bin/bash
# test_flows.sh — lazaretd's flow collector fed by real exporters. softflowd 1.1 reads the
# traffic of tests/unit/data/flows/traffic.pcap (ping, UDP, a TCP exchange, IPv6 UDP; see the
# README there) and exports it as NetFlow v5, v9 and IPFIX; pmacctd's sfprobe exports the same
# packets as sFlow v5 samples. lazaretd listens on [flows] (IPv4 and IPv6) and must count, per
# exporter, exactly the records each export carries; then:
#   - a datagram that is no flow export is counted as malformed (by reason), nothing else moves;
#   - the v9/IPFIX templates survive a restart (saved in the store, restored at start);
#   - a burst into a small receive buffer while lazaretd is stopped (SIGSTOP) shows as kernel
#     drops, and what was read plus what was dropped is what was sent.
#   - the detectors read what the collector decodes: a NetFlow v5 export of a subscriber's
#     SYNs to 25 mail servers and a connection to an address on a blocklist file is direct_mx
#     and cc_contact evidence, with their summaries in lazaretctl explain; a list file broken
#     before SIGHUP is logged with file:line and the list loaded before still answers;
#   - a subscriber flooded from outside, answering with SYN-ACKs at the flood's rate, is
#     logged and counted as the victim of an inbound flood, and is no outbound_dos.
# The detectors' thresholds and each behaviour are tests/unit/test_flowdetect.c's; real
# scanners and floods (nmap, hping3) are for a test in network namespaces.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

t_init
t_require_cmd softflowd softflowctl pmacctd jq
DATA=$REPO_ROOT/tests/unit/data/flows
REPLAY=$BUILD_DIR/tests/udp_replay
[ -x "$REPLAY" ] || fail "$REPLAY not built"

FPORT=$(free_port)
printf '# a C&C list\n203.0.113.66\n' >"$T/cc.txt"
lz_config "flows.listen=127.0.0.1:$FPORT" "flows.listen+=[::1]:$FPORT" "flows.receive_buffer=64K" \
	"network.subscribers=10.9.0.0/16" "network.relay=198.51.100.25" "flows.blocklist=cc plain $T/cc.txt"
lz_start

# exporter_field ADDRESS FIELD — a number from $.flows.exporters[exporter=ADDRESS] (0 if none)
exporter_field() {
	lz_stats | jq -r --arg a "$1" --arg f "$2" \
		'[.flows.exporters[] | select(.exporter == $a) | .[$f]] | (.[0] // 0)'
}
listener_field() {   # LISTEN FIELD
	lz_stats | jq -r --arg l "$1" --arg f "$2" '[.flows.listeners[] | select(.listen == $l) | .[$f]] | (.[0] // 0)'
}
records_are() { [ "$(exporter_field "$1" records)" = "$2" ]; }

# softflowd_export VERSION [ARGS] — softflowd -r over the pcap, everything expired and sent to
# lazaretd, then shut down (as tests/unit/data/flows/capture.sh made the captures)
softflowd_export() {
	local v=$1 ctl=$T/sf.ctl
	shift
	timeout 20 softflowd -r "$DATA/traffic.pcap" -n "127.0.0.1:$FPORT" -v "$v" -T full "$@" \
		-p "$T/sf.pid" -c "$ctl" -D >"$T/softflowd-$v.log" 2>&1 &
	local pid=$!
	wait_for 10 test -S "$ctl" || fail "softflowd -v $v did not start: $(cat "$T/softflowd-$v.log")"
	sleep 0.5
	softflowctl -c "$ctl" expire-all >/dev/null || fail "softflowctl expire-all"
	sleep 0.3
	softflowctl -c "$ctl" shutdown >/dev/null 2>&1
	wait "$pid" 2>/dev/null
	rm -f "$ctl"
}

case_begin "1. softflowd exports NetFlow v5, v9 and IPFIX of the same traffic: every record counted"
expected=0
for spec in "5:5" "9:6:-6" "10:6:-6"; do
	IFS=: read -r v n extra <<<"$spec"
	# shellcheck disable=SC2086
	softflowd_export "$v" $extra
	expected=$((expected + n))
	wait_for 5 records_are 127.0.0.1 "$expected" ||
		fail "after softflowd -v $v: lazaretd counted $(exporter_field 127.0.0.1 records) records from 127.0.0.1, expected $expected"
	log "softflowd -v $v: $n records; 127.0.0.1 now $expected"
done
assert_eq "templates held for 127.0.0.1 (v9 and IPFIX, IPv4 and IPv6, and an IPFIX options template)" 5 "$(exporter_field 127.0.0.1 templates)"
assert_eq "unknown-template data sets" 0 "$(exporter_field 127.0.0.1 unknown_template)"
assert_eq "malformed datagrams from softflowd" 0 "$(exporter_field 127.0.0.1 malformed_total)"
case_pass "$expected records from 127.0.0.1 in 3 datagrams"

case_begin "2. pmacctd's sfprobe exports sFlow v5 samples; a capture comes to the IPv6 listener"
printf '%s\n' 'daemonize: false' "pcap_savefile: $DATA/traffic.pcap" 'plugins: sfprobe' \
	"sfprobe_receiver: 127.0.0.1:$FPORT" 'sfprobe_agentip: 192.0.2.1' >"$T/sflow.conf"
timeout 15 pmacctd -f "$T/sflow.conf" >"$T/pmacctd.log" 2>&1 || true
expected=$((expected + 23))
wait_for 5 records_are 127.0.0.1 "$expected" ||
	fail "lazaretd counted $(exporter_field 127.0.0.1 records) records from 127.0.0.1, expected $expected (23 sFlow samples, one per packet); $(lz_stats | jq -c .flows.exporters); pmacctd: $(tail -n 5 "$T/pmacctd.log")"
# pmacctd's IPFIX export, replayed from ::1 to the IPv6 listener: another exporter
"$REPLAY" -s ::1 "$DATA/pmacct-ipfix.bin" ::1 "$FPORT" >/dev/null || fail "udp_replay to [::1]:$FPORT"
wait_for 5 records_are ::1 6 || fail "lazaretd counted $(exporter_field ::1 records) records from ::1, expected 6"
assert_eq "sampling applied to pmacctd's samples (1 in 1)" 1 "$(exporter_field 127.0.0.1 sampling)"
assert_ge "datagrams on [::1]:$FPORT" 2 "$(listener_field "[::1]:$FPORT" datagrams)"
case_pass "23 sFlow samples from 127.0.0.1, 6 IPFIX records from ::1"

case_begin "3. a datagram that is no flow export: counted by reason, nothing else moves"
printf '\000\012not a flow' >"$T/garbage.bin"
"$REPLAY" "$T/garbage.bin" 127.0.0.1 "$FPORT" >/dev/null || fail "udp_replay garbage"
bad() { [ "$(lz_stats | jq -r '.flows.exporters[] | select(.exporter == "127.0.0.1") | .malformed.bad_version // 0')" = 1 ]; }
wait_for 5 bad || fail "the garbage datagram is not counted as bad_version: $(lz_stats | jq -c .flows.exporters)"
assert_eq "records from 127.0.0.1 after the garbage" "$expected" "$(exporter_field 127.0.0.1 records)"
grep -q "flows: datagram from 127.0.0.1 refused reason=bad_version" "$LZ_LOG" ||
	fail "lazaretd's log does not name the refused datagram"
case_pass "bad_version 1, records still $expected"

case_begin "4. the exporters' templates survive a restart"
lz_stop
assert_eq "lazaretd exit status after SIGTERM" 0 "$LZ_EXIT"
lz_start
grep -q "flows: exporters' templates restored" "$LZ_LOG" || fail "no 'templates restored' line after the restart"
assert_eq "templates for 127.0.0.1 right after the restart, before any export" 5 "$(exporter_field 127.0.0.1 templates)"
case_pass "$(grep "flows: exporters' templates restored" "$LZ_LOG" | tail -n1 | sed 's/.*flows: //')"

case_begin "5. a burst while lazaretd cannot read: the kernel's drops are counted, nothing is lost unsaid"
before=$(listener_field "127.0.0.1:$FPORT" datagrams)
kill -STOP "$LZ_PID"
sent=$("$REPLAY" -n 2000 "$DATA/softflowd-v9.bin" 127.0.0.1 "$FPORT") || { kill -CONT "$LZ_PID"; fail "udp_replay"; }
kill -CONT "$LZ_PID"
# the kernel tells the count with the next datagram it delivers
sleep 1
"$REPLAY" "$DATA/softflowd-v9.bin" 127.0.0.1 "$FPORT" >/dev/null
sent=$((sent + 1))
all_seen() {
	local d k
	d=$(listener_field "127.0.0.1:$FPORT" datagrams)
	k=$(listener_field "127.0.0.1:$FPORT" kernel_drops)
	[ $((d - before + k)) -eq "$sent" ]
}
wait_for 10 all_seen || fail "read $(($(listener_field "127.0.0.1:$FPORT" datagrams) - before)) + dropped $(listener_field "127.0.0.1:$FPORT" kernel_drops) of $sent sent"
drops=$(listener_field "127.0.0.1:$FPORT" kernel_drops)
assert_ge "kernel drops with a 64K buffer and 2000 datagrams queued" 1 "$drops"
metric=$(api_curl -s "$LZ_API_URL/metrics" | grep "^lazaret_flow_kernel_drops_total{listen=\"127.0.0.1:$FPORT\"}" | awk '{print $2}')
assert_eq "lazaret_flow_kernel_drops_total in /metrics" "$drops" "$metric"
case_pass "$sent sent: $((sent - drops)) read, $drops dropped by the kernel"

case_begin "6. the detectors: a subscriber's SYNs to 25 mail servers and a C&C contact, in one NetFlow v5 export"
# nf5_escapes: printf escapes of a v5 datagram (24-byte header, 48-byte records) from
# "SRC DST DPORT FLAGS PACKETS" lines (TCP, 60-byte packets), with udp_dump's 2-byte length
# before it
nf5_escapes() {
	local -a recs=()
	local line src dst port flags pkts out="" rec ip
	while read -r line; do recs+=("$line"); done
	b() { printf '\\x%02x' "$@"; }
	ip4() { local IFS=. o; read -r -a o <<<"$1"; b "${o[@]}"; }
	local len=$((24 + 48 * ${#recs[@]}))
	out+=$(b $((len >> 8)) $((len & 255)))
	out+=$(b 0 5 0 ${#recs[@]} 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
	for rec in "${recs[@]}"; do
		read -r src dst port flags pkts <<<"$rec"
		out+=$(ip4 "$src")$(ip4 "$dst")$(b 0 0 0 0 0 0 0 0)
		out+=$(b $((pkts >> 24 & 255)) $((pkts >> 16 & 255)) $((pkts >> 8 & 255)) $((pkts & 255)))
		local oct=$((pkts * 60))
		out+=$(b $((oct >> 24 & 255)) $((oct >> 16 & 255)) $((oct >> 8 & 255)) $((oct & 255)))
		out+=$(b 0 0 0 1 0 0 0 1 195 80 $((port >> 8)) $((port & 255)) 0 "$flags" 6 0 0 0 0 0 0 0 0 0)
	done
	printf '%s' "$out"
}
{ for i in $(seq 1 25); do echo "10.9.0.5 203.0.113.$i 25 2 1"; done; echo "10.9.0.5 203.0.113.66 443 26 5"; } |
	nf5_escapes >"$T/nf5.esc"
# shellcheck disable=SC2059
printf "$(cat "$T/nf5.esc")" >"$T/nf5.bin"
"$REPLAY" "$T/nf5.bin" 127.0.0.1 "$FPORT" >/dev/null || fail "udp_replay of the v5 export"
evidence_of() { json_evidence "$(lz_explain 10.9.0.5)" "$1" summary; }
has_evidence() { [ -n "$(evidence_of "$1" 2>/dev/null)" ]; }
wait_for 5 has_evidence direct_mx || fail "no direct_mx evidence for 10.9.0.5: $(lz_stats | jq -c .flows.detect)"
assert_eq "direct_mx summary" "tried to reach 25 mail servers directly in 10 minutes; the relay is 198.51.100.25" \
	"$(evidence_of direct_mx)"
assert_eq "cc_contact summary" "contacted 203.0.113.66:443 (TCP), on the list cc" "$(evidence_of cc_contact)"
assert_eq "flows.detect.hosts" 1 "$(lz_stats | jq -r .flows.detect.hosts)"
metric=$(api_curl -s "$LZ_API_URL/metrics" | grep '^lazaret_flow_detect_evidence_total{kind="cc_contact"}' | awk '{print $2}')
assert_eq "lazaret_flow_detect_evidence_total{kind=cc_contact}" 1 "$metric"
printf 'not an address\n' >>"$T/cc.txt"
kill -HUP "$LZ_PID"
wait_for 5 grep -q "flows: blocklist cc: $T/cc.txt:3: not a line of plain; the list loaded before stays (1 prefixes)" "$LZ_LOG" ||
	fail "no file:line for the broken list after SIGHUP: $(grep blocklist "$LZ_LOG" | tail -n 3)"
printf '%s\n' "10.9.0.6 203.0.113.66 443 26 5" | nf5_escapes >"$T/nf5.esc"
# shellcheck disable=SC2059
printf "$(cat "$T/nf5.esc")" >"$T/nf5.bin"
"$REPLAY" "$T/nf5.bin" 127.0.0.1 "$FPORT" >/dev/null || fail "udp_replay of the second v5 export"
cc_of_6() { [ -n "$(json_evidence "$(lz_explain 10.9.0.6)" cc_contact summary 2>/dev/null)" ]; }
wait_for 5 cc_of_6 || fail "the list loaded before the broken file no longer answers"
case_pass "direct_mx and cc_contact from one export; a broken list keeps the one before"

case_begin "7. an inbound flood: the victim is logged and counted, and its answers are no outbound_dos"
# 10.9.0.7 answers 10 000 SYNs from 198.18.0.66 with as many SYN-ACKs, four exports a second
# for 4 seconds: 40 000 packets/s each way, twice outbound_dos's 20 000 (the record's time is
# its datagram's)
printf '%s\n' "10.9.0.7 198.18.0.66 50000 18 10000" "198.18.0.66 10.9.0.7 80 2 10000" | nf5_escapes >"$T/nf5.esc"
# shellcheck disable=SC2059
printf "$(cat "$T/nf5.esc")" >"$T/nf5-flood.bin"
for _ in $(seq 1 16); do
	"$REPLAY" "$T/nf5-flood.bin" 127.0.0.1 "$FPORT" >/dev/null || fail "udp_replay of the flood export"
	sleep 0.25
done
floods() { api_curl -s "$LZ_API_URL/metrics" | grep '^lazaret_flow_inbound_floods_total ' | awk '{print $2}'; }
floods_are() { [ "$(floods)" = "$1" ]; }
wait_for 5 floods_are 1 || fail "lazaret_flow_inbound_floods_total is '$(floods)', expected 1: $(lz_stats | jq -c .flows.detect)"
assert_eq "flows.detect.inbound_floods" 1 "$(lz_stats | jq -r .flows.detect.inbound_floods)"
line=$(grep "flows: host=10.9.0.7 reason=inbound_flood " "$LZ_LOG") || fail "no inbound_flood line for 10.9.0.7 in the log"
assert_eq "inbound_flood lines" 1 "$(printf '%s\n' "$line" | wc -l)"
case "$line" in *" top_source=198.18.0.66"*) ;; *) fail "the line does not name the source: $line" ;; esac
metric=$(api_curl -s "$LZ_API_URL/metrics" | grep '^lazaret_flow_detect_evidence_total{kind="outbound_dos"}' | awk '{print $2}')
assert_eq "lazaret_flow_detect_evidence_total{kind=outbound_dos}" 0 "$metric"
case_pass "${line#*flows: }"

echo
log "all flow collector cases passed"
