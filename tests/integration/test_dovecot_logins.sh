#!/bin/bash
# test_dovecot_logins.sh — IMAP logins as account evidence (issue 11 item 5), end to end: a
# private Dovecot 2.3 (Debian's dovecot-imapd) on a port of 127.0.0.1 with a static passdb
# logs to its own log_path file, which lazaretd follows as a [maillog] file with
# [logins] dovecot = yes and the shipped account rules (account_networks: more than 10 /24s
# in 24 h, weight 4). Clients log in with curl bound to 127.N.M.1: each N.M a /24 of its own.
#   1. eve logs in from 12 networks → account_networks 12, its summary names IMAP and the
#      networks, and eve is throttled (12/10 × weight 4 = 4.8: throttle at 3, quarantine at 6)
#   2. frank logs in 30 times from 3 addresses of one /24 → normal, no evidence
#   3. the webmail front end ([allowlist] network 127.99.0.0/24) logs in for gina from 1 address
#      and eve again: counted as front_end, never a network of theirs; failed logins counted
#   4. a user name smuggling Dovecot's fields (auth_username_chars empty: Dovecot takes it and
#      logs it as it is) is refused as duplicate, and the account it names gets nothing
#   5. the counts in lazaretctl stats and /metrics
# Dovecot writes its log_path format here ("Dec 05 03:12:45 imap-login: Info: Login: ..."); the
# syslog form in Debian's mail.log ("HOST dovecot: imap-login: Login: ...") is the parser's
# table (tests/unit/test_maillog.c) and test_delivery's test_dovecot_logins.
# Usage: BUILD_DIR=build tests/integration/test_dovecot_logins.sh   (as root; IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EVE=eve@example.net
FRANK=frank@example.net
GINA=gina@example.net
PW=secret-pw-1

t_init
t_require_root
t_require_cmd dovecot doveconf curl jq sqlite3 ss

