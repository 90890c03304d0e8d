#!/bin/bash
# test_radius_coa.sh — lazaret's RFC 5176 client (act/radius_coa.h, driven by
# build/tests/coa_send) against a real FreeRADIUS 3.2 playing the BNG: a private radiusd on
# loopback with a `listen { type = coa }` whose recv-coa section logs every request's attributes
# (linelog) and answers ACK for the session it knows, NAK with Error-Cause 503
# (Session-Context-Not-Found) for any other:
#   1. a CoA-Request with Filter-Id and a Cisco-AVPair resolved from Debian's dictionary, with a
#      Message-Authenticator: FreeRADIUS logs what we sent and ACKs it;
#   2. a Disconnect-Request and a CoA-Request for a session it does not know: NAK, cause 503;
#   3. the same over IPv6 (::1);
#   4. the wrong secret: FreeRADIUS drops the request (bad Request Authenticator) and the client
#      gives up with a timeout after its retries;
#   5. a NAS that never answers gets the same datagram again after a doubling wait, then timeout.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=freeradius.sh
. "$(dirname "$0")/freeradius.sh"

t_init
t_require_cmd freeradius ss
SEND=$BUILD_DIR/tests/coa_send
DUMP=$BUILD_DIR/tests/udp_dump
[ -x "$SEND" ] || fail "$SEND not built"
[ -x "$DUMP" ] || fail "$DUMP not built"
DICT=/usr/share/freeradius/dictionary
[ -f "$DICT" ] || t_skip "no $DICT (freeradius-common)"

# udp_free_port — a UDP port nobody has bound, not handed out before in this test
udp_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		grep -qx "$p" "$T/ports.used" && continue
		[ -n "$(ss -Hlun "sport = :$p" 2>/dev/null)" ] && continue
		echo "$p" >>"$T/ports.used"
		echo "$p"
		return 0
	done
	return 1
}

# udp_bound PORT — something has bound UDP PORT
udp_bound() { [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]; }

