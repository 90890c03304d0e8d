#!/bin/bash
# test_store.sh — lazaretd and a store that is not in working order: refused at start with the
# reason, errors at run time reported as errors, and a full disk that costs no quarantine.
#
#   1. a missing store: refused without --init-store (nothing created); --init-store creates it
#   2. an empty (0-byte) store: refused, left as it is; --init-store makes it a store
#   3. a file that is not a database: refused even with --init-store, untouched
#   3b. -n --init-store (a package's postinst) creates a missing store and exits; -n alone
#      creates nothing; a file that is not a database is refused and untouched
#   4. a read-only store (file mode, as an unprivileged user) and a read-only file system: refused
#   5. a store damaged in the middle: PRAGMA quick_check refuses it
#   6. a history page damaged while lazaretd runs: the API answers 500 and lazaretctl says so,
#      never "No level changes recorded"
#   7. a full disk (a small tmpfs) while quarantine-worthy evidence arrives for 15 s: no
#      quarantine cap used, no alarm; once there is room the hosts are quarantined
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_root
t_require_cmd sqlite3 curl setpriv mount umount

SEND=$BUILD_DIR/tests/policy_send
[ -x "$SEND" ] || fail "$SEND not built"

# start_refused WHAT ERE [ARGS...] — lazaretd on $LZ_CONF must exit 1 at start, its message matching ERE.
start_refused() {
	local what=$1 ere=$2 out rc
	shift 2
	out=$(timeout 10 "$@" "$LAZARETD" -c "$LZ_CONF" 2>&1)
	rc=$?
	echo "$out" >>"$T/refusals.log"
	assert_eq "$what: exit status" 1 "$rc"
	assert_match "$what: the message" "$ere" "$out"
	assert_match "$what: it says it refuses" 'refusing to start' "$out"
	log "refused: $(printf '%s' "$out" | tail -n1 | cut -c1-220)"
}

# policy DATA requests for a client address, one connection; prints the answers.
data_requests() {   # data_requests ADDRESS COUNT
	local i
	for ((i = 0; i < $2; i++)); do
		printf 'request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=unknown\nhelo_name=pc\nsender=a@example.net\nrecipient=\nrecipient_count=1\nqueue_id=4AbCdE%d\nsize=100\n\n' "$1" "$i"
	done | "$SEND" "127.0.0.1:$LZ_POLICY_PORT" 5000
}

level_of() { json_get "$(lzctl explain "$1" --json 2>/dev/null)" '$.level'; }
is_level() { [ "$(level_of "$1")" = "$2" ]; }

# ---------------------------------------------------------------------------------------------
case_begin "1. a missing store is refused; --init-store creates it"
LZ_STORE=$T/var/lazaret.db
lz_config
start_refused "missing store" 'lazaret\.db: does not exist\. If this is a new install, start once with --init-store'
[ ! -e "$T/var" ] || fail "the refusal created $T/var"
# as make run on a fresh clone: the API's socket in the var/ that --init-store makes
lz_config "api.socket=$T/var/api.sock"
LZ_API_SOCK=$T/var/api.sock LZ_API=unix:$T/var/api.sock
lz_start                                   # lib.sh passes --init-store on a first start
assert_file_match "created, said so" 'a new, empty store was created' "$LZ_LOG"
[ -S "$T/var/api.sock" ] || fail "no API socket in the var/ --init-store made"
lzctl quarantine 192.0.2.50 --reason "ticket 1" >/dev/null || fail "lazaretctl quarantine"
lz_stop
lz_start                                   # the store exists: no --init-store
assert_eq "the quarantine is kept" quarantine "$(level_of 192.0.2.50)"
lz_stop
lz_config                                  # the socket back where the other cases want it
case_pass

case_begin "2. an empty (0-byte) store is refused and left as it is"
: >"$LZ_STORE"
rm -f "$LZ_STORE-wal" "$LZ_STORE-shm"
start_refused "empty store" 'the file is empty \(0 bytes, no tables\).*--init-store.*restore it from a backup'
assert_eq "still 0 bytes" 0 "$(stat -c %s "$LZ_STORE")"
"$LAZARETD" --init-store -c "$LZ_CONF" >>"$T/init.log" 2>&1 &
pid=$!
t_on_exit "kill -9 $pid"
wait_for 10 lz_api_up || fail "lazaretd --init-store did not start on an empty file: $(cat "$T/init.log")"
kill -TERM "$pid"
wait "$pid"
assert_eq "--init-store: clean exit" 0 "$?"
assert_eq "now a lazaret store" 1 "$(sqlite3 -batch "file:$LZ_STORE?mode=ro" 'PRAGMA user_version')"
case_pass

