#!/bin/sh
# Builds imwire.ko against Debian's linux-headers-amd64 and tests it in
# Debian's kernel (linux-image-amd64) booted by qemu-system-x86_64 -accel
# tcg with a busybox initramfs: load, IRC on its port and on an odd port,
# an HTTP-like flow, protocol switches and ports through sysfs, the mark
# seen by policy routing, counters, unload. Traffic crosses a veth pair
# between two network namespaces inside the guest.
# Prints "PASS name" / "FAIL name" lines; exits 0 when it could run.
# Usage: scripts/kmod-test.sh [KVER]   (default: the newest *-amd64 headers)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; }

KVER=${1:-$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sed 's|.*/linux-headers-||' | sort -V | tail -1)}
KDIR=/usr/src/linux-headers-$KVER
VMLINUZ=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
for need in "$KDIR/Makefile" "$VMLINUZ" "$MODDIR/kernel/drivers/net/veth.ko" /bin/busybox; do
	if [ ! -e "$need" ]; then
		fail kmod_prerequisites "missing $need (scripts/install-deps.sh installs it)"
		exit 0
	fi
done
for tool in qemu-system-x86_64 cpio ip; do
	if ! command -v $tool >/dev/null 2>&1; then
		fail kmod_prerequisites "missing $tool (scripts/install-deps.sh installs it)"
		exit 0
	fi
done

# Build out of tree in a copy, so the work tree gets no build products.
mkdir -p "$tmp/src"
cp -r "$TOP/Kbuild" "$TOP/kmod" "$TOP/include" "$tmp/src/"
if make -C "$KDIR" M="$tmp/src" W=1 modules >"$tmp/build.log" 2>&1 &&
	! grep -E 'warning:|error:' "$tmp/build.log" >/dev/null; then
	echo "PASS kmod_builds_clean"
else
	fail kmod_builds_clean "$(grep -E 'warning|error' "$tmp/build.log" | head -10)"
	exit 0
fi

# initramfs: busybox, iproute2 (network namespaces) with its libraries,
# veth.ko, imwire.ko and the test as /init.
R=$tmp/root
mkdir -p "$R/bin" "$R/lib" "$R/lib64" "$R/proc" "$R/sys" "$R/run" "$R/dev" "$R/tmp" "$R/etc"
cp /bin/busybox "$R/bin/"
for app in $(/bin/busybox --list); do
	case $app in ip | busybox) ;; *) ln -sf busybox "$R/bin/$app" ;; esac
