#!/bin/bash
# test_garden.sh — the walled garden end to end: lazaretd itself drives nftables ([enforce]
# mode = nftables) on a gateway, in three network namespaces of our own:
#
#   sub  (subscribers)  s0: 10.78.1.2, 10.78.1.3, 10.78.1.4, fd78:1::2
#    |
#   gw   (gateway)      g0: 10.78.1.1, fd78:1::1     g1: 10.78.3.1, fd78:3::1
#    |                  forwarding on; runs lazaretd (policy on 127.0.0.1, the API on a socket, the portal
#    |                  on [::]:8080, which takes the DNAT of both 10.78.1.1:8080 and
#    |                  [fd78:1::1]:8080), table inet lazaret
#   inet ("the Internet") i0: .10 web (80, 443, 8443, a rogue DNS on 53), .25 the relay (25),
#                       .26 another mail server (25, 587, 465), .53 the resolver (53 udp+tcp),
#                       .80 the update site (443, and 80 over plain HTTP), .81/.82 antivirus
#                       sites (443, 80), .90 a download mirror (80) in a remediation network;
#                       the same hosts under fd78:3::
#
# What it shows: before quarantine, everything but port 25 outside the relay; an operator's
# quarantine reaches the kernel within ~2 s and gives the walled garden (80 to the portal's 511
# notice without a self-release button for an operator's quarantine, 443 reset, DNS to the
# resolver, the update sites — over HTTP too, by address, network and name, never DNAT'ed to
# the portal — the rest rejected quickly), listed by `lazaretctl quarantines` as enforced;
# release; an automatic quarantine from policy-service evidence; self-release through the
# DNAT'ed portal (history, metrics); IPv6 by /64; after kill -9 the rules hold, and a restart
# makes the kernel's sets equal the store's quarantines (a tampered set and an override that
# ran out while the daemon was down included); SIGTERM leaves the table and sets in place.
# Nothing outside our namespaces is touched.
set -u
BUILD_DIR=${BUILD_DIR:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
LAZARETD=$B/lazaretd
LAZARETCTL=$B/lazaretctl
PROBE=$B/tests/netprobe
SEND=$B/tests/policy_send
PATH=$PATH:/usr/sbin:/sbin

. "$ROOT/tests/integration/netns.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
for c in ip nft curl sqlite3; do command -v "$c" >/dev/null 2>&1 || skip "command not found: $c"; done
for f in "$LAZARETD" "$LAZARETCTL" "$PROBE" "$SEND"; do [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }; done

netns_init lzg 78
LZ_PID=""        # lazaretd, in gw

POLICY_PORT=10045
API_SOCK=$T/api.sock     # the API's Unix socket: reachable from any network namespace
API=http://localhost
PORTAL_PORT=8080
LZ_LOG=$T/lazaretd.log

# what the library's cleanup cannot know: lazaretd, and the hosts file its namespace gets
netns_before_cleanup() {
	[ -n "$LZ_PID" ] && kill -9 "$LZ_PID" 2>/dev/null && wait "$LZ_PID" 2>/dev/null
	rm -rf "/etc/netns/$NS_GW"
}

ctl() { gw "$LAZARETCTL" --api "unix:$API_SOCK" "$@"; }

# fatal MESSAGE — nothing after this can mean anything: show the daemon's log and stop.
fatal() {
	bad "$*"
	echo "----- lazaretd log (last 40 lines) -----"
	tail -n 40 "$LZ_LOG" 2>/dev/null
	echo "-----"
	echo "$failures failed (stopped early)"
	exit 1
}

# JSON without jq: SQLite's JSON functions.
_sq() { printf "'%s'" "${1//\'/\'\'}"; }
# json_get JSON PATH — the value at PATH; null prints as nothing.
json_get() { sqlite3 -batch :memory: "select json_extract($(_sq "$1"), $(_sq "$2"))" 2>/dev/null; }
# json_each JSON ARRAY_PATH FIELD [SQL_CONDITION] — FIELD of each element, one a line; e('$.x')
# in the condition is a member of the element.
json_each() {
	local cond=${4:-1}
	cond=${cond//e(/json_extract(value, }
	sqlite3 -batch :memory: "select json_extract(value, $(_sq "\$.$3")) from json_each($(_sq "$1"), $(_sq "$2")) where $cond" 2>/dev/null
}

# http WHAT CODE ERE [curl options] URL — curl from sub; the status must be CODE and the body
# match ERE. The body stays in $T/body, the status in $CODE.
http() {
	local what=$1 code=$2 re=$3
	shift 3
	rm -f "$T/body"
	CODE=$(sub curl -g -s --noproxy '*' -m 3 -o "$T/body" -w '%{http_code}' "$@")
	if [ "$CODE" = "$code" ] && grep -Eq -- "$re" "$T/body" 2>/dev/null; then
		ok "$what (HTTP $CODE, /$re/)"
	else
		bad "$what: expected $code and /$re/, got '$CODE' '$(head -c 300 "$T/body" 2>/dev/null | tr '\n' ' ')'"
	fi
}

token_of() { sed -n 's/.*name="token" value="\([0-9]*\.[0-9a-f]*\)".*/\1/p' "$T/body" | head -n1; }

# set_elems SET — the elements of inet lazaret SET, one a line, sorted (without timeouts).
set_elems() {
	gw nft list set inet lazaret "$1" 2>/dev/null | tr '\n' ' ' |
		sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' | tr ',' '\n' | awk 'NF { print $1 }' | sort
}
set_has() { set_elems "$1" | grep -qxF "$2"; }
set_lacks() { ! set_elems "$1" | grep -qxF "$2"; }

# kernel_subjects — both quarantine sets as lazaret names its hosts (a v6 /64 as NET/64), sorted.
kernel_subjects() {
	{ set_elems quarantine_v4; set_elems quarantine_v6 | sed 's|$|/64|'; } | sort
}
# store_subjects — the hosts lazaretd holds at quarantine or suspend, sorted.
store_subjects() {
	local j
	j=$(ctl hosts --json 2>/dev/null) || return 1
	json_each "$j" '$.subjects' subject "e('\$.level') in ('quarantine', 'suspend')" | sort
}
# listed_subjects — the subjects of lazaretctl quarantines --json, sorted.
listed_subjects() {
	local j
	j=$(ctl quarantines --json 2>/dev/null) || return 1
	json_each "$j" '$.quarantined' subject | sort
}

# wait_set WHAT SET ELEMENT present|absent — poll for up to 2.5 s, report how long it took.
wait_set() {
	local what=$1 set=$2 el=$3 how=$4 t fn=set_has
	t=$(now_ms)
	[ "$how" = absent ] && fn=set_lacks
	if wait_for 2.5 "$fn" "$set" "$el"; then
		ok "$what ($set: $el $how after $(($(now_ms) - t)) ms)"
	else
		bad "$what: $set not $how $el after 2.5 s; it holds [$(set_elems "$set" | tr '\n' ' ')]"
	fi
}

level_of() { json_get "$(ctl explain "$1" --json 2>/dev/null)" '$.level'; }
level_is() { [ "$(level_of "$1")" = "$2" ]; }

# metric NAME_WITH_LABELS — its value in /metrics (empty when absent).
metric() {
	gw curl -s --noproxy '*' --unix-socket "$API_SOCK" -m 3 "$API/metrics" | awk -v n="$1" '$1 == n { print $2; exit }'
}
# expect_metric WHAT NAME OP VALUE — OP: -eq, -ge ...
expect_metric() {
	local v
	v=$(metric "$2")
	if [ -n "$v" ] && test "${v%.*}" "$3" "$4" 2>/dev/null; then ok "$1 ($2 $v)"; else bad "$1: $2 is '${v:-absent}', expected $3 $4"; fi
}

# listed_enforced SUBJECT — lazaretctl quarantines --json lists SUBJECT with enforced true.
listed_enforced() {
	local j
	j=$(ctl quarantines --json 2>/dev/null) || return 1
	[ "$(json_each "$j" '$.quarantined' enforced "e('\$.subject') = $(_sq "$1")")" = 1 ]
}

lz_start() {
	echo "===== lazaretd start $(date -u +%FT%TZ)" >>"$LZ_LOG"
	# --init-store on the first start only: the restarts must find the store the last run left
	ip netns exec "$NS_GW" "$LAZARETD" $([ -e "$T/lazaret.db" ] || echo --init-store) -c "$T/lazaret.conf" >>"$LZ_LOG" 2>&1 &
	LZ_PID=$!
	local limit=$(($(now_ms) + 10000))
	while :; do
		if ! kill -0 "$LZ_PID" 2>/dev/null; then
			wait "$LZ_PID"
			local rc=$?
			LZ_PID=""
			fatal "lazaretd exited during start-up (status $rc)"
		fi
		gw curl -s --noproxy '*' --unix-socket "$API_SOCK" -m 1 -o /dev/null "$API/v1/stats" &&
			gw curl -s --noproxy '*' -m 1 -o /dev/null "http://10.78.1.1:$PORTAL_PORT/" &&
			gw nft list set inet lazaret quarantine_v4 >/dev/null 2>&1 && break
		[ "$(now_ms)" -lt "$limit" ] || fatal "lazaretd (pid $LZ_PID) not ready after 10 s (API, portal, table inet lazaret)"
		sleep 0.1
	done
}

# pid_gone PID — the process has exited (a zombie child not yet reaped counts as gone).
pid_gone() {
	kill -0 "$1" 2>/dev/null || return 0
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# lz_signal SIGNAL — send it, wait for the exit (at most 10 s), set LZ_EXIT.
lz_signal() {
	local pid=$LZ_PID
	kill "-$1" "$pid"
	wait_for 10 pid_gone "$pid" || { bad "lazaretd ignored SIG$1 for 10 s"; kill -9 "$pid"; }
	wait "$pid" 2>/dev/null
	LZ_EXIT=$?
	LZ_PID=""
	echo "===== lazaretd exit status $LZ_EXIT" >>"$LZ_LOG"
}

# policy_req ADDRESS N — one DATA-stage request, as Postfix's smtpd would send it.
policy_req() {
	printf 'request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=unknown\nreverse_client_name=unknown\nhelo_name=pc\nsender=bot@example.net\nrecipient=victim%s@example.org\nrecipient_count=1\nqueue_id=4Ga%05d\ninstance=a.b.%s\nsize=1234\n\n' \
		"$1" "$2" "$2" "$2"
}

# ---------------------------------------------------------------------------------------------
section "topology"
netns_topology "2 3 4" "10 25 26 53 80 81 82 90"
# `ip netns exec` puts /etc/netns/NAME/hosts over /etc/hosts: lazaretd in gw resolves the
# name through it (rewritten in place later, so the bind mount shows the new text)
mkdir -p "/etc/netns/$NS_GW"
printf '127.0.0.1 localhost\n10.78.3.81 av.lazaret.test\n' >"/etc/netns/$NS_GW/hosts"
# two antivirus sites; the remediation entry names one of them: av.lazaret.test
netns_serve_inet "tcp,AV1,10.78.3.81,443" "tcp,AV2,10.78.3.82,443" \
	"http,UPDATEHTTP,10.78.3.80,80" "http,UPDATEHTTP,fd78:3::80,80" "http,MIRROR,10.78.3.90,80" \
	"http,AV1HTTP,10.78.3.81,80" "http,AV2HTTP,10.78.3.82,80"
echo "namespaces $NS_SUB, $NS_GW, $NS_INET up; kernel $(uname -r), $(nft --version)"

# ---------------------------------------------------------------------------------------------
section "lazaretd with [enforce] mode = nftables in gw"
# The portal listens on [::] (dual stack) so that both DNAT targets reach it: 10.78.1.1:8080
# and [fd78:1::1]:8080 ([portal] listen takes one address).
cat >"$T/lazaret.conf" <<EOF
[daemon]
store = $T/lazaret.db
log_level = info
checkpoint_interval = 1s

[policy]
listen = 127.0.0.1:$POLICY_PORT

[limits]
host_messages = 5/1h
host_messages_burst = 5

[judge]
watch = 1
throttle = 3
quarantine = 6
quarantine_cap = 100

; 0.65 a deferral: the 10th deferral after the burst of 5 makes quarantine (6)
[evidence rate_limit]
weight = 0.65
half_life = 6h

[api]
socket = $API_SOCK

[portal]
url = http://portal.example.net/
listen = [::]:$PORTAL_PORT
templates = $ROOT/share/portal
self_release_limit = 3
grace = 1h
; section 5 releases the judge's quarantine as soon as it is made
min_quarantine = 0

[enforce]
mode = nftables
table = lazaret
subscribers = 10.78.1.0/24
subscribers = fd78:1::/48
relay = 10.78.3.25
relay = fd78:3::25
resolver = 10.78.3.53
resolver = fd78:3::53
remediation = 10.78.3.80 443/tcp
remediation = 10.78.3.80 80/tcp
remediation = fd78:3::80 443/tcp
remediation = fd78:3::80 80/tcp
remediation = 10.78.3.88/29
remediation = av.lazaret.test 443/tcp
remediation = av.lazaret.test 80/tcp
portal = 10.78.1.1:$PORTAL_PORT
portal = [fd78:1::1]:$PORTAL_PORT
element_timeout = 1h
refresh_interval = 15m
EOF
out=$("$LAZARETD" -n -c "$T/lazaret.conf" 2>&1) || fatal "lazaretd -n rejects the configuration: $out"
ok "lazaretd -n accepts the configuration with [enforce]"
lz_start
ok "lazaretd pid $LZ_PID: policy 127.0.0.1:$POLICY_PORT, API $API, portal [::]:$PORTAL_PORT (in gw)"
gw nft list table inet lazaret >"$T/ruleset.txt" 2>&1
check "table inet lazaret with chains forward, prerouting" bash -c "grep -q 'chain forward {' '$T/ruleset.txt' && grep -q 'chain prerouting {' '$T/ruleset.txt'"
check "the quarantine sets start empty" test -z "$(kernel_subjects)"
q=$(ctl quarantines --json 2>&1)
if [ "$(json_get "$q" '$.enforce.backend')" = nftables ] && [ "$(json_get "$q" '$.enforce.failures')" = 0 ]; then
	ok "quarantines --json: backend nftables, no failures"
else
	bad "quarantines --json: expected enforce.backend nftables and failures 0, got: $q"
fi

# ---------------------------------------------------------------------------------------------
section "1. before quarantine"
http "v4 web on 80" 200 '^WEB$' http://10.78.3.10/
expect "v4 web on 443" "open WEB443" tcp 10.78.3.10 443
expect "v4 web on 8443" "open WEB8443" tcp 10.78.3.10 8443
expect "v4 DNS udp to the resolver" "open DNS" udp 10.78.3.53 53
expect "v4 DNS tcp to the resolver" "open DNS" tcp 10.78.3.53 53
expect "v4 another DNS server" "open ROGUEDNS" udp 10.78.3.10 53
expect "v4 25 to the relay" "open RELAY" tcp 10.78.3.25 25
expect "v4 25 elsewhere rejected" unreachable tcp 10.78.3.26 25
expect "v4 587 elsewhere allowed" "open SUBMISSION" tcp 10.78.3.26 587
expect "v4 465 elsewhere allowed" "open SMTPS" tcp 10.78.3.26 465
http "v6 web on 80" 200 '^WEB$' "http://[fd78:3::10]/"
expect "v6 web on 443" "open WEB443" tcp fd78:3::10 443
expect "v6 25 to the relay" "open RELAY" tcp fd78:3::25 25
expect "v6 25 elsewhere rejected" prohibited tcp fd78:3::26 25
expect "v6 587 elsewhere allowed" "open SUBMISSION" tcp fd78:3::26 587

# ---------------------------------------------------------------------------------------------
section "2. manual quarantine of 10.78.1.2"
out=$(ctl quarantine 10.78.1.2 --reason "garden test: manual" 2>&1) && ok "lazaretctl quarantine" || bad "lazaretctl quarantine: $out"
wait_set "the kernel holds it" quarantine_v4 10.78.1.2 present
check "explain: level quarantine" level_is 10.78.1.2 quarantine
http "80 goes to the portal (DNAT): 511 with the notice" 511 'Your internet connection is restricted' http://10.78.3.10/
check "the notice names the subscriber's own address (seen through the DNAT)" grep -q 'Your address: 10\.78\.1\.2\.' "$T/body"
check "an operator's quarantine: no release button" bash -c "! grep -q '<form' '$T/body'"
check "... but the abuse desk and a case number" grep -q 'Your case number: <strong>LZ-' "$T/body"
http "80 to any address goes to the portal" 511 'Your internet connection is restricted' http://10.78.3.99/
expect "443 gets a TCP reset" refused tcp 10.78.3.10 443
expect "DNS udp to the resolver" "open DNS" udp 10.78.3.53 53
expect "DNS tcp to the resolver" "open DNS" tcp 10.78.3.53 53
expect "DNS to another server rejected" unreachable udp 10.78.3.10 53
expect "the update site 10.78.3.80:443" "open UPDATE" tcp 10.78.3.80 443
http "HTTP to the update site 10.78.3.80 (remediation 80/tcp): the site, not the notice" 200 '^UPDATEHTTP$' http://10.78.3.80/
http "HTTP into a remediation network (10.78.3.88/29, any port): the mirror" 200 '^MIRROR$' http://10.78.3.90/
expect "HTTP to the resolver is not DNAT'ed to the portal: rejected (DNS only)" unreachable tcp 10.78.3.53 80
expect "another port (8443) rejected" unreachable tcp 10.78.3.10 8443
expect "587 rejected" unreachable tcp 10.78.3.26 587
expect "25 even to the relay rejected" unreachable tcp 10.78.3.25 25
http "another subscriber (10.78.1.3) is not quarantined" 200 '^WEB$' --interface 10.78.1.3 http://10.78.3.10/
expect "another subscriber's 443" "open WEB443" -s 10.78.1.3 tcp 10.78.3.10 443
check "lazaretctl quarantines --json lists 10.78.1.2 with enforced true" wait_for 2 listed_enforced 10.78.1.2
q=$(ctl quarantines --json 2>&1)
check "... level quarantine" test "$(json_each "$q" '$.quarantined' level "e('\$.subject') = '10.78.1.2'")" = quarantine
check "... by operator" test "$(json_each "$q" '$.quarantined' by "e('\$.subject') = '10.78.1.2'")" = operator
check "... enforce.elements is 1 ($(json_get "$q" '$.enforce.elements'))" test "$(json_get "$q" '$.enforce.elements')" = 1
check "... nothing queued" test "$(json_get "$q" '$.queued')" = "[]"
out=$(ctl quarantines 2>&1)
check "lazaretctl quarantines (text) names it" grep -q '10\.78\.1\.2' <<<"$out"
check "GET /v1/quarantine answers the same JSON shape" bash -c "ip netns exec $NS_GW curl -s --noproxy '*' --unix-socket $API_SOCK $API/v1/quarantine | grep -q '\"enforced\": *true'"

section "2b. remediation by name: resolved at start, again on SIGHUP (and every resolve_interval)"
expect "av.lazaret.test (10.78.3.81) reachable while quarantined" "open AV1" tcp 10.78.3.81 443
expect "10.78.3.82 (not named): 443 reset like any other site" refused tcp 10.78.3.82 443
http "av.lazaret.test over HTTP (80/tcp by name): the site" 200 '^AV1HTTP$' http://10.78.3.81/
http "10.78.3.82 (not named) over HTTP: the notice" 511 'Your internet connection is restricted' http://10.78.3.82/
printf '127.0.0.1 localhost\n10.78.3.82 av.lazaret.test\n' >"/etc/netns/$NS_GW/hosts"
kill -HUP "$LZ_PID"
probe_word() { local out; out=$(sub "$PROBE" connect -t 1000 "${@:2}"); [ "${out% ms=*}" = "$1" ]; }
check "after SIGHUP the name's new address 10.78.3.82 is reachable" wait_for 5 probe_word "open AV2" tcp 10.78.3.82 443
expect "... and the old one 10.78.3.81 now reset" refused tcp 10.78.3.81 443
http "... the new address over HTTP: the site" 200 '^AV2HTTP$' http://10.78.3.82/
http "... the old one over HTTP: the notice" 511 'Your internet connection is restricted' http://10.78.3.81/
check "the log says the ruleset was set up again" grep -q 'set up again with the quarantines' "$T/lazaretd.log"
wait_set "... with the quarantine kept" quarantine_v4 10.78.1.2 present
expect "... which is still held (8443 rejected)" unreachable tcp 10.78.3.10 8443

# ---------------------------------------------------------------------------------------------
section "3. operator release"
out=$(ctl release 10.78.1.2 --reason "garden test: operator release" 2>&1) && ok "lazaretctl release" || bad "lazaretctl release: $out"
wait_set "the kernel no longer holds it" quarantine_v4 10.78.1.2 absent
http "80 reaches the web again" 200 '^WEB$' http://10.78.3.10/
expect "443 again" "open WEB443" tcp 10.78.3.10 443
expect "8443 again" "open WEB8443" tcp 10.78.3.10 8443
expect "25 to the relay again" "open RELAY" tcp 10.78.3.25 25
expect "25 elsewhere still rejected" unreachable tcp 10.78.3.26 25
expect "587 again" "open SUBMISSION" tcp 10.78.3.26 587
check "quarantines --json no longer lists it" test -z "$(listed_subjects)"

# ---------------------------------------------------------------------------------------------
section "4. automatic quarantine from policy-service evidence"
n=0 deferred=0 answer=""
while [ "$n" -lt 40 ]; do
	n=$((n + 1))
	answer=$(policy_req 10.78.1.2 "$n" | gw "$SEND" "127.0.0.1:$POLICY_PORT" 2000 | head -n1)
	case $answer in
	action=DEFER_IF_PERMIT*) deferred=$((deferred + 1)) ;;
	action=REJECT*) break ;;
	action=DUNNO) ;;
	*) bad "policy request $n: unexpected answer '$answer'"; break ;;
	esac