COA_PORT=$(udp_free_port) || fail "no free UDP port"
RADDB=$T/raddb
freeradius_raddb "$RADDB"
cat >>"$RADDB/radiusd.conf" <<EOF
client bng {
	ipaddr = 127.0.0.1
	secret = testing123
}
client bng6 {
	ipv6addr = ::1
	secret = testing123
}
modules {
	always ok {
		rcode = ok
	}
	always reject {
		rcode = reject
	}
	linelog coa_log {
		filename = \${logdir}/coa.log
		format = "%{Packet-Type} session=%{Acct-Session-Id} user=%{User-Name} ip=%{Framed-IP-Address} filter=%{Filter-Id} avpair=%{Cisco-AVPair}"
	}
}
server bng {
	listen {
		type = coa
		ipaddr = 127.0.0.1
		port = $COA_PORT
	}
	listen {
		type = coa
		ipv6addr = ::1
		port = $COA_PORT
	}
	recv-coa {
		coa_log
		if (&Acct-Session-Id == "0A000001-00000001") {
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
EOF
COA_LOG=$RADDB/log/coa.log
FR_OUT=$T/radiusd.out

freeradius -X -d "$RADDB" >"$FR_OUT" 2>&1 &
FR_PID=$!
t_on_exit "kill $FR_PID; wait $FR_PID"
wait_for 15 grep -q 'Ready to process requests' "$FR_OUT" ||
	fail "FreeRADIUS did not start: $(tail -20 "$FR_OUT")"
log "FreeRADIUS $(freeradius -v 2>/dev/null | grep -o 'Version [0-9.]*' | head -1) listening for CoA on 127.0.0.1 and ::1 port $COA_PORT"

# coa ARGS... — coa_send against FreeRADIUS; its output in $OUT, its status in $RC
coa() {
	OUT=$("$SEND" "$@" 2>&1)
	RC=$?
	log "coa_send $*: $OUT (status $RC)"
}

case_begin "1. CoA with Filter-Id and a vendor attribute, Message-Authenticator: logged and ACKed"
coa -m -d "$DICT" -r 2 -t 500 127.0.0.1 "$COA_PORT" testing123 coa 0A000001-00000001 alice@isp.example \
	100.64.0.10 'Filter-Id = "walled-garden"' 'Cisco-AVPair = "subscriber:service-name=garden"'
assert_eq "status" 0 "$RC"
assert_match "outcome" '^outcome=ack code=CoA-Request sends=1$' "$(head -1 <<<"$OUT")"
assert_match "counts" 'sent=1 acked=1 naked=0 timed_out=0 retransmitted=0 dropped=0' "$OUT"
wait_for 5 grep -q . "$COA_LOG" || fail "FreeRADIUS logged no request"
assert_eq "FreeRADIUS's log of it" \
	"CoA-Request session=0A000001-00000001 user=alice@isp.example ip=100.64.0.10 filter=walled-garden avpair=subscriber:service-name=garden" \
	"$(tail -1 "$COA_LOG")"
# FreeRADIUS checked our Message-Authenticator (a wrong one is dropped) and shows it
assert_file_match "the Message-Authenticator reached it" 'Message-Authenticator = 0x[0-9a-f]{32}' "$FR_OUT"
assert_file_match "its answer" 'Sent CoA-ACK Id [0-9]+ from 127.0.0.1:'"$COA_PORT" "$FR_OUT"
case_pass

case_begin "2. Disconnect and CoA for a session FreeRADIUS does not know: NAK with Error-Cause 503"
coa -r 2 -t 500 127.0.0.1 "$COA_PORT" testing123 disconnect 0A000001-00000099 bob@isp.example 100.64.0.11
assert_eq "status" 1 "$RC"
assert_match "outcome" '^outcome=nak code=Disconnect-Request sends=1 error_cause=503 name=Session-Context-Not-Found$' \
	"$(head -1 <<<"$OUT")"
assert_eq "FreeRADIUS's log of it" \
	"Disconnect-Request session=0A000001-00000099 user=bob@isp.example ip=100.64.0.11 filter= avpair=" \
	"$(tail -1 "$COA_LOG")"
assert_file_match "its answer" 'Sent Disconnect-NAK Id [0-9]+' "$FR_OUT"
coa -r 2 -t 500 127.0.0.1 "$COA_PORT" testing123 coa 0A000001-00000099 bob@isp.example 100.64.0.11 \
	'Filter-Id = "walled-garden"'
assert_eq "status" 1 "$RC"
assert_match "outcome" '^outcome=nak code=CoA-Request sends=1 error_cause=503 ' "$(head -1 <<<"$OUT")"
assert_match "counts" 'sent=1 acked=0 naked=1 ' "$OUT"
case_pass

case_begin "3. the same over IPv6: a CoA to [::1] ACKed"
coa -r 2 -t 500 ::1 "$COA_PORT" testing123 coa 0A000001-00000001 alice@isp.example 100.64.0.10 \
	'Filter-Id = "walled-garden"'
assert_eq "status" 0 "$RC"
assert_match "outcome" '^outcome=ack code=CoA-Request sends=1$' "$(head -1 <<<"$OUT")"
assert_file_match "its answer" 'Sent CoA-ACK Id [0-9]+ from \[::1\]:'"$COA_PORT" "$FR_OUT"
case_pass

case_begin "4. the wrong secret: FreeRADIUS drops the request, the client times out after its retries"
lines=$(wc -l <"$COA_LOG")
coa -r 2 -t 200 127.0.0.1 "$COA_PORT" wrong-secret coa 0A000001-00000001 alice@isp.example 100.64.0.10 \
	'Filter-Id = "walled-garden"'
assert_eq "status" 2 "$RC"
assert_match "outcome" '^outcome=timeout code=CoA-Request sends=3$' "$(head -1 <<<"$OUT")"
assert_match "counts" 'sent=1 acked=0 naked=0 timed_out=1 retransmitted=2 dropped=0' "$OUT"
assert_file_match "FreeRADIUS refused our authenticator" 'invalid Request Authenticator' "$FR_OUT"
assert_eq "nothing reached recv-coa" "$lines" "$(wc -l <"$COA_LOG")"
case_pass

case_begin "5. a NAS that never answers: the same datagram after 200, 400 ms, then timeout"
SILENT_PORT=$(udp_free_port) || fail "no free UDP port"
# udp_dump ends by itself 2 s after the last datagram (the waits between them are shorter)
"$DUMP" 127.0.0.1 "$SILENT_PORT" "$T/silent.bin" 2 >"$T/udp_dump.out" 2>&1 &
DUMP_PID=$!
t_on_exit "kill $DUMP_PID"
wait_for 5 udp_bound "$SILENT_PORT" || fail "udp_dump did not start: $(cat "$T/udp_dump.out")"
t0=$(now_ms)
coa -r 2 -t 200 127.0.0.1 "$SILENT_PORT" testing123 coa 0A000001-00000001 alice@isp.example 100.64.0.10 \
	'Filter-Id = "walled-garden"'
took=$(( $(now_ms) - t0 ))
assert_eq "status" 2 "$RC"
assert_match "outcome" '^outcome=timeout code=CoA-Request sends=3$' "$(head -1 <<<"$OUT")"
# 200 + 400 + 800 ms of waiting
assert_ge "ms until the timeout" 1400 "$took"
assert_le "ms until the timeout" 5000 "$took"
wait "$DUMP_PID" 2>/dev/null
assert_match "udp_dump" '3 datagrams' "$(cat "$T/udp_dump.out")"
# three datagrams, each a 2-byte length and the same bytes
size=$(stat -c %s "$T/silent.bin")
assert_eq "three datagrams of the same length" 0 $(( size % 3 ))
part=$(( size / 3 ))
cmp -s <(head -c "$part" "$T/silent.bin") <(tail -c +"$(( part + 1 ))" "$T/silent.bin" | head -c "$part") ||
	fail "the first retransmission differs from the request"
cmp -s <(head -c "$part" "$T/silent.bin") <(tail -c "$part" "$T/silent.bin") ||
	fail "the second retransmission differs from the request"
case_pass

log "all cases passed"
