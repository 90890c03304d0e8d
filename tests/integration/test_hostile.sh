#!/bin/bash
# test_hostile.sh — lazaretd's ports against hostile subscribers; one daemon for the cases
# that can share it, started as a stock shell would start it (1 024 descriptors, soft).
#
#   1. descriptors: lazaretd raises its soft limit to the hard one and says what its
#      listeners need; a configuration whose listeners do not fit under the limit is
#      refused at start and by -n, naming the file:line of the max_connections to blame
#   2. a slowloris from 75 subscriber addresses, 16 connections each, trickling headers
#      that never end: at most 8 held per address; Postfix's policy requests, the API and
#      a normal visitor are answered at once during it; every trickling connection is
#      shut at the portal's request deadline (10 s), none before; the log stays short
#   3. a flood of refused releases: at most 20 lines per 10 s, then one that says how many
#      it stands for (suppressed=N); /metrics and lazaretctl stats count the withheld lines
#   4. out of descriptors all the same (the limit lowered under the running daemon): a
#      flood on the portal does not touch the main process's descriptors (the front is a
#      process of its own); one on the policy port exhausts them: no busy loop, a short log,
#      nothing dies, and the API answers again once the flood ends
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_cmd curl ss prlimit

SLOW=$BUILD_DIR/tests/slowhttp
SEND=$BUILD_DIR/tests/policy_send
[ -x "$SLOW" ] || fail "$SLOW not built"
[ -x "$SEND" ] || fail "$SEND not built"
REAL_LAZARETD=$LAZARETD

# lazaretd as a stock login shell or a unit without LimitNOFILE starts it: soft 1 024.
cat >"$T/lazaretd-1024" <<EOF
#!/bin/sh
exec prlimit --nofile=1024:8192 -- "$REAL_LAZARETD" "\$@"
EOF
chmod +x "$T/lazaretd-1024"
LAZARETD=$T/lazaretd-1024

req() {   # req ADDRESS — one DATA-state policy request
	printf 'request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=h.example\nhelo_name=h\nsender=a@example.net\nrecipient=b@example.org\nrecipient_count=1\nqueue_id=4AbCdEf\ninstance=1.2.%s\n\n' "$1" "$RANDOM"
}

# policy_round N — N policy requests, each on its own connection; prints how many were answered.
policy_round() {
	local i n=0
	for ((i = 1; i <= $1; i++)); do
		[ "$(req "192.0.2.$i" | "$SEND" "127.0.0.1:$LZ_POLICY_PORT" 2000)" = action=DUNNO ] && n=$((n + 1))
	done
	echo "$n"
}

# cpu_ticks — lazaretd's user + system time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$LZ_PID/stat"; }

