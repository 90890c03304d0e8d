# lib.sh — helpers for lazaret's integration tests (bash; source it, do not run it).
# shellcheck shell=bash disable=SC2034,SC2119,SC2120  # variables and optional arguments are for the tests
#
#   . "$(dirname "$0")/lib.sh"
#   t_init                      # temp dir $T, cleanup on exit, needs $BUILD_DIR
#   lz_ports                    # LZ_POLICY_PORT, LZ_PORTAL_PORT; LZ_API_SOCK and LZ_API (unix:...)
#   sink_start relay            # smtp-sink on loopback, dumps into $T/sink-relay/
#   pf_init                     # private Postfix config in $T/postfix (see PF_* below)
#   pf_conf 'key = value'       # optional: more main.cf settings
#   pf_master 'line'            # optional: more master.cf lines
#   pf_sasl REALM u:p ...       # optional: Cyrus SASL with a sasldb (after pf_init)
#   pf_submission               # optional: SASL-only smtpd on $PF_SUB_PORT (after pf_sasl)
#   pf_start                    # register, start, wait for port, stop on exit
#   lz_config limits.host_messages=10/1h ...   # $T/lazaret.conf
#   lz_start                    # lazaretd in the background, stopped on exit
#   send_mail ID 127.0.0.2      # swaks; transcript in $T/swaks/ID.txt
#   send_auth_mail ID 127.0.0.2 USER PASS   # the same through the submission port, AUTH PLAIN
#   lz_maillog_wait             # until lazaretd has read all of $PF_LOG
#   assert_* / fail             # print expected vs seen; fail dumps the logs
#
# Everything runs on 127.0.0.0/8. Every process started here and the temp dir are removed on
# exit, whatever the exit path. Tests exit 0 (pass), 77 (skip: missing tool outside CI) or
# anything else (fail).

# ---------------------------------------------------------------------------------------------
# basics

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$IT_DIR/../.." && pwd)
: "${BUILD_DIR:=}"
: "${IT_KEEP:=}"                 # IT_KEEP=1 keeps the temp dir for post-mortem
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac   # postfix, postconf

T=""
T_START=$(date +%s)
_T_CLEANUPS=()
_T_CASE=""

now_ms() { date +%s%3N; }

log() { printf '[%6.1fs] %s\n' "$(echo "$(now_ms) $T_START" | awk '{ printf "%.1f", ($1 - $2 * 1000) / 1000 }')" "$*"; }

# t_on_exit CMD... — run CMD (a string, eval'ed) at exit; last registered runs first.
t_on_exit() { _T_CLEANUPS+=("$*"); }

_t_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#_T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_T_CLEANUPS[i]}" >/dev/null 2>&1 || true
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ -n "$IT_KEEP" ]; then
			echo "kept temp dir: $T" >&2
		else
			rm -rf -- "$T"
		fi
	fi
	exit "$rc"
}

# t_skip REASON — a tool is missing: skip outside CI, fail in CI (nothing may silently not run).
t_skip() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $* (CI=${CI}: a missing prerequisite is a failure)" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

t_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || t_skip "command not found: $c"
	done
}

t_require_root() { [ "$(id -u)" = 0 ] || t_skip "must run as root (private Postfix instance)"; }

# t_init — check prerequisites, make the temp dir $T, install the cleanup trap.
t_init() {
	[ -n "$BUILD_DIR" ] || { echo "BUILD_DIR is not set" >&2; exit 2; }
	BUILD_DIR=$(cd "$BUILD_DIR" && pwd) || exit 2
	LAZARETD=$BUILD_DIR/lazaretd
	LAZARETCTL=$BUILD_DIR/lazaretctl
	[ -x "$LAZARETD" ] || { echo "FAIL: $LAZARETD not built" >&2; exit 1; }
	[ -x "$LAZARETCTL" ] || { echo "FAIL: $LAZARETCTL not built" >&2; exit 1; }
	trap _t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	# not $TMPDIR: the postfix user must be able to reach the instance through every parent
	T=$(mktemp -d "${IT_TMPDIR:-/tmp}/lazaret-it.XXXXXX") || exit 1
	chmod 755 "$T"          # Postfix and smtp-sink drop to the postfix user and must get in
	mkdir -p "$T/swaks"
	: >"$T/ports.used"
}

# ---------------------------------------------------------------------------------------------
# output, failure, assertions

# case_begin NAME / case_pass [NOTE]
case_begin() { _T_CASE=$1; echo; log "=== case: $1"; }
case_pass() { log "--- PASS: $_T_CASE${1:+ ($1)}"; _T_CASE=""; }

