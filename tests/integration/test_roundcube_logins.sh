#!/bin/bash
# test_roundcube_logins.sh — webmail logins as account evidence (issue 11 item 5), end to end
# from lazaretd's side: [logins] roundcube_log names a file the test appends lines to in the
# format Roundcube 1.6 writes its userlogins log (rcmail::log_login through rcube::write_log,
# log_date_format "d-M-Y H:i:s O", log_session_id 8, rcube_utils::remote_ip()'s forwarded
# headers). No real Roundcube: it needs PHP and a web server; the lines are its, byte for
# byte, as its source writes them.
#   1. ivan logs in to the webmail from 12 networks → account_networks 12 "(logins by
#      webmail)", throttled (12/10 x weight 4 = 4.8)
#   2. jane's logins through our reverse proxy (127.99.0.1, [allowlist] network) count from
#      the address the proxy appended to X-Forwarded-For, never from what the client wrote
#      there itself; the proxy with nothing forwarded is the front end, counted and skipped
#   3. the log is rotated (rename + create) mid-way: nothing lost, nothing twice
#   4. failed logins, a line with a smuggled "(ID: ", other lines: counted, never evidence
# Usage: BUILD_DIR=build tests/integration/test_roundcube_logins.sh   (IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

IVAN=ivan@example.net
JANE=jane@example.net

t_init
t_require_cmd curl sqlite3 ss

RC_LOG=$T/roundcube/userlogins.log
mkdir -p "$T/roundcube"
: >"$RC_LOG"
RC_LINES=0

# rc LINE-TEXT — append "[DATE]: <SESS> TEXT" as Roundcube's file log driver does
rc() {
	printf '[%s]: <%s> %s\n' "$(date -u '+%d-%b-%Y %H:%M:%S +0000')" k3vd8s2a "$1" >>"$RC_LOG"
	RC_LINES=$((RC_LINES + 1))
}
rc_login() { rc "Successful login for $1 (ID: $2) from $3 in session k3vd8s2a0fj3m2kd"; }

lz_config logins.roundcube_log="$RC_LOG" maillog.poll_interval=200ms allowlist.network=127.99.0.0/24
lz_start

webmail_lines() { json_get "$(lzctl stats --json 2>/dev/null)" '$.maillog.logins.webmail_lines' 2>/dev/null; }
_caught_up() { local n; n=$(webmail_lines) && [ -n "$n" ] && [ "$n" -ge "$RC_LINES" ]; }
drain() { wait_for 10 _caught_up || fail "$1: lazaretd read $(webmail_lines) of $RC_LINES webmail lines in 10 s"; }
evidence_of() { json_evidence "$(lz_explain "$1")" "$2" "$3"; }

case_begin "1. $IVAN logs in to the webmail from 12 networks: account_networks, throttled"
for n in $(seq 1 12); do rc_login "$IVAN" 7 "198.18.$n.20"; done
drain "case 1"
ivan_json=$(lz_explain "account:$IVAN")
summary=$(json_evidence "$ivan_json" account_networks summary)
log "explain account:$IVAN: level=$(json_get "$ivan_json" '$.level') score=$(json_get "$ivan_json" '$.score')"
log "  account_networks: $summary"
assert_eq "account_networks count" 12 "$(json_evidence "$ivan_json" account_networks count)"
assert_match "its summary" '^used from 12 client networks within 1d \(logins by webmail\): 198\.18\.12\.0/24, 198\.18\.11\.0/24, ' "$summary"
assert_eq "level of account:$IVAN" throttle "$(json_get "$ivan_json" '$.level')"
case_pass

case_begin "2. $JANE through our proxy: the address it forwarded, never the client's own header"
for n in $(seq 1 6); do
	# the client sent "X-Forwarded-For: 203.0.113.N"; the proxy appended what it saw
	rc "Successful login for $JANE (ID: 9) from 127.99.0.1 (X-Forwarded-For: 203.0.113.$n, 198.19.$n.7) in session k3vd8s2a0fj3m2kd"
