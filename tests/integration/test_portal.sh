#!/bin/bash
# test_portal.sh — the walled garden's page against a real judge and store
# (BUILD_DIR/tests/portal_harness), visited from loopback addresses with curl, lynx and a
# real headless Chromium with JavaScript off.
#
#   1. quarantined visitor: 511 + notice on every path and method, probes included; no-store
#   2. a visitor who is not quarantined: 200, "not restricted"
#   3. hostile evidence is escaped; lynx -dump shows it as text, with the steps and contact
#   4. Chromium, scripts off: the DOM has the evidence and the form, and no script
#   5. refused releases: another address (quarantined or not), a tampered token, no token -> 403
#   6. self-release: history that cannot be read (so releases cannot be counted) -> 503; a
#      failed commit -> 503; nothing changed by either; then 200, normal in the judge
#      and in the store's history (actor portal)
#   7. grace: new evidence does not quarantine again; an old token is void after re-quarantine
#   8. a double press releases once
#   9. at the self-release limit: case number, abuse desk, no button; a POST is refused
#  10. suspended: no button
#  11. an expired token -> 403 (token_ttl 1s); the secret_file keeps tokens valid across restart
#  12. IPv6: a quarantined ::1 (its /64) gets the notice and can release itself
#  13. an operator's quarantine: no button, the abuse desk and a case number; a genuine token
#      is refused; with --self-release (the harness's "quarantine ADDR self-release") it is not
#  14. min_quarantine: too early, no button but when it comes; a genuine token refused, the
#      refusals logged within a budget; after a reload with min_quarantine 0, released
#  Cases 1-12 run with min_quarantine 0 (-m 0) and let their operator quarantines be released.
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_cmd curl lynx ss sqlite3 chromium

HARNESS=$BUILD_DIR/tests/portal_harness
CHECK=$BUILD_DIR/tests/html_check
[ -x "$HARNESS" ] || fail "$HARNESS not built"
[ -x "$CHECK" ] || fail "$CHECK not built"
TEMPLATES=$REPO_ROOT/share/portal

# What a mail log may hand us: markup, a javascript: link, quotes, control characters,
# a bidi override.
HOSTILE=$'550 5.1.1 <bob@example.org>: "User unknown" <script>alert(\'x\')</script> <img src=x onerror=alert(1)> <a href="javascript:alert(2)">click</a> & \x1b[31mred\x07 \xe2\x80\xae end'

# ---------------------------------------------------------------------------------------------
# the harness: H_* describe the one running

H_PID="" H_FD="" H_OUT="" H_SEQ=0 H_PORT="" H_URL=""

# h_start NAME ARGS... — start a harness in $T/NAME on a free port; wait for "ready".
h_start() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	H_PORT=$(free_port) || fail "no free port"
	if [ "${H_HOST:-127.0.0.1}" = ::1 ]; then H_LISTEN="[::1]:$H_PORT"; else H_LISTEN="127.0.0.1:$H_PORT"; fi
	H_URL="http://$H_LISTEN/"
	H_OUT=$T/$name/out.$H_PORT
	LZ_LOG=$T/$name/log            # dump_logs shows it on failure
	H_SEQ=0
	[ -p "$T/$name/ctl" ] || mkfifo "$T/$name/ctl"
	"$HARNESS" -d "$T/$name" -l "$H_LISTEN" -T "$TEMPLATES" -u "$H_URL" "$@" \
		<"$T/$name/ctl" >>"$H_OUT" 2>>"$LZ_LOG" &
	H_PID=$!
	t_on_exit "kill -9 $H_PID"
	exec {H_FD}>"$T/$name/ctl"
	wait_for 10 grep -q '^ready' "$H_OUT" || fail "the portal harness did not start"
}

# h_stop — "quit", then it must exit 0 by itself.
h_stop() {
	printf 'quit\n' >&"$H_FD"
	wait_for 10 pid_gone "$H_PID" || fail "the harness did not stop on quit"
	wait "$H_PID"
	local rc=$?
	exec {H_FD}>&-
	assert_eq "harness exit status" 0 "$rc"
}

