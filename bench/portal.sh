#!/bin/sh
# portal.sh BUILD_DIR — requests/s and latency of the portal's notice page beside nginx
# serving the same page as a static file, on this machine, with the same load for each.
#
# Servers, one after the other:
#   portal  BUILD_DIR/tests/portal_harness: the portal with a real judge and store (temp
#           dir), 127.0.0.1 quarantined, so every request is a 511 with the notice rendered
#           afresh (evidence, a new release token); per-IP limit raised to the load's.
#           Front and desk run on one loop in one process, through the same channel
#           code as the daemon's: the message cost without the process split.
#   lazaretd  BUILD_DIR/lazaretd (or $LAZARETD) with a generated config in the temp dir
#           (API on a Unix socket, or on a loopback port for a lazaretd without
#           [api] socket; [judge] ignore = none; the per-address limit raised the same
#           way), 127.0.0.1 quarantined by `lazaretctl quarantine --self-release`: every
#           page a 511 notice with a fresh token. Since privilege separation the HTTP
#           front is a process of its own (lazaretd-portal) that asks the main process
#           one question per request; CPU counts the main process and its children.
#   nginx   Debian's nginx-light, one worker, the notice the portal served saved as a file
#           and served as it is (200) on every path: access log off, sendfile and an
#           open file cache on: a static page served the way nginx serves one best.
# Load: wrk (THREADS threads, CONNS keep-alive connections), WARMUP seconds, then
# DURATION seconds measured with --latency. CPU is the server's own CPU time per request,
# from /proc: on a shared machine it says more than requests/s alone.
#
# Environment (defaults in brackets):
#   CONNS [64]  THREADS [1]  WARMUP [2]  DURATION [10]  SERVERS ["portal lazaretd nginx"]
#   LAZARETD [BUILD_DIR/lazaretd]  LAZARETCTL [the lazaretctl beside it]
#   TEMPLATES [share/portal of this tree]
#   HARNESS_ARGS [none]: more options for portal_harness; -N turns off the front's
#     one-second memory of an address's answer, so every page is a question to the desk
#   KEEP=1 keeps the temp dir (configs, logs, the page).
# Target: the portal answers at least half of nginx's requests/s. Exit status: 0 when
# every server ran, 1 when one failed (the others still run); a missed target is reported,
# not failed.
# Packages: wrk, nginx-light (scripts/install-deps.sh bench).
set -eu

