#!/bin/sh
# The Debian package (issue 17, item 6), built and installed on this machine:
#  - `dpkg-buildpackage -us -uc -b` in a copy of the source builds
#    imwire_VERSION_amd64.deb with the daemon, the tool, the BPF object, the
#    manual, the units, tmpfiles.d and logrotate files, the configuration
#    as a conffile;
#  - `apt-get install ./imwire_*.deb` installs it: the version, the units
#    (`systemd-analyze verify` silent), man finds the pages, systemd-tmpfiles
#    made the directories, the service is neither enabled nor started;
#  - where systemd is PID 1, imwired@ starts, is active and stops; where it
#    is not (these machines), the documented check instead: imwired runs from
#    /usr/sbin with /etc/imwire/imwire.conf as installed, in a network
#    namespace, and logs an IRC exchange through its queue to /var/log/imwire;
#  - `apt-get purge` leaves nothing of the package: every file it shipped is
#    gone, and what is left under /etc/imwire, /var/lib/imwire,
#    /var/log/imwire and /run/imwire is exactly what was there before plus
#    the operator's own configuration and the logs.
# Needs root; installs and purges the package imwire (never left installed).
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test
require_root pkg_deb_needs_root || exit 1
require pkg_deb_prerequisites dpkg-buildpackage dh apt-get systemd-analyze man ip iptables || exit 1
NS=imwpd$$
installed_by_us=no
made_by_us=""
cleanup_more() {
	ip netns del "$NS" 2>/dev/null
	if [ $installed_by_us = yes ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q imwire >/dev/null 2>&1
	fi
	# what this test made under the watched directories, and nothing else
	for f in $made_by_us; do rm -rf "$f"; done
}

if dpkg-query -W -f='${Status}' imwire 2>/dev/null | grep -q installed; then
	fail pkg_deb_machine_has_no_imwire_package "imwire is installed already: dpkg --purge imwire first"
	exit 1
fi
# /run/imwire is run-time state (a purge empties it of statistics files
# and sockets, whoever made them): checked apart.
WATCH="/etc/imwire /var/lib/imwire /var/log/imwire"
snapshot() {
	for d in $WATCH; do [ -e "$d" ] && find "$d"; done | sort
	find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
		/etc/systemd/system -name '*imwire*' 2>/dev/null | sort
}
snapshot >"$tmp/before"
for d in $WATCH; do [ -d "$d" ] && find "$d" -type d; done >"$tmp/before.dirs"

# ---- build ---------------------------------------------------------------
# dpkg-checkbuilddeps only sees what this machine lacks, and it has all:
# every library the build links (install-deps.sh's -dev packages) must be
# named in Build-Depends, or a clean build chroot fails.
sed -n '/^BUILD_RUN="/,/^"/p' "$TOP/scripts/install-deps.sh" | tr -d '\t' | grep -- '-dev$' |
	sort >"$tmp/deps.dev"
sed -n '/^Build-Depends:/,/^[A-Z]/p' "$TOP/debian/control" | sed 's/^Build-Depends://' |
	tr ',' '\n' | sed 's/[ \t]//g; s/(.*//' | grep -- '-dev$' | sort >"$tmp/control.dev"
missing=$(comm -23 "$tmp/deps.dev" "$tmp/control.dev" | tr '\n' ' ')
[ -s "$tmp/deps.dev" ] && [ -z "$missing" ]
check pkg_deb_build_depends_every_library $? "not in Build-Depends: ${missing:-(no -dev packages read)}"
version=$("$TOP/scripts/version.sh")
S=$tmp/src/imwire
mkdir -p "$S"
tar -C "$TOP" --exclude=./build --exclude=./.git -cf - . | tar -C "$S" -xf -
echo "$version" >"$S/VERSION" # a release tree: no git
(cd "$S" && DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
rc=$?
deb=$(ls "$tmp"/src/imwire_*_amd64.deb 2>/dev/null | head -1)
[ $rc -eq 0 ] && [ -n "$deb" ]
check deb_builds $? "rc $rc" "$(tail -15 "$tmp/build.log")"
[ -n "$deb" ] || exit 1
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$' | sort >"$tmp/shipped"
ok=0
for f in /usr/sbin/imwired /usr/sbin/imwire /usr/lib/imwire/imwire.bpf.o \
	/usr/share/man/man8/imwire.8.gz /usr/share/man/man8/imwired.8.gz /usr/share/man/man5/imwire.conf.5.gz \
	/lib/systemd/system/imwired.service /lib/systemd/system/imwired@.service \
	/usr/lib/tmpfiles.d/imwire.conf /etc/logrotate.d/imwire /etc/imwire/imwire.conf \
	/usr/share/doc/imwire/copyright; do
	grep -qx "$f" "$tmp/shipped" || { ok=1; echo "  missing $f"; }
done
check deb_ships_daemon_tool_bpf_man_units_config $ok
dpkg-deb -f "$deb" Depends | grep -q "libnetfilter-queue1" &&
	dpkg-deb -I "$deb" conffiles | grep -qx /etc/imwire/imwire.conf
check deb_depends_and_conffile $? "$(dpkg-deb -f "$deb" Depends)"

# ---- install -----------------------------------------------------------------
installed_by_us=yes
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >"$tmp/apt.log" 2>&1
rc=$?
dpkg-query -W -f='${Status} ${Version}' imwire 2>/dev/null | grep -q "install ok installed"
check deb_installs_with_apt "$([ $rc -eq 0 ]; echo $?)" "$(tail -10 "$tmp/apt.log")"
[ "$(/usr/sbin/imwired --version)" = "imwired $version" ] && [ "$(/usr/sbin/imwire --version)" = "imwire $version" ]
check deb_installed_version "$?" "$(/usr/sbin/imwired --version 2>&1)"
systemd-analyze verify /lib/systemd/system/imwired.service /lib/systemd/system/imwired@br0.service \
	>"$tmp/verify" 2>&1
check deb_units_pass_systemd_analyze_verify "$([ $? -eq 0 ] && [ ! -s "$tmp/verify" ]; echo $?)" "$(cat "$tmp/verify")"
man -w imwired >/dev/null 2>&1 && man -w 5 imwire.conf >/dev/null 2>&1 &&
	MANWIDTH=80 man 5 imwire.conf 2>/dev/null | grep -q "metrics_listen"
check deb_man_finds_pages $?
[ -d /run/imwire ] && [ -d /var/lib/imwire ] && [ -d /var/log/imwire ]
check deb_tmpfiles_made_directories $?
# not enabled, not started: bridge= must be set first
! ls /etc/systemd/system/*.wants/imwired* >/dev/null 2>&1 && ! pgrep -f "^/usr/sbin/imwired" >/dev/null
check deb_service_not_enabled_nor_started $?

# the operator's own instance configuration, and a later check of it
printf 'bridge=imwpdbr0\nqueues=0\njsonl_file=/var/log/imwire/pkgtest.jsonl\n' >/etc/imwire/pkgtest.conf
/usr/sbin/imwire check-config /etc/imwire/pkgtest.conf >/dev/null && /usr/sbin/imwire check-config /etc/imwire/imwire.conf >/dev/null
check deb_installed_configs_check $?

if [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm=)" = systemd ]; then
	# a host with systemd: the template instance, for real, on a bridge without ports
	ip link add imwpdbr0 type bridge && ip link set imwpdbr0 up
	made_by_us="$made_by_us /var/log/imwire/pkgtest.jsonl"
	systemctl start imwired@pkgtest >"$tmp/sd.log" 2>&1
	systemctl is-active --quiet imwired@pkgtest && systemctl show -p StatusText imwired@pkgtest | grep -q .
	check deb_service_starts_under_systemd $? "$(cat "$tmp/sd.log"; journalctl -u imwired@pkgtest -n 20 --no-pager)"
	systemctl reload imwired@pkgtest && systemctl is-active --quiet imwired@pkgtest
	check deb_service_reloads $?
	systemctl stop imwired@pkgtest
	! systemctl is-active --quiet imwired@pkgtest && ! iptables -S FORWARD | grep -q "imwpdbr0"
	check deb_service_stops_and_removes_rules $?
	ip link del imwpdbr0
else
	# PID 1 is not systemd: the daemon as the unit would run it, by hand, in a
	# network namespace (loopback IRC through NFQUEUE 0), with the installed
	# configuration (file_logging_dir=/var/log/imwire).
	pass deb_pid1_is_not_systemd_documented_check_follows
	ip netns add "$NS" && ip -n "$NS" link set lo up
	for dir in --dport --sport; do
		ip netns exec "$NS" iptables -A OUTPUT -o lo -p tcp "$dir" 6667 -j NFQUEUE --queue-num 0 --queue-bypass
	done
	daemon_in="ip netns exec $NS"
	: >"$daemon_log"
	[ -e /var/log/imwire/IRC ] || made_by_us="$made_by_us /var/log/imwire/IRC"
	$daemon_in /usr/sbin/imwired -d -c /etc/imwire/imwire.conf >"$daemon_log" 2>&1 &
	daemon_pid=$!
	wait_until 5 "$daemon_pid" log_has "$daemon_log" "queue 0: ready"
	check deb_imwired_runs_from_installed_paths $? "$(cat "$daemon_log")"
	grep -q "imwired $version starting (configuration /etc/imwire/imwire.conf)" "$daemon_log"
	check deb_imwired_says_version_at_start $? "$(head -3 "$daemon_log")"
	printf 'expectline NICK alice\nsend :irc.example 001 alice :Welcome\nexpectline PRIVMSG bob :packaged\nclose\n' >"$tmp/server.script"
	printf 'send NICK alice\nexpectline :irc.example 001 alice :Welcome\nsend PRIVMSG bob :packaged\nsleep 0.3\nclose\n' >"$tmp/client.script"
	$daemon_in "$PY" "$PEERS/linepeer.py" server 6667 "$tmp/server.script" "$tmp/server.out" &
	peer_pids=$!
	wait_until 5 "$peer_pids" port_listens "$daemon_in" 6667
	$daemon_in "$PY" "$PEERS/linepeer.py" client 127.0.0.1 6667 "$tmp/client.script" "$tmp/client.out"
	wait "$peer_pids"
	peer_pids=""
	wait_until 5 "$daemon_pid" sh -c 'grep -rqs ",packaged$" /var/log/imwire/IRC/alice/bob/'
	check deb_imwired_logs_to_installed_log_dir $? "$(find /var/log/imwire | head)" "$(cat "$daemon_log")"
	stop_pid "$daemon_pid"
	daemon_pid=""
	check deb_imwired_stops_cleanly "$stopped_rc" "$(tail -5 "$daemon_log")"
	ip netns del "$NS"
fi

# ---- purge ---------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q imwire >"$tmp/purge.log" 2>&1
rc=$?
! dpkg-query -W -f='${Status}' imwire 2>/dev/null | grep -q "installed"
check deb_purges "$([ $rc -eq 0 ] && [ $? -eq 0 ]; echo $?)" "$(tail -10 "$tmp/purge.log")"
installed_by_us=no
left=""
while read -r f; do [ -e "$f" ] && left="$left $f"; done <"$tmp/shipped"
check deb_purge_removes_every_shipped_file "$([ -z "$left" ]; echo $?)" "left:$left"
# what is left: what was there, the operator's configuration, the logs
snapshot >"$tmp/after"
{
	cat "$tmp/before"
	echo /etc/imwire
	echo /etc/imwire/pkgtest.conf
	[ -d /var/log/imwire/IRC ] && find /var/log/imwire
	# the write-ahead log is audit data in flight: purge keeps it as it keeps logs
	[ -d /var/lib/imwire/spool ] && find /var/lib/imwire
} | sort -u >"$tmp/expected"
# a directory that was there empty before (another program's) may go with
# the package's own: purge removes its directories when they are empty
while read -r d; do
	grep -qx "$d" "$tmp/after" && continue
	grep -q "^$d/" "$tmp/before" && continue
	sed -i "\|^$d\$|d" "$tmp/expected"
done <"$tmp/before.dirs"
same_lines deb_purge_leaves_only_operator_config_and_logs "$tmp/expected" "$tmp/after"
[ -z "$(find /run/imwire -name '*.sock' -o -name 'stats.json' -o -name '*.stats.json' 2>/dev/null)" ]
check deb_purge_empties_run_dir $? "$(ls -la /run/imwire 2>&1)"
made_by_us="$made_by_us /etc/imwire/pkgtest.conf"
grep -qx /etc/imwire "$tmp/before" || made_by_us="$made_by_us /etc/imwire"
grep -qx /var/log/imwire "$tmp/before" || made_by_us="$made_by_us /var/log/imwire"
grep -qx /var/lib/imwire/spool "$tmp/before" || made_by_us="$made_by_us /var/lib/imwire/spool"
grep -qx /var/lib/imwire "$tmp/before" || made_by_us="$made_by_us /var/lib/imwire"
