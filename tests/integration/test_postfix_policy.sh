#!/bin/bash
# test_postfix_policy.sh — lazaretd as a real Postfix's policy service (SMTP access policy
# delegation), end to end: Postfix 3.x on 127.0.0.1 with
#   check_policy_service { inet:127.0.0.1:PORT, timeout=10s, default_action=DUNNO }
# in smtpd_recipient_restrictions and smtpd_data_restrictions, relaying to smtp-sink; swaks sends
# from chosen loopback addresses. One Postfix and one lazaretd serve all cases:
#   1. quiet client accepted          3. manual quarantine: 5.7.1 + portal URL; release
#   2. flooding client deferred 4.7.1  4. fail-open with lazaretd down; store survives restart
# Usage: BUILD_DIR=build tests/integration/test_postfix_policy.sh   (as root; IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

QUIET=127.0.0.2
FLOOD=127.0.0.3
QUARANTINED=127.0.0.4
BURST=5
FLOOD_N=20

t_init
t_require_root
t_require_cmd postfix smtp-sink swaks sqlite3 ss curl

lz_ports
lz_config \
	limits.host_messages=10/1h "limits.host_messages_burst=$BURST" \
	limits.host_recipients=10000/1h limits.host_recipients_burst=5000 \
	limits.account_messages=10000/1h limits.account_messages_burst=5000 \
	limits.account_recipients=10000/1h limits.account_recipients_burst=5000
log "lazaretd config $LZ_CONF:"
sed 's/^/    /' "$LZ_CONF"
lz_start
pf_init
pf_start
log "Postfix policy restriction: $PF_POLICY"

# expect_accepted WHAT — the last send_mail got 250 after the final dot.
expect_accepted() {
	local r
	r=$(mail_result)
	[ "$r" = accepted ] || fail "$1: expected the message to be accepted (250 after DATA), saw '$r'; transcript:
$(show_transcript)"
}

# ---------------------------------------------------------------------------------------------
case_begin "1. quiet client $QUIET sends 3 messages: all accepted and delivered"
for i in 1 2 3; do
	send_mail "quiet-$i" "$QUIET"
	expect_accepted "quiet-$i"
done
for i in 1 2 3; do
	sink_wait relay "X-Lazaret-It: quiet-$i\$" 15 ||
		fail "smtp-sink never received quiet-$i (sink has $(sink_count relay) messages)"
done
case_pass "3/3 accepted, smtp-sink has $(sink_count relay) messages"

# ---------------------------------------------------------------------------------------------
case_begin "2. flooding client $FLOOD sends $FLOOD_N messages: deferred with 4.7.1 after ~$BURST"
pattern=""
accepted=0
deferred=0
first_defer=""
for ((i = 1; i <= FLOOD_N; i++)); do
	send_mail "flood-$i" "$FLOOD"
	r=$(mail_result)
	case $r in
	accepted)
		[ "$deferred" = 0 ] || fail "flood-$i accepted after an earlier message was deferred (so far: $pattern)"
		accepted=$((accepted + 1))
		pattern="${pattern}A"
		;;
	450@DATA)
		reply=$(smtp_reply DATA)
		assert_match "flood-$i: Postfix's reply to DATA" '^450 4\.7\.1 ' "$reply"
		deferred=$((deferred + 1))
		pattern="${pattern}D"
		[ -n "$first_defer" ] || first_defer=$reply
		;;
	*)
		fail "flood-$i: expected 250 after DATA or 450 4.7.1 at DATA, saw '$r' (so far: $pattern); transcript:
$(show_transcript)"
		;;
	esac
done
log "flood results (A accepted, D deferred): $pattern"
log "first deferral: $first_defer"
assert_ge "flood messages accepted" "$BURST" "$accepted"
assert_le "flood messages accepted" "$((BURST + 1))" "$accepted"
assert_eq "flood messages deferred" "$((FLOOD_N - accepted))" "$deferred"
for ((i = 1; i <= accepted; i++)); do
	sink_wait relay "X-Lazaret-It: flood-$i\$" 15 || fail "smtp-sink never received accepted message flood-$i"
done
for ((i = accepted + 1; i <= FLOOD_N; i++)); do
	sink_has relay "X-Lazaret-It: flood-$i\$" && fail "smtp-sink received deferred message flood-$i"
done
pf_log_wait "reject: DATA from [^ ]*\[$FLOOD\]: 450 4\.7\.1 " 5 ||
	fail "Postfix's log does not show the 450 4.7.1 DATA rejects for $FLOOD"
send_mail quiet-4 "$QUIET"
expect_accepted "quiet client after the flood"
case_pass "$accepted accepted, $deferred deferred with 450 4.7.1 at DATA; quiet client still accepted"

