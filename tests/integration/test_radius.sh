#!/bin/bash
# test_radius.sh — subscribers, not addresses (issue 10), with real components: a real
# FreeRADIUS 3.2 (Debian's) answers a BNG's accounting and copies it to lazaretd with its
# `replicate` module, the way an ISP lets lazaret in; radclient plays the BNG. In a network
# namespace of the test's own (gw), lazaretd with [radius] listen, [enforce] nftables and the
# policy service:
#   1. Start for subscriber A on 10.81.1.10: `lazaretctl who` names A.
#   2. The operator quarantines "10.81.1.10": that is A; the garden holds .10, the relay
#      rejects mail from it.
#   3. A's Stop, A's Start on .20, B's Start on .10: within a second the garden holds .20
#      and not .10, the relay rejects .20 and lets .10 (B) send; `who 10.81.1.10 --at` gives
#      A before the reconnect and B after; B carries no verdict.
#   4. Another NAS sending to lazaretd directly is answered; a request with the wrong secret
#      is dropped and counted; the BNG's Accounting-On ends the sessions of that NAS only:
#      .20 leaves the garden, the other NAS's session stays.
#   5. lazaretd restarted: the address history and A's quarantine come back from the store,
#      and A's next address is isolated again, in the garden and on the BNG.
#   6. The portal counts self-releases per subscriber: A releases herself at .20; quarantined
#      again and reconnected on .10, she finds her one self-release spent.
# With [enforce] mode = nftables radius, FreeRADIUS also plays the BNG's CoA server (RFC
# 5176): each quarantine is a CoA with Filter-Id for every session of the subscriber, a new
# session of a quarantined one is told at its Start, a session the BNG does not know is
# NAK'ed (Error-Cause 503), a release is a CoA with the release attributes; `lazaretctl
# quarantines` shows the NAS's answer and the history records each.
set -u
BUILD_DIR=${BUILD_DIR:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
LAZARETD=$B/lazaretd
LAZARETCTL=$B/lazaretctl
SEND=$B/tests/policy_send
PROBE=$B/tests/netprobe
PATH=$PATH:/usr/sbin:/sbin

. "$ROOT/tests/integration/netns.sh"
. "$ROOT/tests/integration/freeradius.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
for c in ip nft curl freeradius radclient; do
	command -v "$c" >/dev/null 2>&1 || skip "command not found: $c"
done
for f in "$LAZARETD" "$LAZARETCTL" "$SEND" "$PROBE"; do [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }; done

netns_init lzr 81
LZ_PID="" FR_PID=""
API_SOCK=$T/api.sock
LZ_LOG=$T/lazaretd.log
FR_OUT=$T/radiusd.out
ACCT_PORT=18131       # FreeRADIUS, for the BNG (in gw: nothing else there)
LZ_PORT=18132         # lazaretd, for FreeRADIUS's copies
COA_PORT=18133        # FreeRADIUS again, as the BNG's CoA server (RFC 5176)
NET=10.81.1

# stop_lazaretd — SIGTERM, its exit status in LZ_RC (under ASan a leak or an error is not 0)
LZ_RC=0
stop_lazaretd() {
	[ -n "$LZ_PID" ] || return 0
	kill -TERM "$LZ_PID" 2>/dev/null
	wait_for 10 pid_gone "$LZ_PID" || kill -9 "$LZ_PID" 2>/dev/null
	wait "$LZ_PID" 2>/dev/null
	LZ_RC=$?
	LZ_PID=""
}
netns_before_cleanup() {
	[ -n "$FR_PID" ] && kill "$FR_PID" 2>/dev/null && wait "$FR_PID" 2>/dev/null
	stop_lazaretd
}
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
ctl() { "$LAZARETCTL" --api "unix:$API_SOCK" "$@"; }
fatal() {
	bad "$*"
	echo "----- lazaretd log (last 30 lines) -----"
	tail -n 30 "$LZ_LOG" 2>/dev/null
	echo "----- FreeRADIUS (last 30 lines) -----"
	tail -n 30 "$FR_OUT" 2>/dev/null
	exit 1
}

netns_topology "10 20" "25"

section "FreeRADIUS in gw: accounting from the BNG on 127.0.0.1:$ACCT_PORT, replicated to lazaretd"
RADDB=$T/raddb
freeradius_raddb "$RADDB"
cat >>"$RADDB/radiusd.conf" <<EOF
proxy_requests = yes
client bng {
	ipaddr = 127.0.0.1
	secret = bng-secret
}
# lazaretd, as the README's snippet has it: a home server of type acct in a realm that
# replicate copies to (fire and forget: FreeRADIUS answers the BNG itself)
home_server lazaret {
	type = acct
	ipaddr = 127.0.0.1
	port = $LZ_PORT
	secret = replicate-secret
	response_window = 5
}
home_server_pool lazaret {
	type = fail-over
	home_server = lazaret
}
realm lazaret {
	acct_pool = lazaret
	nostrip
}
modules {
	replicate {
	}
	always ok {
		rcode = ok
	}
	always reject {
		rcode = reject
	}
	linelog coa_log {
		filename = \${logdir}/coa.log
		format = "%{Packet-Type} session=%{Acct-Session-Id} user=%{User-Name} ip=%{Framed-IP-Address} filter=%{Filter-Id}"
	}
}
# the BNG's CoA server: logs what it gets, knows alice's sessions, refuses the rest
server nas {
	listen {
		type = coa
		ipaddr = 127.0.0.1
		port = $COA_PORT
	}
	recv-coa {
		coa_log
		if (&Acct-Session-Id =~ /^a-/) {
			ok
		}
		else {
			update reply {
				&Error-Cause := Session-Context-Not-Found
			}
			reject
		}
	}
	send-coa {
		ok
	}
}
server bng {
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = $ACCT_PORT
	}
	preacct {
		ok
	}
	accounting {
		update control {
			&Replicate-To-Realm := "lazaret"
		}
		replicate
		ok
	}
}
EOF
# ip netns exec execs freeradius: $! is its pid (gw, a function, would be a subshell)
ip netns exec "$NS_GW" freeradius -X -d "$RADDB" >"$FR_OUT" 2>&1 &
FR_PID=$!
wait_for 15 grep -q 'Ready to process requests' "$FR_OUT" || fatal "FreeRADIUS did not start"
ok "FreeRADIUS $(freeradius -v 2>/dev/null | grep -o 'Version [0-9.]*' | head -1), pid $FR_PID"

