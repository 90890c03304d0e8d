#!/bin/bash
# test_package.sh — the Debian package as an operator gets it: make deb builds
# lazaret_VERSION_ARCH.deb without touching the worktree; lintian finds no error and no
# warning; in a fresh Debian 12 root (debootstrap minbase, cached under $BUILD_DIR/pkgtest/,
# plus systemd for systemd-analyze) `apt-get install ./lazaret_*.deb` pulls the runtime
# dependencies from the archive and starts nothing (policy-rc.d, no running systemd); the
# packaged configuration checks (lazaretd -n) with FHS paths; the lazaret user is in group
# adm; /etc/lazaret/lazaret.conf is a conffile; the store exists, owned by lazaret;
# systemd-analyze verify is clean and systemd-analyze security --offline=true rates the unit
# 2.0 or better; lazaretd started as the unit's ExecStart, User=, Group= and
# AmbientCapabilities= say (setpriv; there is no systemd running in the root) answers a
# Postfix policy request, reloads on SIGHUP and stops cleanly; `apt-get remove` keeps
# /var/lib/lazaret and `apt-get purge` removes it.
#
# The root works on an overlay (or a copy) of the cached one, in private mount namespaces (the daemon's
# also in a network namespace of its own, so the packaged ports cannot clash); nothing of
# it outlives the test. First run about 3 minutes (debootstrap 1.5), then about 1.5.
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_root
t_require_cmd git dpkg-buildpackage dh lintian debootstrap unshare chroot setpriv

CACHE=$BUILD_DIR/pkgtest
ROOT_CACHE=$CACHE/root          # minbase + apt lists + systemd, made once
ARCHIVES=$CACHE/archives        # the .debs apt fetched, kept between runs
mkdir -p "$CACHE" "$ARCHIVES/partial" "$T/share" "$T/upper" "$T/work" "$T/root"

# in_root DIR NET CMD... — CMD as root inside DIR (NET=host: the host's network, for apt;
# NET=own: a network namespace with only lo), with /proc, /sys, /dev, /run, /tmp mounted,
# $T/share on /mnt and the apt archive cache on /var/cache/apt/archives. DIR "overlay" is
# the cached root with this test's changes in $T/upper.
in_root() {
	local dir=$1 net=$2
	shift 2
	local -a un=(unshare --mount --propagation private)
	[ "$net" = own ] && un+=(--net)
	"${un[@]}" /bin/bash -c '
		set -e
		d=$1 t=$2 lower=$3 archives=$4 net=$5
		shift 5
		if [ "$d" = overlay ]; then
			d=$t/root
			mount -t overlay overlay -o "lowerdir=$lower,upperdir=$t/upper,workdir=$t/work" "$d"
		fi
		mount -t proc proc "$d/proc"; mount -t sysfs sys "$d/sys"
		mount --rbind /dev "$d/dev"; mount -t tmpfs tmpfs "$d/run"; mount -t tmpfs tmpfs "$d/tmp"
		mount --bind "$t/share" "$d/mnt"; mount --bind "$archives" "$d/var/cache/apt/archives"
		[ "$net" = own ] && ip link set lo up
		exec chroot "$d" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' in_root "$dir" "$T" "$ROOT_CACHE" "$ARCHIVES" "$net" "$@"
}

# ---------------------------------------------------------------------------------------------
case_begin "make deb: lazaret_VERSION_ARCH.deb with its files, the worktree untouched"
before=$(git -C "$REPO_ROOT" status --porcelain)
deb=$("$REPO_ROOT/scripts/make-deb.sh" "$BUILD_DIR") || fail "scripts/make-deb.sh failed"
assert_eq "git status after make deb" "$before" "$(git -C "$REPO_ROOT" status --porcelain)"
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$REPO_ROOT/meson.build" | head -1)
assert_eq "the package" "$BUILD_DIR/deb/lazaret_${version}_$(dpkg --print-architecture).deb" "$deb"
files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/sbin/lazaretd ./usr/bin/lazaretctl ./etc/lazaret/lazaret.conf ./lib/systemd/system/lazaretd.service \
	./usr/share/man/man8/lazaretd.8.gz ./usr/share/man/man8/lazaretctl.8.gz \
	./usr/share/lazaret/portal/notice.html ./usr/share/doc/lazaret/copyright; do
	grep -qxF "$f" <<<"$files" || fail "$f is not in the package: $files"