# h CMD... — one command; its answer line in $H_REPLY, the lines before it in $H_LINES.
h() {
	local before
	before=$(wc -l <"$H_OUT")
	H_SEQ=$((H_SEQ + 1))
	printf '%s\n' "$*" >&"$H_FD"
	wait_for 10 grep -Eq "^(ok|err) $H_SEQ( |\$)" "$H_OUT" || fail "harness: no answer to '$*'"
	H_REPLY=$(grep -E "^(ok|err) $H_SEQ( |\$)" "$H_OUT")
	H_LINES=$(tail -n +"$((before + 1))" "$H_OUT" | grep -Ev '^(ok|err) ')
	case $H_REPLY in ok*) ;; *) fail "harness: '$*' answered '$H_REPLY'" ;; esac
}

# portal_history ADDR — the number of history entries by the portal, from the store itself.
portal_history() {
	sqlite3 -batch "file:$T/$1/lazaret.db?mode=ro" \
		"select count(*) from history where subject = '$2' and actor = 'portal' and new_level = 0 and reason = 'released: self-release via portal'"
}

# ---------------------------------------------------------------------------------------------
# visiting

CURL=(curl -s --noproxy '*' --max-time 10)

# visit FROM [curl args...] URLPATH — body in $T/body, status in $CODE, headers in $T/headers.
visit() {
	local from=$1
	shift
	local path=${*: -1}
	CODE=$("${CURL[@]}" --interface "$from" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
		"${@:1:$#-1}" "http://127.0.0.1:$H_PORT$path") || CODE="curl-failed"
}

# release FROM TOKEN — POST the form as a browser would.
release() {
	CODE=$("${CURL[@]}" --interface "$1" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
		--data-urlencode "token=$2" "http://127.0.0.1:$H_PORT/release") || CODE="curl-failed"
}

token_of() { sed -n 's/.*name="token" value="\([0-9]*\.[0-9a-f]*\)".*/\1/p' "$T/body" | head -n1; }

# check_page WHAT — the body passes the HTML check (links only to the portal itself).
check_page() {
	local out
	out=$("$CHECK" -u "$H_URL" "$T/body") || fail "$1: the HTML check fails: $out"
}

body() { cat "$T/body"; }

# ---------------------------------------------------------------------------------------------

case_begin "1. a quarantined visitor gets 511 and the notice on every path and method"
h_start main -v -q 127.0.0.2 -q 127.0.0.1 -e "$HOSTILE" -L 3 -W 30d -g 24h -t 15m -m 0
for path in / /generate_204 /hotspot-detect.html /connecttest.txt /ncsi.txt /anything/at/all?x=1 /release; do
	visit 127.0.0.2 "$path"
	assert_eq "GET $path" 511 "$CODE"
	assert_match "GET $path: the notice" 'Your internet connection is restricted' "$(body)"
done
check_page "the notice"
headers=$(tr -d '\r' <"$T/headers")
assert_match "no caching" '^Cache-Control: no-store$' "$headers"
assert_match "HTML" '^Content-Type: text/html; charset=utf-8$' "$headers"
assert_match "a CSP that forbids scripts" "^Content-Security-Policy: default-src 'none'" "$headers"
assert_no_match "no cookie" '^Set-Cookie' "$headers"
visit 127.0.0.2 -X POST --data 'a=b' /login
assert_eq "POST /login" 511 "$CODE"
visit 127.0.0.2 -X PUT /x
assert_eq "PUT /x" 511 "$CODE"
visit 127.0.0.2 -I /
assert_eq "HEAD /" 511 "$CODE"
visit 127.0.0.2 -H 'Host: www.example.com' /
assert_eq "another Host" 511 "$CODE"
case_pass

case_begin "2. a visitor who is not quarantined gets 200, not restricted"
visit 127.0.0.3 /
assert_eq "GET / from 127.0.0.3" 200 "$CODE"
assert_match "the ok page" 'Your internet connection is not restricted' "$(body)"
assert_no_match "no form" '<form' "$(body)"
check_page "the ok page"
visit 127.0.0.3 /generate_204
assert_eq "a probe from 127.0.0.3" 200 "$CODE"
case_pass