done
if [ "${answer#action=REJECT 5.7.1 }" != "$answer" ]; then
	ok "after $((n - 1)) requests ($deferred deferred) the answer is REJECT 5.7.1"
else
	bad "no REJECT after $n policy requests ($deferred deferred); last answer '$answer'"
fi
check "REJECT quotes the portal URL" grep -q 'http://portal.example.net/' <<<"$answer"
check "explain: level quarantine" level_is 10.78.1.2 quarantine
h=$(ctl history 10.78.1.2 --json 2>/dev/null)
check "history: the judge quarantined it" test "$(json_each "$h" '$.history' actor "e('\$.new_level') = 'quarantine' and e('\$.actor') = 'judge'" | wc -l)" -ge 1
wait_set "the kernel holds it" quarantine_v4 10.78.1.2 present
http "80: 511 with the notice" 511 'Your internet connection is restricted' http://10.78.3.10/
expect "443 reset" refused tcp 10.78.3.10 443
check "quarantines --json lists it enforced" wait_for 2 listed_enforced 10.78.1.2
q=$(ctl quarantines --json 2>&1)
check "... by judge" test "$(json_each "$q" '$.quarantined' by "e('\$.subject') = '10.78.1.2'")" = judge
check "... one automatic quarantine counted against the cap of 100" test "$(json_get "$q" '$.cap.used')/$(json_get "$q" '$.cap.per_hour')" = 1/100
expect_metric "metrics: one quarantine by the judge" 'lazaret_quarantines_total{by="judge"}' -eq 1

