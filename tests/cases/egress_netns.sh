#!/bin/sh
# Originating packets on this kernel, through the bridge of
# scripts/netns-topology.sh, with real kernel TCP stacks on both ends.
#  1. (IPv4, then IPv6) A probe in the bridge namespace
#     (tests/peers/egress_probe.c, built here from the daemon's sources)
#     learns an established connection with libpcap on port vc, then
#     originates server->client data segments with tcp_build_segment and
#     egress_send as frames on vc: each broken variant (TCP checksum,
#     destination MAC, an old timestamp, an ack of data the client never
#     sent) must not be acknowledged, the good one must be; then, from the
#     server's namespace, the next segment routed through a raw IP socket.
#     The client application must read exactly the good bytes.
#  2. (IPv4, IPv6) Packets queued by iptables FORWARD -j NFQUEUE with
#     br_netfilter carry the bridge ports (NFQA_IFINDEX_PHYSINDEV/OUTDEV)
#     and the sender's MAC (NFQA_HWADDR), read through nfq.c.
# Needs root (network namespaces, NFQUEUE, packet sockets) and cc.
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root egress_netns "needs root for network namespaces, NFQUEUE and packet sockets" || exit 0
for tool in $(missing_tools cc "$PY" iptables ip6tables timeout); do
	fail "egress_netns_needs_$tool" "run scripts/install-deps.sh"
	exit 0
done

# The probe uses the daemon's own code, compiled from the sources (the
# library in BIN may carry sanitizer runtimes this plain build lacks).
src="$TOP/daemon/src"
if ! cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I"$TOP/include" -I"$src" \
	-o "$tmp/egress_probe" "$TOP/tests/peers/egress_probe.c" "$src/packet/packet.c" \
	"$src/packet/tcp_build.c" "$src/packet/tcp_edit.c" "$src/util/bytebuf.c" \
	"$src/egress/egress.c" "$src/nfq/nfq.c" -lpcap -lnetfilter_queue -lmnl 2>"$tmp/cc.err"; then
	fail egress_probe_builds "$(head -20 "$tmp/cc.err")"
	exit 0
fi
pass egress_probe_builds

topology_up "imweg$$" || { fail egress_netns "cannot create the netns topology"; exit 0; }

mac_of() { # netns dev
	ip -n "$1" -o link show "$2" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p'
}
ifindex_of() { # netns dev
	ip -n "$1" -o link show "$2" | cut -d: -f1
}
CMAC=$(mac_of "$P-c" eth0)
SMAC=$(mac_of "$P-s" eth0)
VC=$(ifindex_of "$P-b" vc)
VS=$(ifindex_of "$P-b" vs)
BR=$(ifindex_of "$P-b" br0)

# A client that says hello, reads the server's "welcome\n", then reads
# until it has WANT more bytes (10 s at most) and writes those to OUT; a
# server that answers and then keeps the connection open, idle, until the
# client goes (20 s at most). Neither closes first: after bytes the real
# server never sent, the two ends no longer agree on its sequence space.
cat >"$tmp/peer.py" <<'EOF'
import socket, sys, time
LIMIT = 10.0
if sys.argv[1] == "server":
    ls = socket.socket(socket.AF_INET6)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("::", int(sys.argv[2])))
    ls.listen(1)
    ls.settimeout(LIMIT)
    print("listening", flush=True)
    s, _ = ls.accept()
    s.settimeout(LIMIT)
    got = b""
    while b"\n" not in got:
        d = s.recv(100)
        if not d:
            sys.exit(1)
        got += d
    s.sendall(b"welcome\n")
    end = time.monotonic() + 2 * LIMIT
    s.settimeout(0.2)
    while time.monotonic() < end:
        try:
            if not s.recv(100):
                break
        except socket.timeout:
            pass
        except OSError:
            break
else:
    host, port, want, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    s = socket.create_connection((host, port), timeout=LIMIT)
    s.sendall(b"hello\n")
    got = b""
    end = time.monotonic() + LIMIT
    while len(got) < 8 + want and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            d = s.recv(1000)
        except socket.timeout:
            break
        if not d:
            break
        got += d
    with open(out, "wb") as f:
        f.write(got[8:] if got.startswith(b"welcome\n") else b"(no welcome) " + got)
    sys.exit(0 if got.startswith(b"welcome\n") else 1)
EOF

# start_server NAME PORT: the server peer in the background, listening
start_server() {
	$S timeout 30 "$PY" "$tmp/peer.py" server "$2" >"$tmp/$1.server.out" 2>&1 &
	server_pids=$!
	wait_until 5 "$server_pids" log_has "$tmp/$1.server.out" listening
}

# run_probe NAME OUT READY HOST PORT WANT PROBE-ARGS...: egress_probe in the bridge
# namespace (output in OUT) until it prints READY, the server peer on PORT, then the
# client, which reads WANT bytes from HOST; exit statuses in $crc (client) and $prc
# (probe). False, after FAIL NAME_set_up, when the probe or the server did not come up.
run_probe() {
	local n="$1" out="$2" ready="$3" host="$4" port="$5" want="$6" probe
	shift 6
	$B timeout 30 "$tmp/egress_probe" "$@" >"$out" 2>&1 &
	probe=$!
	peer_pids=$probe
	if ! wait_until 5 "$probe" log_has "$out" "$ready" || ! start_server "$n" "$port"; then
		fail "${n}_set_up" "$(cat "$out" "$tmp/$n.server.out" 2>/dev/null)"
		stop_pid "$probe"
		peer_pids=""
		stop_servers
		return 1
	fi
	$C timeout 30 "$PY" "$tmp/peer.py" client "$host" "$port" "$want" "$tmp/$n.client.got" \
		2>"$tmp/$n.client.err"
	crc=$?
	wait "$probe"
	prc=$?
	peer_pids=""
	stop_servers
	[ -z "${VERBOSE:-}" ] || sed 's/^/    probe: /' "$out"
}

