#!/bin/sh
# cluster.sh — a throwaway PostgreSQL cluster for lazaret's tests, on a Unix socket only.
#
#   cluster.sh start DIR            initdb into DIR/data (the first time), start it; prints the
#                                   conninfo the tests connect with
#   cluster.sh stop DIR             fast shutdown (sessions ended, checkpoint written)
#   cluster.sh kill DIR             the postmaster and every backend SIGKILLed at once: a crash;
#                                   the next start runs crash recovery
#   cluster.sh restart DIR          stop then start
#   cluster.sh standby PRIMARY DIR  a streaming-replication standby of PRIMARY (pg_basebackup -R)
#                                   in DIR, started; prints its conninfo
#   cluster.sh promote DIR          the standby in DIR promoted to a primary (waits until it is)
#   cluster.sh conninfo DIR         prints the conninfo again
#   cluster.sh destroy DIR          kill whatever runs in DIR and remove DIR
#
# DIR holds data/ (PGDATA), the socket (.s.PGSQL.PORT: listen_addresses is empty, no TCP), the
# server's log (log) and the port (port). The port only names the socket, so any free number
# does; it is kept so that a restart comes back at the same address.
#
# PostgreSQL refuses to run as root: as root, DIR is handed to the postgres user (Debian's
# postgresql package creates it) and the server runs as that user. Authentication on the socket
# is trust, and the tests connect as the role lazaret (not a superuser, like a production
# deployment; it owns the database lazaret). Production uses scram-sha-256 with the
# password in a passfile (doc/postgresql.md), never trust.
#
# With PG_CLUSTER_OWNER=PID in the environment, start also leaves a watchdog behind that kills
# the cluster and removes DIR once process PID is gone: a test that crashes leaves no postgres.
# PG_SETTINGS="name = value; name = value" adds settings to postgresql.conf after ours when the
# cluster is made (the benchmarks size the server as a deployment would; the tests keep it small).
set -eu

die() { echo "cluster.sh: $*" >&2; exit 1; }

# Debian keeps the server's programs out of PATH, under /usr/lib/postgresql/VERSION/bin: the
# newest version installed, or PG_BINDIR.
find_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		[ -x "$PG_BINDIR/initdb" ] || die "PG_BINDIR=$PG_BINDIR holds no initdb"
		echo "$PG_BINDIR"; return
	fi
	best=""
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		v=${d#/usr/lib/postgresql/}; v=${v%/bin}
		if [ -z "$best" ] || [ "$v" -gt "${best_v:-0}" ] 2>/dev/null; then best=$d; best_v=$v; fi
	done
	if [ -z "$best" ] && command -v initdb >/dev/null 2>&1; then
		best=$(dirname "$(command -v initdb)")
	fi
	[ -n "$best" ] || die "PostgreSQL's server programs (initdb, pg_ctl) are not installed: apt-get install postgresql (scripts/install-deps.sh test does)"
	echo "$best"
}

# as_owner CMD...: the command as the cluster's owner (postgres when we are root).
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

prepare_dir() {
	mkdir -p "$1"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "no postgres user to run the server as (apt-get install postgresql)"
		chown postgres: "$1"
		runuser -u postgres -- test -w "$1" ||
			die "$1: the postgres user cannot reach it (a parent directory of mode 0700?)"
	fi
	# searchable, not listable: lazaretd, which keeps no capability (not even root's
	# CAP_DAC_OVERRIDE) or runs as its own user, reaches the socket in it; data/ stays 0700
	chmod 0711 "$1"
}