# ---------------------------------------------------------------------------------------------
section "5. self-release from the subscriber through the portal"
http "the notice through the DNAT" 511 'Your internet connection is restricted' http://10.78.3.10/
check "it names 10.78.1.2" grep -q 'Your address: 10\.78\.1\.2\.' "$T/body"
check "self-releases left: 3 of 3" grep -q 'Self-releases left: 3 of 3' "$T/body"
token=$(token_of)
[ -n "$token" ] && ok "the release token ($token)" || bad "no token on the notice: $(head -c 300 "$T/body")"
http "POST http://10.78.3.10/release (DNAT'ed to the portal): 200" 200 'Your internet connection is restored' \
	--data-urlencode "token=$token" http://10.78.3.10/release
wait_set "the kernel no longer holds it" quarantine_v4 10.78.1.2 absent
check "explain: level normal" level_is 10.78.1.2 normal
http "the web works again" 200 '^WEB$' http://10.78.3.10/
expect "443 again" "open WEB443" tcp 10.78.3.10 443
h=$(ctl history 10.78.1.2 2>&1)
check "lazaretctl history shows the portal's release" grep -Eq 'quarantine -> normal +portal +released: self-release via portal' <<<"$h"
expect_metric "metrics: one self release" 'lazaret_releases_total{by="self"}' -eq 1
expect_metric "metrics: one operator release" 'lazaret_releases_total{by="operator"}' -eq 1
expect_metric "metrics: the operator's quarantine" 'lazaret_quarantines_total{by="operator"}' -eq 1
expect_metric "metrics: enforce batches" lazaret_enforce_batches_total -ge 4
expect_metric "metrics: no enforce failures" lazaret_enforce_failures_total -eq 0
expect_metric "metrics: no elements enforced now" lazaret_enforced_elements -eq 0

