#!/bin/sh
# portal.sh BUILD_DIR — requests/s and latency of the portal's notice page beside nginx
# serving the same page as a static file, on this machine, with the same load for each.
#
# Servers, one after the other:
#   portal  BUILD_DIR/tests/portal_harness: the portal with a real judge and store (temp
#           dir), 127.0.0.1 quarantined, so every request is a 511 with the notice rendered
#           afresh (evidence, a new release token); per-IP limit raised to the load's.
#   nginx   Debian's nginx-light, one worker, the notice the portal served saved as a file
#           and served as it is (200) on every path: access log off, sendfile and an
#           open file cache on: a static page served the way nginx serves one best.
# Load: wrk (THREADS threads, CONNS keep-alive connections), WARMUP seconds, then
# DURATION seconds measured with --latency. CPU is the server's own CPU time per request,
# from /proc: on a shared machine it says more than requests/s alone.
#
# Environment (defaults in brackets):
#   CONNS [64]  THREADS [1]  WARMUP [2]  DURATION [10]  SERVERS ["portal nginx"]
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
SERVERS=${SERVERS:-portal nginx}

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

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

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
			printf "%-7s %10.0f %8.3f %8.3f %8.3f %8.2f %10.1f  %s\n", name, rps, p50, p90, p99, max,
			    n ? ticks / hz * 1e6 / n : 0, (non2xx == n ? "all 511" : (non2xx ? "511: " non2xx "/" n : "all 200")) (errs ? "; " errs : "")
		}' "$tmp/wrk-$name.txt")
	results="$results$line
"
}

# --- the portal -------------------------------------------------------------------------
port=$(free_port)
url="http://127.0.0.1:$port/"
mkdir -p "$tmp/portal" "$tmp/www" "$tmp/nginx"
"$harness" -d "$tmp/portal" -l "127.0.0.1:$port" -T "$root/share/portal" -u "$url" -q 127.0.0.1 \
	-P $((CONNS * 2)) -C $((CONNS * 4 + 64)) </dev/null >"$tmp/portal/out" 2>"$tmp/portal/log" &
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
printf '%-7s %10s %8s %8s %8s %8s %10s  %s\n' server req/s p50_ms p90_ms p99_ms max_ms cpu_us/req answers
printf '%s' "$results"
prps=$(printf '%s' "$results" | awk '$1 == "portal" { print $2 }')
nrps=$(printf '%s' "$results" | awk '$1 == "nginx" { print $2 }')
if [ -n "$prps" ] && [ -n "$nrps" ]; then
	awk -v p="$prps" -v n="$nrps" 'BEGIN {
		printf "portal / nginx = %.2f (target >= 0.50): %s\n", p / n, (p >= n / 2) ? "met" : "MISSED"
	}'
fi
exit $failed
