#!/bin/bash
# test_api_access.sh — the operator API is locked (issue 13, item 5): lazaretd and lazaretctl
# for real, with a test CA made here by openssl.
#
#   1. the Unix socket: mode 0660, lazaretd's group; root uses it without a token, another
#      local user (nobody) is refused; socket_group lets a chosen group in
#   2. TCP on loopback: every request needs the bearer token (401 without it or with a wrong
#      one, /metrics too); lazaretctl with --token-file gets through
#   3. refused at start, naming file:line: a token file open to others (0644, 0640), a TCP
#      listen without token_file, an off-loopback listen without TLS; a file that is not a
#      socket where the socket goes is refused and left alone; a dead run's socket is replaced
#   4. TLS: lazaretctl --cacert (or LAZARET_CACERT) with the right CA works; with a wrong CA,
#      or none, it is refused with a clear message
#   5. without --api: lazaretctl finds the source tree's var/api.sock (make run)
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_cmd curl openssl setpriv stat
[ "$(id -u)" = 0 ] || t_skip "must run as root (lazaretctl is run as nobody through setpriv)"

# $T is mkdtemp's 0700: let others reach the socket, so that its own mode is what refuses them.
chmod 0711 "$T"
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

printf '%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/api.token"
chmod 0600 "$T/api.token"
TOKEN=$(cat "$T/api.token")
API_PORT=$(free_port)

# run CMD... — status in $rc, stdout in $out, stderr in $err.
run() {
	rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# refused WHAT CONF ERE — lazaretd -c CONF must exit non-zero at once, saying ERE.
refused() {
	local log=$T/refused.log
	rc=0
	timeout 10 "$LAZARETD" --init-store -c "$2" >"$log" 2>&1 || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "$1: lazaretd started (status $rc): $(cat "$log")"
	assert_match "$1: the reason, with file:line" "$3" "$(cat "$log")"
}

case_begin "1. the Unix socket: 0660, root in without a token, nobody out"
lz_config "api.listen=127.0.0.1:$API_PORT" "api.token_file=$T/api.token"
lz_start
assert_eq "socket mode and group (lazaretd's own)" "srw-rw---- $(id -gn)" "$(stat -c '%A %G' "$LZ_API_SOCK")"
run lzctl stats
assert_eq "root: lazaretctl stats over the socket" 0 "$rc"
assert_match "root: the statistics" '^uptime' "$out"
run nobody "$LAZARETCTL" --api "$LZ_API" stats
assert_eq "nobody: lazaretctl cannot reach the API" 3 "$rc"
assert_match "nobody: told why" "cannot connect to unix:$LZ_API_SOCK: Permission denied" "$err"
run nobody "$LAZARETCTL" --api "$LZ_API" quarantine 192.0.2.7 --reason "not allowed"
assert_eq "nobody: no quarantine either" 3 "$rc"
assert_match "nobody's quarantine never reached the judge" '"level": *"normal"|no such subject' \
	"$(lzctl explain 192.0.2.7 --json 2>&1)"
case_pass

case_begin "2. TCP: the bearer token on every request"
TCP="http://127.0.0.1:$API_PORT"
for path in /v1/stats /metrics /v1/subjects; do
	assert_eq "GET $path without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$TCP$path")"
	assert_eq "GET $path with a wrong token" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer ${TOKEN%?}x" "$TCP$path")"