# ---------------------------------------------------------------------------------------------
section "6. IPv6: quarantine fd78:1::2, i.e. its /64"
out=$(ctl quarantine fd78:1::2 --reason "garden test: IPv6" 2>&1) && ok "lazaretctl quarantine fd78:1::2" || bad "lazaretctl quarantine fd78:1::2: $out"
wait_set "the v6 set holds the /64's network address" quarantine_v6 fd78:1:: present
check "explain fd78:1::2: level quarantine" level_is fd78:1::2 quarantine
http "v6 80 goes to the portal: 511" 511 'Your internet connection is restricted' "http://[fd78:3::10]/"
check "the notice names fd78:1::2" grep -q 'Your address: fd78:1::2\.' "$T/body"
expect "v6 443 reset" refused tcp fd78:3::10 443
expect "v6 DNS to the resolver" "open DNS" udp fd78:3::53 53
expect "v6 the update site" "open UPDATE" tcp fd78:3::80 443
http "v6 HTTP to the update site (remediation 80/tcp): the site" 200 '^UPDATEHTTP$' "http://[fd78:3::80]/"
expect "v6 8443 rejected" prohibited tcp fd78:3::10 8443
http "IPv4 of the same subscriber is free" 200 '^WEB$' http://10.78.3.10/
check "quarantines --json lists fd78:1::/64 enforced" wait_for 2 listed_enforced fd78:1::/64

