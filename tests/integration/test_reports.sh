#!/bin/bash
# test_reports.sh — abuse reports from outside as evidence, end to end (issue 11): a private
# Postfix 3.x delivers mail for abuse@ and complaints@reports.lazaret-it.test through a `pipe`
# transport into `lazaretctl report --source ${nexthop}` (as README.md shows it), running as
# nobody:nogroup as an MTA runs it; other reports are dropped into lazaretd's spool; radclient
# plays the BNG so that reports land on whoever held the address at the report's time.
#   1. RADIUS: alice holds 100.64.0.10 from T-3h to T-2h, bob from T-2h on
#   2. an ARF feedback report mailed to abuse@ about 100.64.0.10 at T-150min → alice's
#      report_spam; bob untouched
#   3. a Shadowserver drone CSV dropped in spool/shadowserver/ naming 100.64.0.10 at T-1h →
#      bob's report_infection, with the family; a row about 100.64.0.99 at the same time →
#      that address's own subject (nobody held it)
#   3b. an X-ARF (YAML) report dropped in spool/hoster.example/ → that address's report_scan
#   4. a forwarded complaint: a "bot" (127.0.0.77) sends spam through the relay to a sink, the
#      sink's copy (our relay's Received header and a forged one below it naming a victim) is
#      mailed to complaints@ → the bot's host gets report_spam, the victim nothing
#   5. the same ARF again → counted as a duplicate, alice's evidence unchanged
#   6. a message that is no report → failed/ with a .reason; nothing judged
#   7. lazaretd down: a report mailed meanwhile is deferred by Postfix (lazaretctl exits 75),
#      not lost; lazaretd back, the queue flushed → applied
# Usage: BUILD_DIR=build tests/integration/test_reports.sh   (as root; IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

t_init
t_require_root
t_require_cmd postfix swaks radclient sqlite3 ss

NOW=$(date +%s)
T_ALICE_START=$((NOW - 3 * 3600))
T_ALICE_STOP=$((NOW - 2 * 3600))
T_BOB_START=$((NOW - 2 * 3600 + 1))
T_ARF=$((NOW - 150 * 60))          # alice's time
T_CSV=$((NOW - 3600))              # bob's time
BOT=127.0.0.77
VICTIM=127.0.0.78
SECRET=reports-it-secret
ACCT_PORT=$(free_port)
rfc5322() { date -u -d "@$1" '+%a, %d %b %Y %H:%M:%S +0000'; }
csvtime() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }

# the pipe runs as nobody: it needs its own copy of lazaretctl and a way to the API socket
install -m 755 "$LAZARETCTL" "$T/lazaretctl"
chmod 711 "$T"
printf '%s\n' "$SECRET" >"$T/radius.secret"
chmod 600 "$T/radius.secret"

lz_ports
lz_config "reports.directory=$T/spool" "reports.poll_interval=100ms" "reports.relay_name=relay.lazaret-it.test" \
	"api.socket_group=nogroup" \
	"radius.listen=127.0.0.1:$ACCT_PORT" "radius client it.address=127.0.0.1" \
	"radius client it.secret_file=$T/radius.secret"
lz_start
ctl() { "$LAZARETCTL" --api "$LZ_API" "$@"; }
explain() { ctl explain "$1" 2>/dev/null; }
has_evidence() { explain "$1" | grep -q "$2"; }
report_stat() { ctl stats --json | tr -d ' \n' | sed -n 's/.*"reports":{\([^}]*\).*/\1/p' | tr ',' '\n' | sed -n "s/^\"$1\":\([0-9]*\)$/\1/p"; }

sink_start out
PF_RELAYHOST="[127.0.0.1]:$(sink_port out)"
pf_init
cat >"$T/transport" <<EOF
abuse@reports.lazaret-it.test lazaret-report:fbl
complaints@reports.lazaret-it.test lazaret-report:complaints
EOF
pf_conf "transport_maps = texthash:$T/transport"
pf_master "lazaret-report unix - n n - 4 pipe" \
	"  user=nobody:nogroup argv=$T/lazaretctl --api unix:$LZ_API_SOCK report --source \${nexthop}"
pf_start

# mail FROM-IP TO FILE — hand FILE to the relay as a message from FROM-IP
mail() { swaks --server "127.0.0.1:$PF_PORT" --local-interface "$1" --from fbl@mailbox.example --to "$2" \
	--data "@$3" --suppress-data >/dev/null 2>&1 || fail "swaks: the relay refused the message to $2"; }

