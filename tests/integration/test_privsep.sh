#!/bin/bash
# test_privsep.sh — privilege separation, as root, in a network namespace of the test's own:
# lazaretd started as root with [daemon] user = nobody and enforce mode nftables runs as three
# processes, and /proc/PID/status of each shows it: the main process (policy, mail log,
# store, API, portal desk) as nobody with no capability at all, no new privileges and a
# seccomp filter; the portal's front (HTTP from subscribers) the same with a stricter filter
# of its own and no descriptor of the store; the nftables helper as nobody with CAP_NET_ADMIN
# alone (empty bounding set). A system call outside the front's filter kills the front only,
# and a new one answers while the relay, the API and the kernel's quarantine go on.
# A quarantine made through the API reaches the kernel's set through the helper. When the
# helper is killed, the main process says so and stops with status 1 (for systemd to start
# it again) while the kernel keeps the quarantine; a restart puts everything back. A user
# that is root or unknown is refused at start. With log_level = warn (nothing logged before
# the front is forked) the first quarantined visitor gets the notice from the first front.
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
# the templates where nobody may read them (a clone under /root is not)
cp -r "$ROOT/share/portal" "$T/portal"
chown -R nobody: "$T"
chmod 755 "$T"

PPORT=$(free_port); WPORT=80      # the namespace is the test's own: port 80 is free there
API="unix:$T/api.sock"
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
socket = $T/api.sock
[portal]
listen = 127.0.0.1:$WPORT
templates = $T/portal
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
		ctl stats >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "lazaretd did not start:"; cat "$T/daemon.log"; exit 1
}
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }
caps() { echo "$(field CapInh "$1") $(field CapPrm "$1") $(field CapEff "$1") $(field CapBnd "$1") $(field CapAmb "$1")"; }
NOBODY=$(id -u nobody)