section "lazaretd in gw: [radius] for FreeRADIUS, [enforce] nftables, the policy service"
printf 'replicate-secret\n' >"$T/radius.secret"
chmod 600 "$T/radius.secret"
cat >"$T/lazaret.conf" <<EOF
[daemon]
store = $T/lazaret.db
checkpoint_interval = 1s
[network]
subscribers = $NET.0/24
[policy]
listen = unix:$T/policy.sock
[api]
socket = $API_SOCK
[portal]
listen = [::]:8080
templates = $ROOT/share/portal
self_release_limit = 1
[enforce]
mode = nftables radius
portal = $NET.1:8080
[radius]
listen = 127.0.0.1:$LZ_PORT
coa_timeout = 500ms
coa_retries = 1
coa_resend = 2s
[radius client freeradius]
address = 127.0.0.1
secret_file = $T/radius.secret
[radius nas bng1]
address = 127.0.0.1
port = $COA_PORT
secret_file = $T/coa.secret
identify = Acct-Session-Id User-Name Framed-IP-Address NAS-IP-Address
quarantine = Filter-Id = "walled-garden"
release = Filter-Id = "default"
EOF
printf 'bng-secret\n' >"$T/coa.secret"
chmod 600 "$T/coa.secret"
out=$("$LAZARETD" -n -c "$T/lazaret.conf" 2>&1) || fatal "lazaretd -n rejects the configuration: $out"
start_lazaretd() {
	# ip netns exec execs the program: $! is lazaretd itself
	ip netns exec "$NS_GW" "$LAZARETD" "$@" -c "$T/lazaret.conf" >>"$LZ_LOG" 2>&1 &
	LZ_PID=$!
	wait_for 10 test -S "$API_SOCK" || fatal "lazaretd did not start"
	wait_for 10 gw nft list set inet lazaret quarantine_v4 || fatal "no table inet lazaret after 10 s"
}
start_lazaretd --init-store
ok "lazaretd pid $LZ_PID, RADIUS accounting on 127.0.0.1:$LZ_PORT"