# ---------------------------------------------------------------------------------------------
case_begin "3. manual quarantine of $QUARANTINED: 5.7.1 with the portal URL; release"
out=$(lzctl quarantine "$QUARANTINED" --reason "test" 2>&1) ||
	fail "lazaretctl quarantine $QUARANTINED --reason test failed (status $?): $out"
log "lazaretctl quarantine: $out"
send_mail quarantined-1 "$QUARANTINED"
r=$(mail_result)
reply=$(first_error_reply)
log "reply to the quarantined host: $reply"
assert_match "result for the quarantined host" '^5[0-9][0-9]@(RCPT|DATA)$' "$r"
assert_match "Postfix's reply to the quarantined host" '^5[0-9][0-9] 5\.7\.1 ' "$reply"
case $reply in
*"$LZ_PORTAL_URL"*) ;;
*) fail "the reject text does not contain the portal URL '$LZ_PORTAL_URL': $reply" ;;
esac
sink_has relay "X-Lazaret-It: quarantined-1\$" && fail "smtp-sink received mail from the quarantined host"

json=$(lzctl explain "$QUARANTINED" --json 2>&1) || fail "lazaretctl explain $QUARANTINED --json failed: $json"
level=$(json_get "$json" '$.level' 2>&1) || fail "lazaretctl explain --json printed no valid JSON: $json"
assert_eq "level in 'lazaretctl explain $QUARANTINED --json'" quarantine "$level"
log "explain: level=$level manual.reason=$(json_get "$json" '$.manual.reason')"

out=$(lzctl release "$QUARANTINED" 2>&1) || fail "lazaretctl release $QUARANTINED failed (status $?): $out"
log "lazaretctl release: $out"
send_mail released-1 "$QUARANTINED"
expect_accepted "mail from $QUARANTINED after release"
sink_wait relay "X-Lazaret-It: released-1\$" 15 || fail "smtp-sink never received released-1"
case_pass "rejected with '${reply:0:60}...', accepted again after release"

# ---------------------------------------------------------------------------------------------
case_begin "4. fail-open with lazaretd stopped; history survives a restart"
stats=$(api_curl -sS --max-time 5 "$LZ_API_URL/v1/stats" 2>&1) || fail "GET /v1/stats failed: $stats"
log "stats before stop: policy=$(json_get "$stats" '$.policy')"
malformed=$(json_get "$stats" '$.policy.malformed') || fail "GET /v1/stats: no valid JSON: $stats"
assert_eq "policy requests from Postfix counted as malformed" 0 "$malformed"

lz_stop
assert_eq "lazaretd exit status after SIGTERM" 0 "$LZ_EXIT"
port_listening "$LZ_POLICY_PORT" && fail "something still listens on the policy port after lazaretd stopped"
send_mail failopen-1 "$QUIET"
expect_accepted "mail with lazaretd down (default_action=DUNNO)"
failopen_ms=$SWAKS_MS
log "message accepted with lazaretd down in $failopen_ms ms (policy connection refused at RCPT and DATA)"
sink_wait relay "X-Lazaret-It: failopen-1\$" 15 || fail "smtp-sink never received failopen-1"
pf_log_wait "warning: problem talking to server 127\.0\.0\.1:$LZ_POLICY_PORT" 5 ||
	fail "Postfix's log does not show that it failed to reach the policy service"
assert_le "time to accept with lazaretd down (ms)" 30000 "$failopen_ms"

lz_start
json=$(lzctl history "$QUARANTINED" --json 2>&1) || fail "lazaretctl history $QUARANTINED --json failed: $json"
nq=$(json_count "$json" '$.history' "e('\$.new_level') = 'quarantine'" 2>&1) ||
	fail "lazaretctl history --json printed no valid JSON: $json"
log "history after restart: $(json_get "$json" '$.history')"
assert_ge "quarantine entries in the history of $QUARANTINED after restart" 1 "$nq"
nr=$(json_count "$json" '$.history' "e('\$.new_level') = 'quarantine' and e('\$.reason') like '%test%'")
assert_eq "quarantine entries whose reason contains the operator's 'test'" 1 "$nr"
nrel=$(json_count "$json" '$.history' "e('\$.old_level') = 'quarantine'")
assert_ge "release entries (leaving quarantine) in the history" 1 "$nrel"

send_mail after-restart-1 "$QUIET"
expect_accepted "quiet client after lazaretd restarted"
stats=$(api_curl -sS --max-time 5 "$LZ_API_URL/v1/stats" 2>&1) || fail "GET /v1/stats failed: $stats"
requests=$(json_get "$stats" '$.policy.requests') || fail "GET /v1/stats: no valid JSON: $stats"
assert_ge "policy requests the restarted lazaretd got from Postfix (RCPT + DATA)" 2 "$requests"
case_pass "accepted in $failopen_ms ms without lazaretd; history kept ($nq quarantine, $nrel release)"

echo
log "all cases passed"
