#!/bin/bash
# test_subjects.sh — every subject lazaret judges can be named by the operator (issue 15,
# item 8): SASL accounts with a space, with bytes that are not UTF-8, with '/' and '%' are
# quarantined through real policy requests, then listed, explained, shown in history and
# released through lazaretctl (and the raw API), and logged as subject text that cannot
# forge a key=value field.
#
#   1. three accounts quarantined by their own deferrals (rate_limit weight 7, burst 1)
#   2. lazaretctl accounts / quarantines list them as subject text; the JSON is whole
#   3. explain and history by what lazaretctl printed; the raw API by the percent-encoded path
#   4. the daemon's log names them escaped: no forged field, no raw byte
#   5. release each through lazaretctl: the relay accepts the account again
#   6. an operator's quarantine of a non-UTF-8 name answers (no dropped connection) and is listed;
#      --self-release is carried to the API and shown
#   7. lazaretctl analyze (no daemon) names such an account too, in its text and its JSON
#   8. a followed log whose path is not UTF-8 is in /v1/stats, under its subject text
#   9. lazaretctl's text shows control characters as %XX; a --reason that is not UTF-8 is
#      a usage error, not a request sent without it
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_cmd curl jq

SEND=$BUILD_DIR/tests/policy_send
[ -x "$SEND" ] || fail "$SEND not built"

# a request from HOST for the SASL user NAME (raw bytes) at STATE
req() {
	printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\nclient_address=%s\n' "$1" "$2"
	printf 'client_name=pc.example\nhelo_name=pc\nsender=a@example.net\nrecipient=b@example.org\n'
	printf 'recipient_count=1\nqueue_id=4AbCdEf\nsasl_method=PLAIN\nsasl_username=%s\n\n' "$3"
}
send() { "$SEND" "127.0.0.1:$LZ_POLICY_PORT" 3000; }
rejected() { [ "$(req RCPT "$1" "$2" | send)" != action=DUNNO ]; }

# The names as Postfix hands them over, and as lazaretctl prints them.
NAME1='foo level=normal'
TEXT1='account:foo%20level=normal'
NAME2=$'j\xfcrgen\xff@example.net'
TEXT2='account:j%FCrgen%FF@example.net'
NAME3='a/b%41 "x"'
TEXT3='account:a/b%2541%20%22x%22'

lz_config "limits.host_messages=10000/1h" "limits.host_messages_burst=10000" \
	"limits.account_messages=1/1h" "limits.account_messages_burst=1" \
	"evidence rate_limit.weight=7" "daemon.log_level=info"
lz_start

case_begin "1. three accounts quarantined through real policy requests"
i=0
for name in "$NAME1" "$NAME2" "$NAME3"; do
	i=$((i + 1))
	out=$( (req DATA 192.0.2.$i "$name"; req DATA 192.0.2.$i "$name") | send)
	assert_eq "account $i: the first message accepted, the second deferred" "DUNNO DEFER_IF_PERMIT" \
		"$(sed -n 's/^action=\([A-Z_]*\).*/\1/p' <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
	# the verdict is committed a moment after the deferral that earned it
	wait_for 5 rejected 192.0.2.$((i + 10)) "$name"
	out=$(req RCPT 192.0.2.$((i + 10)) "$name" | send)
	assert_match "account $i: refused from any host once quarantined" '^action=REJECT 5\.7\.1 ' "$out"
done
case_pass

case_begin "2. listed as subject text; the JSON is whole"
out=$(lzctl accounts --level quarantine) || fail "lazaretctl accounts failed: $out"
for text in "$TEXT1" "$TEXT2" "$TEXT3"; do
	grep -qF -- "$text " <<<"$out" || fail "accounts does not list $text: $out"
done
q=$(lzctl quarantines --json) || fail "lazaretctl quarantines --json failed: $q"
assert_eq "three quarantined accounts in /v1/quarantine" 3 "$(jq '[.quarantined[] | select(.kind == "account")] | length' <<<"$q")"
for text in "$TEXT1" "$TEXT2" "$TEXT3"; do
	assert_eq "$text: in /v1/quarantine, by the judge, self-release allowed" "judge true" \
		"$(jq -r --arg s "$text" '.quarantined[] | select(.subject == $s) | "\(.by) \(.self_release)"' <<<"$q")"