# --- a private Dovecot -------------------------------------------------------------------------
DV=$T/dovecot
DV_LOG=$DV/dovecot.log
DV_PORT=$(free_port)
mkdir -p "$DV/run" "$DV/state" "$DV/mail"
chown nobody:nogroup "$DV/mail"
cat >"$DV/dovecot.conf" <<EOF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV_LOG
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# any bytes in a user name: what a site with a permissive passdb gets (case 4)
auth_username_chars =
passdb {
  driver = static
  args = password=$PW
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DV/mail/%u
}
mail_location = maildir:$DV/mail/%u
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DV_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
dv_stop() {
	local pid
	pid=$(cat "$DV/run/master.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_for 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
}
dovecot -c "$DV/dovecot.conf" || fail "dovecot did not start: $(cat "$DV_LOG" 2>/dev/null)"
t_on_exit dv_stop
wait_port "$DV_PORT" 10 || fail "dovecot does not listen on 127.0.0.1:$DV_PORT: $(cat "$DV_LOG")"
log "dovecot $(dovecot --version) on 127.0.0.1:$DV_PORT, log $DV_LOG"

# imap_login FROM USER [PASSWORD] — an IMAP LOGIN (curl lists the mailboxes) from address FROM
imap_login() {
	curl -s -m 10 --interface "$1" -u "$2:${3:-$PW}" "imap://127.0.0.1:$DV_PORT/" >/dev/null
}

# --- lazaretd following Dovecot's log -------------------------------------------------------
PF_LOG=$DV_LOG         # lz_maillog_wait compares lazaretd's lines read with this file's
lz_config "maillog.file=$DV_LOG" maillog.poll_interval=200ms logins.dovecot=yes \
	allowlist.network=127.99.0.0/24
lz_start

evidence_of() { json_evidence "$(lz_explain "$1")" "$2" "$3"; }
drain() { lz_maillog_wait 15 || fail "$1: lazaretd did not read the whole Dovecot log in 15 s"; }

case_begin "1. $EVE logs in to IMAP from 12 networks: account_networks, throttled"
for n in $(seq 1 12); do
	imap_login "127.$n.7.1" "$EVE" || fail "eve's login from 127.$n.7.1 failed"
done
wait_for 10 grep -q "Login: user=<$EVE>, method=PLAIN, rip=127.12.7.1," "$DV_LOG" ||
	fail "Dovecot logged no login of $EVE from 127.12.7.1: $(tail -n 5 "$DV_LOG")"
drain "case 1"
eve_json=$(lz_explain "account:$EVE")
log "explain account:$EVE: level=$(json_get "$eve_json" '$.level') score=$(json_get "$eve_json" '$.score')"
summary=$(json_evidence "$eve_json" account_networks summary)
log "  account_networks: $summary"
assert_eq "account_networks count" 12 "$(json_evidence "$eve_json" account_networks count)"
assert_match "its summary" '^used from 12 client networks within 1d \(logins by IMAP\): 127\.12\.7\.0/24, 127\.11\.7\.0/24, ' "$summary"
# the truth: the rips of Dovecot's login lines for eve
logged=$(grep -Eo "Login: user=<$EVE>, method=PLAIN, rip=127\.[0-9]+\.7\.1," "$DV_LOG" | grep -Eo '127\.[0-9]+' | sort -u | wc -l)
assert_eq "networks in Dovecot's login lines" 12 "$logged"
assert_eq "level of account:$EVE" throttle "$(json_get "$eve_json" '$.level')"
score=$(json_get "$eve_json" '$.score')
awk -v s="$score" 'BEGIN { exit !(s > 4.7 && s <= 4.8) }' || fail "score of account:$EVE: expected 4.8 (12/10 x 4), saw $score"
case_pass "score $score"

case_begin "2. $FRANK logs in 30 times from three addresses of one /24: normal"
for i in $(seq 1 30); do
	imap_login "127.50.0.$((i % 3 + 1))" "$FRANK" || fail "frank's login $i failed"
done
drain "case 2"
frank_json=$(lz_explain "account:$FRANK")
assert_eq "level of account:$FRANK" normal "$(json_get "$frank_json" '$.level')"
assert_eq "no account_networks for $FRANK" "" "$(json_evidence "$frank_json" account_networks count)"
case_pass

case_begin "3. the webmail front end's logins and failed logins are counted, never evidence"
for i in $(seq 1 5); do
	imap_login 127.99.0.1 "$GINA" || fail "gina's login through the front end failed"
	imap_login 127.99.0.1 "$EVE" || fail "eve's login through the front end failed"
done
for n in $(seq 60 62); do
	imap_login "127.$n.0.1" "$GINA" wrong-password && fail "a wrong password logged in"
done
wait_for 15 grep -q "auth failed, .*user=<$GINA>.*rip=127\.62\.0\.1," "$DV_LOG" ||
	fail "Dovecot logged no failed login from 127.62.0.1: $(tail -n 5 "$DV_LOG")"
drain "case 3"
stats=$(lz_stats)
assert_eq "logins skipped as front_end" 10 "$(json_get "$stats" '$.maillog.logins.skipped.front_end')"
assert_eq "failed IMAP logins" 3 "$(json_get "$stats" '$.maillog.logins.failed.imap')"
assert_eq "$EVE's networks: still 12" 12 "$(evidence_of "account:$EVE" account_networks count)"
gina_json=$(lzctl explain "account:$GINA" --json 2>/dev/null || true)
assert_eq "no account_networks for $GINA" "" "$(json_evidence "${gina_json:-{\}}" account_networks count)"
case_pass

case_begin "4. a user name smuggling Dovecot's fields is refused, never another account's login"
for n in $(seq 1 12); do
	imap_login "127.70.$n.1" "bob>, rip=198.51.100.$n, x=<y" ||
		fail "Dovecot refused the smuggling name (auth_username_chars is empty)"
done
wait_for 10 grep -q 'Login: user=<bob>, rip=198\.51\.100\.12, x=<y>, method=PLAIN, rip=127\.70\.12\.1,' "$DV_LOG" ||
	fail "Dovecot did not log the name as it is: $(grep -F 'bob>' "$DV_LOG" | tail -n 2)"
drain "case 4"
stats=$(lz_stats)
assert_eq "lines refused as duplicate" 12 "$(json_get "$stats" '$.maillog.skipped.duplicate')"
accounts=$(lzctl accounts --level normal --json) || fail "lazaretctl accounts failed: $accounts"
printf '%s' "$accounts" | grep -q "\"account:$FRANK\"" || fail "lazaretctl accounts does not list $FRANK: $accounts"
if printf '%s' "$accounts" | grep -q '"account:bob'; then
	fail "a login counted for an account bob: $accounts"
fi
case_pass

case_begin "5. the counts in lazaretctl stats and /metrics"
stats=$(lz_stats)
assert_eq "IMAP logins counted" 42 "$(json_get "$stats" '$.maillog.logins.evidence.imap')"
assert_eq "login lines" 52 "$(json_get "$stats" '$.maillog.kinds.login')"
metrics=$(api_curl -s "$LZ_API_URL/metrics")
for series in 'lazaret_logins_total{source="imap"} 42' 'lazaret_logins_skipped_total{reason="front_end"} 10' \
	'lazaret_logins_failed_total{source="imap"} 3' 'lazaret_maillog_lines_total{kind="login"} 52' \
	'lazaret_maillog_lines_total{kind="skipped",reason="duplicate"} 12'; do
	printf '%s\n' "$metrics" | grep -qxF "$series" ||
		fail "/metrics has no line '$series': $(printf '%s\n' "$metrics" | grep -E 'logins|duplicate|kind="login')"
done
case_pass

log "all Dovecot login cases passed"
