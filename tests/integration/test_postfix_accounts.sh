#!/bin/bash
# test_postfix_accounts.sh — hijacked accounts inside one network (issue 14 item 10), end to
# end: a private Postfix 3.x on 127.0.0.1 with a SASL submission service logs to its own
# maillog_file, which lazaretd follows with the shipped account rules (account_networks 10
# /24s, account_addresses 20, account_sessions 3). Every client is in 127.0.0.0/24: one
# network, so account_networks alone never fires.
#   1. alice submits from 25 loopback addresses one after the other → account_addresses
#      (more than 20), no account_networks, no account_sessions
#   2. bob holds three sessions open at once from three addresses (tests/tools/smtp_hold)
#      → account_sessions; carol's two at once from two addresses, and dave's three from
#      one address, → nothing
#   3. lazaretctl analyze over the same maillog reports both kinds for the same accounts
# Usage: BUILD_DIR=build tests/integration/test_postfix_accounts.sh   (as root; IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ALICE=alice@example.net
BOB=bob@example.net
CAROL=carol@example.net
DAVE=dave@example.net
PW=secret-pw-1
GOOD=good.example
ALICE_FIRST=10                # alice: 127.0.0.10 ... 127.0.0.34
ALICE_LAST=34

t_init
t_require_root
t_require_cmd postfix smtp-sink swaks sqlite3 ss saslpasswd2 jq
HOLD=$BUILD_DIR/tests/smtp_hold
[ -x "$HOLD" ] || fail "$HOLD not built"

sink_start good
lz_ports
lz_config \
	limits.host_messages=100000/1h limits.host_messages_burst=50000 \
	limits.host_recipients=100000/1h limits.host_recipients_burst=50000 \
	limits.account_messages=100000/1h limits.account_messages_burst=50000 \
	limits.account_recipients=100000/1h limits.account_recipients_burst=50000 \
	"maillog.file=$T/log/maillog" maillog.poll_interval=200ms
lz_start

pf_init
pf_conf "transport_maps = $(pf_texthash transport "$GOOD smtp:[127.0.0.1]:$(sink_port good)")"
pf_sasl example.net "alice:$PW" "bob:$PW" "carol:$PW" "dave:$PW"
pf_submission
pf_start
pf_submission_ready

drain() {
	pf_wait_queue_empty 60 || fail "$1: Postfix's queue did not drain in 60 s"
	lz_maillog_wait 15 || fail "$1: lazaretd did not read the whole maillog in 15 s"
}
# evidence_of SUBJECT KIND FIELD — from lazaretctl explain --json; empty when none
evidence_of() { json_evidence "$(lz_explain "$1")" "$2" "$3"; }

# hold ID SOURCE USER — an authenticated session from SOURCE kept open until release ID
hold() {
	: >"$T/hold-$1"
	"$HOLD" "$2" "$PF_SUB_PORT" "$3" "$PW" "held-$1@$GOOD" "$T/hold-$1" >"$T/hold-$1.out" 2>"$T/hold-$1.err" &
	eval "HOLD_PID_$1=\$!"
	t_on_exit "rm -f '$T/hold-$1'"
}
held() { grep -q '^held$' "$T/hold-$1.out"; }
release() {
	local pid
	eval "pid=\$HOLD_PID_$1"
	rm -f "$T/hold-$1"
	wait "$pid" || fail "smtp_hold $1 failed: $(cat "$T/hold-$1.err")"
}

case_begin "1. $ALICE from $((ALICE_LAST - ALICE_FIRST + 1)) addresses of one /24: account_addresses, not account_networks"
for ((n = ALICE_FIRST; n <= ALICE_LAST; n++)); do
	send_auth_mail "alice-$n" "127.0.0.$n" "$ALICE" "$PW" --to "friend$n@$GOOD"
	grep -q '^<- *235 ' "$SWAKS_OUT" || fail "alice-$n: AUTH PLAIN did not succeed: $(show_transcript)"
	r=$(mail_result)
	case $r in
	accepted | 5[0-9][0-9]@RCPT) ;;   # refused by the policy once lazaretd holds her for it
	*) fail "alice-$n: expected 250 after DATA (or a refusal at RCPT), saw '$r': $(show_transcript)" ;;
	esac