# -------------------------------------------------------------------------------------------
case_begin "1. RADIUS: alice holds 100.64.0.10 from T-3h to T-2h, bob after"
acct() {
	printf 'User-Name = "%s"\nAcct-Status-Type = %s\nAcct-Session-Id = "%s"\nFramed-IP-Address = %s\nNAS-Identifier = "bng1"\nNAS-IP-Address = 127.0.0.1\nEvent-Timestamp = %s\n' \
		"$1" "$2" "$3" "$4" "$5" | radclient -r 2 -t 2 "127.0.0.1:$ACCT_PORT" acct "$SECRET" >/dev/null 2>&1 ||
		fail "radclient: no answer from lazaretd"
}
acct alice Start a-1 100.64.0.10 "$T_ALICE_START"
acct alice Stop a-1 100.64.0.10 "$T_ALICE_STOP"
acct bob Start b-1 100.64.0.10 "$T_BOB_START"
assert_match "who at the ARF's time" "subscriber:alice" "$(ctl who 100.64.0.10 --at "@$T_ARF")"
assert_match "who at the CSV's time" "subscriber:bob" "$(ctl who 100.64.0.10 --at "@$T_CSV")"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "2. an ARF report mailed to abuse@ through the pipe transport → alice's report_spam"
cat >"$T/arf.eml" <<EOF
From: <fbl@mailbox.example>
Date: $(rfc5322 "$NOW")
Subject: FW: Earn money
To: <abuse@reports.lazaret-it.test>
Message-ID: <arf-1@mailbox.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
100.64.0.10 on $(rfc5322 "$T_ARF").
For more information about this format please see
http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <somespammer@example.net>
Original-Rcpt-To: <user@mailbox.example>
Arrival-Date: $(rfc5322 "$T_ARF")
Source-IP: 100.64.0.10
Reported-Domain: example.net
Reported-Uri: http://example.net/earn_money.html

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: <somespammer@example.net>
Received: from mailserver.example.net (mailserver.example.net
     [100.64.0.10]) by mx.mailbox.example; $(rfc5322 "$T_ARF")
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net
Date: $(rfc5322 "$T_ARF")

Spam Spam Spam
Spam Spam Spam

--part1_13d.2e68ed54_boundary--
EOF
mail 127.0.0.1 abuse@reports.lazaret-it.test "$T/arf.eml"
wait_for 20 has_evidence subscriber:alice report_spam ||
	fail "no report_spam for alice: $(explain subscriber:alice); spool: $(find "$T/spool" -type f | head); $(pf_log_tail 10)"
assert_match "the pipe spooled it as source fbl" "report file=fbl/.* source=fbl format=mail events=1 applied=1" \
	"$(cat "$LZ_LOG")"
assert_no_match "bob has nothing of it" "report_spam" "$(explain subscriber:bob)"
assert_eq "spool: the message in done/fbl" 1 "$(find "$T/spool/done/fbl" -type f | wc -l)"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "3. a Shadowserver drone CSV dropped in the spool → bob's report_infection"
mkdir -p "$T/drop"
cat >"$T/drop/$(date -u +%F)-event4_drone-lazaret-it.csv" <<EOF
"timestamp","ip","port","asn","geo","region","city","hostname","type","infection","family","tag","application","version","event_id","dst_ip","dst_port","dst_asn","dst_geo","dst_region","dst_city","naics","sic","sector"
"$(csvtime "$T_CSV")","100.64.0.10",51234,64496,"XX","Region","City",,"tcp","andromeda","andromeda","botnet",,,,"198.51.100.7",80,64511,"YY",,,0,0,
"$(csvtime "$T_CSV")","100.64.0.99",40000,64496,"XX","Region","City",,"tcp","mirai","mirai","botnet",,,,"198.51.100.8",23,64511,"YY",,,0,0,
EOF
mkdir -p "$T/spool/shadowserver"
mv "$T/drop/"*.csv "$T/spool/shadowserver/"
wait_for 20 has_evidence subscriber:bob report_infection || fail "no report_infection for bob: $(explain subscriber:bob)"
assert_match "bob's evidence names the bot" "the 'andromeda' bot on this connection" "$(explain subscriber:bob)"
assert_match "bob's evidence names the source port" "source port 51234" "$(explain subscriber:bob)"
assert_no_match "alice has no infection" "report_infection" "$(explain subscriber:alice)"
assert_match "100.64.0.99 (nobody's) is its own subject" "the 'mirai' bot" "$(explain 100.64.0.99)"
# the same bytes dropped again under another name are not read twice
dupfiles=$(report_stat files_duplicate)
cp "$T/spool/done/shadowserver/"*.csv "$T/drop/again.csv"
mv "$T/drop/again.csv" "$T/spool/shadowserver/$(date -u +%F)-event4_drone-again.csv"
file_dup() { [ "$(report_stat files_duplicate)" -gt "$dupfiles" ]; }
wait_for 20 file_dup || fail "the same CSV dropped again was not recognised"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "3b. an X-ARF report (YAML, a hoster's fail2ban) dropped in the spool → that address's report_scan"
mkdir -p "$T/spool/hoster.example"
sed 's/192\.0\.2\.7/100.64.0.30/g' "$REPO_ROOT/tests/data/reports/mail/xarf-yaml-login-attack.eml" >"$T/drop/xarf.eml"
mv "$T/drop/xarf.eml" "$T/spool/hoster.example/xarf.eml"
wait_for 20 has_evidence 100.64.0.30 report_scan || fail "no report_scan for 100.64.0.30: $(explain 100.64.0.30); $(tail -3 "$LZ_LOG")"
assert_match "the source is the subdirectory" "report file=hoster.example/xarf.eml source=hoster.example format=mail" \
	"$(cat "$LZ_LOG")"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "4. a forwarded complaint: our relay's Received header names the bot; a forged one below it does not count"