case_begin "3. hostile evidence is escaped; lynx shows it as text with the steps and contact"
visit 127.0.0.2 /
assert_no_match "no markup from the evidence" '<script|<img|<a href="javascript' "$(body)"
assert_match "the summary, escaped" "&lt;script&gt;alert\(&#39;x&#39;\)&lt;/script&gt; &lt;img src=x onerror=alert\(1\)&gt;" "$(body)"
assert_match "the javascript: link as text" '&lt;a href=&quot;javascript:alert\(2\)&quot;&gt;click&lt;/a&gt; &amp;' "$(body)"
grep -q $'\x1b' "$T/body" && fail "an escape character reached the page"
grep -q $'\xe2\x80\xae' "$T/body" && fail "a bidi override reached the page"
# The judge already turns control characters in summaries into '?'; the portal's own
# escaping turns any that reach it into U+FFFD. Either way no escape sequence survives.
assert_match "the control characters replaced" $'(\xef\xbf\xbd|\\?)\\[31mred(\xef\xbf\xbd|\\?)' "$(body)"
assert_no_match "no escape character" $'\x1b' "$(body)"
# lynx cannot choose its source address: 127.0.0.1 is quarantined with the same evidence
# (lynx exits non-zero on a 511 status: judge what it shows)
lynx -dump -width=200 -display_charset=utf-8 -connect_timeout=10 "$H_URL" >"$T/lynx.txt" 2>&1
lx=$(cat "$T/lynx.txt")
assert_match "lynx: the heading" 'Your internet connection is restricted' "$lx"
assert_match "lynx: the evidence as text" "<script>alert\('x'\)</script> <img src=x onerror=alert\(1\)>" "$lx"
assert_match "lynx: when" 'Last seen [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC' "$lx"
assert_match "lynx: the steps" 'Run a full scan with an up-to-date antivirus program' "$lx"
assert_match "lynx: the update sites" 'windowsupdate\.com' "$lx"
assert_match "lynx: how to verify" 'We will never ask you for a password' "$lx"
assert_match "lynx: the support contact" 'the support number printed on your contract or invoice' "$lx"
assert_match "lynx: the button" 'I have cleaned my devices: restore my connection' "$lx"
refs=$(sed -n '/^References/,$p' "$T/lynx.txt" | grep -E '^ *[0-9]+\. ' || true)
printf '%s\n' "$refs" | grep -Ev "^ *[0-9]+\. ${H_URL//./\\.}" | grep -q . && fail "lynx lists links elsewhere: $refs"
case_pass

case_begin "4. Chromium with JavaScript off: evidence, the form, no script"
# JavaScript is off through the profile's content settings: with --blink-settings=scriptEnabled=false
# Chromium 156 prints no DOM and takes no screenshot at all (both evaluate script internally).
# A canary page whose script would rewrite it proves that scripts are really off.
CHROME=(timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync --no-proxy-server
	--disable-dev-shm-usage)
chrome_profile() {
	local d
	d=$(mktemp -d "$T/chrome.XXXXXX")
	mkdir -p "$d/Default"
	echo '{"profile":{"default_content_setting_values":{"javascript":2}}}' >"$d/Default/Preferences"
	echo "$d"
}
printf '%s\n' '<!DOCTYPE html><p id="canary">static</p><script>document.getElementById("canary").textContent = "script ran";</script>' >"$T/canary.html"
"${CHROME[@]}" --user-data-dir="$(chrome_profile)" --dump-dom "file://$T/canary.html" >"$T/canary.dom" 2>"$T/chrome.log" ||
	fail "chromium --dump-dom failed: $(tail -n 20 "$T/chrome.log")"