usage() {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
build=$(cd "$1" && pwd) || usage
root=$(cd "$(dirname "$0")/.." && pwd)

CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
SERVERS=${SERVERS:-portal lazaretd nginx}
LAZARETD=${LAZARETD:-$build/lazaretd}
LAZARETCTL=${LAZARETCTL:-$(dirname "$LAZARETD")/lazaretctl}
TEMPLATES=${TEMPLATES:-$root/share/portal}

harness=$build/tests/portal_harness
nginx=/usr/sbin/nginx
[ -x "$harness" ] || { echo "portal.sh: $harness missing: build it first (ninja -C $build)" >&2; exit 1; }
command -v wrk >/dev/null 2>&1 || { echo "portal.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "portal.sh: needs curl" >&2; exit 1; }
command -v ss >/dev/null 2>&1 || { echo "portal.sh: needs ss (iproute2)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-bench-portal.XXXXXX")
chmod 755 "$tmp"                # nginx's worker (www-data) reads the page
server_pid=""
failed=0
results=""

stop_server() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		i=0
		while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}

cleanup() {
	stop_server
	if [ "${KEEP:-}" = 1 ]; then
		echo "portal.sh: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return; }
	done
}

wait_http() {   # wait_http URL — until it answers at all
	i=0
	while [ $i -lt 100 ]; do
		code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true)
		[ "$code" != 000 ] && [ -n "$code" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# cpu_ticks PID — user + system ticks of PID and of its children lazaretd-portal and
# lazaretd-priv (lazaretd's front and nftables helper; none for the other servers)
cpu_ticks() {
	pids=$1
	for c in $(pgrep -P "$1" 2>/dev/null || true); do
		case $(sed -n 's/^Name:[[:space:]]*//p' "/proc/$c/status" 2>/dev/null) in
		lazaretd-portal | lazaretd-priv) pids="$pids $c" ;;
		esac
	done
	for p in $pids; do cat "/proc/$p/stat"; done | awk '{ t += $14 + $15 } END { print t }'
}

# measure NAME URL PID — warm up, then one measured run; appends a line to $results.
measure() {
	name=$1 url=$2 pid=$3
	wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 || true
	t0=$(cpu_ticks "$pid")
	wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$tmp/wrk-$name.txt" 2>&1 || {
		echo "portal.sh: wrk against $name failed:" >&2
		cat "$tmp/wrk-$name.txt" >&2
		failed=1
		return
	}
	t1=$(cpu_ticks "$pid")
	cat "$tmp/wrk-$name.txt"
	line=$(awk -v name="$name" -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		/^ +Latency / && !lat { max = ms($4); lat = 1 }
		/^ +50% / { p50 = ms($2) }
		/^ +90% / { p90 = ms($2) }
		/^ +99% / { p99 = ms($2) }
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { errs = $0; sub(/.*Socket errors: */, "", errs) }
		/Non-2xx or 3xx responses:/ { non2xx = $5 }
		END {
			printf "%-8s %10.0f %8.3f %8.3f %8.3f %8.2f %10.1f  %s\n", name, rps, p50, p90, p99, max,
			    n ? ticks / hz * 1e6 / n : 0, (non2xx == n ? "all 511" : (non2xx ? "511: " non2xx "/" n : "all 200")) (errs ? "; " errs : "")
		}' "$tmp/wrk-$name.txt")
	results="$results$line
"
}

# --- the portal -------------------------------------------------------------------------
port=$(free_port)
url="http://127.0.0.1:$port/"
mkdir -p "$tmp/portal" "$tmp/www" "$tmp/nginx"
"$harness" -d "$tmp/portal" -l "127.0.0.1:$port" -T "$TEMPLATES" -u "$url" -q 127.0.0.1 \
	-P $((CONNS * 2)) -C $((CONNS * 4 + 64)) ${HARNESS_ARGS:-} </dev/null >"$tmp/portal/out" 2>"$tmp/portal/log" &
server_pid=$!
if ! wait_http "$url"; then
	echo "portal.sh: the portal harness did not start:" >&2
	cat "$tmp/portal/log" >&2
	exit 1
fi
code=$(curl -s --noproxy '*' -o "$tmp/www/notice.html" -w '%{http_code}' "$url")
[ "$code" = 511 ] || { echo "portal.sh: the portal answered $code, not 511" >&2; exit 1; }
bytes=$(wc -c <"$tmp/www/notice.html")
echo "== portal.sh: the notice is $bytes bytes; $CONNS connections, $THREADS wrk thread(s), ${DURATION}s after ${WARMUP}s warm-up"
echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

case " $SERVERS " in
*" portal "*)
	echo
	echo "== portal ($harness)"
	measure portal "$url" "$server_pid"
	;;
esac
stop_server