# acct STATUS USER SESSION ADDRESS [SECRET] — the BNG's Accounting-Request, through FreeRADIUS
acct() {
	printf 'User-Name = "%s"\nAcct-Status-Type = %s\nAcct-Session-Id = "%s"\nFramed-IP-Address = %s\nNAS-Identifier = "bng1"\nNAS-IP-Address = 127.0.0.1\n' \
		"$2" "$1" "$3" "$4" | gw radclient -r 2 -t 2 "127.0.0.1:$ACCT_PORT" acct "${5:-bng-secret}" >/dev/null 2>&1
}
holder() { ctl who "$1" ${2:+--at "$2"} 2>/dev/null | head -1 | sed -n 's/.*: subscriber:\(.*\)$/\1/p'; }
holds() { [ "$(holder "$1" "${3:-}")" = "$2" ]; }
in_garden() { gw nft list set inet lazaret quarantine_v4 | grep -q "$1"; }
not_in_garden() { ! in_garden "$1"; }
# policy ADDRESS — the relay's answer to mail from ADDRESS at RCPT
policy() {
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=unknown\nsender=a@example.net\nrecipient=b@example.org\n\n' "$1" |
		"$SEND" "unix:$T/policy.sock" 2000 | sed -n 's/^action=\([A-Z_]*\).*/\1/p' | head -1
}

COA_LOG=$RADDB/log/coa.log
coa_logged() { grep -q "$1" "$COA_LOG" 2>/dev/null; }
nas_state() { ctl quarantines 2>/dev/null | grep "^subscriber:$1 " | grep -o '[a-z]* (bng1)'; }

section "1. Start for A on $NET.10"
acct Start alice a-1 "$NET.10" || fatal "radclient: no answer from FreeRADIUS"
wait_for 5 holds "$NET.10" alice && ok "who $NET.10: alice" || bad "who $NET.10: '$(holder "$NET.10")', not alice"

section "2. The operator quarantines $NET.10: that is alice"
out=$(ctl quarantine "$NET.10" --reason "bot (test)" 2>&1)
echo "$out" | head -2
check "the quarantine names subscriber:alice" grep -q "alice" <<<"$out"
wait_for 5 in_garden "$NET.10" && ok "the garden holds $NET.10" || bad "$NET.10 not in the garden"
check "the relay rejects mail from $NET.10" test "$(policy "$NET.10")" = REJECT
wait_for 5 coa_logged 'CoA-Request session=a-1 user=alice ip=10.81.1.10 filter=walled-garden' &&
	ok "the BNG got a CoA for session a-1 with Filter-Id walled-garden" || bad "no CoA for a-1: $(cat "$COA_LOG" 2>&1)"
wait_for 5 test "$(nas_state alice)" = "acked (bng1)" && ok "quarantines: the NAS acknowledged (acked (bng1))" ||
	bad "quarantines: '$(nas_state alice)', not acked (bng1)"
sleep 1.1     # a whole second after alice's Start: `who --at` takes whole seconds
before=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1

section "3. alice reconnects on $NET.20; bob gets $NET.10"
acct Stop alice a-1 "$NET.10"
t0=$(now_ms)
acct Start alice a-2 "$NET.20"
acct Start bob b-1 "$NET.10"
if wait_for 5 in_garden "$NET.20"; then
	ok "the garden holds $NET.20 $(( $(now_ms) - t0 )) ms after alice's Start (radclient's round trips included)"
else
	bad "$NET.20 not in the garden"