# ---------------------------------------------------------------------------------------------
section "7. kill -9, the rules hold, a restart reconciles the kernel with the store"
out=$(ctl quarantine 10.78.1.3 --reason "garden test: crash 1" 2>&1) || bad "quarantine 10.78.1.3: $out"
out=$(ctl quarantine 10.78.1.4 --reason "garden test: crash 2, runs out while down" --for 4s 2>&1) || bad "quarantine 10.78.1.4: $out"
t_for=$(now_ms)
wait_set "10.78.1.3 in the kernel" quarantine_v4 10.78.1.3 present
wait_set "10.78.1.4 in the kernel" quarantine_v4 10.78.1.4 present
check "10.78.1.4 (--for 4s) still quarantined when the daemon is killed" level_is 10.78.1.4 quarantine
before=$(kernel_subjects | tr '\n' ' ')
kill -9 "$LZ_PID"
wait "$LZ_PID" 2>/dev/null
echo "===== lazaretd killed (SIGKILL)" >>"$LZ_LOG"
LZ_PID=""
ok "lazaretd killed with SIGKILL (kernel held: $before)"
check "the table and sets are still there" test "$(kernel_subjects | tr '\n' ' ')" = "$before"
expect "10.78.1.3 still held while the daemon is down: 443 reset" refused -s 10.78.1.3 tcp 10.78.3.10 443
expect "... 8443 rejected" unreachable -s 10.78.1.3 tcp 10.78.3.10 8443
expect "... the update site" "open UPDATE" -s 10.78.1.3 tcp 10.78.3.80 443
expect "fd78:1::2 still held: 443 reset" refused tcp fd78:3::10 443
expect "10.78.1.2 free: 443" "open WEB443" tcp 10.78.3.10 443
expect "10.78.1.2: 25 elsewhere still rejected" unreachable tcp 10.78.3.26 25
# While it is down the kernel drifts from the store: an element lost, a stray one added
# (e.g. by hand); and the 4 s override of 10.78.1.4 runs out.
gw nft delete element inet lazaret quarantine_v4 '{ 10.78.1.3 }' || bad "nft delete element 10.78.1.3"
gw nft add element inet lazaret quarantine_v4 '{ 10.78.1.77 }' || bad "nft add element 10.78.1.77"
ok "the kernel tampered with: 10.78.1.3 removed, 10.78.1.77 added ($(kernel_subjects | tr '\n' ' '))"
left=$((4300 - ($(now_ms) - t_for)))
[ "$left" -gt 0 ] && sleep "$(awk -v m="$left" 'BEGIN { printf "%.3f", m / 1000 }')"
lz_start
ok "lazaretd restarted (pid $LZ_PID)"
check "10.78.1.4's override ran out: level normal within 3 s" wait_for 3 level_is 10.78.1.4 normal
kernel_eq_store() { [ "$(kernel_subjects)" = "$(store_subjects)" ] && [ "$(kernel_subjects)" = "$(listed_subjects)" ]; }
if wait_for 3 kernel_eq_store; then
	ok "the kernel's sets equal the store's quarantines: $(kernel_subjects | tr '\n' ' ')"