# --- lazaretd ----------------------------------------------------------------------------
# run_lazaretd — the daemon with its portal, 127.0.0.1 quarantined through its API
run_lazaretd() {
	d=$tmp/lazaretd
	mkdir -p "$d"
	lport=$(free_port)
	pport=$(free_port)
	lurl="http://127.0.0.1:$lport/"
	# the daemon of before privilege separation has no [api] socket: a loopback port
	api="socket = $d/api.sock"
	ctlapi="unix:$d/api.sock"
	for attempt in socket listen; do
		cat >"$d/lazaret.conf" <<EOF
; generated by bench/portal.sh
[daemon]
store = $d/lazaret.db
log_level = warn

[policy]
listen = 127.0.0.1:$pport

[judge]
ignore = none

[api]
$api

[portal]
url = $lurl
listen = 127.0.0.1:$lport
templates = $TEMPLATES
max_connections_per_address = $((CONNS * 2))
max_connections = $((CONNS * 4 + 64))
EOF
		"$LAZARETD" -n -c "$d/lazaret.conf" >"$d/check.out" 2>&1 && break
		[ "$attempt" = socket ] || { cat "$d/check.out" >&2; return 1; }
		aport=$(free_port)
		api="listen = 127.0.0.1:$aport"
		ctlapi="http://127.0.0.1:$aport"
	done
	"$LAZARETD" --init-store -c "$d/lazaret.conf" </dev/null >/dev/null 2>"$d/lazaretd.log" &
	server_pid=$!
	if ! wait_http "$lurl"; then
		echo "portal.sh: lazaretd did not start:" >&2
		tail -20 "$d/lazaretd.log" >&2
		return 1
	fi
	if ! "$LAZARETCTL" --api "$ctlapi" quarantine 127.0.0.1 --reason bench --self-release >"$d/ctl.out" 2>&1; then
		echo "portal.sh: lazaretctl quarantine failed:" >&2
		cat "$d/ctl.out" >&2
		return 1
	fi
	code=$(curl -s --noproxy '*' -o "$d/notice.html" -w '%{http_code}' "$lurl")
	[ "$code" = 511 ] || { echo "portal.sh: lazaretd's portal answered $code, not 511" >&2; return 1; }
	front=""
	for c in $(pgrep -P "$server_pid" 2>/dev/null || true); do
		[ "$(sed -n 's/^Name:[[:space:]]*//p' "/proc/$c/status")" = lazaretd-portal ] && front=$c
	done
	echo
	echo "== lazaretd ($LAZARETD; the notice is $(wc -c <"$d/notice.html") bytes; front process: ${front:-none, the main process serves HTTP})"
	measure lazaretd "$lurl" "$server_pid"
	# a front that died meanwhile took its CPU time with it: the figure would be low
	if grep -q 'front process pid .* died' "$d/lazaretd.log"; then
		echo "portal.sh: warning: lazaretd's portal front died during the run (its CPU is not all counted):" >&2
		grep 'died' "$d/lazaretd.log" | head -3 >&2
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "portal.sh: lazaretd died under load" >&2
		tail -20 "$d/lazaretd.log" >&2
		return 1
	fi
}
case " $SERVERS " in
*" lazaretd "*)
	if [ ! -x "$LAZARETD" ] || [ ! -x "$LAZARETCTL" ]; then
		echo "portal.sh: $LAZARETD or $LAZARETCTL missing" >&2
		failed=1
	elif ! run_lazaretd; then
		failed=1
	fi
	stop_server
	;;
esac

# --- nginx -------------------------------------------------------------------------------
case " $SERVERS " in
*" nginx "*)
	if [ ! -x "$nginx" ]; then
		echo "portal.sh: $nginx missing (apt-get install nginx-light)" >&2
		failed=1
	else
		nport=$(free_port)
		cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	open_file_cache max=64;
	client_body_temp_path $tmp/nginx;
	proxy_temp_path $tmp/nginx;
	fastcgi_temp_path $tmp/nginx;
	uwsgi_temp_path $tmp/nginx;
	scgi_temp_path $tmp/nginx;
	server {
		listen 127.0.0.1:$nport;
		root $tmp/www;
		location / { default_type "text/html; charset=utf-8"; add_header Cache-Control no-store; try_files /notice.html =404; }
	}
}
EOF
		"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
		server_pid=$!
		if ! wait_http "http://127.0.0.1:$nport/"; then
			echo "portal.sh: nginx did not start:" >&2
			cat "$tmp/nginx/error.log" >&2
			failed=1
		else
			worker=$(pgrep -P "$server_pid" nginx | head -n1)
			ncode=$(curl -s --noproxy '*' -o "$tmp/nginx/page" -w '%{http_code}' "http://127.0.0.1:$nport/x")
			cmp -s "$tmp/nginx/page" "$tmp/www/notice.html" && [ "$ncode" = 200 ] ||
				echo "portal.sh: warning: nginx answers $ncode with another page" >&2
			echo
			echo "== nginx ($("$nginx" -v 2>&1 | sed 's/.*: //'), 1 worker)"
			measure nginx "http://127.0.0.1:$nport/" "${worker:-$server_pid}"
		fi
		stop_server
	fi
	;;
esac

echo
echo "== summary"
printf '%-8s %10s %8s %8s %8s %8s %10s  %s\n' server req/s p50_ms p90_ms p99_ms max_ms cpu_us/req answers
printf '%s' "$results"
nrps=$(printf '%s' "$results" | awk '$1 == "nginx" { print $2 }')
for s in portal lazaretd; do
	prps=$(printf '%s' "$results" | awk -v s=$s '$1 == s { print $2 }')
	if [ -n "$prps" ] && [ -n "$nrps" ]; then
		awk -v s=$s -v p="$prps" -v n="$nrps" 'BEGIN {
			printf "%s / nginx = %.2f (target >= 0.50): %s\n", s, p / n, (p >= n / 2) ? "met" : "MISSED"
		}'
	fi
done
exit $failed
