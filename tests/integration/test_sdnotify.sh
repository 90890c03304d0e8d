#!/bin/bash
# test_sdnotify.sh — lazaretd speaks systemd's Type=notify protocol: READY=1 once it listens
# with its store open, RELOADING=1 (with MONOTONIC_USEC=) then READY=1 around a SIGHUP
# reload, successful or not, STOPPING=1 on SIGTERM; nothing when it refuses to start. The
# manager's side is tests/tools/notify_recv on $NOTIFY_SOCKET, which sees the sender's pid
# as systemd does (NotifyAccess=main).
. "$(dirname "$0")/lib.sh"
t_init
RECV=$BUILD_DIR/tests/notify_recv
[ -x "$RECV" ] || fail "$RECV not built"

NOTIFY_OUT=$T/notify.out
"$RECV" "$T/notify" >"$NOTIFY_OUT" 2>&1 &
RECV_PID=$!
t_on_exit "kill $RECV_PID"
wait_for 5 test -S "$T/notify" || fail "notify_recv did not bind $T/notify"
export NOTIFY_SOCKET=$T/notify

# nth_state N STATE — the pid and text of the Nth datagram (1-based), "" when not there yet
nth() { sed -n "${1}p" "$NOTIFY_OUT"; }
count() { grep -c -- "$1" "$NOTIFY_OUT"; }
has_n() { [ "$(wc -l <"$NOTIFY_OUT")" -ge "$1" ]; }

case_begin "a start refused (no store) sends nothing"
lz_config
"$LAZARETD" -c "$LZ_CONF" >"$T/refused.log" 2>&1
rc=$?
assert_eq "exit status without a store" 1 "$rc"
sleep 0.3
assert_eq "datagrams from a refused start" "" "$(cat "$NOTIFY_OUT")"
case_pass

case_begin "READY=1 from the main pid once the listeners are open"
lz_start
wait_for 5 has_n 1 || fail "no READY=1 after start; saw: $(cat "$NOTIFY_OUT")"
assert_eq "first datagram" "pid=$LZ_PID READY=1" "$(nth 1)"
port_listening "$LZ_POLICY_PORT" || fail "READY=1 but the policy port is not listening"
case_pass

case_begin "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1"
kill -HUP "$LZ_PID"
wait_for 5 has_n 3 || fail "no RELOADING=1 and READY=1 after SIGHUP; saw: $(cat "$NOTIFY_OUT")"
assert_match "second datagram" "^pid=$LZ_PID RELOADING=1 MONOTONIC_USEC=[1-9][0-9]*\$" "$(nth 2)"
assert_eq "third datagram" "pid=$LZ_PID READY=1" "$(nth 3)"
assert_file_match "reload logged" "reloaded $LZ_CONF" "$LZ_LOG"
case_pass

case_begin "a failed reload still ends in READY=1 (systemd must not wait in 'reloading')"
cp "$LZ_CONF" "$T/good.conf"
echo "[limits]
host_messages = lots" >>"$LZ_CONF"
kill -HUP "$LZ_PID"
wait_for 5 has_n 5 || fail "no RELOADING=1 and READY=1 after a bad SIGHUP; saw: $(cat "$NOTIFY_OUT")"
assert_match "fourth datagram" "^pid=$LZ_PID RELOADING=1 MONOTONIC_USEC=" "$(nth 4)"
assert_eq "fifth datagram" "pid=$LZ_PID READY=1" "$(nth 5)"
assert_file_match "failed reload logged" "reload failed, keeping the running configuration" "$LZ_LOG"
cp "$T/good.conf" "$LZ_CONF"
case_pass

case_begin "SIGTERM: STOPPING=1, then a clean exit"
pid=$LZ_PID
lz_stop
assert_eq "exit status" 0 "$LZ_EXIT"
wait_for 2 has_n 6 || fail "no STOPPING=1 after SIGTERM; saw: $(cat "$NOTIFY_OUT")"
assert_eq "sixth datagram" "pid=$pid STOPPING=1" "$(nth 6)"
assert_eq "datagrams in all" 6 "$(wc -l <"$NOTIFY_OUT")"
case_pass