done
assert_eq "POST quarantine without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	-d '{"reason":"x"}' "$TCP/v1/subjects/192.0.2.8/quarantine")"
assert_eq "GET /metrics with the token" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $TOKEN" "$TCP/metrics")"
# a report posted over TCP needs the token too; this daemon has no [reports] directory: 503
assert_eq "POST /v1/reports without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	--data-binary 'From: x' "$TCP/v1/reports")"
assert_eq "POST /v1/reports with the token, no spool here" 503 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $TOKEN" --data-binary 'From: x' "$TCP/v1/reports")"
run sh -c "printf 'From: x\n\nhi\n' | '$LAZARETCTL' --api '$TCP' report"
assert_eq "lazaretctl report without the token: EX_TEMPFAIL, the MTA keeps it" 75 "$rc"
run "$LAZARETCTL" --api "$TCP" stats
assert_eq "lazaretctl without --token-file: the daemon's refusal" 1 "$rc"
assert_match "lazaretctl says what to do" 'HTTP 401.*check --token-file or LAZARET_TOKEN_FILE' "$err"
run "$LAZARETCTL" --api "$TCP" --token-file "$T/api.token" quarantine 192.0.2.8 --reason "over TCP"
assert_eq "lazaretctl --token-file: quarantine over TCP" 0 "$rc"
assert_match "the quarantine took" '"level": *"quarantine"' "$(lzctl explain 192.0.2.8 --json)"
lz_stop
assert_eq "the socket is removed at stop" no "$([ -e "$LZ_API_SOCK" ] && echo yes || echo no)"
case_pass

case_begin "3. refused at start, naming file:line"
lz_config "api.listen=127.0.0.1:$API_PORT" "api.token_file=$T/api.token"
line=$(grep -n '^token_file' "$LZ_CONF" | cut -d: -f1)
for mode in 0644 0640; do
	chmod "$mode" "$T/api.token"
	refused "token file $mode" "$LZ_CONF" \
		"$LZ_CONF:$line: \[api\] token_file $T/api.token: mode $mode opens it to its group or to everyone; chmod 600 it"
done
chmod 0600 "$T/api.token"

grep -v '^token_file' "$LZ_CONF" >"$T/notoken.conf"
line=$(grep -n '^listen = 127.0.0.1:'"$API_PORT" "$T/notoken.conf" | cut -d: -f1)
refused "TCP without token_file" "$T/notoken.conf" \
	"$T/notoken.conf:$line: \[api\] listen: a TCP listener needs token_file"

sed "s/^listen = 127.0.0.1:$API_PORT\$/listen = 0.0.0.0:$API_PORT/" "$LZ_CONF" >"$T/public.conf"
line=$(grep -n "^listen = 0.0.0.0:$API_PORT" "$T/public.conf" | cut -d: -f1)
refused "off loopback without TLS" "$T/public.conf" \
	"$T/public.conf:$line: \[api\] listen is not a loopback address, so tls_cert and tls_key are required"
assert_eq "nothing listens on the API port" no "$(port_listening "$API_PORT" && echo yes || echo no)"

echo "not a socket" >"$LZ_API_SOCK"
refused "a regular file where the socket goes" "$LZ_CONF" \
	"api socket $LZ_API_SOCK: exists and is not a socket; not touching it"
assert_eq "the file is left as it was" "not a socket" "$(cat "$LZ_API_SOCK")"
rm -f "$LZ_API_SOCK"

# a dead run leaves its socket behind: the next start replaces it
lz_start
kill -KILL "$LZ_PID"
wait "$LZ_PID" 2>/dev/null
LZ_PID=""
[ -S "$LZ_API_SOCK" ] || fail "lazaretd killed with SIGKILL left no socket to replace"
lz_start
run lzctl stats
assert_eq "a dead run's socket replaced: lazaretctl stats" 0 "$rc"
lz_stop
case_pass

case_begin "4. TLS: lazaretctl verifies the API's certificate"
mkdir "$T/pki"
(
	cd "$T/pki" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=lazaret-test-CA -keyout ca.key -out ca.crt &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
		-keyout api.key -out api.csr &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >api.ext &&
	openssl x509 -req -days 2 -in api.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-extfile api.ext -out api.crt &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=another-CA -keyout other.key -out other.crt
) >"$T/pki.log" 2>&1 || fail "openssl could not make the test CA: $(cat "$T/pki.log")"
chmod 0600 "$T/pki/api.key"