done
IP=$(command -v ip)
# busybox's shell prefers its own applets: iproute2 goes in under another name
cp "$IP" "$R/bin/iproute2"
ldd "$IP" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
	[ -f "$lib" ] || continue
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
cp "$MODDIR/kernel/drivers/net/veth.ko" "$tmp/src/imwire.ko" "$R/"
cat >"$R/init" <<'EOF'
#!/bin/sh
export PATH=/bin
ip() { /bin/iproute2 "$@"; }
echo # the console's escape codes end up on a line of their own
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs run /run
mount -t devtmpfs dev /dev 2>/dev/null
ok() { echo "PASS $1"; }
ko() { echo "FAIL $1"; shift; [ $# -gt 0 ] && echo "  $*"; }
Q=/sys/kernel/imwire/protocols
get() { cat "$Q/$1/$2" 2>/dev/null; }
insmod /veth.ko
if insmod /imwire.ko && [ "$(get irc enabled)" = 1 ] && [ "$(get irc ports)" = "6667,6668,6669,6697,7000" ] &&
	[ -d $Q/xmpp ] && [ -d $Q/gg ]; then
	ok kmod_loads_with_sysfs
else
	ko kmod_loads_with_sysfs "$(ls $Q 2>&1)"
fi
# every row of the protocol table (include/imwire/protocols.h), each port
# once: 5190, listed by OSCAR and TOC, stays with OSCAR (the lower number)
t=""
for p in irc imip oscar toc msn ymsg xmpp gg; do t="$t $p=$(get $p ports)"; done
if [ "$t" = " irc=6667,6668,6669,6697,7000 imip=11319 oscar=5190 toc=9898 msn=1863 ymsg=5050 xmpp=5222,5269 gg=8074" ] &&
	[ "$(ls $Q | wc -l)" = 8 ]; then
	ok kmod_protocol_table
else
	ko kmod_protocol_table "$t / $(ls $Q | tr '\n' ' ')"
fi
ip netns add c && ip netns add s
ip link add vc type veth peer name vs
ip link set vc netns c
ip link set vs netns s
ip -n c addr add 10.0.0.1/24 dev vc
ip -n s addr add 10.0.0.2/24 dev vs
for n in c s; do ip -n $n link set lo up; done
ip -n c link set vc up
ip -n s link set vs up
sleep 1
# exchange PORT TEXT: the server answers "done"; prints what the client got
exchange() {
	ip netns exec s sh -c "printf 'done\r\n' | timeout 5 nc -l -p $1 >/tmp/srv.$1" &
	sleep 0.5
	printf '%s\r\n' "$2" | ip netns exec c timeout 5 nc -w 2 10.0.0.2 $1
	wait
}
m0=$(get irc marked)
got=$(exchange 6667 "NICK alice")
if [ "$got" = "$(printf 'done\r')" ] && [ "$(get irc flows)" = 1 ] && [ "$(get irc marked)" -gt "$m0" ]; then
	ok kmod_irc_port_marked
else
	ko kmod_irc_port_marked "got '$got', flows $(get irc flows), marked $(get irc marked)"
fi
m0=$(get irc marked)
got=$(exchange 7777 "NICK bob")
if [ "$(get irc flows)" = 2 ] && [ "$(get irc marked)" -gt "$m0" ]; then
	ok kmod_irc_odd_port_by_signature
else
	ko kmod_irc_odd_port_by_signature "flows $(get irc flows), marked $(get irc marked)"
fi
o0=$(cat /sys/kernel/imwire/other_flows)
m0=$(get irc marked)
exchange 8080 "GET /big HTTP/1.1" >/dev/null
exchange 8081 "GET /again HTTP/1.1" >/dev/null
if [ "$(get irc marked)" = "$m0" ] && [ "$(cat /sys/kernel/imwire/other_packets)" -gt 0 ] &&
	[ "$(get irc flows)" = 2 ]; then
	ok kmod_http_not_marked
else
	ko kmod_http_not_marked "irc marked $m0 -> $(get irc marked), other flows $o0 -> $(cat /sys/kernel/imwire/other_flows)"
fi
# The mark reaches the stack: marked packets are routed to "prohibit".
ip -n s rule add pref 10 fwmark 0x1000000/0x1000000 prohibit
ip -n s rule add pref 100 lookup local
ip -n s rule del pref 0
echo 0 >$Q/irc/enabled
p0=$(get irc passed)
m0=$(get irc marked)
got=$(exchange 6667 "NICK carol")
if [ "$(get irc enabled)" = 0 ] && [ "$got" = "$(printf 'done\r')" ] && [ "$(get irc marked)" = "$m0" ] &&
	[ "$(get irc passed)" -gt "$p0" ]; then
	ok kmod_irc_off_passes_unmarked
else
	ko kmod_irc_off_passes_unmarked "got '$got', marked $m0 -> $(get irc marked), passed $(get irc passed)"
fi
echo 1 >$Q/irc/enabled
got=$(exchange 6667 "NICK dave")
if [ -z "$got" ] && [ "$(get irc marked)" -gt "$m0" ]; then
	ok kmod_mark_seen_by_policy_routing
else
	ko kmod_mark_seen_by_policy_routing "got '$got' through a prohibit route for marked packets"
fi
ip -n s rule add pref 0 lookup local
ip -n s rule del pref 10
# Ports are writable: 9999 becomes an XMPP port.
if echo "5222,9999" >$Q/xmpp/ports && [ "$(get xmpp ports)" = "5222,9999" ] &&
	! echo "70000" >$Q/xmpp/ports 2>/dev/null; then
	f0=$(get xmpp flows)
	exchange 9999 "hello" >/dev/null
	if [ "$(get xmpp flows)" -gt "$f0" ] && [ "$(get xmpp marked)" -gt 0 ]; then
		ok kmod_ports_writable
	else
		ko kmod_ports_writable "xmpp flows $(get xmpp flows), marked $(get xmpp marked)"
	fi
else
	ko kmod_ports_writable "$(get xmpp ports)"
fi
# An expected connection (a file offer's, #20): steered as its protocol
# on a port no protocol has, by signature-less bytes; nothing else there.
E=/sys/kernel/imwire/expect
if echo "add 10.0.0.2 7100 irc 30" >$E && grep -q "^::ffff:10.0.0.2 7100 irc " $E &&
	! echo "add 10.0.0.2 7100 nosuch 30" >$E 2>/dev/null && ! echo "add bogus 1 irc 3" >$E 2>/dev/null; then
	f0=$(get irc flows)
	m0=$(get irc marked)
	exchange 7100 "raw file bytes" >/dev/null
	f1=$(get irc flows)
	m1=$(get irc marked)
	exchange 7101 "raw file bytes" >/dev/null
	echo "del 10.0.0.2 7100" >$E
	exchange 7100 "raw file bytes" >/dev/null
	if [ "$f1" -eq $((f0 + 1)) ] && [ "$m1" -gt "$m0" ] && [ "$(get irc flows)" = "$f1" ] &&
		[ "$(get irc marked)" = "$m1" ] && [ -z "$(cat $E)" ]; then
		ok kmod_expected_connection_steered
	else
		ko kmod_expected_connection_steered "flows $f0 $f1 $(get irc flows), marked $m0 $m1 $(get irc marked)"
	fi
else
	ko kmod_expected_connection_steered "$(cat $E 2>&1)"
fi
ip netns del c
ip netns del s
if rmmod imwire && [ ! -d /sys/kernel/imwire ]; then
	ok kmod_unloads
else
	ko kmod_unloads
fi
echo KMODTEST-END
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/initrd.gz"

timeout 300 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
	-kernel "$VMLINUZ" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3" >"$tmp/console.log" 2>&1 </dev/null
[ -n "${VERBOSE:-}" ] && tr -d "\r" <"$tmp/console.log" >&2
grep -E '^(PASS|FAIL) |^  ' "$tmp/console.log" | tr -d '\r'
if ! grep -q KMODTEST-END "$tmp/console.log"; then
	fail kmod_guest_finished "$(tail -20 "$tmp/console.log" | tr -d '\r')"
fi