done
table=$(lzctl quarantines) || fail "lazaretctl quarantines failed"
grep -qF -- "$TEXT2" <<<"$table" || fail "quarantines does not show $TEXT2: $table"
case_pass

case_begin "3. explain and history by what lazaretctl printed; the raw API by the path"
for text in "$TEXT1" "$TEXT2" "$TEXT3"; do
	out=$(lzctl explain "$text") || fail "explain $text failed: $out"
	assert_match "explain $text" "^Subject   ${text//[\/.%]/.} \\(account\\)" "$out"
	assert_match "explain $text: quarantined" '^Level     quarantine' "$out"
	assert_match "explain $text: the subscriber's button after min_quarantine" \
		'^Release   the subscriber may release it at the portal from [0-9-]+T[0-9:]+Z \(in 1[45]m([0-9]+s)?\)$' "$out"
	j=$(lzctl explain "$text" --json) || fail "explain $text --json failed"
	assert_eq "explain --json names it as printed" "$text" "$(jq -r .subject <<<"$j")"
	h=$(lzctl history "$text" --json) || fail "history $text failed"
	assert_eq "history: one change, by the judge" "judge quarantine" \
		"$(jq -r '.history[-1] | "\(.actor) \(.new_level)"' <<<"$h")"
done
# the raw API: the name percent-encoded once in the path, '/' as %2F
code=$(api_curl -s -o "$T/api.json" -w '%{http_code}' "$LZ_API_URL/v1/subjects/account:foo%20level%3Dnormal")
assert_eq "GET the spaced account by its path" 200 "$code"
assert_eq "... the subject" "$TEXT1" "$(jq -r .subject "$T/api.json")"
code=$(api_curl -s -o "$T/api.json" -w '%{http_code}' "$LZ_API_URL/v1/subjects/account:a%2Fb%2541%20%22x%22/history")
assert_eq "GET the history of the account with '/' and '%'" 200 "$code"
assert_eq "... the subject" "$TEXT3" "$(jq -r .subject "$T/api.json")"
code=$(api_curl -s -o "$T/api.json" -w '%{http_code}' "$LZ_API_URL/v1/subjects/account:foo%00")
assert_eq "a NUL in the path is refused" 400 "$code"
case_pass

case_begin "4. the daemon's log names them escaped"
grep -qF "verdict account=foo%20level=normal level=quarantine previous=normal" "$LZ_LOG" ||
	fail "no verdict line for $TEXT1"
grep -qF "verdict account=j%FCrgen%FF@example.net level=quarantine" "$LZ_LOG" || fail "no verdict line for $TEXT2"
grep -qF "verdict account=a/b%2541%20%22x%22 level=quarantine" "$LZ_LOG" || fail "no verdict line for $TEXT3"
grep -qF "policy account=foo%20level=normal level=normal action=DEFER_IF_PERMIT" "$LZ_LOG" ||
	fail "no refusal line for $TEXT1"
if grep -q 'account=foo level=normal' "$LZ_LOG"; then fail "a forged level= field reached the log"; fi
if LC_ALL=C grep -q $'[\x80-\xff]' "$LZ_LOG"; then fail "a raw byte reached the log"; fi
case_pass

case_begin "5. released through lazaretctl; the relay accepts them again"
i=0
for text in "$TEXT1" "$TEXT2" "$TEXT3"; do
	i=$((i + 1))
	out=$(lzctl release "$text" --reason "named at last") || fail "release $text failed: $out"
	assert_match "release $text" "^${text//[\/.%]/.} released; its level is now normal\\.$" "$out"
done
i=0
for name in "$NAME1" "$NAME2" "$NAME3"; do
	i=$((i + 1))
	assert_eq "account $i accepted again" "action=DUNNO" "$(req RCPT 192.0.2.$((i + 20)) "$name" | send)"
done
h=$(lzctl history "$TEXT2" --json)
assert_eq "history: the operator's release" "operator normal released: named at last" \
	"$(jq -r '.history[-1] | "\(.actor) \(.new_level) \(.reason)"' <<<"$h")"
case_pass

case_begin "6. an operator's quarantine of a non-UTF-8 name answers, and is listed"
out=$(lzctl quarantine 'account:%FF%FEbad' --reason "ticket 15") || fail "quarantine failed: $out"
assert_match "the answer names it" '^account:%FF%FEbad is now at level quarantine until released\.$' "$out"
q=$(lzctl quarantines --json) || fail "lazaretctl quarantines --json failed"
assert_eq "listed, the operator's, not self-releasable" "operator false" \
	"$(jq -r '.quarantined[] | select(.subject == "account:%FF%FEbad") | "\(.by) \(.self_release)"' <<<"$q")"