child_named() {   # child_named NAME: the pid of lazaretd's child process called NAME
	local c
	for c in $(cat /proc/"$PID"/task/*/children 2>/dev/null); do
		[ "$(awk '$1 == "Name:" { print $2 }' "/proc/$c/status" 2>/dev/null)" = "$1" ] && { echo "$c"; return 0; }
	done
	return 1
}

start
HELPER=$(child_named lazaretd-priv)
FRONT=$(child_named lazaretd-portal)
check "the nftables helper is a child process of lazaretd" test -n "$HELPER"
check "the portal's front is a child process of lazaretd" test -n "$FRONT"
check "main process: uid nobody (real, effective, saved)" test "$(awk '$1 == "Uid:" { print $2, $3, $4 }' /proc/$PID/status)" = "$NOBODY $NOBODY $NOBODY"
check "main process: no capability (inheritable, permitted, effective, bounding, ambient)" \
	test "$(caps "$PID")" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"
check "main process: no new privileges" test "$(field NoNewPrivs "$PID")" = 1
asan=0
ldd "$LAZARETD" | grep -q libasan && asan=1
if [ "$asan" = 1 ]; then
	ok "main process: no seccomp filter in a sanitizer build (said in its log)"
	check "the log says why there is no filter" grep -q "not in this build" "$T/daemon.log"
else
	check "main process: a seccomp filter (Seccomp: 2)" test "$(field Seccomp "$PID")" = 2
fi
check "helper: uid nobody" test "$(awk '$1 == "Uid:" { print $2, $3, $4 }' /proc/$HELPER/status)" = "$NOBODY $NOBODY $NOBODY"
check "helper: CAP_NET_ADMIN permitted and effective, nothing else (empty bounding set)" \
	test "$(caps "$HELPER")" = "0000000000000000 0000000000001000 0000000000001000 0000000000000000 0000000000000000"
check "portal front: uid nobody" test "$(awk '$1 == "Uid:" { print $2, $3, $4 }' /proc/$FRONT/status)" = "$NOBODY $NOBODY $NOBODY"
check "portal front: no capability" \
	test "$(caps "$FRONT")" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"
check "portal front: no new privileges" test "$(field NoNewPrivs "$FRONT")" = 1
check "portal front: holds no descriptor of the store" bash -c "! ls -l /proc/$FRONT/fd | grep -q lazaret.db"
check "the main process does hold the store" bash -c "ls -l /proc/$PID/fd | grep -q lazaret.db"
if [ "$asan" = 0 ]; then
	check "portal front: its own seccomp filter (Seccomp: 2)" test "$(field Seccomp "$FRONT")" = 2
fi
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

# A system call outside the front's filter (strace turns its next accept4 into getpgrp, which
# the filter does not allow): the kernel kills the front alone, the main process starts a new
# one, the connection waiting in the listen queue is answered by it, and the relay's answers,
# the API and the kernel's quarantine go on.
portal_code() { in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$WPORT/" 2>/dev/null; }
check "the portal answers (200 for a host that is not quarantined)" test "$(portal_code)" = 200
if [ "$asan" = 0 ]; then
	command -v strace >/dev/null || skip "needs strace"
	timeout 10 strace -qq -o "$T/strace.log" -p "$FRONT" -e trace=accept4,accept \
		-e inject=accept4,accept:error=EPERM:syscall=getpgrp:when=1 &
	SPID=$!
	sleep 0.5
	code=$(portal_code)
	wait "$SPID" 2>/dev/null
	check "a forbidden system call kills the front (SIGSYS)" grep -q "killed by SIGSYS" "$T/strace.log"
	check "... and the log says so" grep -q "front process pid $FRONT died of signal 31 (a system call outside its seccomp filter)" "$T/daemon.log"
	check "the request waiting meanwhile is answered by the new front (HTTP $code)" test "$code" = 200
	NEWFRONT=$(child_named lazaretd-portal)
	check "a new front runs (pid $NEWFRONT, was $FRONT)" test -n "$NEWFRONT" -a "$NEWFRONT" != "$FRONT"
	check "the main process lives on" kill -0 "$PID"
	check "the kernel still holds the quarantine" set_has 10.66.0.7
	answer=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=10.66.0.7\nsender=a@example.net\nrecipient=b@example.org\n\n' |
		in_ns "$SEND" "127.0.0.1:$PPORT")
	check "the relay still refuses the quarantined host" bash -c "echo '$answer' | grep -q '^action=REJECT'"
	check "the API still answers" ctl stats
fi

# The front keeps an answer for a second; a level change makes it forget at once.
check "a page for 127.0.0.1 (not quarantined): 200" test "$(portal_code)" = 200
ctl quarantine 127.0.0.1 --reason "privsep test: the front's memory" --self-release >/dev/null
check "quarantined the moment after: the next page is the notice (511), not the kept 200" test "$(portal_code)" = 511
ctl release 127.0.0.1 --reason "privsep test" >/dev/null
check "released the moment after: 200 again, not the kept notice" test "$(portal_code)" = 200

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

check "the portal listens on port 80 though no process kept CAP_NET_BIND_SERVICE" grep -q "portal listening on http://127.0.0.1:80/" "$T/daemon.log"
sed "s/^listen = 127.0.0.1:$PPORT/listen = 127.0.0.1:25/" "$T/lazaret.conf" > "$T/low.conf"
out=$(in_ns "$LAZARETD" -d -c "$T/low.conf" 2>&1); rc=$?
check "a policy port below 1024 is refused at start (status $rc)" bash -c "[ $rc = 1 ] && echo '$out' | grep -q 'policy\] listen port 25: below 1024 only the portal'"

# With log_level = warn the main process logs nothing before it forks the front, so the
# time zone (which glibc's strftime loads on first use, reading /etc/localtime) was first
# wanted by the front, in its first notice page's dates, and open() killed it: the first
# quarantined visitor got no page. The front loads it before its filter goes on. (Not -d:
# that logs at debug level, and the main process loads the zone itself.)
sed 's/^\[daemon\]$/[daemon]\nlog_level = warn/' "$T/lazaret.conf" > "$T/warn.conf"
: > "$T/daemon.log"
nsenter --net=/run/netns/"$NS" "$LAZARETD" -c "$T/warn.conf" >> "$T/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do ctl stats >/dev/null 2>&1 && break; sleep 0.05; done
FRONT=$(child_named lazaretd-portal)
ctl quarantine 127.0.0.1 --reason "privsep test, quiet log" --self-release >/dev/null
code=$(portal_code)
check "log_level = warn: the first notice page is served (HTTP $code)" test "$code" = 511
check "... by the front that was there before it (pid $FRONT), which is still alive" \
	test -n "$FRONT" -a "$(child_named lazaretd-portal)" = "$FRONT"
check "... and no front died" bash -c "! grep -q 'front process pid .* died' '$T/daemon.log'"
ctl release 127.0.0.1 --reason "privsep test" >/dev/null
kill -TERM "$PID"; wait "$PID"; PID=

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