assert_match "Chromium: scripts are off in this profile" '<p id="canary">static</p>' "$(cat "$T/canary.dom")"
"${CHROME[@]}" --user-data-dir="$(chrome_profile)" --dump-dom "$H_URL" >"$T/dom.html" 2>>"$T/chrome.log" ||
	fail "chromium --dump-dom failed: $(tail -n 20 "$T/chrome.log")"
dom=$(cat "$T/dom.html")
assert_match "DOM: the heading" '<h1>Your internet connection is restricted</h1>' "$dom"
assert_match "DOM: the summary as text" "&lt;script&gt;alert\('x'\)&lt;/script&gt; &lt;img src=x onerror=alert\(1\)&gt;" "$dom"
assert_match "DOM: the form" '<form method="post" action="/release">' "$dom"
assert_match "DOM: the token" '<input type="hidden" name="token" value="[0-9]+\.[0-9a-f]{64}">' "$dom"
assert_match "DOM: the button" '<button type="submit">' "$dom"
assert_no_match "DOM: no script element" '<script' "$dom"
cp "$T/dom.html" "$T/body"
check_page "Chromium's DOM"
"${CHROME[@]}" --user-data-dir="$(chrome_profile)" --window-size=1024,768 \
	--screenshot="$T/notice.png" "$H_URL" >>"$T/chrome.log" 2>&1 || fail "chromium --screenshot failed"