done
cp "$deb" "$T/share/"
case_pass

case_begin "lintian on the .changes and the .deb: no errors, no warnings"
out=$(lintian --fail-on error,warning "${deb%.deb}.changes" 2>&1)
rc=$?
echo "$out" >"$T/lintian.txt"
assert_no_match "lintian errors and warnings" '^[EW]: ' "$out"
assert_eq "lintian exit status" 0 "$rc"
case_pass

case_begin "a fresh Debian 12 root (debootstrap minbase, cached)"
if [ ! -e "$ROOT_CACHE/.lazaret-pkgtest" ]; then
	mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	[ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list.d/debian.sources or sources.list"
	rm -rf "$ROOT_CACHE" "$ROOT_CACHE.new"
	t0=$(now_ms)
	debootstrap --variant=minbase bookworm "$ROOT_CACHE.new" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
		fail "debootstrap from $mirror failed: $(tail -3 "$CACHE/debootstrap.log")"
	log "debootstrap: $(( ($(now_ms) - t0) / 1000 )) s"
	cp /etc/resolv.conf "$ROOT_CACHE.new/etc/resolv.conf"
	in_root "$ROOT_CACHE.new" host sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends systemd' \
		>"$CACHE/systemd-install.log" 2>&1 || fail "apt-get install systemd in the root: $(tail -3 "$CACHE/systemd-install.log")"
	touch "$ROOT_CACHE.new/.lazaret-pkgtest"
	mv "$ROOT_CACHE.new" "$ROOT_CACHE"
fi
# The working root: an overlay of the cached one, or a copy of it where the file system
# under $T cannot hold an overlay's upper layer (it is an overlayfs itself, in a container).
if unshare --mount --propagation private sh -c \
	'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/root"' probe "$ROOT_CACHE" "$T" 2>/dev/null; then
	R=overlay
else
	log "no overlay on $T: copying the cached root"
	cp -a "$ROOT_CACHE/." "$T/root/" || fail "cannot copy $ROOT_CACHE"
	R=$T/root
fi
in_root "$R" host test -x /usr/bin/systemd-analyze || fail "the root has no systemd-analyze"
in_root "$R" host dpkg -s lazaret >/dev/null 2>&1 && fail "the cached root already has lazaret"
case_pass

case_begin "apt-get install ./lazaret_*.deb: dependencies from the archive, nothing started"
in_root "$R" host sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
in_root "$R" host sh -c 'apt-get install -y -q --no-install-recommends /mnt/lazaret_*.deb' >"$T/install.log" 2>&1 ||
	fail "apt-get install ./lazaret_*.deb failed: $(tail -20 "$T/install.log")"
assert_file_match "the runtime libraries came from the archive" 'Unpacking libmicrohttpd12' "$T/install.log"
assert_file_match "procps (for ExecReload's /bin/kill) came along" 'Unpacking procps' "$T/install.log"
pgrep -f '^/usr/sbin/lazaretd' >/dev/null && fail "installing the package started lazaretd"
assert_eq "dpkg status" "install ok installed" "$(in_root "$R" host dpkg-query -W -f='${Status}' lazaret)"
case_pass

case_begin "the packaged configuration, user, conffile and store"
out=$(in_root "$R" own /usr/sbin/lazaretd -n -c /etc/lazaret/lazaret.conf 2>&1)
assert_eq "lazaretd -n: exit status" 0 "$?"
assert_match "store in /var/lib/lazaret" '^store = /var/lib/lazaret/lazaret\.db$' "$out"
assert_match "templates in /usr/share/lazaret/portal" '^templates = /usr/share/lazaret/portal$' "$out"
assert_match "the mail log" '^file = /var/log/mail\.log$' "$out"
assert_match "lazaret in group adm" '(^| )adm( |$)' "$(in_root "$R" own id -nG lazaret)"
assert_match "a system user" '^lazaret:x:[0-9]+:[0-9]+:' "$(in_root "$R" own getent passwd lazaret)"
assert_match "/etc/lazaret/lazaret.conf is a conffile" '^ /etc/lazaret/lazaret\.conf [0-9a-f]{32}$' \
	"$(in_root "$R" own dpkg-query -W -f='${Conffiles}\n' lazaret)"
assert_eq "the store, made by postinst" "lazaret:lazaret" \
	"$(in_root "$R" own stat -c %U:%G /var/lib/lazaret/lazaret.db 2>&1)"
case_pass

case_begin "systemd-analyze verify and security --offline=true (2.0 at most) on the installed unit"
out=$(in_root "$R" own systemd-analyze verify --man=no lazaretd.service 2>&1)
rc=$?
assert_eq "systemd-analyze verify: exit status ($out)" 0 "$rc"
assert_eq "systemd-analyze verify: messages" "" "$out"
out=$(in_root "$R" own systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/lazaretd.service 2>&1)
rc=$?
exposure=$(sed -n 's/.*Overall exposure level for lazaretd.service: \([0-9.]*\).*/\1/p' <<<"$out")
log "systemd-analyze security --offline=true: exposure $exposure"
assert_eq "systemd-analyze security --threshold=20: exit status (exposure $exposure)" 0 "$rc"
[ -n "$exposure" ] || fail "no exposure figure in: $out"
case_pass

case_begin "lazaretd as the unit starts it: user, capabilities of each process, a policy answer, SIGHUP, SIGTERM"
cat >"$T/share/run.sh" <<'INNER'
#!/bin/bash
# inside the root: what systemd would do for lazaretd.service, then talk to the daemon
unit=/lib/systemd/system/lazaretd.service
key() { sed -n "s/^$1=//p" "$unit" | tail -1; }
user=$(key User) group=$(key Group)
caps=$(key AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
for d in /run/lazaret /var/lib/lazaret /var/log/lazaret; do     # {Runtime,State,Logs}Directory=
	install -d -o "$user" -g "$group" -m 0750 "$d"
done
umask "$(key UMask)"
# the mail log as Debian's rsyslog makes it: readable through group adm only
install -o root -g adm -m 0640 /dev/null /var/log/mail.log
echo 'Dec  4 10:00:00 relay postfix/smtpd[4711]: connect from unknown[192.0.2.7]' >>/var/log/mail.log
# the walled garden on, in this root's own network namespace: the nftables helper then runs too
sed -i 's|^mode = none$|mode = nftables\nsubscribers = 10.99.0.0/16|' /etc/lazaret/lazaret.conf
read -r -a cmd <<<"$(key ExecStart)"
setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
	--inh-caps=-all,"$caps" --ambient-caps=-all,"$caps" --bounding-set=-all,"$caps" \
	"${cmd[@]}" >/mnt/lazaretd.log 2>&1 &
pid=$!
echo "pid=$pid"
for i in $(seq 100); do
	exec 3<>/dev/tcp/127.0.0.1/10045 && break
	sleep 0.1
done 2>/dev/null
printf 'request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\nclient_address=192.0.2.7\nclient_name=unknown\nhelo_name=pc7\nsender=a@example.net\nrecipient=b@example.org\nrecipient_count=1\nqueue_id=4711ABC\ninstance=1.1\nsize=1000\nsasl_username=\n\n' >&3
read -r -t 5 answer <&3
echo "answer=$answer"
exec 3>&-
grep -E '^(Uid|Gid|Groups|CapEff|CapAmb|NoNewPrivs):' "/proc/$pid/status" | tr -d '\t' | sed 's/:/=/'
for c in $(cat /proc/"$pid"/task/*/children); do      # the helper and the portal's front
	awk '$1 == "Name:" { n = $2 } $1 == "CapEff:" || $1 == "Uid:" { v[$1] = $2 } END { print n ".CapEff=" v["CapEff:"]; print n ".Uid=" v["Uid:"] }' "/proc/$c/status"
done
kill -HUP "$pid"
for i in $(seq 50); do grep -q 'reloaded /etc/lazaret/lazaret.conf' /mnt/lazaretd.log && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
echo "exit=$?"
INNER
chmod 755 "$T/share/run.sh"
out=$(in_root "$R" own /mnt/run.sh 2>&1)
echo "$out" >"$T/run.out"
LZ_LOG=$T/share/lazaretd.log                   # dump_logs shows it on failure
uid=$(in_root "$R" own id -u lazaret) gid=$(in_root "$R" own id -g lazaret)
adm=$(in_root "$R" own getent group adm | cut -d: -f3)
assert_match "a policy answer" '^answer=action=DUNNO$' "$out"
assert_match "runs as lazaret" "^Uid=$uid$uid$uid$uid\$" "$out"
assert_match "group lazaret" "^Gid=$gid$gid$gid$gid\$" "$out"
assert_match "with group adm" "^Groups=.*\\b$adm\\b" "$out"
assert_match "the main process: no capability left" '^CapEff=0000000000000000$' "$out"
assert_match "the nftables helper: CAP_NET_ADMIN alone" '^lazaretd-priv.CapEff=0000000000001000$' "$out"
assert_match "the nftables helper runs as lazaret" "^lazaretd-priv.Uid=$uid\$" "$out"
assert_match "the portal's front: no capability" '^lazaretd-portal.CapEff=0000000000000000$' "$out"
assert_match "the portal's front runs as lazaret" "^lazaretd-portal.Uid=$uid\$" "$out"
assert_match "no new privileges" '^NoNewPrivs=1$' "$out"
assert_file_match "reloaded on SIGHUP" 'reloaded /etc/lazaret/lazaret.conf' "$LZ_LOG"
assert_match "clean exit on SIGTERM" '^exit=0$' "$out"
assert_file_match "the templates found at their FHS path" 'templates /usr/share/lazaret/portal;' "$LZ_LOG"
assert_file_match "the mail log followed" 'maillog /var/log/mail.log: following' "$LZ_LOG"
grep -q 'cannot open' "$LZ_LOG" && fail "lazaretd could not read /var/log/mail.log (root:adm 0640) as lazaret"
case_pass

case_begin "apt-get remove keeps /var/lib/lazaret; apt-get purge removes it"
in_root "$R" host apt-get remove -y -q lazaret >"$T/remove.log" 2>&1 || fail "apt-get remove: $(tail "$T/remove.log")"
in_root "$R" own test -s /var/lib/lazaret/lazaret.db || fail "apt-get remove deleted the store"
in_root "$R" own test -e /etc/lazaret/lazaret.conf || fail "apt-get remove deleted the conffile"
in_root "$R" host apt-get purge -y -q lazaret >"$T/purge.log" 2>&1 || fail "apt-get purge: $(tail "$T/purge.log")"
in_root "$R" own test -e /var/lib/lazaret && fail "apt-get purge left /var/lib/lazaret"
in_root "$R" own test -e /etc/lazaret/lazaret.conf && fail "apt-get purge left /etc/lazaret/lazaret.conf"
assert_eq "dpkg status after purge" "" "$(in_root "$R" own dpkg-query -W -f='${Status}' lazaret 2>/dev/null)"
case_pass
