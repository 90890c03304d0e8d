#!/bin/bash
# test_privsep.sh — privilege separation, as root, in a network namespace of the test's own:
# lazaretd started as root with [daemon] user = nobody and enforce mode nftables runs as two
# processes, and /proc/PID/status of each shows it: the main process (policy, mail log,
# store, API, portal) as nobody with no capability at all, no new privileges and a seccomp
# filter; the nftables helper as nobody with CAP_NET_ADMIN alone (bounding set included).
# A quarantine made through the API reaches the kernel's set through the helper. When the
# helper is killed, the main process says so and stops with status 1 (for systemd to start
# it again) while the kernel keeps the quarantine; a restart puts everything back. A user
# that is root or unknown is refused at start.
set -u
BUILD_DIR=${BUILD_DIR:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
LAZARETD="$B/lazaretd"
CTL="$B/lazaretctl"
SEND="$B/tests/policy_send"
failures=0
. "$ROOT/tests/integration/checks.sh"

skip() {
	if [ -n "${CI:-}" ]; then echo "FAIL: $* (CI: a missing prerequisite is a failure)"; exit 1; fi
	echo "SKIP: $*"; exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (users, capabilities, a network namespace)"
command -v ip >/dev/null && command -v nft >/dev/null || skip "needs iproute2 and nftables"
id nobody >/dev/null 2>&1 || skip "needs the user nobody"

NS=lzpriv-$$
T=$(mktemp -d /tmp/lazaret-priv.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
chown nobody: "$T"
chmod 755 "$T"

PPORT=$(free_port); APORT=$(free_port); WPORT=$(free_port)
API="http://127.0.0.1:$APORT"
ctl() { in_ns "$CTL" --api "$API" "$@"; }
cat > "$T/lazaret.conf" <<EOF
[daemon]
store = $T/lazaret.db
user = nobody
[policy]
listen = 127.0.0.1:$PPORT
[judge]
ignore = none
[api]
listen = 127.0.0.1:$APORT
[portal]
listen = 127.0.0.1:$WPORT
templates = $ROOT/share/portal
[enforce]
mode = nftables
table = lzpriv
subscribers = 10.66.0.0/16
EOF

start() {
	: > "$T/daemon.log"
	nsenter --net=/run/netns/"$NS" "$LAZARETD" -d --init-store -c "$T/lazaret.conf" >> "$T/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 100); do
		in_ns curl -sf "$API/v1/stats" >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "lazaretd did not start:"; cat "$T/daemon.log"; exit 1
}
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }
caps() { echo "$(field CapInh "$1") $(field CapPrm "$1") $(field CapEff "$1") $(field CapBnd "$1") $(field CapAmb "$1")"; }
NOBODY=$(id -u nobody)

start
HELPER=$(cat "/proc/$PID/task/$PID/children" | awk '{ print $1 }')
check "the nftables helper is a child process of lazaretd" test -n "$HELPER"
check "main process: uid nobody (real, effective, saved)" test "$(awk '$1 == "Uid:" { print $2, $3, $4 }' /proc/$PID/status)" = "$NOBODY $NOBODY $NOBODY"
check "main process: no capability (inheritable, permitted, effective, bounding, ambient)" \
	test "$(caps "$PID")" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"
check "main process: no new privileges" test "$(field NoNewPrivs "$PID")" = 1
if ldd "$LAZARETD" | grep -q libasan; then
	ok "main process: no seccomp filter in a sanitizer build (said in its log)"
	check "the log says why there is no filter" grep -q "not in this build" "$T/daemon.log"
else
	check "main process: a seccomp filter (Seccomp: 2)" test "$(field Seccomp "$PID")" = 2
fi
check "helper: uid nobody" test "$(awk '$1 == "Uid:" { print $2, $3, $4 }' /proc/$HELPER/status)" = "$NOBODY $NOBODY $NOBODY"
check "helper: CAP_NET_ADMIN permitted and effective, nothing else (empty bounding set)" \
	test "$(caps "$HELPER")" = "0000000000000000 0000000000001000 0000000000001000 0000000000000000 0000000000000000"
check "the log names the helper" grep -q "privileged helper pid $HELPER holds CAP_NET_ADMIN" "$T/daemon.log"
check "the main process cannot write the ruleset itself" bash -c "! nsenter -t $PID -n -S $NOBODY -G 65534 nft add table inet lzpriv_evil 2>/dev/null"

ctl quarantine 10.66.0.7 --reason "privsep test" --for 1h >/dev/null
set_has() { in_ns nft list set inet lzpriv quarantine_v4 2>/dev/null | grep -q "$1"; }
if wait_q() { for _ in $(seq 1 50); do set_has 10.66.0.7 && return 0; sleep 0.1; done; return 1; }; wait_q; then
	ok "a quarantine through the API reaches the kernel through the helper"
else
	bad "10.66.0.7 not in the kernel's set: $(in_ns nft list set inet lzpriv quarantine_v4 2>&1 | tr '\n' ' ')"
fi
answer=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=10.66.0.7\nsender=a@example.net\nrecipient=b@example.org\n\n' |
	in_ns "$SEND" "127.0.0.1:$PPORT")
check "the relay refuses the quarantined host (policy answered by the unprivileged process)" \
	bash -c "echo '$answer' | grep -q '^action=REJECT'"

# the helper dies: lazaretd stops cleanly with status 1, the kernel keeps the quarantine
kill -9 "$HELPER"
for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
wait "$PID"; rc=$?; PID=
check "lazaretd stops with status 1 when the helper dies" test "$rc" = 1
check "... and says why" grep -q "privileged helper died of signal 9" "$T/daemon.log"
check "the kernel still holds the quarantine meanwhile" set_has 10.66.0.7
start
check "after a restart the quarantine is enforced again" set_has 10.66.0.7
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
check "SIGTERM: exit status 0" test "$rc" = 0
check "the helper is gone with it" bash -c "! pgrep -f lazaretd-priv | grep -qx '$HELPER'"

# users that cannot be
for u in root no-such-user-lz; do
	sed "s/^user = .*/user = $u/" "$T/lazaret.conf" > "$T/bad.conf"
	out=$(in_ns "$LAZARETD" -d -c "$T/bad.conf" 2>&1); rc=$?
	check "user = $u is refused at start (status $rc)" bash -c "[ $rc = 1 ] && echo '$out' | grep -q 'user $u'"
done

if [ "$failures" -gt 0 ]; then
	echo "----- lazaretd log"; tail -30 "$T/daemon.log"
	echo "$failures privilege check(s) failed"; exit 1
fi
echo "all privilege checks passed"
