#!/bin/sh
# Installs every build and test dependency of imwire from Debian 12 packages.
# Idempotent and non-interactive; run as root on a fresh machine.
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

PACKAGES="
	build-essential
	pkg-config
	gcc
	make
	libpcap-dev
	zlib1g-dev
	libnetfilter-queue-dev
	libmnl-dev
	libsqlite3-dev
	sqlite3
	libpq-dev
	libmariadb-dev
	postgresql
	mariadb-server
	iproute2
	iptables
	tcpdump
	python3
	ngircd
	python3-irc
	prosody
	python3-slixmpp
	squid
	inspircd
	openssl
	libgadu-dev
	clang
	libclang-rt-14-dev
	llvm
	libbpf-dev
	bpftool
	linux-headers-amd64
	linux-image-amd64
	qemu-system-x86
	busybox-static
	cpio
	kmod
	tshark
	xxd
	linux-perf
	libmicrohttpd-dev
	libsodium-dev
	libjansson-dev
	chromium
	chromium-driver
	python3-selenium
	curl
	openssl
	libssl-dev
	libmagic-dev
	clamav-daemon
	clamav
"

# shellcheck disable=SC2086
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null |
	awk '$4 != "installed" { print $1 }' || true)
# dpkg-query prints nothing for never-installed packages: compare the lists.
need=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		need="$need $p"
	fi
done
: "$missing"

if [ -n "$need" ]; then
	echo "install-deps.sh: installing:$need"
	apt-get update -q
	# tshark asks whether non-root users may capture: no.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need
else
	echo "install-deps.sh: all packages already installed"
fi