pick_port() {
	# a number nobody else's socket in DIR uses: DIR is ours, so any; varied to keep apart the
	# System V shared memory keys PostgreSQL derives from it
	echo $(( 20000 + ( $$ * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/') ) % 40000 ))
}

conninfo() {
	echo "host=$1 port=$(cat "$1/port") dbname=lazaret user=lazaret"
}

pg_start() {
	dir=$1
	bindir=$(find_bindir)
	as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && return 0
	# pg_ctl's chatter ("another server might be running" after a kill) only when it failed
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o "-p $(cat "$dir/port")" start \
		>/dev/null 2>"$dir/pg_ctl.err" ||
		{ cat "$dir/pg_ctl.err" >&2; tail -n 20 "$dir/log" >&2; die "$dir: the server did not start"; }
}

# psql as the superuser on DIR's socket
su_psql() {
	dir=$1; shift
	as_owner "$(find_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(cat "$dir/port")" -U postgres -d postgres "$@"
}

cmd_start() {
	dir=$1
	bindir=$(find_bindir)
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		prepare_dir "$dir"
		[ -f "$dir/port" ] || pick_port > "$dir/port"
		[ "$(id -u)" -ne 0 ] || chown postgres: "$dir/port"
		as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
			>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "$dir: initdb failed"; }
		# fsync stays on: the tests are about durability. Small, since the machine is shared.
		cat >> "$dir/data/postgresql.conf" <<-CONF
		listen_addresses = ''
		unix_socket_directories = '$dir'
		fsync = on
		shared_buffers = 16MB
		max_connections = 30
		max_wal_senders = 4
		wal_level = replica
		log_line_prefix = '%m [%p] %a '
		CONF
		[ -z "${PG_SETTINGS:-}" ] || printf '%s\n' "$PG_SETTINGS" | tr ';' '\n' | sed 's/^ *//' \
			>> "$dir/data/postgresql.conf"
		pg_start "$dir"
		su_psql "$dir" -c "CREATE ROLE lazaret LOGIN" \
			-c "CREATE DATABASE lazaret OWNER lazaret" >/dev/null
	else
		pg_start "$dir"
	fi
	watchdog "$dir"
	conninfo "$dir"
}

watchdog() {
	[ -n "${PG_CLUSTER_OWNER:-}" ] || return 0
	if [ -f "$1/watchdog" ] && kill -0 "$(cat "$1/watchdog")" 2>/dev/null; then return 0; fi
	self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	owner=$PG_CLUSTER_OWNER
	(
		trap '' HUP
		while kill -0 "$owner" 2>/dev/null; do sleep 1; done
		sh "$self" destroy "$1" >/dev/null 2>&1
		# and the base directory tests/unit/pg_cluster.h made, once no cluster is left in it
		case $(basename "$(dirname "$1")") in
		lazaret-pg-*) rmdir "$(dirname "$1")" 2>/dev/null ;;
		esac
	) </dev/null >/dev/null 2>&1 &
	echo $! > "$1/watchdog"
}

cmd_stop() {
	dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	as_owner "$(find_bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	wait_gone "$dir"
}

# every process of DIR's cluster: the postmaster and its children
cluster_pids() {
	[ -f "$1/data/postmaster.pid" ] || return 0
	pm=$(head -n 1 "$1/data/postmaster.pid")
	kill -0 "$pm" 2>/dev/null || return 0
	echo "$pm"
	pgrep -P "$pm" || true
}

wait_gone() {
	[ -f "$1/data/postmaster.pid" ] || return 0
	pm=$(head -n 1 "$1/data/postmaster.pid")
	i=0
	while kill -0 "$pm" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 600 ] || die "$1: postmaster $pm still running"
		sleep 0.05
	done
}

cmd_kill() {
	dir=$1
	pids=$(cluster_pids "$dir")
	[ -n "$pids" ] || return 0
	# children first in the list, all in one kill: none gets to notice the others' death
	kill -KILL $pids 2>/dev/null || true
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null; do
			i=$((i + 1)); [ $i -lt 600 ] || die "$dir: process $p survived SIGKILL"
			sleep 0.02
		done
	done
}

cmd_standby() {
	primary=$1 dir=$2
	bindir=$(find_bindir)
	[ -f "$primary/port" ] || die "$primary: no cluster"
	prepare_dir "$dir"
	pick_port > "$dir/port"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir/port"
	as_owner "$bindir/pg_basebackup" -h "$primary" -p "$(cat "$primary/port")" -U postgres \
		-D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
		{ cat "$dir/basebackup.log" >&2; die "$dir: pg_basebackup failed"; }
	# the copied configuration names the primary's socket directory: this one has its own
	cat >> "$dir/data/postgresql.conf" <<-CONF
	unix_socket_directories = '$dir'
	CONF
	pg_start "$dir"
	watchdog "$dir"
	conninfo "$dir"
}

cmd_promote() {
	dir=$1
	as_owner "$(find_bindir)/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null ||
		die "$dir: promotion failed"
}

cmd_destroy() {
	dir=$1
	[ -d "$dir" ] || return 0
	cmd_kill "$dir" || true
	if [ -f "$dir/watchdog" ]; then
		w=$(cat "$dir/watchdog")
		[ "$w" = "${PPID:-}" ] || [ "$w" = "$$" ] || kill "$w" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

[ $# -ge 2 ] || { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
cmd=$1; shift
case $cmd in
start)    cmd_start "$1" ;;
stop)     cmd_stop "$1" ;;
kill)     cmd_kill "$1" ;;
restart)  cmd_stop "$1"; cmd_start "$1" ;;
standby)  [ $# -eq 2 ] || die "usage: standby PRIMARY_DIR STANDBY_DIR"; cmd_standby "$1" "$2" ;;
promote)  cmd_promote "$1" ;;
conninfo) conninfo "$1" ;;
destroy)  cmd_destroy "$1" ;;
*) die "unknown command $cmd (start, stop, kill, restart, standby, promote, conninfo, destroy)" ;;
esac