sink_clear() { rm -f "$T/sink-out/"msg.* 2>/dev/null; }
sink_clear
swaks --server "127.0.0.1:$PF_PORT" --local-interface "$BOT" --from bot@lazaret-it.test --to victim@mailbox.example \
	--header "Subject: Cheap watches" \
	--header "Received: from trusted.example ([$VICTIM]) by relay.lazaret-it.test (Postfix) with ESMTP id FORGED" \
	--body "Buy now" >/dev/null 2>&1 || fail "swaks: the bot's spam was refused"
sink_wait out "Cheap watches" 20 || fail "the bot's spam did not reach the sink"
spam=$(grep -lr "Cheap watches" "$T/sink-out" | head -1)
{
	printf 'From: <user@mailbox.example>\nTo: <complaints@reports.lazaret-it.test>\nSubject: Fwd: Cheap watches\n'
	printf 'Message-ID: <complaint-1@mailbox.example>\nDate: %s\nMIME-Version: 1.0\n' "$(rfc5322 "$NOW")"
	printf 'Content-Type: multipart/mixed; boundary="fwd"\n\n--fwd\nContent-Type: text/plain\n\nI never asked for this.\n\n'
	printf -- '--fwd\nContent-Type: message/rfc822\n\n'
	sed -n '/^Received: /,$p' "$spam" | sed 's/\r$//'
	printf '\n--fwd--\n'
} >"$T/complaint.eml"
grep -q "by relay.lazaret-it.test" "$T/complaint.eml" || fail "the sink's copy has no Received header of our relay"
mail 127.0.0.1 complaints@reports.lazaret-it.test "$T/complaint.eml"
wait_for 20 has_evidence "$BOT" report_spam || fail "no report_spam for the bot $BOT: $(explain "$BOT"); $(tail -5 "$LZ_LOG")"
assert_no_match "the forged header's victim is untouched" "report_spam" "$(explain "$VICTIM")"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "5. the same ARF again counts once"
dups=$(report_stat duplicates)
count_before=$(ctl explain subscriber:alice --json | tr -d ' \n' | grep -o '"kind":"report_spam","count":[0-9]*' | head -1)
mail 127.0.0.1 abuse@reports.lazaret-it.test "$T/arf.eml"
dup_seen() { [ "$(report_stat duplicates)" -gt "$dups" ]; }
wait_for 20 dup_seen || fail "the second ARF was not counted as a duplicate"
assert_eq "alice's report_spam count unchanged" "$count_before" \
	"$(ctl explain subscriber:alice --json | tr -d ' \n' | grep -o '"kind":"report_spam","count":[0-9]*' | head -1)"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "6. a message that is no report → failed/ with its reason"
printf 'From: <someone@example.org>\nTo: <abuse@reports.lazaret-it.test>\nSubject: hello\n\nJust saying hi.\n' >"$T/hi.eml"
failed=$(report_stat files_failed)
mail 127.0.0.1 abuse@reports.lazaret-it.test "$T/hi.eml"
more_failed() { [ "$(report_stat files_failed)" -gt "$failed" ]; }
wait_for 20 more_failed || fail "the message was not refused"
reason=$(cat "$(find "$T/spool/failed/fbl" -name '*.reason' | head -1)")
assert_match "its reason" "not_a_report|no report" "$reason"
case_pass

# -------------------------------------------------------------------------------------------
case_begin "7. lazaretd down: Postfix keeps the report (exit 75) until it is back"
lz_stop
sed -e 's/arf-1@mailbox.example/arf-2@mailbox.example/' -e 's/100\.64\.0\.10/100.64.0.20/g' "$T/arf.eml" >"$T/arf2.eml"
mail 127.0.0.1 abuse@reports.lazaret-it.test "$T/arf2.eml"
pf_log_wait "status=deferred.*lazaret-report|lazaret-report.*status=deferred" 20 ||
	fail "Postfix did not defer the report while lazaretd was down: $(pf_log_tail 10)"
lz_start
postqueue -c "$PF_DIR" -f
wait_for 30 has_evidence 100.64.0.20 report_spam || fail "the deferred report was not applied: $(pf_log_tail 10)"
case_pass