done
for n in $(seq 7 11); do
	# nginx: X-Real-IP as well, the proxy's own address last in the chain (a second proxy of ours)
	rc "Successful login for $JANE (ID: 9) from 127.99.0.1 (X-Real-IP: 198.19.$n.7,X-Forwarded-For: 198.19.$n.7, 127.99.0.2) in session k3vd8s2a0fj3m2kd"
done
rc_login "$JANE" 9 127.99.0.1
drain "case 2"
summary=$(evidence_of "account:$JANE" account_networks summary)
log "  account_networks: $summary"
assert_eq "$JANE: 11 networks, the proxies' and the client's own headers not among them" 11 \
	"$(evidence_of "account:$JANE" account_networks count)"
assert_no_match "no network the client wrote, no proxy" '203\.0\.113\.|127\.99\.' "$summary"
assert_match "the forwarded networks" '198\.19\.11\.0/24, 198\.19\.10\.0/24' "$summary"
assert_eq "the proxy with nothing forwarded: front_end" 1 \
	"$(json_get "$(lz_stats)" '$.maillog.logins.skipped.front_end')"
case_pass

case_begin "3. the log is rotated mid-way: nothing lost, nothing twice"
KATE=kate@example.net
for n in 1 2 3; do rc_login "$KATE" 11 "198.20.$n.1"; done
drain "case 3, before the rotation"
mv "$RC_LOG" "$RC_LOG.1"
: >"$RC_LOG"
for n in 4 5 6 7 8 9 10 11; do rc_login "$KATE" 11 "198.20.$n.1"; done
drain "case 3, after the rotation"
assert_eq "$KATE: 11 networks across the rotation" 11 "$(evidence_of "account:$KATE" account_networks count)"
case_pass

case_begin "4. failed logins, a smuggled (ID: and other lines: counted, never evidence"
for n in 1 2 3; do
	rc "Failed login for $IVAN from 203.0.$n.9 in session k3vd8s2a0fj3m2kd (error: 0)"
done
rc "Successful login for mallory (ID: 1) from 203.0.113.77 (ID: 7) from 198.51.100.1 in session k3vd8s2a0fj3m2kd"
rc "IMAP Error: Login failed for $IVAN against localhost from 203.0.113.7. Could not connect"
drain "case 4"
stats=$(lz_stats)
assert_eq "failed webmail logins" 3 "$(json_get "$stats" '$.maillog.logins.failed.webmail')"
assert_eq "refused as ambiguous" 1 "$(json_get "$stats" '$.maillog.logins.webmail_lines_skipped.ambiguous')"
assert_eq "other lines" 1 "$(json_get "$stats" '$.maillog.logins.webmail_lines_skipped.other')"
assert_eq "webmail logins counted" 34 "$(json_get "$stats" '$.maillog.logins.evidence.webmail')"
assert_eq "$IVAN: still 12 networks" 12 "$(evidence_of "account:$IVAN" account_networks count)"
accounts=$(lzctl accounts --level normal --json) || fail "lazaretctl accounts failed: $accounts"
if printf '%s' "$accounts" | grep -q '"account:mallory'; then
	fail "a login counted for an account mallory: $accounts"
fi
metrics=$(api_curl -s "$LZ_API_URL/metrics")
for series in 'lazaret_logins_total{source="webmail"} 34' 'lazaret_logins_failed_total{source="webmail"} 3' \
	"lazaret_logins_webmail_lines_total $RC_LINES" 'lazaret_logins_webmail_lines_skipped_total{reason="ambiguous"} 1'; do
	printf '%s\n' "$metrics" | grep -qxF "$series" ||
		fail "/metrics has no line '$series': $(printf '%s\n' "$metrics" | grep -E 'logins')"
done
case_pass

log "all Roundcube login cases passed"