[ "$(head -c 8 "$T/notice.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG screenshot"
assert_ge "screenshot size" 10000 "$(stat -c %s "$T/notice.png")"
[ -n "${PORTAL_SCREENSHOT:-}" ] && cp "$T/notice.png" "$PORTAL_SCREENSHOT"
case_pass

case_begin "5. refused releases: another address, a tampered token, no token"
visit 127.0.0.2 /
token=$(token_of)
[ -n "$token" ] || fail "no token on the notice"
release 127.0.0.3 "$token"
assert_eq "the token from 127.0.0.3" 403 "$CODE"
assert_match "not quarantined: nothing to release" 'There is nothing to release' "$(body)"
h show 127.0.0.2
assert_match "still quarantined" 'level=quarantine' "$H_REPLY"
h quarantine 127.0.0.3 self-release
release 127.0.0.3 "$token"
assert_eq "the token of 127.0.0.2 used by quarantined 127.0.0.3" 403 "$CODE"
assert_match "a plain explanation" 'was not made for this connection' "$(body)"
assert_match "the notice again, with a fresh button" 'name="token" value="[0-9]+\.' "$(body)"
check_page "the 403 page"
tampered=${token%?}$( [ "${token: -1}" = 0 ] && echo 1 || echo 0)
release 127.0.0.2 "$tampered"
assert_eq "a tampered token" 403 "$CODE"
release 127.0.0.2 "$(( ${token%%.*} + 3600 )).${token#*.}"
assert_eq "a token with a later expiry" 403 "$CODE"
CODE=$("${CURL[@]}" --interface 127.0.0.2 -o "$T/body" -w '%{http_code}' -X POST "http://127.0.0.1:$H_PORT/release")
assert_eq "no token" 403 "$CODE"
{ printf 'token=%s&pad=' "$token"; head -c 8192 /dev/zero | tr '\0' a; } >"$T/big"
CODE=$("${CURL[@]}" --interface 127.0.0.2 -o "$T/body" -w '%{http_code}' --data-binary @"$T/big" "http://127.0.0.1:$H_PORT/release")
assert_eq "a valid token in an oversized form" 403 "$CODE"
h show 127.0.0.2
assert_match "still quarantined after all that" 'level=quarantine' "$H_REPLY"
assert_eq "no release in the store" 0 "$(portal_history main 127.0.0.2)"
case_pass

case_begin "6. self-release: 200, normal in the judge, in the store's history by the portal"
# A history the store cannot read (a damaged page) cannot count the releases used: the release
# is refused, not counted as 0. The page's button is from while it could not be read, too.
h failreads 1000
sleep 1.1                                   # past the notices' one-second history cache
visit 127.0.0.2 /
assert_eq "the notice while the history cannot be read" 511 "$CODE"
release 127.0.0.2 "$(token_of)"
h failreads 0
assert_eq "a release whose history cannot be read" 503 "$CODE"
assert_match "told so" "record cannot be read just now, so it cannot be released" "$(body)"
h show 127.0.0.2
assert_match "still quarantined, no grace" 'level=quarantine target=quarantine grace=0' "$H_REPLY"
assert_eq "no release in the store" 0 "$(portal_history main 127.0.0.2)"
assert_file_match "the refusal is logged" 'release refused: its history cannot be read' "$LZ_LOG"
# first the store fails to commit it: 503, nothing changed, the same button works later
h failnext 1
release 127.0.0.2 "$token"
assert_eq "a release the store cannot commit" 503 "$CODE"
assert_match "told so" 'could not be saved just now. Nothing has changed' "$(body)"
assert_match "the button again" 'name="token" value="[0-9]+\.' "$(body)"
h show 127.0.0.2
assert_match "still quarantined, no grace" 'level=quarantine target=quarantine grace=0' "$H_REPLY"
assert_eq "no release in the store" 0 "$(portal_history main 127.0.0.2)"
release 127.0.0.2 "$token"
assert_eq "POST /release with its own token" 200 "$CODE"
assert_match "the released page" 'Your internet connection is restored' "$(body)"
assert_match "the grace period" 'For the next 24 hours' "$(body)"
assert_match "releases left" 'Self-releases left: 2 of 3 in 30 days' "$(body)"
check_page "the released page"
h show 127.0.0.2
assert_match "normal, in grace" 'level=normal target=normal grace=1' "$H_REPLY"
assert_eq "one portal release in the store" 1 "$(portal_history main 127.0.0.2)"
h history 127.0.0.2
assert_match "history: the portal entry" '^history portal quarantine normal released: self-release via portal$' "$H_LINES"
visit 127.0.0.2 /
assert_eq "browsing again" 200 "$CODE"
release 127.0.0.2 "$token"
assert_eq "the same press again: the same answer" 200 "$CODE"
assert_match "released, again" 'Your internet connection is restored' "$(body)"
release 127.0.0.3 "$token"
assert_eq "that token from elsewhere" 403 "$CODE"
assert_eq "still one portal release" 1 "$(portal_history main 127.0.0.2)"
grep -q 'portal: host=127.0.0.2 address=127.0.0.2 released itself (1 of 3 in 30 days)' "$LZ_LOG" ||
	fail "no log line for the release"
case_pass

case_begin "7. grace: evidence does not quarantine again; an old token is void after re-quarantine"
h evidence 127.0.0.2
assert_match "throttle at most while in grace" 'level=throttle' "$H_REPLY"
h quarantine 127.0.0.2 self-release
assert_match "the abuse desk can" 'level=quarantine' "$H_REPLY"
release 127.0.0.2 "$token"
assert_eq "the token of the previous quarantine" 403 "$CODE"
assert_eq "still one portal release" 1 "$(portal_history main 127.0.0.2)"
case_pass

case_begin "8. a double press releases once"
visit 127.0.0.2 /
token=$(token_of)
# five presses on five connections opened at once (one curl, --parallel)
"${CURL[@]}" --interface 127.0.0.2 --parallel --parallel-immediate --parallel-max 5 --data-urlencode "token=$token" \
	-w '%{http_code}\n' -o "$T/press#1" \
	"http://127.0.0.1:$H_PORT/release?[1-5]" >"$T/press.codes" || fail "the presses failed"
assert_eq "five answers, all 200" "200 200 200 200 200" "$(tr '\n' ' ' <"$T/press.codes" | sed 's/ $//')"
for i in 1 2 3 4 5; do
	grep -q 'Your internet connection is restored' "$T/press$i" || fail "press $i did not see the released page"
done
assert_eq "two portal releases in the store" 2 "$(portal_history main 127.0.0.2)"
case_pass

case_begin "9. at the self-release limit: case number, abuse desk, no button"
h quarantine 127.0.0.2 self-release
visit 127.0.0.2 /
token=$(token_of)
assert_match "one left" 'Self-releases left: 1 of 3 in 30 days' "$(body)"
release 127.0.0.2 "$token"
assert_eq "the third release" 200 "$CODE"
assert_match "none left" 'Self-releases left: 0 of 3' "$(body)"
h quarantine 127.0.0.2 self-release
visit 127.0.0.2 /
assert_eq "at the limit" 511 "$CODE"
assert_no_match "no form" '<form|<button' "$(body)"
assert_match "the case number" 'Your case number: <strong>LZ-[0-9]{8}-[0-9A-Z]{8}</strong>' "$(body)"
assert_match "the abuse desk" 'Contact our abuse desk: our abuse desk, through the support number' "$(body)"
assert_match "why" 'restored the connection yourself 3 times in the last$' "$(body)"
check_page "the limit page"
case1=$(sed -n 's/.*Your case number: <strong>\([^<]*\)<.*/\1/p' "$T/body")
visit 127.0.0.2 /generate_204
assert_eq "the same case number" "$case1" "$(sed -n 's/.*Your case number: <strong>\([^<]*\)<.*/\1/p' "$T/body")"
grep -q "portal: host=127.0.0.2 reached the self-release limit; next time only the abuse desk releases it (case=$case1)" \
	"$LZ_LOG" || fail "the log does not name case $case1"
release 127.0.0.2 "$token"
assert_eq "a POST at the limit" 403 "$CODE"
assert_match "told why" 'You have used every self-release allowed' "$(body)"
assert_eq "three portal releases in the store" 3 "$(portal_history main 127.0.0.2)"
h show 127.0.0.2
assert_match "still quarantined" 'level=quarantine' "$H_REPLY"
case_pass

case_begin "10. suspended: no button"
h suspend 127.0.0.4
visit 127.0.0.4 /
assert_eq "suspended" 511 "$CODE"
assert_match "suspended text" 'Our abuse desk has suspended your connection' "$(body)"
assert_no_match "no form" '<form' "$(body)"
check_page "the suspended page"
h stats
assert_match "stats" 'notices=[1-9][0-9]* ok=[1-9][0-9]* releases=3 refused=[1-9]' "$H_REPLY"
h_stop
case_pass

case_begin "11. an expired token; a secret_file keeps tokens valid across a restart"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/secret"
chmod 600 "$T/secret"
h_start short -q 127.0.0.2 -t 1s -s "$T/secret" -m 0
visit 127.0.0.2 /
token=$(token_of)
sleep 2.2
release 127.0.0.2 "$token"
assert_eq "an expired token" 403 "$CODE"
assert_match "told why" 'The page you used is too old' "$(body)"
h_stop
h_start short -q 127.0.0.2 -t 1h -s "$T/secret" -m 0
visit 127.0.0.2 /
token=$(token_of)
port=$H_PORT
h_stop
h_start short -t 1h -s "$T/secret" -m 0
h show 127.0.0.2
assert_match "quarantined after the restart" 'level=quarantine' "$H_REPLY"
release 127.0.0.2 "$token"
assert_eq "a token from before the restart" 200 "$CODE"
h_stop
case_pass

case_begin "12. IPv6: a quarantined ::1 (its /64) gets the notice and can release itself"
H_HOST=::1 h_start v6 -q ::1 -m 0
CODE=$("${CURL[@]}" -g -o "$T/body" -w '%{http_code}' "$H_URL")
assert_eq "GET from ::1" 511 "$CODE"
assert_match "the address" 'Your address: ::1\.' "$(body)"
token=$(token_of)
CODE=$("${CURL[@]}" -g -o "$T/body" -w '%{http_code}' --data-urlencode "token=$token" "${H_URL}release")
assert_eq "release from ::1" 200 "$CODE"
h show ::1
assert_match "the /64 is normal" 'level=normal' "$H_REPLY"
assert_eq "in the store under the /64" 1 "$(portal_history v6 '::/64')"
h_stop
case_pass

case_begin "13. an operator's quarantine: the abuse desk's, not the button's"
h_start rules -s "$T/secret" -m 15m
h quarantine 127.0.0.5
visit 127.0.0.5 /
assert_eq "511" 511 "$CODE"
assert_match "why there is no button" 'Our abuse desk has restricted your connection. You cannot restore it' "$(body)"
assert_match "the case number" 'Your case number: <strong>LZ-[0-9]{8}-[0-9A-Z]{8}</strong>' "$(body)"
assert_match "the abuse desk" 'Contact our abuse desk: ' "$(body)"
assert_no_match "no form, no button" '<form|<button|name="token"' "$(body)"
check_page "the operator's page"
case5=$(sed -n 's/.*Your case number: <strong>\([^<]*\)<.*/\1/p' "$T/body")
# a script holds a genuine token for this very quarantine (the harness makes one with the secret)
h token 127.0.0.5
token=${H_REPLY#*token=}
release 127.0.0.5 "$token"
assert_eq "a genuine token for an operator's quarantine" 403 "$CODE"
assert_match "told why" 'Our abuse desk restricted this connection: only they can restore it' "$(body)"
assert_match "with the case number" "Your case number: <strong>$case5</strong>" "$(body)"
check_page "the refusal"
h show 127.0.0.5
assert_match "still quarantined" 'level=quarantine' "$H_REPLY"
assert_eq "no release in the store" 0 "$(portal_history rules 127.0.0.5)"
grep -q "portal: host=127.0.0.5 address=127.0.0.5 release refused: operator quarantine case=$case5" "$LZ_LOG" ||
	fail "the refusal is not logged with its case"
# the operator allows self-release: the button at once (no minimum for an operator's choice)
h quarantine 127.0.0.5 self-release
visit 127.0.0.5 /
assert_match "now the button" '<button type="submit">' "$(body)"
release 127.0.0.5 "$(token_of)"
assert_eq "released by the subscriber" 200 "$CODE"
assert_eq "one release in the store" 1 "$(portal_history rules 127.0.0.5)"
case_pass

case_begin "14. min_quarantine: too early for the button, then after a reload to 0 released"
h evidence 127.0.0.6
assert_match "quarantined by the judge" 'level=quarantine' "$H_REPLY"
visit 127.0.0.6 /
assert_eq "511" 511 "$CODE"
assert_match "not yet, and why" 'you can restore your connection yourself, but not yet' "$(body)"
assert_match "the least time" 'every restriction lasts at least 15 minutes' "$(body)"
assert_match "when" 'offered on this page from [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC \(in about 1[45] minutes\)' "$(body)"
assert_no_match "no form" '<form|<button|name="token"' "$(body)"
check_page "the too-early notice"
h token 127.0.0.6
token=${H_REPLY#*token=}
release 127.0.0.6 "$token"
assert_eq "a genuine token too early" 403 "$CODE"
assert_match "told why and when" 'It is too early to restore this connection yourself: the button to do so is offered from [0-9-]+ [0-9:]+ UTC' "$(body)"
check_page "the refusal"
# a script pressing on: refused every time, and the log keeps to its budget (20 a minute)
for i in $(seq 1 40); do release 127.0.0.6 "$token"; [ "$CODE" = 403 ] || fail "press $i: $CODE"; done
n=$(grep -c 'release refused: too early' "$LZ_LOG")
[ "$n" -ge 1 ] && [ "$n" -le 19 ] || fail "$n log lines for 41 early presses (budget: 20 a minute, one used in case 13)"
h show 127.0.0.6
assert_match "still quarantined" 'level=quarantine' "$H_REPLY"
assert_eq "no release in the store" 0 "$(portal_history rules 127.0.0.6)"
h stats
assert_match "refusals counted" 'refused=4[2-9]' "$H_REPLY"
h minq 0
release 127.0.0.6 "$token"
assert_eq "after the reload, the same token" 200 "$CODE"
assert_eq "one release in the store" 1 "$(portal_history rules 127.0.0.6)"
h_stop
case_pass

log "all portal cases passed"