metric() { api_curl -s -m 5 "$LZ_API_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

LZ_PORTAL_URL=http://portal.test.example/
lz_config daemon.log_level=info
lz_start
PORTAL=http://127.0.0.1:$LZ_PORTAL_PORT

# ---------------------------------------------------------------------------------------------
case_begin "descriptors: the soft limit raised, the budget checked at start and by -n"
assert_file_match "the limit raised and the need stated" \
	'descriptors: 8192 may be open, the listeners need [0-9]+ \(policy 4098, portal 1025, API 65, reserve 64\)' "$LZ_LOG"
assert_eq "lazaretd's soft limit" 8192 "$(prlimit --pid "$LZ_PID" --nofile --noheadings --output SOFT)"
# the same configuration with a portal that cannot fit under 1 024 descriptors
{ grep -v '^max_connections' "$LZ_CONF"; } >"$T/big.conf"
printf '[policy]\nmax_connections = 100\n[portal]\nmax_connections = 2000\n' >>"$T/big.conf"
line=$(grep -n '^max_connections = 2000' "$T/big.conf" | cut -d: -f1)
sed -i "s/^store = .*/store = ${T//\//\\/}\/big.db/" "$T/big.conf"
out=$(timeout 10 prlimit --nofile=1024:1024 -- "$REAL_LAZARETD" -c "$T/big.conf" 2>&1); rc=$?
assert_eq "start with listeners over the limit: exit status" 1 "$rc"
assert_match "start names file:line and the arithmetic" \
	"$T/big.conf:$line: \[portal\] max_connections = 2000: the listeners need 2232 descriptors \(policy 102, portal 2001, API 65, reserve 64\) but lazaretd may open only 1024" "$out"
out=$(prlimit --nofile=1024:1024 -- "$REAL_LAZARETD" -n -c "$T/big.conf" 2>&1); rc=$?
assert_eq "-n with listeners over the limit: exit status" 1 "$rc"
assert_match "-n prints the arithmetic" '^# descriptors: policy 102 \+ portal 2001 \+ API 65 \+ reserve 64 = 2232; RLIMIT_NOFILE hard limit 1024' "$out"
assert_match "-n names file:line" "^$T/big.conf:$line: \[portal\] max_connections = 2000: " "$out"
out=$(prlimit --nofile=1024:4096 -- "$REAL_LAZARETD" -n -c "$T/big.conf" 2>&1); rc=$?
assert_eq "-n when a hard limit of 4096 holds them: exit status" 0 "$rc"
case_pass

# ---------------------------------------------------------------------------------------------
case_begin "a slowloris from 75 addresses: policy, API and visitors served; trickles shut at 10 s"
lines_before=$(wc -l <"$LZ_LOG")
"$SLOW" -a 75 -c 16 -i 1000 -t 17 127.0.0.1 "$LZ_PORTAL_PORT" >"$T/slow.out" 2>&1 &
slow_pid=$!
t_on_exit "kill $slow_pid"
wait_for 10 grep -q '^ready' "$T/slow.out" || fail "slowhttp did not get going: $(cat "$T/slow.out")"
t_flood=$(now_ms)
log "flood: $(head -n1 "$T/slow.out")"
sleep 1
# The cap is per address: the most any one address holds (the total once showed 601 on a
# loaded machine: a connection the kernel completed and the front had yet to accept, and
# close at the cap, counts as established for a moment).
ss -Htn state established "( sport = :$LZ_PORTAL_PORT )" >"$T/held"
held=$(wc -l <"$T/held")
most=$(awk '{ a = $4; sub(/:[0-9]+$/, "", a); n[a]++ } END { m = 0; for (k in n) if (n[k] > m) m = n[k]; print m }' "$T/held")
log "portal connections held: $held, at most $most from one address"
assert_le "connections one address holds at the portal (max_connections_per_address = 8)" 8 "$most"
assert_ge "connections the portal holds" 590 "$held"
answered=$(policy_round 20)
assert_eq "policy requests answered during the flood" 20 "$answered"
out=$(api_curl -s -m 2 -o /dev/null -w '%{http_code} %{time_total}' "$LZ_API_URL/v1/stats")
log "API during the flood: $out"
assert_match "the API answers during the flood" '^200 ' "$out"
out=$(curl -s -m 2 -o "$T/visitor.html" -w '%{http_code} %{time_total}' "$PORTAL/")
log "a visitor during the flood: $out"
assert_match "a normal visitor is served within 2 s during the flood" '^200 ' "$out"
assert_file_match "the visitor got the page" 'is not restricted' "$T/visitor.html"
# a browser's keep-alive connection, answered once and then idle: closed, but not logged
exec {idle_fd}<>"/dev/tcp/127.0.0.1/$LZ_PORTAL_PORT" || fail "cannot connect to the portal"
printf 'GET / HTTP/1.1\r\nHost: portal.test.example\r\n\r\n' >&"$idle_fd"
read -r -t 2 -u "$idle_fd" status_line || fail "no answer on a keep-alive connection"
assert_match "a keep-alive connection is answered" '^HTTP/1.1 200' "$status_line"
idle_t0=$(now_ms)

# ---------------------------------------------------------------------------------------------
case_begin "a flood of refused releases: a bounded log with suppressed=N"
lzctl quarantine 127.0.0.77 --self-release --reason "test: hostile releases" >/dev/null || fail "lazaretctl quarantine failed"
codes=$(curl -s --interface 127.0.0.77 -d token=forged -o /dev/null -w '%{http_code}\n' \
	"$PORTAL/release?[1-300]" | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')
log "300 forged releases: $codes"
assert_eq "every forged release refused" "403x300 " "$codes"
refused_lines=$(grep -c 'host=127.0.0.77 address=127.0.0.77 release refused' "$LZ_LOG")
assert_le "log lines for 300 refused releases" 20 "$refused_lines"
assert_ge "log lines for 300 refused releases" 1 "$refused_lines"
case_pass "$refused_lines lines"

# the keep-alive connection, idle since its answer: closed at the deadline (libmicrohttpd's
# own timeout of silence alone would take 15 s)
timeout 14 cat <&"$idle_fd" >/dev/null
rc=$?
idle_ms=$(( $(now_ms) - idle_t0 ))
exec {idle_fd}<&-
log "the idle keep-alive connection ended after $idle_ms ms (cat: $rc)"
assert_eq "the idle keep-alive connection was closed (cat saw its end)" 0 "$rc"
assert_ge "ms from its answer to its close" 9000 "$idle_ms"
assert_le "ms from its answer to its close" 12500 "$idle_ms"

# back to the slowloris: the deadline
_T_CASE="a slowloris from 75 addresses: policy, API and visitors served; trickles shut at 10 s"
wait "$slow_pid"
t_done=$(now_ms)
result=$(tail -n1 "$T/slow.out")
log "flood: $result"
assert_match "the flood's account" '^done open=1200 ' "$result"
refused=$(sed -n 's/.* refused=\([0-9]*\) .*/\1/p' <<<"$result")
closed=$(sed -n 's/.* closed=\([0-9]*\) .*/\1/p' <<<"$result")
alive=$(sed -n 's/.* alive=\([0-9]*\) .*/\1/p' <<<"$result")
min_ms=$(sed -n 's/.* min_close_ms=\([-0-9]*\) .*/\1/p' <<<"$result")
max_ms=$(sed -n 's/.* max_close_ms=\([-0-9]*\)$/\1/p' <<<"$result")
assert_eq "connections over 8 per address refused at once" 600 "$refused"
assert_eq "trickling connections shut by the portal" 600 "$closed"
assert_eq "trickling connections still open after 17 s" 0 "$alive"
assert_ge "the earliest shut (ms after connect): not before the 10 s deadline" 10000 "$min_ms"
assert_le "the latest shut (ms after connect): soon after the deadline" 12500 "$max_ms"
assert_eq "lazaret_http_deadline_closed_total{listener=\"portal\"} (the trickling ones, not the idle one)" 600 \
	"$(metric 'lazaret_http_deadline_closed_total{listener="portal"}')"
assert_no_match "the idle keep-alive connection is not logged as a slow request" \
	'portal: address=127\.0\.0\.1 connection closed' "$(cat "$LZ_LOG")"
flood_lines=$(tail -n +"$((lines_before + 1))" "$LZ_LOG" | grep -c 'portal: ')
log "portal log lines during the flood: $flood_lines (1 200 connections, 600 refused, 600 shut, 300 releases)"
assert_le "portal log lines for the whole flood" 100 "$flood_lines"
assert_eq "policy requests answered after the flood" 5 "$(policy_round 5)"
case_pass "$held held, $closed shut in $min_ms-$max_ms ms, $flood_lines log lines"

_T_CASE="a flood of refused releases: a bounded log with suppressed=N"
# the budget's 10 s window has passed: the next refusal says how many were left out
elapsed=$(( $(now_ms) - t_flood ))
[ "$elapsed" -ge 11000 ] || sleep $(( (11000 - elapsed) / 1000 + 1 ))
curl -s --interface 127.0.0.77 -d token=forged -o /dev/null "$PORTAL/release"
last=$(grep 'host=127.0.0.77 address=127.0.0.77 release refused' "$LZ_LOG" | tail -n1)
assert_match "the next refusal counts the ones withheld" \
	"release refused: invalid token suppressed=$((300 - refused_lines))\$" "$last"
assert_ge "lazaret_log_suppressed_total" "$((300 - refused_lines))" "$(metric lazaret_log_suppressed_total)"
assert_match "lazaretctl stats shows the withheld lines" '"suppressed": [1-9]' "$(lz_stats)"
case_pass

# ---------------------------------------------------------------------------------------------
case_begin "out of descriptors all the same: no busy loop, a short log, the API back after"
open_fds=$(find "/proc/$LZ_PID/fd" -mindepth 1 | wc -l)
prlimit --pid "$LZ_PID" --nofile=$((open_fds + 40)):8192 || fail "prlimit --pid failed"
# The portal's front is a process of its own: a flood of subscribers' connections uses its
# descriptors, never the main process's, so the operator is answered at once.
"$SLOW" -a 20 -c 8 -i 1000 -t 3 -b 127.12.0.1 127.0.0.1 "$LZ_PORTAL_PORT" >"$T/slow-portal.out" 2>&1 &
slow_pid=$!
wait_for 10 grep -q '^ready' "$T/slow-portal.out" || fail "slowhttp did not get going: $(cat "$T/slow-portal.out")"
assert_eq "the API answers at once while the portal is flooded (the flood is the front's)" 200 \
	"$(api_curl -s -m 2 -o /dev/null -w '%{http_code}' "$LZ_API_URL/v1/stats")"
wait "$slow_pid"
# The main process's own descriptors run out under a flood on the policy port.
lines_before=$(wc -l <"$LZ_LOG")
"$SLOW" -a 20 -c 8 -i 1000 -t 7 -b 127.11.0.1 127.0.0.1 "$LZ_POLICY_PORT" >"$T/slow2.out" 2>&1 &
slow_pid=$!
wait_for 10 grep -q '^ready' "$T/slow2.out" || fail "slowhttp did not get going: $(cat "$T/slow2.out")"
sleep 0.5
# an operator's request waits in the API's backlog while no descriptor is free
api_curl -s -m 15 -o /dev/null -w '%{http_code}' "$LZ_API_URL/v1/stats" >"$T/api-waiting.out" 2>&1 &
curl_pid=$!
c0=$(cpu_ticks)
sleep 3
c1=$(cpu_ticks)
log "lazaretd's CPU while out of descriptors: $((c1 - c0)) ticks in 3 s"
assert_le "CPU ticks in 3 s out of descriptors (a busy loop burns ~300)" 30 "$((c1 - c0))"
wait "$slow_pid"
prlimit --pid "$LZ_PID" --nofile=8192:8192
wait "$curl_pid"
assert_eq "the API answers the request that waited" 200 "$(cat "$T/api-waiting.out")"
pid_gone "$LZ_PID" && fail "lazaretd died"
out=$(api_curl -s -m 2 -o /dev/null -w '%{http_code}' "$LZ_API_URL/v1/stats")
assert_eq "the API answers after the flood" 200 "$out"
assert_eq "policy requests answered after the flood" 5 "$(policy_round 5)"
emfile_lines=$(tail -n +"$((lines_before + 1))" "$LZ_LOG" | grep -c -e 'api: ' -e 'policy' -e 'portal: ')
log "API, policy and portal log lines while out of descriptors: $emfile_lines"
assert_le "API, policy and portal log lines while out of descriptors" 120 "$emfile_lines"
assert_ge "lazaret_http_accept_failures_total{listener=\"api\"}" 1 \
	"$(metric 'lazaret_http_accept_failures_total{listener="api"}')"
case_pass "$((c1 - c0)) ticks, $emfile_lines lines"

lz_stop
assert_eq "lazaretd's exit status" 0 "$LZ_EXIT"
echo
log "all hostile-peer cases passed"
