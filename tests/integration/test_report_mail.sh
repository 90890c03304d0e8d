#!/bin/bash
# test_report_mail.sh — a complaint about spam that really passed our relay: a private Postfix
# (the relay, relay.lazaret-it.test) takes a message from 127.0.0.7 and relays it to an
# smtp-sink (the victim's MX). The spammer says HELO [203.0.113.66] and writes a Received header
# of its own claiming our relay took the mail from 198.51.100.99. The victim's MX adds its
# Received above ours, naming our relay's address. The complaint that comes back (the message
# attached, or its headers pasted into the text) must name 127.0.0.7, at the time Postfix wrote,
# and nothing else; read with another relay name it names nobody. A spammer who sends to the
# victim directly (HELO with our relay's name, a "by our relay" header of his own naming
# 127.0.0.7) is believed by name alone, and refused once our relay's sending address is known.
# The reader runs as tests/report_mail_read (src/sense/report_mail.h); the pipeline that feeds it
# is not involved.
# Usage: BUILD_DIR=build tests/integration/test_report_mail.sh   (as root; IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

SPAMMER=127.0.0.7

t_init
t_require_root
t_require_cmd postfix smtp-sink swaks
READ=$BUILD_DIR/tests/report_mail_read
[ -x "$READ" ] || fail "$READ not built"

sink_start victim
PF_RELAYHOST="[127.0.0.1]:$(sink_port victim)"
pf_init
pf_start
RELAY=$(postconf -c "$PF_DIR" -h myhostname)

# the message as the victim's MX stored it: smtp-sink's envelope lines (X-Client-Addr: ...)
# dropped, the MX's own Received on top naming the address its client came from (the
# X-Client-Addr smtp-sink saw: our relay's, or the spammer's who went around it)
victim_copy() {
	local f addr
	f=$(grep -rl -- "X-Lazaret-It: $1" "$T/sink-victim" | head -n1)
	[ -n "$f" ] || fail "no message $1 at the victim"
	addr=$(sed -n 's/^X-Client-Addr: *//p' "$f" | head -n1 | tr -d '\r')
	[ -n "$addr" ] || fail "smtp-sink wrote no X-Client-Addr for $1"
	printf 'Received: from %s (unknown [%s])\n\tby mx.victim.example (Postfix) with ESMTP id VICTIM1\n\tfor <rcpt-%s@dest.lazaret-it.test>; %s\n' \
		"$RELAY" "$addr" "$1" "$(date -R)"
	sed -E '/^(X-Client-Addr|X-Client-Proto|X-Helo-Args|X-Mail-Args|X-Rcpt-Args):/d' "$f" | tr -d '\r'
}

# complaint ID FILE — the victim's copy of message ID attached to a complaint, in FILE
complaint() {
	{
		printf 'From: victim@victim.example\nTo: abuse@isp.example\nSubject: [SpamCop] spam from your network\n'
		printf 'Message-ID: <complaint-1@victim.example>\nMIME-Version: 1.0\n'
		printf 'Content-Type: multipart/mixed; boundary="c1"\n\n--c1\nContent-Type: text/plain\n\nSpam attached.\n'
		printf '%s\n' "--c1" "Content-Type: message/rfc822" ""
		victim_copy "$1"
		printf '%s\n' "--c1--"
	} >"$2"
}

# check_event OUTPUT START END — one complaint event naming the spammer, within [START, END]
check_event() {
	local out=$1 t
	assert_match "one event" '^1$' "$(printf '%s\n' "$out" | grep -c '^event ')"
	assert_match "the spammer's address" "^event report_spam $SPAMMER - [0-9TZ:-]+ - complaint complaint-1@victim.example" "$out"
	assert_no_match "the HELO literal" "203\.0\.113\.66" "$out"
	assert_no_match "the forged header's address" "198\.51\.100\.99" "$out"
	assert_no_match "our relay's own address" "^event [a-z_]+ 127\.0\.0\.1 " "$out"
	assert_match "the forwarded Subject as the detail" "^detail lazaret-it spam1$" "$out"
	t=$(printf '%s\n' "$out" | awk '/^event/ { print $5 }')
	t=$(date -u -d "$t" +%s) || fail "event time '$t' unreadable"
	assert_ge "event time" "$2" "$t"
	assert_le "event time" "$3" "$t"
}

case_begin "spam relayed by Postfix, complained about with the message attached"
start=$(date -u +%s)
send_mail spam1 "$SPAMMER" --helo "[203.0.113.66]" \
	--add-header "Received: from mail.bank.example (mail.bank.example [198.51.100.99]) by $RELAY (Postfix) with ESMTP id FORGED1; $(date -R)"
[ "$SWAKS_RC" = 0 ] || fail "swaks failed: $(tail -n 5 "$SWAKS_OUT")"
sink_wait victim "X-Lazaret-It: spam1" 30 || fail "not relayed to the victim: $(pf_log_tail)"
end=$(date -u +%s)
copy=$(victim_copy spam1)
assert_match "Postfix's header names the HELO and the client" "from \[203\.0\.113\.66\] \(unknown \[$SPAMMER\]\)" "$copy"
complaint spam1 "$T/attached.eml"
out=$("$READ" -r "$RELAY" "$T/attached.eml")
log "read: $out"
check_event "$out" "$start" "$end"
# with our relay's sending address known, the victim's header above ours is checked: it names
# the address Postfix sent from (127.0.0.1), so ours stands
out=$("$READ" -r "$RELAY" -n 127.0.0.1/32 "$T/attached.eml")
check_event "$out" "$start" "$end"
case_pass

case_begin "the same spam's headers pasted into the complaint's text"
{
	printf 'From: victim@victim.example\nTo: abuse@isp.example\nSubject: Fwd: spam\n'
	printf 'Message-ID: <complaint-1@victim.example>\nMIME-Version: 1.0\nContent-Type: text/plain\n\n'
	printf 'Please stop this. The headers:\n\n'
	printf '%s\n' "$copy"
} >"$T/pasted.eml"
out=$("$READ" -r "$RELAY" "$T/pasted.eml")
log "read: $out"
check_event "$out" "$start" "$end"
case_pass

case_begin "read with another relay's name: nobody"
out=$("$READ" -r relay9.elsewhere.example "$T/attached.eml")
assert_match "refused" "^error not_our_relay$" "$out"
case_pass

case_begin "a spammer who went around our relay and wrote its header himself"
swaks --server "127.0.0.1:$(sink_port victim)" --local-interface 127.0.0.8 --helo "$RELAY" \
	--from offers@pills.example --to victim@victim.example \
	--header "Subject: lazaret-it framed1" --add-header "X-Lazaret-It: framed1" \
	--add-header "Received: from pc7 (host-7.lazaret-it.test [$SPAMMER]) by $RELAY (Postfix) with ESMTP id FORGED2; $(date -R)" \
	--timeout 30s >"$T/swaks/framed1.txt" 2>&1 || fail "swaks to the victim failed: $(tail -n 5 "$T/swaks/framed1.txt")"
sink_wait victim "X-Lazaret-It: framed1" 10 || fail "the victim got no framed1"
complaint framed1 "$T/framed.eml"
# by the relay's name alone the forged header is believed: the weaker mode, documented
out=$("$READ" -r "$RELAY" "$T/framed.eml")
assert_match "believed without relay_nets" "^event report_spam $SPAMMER " "$out"
out=$("$READ" -r "$RELAY" -n 127.0.0.1/32 "$T/framed.eml")
log "read: $out"
assert_match "refused with relay_nets" "^error not_our_relay$" "$out"
case_pass

log "all cases passed"