# off loopback, with TLS and the token: lazaretd starts
lz_config "api.listen=0.0.0.0:$API_PORT" "api.token_file=$T/api.token" \
	"api.tls_cert=$T/pki/api.crt" "api.tls_key=$T/pki/api.key"
lz_start
wait_port "$API_PORT" 5 || fail "the HTTPS API did not listen on port $API_PORT"
assert_file_match "lazaretd says HTTPS, token required" \
	"operator API listening on https://0.0.0.0:$API_PORT/ \(bearer token required\)" "$LZ_LOG"
HTTPS="https://127.0.0.1:$API_PORT"

run "$LAZARETCTL" --api "$HTTPS" --token-file "$T/api.token" --cacert "$T/pki/ca.crt" stats
assert_eq "--cacert with the right CA: lazaretctl stats" 0 "$rc"
assert_match "the statistics over HTTPS" '^uptime' "$out"
run env LAZARET_CACERT="$T/pki/ca.crt" LAZARET_TOKEN_FILE="$T/api.token" "$LAZARETCTL" --api "$HTTPS" \
	quarantine 192.0.2.9 --reason "over HTTPS"
assert_eq "LAZARET_CACERT: quarantine over HTTPS" 0 "$rc"

run "$LAZARETCTL" --api "$HTTPS" --token-file "$T/api.token" --cacert "$T/pki/other.crt" stats
assert_eq "a wrong CA: refused" 3 "$rc"
assert_match "a wrong CA: a clear message" \
	"$HTTPS: the server's certificate is not trusted .*give the CA that signed it with --cacert FILE or LAZARET_CACERT" "$err"
assert_eq "a wrong CA: nothing on stdout" "" "$out"
run "$LAZARETCTL" --api "$HTTPS" --token-file "$T/api.token" stats
assert_eq "no --cacert: the system's CAs do not know the test CA" 3 "$rc"
assert_match "no --cacert: the same message" "the server's certificate is not trusted" "$err"
run "$LAZARETCTL" --api "$HTTPS" --cacert "$T/pki/ca.crt" stats
assert_eq "HTTPS without the token: still 401" 1 "$rc"
assert_match "HTTPS without the token: the hint" 'HTTP 401' "$err"
run "$LAZARETCTL" --api "http://127.0.0.1:$API_PORT" --token-file "$T/api.token" stats
assert_eq "plain HTTP to the HTTPS port: no answer" 3 "$rc"
case_pass

case_begin "5. without --api: the source tree's var/api.sock"
if [ -e /run/lazaret/api.sock ]; then
	log "skipped: /run/lazaret/api.sock exists here, and lazaretctl rightly prefers it"
else
	lz_stop
	mkdir -p "$T/tree/var"
	lz_config "api.socket=$T/tree/var/api.sock"
	LZ_API_SOCK=$T/tree/var/api.sock LZ_API=unix:$T/tree/var/api.sock
	lz_start
	run env -u LAZARET_API sh -c "cd '$T/tree' && exec '$(cd "$(dirname "$LAZARETCTL")" && pwd)/lazaretctl' stats"
	assert_eq "lazaretctl stats in the tree, no --api" 0 "$rc"
	run env -u LAZARET_API sh -c "cd / && exec '$(cd "$(dirname "$LAZARETCTL")" && pwd)/lazaretctl' stats"
	assert_eq "elsewhere: the packaged socket, absent here" 3 "$rc"
	assert_match "elsewhere: names the packaged socket" 'cannot connect to unix:/run/lazaret/api.sock' "$err"
fi
case_pass

case_begin "6. socket_group: a chosen group may use the socket"
lz_stop
lz_config "api.socket_group=nogroup"
lz_start
assert_eq "socket group" "srw-rw---- nogroup" "$(stat -c '%A %G' "$LZ_API_SOCK")"
run nobody "$LAZARETCTL" --api "$LZ_API" stats
assert_eq "nobody (group nogroup): lazaretctl stats" 0 "$rc"
case_pass