case_begin "3. a file that is not a database is refused, even with --init-store, and not touched"
head -c 100000 /dev/urandom >"$T/garbage"
cp "$T/garbage" "$LZ_STORE"
rm -f "$LZ_STORE-wal" "$LZ_STORE-shm"
start_refused "not a database" 'cannot read it: file is not a database: it is not an SQLite database, or it is damaged'
out=$(timeout 20 "$LAZARETD" --init-store -c "$LZ_CONF" 2>&1)
assert_eq "--init-store on garbage: exit status" 1 "$?"
assert_match "--init-store on garbage: the message" 'lazaretd leaves it as it is' "$out"
cmp -s "$T/garbage" "$LZ_STORE" || fail "the file that is not a database was changed"
case_pass

case_begin "3b. -n --init-store creates the store and exits; -n alone does not; garbage is refused"
sed "s#^store = .*#store = $T/pkg/lazaret.db#" "$LZ_CONF" >"$T/pkg.conf"
out=$(timeout 20 "$LAZARETD" -n -c "$T/pkg.conf" 2>&1)
assert_eq "-n alone: exit status" 0 "$?"
[ ! -e "$T/pkg" ] || fail "-n alone created $T/pkg"
out=$(timeout 20 "$LAZARETD" -n --init-store -c "$T/pkg.conf" 2>&1)
assert_eq "-n --init-store: exit status" 0 "$?"
assert_match "-n --init-store: said so" 'a new, empty store was created' "$out"
assert_eq "-n --init-store: a lazaret store" 1 "$(sqlite3 -batch "file:$T/pkg/lazaret.db?mode=ro" 'PRAGMA user_version')"
assert_eq "-n --init-store: directory mode" 750 "$(stat -c %a "$T/pkg")"
out=$(timeout 20 "$LAZARETD" -n --init-store -c "$T/pkg.conf" 2>&1)
assert_eq "-n --init-store again: exit status" 0 "$?"
assert_no_match "-n --init-store again: not created again" 'a new, empty store was created' "$out"
cp "$T/garbage" "$T/pkg/lazaret.db"
rm -f "$T/pkg/lazaret.db-wal" "$T/pkg/lazaret.db-shm"
out=$(timeout 20 "$LAZARETD" -n --init-store -c "$T/pkg.conf" 2>&1)
assert_eq "-n --init-store on garbage: exit status" 1 "$?"
assert_match "-n --init-store on garbage: the message" 'lazaretd leaves it as it is' "$out"
cmp -s "$T/garbage" "$T/pkg/lazaret.db" || fail "-n --init-store changed the file that is not a database"
case_pass

case_begin "4. a read-only store is refused: the file as an unprivileged user, a read-only file system"
rm -f "$LZ_STORE" "$LZ_STORE-wal" "$LZ_STORE-shm"
lz_start
lz_stop
chmod 755 "$T" "$T/var"
chmod 644 "$LZ_CONF"
chmod 444 "$LZ_STORE"
start_refused "read-only file" 'cannot write it \(opened read-only' setpriv --reuid=65534 --regid=65534 --clear-groups
chmod 666 "$LZ_STORE"
chmod 555 "$T/var"
start_refused "read-only directory" 'the directory .*/var is not writable' setpriv --reuid=65534 --regid=65534 --clear-groups
chmod 755 "$T/var"
mkdir "$T/ro"
mount -t tmpfs -o size=8m tmpfs "$T/ro" || t_skip "cannot mount a tmpfs"
t_on_exit "umount -l '$T/ro'"
cp "$LZ_STORE" "$T/ro/lazaret.db"
mount -o remount,ro "$T/ro" || fail "cannot make the tmpfs read-only"
lz_config "daemon.store=$T/ro/lazaret.db"
start_refused "read-only file system" 'cannot (write|use) it'
umount "$T/ro"
case_pass

case_begin "5. a store damaged in the middle is refused by PRAGMA quick_check"
LZ_STORE=$T/damaged.db
lz_config
lz_start
for i in $(seq 1 40); do lzctl quarantine "192.0.2.$i" --reason "ticket $i with a reason to fill pages" >/dev/null; done
lz_stop
root=$(sqlite3 -batch "file:$LZ_STORE?mode=ro" "select rootpage from sqlite_master where name = 'subjects'")
pages=$(sqlite3 -batch "file:$LZ_STORE?mode=ro" 'PRAGMA page_count')
log "store: $pages pages; subjects' root page $root"
head -c 4096 /dev/urandom | dd of="$LZ_STORE" bs=4096 seek=$((root - 1)) conv=notrunc status=none
start_refused "damaged store" 'PRAGMA quick_check.*damaged'
case_pass