# dump_logs — daemon log and Postfix maillog tails, for a failure report.
dump_logs() {
	local n=${1:-60}
	if [ -n "${LZ_LOG:-}" ] && [ -f "$LZ_LOG" ]; then
		echo "----- lazaretd log (last $n lines of $LZ_LOG) -----"
		tail -n "$n" "$LZ_LOG"
	fi
	if [ -n "${PF_LOG:-}" ] && [ -f "$PF_LOG" ]; then
		echo "----- Postfix maillog (last $n lines of $PF_LOG) -----"
		tail -n "$n" "$PF_LOG"
	fi
	echo "-----"
}

# fail MESSAGE... — report, dump the logs, exit 1 (the EXIT trap cleans up).
fail() {
	echo
	echo "FAIL${_T_CASE:+ [$_T_CASE]}: $*"
	dump_logs
	exit 1
}

# assert_eq WHAT EXPECTED SEEN
assert_eq() {
	[ "$2" = "$3" ] && return 0
	fail "$1: expected '$2', saw '$3'"
}

# assert_match WHAT ERE TEXT — TEXT must match the extended regex ERE.
assert_match() {
	printf '%s\n' "$3" | grep -Eq -- "$2" && return 0
	fail "$1: expected a match for /$2/, saw:
$3"
}

# assert_no_match WHAT ERE TEXT
assert_no_match() {
	printf '%s\n' "$3" | grep -Eq -- "$2" || return 0
	fail "$1: expected no match for /$2/, saw:
$3"
}

# assert_file_match WHAT ERE FILE — like assert_match, showing the file on failure.
assert_file_match() {
	grep -Eq -- "$2" "$3" 2>/dev/null && return 0
	fail "$1: expected a match for /$2/ in $3, saw:
$(cat "$3" 2>/dev/null || echo '(no file)')"
}

# assert_le WHAT LIMIT SEEN / assert_ge WHAT LIMIT SEEN (integers)
assert_le() { [ "$3" -le "$2" ] 2>/dev/null && return 0; fail "$1: expected <= $2, saw $3"; }
assert_ge() { [ "$3" -ge "$2" ] 2>/dev/null && return 0; fail "$1: expected >= $2, saw $3"; }