out=$(lzctl explain 'account:%FF%FEbad') || fail "explain failed: $out"
assert_match "explain: only the abuse desk" '^Release   only by the abuse desk' "$out"
out=$(lzctl quarantine 'account:%FF%FEbad' --reason "ticket 15b" --self-release) || fail "quarantine failed: $out"
assert_match "the answer says so" 'the subscriber may release it at the portal\.$' "$out"
assert_eq "listed as self-releasable" "true" \
	"$(lzctl quarantines --json | jq -r '.quarantined[] | select(.subject == "account:%FF%FEbad") | .self_release')"
out=$(lzctl explain 'account:%FF%FEbad') || fail "explain failed: $out"
assert_match "explain: the subscriber may" '^Release   the subscriber may release it at the portal \(--self-release\)$' "$out"
assert_match "quarantines: the SELF-RELEASE column" 'account:%FF%FEbad +quarantine +operator +yes +- +yes +ticket 15b' \
	"$(lzctl quarantines)"
out=$(api_curl -s -o /dev/null -w '%{http_code}' -d '{"reason":"x","level":"suspend","self_release":true}' \
	"$LZ_API_URL/v1/subjects/account:%FF%FEbad/quarantine")
assert_eq "self_release with a suspension is refused" 400 "$out"
out=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.99\nsasl_username=\xff\xfebad\n\n' | send)
assert_match "the relay refuses that account" '^action=REJECT 5\.7\.1 ' "$out"
lzctl release 'account:%FF%FEbad' --reason done >/dev/null || fail "release failed"
kill -0 "$LZ_PID" || fail "lazaretd died"
case_pass

case_begin "7. lazaretctl analyze (offline) names the account as subject text, in text and JSON"
# an account with a space and a byte that is not UTF-8, used from 13 networks
for i in $(seq 10 22); do
	printf 'Dec  4 14:%02d:00 mx postfix/smtpd[12%02d]: 3C1F2A0B%02d: client=pc%d.example[10.%d.0.1], sasl_method=PLAIN, sasl_username=foo bar\xff\n' \
		"$i" "$i" "$i" "$i" "$i"
done >"$T/mail.log"
out=$(lzctl analyze --maillog "$T/mail.log") || fail "analyze failed: $out"
assert_match "the text names it" '^account:foo%20bar%FF +throttle' "$out"
out=$(lzctl analyze --maillog "$T/mail.log" --json) || fail "analyze --json failed: $out"
assert_eq "the JSON lists it" "account:foo%20bar%FF throttle" "$(jq -r '.flagged[] | "\(.subject) \(.level)"' <<<"$out")"
case_pass

case_begin "8. a followed log whose path is not UTF-8 is in /v1/stats, under its subject text"
# a JSON key must be UTF-8: jansson refused this one and the file vanished from the stats
lz_stop
: >"$T/mail"$'\xff'".log"
lz_config "maillog.file=$T/mail"$'\xff'".log"
lz_start
out=$(lzctl stats --json) || fail "lazaretctl stats --json failed: $out"
assert_eq "the file listed as subject text" "$T/mail%FF.log" "$(jq -r '.maillog.files | keys[]' <<<"$out")"
case_pass

case_begin "9. control characters shown as %XX; a --reason that is not UTF-8 refused before sending"
out=$(lzctl quarantine 192.0.2.77 --reason $'ticket\x1b[2J 16\tnow\xc2\x9b') || fail "quarantine failed: $out"
out=$(lzctl explain 192.0.2.77) || fail "explain failed: $out"
assert_match "the reason's control characters as subject text" '^          reason: ticket%1B\[2J 16%09now%C2%9B$' "$out"
LC_ALL=C grep -q $'\x1b' <<<"$out" && fail "an escape character reached the terminal"
out=$(lzctl release 192.0.2.77 --reason $'done \xff' 2>&1)
assert_eq "a reason that is not UTF-8: usage error" 2 "$?"
assert_match "says why" '--reason must be UTF-8 text' "$out"
assert_eq "nothing was sent: still quarantined" quarantine "$(lzctl explain 192.0.2.77 --json | jq -r .level)"
case_pass

log "all subject-naming cases passed"
