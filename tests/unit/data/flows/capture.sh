#!/bin/bash
# capture.sh — how the exporter captures in this directory were made (run once, by hand, as
# root; not part of the tests). Needs softflowd, pmacct, tcpdump, iputils-ping and
# BUILD/tests/udp_dump. Writes traffic.pcap and the *.bin captures here.
#
#   tests/unit/data/flows/capture.sh build
set -eu
BUILD=$(realpath "${1:-build}")
cd "$(dirname "$0")"
DUMP=$BUILD/tests/udp_dump
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FILTER='host 127.0.0.2 or (ip6 and udp port 9998)'

traffic() {   # the same flows every time: ping, 4 UDP datagrams, one TCP exchange, 2 IPv6 UDP datagrams
	ping -c 3 -s 56 -I 127.0.0.2 127.0.0.3 >/dev/null
	/usr/bin/python3 traffic.py
}

# The traffic once, as a pcap, for softflowd -r and pmacctd's sfprobe.
tcpdump -i lo -w traffic.pcap -U "$FILTER" 2>/dev/null & tp=$!
sleep 1; traffic; sleep 1; kill $tp; wait $tp || true

softflowd_capture() {   # NAME VERSION [ARGS]
	$DUMP 127.0.0.1 2055 "$1.bin" 2 >/dev/null & d=$!
	sleep 0.3
	timeout 20 softflowd -r traffic.pcap -n 127.0.0.1:2055 -v "$2" -T full ${3:-} \
	    -p "$TMP/sf.pid" -c "$TMP/sf.ctl" -D >"$TMP/$1.log" 2>&1 & s=$!
	sleep 1
	softflowctl -c "$TMP/sf.ctl" expire-all >/dev/null
	sleep 0.5
	softflowctl -c "$TMP/sf.ctl" shutdown >/dev/null
	wait $d; wait $s || true
}
softflowd_capture softflowd-v5 5
softflowd_capture softflowd-v9 9 -6
softflowd_capture softflowd-ipfix 10 -6
softflowd_capture softflowd-v9-sampled 9 "-6 -s 2"

# pmacctd's nfprobe live on lo: read from a savefile it exported every flow twice.
pmacct_nfprobe() {   # NAME VERSION
	printf '%s\n' 'daemonize: false' 'pcap_interface: lo' "pcap_filter: $FILTER" 'plugins: nfprobe' \
	    'nfprobe_receiver: 127.0.0.1:2055' "nfprobe_version: $2" \
	    'nfprobe_timeouts: tcp=1:tcp.rst=1:tcp.fin=1:udp=1:icmp=1:general=1:maxlife=1:expint=1' >"$TMP/$1.conf"
	$DUMP 127.0.0.1 2055 "$1.bin" 6 >/dev/null & d=$!
	sleep 0.3
	pmacctd -f "$TMP/$1.conf" >"$TMP/$1.log" 2>&1 & p=$!
	sleep 2; traffic; sleep 4
	kill -INT $p; wait $p || true; wait $d
}
pmacct_nfprobe pmacct-v9 9
pmacct_nfprobe pmacct-ipfix 10

# pmacctd's sfprobe over the pcap (1 in 1: every packet a sample).
printf '%s\n' 'daemonize: false' 'pcap_savefile: traffic.pcap' 'plugins: sfprobe' \
    'sfprobe_receiver: 127.0.0.1:6343' 'sfprobe_agentip: 192.0.2.1' >"$TMP/sflow.conf"
$DUMP 127.0.0.1 6343 pmacct-sflow.bin 3 >/dev/null & d=$!
sleep 0.3
timeout 15 pmacctd -f "$TMP/sflow.conf" >"$TMP/sflow.log" 2>&1 || true
wait $d
ls -l *.bin
