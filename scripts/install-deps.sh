#!/bin/sh
# Installs imwire's dependencies from Debian 12 packages, split by use.
#
#   scripts/install-deps.sh          what building and running need (a
#                                    firewall gets no database server, no
#                                    IM server, no second kernel)
#   scripts/install-deps.sh --test   that, plus the servers and tools the
#                                    tests use; `make test` runs it first
#
# Idempotent and non-interactive: a package already installed is left
# alone, and with nothing missing no root is needed. The test servers
# (postgresql, mariadb-server, prosody, ngircd, clamd) are started by the tests
# themselves in temporary directories: Debian would start them as system
# services at install, so a policy-rc.d forbids every start during the
# install and the services this run installed are disabled afterwards.
set -eu

# Build and run: the compiler and BPF toolchain, the libraries imwire
# links with (and their headers), the tools `imwire setup`/`attach` run.
BUILD_RUN="
	build-essential
	pkg-config
	make
	gcc
	clang
	libbpf-dev
	bpftool
	libpcap-dev
	zlib1g-dev
	libdeflate-dev
	libnetfilter-queue-dev
	libmnl-dev
	libsqlite3-dev
	sqlite3
	libpq-dev
	libmariadb-dev
	libmicrohttpd-dev
	libsodium-dev
	libjansson-dev
	libsystemd-dev
	libseccomp-dev
	libssl-dev
	libmagic-dev
	libcurl4-openssl-dev
	iproute2
	iptables
	nftables
"

# Tests only: real peers and servers, the kmod test's kernel and emulator,
# capture tools, the fuzzer runtime, and what checks the packaging
# (systemd-analyze, man, debhelper, logrotate) and reads the metrics (curl,
# the Prometheus client's parser).
TEST="
	postgresql
	mariadb-server
	ngircd
	prosody
	python3
	python3-irc
	python3-slixmpp
	squid
	inspircd
	openssl
	libgadu-dev
	llvm
	libclang-rt-14-dev
	linux-headers-amd64
	linux-image-amd64
	qemu-system-x86
	busybox-static
	cpio
	kmod
	tcpdump
	tshark
	xxd
	linux-perf
	systemd
	man-db
	groff-base
	debhelper
	dpkg-dev
	fakeroot
	logrotate
	curl
	python3-prometheus-client
	chromium
	chromium-driver
	python3-selenium
	clamav-daemon
	clamav
	openssl
	faketime
"

# Installed by TEST but never to be left running or enabled as services.
TEST_SERVICES="postgresql mariadb prosody ngircd clamav-daemon clamav-freshclam"

want=$BUILD_RUN
case "${1:-}" in
--test) want="$BUILD_RUN $TEST" ;;
"") ;;
*)
	echo "usage: scripts/install-deps.sh [--test]" >&2
	exit 2
	;;
esac

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

need=""
for p in $want; do
	installed "$p" || need="$need $p"
done
if [ -z "$need" ]; then
	echo "install-deps.sh: all packages already installed${1:+ ($1)}"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: must run as root to install:$need" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps.sh: installing:$need"

# Services present before this run are the operator's business.
services_before=""
for s in $TEST_SERVICES; do
	[ -e "/etc/init.d/$s" ] || [ -e "/lib/systemd/system/$s.service" ] &&
		services_before="$services_before $s"
done

# Forbid service starts for the duration of the install (invoke-rc.d asks
# policy-rc.d; 101 = action forbidden). An existing policy-rc.d is kept.
POLICY=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# imwire install-deps.sh: no service starts during the install\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
	own_policy=true
fi
cleanup() {
	if $own_policy; then rm -f "$POLICY"; fi
}
trap cleanup EXIT INT TERM

apt-get update -q
# tshark asks whether non-root users may capture: no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need

# The test servers this run brought in: stopped (should anything have
# started them regardless) and disabled, with systemd or with the
# System V scripts.
for s in $TEST_SERVICES; do
	case " $services_before " in *" $s "*) continue ;; esac
	[ -e "/etc/init.d/$s" ] || [ -e "/lib/systemd/system/$s.service" ] || continue
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
		# postgresql@15-main and mariadb come as instances or aliases too
		systemctl stop "$s@*" >/dev/null 2>&1 || true
	else
		if [ -x "/etc/init.d/$s" ]; then
			"/etc/init.d/$s" stop >/dev/null 2>&1 || true
		fi
		update-rc.d "$s" disable >/dev/null 2>&1 || true
	fi
	echo "install-deps.sh: $s installed for the tests only: stopped and disabled"
done