# wait_for SECONDS CMD... — poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
	local limit=$(( $(now_ms) + $1 * 1000 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$limit" ] || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------------------------------------
# ports

# pid_gone PID — the process has exited (a zombie child not yet reaped counts as gone).
pid_gone() {
	kill -0 "$1" 2>/dev/null || return 0
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

port_listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# free_port — print a TCP port nobody listens on and that this test has not handed out yet.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		grep -qx "$p" "$T/ports.used" && continue
		port_listening "$p" && continue
		[ -n "$(ss -Htan "sport = :$p" 2>/dev/null)" ] && continue
		echo "$p" >>"$T/ports.used"
		echo "$p"
		return 0
	done
	echo "free_port: no free port found" >&2
	return 1
}

# wait_port PORT [SECONDS] — until something listens on TCP PORT.
wait_port() { wait_for "${2:-10}" port_listening "$1"; }

# ---------------------------------------------------------------------------------------------
# smtp-sink: the relay's next hop

# sink_start NAME [smtp-sink options...] — start smtp-sink -u postfix on 127.0.0.1:free port,
# each message dumped into $T/sink-NAME/. Extra options, e.g. -f RCPT (5xx) or -r RCPT (4xx).
sink_start() {
	local name=$1 port
	shift
	port=$(free_port) || fail "no free port for smtp-sink $name"
	mkdir -p "$T/sink-$name"
	chown postfix "$T/sink-$name"
	smtp-sink -u postfix -h "sink-$name.test" -d "$T/sink-$name/msg." "$@" \
		"127.0.0.1:$port" 256 >>"$T/sink-$name.log" 2>&1 &
	echo $! >"$T/sink-$name.pid"
	echo "$port" >"$T/sink-$name.port"
	t_on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
	wait_port "$port" 10 || fail "smtp-sink $name did not listen on 127.0.0.1:$port: $(cat "$T/sink-$name.log")"
	log "smtp-sink $name on 127.0.0.1:$port"
}

sink_port() { cat "$T/sink-$1.port"; }

# sink_count NAME — messages smtp-sink NAME received so far.
sink_count() { find "$T/sink-$1" -type f -name 'msg.*' 2>/dev/null | wc -l; }

# sink_has NAME ERE — some message received by NAME matches ERE.
sink_has() { grep -Eqr -- "$2" "$T/sink-$1" 2>/dev/null; }

# sink_wait NAME ERE [SECONDS] — until a message matching ERE arrived.
sink_wait() { wait_for "${3:-10}" sink_has "$1" "$2"; }

# ---------------------------------------------------------------------------------------------
# private Postfix instance

# The default main.cf must name our config_directory in alternate_config_directories before
# `postfix -c DIR` agrees to run. Several runs may share the machine: edit it under a lock, add
# and remove only our own entry, and delete the file again if we created it and nobody else
# still uses it.
PF_DEFAULT_MAINCF=/etc/postfix/main.cf
PF_MAINCF_MARK="# created by lazaret integration tests (tests/integration/lib.sh); removed when unused"
_pf_lockfile() { if [ -d /run/lock ]; then echo /run/lock/lazaret-it-postfix.lock; else echo /tmp/lazaret-it-postfix.lock; fi; }

_pf_register() {
	local dir=$1 cur new w
	(
		flock -w 30 9 || exit 1
		if [ ! -e "$PF_DEFAULT_MAINCF" ]; then
			mkdir -p "$(dirname "$PF_DEFAULT_MAINCF")"
			printf '%s\ncompatibility_level = 3.6\n' "$PF_MAINCF_MARK" >"$PF_DEFAULT_MAINCF"
		fi
		cur=$(postconf -c "$(dirname "$PF_DEFAULT_MAINCF")" -h alternate_config_directories 2>/dev/null)
		new=""
		for w in ${cur//,/ }; do
			# drop what a killed run (SIGKILL: no cleanup) left behind
			case $w in */lazaret-it.*/postfix) [ -d "$w" ] || continue ;; esac
			new="${new:+$new }$w"
		done
		postconf -c "$(dirname "$PF_DEFAULT_MAINCF")" -e "alternate_config_directories = ${new:+$new }$dir"
	) 9>>"$(_pf_lockfile)"
}

_pf_unregister() {
	local dir=$1 cur new w
	(
		flock -w 30 9 || exit 1
		[ -e "$PF_DEFAULT_MAINCF" ] || exit 0
		cur=$(postconf -c "$(dirname "$PF_DEFAULT_MAINCF")" -h alternate_config_directories 2>/dev/null)
		new=""
		for w in ${cur//,/ }; do [ "$w" = "$dir" ] || new="${new:+$new }$w"; done
		if [ -n "$new" ]; then
			postconf -c "$(dirname "$PF_DEFAULT_MAINCF")" -e "alternate_config_directories = $new"
		elif head -n1 "$PF_DEFAULT_MAINCF" | grep -qxF "$PF_MAINCF_MARK"; then
			rm -f "$PF_DEFAULT_MAINCF"
		else
			postconf -c "$(dirname "$PF_DEFAULT_MAINCF")" -X alternate_config_directories
		fi
	) 9>>"$(_pf_lockfile)"
}

# pf_init — write main.cf and master.cf for a private instance. Set before calling (all optional):
#   PF_PORT          smtpd port on 127.0.0.1 (default: a free port)
#   PF_POLICY_PORT   lazaretd's policy port (default: $LZ_POLICY_PORT); empty = no policy service
#   PF_POLICY_TIMEOUT  default 10s (the documented form)
#   PF_RELAYHOST     default [127.0.0.1]:port of smtp-sink "relay" (started here if needed)
#   PF_MYNETWORKS    default 127.0.0.0/8 (narrow it, e.g. 127.0.0.1/32, to make clients authenticate)
#   PF_SYSLOG_NAME   default postfix (log lines read "postfix/smtpd[PID]: ..." as in production)
# Afterwards, before pf_start: pf_conf for more main.cf parameters, pf_master for more services
# (e.g. a submission port with SASL: pf_master "127.0.0.1:$port inet n - n - - smtpd" \
# "  -o smtpd_sasl_auth_enable=yes" ...), pf_texthash for lookup tables (transport_maps ...).
# Sets PF_DIR (config_directory), PF_QUEUE, PF_LOG (maillog), PF_POLICY (the restriction text).
pf_init() {
	t_require_root
	t_require_cmd postfix postconf smtp-sink swaks ss flock
	PF_DIR=$T/postfix
	PF_QUEUE=$T/postfix-queue
	PF_DATA=$T/postfix-data
	PF_LOG=$T/log/maillog
	: "${PF_PORT:=$(free_port)}"
	: "${PF_POLICY_PORT=${LZ_POLICY_PORT:-}}"
	: "${PF_POLICY_TIMEOUT:=10s}"
	if [ -z "${PF_RELAYHOST:-}" ]; then
		[ -f "$T/sink-relay.port" ] || sink_start relay
		PF_RELAYHOST="[127.0.0.1]:$(sink_port relay)"
	fi
	mkdir -p "$PF_DIR" "$PF_QUEUE" "$T/log"
	if [ -n "$PF_POLICY_PORT" ]; then
		PF_POLICY="check_policy_service { inet:127.0.0.1:$PF_POLICY_PORT, timeout=$PF_POLICY_TIMEOUT, default_action=DUNNO }"
	else
		PF_POLICY=""
	fi
	cat >"$PF_DIR/main.cf" <<-EOF
	# private Postfix instance for lazaret's integration tests (generated)
	compatibility_level = 3.6
	config_directory = $PF_DIR
	queue_directory = $PF_QUEUE
	data_directory = $PF_DATA
	meta_directory = /etc/postfix
	maillog_file = $PF_LOG
	maillog_file_prefixes = $T
	syslog_name = ${PF_SYSLOG_NAME:-postfix}
	myhostname = relay.lazaret-it.test
	mydomain = lazaret-it.test
	myorigin = \$myhostname
	mydestination =
	local_recipient_maps =
	alias_maps =
	alias_database =
	inet_interfaces = loopback-only
	inet_protocols = ipv4
	mynetworks = ${PF_MYNETWORKS:-127.0.0.0/8}
	relayhost = $PF_RELAYHOST
	smtpd_banner = \$myhostname ESMTP lazaret-it
	smtpd_peername_lookup = no
	smtp_dns_support_level = disabled
	smtp_host_lookup = native
	smtp_tls_security_level = none
	smtpd_tls_security_level = none
	biff = no
	append_dot_mydomain = no
	delay_warning_time = 0
	queue_run_delay = 10s
	minimal_backoff_time = 10s
	maximal_backoff_time = 30s
	smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination
	smtpd_recipient_restrictions = ${PF_POLICY:+$PF_POLICY, }permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
	smtpd_data_restrictions = ${PF_POLICY}
	EOF
	# chroot off everywhere (smtpd may need files outside the queue, e.g. sasldb)
	cat >"$PF_DIR/master.cf" <<-EOF
	# service type  private unpriv  chroot  wakeup  maxproc command
	127.0.0.1:$PF_PORT inet n - n - - smtpd
	pickup     unix  n       -       n       60      1       pickup
	cleanup    unix  n       -       n       -       0       cleanup
	qmgr       unix  n       -       n       300     1       qmgr
	rewrite    unix  -       -       n       -       -       trivial-rewrite
	bounce     unix  -       -       n       -       0       bounce
	defer      unix  -       -       n       -       0       bounce
	trace      unix  -       -       n       -       0       bounce
	verify     unix  -       -       n       -       1       verify
	flush      unix  n       -       n       1000?   0       flush
	proxymap   unix  -       -       n       -       -       proxymap
	proxywrite unix  -       -       n       -       1       proxymap
	smtp       unix  -       -       n       -       -       smtp
	relay      unix  -       -       n       -       -       smtp
	showq      unix  n       -       n       -       -       showq
	error      unix  -       -       n       -       -       error
	retry      unix  -       -       n       -       -       error
	discard    unix  -       -       n       -       -       discard
	local      unix  -       n       n       -       -       local
	anvil      unix  -       -       n       -       1       anvil
	scache     unix  -       -       n       -       1       scache
	postlog    unix-dgram n  -       n       -       1       postlogd
	EOF
}

# pf_conf 'key = value'... — set main.cf parameters (after pf_init, before or after pf_start;
# after pf_start call pf_reload).
pf_conf() { local kv; for kv in "$@"; do postconf -c "$PF_DIR" -e "$kv" || fail "postconf -e '$kv'"; done; }

# pf_master 'master.cf line'... — append service lines.
pf_master() { printf '%s\n' "$@" >>"$PF_DIR/master.cf"; }

_pf_master_pid() { head -n1 "$PF_QUEUE/pid/master.pid" 2>/dev/null | tr -d ' '; }
_pf_has_pid() { [ -n "$(_pf_master_pid)" ]; }

# pf_start — register the config directory, check and start the instance, wait for its port.
pf_start() {
	local out pid
	_pf_register "$PF_DIR" || fail "could not register $PF_DIR in $PF_DEFAULT_MAINCF"
	t_on_exit "_pf_unregister '$PF_DIR'"
	t_on_exit "pf_stop"
	if ! out=$(postfix -c "$PF_DIR" start 2>&1); then
		fail "postfix -c $PF_DIR start failed (its errors go to the maillog below): $out"
	fi
	wait_for 10 _pf_has_pid || true
	wait_port "$PF_PORT" 15 || fail "Postfix did not listen on 127.0.0.1:$PF_PORT (start said: $out)"
	pid=$(_pf_master_pid)
	log "Postfix $(postconf -c "$PF_DIR" -h mail_version) on 127.0.0.1:$PF_PORT (master pid $pid, config $PF_DIR)"
}

pf_reload() { postfix -c "$PF_DIR" reload >/dev/null 2>&1 || fail "postfix reload failed"; }

# pf_stop — stop the instance and make sure none of its processes remain (master runs in its
# own session; its children share its process group).
pf_stop() {
	local pid
	[ -n "${PF_DIR:-}" ] || return 0
	pid=$(_pf_master_pid)
	[ -n "$pid" ] || return 0
	postfix -c "$PF_DIR" stop >/dev/null 2>&1 || true
	wait_for 10 pid_gone "$pid" || { postfix -c "$PF_DIR" abort >/dev/null 2>&1; sleep 0.5; }
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	pkill -KILL -g "$pid" 2>/dev/null || true
	wait_for 5 sh -c "! pgrep -g $pid" || true
}

# pf_log_tail [N]
pf_log_tail() { tail -n "${1:-40}" "$PF_LOG" 2>/dev/null; }

# pf_log_wait ERE [SECONDS] — until the maillog matches ERE.
pf_log_wait() { wait_for "${2:-10}" grep -Eq -- "$1" "$PF_LOG"; }

# pf_queue_empty — no message left in the instance's queue.
pf_queue_empty() { [ -z "$(find "$PF_QUEUE/incoming" "$PF_QUEUE/active" "$PF_QUEUE/deferred" -type f 2>/dev/null)" ]; }

# pf_wait_queue_empty [SECONDS] — until every message has left the queue (delivered or bounced).
pf_wait_queue_empty() { wait_for "${1:-15}" pf_queue_empty; }

# pf_texthash NAME 'key value'... — write lookup table $PF_DIR/NAME and print "texthash:PATH",
# e.g. pf_conf "transport_maps = $(pf_texthash transport "bad.test smtp:[127.0.0.1]:$p")".
# texthash needs no postmap; it is read when a process starts (pf_reload after changing it).
pf_texthash() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$PF_DIR/$name"
	echo "texthash:$PF_DIR/$name"
}

# pf_sasl REALM USER:PASSWORD... — Cyrus SASL for the instance's smtpd: a sasldb in
# $PF_DIR/sasl/sasldb2 with USER@REALM for each pair (saslpasswd2 -u REALM), smtpd.conf with
# auxprop/sasldb and mech_list PLAIN LOGIN. Debian's Postfix reads smtpd.conf from
# $config_directory/sasl/ whatever cyrus_sasl_config_path says (upstream uses that parameter:
# both are set). smtpd opens the sasldb as the postfix user, with chroot off (pf_init turns
# chroot off everywhere). Call after pf_init; enable SASL on a service with pf_submission (or
# -o smtpd_sasl_auth_enable=yes).
pf_sasl() {
	local realm=$1 up
	shift
	t_require_cmd saslpasswd2
	PF_SASL_DIR=$PF_DIR/sasl
	mkdir -p "$PF_SASL_DIR"
	for up in "$@"; do
		printf '%s' "${up#*:}" | saslpasswd2 -c -p -f "$PF_SASL_DIR/sasldb2" -u "$realm" "${up%%:*}" ||
			fail "saslpasswd2 could not add ${up%%:*}@$realm to $PF_SASL_DIR/sasldb2"
	done
	chown root:postfix "$PF_SASL_DIR" "$PF_SASL_DIR/sasldb2"
	chmod 750 "$PF_SASL_DIR"
	chmod 640 "$PF_SASL_DIR/sasldb2"
	cat >"$PF_SASL_DIR/smtpd.conf" <<-EOF2
	pwcheck_method: auxprop
	auxprop_plugin: sasldb
	sasldb_path: $PF_SASL_DIR/sasldb2
	mech_list: PLAIN LOGIN
	EOF2
	chmod 644 "$PF_SASL_DIR/smtpd.conf"
	pf_conf "cyrus_sasl_config_path = $PF_SASL_DIR" "smtpd_sasl_type = cyrus" "smtpd_sasl_path = smtpd" \
		"smtpd_sasl_security_options = noanonymous" "broken_sasl_auth_clients = no"
}

# pf_submission — a submission-like smtpd on 127.0.0.1:$PF_SUB_PORT (default: a free port)
# with syslog_name postfix/submission: SASL authentication on (pf_sasl first), relaying only
# for authenticated clients, and lazaret's policy service ($PF_POLICY) before
# permit_sasl_authenticated, so that the policy requests carry sasl_username.
pf_submission() {
	: "${PF_SUB_PORT:=$(free_port)}"
	pf_conf "lazaret_it_submission_recipient = ${PF_POLICY:+$PF_POLICY, }permit_sasl_authenticated, reject"
	pf_master "127.0.0.1:$PF_SUB_PORT inet n - n - - smtpd" \
		"  -o syslog_name=postfix/submission" \
		"  -o smtpd_sasl_auth_enable=yes" \
		"  -o smtpd_client_restrictions=" \
		"  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject" \
		"  -o smtpd_recipient_restrictions=\$lazaret_it_submission_recipient"
}

# pf_submission_ready — after pf_start: wait until the submission port listens.
pf_submission_ready() {
	wait_port "$PF_SUB_PORT" 15 || fail "Postfix's submission service did not listen on 127.0.0.1:$PF_SUB_PORT"
	log "Postfix submission (SASL) on 127.0.0.1:$PF_SUB_PORT"
}

# ---------------------------------------------------------------------------------------------
# lazaretd

# lz_ports — pick LZ_POLICY_PORT and LZ_PORTAL_PORT (once); the API is the Unix socket
# LZ_API_SOCK: LZ_API is lazaretctl's --api for it, api_curl and LZ_API_URL curl's.
lz_ports() {
	: "${LZ_POLICY_PORT:=$(free_port)}"
	: "${LZ_PORTAL_PORT:=$(free_port)}"
	LZ_API_SOCK=$T/api.sock
	LZ_API="unix:$LZ_API_SOCK"
	LZ_API_URL="http://localhost"
}

# api_curl CURL-ARGS... — curl through the API socket: api_curl -s "$LZ_API_URL/metrics".
api_curl() { curl --unix-socket "$LZ_API_SOCK" "$@"; }

LZ_PORTAL_URL=${LZ_PORTAL_URL:-http://portal.lazaret-it.test/quarantine}

# lz_config [section.key=value | section.key+=value]... — write $LZ_CONF from defaults plus
# overrides; "+=" adds another line for repeatable keys (listen). The tests' subscribers
# send from loopback (swaks --local-interface 127.0.0.N), which lazaretd ignores by
# default: judge.ignore=none judges them.
lz_config() {
	lz_ports
	LZ_CONF=$T/lazaret.conf
	LZ_STORE=${LZ_STORE:-$T/lazaret.db}
	local -a order=()
	local -A val=()
	local arg sk s k v add
	set -- "daemon.store=$LZ_STORE" "daemon.log_level=debug" \
		"policy.listen=127.0.0.1:$LZ_POLICY_PORT" "policy.count_at=data" \
		"api.socket=$LZ_API_SOCK" "portal.url=$LZ_PORTAL_URL" \
		"portal.listen=127.0.0.1:$LZ_PORTAL_PORT" "portal.templates=$REPO_ROOT/share/portal" \
		"judge.ignore=none" "$@"
	for arg in "$@"; do
		add=0
		sk=${arg%%=*}
		v=${arg#*=}
		if [ "${sk%+}" != "$sk" ]; then add=1; sk=${sk%+}; fi
		s=${sk%%.*}
		k=${sk#*.}
		if [ -z "$s" ] || [ -z "$k" ] || [ "$s" = "$sk" ]; then fail "lz_config: bad argument '$arg'"; fi
		if [ -z "${val[$s]+x}" ]; then order+=("$s"); val[$s]=""; fi
		if [ "$add" = 0 ]; then
			# replace an earlier value of the same key
			val[$s]=$(printf '%s' "${val[$s]}" | awk -v k="$k" -F' = ' '$1 != k')
		fi
		val[$s]="${val[$s]:+${val[$s]}
}$k = $v"
	done
	{
		echo "; generated by tests/integration/lib.sh"
		for s in "${order[@]}"; do
			printf '[%s]\n%s\n\n' "$s" "${val[$s]}"
		done
	} >"$LZ_CONF"
	local out
	if ! out=$("$LAZARETD" -n -c "$LZ_CONF" 2>&1); then
		fail "lazaretd -n rejected the generated config:
$out
--- $LZ_CONF ---
$(cat "$LZ_CONF")"
	fi
}

# lz_start — start lazaretd on $LZ_CONF, log to $LZ_LOG (appended), wait for its ports.
lz_start() {
	LZ_LOG=$T/lazaretd.log
	[ -n "${LZ_CONF:-}" ] || lz_config
	echo "===== lazaretd start $(date -u +%FT%TZ)" >>"$LZ_LOG"
	# lazaretd creates a store only when told: on this test's first start, not on a restart
	local store init=()
	store=$(awk -F' *= *' '$1 == "store" { print $2 }' "$LZ_CONF")
	[ -e "${store:-$LZ_STORE}" ] || init=(--init-store)
	"$LAZARETD" "${init[@]}" -c "$LZ_CONF" >>"$LZ_LOG" 2>&1 &
	LZ_PID=$!
	t_on_exit "lz_stop"
	if ! wait_for 15 _lz_ready_or_dead || pid_gone "$LZ_PID"; then
		if pid_gone "$LZ_PID"; then
			wait "$LZ_PID"
			local rc=$?
			LZ_PID=""
			fail "lazaretd exited during start-up (status $rc)"
		fi
		fail "lazaretd did not listen on 127.0.0.1:$LZ_POLICY_PORT and $LZ_API"
	fi
	log "lazaretd pid $LZ_PID: policy 127.0.0.1:$LZ_POLICY_PORT, API $LZ_API"
}

_lz_ready() {
	{ [ -z "${LZ_POLICY_PORT:-}" ] || port_listening "$LZ_POLICY_PORT"; } && lz_api_up
}

# lz_api_up — the API answers on its socket (a socket file alone may be a dead run's).
lz_api_up() { api_curl -s -m 1 -o /dev/null "$LZ_API_URL/metrics"; }
_lz_ready_or_dead() { pid_gone "$LZ_PID" || _lz_ready; }

# lz_stop — SIGTERM, wait up to 10 s, then SIGKILL. Sets LZ_EXIT (143 style codes for kills).
lz_stop() {
	[ -n "${LZ_PID:-}" ] || return 0
	local pid=$LZ_PID
	LZ_PID=""
	kill -TERM "$pid" 2>/dev/null
	if ! wait_for 10 pid_gone "$pid"; then
		echo "lazaretd pid $pid ignored SIGTERM for 10 s: SIGKILL" >>"${LZ_LOG:-/dev/null}"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	LZ_EXIT=$?
	echo "===== lazaretd exit status $LZ_EXIT" >>"${LZ_LOG:-/dev/null}"
}

# lzctl ARGS... — lazaretctl against the test's API.
lzctl() { "$LAZARETCTL" --api "$LZ_API" "$@"; }

# lz_stats — GET /v1/stats as JSON (lazaretctl stats --json); fails the test when it cannot.
lz_stats() {
	local out
	out=$(lzctl stats --json 2>&1) || fail "lazaretctl stats --json failed: $out"
	printf '%s\n' "$out"
}

# lz_explain SUBJECT — lazaretctl explain SUBJECT --json; fails the test when it cannot.
lz_explain() {
	local out
	out=$(lzctl explain "$1" --json 2>&1) || fail "lazaretctl explain $1 --json failed: $out"
	printf '%s\n' "$out"
}

# json_evidence JSON KIND FIELD — FIELD (summary, count, score ...) of the evidence item of KIND
# in an explain or analyze subject object; empty when there is none.
json_evidence() {
	sqlite3 -batch :memory: "select json_extract(value, '\$.$3') from json_each($(_sql_quote "$1"), '\$.evidence')
		where json_extract(value, '\$.kind') = $(_sql_quote "$2") limit 1"
}

# The maillog sensor counts the lines it read since it started ($.maillog.lines in stats). Lines
# before the offset it resumed at do not count: set LZ_MAILLOG_BASE to their number after a
# restart (lz_resume_offset, lines_before_offset).
LZ_MAILLOG_BASE=0

# lz_maillog_lines — lines of the maillog lazaretd has read (with LZ_MAILLOG_BASE added).
lz_maillog_lines() {
	local n
	n=$(json_get "$(lzctl stats --json 2>/dev/null)" '$.maillog.lines' 2>/dev/null)
	[ -n "$n" ] || return 1
	echo $((n + LZ_MAILLOG_BASE))
}

_lz_maillog_caught_up() {
	local seen
	seen=$(lz_maillog_lines) || return 1
	[ "$seen" -ge "$(wc -l <"$PF_LOG")" ]
}

# lz_maillog_wait [SECONDS] — until lazaretd has read every line now in $PF_LOG (and once more,
# so that lines written while it caught up are read too).
lz_maillog_wait() {
	wait_for "${1:-10}" _lz_maillog_caught_up || return 1
	sleep 0.3
	wait_for "${1:-10}" _lz_maillog_caught_up
}

# lz_resume_offset — the offset of the last "maillog PATH: resuming at offset N" in $LZ_LOG.
lz_resume_offset() { sed -n 's/.*maillog .*: resuming at offset \([0-9][0-9]*\).*/\1/p' "$LZ_LOG" | tail -n1; }

# lines_before_offset FILE OFFSET — whole lines in the first OFFSET bytes of FILE.
lines_before_offset() { head -c "$2" "$1" | wc -l; }

# ---------------------------------------------------------------------------------------------
# sending mail

# send_mail ID CLIENT_IP [swaks options...] — one message to the private Postfix from CLIENT_IP
# (127.0.0.N). Transcript in $T/swaks/ID.txt (also $SWAKS_OUT), swaks' exit status in $SWAKS_RC,
# time taken in $SWAKS_MS. Defaults: --to rcpt-ID@dest.lazaret-it.test, --from
# sender@CLIENT_IP-as-domain, headers Subject and X-Lazaret-It: ID (so the sink can be grepped).
# SEND_PORT=N send_mail ... sends to another port of the instance (e.g. $PF_SUB_PORT).
send_mail() {
	local id=$1 ip=$2 t0
	shift 2
	SWAKS_OUT=$T/swaks/$id.txt
	t0=$(now_ms)
	swaks --server "127.0.0.1:${SEND_PORT:-$PF_PORT}" --local-interface "$ip" \
		--helo "host-${ip//./-}.lazaret-it.test" \
		--from "sender@host-${ip//./-}.lazaret-it.test" --to "rcpt-$id@dest.lazaret-it.test" \
		--header "Subject: lazaret-it $id" --add-header "X-Lazaret-It: $id" \
		--timeout 60s "$@" >"$SWAKS_OUT" 2>&1
	SWAKS_RC=$?
	SWAKS_MS=$(( $(now_ms) - t0 ))
	return 0
}

# send_auth_mail ID CLIENT_IP USER PASSWORD [swaks options...] — send_mail to the submission
# service ($PF_SUB_PORT, see pf_submission) after AUTH PLAIN as USER.
send_auth_mail() {
	local id=$1 ip=$2 user=$3 pass=$4
	shift 4
	SEND_PORT=$PF_SUB_PORT send_mail "$id" "$ip" --auth PLAIN --auth-user "$user" --auth-password "$pass" "$@"
}

# smtp_reply CMD [FILE] — the server's (last line of) reply to the client command CMD in a swaks
# transcript: CMD is DATA, ., "RCPT TO", "MAIL FROM", EHLO... Empty if CMD was never sent.
smtp_reply() {
	awk -v cmd="$1" '
		/^ *(->|\*\*>) / { line = $0; sub(/^ *(->|\*\*>) /, "", line); want = (index(line, cmd) == 1); next }
		/^<(-|\*\*) / && want { r = $0; sub(/^<(-|\*\*) +/, "", r); last = r; if (r !~ /^[0-9][0-9][0-9]-/) { want = 0; out = last } }
		END { print out }
	' "${2:-$SWAKS_OUT}"
}

# mail_result [FILE] — one word: "accepted" (250 after the final dot), or "CODE@STAGE" for the
# first 4xx/5xx reply (e.g. 450@DATA, 554@RCPT), or "error" (no reply seen).
mail_result() {
	awk '
		/^ *(->|\*\*>) / { line = $0; sub(/^ *(->|\*\*>) /, "", line)
			if (line ~ /^(EHLO|HELO)/) stage = "EHLO"; else if (line ~ /^MAIL FROM/) stage = "MAIL"
			else if (line ~ /^RCPT TO/) stage = "RCPT"; else if (line == "DATA") stage = "DATA"
			else if (line == ".") stage = "DOT"; else if (line == "QUIT") stage = "QUIT"
			next }
		/^<(-|\*\*) / { r = $0; sub(/^<(-|\*\*) +/, "", r); code = substr(r, 1, 3)
			if (r ~ /^[0-9][0-9][0-9]-/) next
			if (code ~ /^[45]/ && res == "") res = code "@" (stage == "" ? "CONNECT" : stage)
			if (stage == "DOT" && code == "250" && res == "") res = "accepted" }
		END { print (res == "" ? "error" : res) }
	' "${1:-$SWAKS_OUT}"
}

# show_transcript [FILE] — the SMTP dialogue without the message body, for failure reports.
show_transcript() { grep -Ev '^ -> ([A-Z][A-Za-z-]*: |$|This is a test)' "${1:-$SWAKS_OUT}"; }

# first_error_reply [FILE] — the first 4xx/5xx reply line in a swaks transcript (empty if none).
first_error_reply() {
	awk '/^<(-|\*\*) +[45][0-9][0-9][ -]/ { r = $0; sub(/^<(-|\*\*) +/, "", r); print r; exit }' "${1:-$SWAKS_OUT}"
}

# ---------------------------------------------------------------------------------------------
# JSON without jq: SQLite's JSON functions (sqlite3 is a test dependency anyway)

_sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# json_get JSON PATH — the value at PATH ("$.level", "$.history[0].reason"); null prints as
# nothing; exits non-zero on malformed JSON.
json_get() { sqlite3 -batch :memory: "select json_extract($(_sql_quote "$1"), $(_sql_quote "$2"))"; }

# json_count JSON ARRAY_PATH [SQL_CONDITION] — number of elements of the array at ARRAY_PATH for
# which SQL_CONDITION holds; e('$.key') is a member of the element, e.g.
#   json_count "$j" '$.history' "e('\$.new_level') = 'quarantine'"
json_count() {
	local cond=${3:-1}
	cond=${cond//e(/json_extract(value, }
	sqlite3 -batch :memory: "select count(*) from json_each($(_sql_quote "$1"), $(_sql_quote "$2")) where $cond"
}