fi
wait_for 2 not_in_garden "$NET.10" && ok "$NET.10 (bob's now) left the garden" || bad "$NET.10 still in the garden"
check "the relay rejects mail from $NET.20" test "$(policy "$NET.20")" = REJECT
check "the relay lets bob send from $NET.10" test "$(policy "$NET.10")" = DUNNO
check "who $NET.10 --at $before: alice" holds "$NET.10" alice "$before"
check "who $NET.10 now: bob" holds "$NET.10" bob
api_code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$API_SOCK" "http://lazaret$1"; }
check "GET /v1/who with a garbage address: 400" test "$(api_code '/v1/who?address=10.81.1.999')" = 400
check "GET /v1/who with a garbage time: 400" test "$(api_code "/v1/who?address=$NET.10&at=yesterday")" = 400
check "GET /v1/who?at=2026-13-01T00:00Z (month 13): 400" test "$(api_code "/v1/who?address=$NET.10&at=2026-13-01T00:00Z")" = 400
check "lazaretctl who refuses a garbage address" sh -c "! '$LAZARETCTL' --api unix:$API_SOCK who 'x;y' >/dev/null 2>&1"
before_at=$(date -u -d "$before" +@%s)
before_space=$(date -u -d "$before" '+%Y-%m-%d %H:%M:%S')
check "who --at $before_at (seconds since the epoch): alice" holds "$NET.10" alice "$before_at"
check "who --at '$before_space': alice" holds "$NET.10" alice "$before_space"
check "bob carries no verdict" grep -q "^Level *normal" <<<"$(ctl explain subscriber:bob 2>&1)"
check "lazaretctl hosts lists subscriber:alice at quarantine" grep -q "^subscriber:alice *quarantine" <<<"$(ctl hosts 2>&1)"
wait_for 5 coa_logged 'CoA-Request session=a-2 user=alice ip=10.81.1.20 filter=walled-garden' &&
	ok "her new session a-2 was told at its Start" || bad "no CoA for a-2"
check "alice's history records the NAS's answers" grep -q "CoA-Request for the quarantine acknowledged (NAS bng1, session a-2)" \
	<<<"$(ctl history subscriber:alice 2>&1)"
acct Start dave d-1 "$NET.50"
wait_for 5 holds "$NET.50" dave || bad "dave does not hold $NET.50"
ctl quarantine subscriber:dave --reason "test: a session the NAS does not know" >/dev/null 2>&1
wait_for 5 test "$(nas_state dave)" = "naked (bng1)" && ok "a session the NAS does not know: naked (bng1)" ||
	bad "dave: '$(nas_state dave)', not naked (bng1)"
check "dave's history gives the Error-Cause" grep -q "refused: Session-Context-Not-Found (503)" \
	<<<"$(ctl history subscriber:dave 2>&1)"
ctl release subscriber:dave --reason "test" >/dev/null 2>&1
wait_for 5 coa_logged 'CoA-Request session=d-1 user=dave ip=10.81.1.50 filter=default' &&
	ok "dave's release: a CoA with Filter-Id default" || bad "no release CoA for dave"
