#!/bin/bash
# test_analyze_names.sh — lazaretctl analyze shows every flagged subject, in its table and in
# --json, whatever bytes the names in the log hold (issue 14 item 4). Names that are not UTF-8
# or hold control bytes are subject text (%XX) wherever analyze prints them, and decode back to
# the bytes of the log. Before, the account's spam evidence vanished from --json (a json_pack
# failure ignored) and the relay's name reached the terminal raw. No daemon, no Postfix.
#
#   1. the table: valid UTF-8, no control byte, the names as subject text
#   2. --json: jq reads it, every subject with all its evidence; names decode to the log's bytes
#   3. names analyze does not print (HELO, sender) do not reach its output raw either
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_cmd jq iconv

ACCOUNT=$'j\xf6rg\x01 x@example.de'     # SASL user name: Latin-1, a control byte, a space
RELAY=$'mx\xff\x1b.example.org'          # the remote server's name in relay=
TRANSPORT=$'dove\xffcot\x7f'             # a local delivery agent's name
HELO=$'p\xffc\x1b[2J'
SENDER=$'s\xe9nder\x07@example.net'

LOG=$T/mail.log
for i in $(seq 10 49); do
	printf 'Dec  4 10:00:%02d relay postfix/smtpd[123]: 3F2A1B2C%02d: client=pc.example[192.0.2.7], sasl_method=PLAIN, sasl_username=%s\n' "$i" "$i" "$ACCOUNT"
	printf 'Dec  4 10:00:%02d relay postfix/cleanup[127]: 3F2A1B2C%02d: message-id=<%d@pc>\n' "$i" "$i" "$i"
	printf 'Dec  4 10:00:%02d relay postfix/qmgr[128]: 3F2A1B2C%02d: from=<%s>, size=300, nrcpt=1 (queue active)\n' "$i" "$i" "$SENDER"
	printf 'Dec  4 10:00:%02d relay postfix/smtp[124]: 3F2A1B2C%02d: to=<u%d@example.org>, relay=%s[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.example.org[198.51.100.1] said: 550 5.7.1 Message rejected as spam (in reply to end of DATA command))\n' "$i" "$i" "$i" "$RELAY"
	printf 'Dec  4 10:01:%02d relay postfix/smtpd[125]: 4F2A1B2C%02d: client=pc2.example[192.0.2.9]\n' "$i" "$i"
	printf 'Dec  4 10:01:%02d relay postfix/pipe[126]: 4F2A1B2C%02d: to=<v%d@example.org>, relay=%s, delay=0.1, delays=0.01/0/0/0.09, dsn=5.7.1, status=bounced (554 5.7.1 spam refused by sieve)\n' "$i" "$i" "$i" "$TRANSPORT"
	printf 'Dec  4 10:02:%02d relay postfix/smtpd[129]: NOQUEUE: reject: RCPT from unknown[192.0.2.11]: 554 5.7.1 Service unavailable; Client host [192.0.2.11] blocked using zen.spamhaus.org; from=<%s> to=<w%d@example.org> proto=ESMTP helo=<%s>\n' "$i" "$SENDER" "$i" "$HELO"
done >"$LOG"

# decode TEXT — the bytes subject text stands for (every '%' in it starts an escape)
decode() { printf '%b' "$(sed 's/%\([0-9A-F][0-9A-F]\)/\\x\1/g' <<<"$1")"; }
# same_bytes WHAT WANT GOT — byte for byte, shown as hex on a difference
same_bytes() {
	[ "$(printf '%s' "$2" | od -An -tx1)" = "$(printf '%s' "$3" | od -An -tx1)" ] ||
		fail "$1: want bytes$(printf '%s' "$2" | od -An -tx1), got$(printf '%s' "$3" | od -An -tx1)"
}

case_begin "1. the table: valid UTF-8, no control byte, the names as subject text"
"$LAZARETCTL" analyze --maillog "$LOG" >"$T/out" 2>"$T/err" || fail "analyze exited $?: $(cat "$T/err")"
iconv -f UTF-8 -t UTF-8 "$T/out" >/dev/null 2>&1 || fail "the table is not valid UTF-8"
LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$T/out" && fail "a control byte reached the table"
out=$(cat "$T/out")
assert_match "the account as subject text" '^account:j%F6rg%01%20x@example.de +quarantine' "$out"
assert_match "its host" '^192\.0\.2\.7 +quarantine' "$out"
assert_match "the remote server as subject text" 'spam_rejected: 40 messages refused as spam .*; last by mx%FF%1B\.example\.org$' "$out"
assert_match "the transport as subject text" 'last by this relay \(transport dove%FFcot%7F\)$' "$out"
assert_match "the blocklist" 'last by this relay \(blocklist zen\.spamhaus\.org\)$' "$out"
case_pass

case_begin "2. --json: every subject with all its evidence, names that decode to the log's bytes"
"$LAZARETCTL" analyze --maillog "$LOG" --json >"$T/json" 2>"$T/err" || fail "analyze --json exited $?: $(cat "$T/err")"
assert_eq "nothing on stderr" "" "$(cat "$T/err")"
jq -e . "$T/json" >/dev/null || fail "jq cannot read analyze --json"
assert_eq "every flagged subject" "192.0.2.11 192.0.2.7 192.0.2.9 account:j%F6rg%01%20x@example.de" \
	"$(jq -r '[.flagged[].subject] | sort | join(" ")' "$T/json")"
acct=$(jq -r '.flagged[] | select(.kind == "account") | .subject' "$T/json")
assert_eq "the account's evidence, spam included" "bounce_ratio spam_rejected" \
	"$(jq -r --arg s "$acct" '[.flagged[] | select(.subject == $s) | .evidence[].kind] | sort | join(" ")' "$T/json")"
assert_eq "its host's evidence" "bounce_ratio spam_rejected" \
	"$(jq -r '[.flagged[] | select(.subject == "192.0.2.7") | .evidence[].kind] | sort | join(" ")' "$T/json")"
same_bytes "the account decodes to its SASL name" "account:$ACCOUNT" "$(decode "$acct")"
who=$(jq -r --arg s "$acct" '.flagged[] | select(.subject == $s) | .evidence[] | select(.kind == "spam_rejected") | .summary' "$T/json")
same_bytes "the remote server's name decodes to relay=" "$RELAY" "$(decode "${who##*; last by }")"
who=$(jq -r '.flagged[] | select(.subject == "192.0.2.9") | .evidence[] | select(.kind == "spam_rejected") | .summary' "$T/json")
who=${who##*(transport }
same_bytes "the transport decodes to relay=" "$TRANSPORT" "$(decode "${who%)}")"
case_pass

case_begin "3. HELO and sender are not printed, raw or otherwise"
for f in "$T/out" "$T/json"; do
	LC_ALL=C grep -qF "$HELO" "$f" && fail "$(basename "$f"): the HELO name reached the output raw"
	LC_ALL=C grep -qF "$SENDER" "$f" && fail "$(basename "$f"): the sender reached the output raw"
	LC_ALL=C grep -qE 'p%FFc|s%E9nder' "$f" && fail "$(basename "$f"): HELO or sender printed"
done
case_pass
