#!/bin/bash
# test_daemon.sh — lazaretd on its own: configuration checks, listeners (IPv4, IPv6,
# unix), malformed requests, concurrency, reload, durability across kill -9, and
# lazaretctl against the real daemon. One daemon is shared by the cases that can.
set -u
BUILD_DIR=${BUILD_DIR:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
LAZARETD="$B/lazaretd"
CTL="$B/lazaretctl"
SEND="$B/tests/policy_send"
T=$(mktemp -d /tmp/lazaret-daemon.XXXXXX)
PID=
failures=0

cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

. "$ROOT/tests/integration/checks.sh"

PPORT=$(free_port); PPORT6=$(free_port); WPORT=$(free_port)
API_SOCK=$T/api.sock   # the API: its Unix socket, for curl --unix-socket
API="http://localhost"
export LAZARET_API=unix:$API_SOCK

write_conf() {   # write_conf FILE HOST_BURST
	cat > "$1" <<CONF
[daemon]
store = $T/lazaret.db
log_level = info
checkpoint_interval = 1s
[policy]
listen = 127.0.0.1:$PPORT
listen = [::1]:$PPORT6
listen = unix:$T/policy.sock
[limits]
host_messages = 10/1h
host_messages_burst = $2
[judge]
# the test's hosts are on loopback
ignore = none
[api]
socket = $API_SOCK
[portal]
url = http://portal.test.example/
listen = 127.0.0.1:$WPORT
templates = $ROOT/share/portal
CONF
}

start() {
	# --init-store on the first start only: the restarts must find the store the last run left
	"$LAZARETD" $([ -e "$T/lazaret.db" ] || echo --init-store) -c "$T/lazaret.conf" >> "$T/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 100); do
		curl -sf --unix-socket "$API_SOCK" "$API/v1/stats" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "lazaretd did not start:"; cat "$T/daemon.log"; exit 1
}

req() {   # req STATE ADDRESS [extra attribute lines]
	printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=host.example\nhelo_name=pc\nsender=a@example.net\nrecipient=b@example.org\nrecipient_count=1\nqueue_id=4AbCdEf\ninstance=1.2.3\nsize=1234\n%s\n' "$1" "$2" "${3:-}"
}

# --- configuration checks (no daemon) -------------------------------------------------
"$LAZARETD" -n -c "$ROOT/etc/lazaret.conf" > "$T/norm1.conf"; rc=$?
check "-n accepts the shipped configuration" test "$rc" = 0
check "-n output reads back identically" bash -c "'$LAZARETD' -n -c '$T/norm1.conf' | tail -n +2 > '$T/norm2.conf' && tail -n +2 '$T/norm1.conf' | cmp -s - '$T/norm2.conf'"
printf '[daemon]\nlog_level = info\n\n[limits]\nhost_messages = sixty\n' > "$T/bad1.conf"
out=$("$LAZARETD" -n -c "$T/bad1.conf" 2>&1); rc=$?
check "a bad value names file:line and exits 1" test "$rc" = 1 -a "${out%%:*}" = "$T/bad1.conf" -a "$(echo "$out" | cut -d: -f2)" = 5
printf '[evidence no_such_kind]\nweight = 1\n' > "$T/bad2.conf"
out=$("$LAZARETD" -n -c "$T/bad2.conf" 2>&1); rc=$?
check "an unknown evidence kind names file:line" bash -c "[ $rc = 1 ] && echo '$out' | grep -q '^$T/bad2.conf:1: \[evidence no_such_kind\]'"
out=$("$LAZARETD" -n -c "$T/missing.conf" 2>&1); rc=$?
check "a missing file is reported as file:0" bash -c "[ $rc = 1 ] && echo '$out' | grep -q '^$T/missing.conf:0: '"
check "--help prints usage" bash -c "'$LAZARETD' --help | grep -q 'usage: lazaretd'"

# --- one daemon for the rest -----------------------------------------------------------
write_conf "$T/lazaret.conf" 5
start

# thread_nice PID NAME: the nice value of PID's thread named NAME (field 19 of its stat,
# the 17th after the name's closing parenthesis); the main thread's for NAME = main
thread_nice() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$2" = main ] && [ "${t##*/}" = "$1" ] || [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			sed 's/.*) //' "$t/stat" | cut -d' ' -f17
			return
		fi
	done
}
# Background threads (common/background.h): the store's writer 10 nice steps below the loop
check "the store's writer runs 10 nice steps below the event loop (background_nice default)" \
    test "$(thread_nice $PID lazaretd-store)" = "$(( $(thread_nice $PID main) + 10 ))"
check "the start line says so (SQLite: the writer alone)" \
    grep -q "threads: the store's writer runs 10 nice steps below the event loop (background_nice)$" "$T/daemon.log"

# Huge pages (common/hugepages.h): lazaretd ran itself again with glibc's tunable set, the
# same process under the same name.
THP=/sys/kernel/mm/transparent_hugepage/enabled
if [ ! -r $THP ] || grep -q '\[never\]' $THP; then
	check "without THP in the kernel, the start line says so" \
	    grep -q 'memory: transparent huge pages for malloc: off (the kernel' "$T/daemon.log"
else
	check "lazaretd runs with glibc.malloc.hugetlb=1 in GLIBC_TUNABLES" \
	    bash -c "tr '\\0' '\\n' < /proc/$PID/environ | grep -q '^GLIBC_TUNABLES=\(.*:\)\?glibc.malloc.hugetlb=1\(:.*\)\?$'"
	check "run again as the same process, still named lazaretd ($(cat /proc/$PID/comm))" \
	    test "$(cat /proc/$PID/comm)" = lazaretd
	check "the start line says huge pages are on" \
	    grep -q 'memory: transparent huge pages for malloc: on$' "$T/daemon.log"
fi

out=$(req DATA 192.0.2.10 | "$SEND" 127.0.0.1:$PPORT)
check "IPv4 listener answers DUNNO" test "$out" = $'action=DUNNO'
out=$(req DATA 2001:db8:1:2::55 | "$SEND" "[::1]:$PPORT6")
check "IPv6 listener answers DUNNO" test "$out" = $'action=DUNNO'
out=$(req DATA 192.0.2.11 | "$SEND" "unix:$T/policy.sock")
check "unix socket listener answers DUNNO" test "$out" = $'action=DUNNO'
check "an IPv6 client is tracked as its /64" bash -c "'$CTL' explain 2001:db8:1:2::99 --json | grep -q '\"subject\": \"2001:db8:1:2::/64\"'"

# Several requests on one connection, as Postfix reuses connections.
out=$( (req RCPT 192.0.2.12; req RCPT 192.0.2.12; req DATA 192.0.2.12) | "$SEND" 127.0.0.1:$PPORT | grep -c '^action=DUNNO$')
check "three requests on one connection get three answers" test "$out" = 3

# Malformed requests: logged, connection closed without an answer, others unaffected.
exec 5<>/dev/tcp/127.0.0.1/$PPORT   # a well-behaved connection, open throughout
for bad in 'request=smtpd_access_policy\nno equals sign\n\n' 'request=smtpd_access_policy\nclient_address=1.2.3.4\0\n\n' '\n' "$(head -c 5000 /dev/zero | tr '\0' a)\n\n"; do
	out=$(printf "$bad" | "$SEND" 127.0.0.1:$PPORT 2000); rc=$?
	check "malformed request closed without an answer ($(printf %.20s "$bad" | tr -d '\n\\'))" test "$rc" = 0 -a -z "$out"
done
req DATA 192.0.2.13 >&5
read -r -t 2 line <&5
check "a connection opened before the malformed ones still works" test "$line" = "action=DUNNO"
exec 5<&-
check "malformed requests are logged" grep -q 'malformed request' "$T/daemon.log"
check "malformed requests are counted in /metrics" bash -c "curl -s --unix-socket $API_SOCK $API/metrics | grep -q '^lazaret_policy_malformed_total [1-9]'"

# Many concurrent connections, each with its own answer.
pids=()
for i in $(seq 1 200); do
	(req DATA 198.51.100.$((i % 250)) | "$SEND" 127.0.0.1:$PPORT 5000 > "$T/conc.$i") &
	pids+=($!)
done
wait "${pids[@]}"   # not the daemon
n=$(cat "$T"/conc.* | grep -c '^action=')
check "200 concurrent connections all answered" test "$n" = 200
# Every answer is in the decision latency histogram, each counted once.
m=$(curl -s --unix-socket "$API_SOCK" "$API/metrics")
answered=$(echo "$m" | awk '/^lazaret_policy_requests_total/ { n += $2 } END { print n + 0 }')
counted=$(echo "$m" | awk '/^lazaret_policy_decision_seconds_count / { print $2 }')
inf=$(echo "$m" | awk '/^lazaret_policy_decision_seconds_bucket\{le="\+Inf"\}/ { print $2 }')
check "every answer ($answered) is counted in the decision latency histogram ($counted, +Inf $inf)" \
    test "$answered" -ge 206 -a "$counted" = "$answered" -a "$inf" = "$answered"

# Rate limit with burst 5: the sixth message in a row is deferred.
for i in $(seq 1 7); do req DATA 203.0.113.5; done | "$SEND" 127.0.0.1:$PPORT > "$T/burst.out"
check "burst 5: five accepted" test "$(grep -c '^action=DUNNO$' "$T/burst.out")" = 5
check "burst 5: then DEFER_IF_PERMIT 4.7.1" test "$(grep -c '^action=DEFER_IF_PERMIT 4.7.1 ' "$T/burst.out")" = 2
check "deferrals are evidence" bash -c "'$CTL' explain 203.0.113.5 --json | grep -q '\"kind\": \"rate_limit\"'"
check "two deferrals in a row are one log line (repeat_log_interval)" \
    test "$(grep -c 'policy host=203.0.113.5 level=normal action=DEFER_IF_PERMIT reason="over host messages limit"$' "$T/daemon.log")" = 1

# lazaretctl against the real daemon.
check "quarantine without --reason is a usage error" bash -c "'$CTL' quarantine 192.0.2.50; [ \$? = 2 ]"
check "lazaretctl quarantine" "$CTL" quarantine 192.0.2.50 --reason "integration test" --for 1h
out=$(req RCPT 192.0.2.50 | "$SEND" 127.0.0.1:$PPORT)
check "quarantined host refused with 5.7.1 and the portal URL" bash -c "echo '$out' | grep -q '^action=REJECT 5.7.1 .*http://portal.test.example/'"
check "hosts --level quarantine lists it" bash -c "'$CTL' hosts --level quarantine | grep -q 192.0.2.50"
check "explain shows the manual quarantine and its reason" bash -c "'$CTL' explain 192.0.2.50 | grep -q 'integration test'"
check "stats --json is JSON with policy counters" bash -c "'$CTL' stats --json | grep -q '\"requests\"'"
check "account quarantine" "$CTL" quarantine account:mallory@example.net --reason "hijacked"
out=$(req DATA 192.0.2.60 $'sasl_method=PLAIN\nsasl_username=mallory@example.net\n' | "$SEND" 127.0.0.1:$PPORT)
check "quarantined account refused from any host" bash -c "echo '$out' | grep -q '^action=REJECT 5.7.1 '"

# SIGHUP: a good reload changes the limits; a bad one is refused and the daemon keeps running.
write_conf "$T/lazaret.conf" 2
kill -HUP $PID; sleep 0.5
for i in $(seq 1 3); do req DATA 203.0.113.77; done | "$SEND" 127.0.0.1:$PPORT > "$T/hup.out"
check "SIGHUP applied the new burst of 2" test "$(grep -c '^action=DUNNO$' "$T/hup.out")" = 2
echo "garbage line" >> "$T/lazaret.conf"
kill -HUP $PID; sleep 0.5
check "a bad reload is logged and refused" grep -q 'reload failed, keeping the running configuration' "$T/daemon.log"
check "the daemon still answers after a bad reload" test "$(req DATA 192.0.2.14 | "$SEND" 127.0.0.1:$PPORT)" = "action=DUNNO"
# A reload the portal refuses (its templates are gone) while the rest takes the new
# configuration: the portal keeps the one it runs on, which must stay alive when the
# daemon drops it (under ASan a use after free shows); a changed listener is named.
write_conf "$T/lazaret.conf" 2
sed -i -e "s|^templates = .*|templates = $T/no-such-dir|" -e "s|^listen = unix:.*|listen = unix:$T/policy2.sock|" \
	"$T/lazaret.conf"
kill -HUP $PID; sleep 0.5
check "a reload names the listener that waits for a restart" \
	grep -q 'reload: \[policy\] listen change only on restart; the running values stay' "$T/daemon.log"
check "the portal refuses the reload and keeps its running templates" \
	grep -q 'the portal keeps its running templates and secret' "$T/daemon.log"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/")
check "the portal still answers after the reload it refused (HTTP $code)" test "$code" = 200
check "the policy service still answers on its old listener" \
	test "$(req DATA 192.0.2.15 | "$SEND" "unix:$T/policy.sock")" = "action=DUNNO"
write_conf "$T/lazaret.conf" 2
kill -HUP $PID; sleep 0.5

# kill -9 right after verdicts were acknowledged: none may be lost.
for i in $(seq 1 20); do "$CTL" quarantine 10.9.0.$i --reason "crash test $i" >/dev/null || bad "quarantine 10.9.0.$i"; done
kill -9 $PID; wait $PID 2>/dev/null; PID=
start
lost=0
for i in $(seq 1 20); do
	"$CTL" explain 10.9.0.$i --json | grep -q '"level": "quarantine"' || lost=$((lost + 1))
done
check "kill -9 lost no acknowledged verdict (20 of 20 kept)" test "$lost" = 0
check "history survives kill -9" bash -c "'$CTL' history 10.9.0.7 --json | grep -q 'crash test 7'"
out=$(req RCPT 10.9.0.3 | "$SEND" 127.0.0.1:$PPORT)
check "a restored quarantine is enforced" bash -c "echo '$out' | grep -q '^action=REJECT 5.7.1'"

# Release keeps the history.
check "lazaretctl release" "$CTL" release 10.9.0.3 --reason "cleaned"
check "released host accepted again" test "$(req RCPT 10.9.0.3 | "$SEND" 127.0.0.1:$PPORT)" = "action=DUNNO"
check "history keeps quarantine and release" bash -c "'$CTL' history 10.9.0.3 --json | grep -q 'crash test 3' && '$CTL' history 10.9.0.3 --json | grep -q 'cleaned'"

# Counters survive a clean stop (checkpointed on SIGTERM).
for i in $(seq 1 3); do req DATA 203.0.113.99; done | "$SEND" 127.0.0.1:$PPORT >/dev/null
kill -TERM $PID; wait $PID; rc=$?; PID=
check "SIGTERM stops cleanly with exit 0" test "$rc" = 0
# this time without huge pages: started once, as it was; and every thread at one priority
sed -i 's/^log_level = info$/log_level = info\nhuge_pages = no\nbackground_nice = 0/' "$T/lazaret.conf"
: > "$T/daemon.log"
start
check "background_nice = 0: the store's writer at the event loop's priority" \
    test "$(thread_nice $PID lazaretd-store)" = "$(thread_nice $PID main)"
check "huge_pages = no: no tunable set" \
    bash -c "! tr '\\0' '\\n' < /proc/$PID/environ | grep -q 'glibc.malloc.hugetlb'"
check "huge_pages = no: the start line says so" \
    grep -q 'memory: transparent huge pages for malloc: off (\[daemon\] huge_pages = no)$' "$T/daemon.log"
out=$(for i in $(seq 1 3); do req DATA 203.0.113.99; done | "$SEND" 127.0.0.1:$PPORT | grep -c DEFER)
check "rate counters survive a restart (burst 2 already used)" test "$out" = 3

kill -TERM $PID; wait $PID; PID=
if [ "$failures" -ne 0 ]; then
	echo "--- daemon log ---"; tail -50 "$T/daemon.log"
	exit 1
fi
echo "all daemon checks passed"