naks() { curl -s --unix-socket "$API_SOCK" http://lazaret/metrics | grep -q "^lazaret_coa_naks_total{nas=\"bng1\",cause=\"503\"} $1\$"; }
wait_for 5 naks 2 &&
	ok "/metrics: the NAS's NAKs by cause" || bad "/metrics: no lazaret_coa_naks_total{nas=\"bng1\",cause=\"503\"} 2"
check "alice's explain names her quarantine" grep -q "^Level *quarantine" <<<"$(ctl explain subscriber:alice 2>&1)"
ctl who "$NET.10"

section "3b. A subscriber id is untrusted text"
# a User-Name a subscriber chose (PPPoE login): quotes, spaces, a forged key=value
acct Start 'x\" host=10.81.1.99 level=normal reason=\"y' e-1 "$NET.60"     # radclient's escapes: the id is x" host=... reason="y
ctl quarantine "$NET.60" --reason "test: a hostile name" >/dev/null 2>&1
wait_for 5 grep -q 'verdict subscriber=x%22%20host=10.81.1.99%20level=normal%20reason=%22y level=quarantine' "$LZ_LOG" &&
	ok "its verdict line carries it escaped: one subscriber= field, no forged host= or level=" ||
	bad "the hostile id was not escaped in the log: $(grep 'verdict subscriber=x' "$LZ_LOG" | tail -1)"
check "lazaretctl who prints it as subject text" grep -q 'subscriber:x%22%20host=10.81.1.99' <<<"$(ctl who "$NET.60" 2>&1)"
check "and takes it back" grep -q "^Level *quarantine" <<<"$(ctl explain 'subscriber:x%22%20host=10.81.1.99%20level=normal%20reason=%22y' 2>&1)"
wait_for 5 in_garden "$NET.60" && ok "its address is in the garden" || bad "$NET.60 not in the garden"

section "4. Retransmissions, a wrong secret, the BNG's Accounting-On"
printf 'User-Name = "carol"\nAcct-Status-Type = Start\nAcct-Session-Id = "c-1"\nFramed-IP-Address = %s.30\n' "$NET" |
	gw radclient -r 1 -t 2 "127.0.0.1:$LZ_PORT" acct replicate-secret >/dev/null 2>&1 ||
	bad "lazaretd did not answer radclient"
printf 'User-Name = "mallory"\nAcct-Status-Type = Start\nAcct-Session-Id = "m-1"\nFramed-IP-Address = %s.40\n' "$NET" |
	gw radclient -r 1 -t 1 "127.0.0.1:$LZ_PORT" acct wrong-secret >/dev/null 2>&1 &&
	bad "lazaretd answered a request with the wrong secret"
stats=$(ctl stats --json | tr -d ' \n')
check "the wrong secret is counted" grep -q '"authenticator":1' <<<"$stats"
metrics=$(curl -s --unix-socket "$API_SOCK" http://lazaret/metrics)
check "/metrics: the wrong secret, by client and reason" \
	grep -q '^lazaret_radius_dropped_total{client="freeradius",reason="authenticator"} 1$' <<<"$metrics"
check "/metrics: the networks held" grep -q '^lazaret_identity_networks_held [0-9]' <<<"$metrics"
check "/metrics: datagrams read by the listener" \
	grep -Eq "^lazaret_radius_datagrams_total\{listen=\"127\.0\.0\.1:$LZ_PORT\"\} [1-9][0-9]*$" <<<"$metrics"
check "/metrics: no datagram dropped by the kernel" \
	grep -q "^lazaret_radius_kernel_drops_total{listen=\"127.0.0.1:$LZ_PORT\"} 0$" <<<"$metrics"
check "/metrics: the answers segmented and refused, counted" grep -q '^lazaret_radius_answers_segmented_total{' <<<"$metrics" &&
	grep -q "^lazaret_radius_send_errors_total{listen=\"127.0.0.1:$LZ_PORT\"} 0$" <<<"$metrics"
check "stats: the listener's socket counts" grep -Eq '"listeners":\[\{"listen":"127\.0\.0\.1:[0-9]+","datagrams":[1-9]' <<<"$stats"
check "carol holds $NET.30" holds "$NET.30" carol
check "mallory holds nothing" test -z "$(holder "$NET.40")"
printf 'Acct-Status-Type = Accounting-On\nNAS-Identifier = "bng1"\nNAS-IP-Address = 127.0.0.1\nAcct-Session-Id = "on"\n' |
	gw radclient -r 2 -t 2 "127.0.0.1:$ACCT_PORT" acct bng-secret >/dev/null 2>&1
wait_for 5 not_in_garden "$NET.20" && ok "Accounting-On: alice's session ended, $NET.20 left the garden" ||
	bad "$NET.20 still in the garden after Accounting-On"
check "who $NET.10 after Accounting-On: nobody" test -z "$(holder "$NET.10")"
check "carol (sent by another NAS, directly) still holds $NET.30" holds "$NET.30" carol
echo "radius: $(ctl stats --json | tr -d '\n ' | grep -o '"radius":{.*' | cut -c1-400)"

section "5. lazaretd restarted: the history and alice's quarantine from the store"
stop_lazaretd
check "lazaretd stopped cleanly (status $LZ_RC)" test "$LZ_RC" = 0
start_lazaretd
check "who $NET.30 after a restart: carol" holds "$NET.30" carol
check "who $NET.10 --at $before after a restart: alice (from the store)" holds "$NET.10" alice "$before"
acct Start alice a-3 "$NET.20"
wait_for 5 in_garden "$NET.20" && ok "alice's next address is isolated again" || bad "$NET.20 not in the garden"
wait_for 5 coa_logged 'CoA-Request session=a-3 ' && ok "and her session a-3 told to the BNG" || bad "no CoA for a-3"

section "6. The portal counts self-releases per subscriber, not per address"
# portal FROM [curl args] PATH — the portal as the subscriber at FROM sees it; body in $T/body
portal() {
	local from=$1
	shift
	CODE=$(ip netns exec "$NS_SUB" curl -s --noproxy '*' --max-time 5 --interface "$from" -o "$T/body" \
		-w '%{http_code}' "${@:1:$#-1}" "http://$NET.1:8080${*: -1}") || CODE=curl-failed
}
token_of() { sed -n 's/.*name="token" value="\([0-9]*\.[0-9a-f]*\)".*/\1/p' "$T/body" | head -n1; }
ctl release subscriber:alice --reason "test: again, with the button" >/dev/null 2>&1
ctl quarantine subscriber:alice --self-release --reason "test: may release herself" >/dev/null 2>&1
portal "$NET.20" /
token=$(token_of)
check "alice at $NET.20 gets the notice with a release button ($CODE)" test "$CODE" = 511 -a -n "$token"
portal "$NET.20" --data-urlencode "token=$token" /release
check "she releases herself ($CODE)" grep -q "^Level *normal" <<<"$(ctl explain subscriber:alice 2>&1)"
ctl quarantine subscriber:alice --self-release --reason "test: again" >/dev/null 2>&1
acct Stop alice a-3 "$NET.20"
acct Start alice a-4 "$NET.10"
wait_for 5 holds "$NET.10" alice || bad "alice does not hold $NET.10"
portal "$NET.10" /
check "at $NET.10 her one self-release is spent: no button, a case number ($CODE)" \
	test "$CODE" = 511 -a -z "$(token_of)" -a -n "$(grep -o 'Your case number' "$T/body")"
acct Start alice a-5 "$NET.10"     # the BNG gave her the same address again, a new session
wait_for 5 coa_logged 'CoA-Request session=a-5 ' && ok "a new session on the same address is told to the BNG" ||
	bad "no CoA for a-5 (same address, new session)"
check "the release is in her history, by the portal" grep -q "portal.*self-release" <<<"$(ctl history subscriber:alice 2>&1)"

section "7. A NAS that does not answer is asked again every coa_resend, until it does"
# the BNG's CoA port unreachable for a while: nftables in gw drops what goes to it
gw nft add table inet lzr_test
gw nft add chain inet lzr_test out '{ type filter hook output priority 0; }'
gw nft add rule inet lzr_test out udp dport "$COA_PORT" drop
acct Start erin a-60 "$NET.60"
wait_for 5 holds "$NET.60" erin || bad "erin does not hold $NET.60"
ctl quarantine subscriber:erin --reason "test: the NAS is down" >/dev/null 2>&1
erin_failed() { [ "$(nas_state erin)" = "failed (bng1)" ]; }
wait_for 10 erin_failed && ok "no answer from the NAS: quarantines shows $(nas_state erin)" ||
	bad "erin's NAS state is '$(nas_state erin)', not failed (bng1)"
check "nothing reached the BNG meanwhile" test -z "$(grep 'session=a-60 ' "$COA_LOG" 2>/dev/null)"
gw nft delete table inet lzr_test
wait_for 10 coa_logged 'CoA-Request session=a-60 user=erin ip=10.81.1.60 filter=walled-garden' &&
	ok "the NAS back: erin's quarantine told again, unasked" || bad "no CoA for a-60 after the NAS came back"
erin_acked() { [ "$(nas_state erin)" = "acked (bng1)" ]; }
wait_for 5 erin_acked && ok "and acknowledged" || bad "erin's NAS state is '$(nas_state erin)', not acked"
resent() { curl -s --unix-socket "$API_SOCK" http://lazaret/metrics | grep -Eq '^lazaret_coa_resent_total [1-9]'; }
wait_for 2 resent && ok "/metrics counts it (lazaret_coa_resent_total)" || bad "lazaret_coa_resent_total is 0"

stop_lazaretd
check "lazaretd stopped cleanly again (status $LZ_RC)" test "$LZ_RC" = 0

echo
if [ "$failures" -eq 0 ]; then
	echo "all subscriber checks passed in $(elapsed) s"
else
	echo "----- lazaretd log (last 40 lines) -----"
	tail -n 40 "$LZ_LOG"
	echo "$failures failed"
fi
[ "$failures" -eq 0 ]
