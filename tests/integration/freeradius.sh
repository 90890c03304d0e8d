# freeradius.sh — sourced by the tests that run a FreeRADIUS 3.2 of their own (Debian's
# freeradius package): a private raddb in a temp directory, nothing of /etc/freeradius used
# but its dictionary.
# shellcheck shell=sh

# freeradius_raddb DIR [MAX_REQUESTS] — DIR/radiusd.conf with the paths, log and security settings every
# test needs, and its log/ and run/ directories; the test appends its clients, modules and
# servers to DIR/radiusd.conf. Start it with `freeradius -X -d DIR` (through `ip netns exec`
# itself when in a namespace, so $! is its pid). MAX_REQUESTS (1024): what FreeRADIUS keeps
# for duplicate detection (cleanup_delay 5 s), raised by the benchmark's rates. POSIX sh, for
# bench/radius.sh too.
freeradius_raddb() {
	raddb=$1
	mkdir -p "$raddb/log/radacct" "$raddb/run"
	cp /etc/freeradius/3.0/dictionary "$raddb/dictionary" 2>/dev/null || : >"$raddb/dictionary"
	cat >"$raddb/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = \${exec_prefix}/sbin
logdir = $raddb/log
raddbdir = $raddb
radacctdir = \${logdir}/radacct
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = $raddb/run
db_dir = \${raddbdir}
libdir = /usr/lib/freeradius
pidfile = \${run_dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = ${2:-1024}
hostname_lookups = no
log {
	destination = files
	file = \${logdir}/radius.log
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}
CONF
}
