#!/bin/sh
# install-deps.sh PROFILE — install the Debian packages lazaret needs that are missing.
#   build  compile lazaretd and lazaretctl
#   test   build, plus what the test suite runs (Postfix, swaks, clang, ...)
#   bench  test, plus the peers the benchmarks compare with (postfwd, ...)
#   deb    build, plus what make deb and the package test use (debhelper, lintian, ...)
# Installs nothing when everything is present, so it is cheap to call on every make.
set -eu

profile=${1:-build}
build_pkgs="make gcc pkg-config meson ninja-build libuv1-dev libsqlite3-dev libmicrohttpd-dev libjansson-dev libinih-dev libnftables-dev nettle-dev zlib1g-dev libcap-ng-dev libseccomp-dev libcurl4-openssl-dev libgmime-3.0-dev libyaml-dev libpq-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev postfix swaks sasl2-bin libsasl2-modules sqlite3 iproute2 nftables procps psmisc curl jq ca-certificates openssl lynx chromium strace pflogsumm softflowd pmacct nmap hping3 freeradius freeradius-utils kea-dhcp4-server kea-dhcp6-server isc-dhcp-client dovecot-imapd postgresql"
bench_pkgs="postfwd time wrk nginx-light nfdump pmacct fastnetmon"
deb_pkgs="git dpkg-dev debhelper fakeroot lintian debootstrap systemd"

case "$profile" in
build) want="$build_pkgs" ;;
test)  want="$build_pkgs $test_pkgs $deb_pkgs" ;;
bench) want="$build_pkgs $test_pkgs $deb_pkgs $bench_pkgs" ;;
deb)   want="$build_pkgs $deb_pkgs" ;;
*) echo "usage: $0 build|test|bench|deb" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing — run as root or install them with apt-get" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; lazaret's tests bring their own instance.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
# No daemons started by package scripts inside chroots and CI containers.
policy_rc=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy_rc" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy_rc" && chmod +x "$policy_rc" && created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy_rc"' EXIT
if ! apt-get install -y -q --no-install-recommends $missing; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi
# freeradius's postinst enables its service (and starts it where policy-rc.d lets it): the
# tests start their own radiusd on loopback, and a system one would hold ports 1812/1813/3799.
case " $missing " in
*" freeradius "*)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now freeradius >/dev/null 2>&1 || true
	fi ;;
esac
# dovecot-core enables and starts its service: the login tests run a dovecot of their own on
# a port of loopback, and a system one would answer on 143/993 of every address.
case " $missing " in
*" dovecot-imapd "*)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable dovecot.service dovecot.socket >/dev/null 2>&1 || true
		systemctl stop dovecot.service dovecot.socket >/dev/null 2>&1 || true
	fi ;;
esac
# postgresql-common creates a cluster (15/main) and enables postgresql.service: the tests
# start clusters of their own on Unix sockets (tests/pg/cluster.sh), and a server on port 5432
# at a developer machine's next boot is nobody's wish. Only when we installed it.
case " $missing " in
*" postgresql "*)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable postgresql.service >/dev/null 2>&1 || true
		systemctl stop postgresql.service >/dev/null 2>&1 || true
	fi ;;
esac
# Kea's packages enable their services (policy-rc.d above only kept them from starting now):
# the tests run a kea-dhcp4 and kea-dhcp6 of their own, and a DHCP server coming up at a
# developer machine's next boot is nobody's wish. Only those we installed: an operator's own
# Kea is left alone.
for kea in kea-dhcp4-server kea-dhcp6-server; do
	case " $missing " in
	*" $kea "*)
		if command -v systemctl >/dev/null 2>&1; then
			systemctl disable "$kea.service" >/dev/null 2>&1 || true
			systemctl stop "$kea.service" >/dev/null 2>&1 || true
		fi ;;
	esac
done