case_begin "6. a history page damaged at run time: the API answers 500, lazaretctl says the history cannot be read"
LZ_STORE=$T/history.db
lz_config
lz_start
lzctl quarantine 192.0.2.60 --reason "ticket 60" >/dev/null || fail "quarantine"
lzctl release 192.0.2.60 --reason "cleaned" >/dev/null || fail "release"
lz_stop                                    # the WAL goes into the file
lz_start
out=$(lzctl history 192.0.2.60) || fail "history before the damage: $out"
assert_match "history before the damage" 'ticket 60' "$out"
lz_stop
lz_start                                   # a reader that has not read the history pages yet
root=$(sqlite3 -batch "file:$LZ_STORE?mode=ro" "select rootpage from sqlite_master where name = 'history'")
head -c 4096 /dev/zero | tr '\0' '\245' | dd of="$LZ_STORE" bs=4096 seek=$((root - 1)) conv=notrunc status=none
code=$(api_curl -s -o "$T/body" -w '%{http_code}' "$LZ_API_URL/v1/subjects/192.0.2.60/history")
assert_eq "GET .../history" 500 "$code"
assert_match "the error" "cannot read this subject's history" "$(cat "$T/body")"
code=$(api_curl -s -o "$T/body" -w '%{http_code}' "$LZ_API_URL/v1/subjects/192.0.2.60")
assert_eq "GET the subject" 500 "$code"
out=$(lzctl history 192.0.2.60 2>&1)
assert_eq "lazaretctl history: exit status" 1 "$?"
assert_no_match "not \"none\"" 'No level changes recorded' "$out"
assert_match "lazaretctl says why" "cannot read this subject's history" "$out"
assert_file_match "logged" 'api: subject=192.0.2.60 history unreadable' "$LZ_LOG"
lz_stop
case_pass

case_begin "7. a full disk for 15 s: no quarantine cap used, no alarm; room again: quarantined"
mkdir "$T/disk"
mount -t tmpfs -o size=3m tmpfs "$T/disk" || t_skip "cannot mount a tmpfs"
t_on_exit "umount -l '$T/disk'"
LZ_STORE=$T/disk/lazaret.db
# Two deferrals are worth a quarantine; at most 3 automatic quarantines an hour.
lz_config "judge.quarantine_cap=3" "limits.host_messages=1/1h" "limits.host_messages_burst=1" \
	"evidence rate_limit.weight=4" "daemon.checkpoint_interval=1s"
lz_start
dd if=/dev/zero of="$T/disk/fill" bs=16k status=none 2>/dev/null
log "disk full: $(df -k "$T/disk" | awk 'NR == 2 { print $4 }') kB free"
t0=$(date +%s)
for ip in 192.0.2.91 192.0.2.92; do data_requests "$ip" 4 >/dev/null; done
wait_for 10 grep -q 'not committed' "$LZ_LOG" || fail "no commit failed on the full disk"
while [ $(( $(date +%s) - t0 )) -lt 15 ]; do
	data_requests 192.0.2.91 1 >/dev/null      # evidence keeps arriving
	sleep 1
done
failed=$(grep -c 'commit failed' "$LZ_LOG")
log "$failed commits failed in 15 s"
assert_ge "commits failed while the disk was full" 10 "$failed"
q=$(api_curl -s "$LZ_API_URL/v1/quarantine")
assert_eq "cap used while nothing was committed" 0 "$(json_get "$q" '$.cap.used')"
assert_eq "no alarm" 0 "$(json_get "$q" '$.cap.alarm')"
assert_eq "nobody held" 0 "$(json_get "$q" '$.cap.held')"
rm -f "$T/disk/fill"
log "room again"
wait_for 10 is_level 192.0.2.91 quarantine || fail "192.0.2.91 was not quarantined once the disk had room (level $(level_of 192.0.2.91))"
wait_for 10 is_level 192.0.2.92 quarantine || fail "192.0.2.92 was not quarantined once the disk had room (level $(level_of 192.0.2.92))"
q=$(api_curl -s "$LZ_API_URL/v1/quarantine")
assert_eq "cap used: the two committed" 2 "$(json_get "$q" '$.cap.used')"
assert_eq "no alarm" 0 "$(json_get "$q" '$.cap.alarm')"
if grep -q 'ALARM' "$LZ_LOG"; then fail "a false alarm: $(grep ALARM "$LZ_LOG")"; fi
# the cap still works: two more, one fits
for ip in 192.0.2.93 192.0.2.94; do data_requests "$ip" 4 >/dev/null; done
wait_for 10 grep -q 'ALARM quarantine cap reached' "$LZ_LOG" || fail "the fourth quarantine of the hour was not held"
q=$(api_curl -s "$LZ_API_URL/v1/quarantine")
assert_eq "cap used: three" 3 "$(json_get "$q" '$.cap.used')"
assert_eq "one held" 1 "$(json_get "$q" '$.cap.held')"
lz_stop
case_pass

log "all store cases passed"