else
	bad "the kernel's sets [$(kernel_subjects | tr '\n' ' ')] differ from the store's quarantines [$(store_subjects | tr '\n' ' ')] / quarantines --json [$(listed_subjects | tr '\n' ' ')]"
fi
check "the store's quarantines are exactly 10.78.1.3 and fd78:1::/64" test "$(store_subjects | tr '\n' ' ')" = "10.78.1.3 fd78:1::/64 "
check "10.78.1.3 is back in the kernel" set_has quarantine_v4 10.78.1.3
check "the stray 10.78.1.77 is gone" set_lacks quarantine_v4 10.78.1.77
check "10.78.1.4 is gone" set_lacks quarantine_v4 10.78.1.4
expect "10.78.1.3: 443 reset" refused -s 10.78.1.3 tcp 10.78.3.10 443
expect "10.78.1.4: 443 open" "open WEB443" -s 10.78.1.4 tcp 10.78.3.10 443
http "10.78.1.3: the portal after the restart" 511 'Your internet connection is restricted' --interface 10.78.1.3 http://10.78.3.10/
for s in 10.78.1.3 fd78:1::/64; do check "quarantines --json: $s enforced" wait_for 2 listed_enforced "$s"; done
expect_metric "metrics: enforced elements after the restart" lazaret_enforced_elements -eq 2
expect_metric "metrics: no enforce failures" lazaret_enforce_failures_total -eq 0