# ---------------------------------------------------------------------
# 1. Originated segments, accepted and refused.
inject_case() { # name server-address port
	n=$1
	l2="$n: from the bridge, on the port;"
	l3="$n: routed from the server's namespace;"
	want=$(printf '%s%s' "$l2" "$l3" | wc -c)
	run_probe "$n" "$tmp/$n.probe" "listening on vc" "$2" "$3" "$want" \
		inject -i vc -p "$3" -a 8 -v badsum,badmac,oldts,futureack,good -d "$l2" \
		-n "/run/netns/$P-s" -r "$l3" -t 20 || return
	check "${n}_client_connected" $crc "$(cat "$tmp/$n.client.err")"
	grep -q "^learnt server_mac=$SMAC client_mac=$CMAC .* ts=yes" "$tmp/$n.probe"
	check "${n}_probe_learnt_macs_and_timestamps" $? "$(grep -v sent "$tmp/$n.probe")"
	for v in badsum:bad_tcp_checksum badmac:wrong_destination_mac oldts:timestamp_behind_paws \
		futureack:ack_of_unsent_data; do
		grep -q "^${v%%:*} sent .* -> not-acked" "$tmp/$n.probe"
		check "${n}_client_refuses_${v#*:}" $? "$(grep "^${v%%:*} " "$tmp/$n.probe")"
	done
	grep -q "^good sent .* ts=yes -> acked" "$tmp/$n.probe"
	check "${n}_client_kernel_acked_frame_sent_on_port" $? "$(grep "^good " "$tmp/$n.probe")"
	grep -q "^routed sent .* -> acked" "$tmp/$n.probe"
	check "${n}_client_kernel_acked_routed_raw_packet" $? \
		"$(grep -E "^routed |netns" "$tmp/$n.probe")"
	grep -q "^egress stats: sent=5 send_errors=0 no_link=0" "$tmp/$n.probe"
	check "${n}_egress_counted_five_frames" $? "$(grep "^egress" "$tmp/$n.probe")"
	check "${n}_probe_status" $prc "$(tail -3 "$tmp/$n.probe")"
	printf '%s%s' "$l2" "$l3" >"$tmp/$n.client.want"
	cmp -s "$tmp/$n.client.want" "$tmp/$n.client.got"
	check "${n}_client_application_read_exactly_the_injected_bytes" $? \
		"want: $(cat "$tmp/$n.client.want")" "got:  $(cat "$tmp/$n.client.got" 2>/dev/null)"
}
inject_case inject_ipv4 10.77.0.2 7002
inject_case inject_ipv6 fd77::2 7003

# ---------------------------------------------------------------------
# 2. What NFQUEUE says about bridged packets.
for t in iptables ip6tables; do
	$B $t -A FORWARD -p tcp --dport 7004 -j NFQUEUE --queue-num 7 --queue-bypass
	$B $t -A FORWARD -p tcp --sport 7004 -j NFQUEUE --queue-num 7 --queue-bypass
done
meta_case() { # name server-address server-pattern client-pattern (for grep)
	n=$1
	host=$2
	shift
	run_probe "$n" "$tmp/$n.meta" "bound queue" "$host" 7004 0 meta 7 6 10 || return
	check "${n}_queued_connection_works" $crc "$(cat "$tmp/$n.client.err")"
	check "${n}_six_packets_seen" $prc "$(cat "$tmp/$n.meta")"
	c2s=$(grep -c "^meta src=$3:" "$tmp/$n.meta")
	s2c=$(grep -c "^meta src=$2:7004 " "$tmp/$n.meta")
	good_c2s=$(grep -c "^meta src=$3:.* indev=$BR outdev=$BR physindev=$VC physoutdev=$VS hwaddr_len=6 hwaddr=$CMAC\$" "$tmp/$n.meta")
	good_s2c=$(grep -c "^meta src=$2:7004 .* indev=$BR outdev=$BR physindev=$VS physoutdev=$VC hwaddr_len=6 hwaddr=$SMAC\$" "$tmp/$n.meta")
	[ "$c2s" -gt 0 ] && [ "$c2s" = "$good_c2s" ]
	check "${n}_client_to_server_ports_and_client_mac" $? \
		"want indev=outdev=$BR (br0) physindev=$VC (vc) physoutdev=$VS (vs) hwaddr=$CMAC" \
		"$(grep "^meta src=$3:" "$tmp/$n.meta")"
	[ "$s2c" -gt 0 ] && [ "$s2c" = "$good_s2c" ]
	check "${n}_server_to_client_ports_and_server_mac" $? \
		"want indev=outdev=$BR (br0) physindev=$VS (vs) physoutdev=$VC (vc) hwaddr=$SMAC" \
		"$(grep "^meta src=$2:7004 " "$tmp/$n.meta")"
}
meta_case nfq_meta_ipv4 10.77.0.2 '10\.77\.0\.2' '10\.77\.0\.1'
meta_case nfq_meta_ipv6 fd77::2 '\[fd77::2\]' '\[fd77::1\]'
exit 0