done
drain "case 1"
count=$(evidence_of "account:$ALICE" account_addresses count)
[ -n "$count" ] || fail "no account_addresses evidence for $ALICE: $(lz_explain "account:$ALICE")"
assert_ge "account_addresses counts more than 20 addresses" 21 "$count"
assert_match "its summary" "^account $ALICE was used from $count different addresses within 1d: 127\\.0\\.0\\." \
	"$(evidence_of "account:$ALICE" account_addresses summary)"
assert_eq "no account_networks (one /24)" "" "$(evidence_of "account:$ALICE" account_networks count)"
assert_eq "no account_sessions (one session at a time)" "" "$(evidence_of "account:$ALICE" account_sessions count)"
case_pass "$count addresses"

case_begin "2. sessions open at once: $BOB from three addresses is evidence; $CAROL from two, $DAVE from one, is not"
hold b1 127.0.0.40 "$BOB"
hold b2 127.0.0.41 "$BOB"
hold c1 127.0.0.43 "$CAROL"
hold c2 127.0.0.44 "$CAROL"
hold d1 127.0.0.45 "$DAVE"
hold d2 127.0.0.45 "$DAVE"
hold d3 127.0.0.45 "$DAVE"
for h in b1 b2 c1 c2 d1 d2 d3; do
	wait_for 20 held "$h" || fail "session $h was not established: $(cat "$T/hold-$h.err")"
done
drain "case 2, two of bob's sessions"
assert_eq "$BOB with two sessions open: nothing yet" "" "$(evidence_of "account:$BOB" account_sessions count)"
hold b3 127.0.0.42 "$BOB"
wait_for 20 held b3 || fail "session b3 was not established: $(cat "$T/hold-b3.err")"
drain "case 2, bob's third session"
assert_eq "$BOB: three addresses at once" 3 "$(evidence_of "account:$BOB" account_sessions count)"
# the newest first: .42 came last; .40 and .41 raced each other
assert_match "its summary" "^account $BOB was logged in from 3 different addresses at once \\(3 sessions open\\): 127\\.0\\.0\\.42, 127\\.0\\.0\\.4[01], 127\\.0\\.0\\.4[01]$" \
	"$(evidence_of "account:$BOB" account_sessions summary)"
for h in b1 b2 b3 c1 c2 d1 d2 d3; do release "$h"; done
drain "case 2, after the disconnects"
assert_eq "$CAROL: two addresses are not three" "" "$(evidence_of "account:$CAROL" account_sessions count)"
assert_eq "$DAVE: three sessions from one address" "" "$(evidence_of "account:$DAVE" account_sessions count)"
grep -q "postfix/submission/smtpd\[[0-9]*\]: disconnect from .*\[127\.0\.0\.42\]" "$PF_LOG" ||
	fail "Postfix logged no disconnect for bob's third session"
case_pass

case_begin "3. lazaretctl analyze over the same maillog reports both kinds"
out=$("$LAZARETCTL" analyze --config "$LZ_CONF" --maillog "$PF_LOG" --json) || fail "analyze failed: $out"
kinds() { jq -r --arg s "account:$1" '[.flagged[] | select(.subject == $s) | .evidence[].kind] | sort | join(" ")' <<<"$out"; }
assert_match "$ALICE: account_addresses" "(^| )account_addresses( |$)" "$(kinds "$ALICE")"
assert_no_match "$ALICE: no account_networks" "account_networks" "$(kinds "$ALICE")"
assert_match "$BOB: account_sessions" "(^| )account_sessions( |$)" "$(kinds "$BOB")"
assert_eq "$CAROL: not flagged" "" "$(kinds "$CAROL")"
assert_eq "$DAVE: not flagged" "" "$(kinds "$DAVE")"
case_pass

log "all account cases passed"