# ---------------------------------------------------------------------------------------------
section "8. SIGTERM: the rules stay when the daemon stops"
before=$(kernel_subjects | tr '\n' ' ')
lz_signal TERM
check "lazaretd exited with status 0 on SIGTERM (got $LZ_EXIT)" test "$LZ_EXIT" = 0
check "table inet lazaret still there" bash -c "ip netns exec $NS_GW nft list table inet lazaret >/dev/null"
check "the sets still hold [$before]" test "$(kernel_subjects | tr '\n' ' ')" = "$before"
expect "10.78.1.3 still held: 443 reset" refused -s 10.78.1.3 tcp 10.78.3.10 443
expect "... 8443 rejected" unreachable -s 10.78.1.3 tcp 10.78.3.10 8443
expect "10.78.1.2 free: 443" "open WEB443" tcp 10.78.3.10 443
expect "10.78.1.2: 25 to the relay" "open RELAY" tcp 10.78.3.25 25
expect "10.78.1.2: 25 elsewhere still rejected" unreachable tcp 10.78.3.26 25

echo
echo "runtime $(elapsed) s"
if [ "$failures" -eq 0 ]; then
	echo "all passed"
else
	echo "----- lazaretd log (last 40 lines) -----"
	tail -n 40 "$LZ_LOG"
	echo "-----"
	echo "$failures failed"
fi
[ "$failures" -eq 0 ]
