#!/bin/sh
# The tc BPF classifier on the bridge ports of the netns topology, with
# `imwire setup --by-mark` steering what it marks into imwired:
#  - an IRC flow on a non-standard port and an XMPP flow are steered (the
#    daemon logs their messages) while a bulk HTTP-like flow is not (the
#    NFQUEUE rule's packet counter does not move, the classifier counts
#    it as "other");
#  - XMPP switched off with plain bpftool stops steering new XMPP flows;
#  - `imwire proto enable|disable|list`, detach;
#  - the fix-up fast path: a flow whose published seq deltas the
#    classifier applies itself (no daemon heartbeat) stays byte-exact,
#    with each side's sequence numbers shifted by the delta on the wire.
# Needs root, BPF and bpffs (mounted on /sys/fs/bpf when missing).
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root bpf_classifier "needs root for network namespaces, tc and BPF" || exit 0
require bpf_classifier bpftool || exit 0
topology_up "imwbc$$" || { fail bpf_classifier "cannot create the netns topology"; exit 0; }
bpf_pins

if $BPF_B "$BIN/imwire" attach vc vs >"$tmp/attach.log" 2>&1 &&
	$BPF_B tc filter show dev vc ingress | grep -q imwire_classify &&
	$BPF_B tc filter show dev vs ingress | grep -q imwire_classify; then
	pass attach_both_bridge_ports
else
	fail attach_both_bridge_ports "$(tail -5 "$tmp/attach.log")"
	exit 0
fi
for m in protocols ports flows counters heartbeat; do
	[ -e "$PIN/$m" ] || fail "pinned_$m"
done
$B "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null

queued() { # packets the NFQUEUE rule has sent to the daemon
	$B iptables -w -t filter -L FORWARD -v -x -n | awk '/NFQUEUE/ { n += $1 } END { print n + 0 }'
}

write_config "$tmp/d.conf" 50
start_daemon "$tmp/d.conf" || { fail daemon_start; exit 0; }

logged() { grep -c "\"text\":\"$1\"" "$tmp/events.jsonl" 2>/dev/null; }

# steered NAME PEERS PEERS_FAIL PORT PROTO TEXT: run_peers PEERS on PORT; PASS NAME when that
# was the classifier's first PROTO flow, marked, queued to the daemon, its TEXT logged once.
steered() {
	local q0 q1
	q0=$(queued)
	run_peers "$2" 10.77.0.2 "$4" || fail "$3" "$(peer_errors "$2")"
	sleep 0.3
	q1=$(queued)
	logged_soon "$tmp/events.jsonl" "\"text\":\"$6\""
	[ "$(logged "$6")" = 1 ] && [ "$(proto_counter "$5" flows)" = 1 ] &&
		[ "$(proto_counter "$5" steered)" -gt 0 ] && [ "$q1" -gt "$q0" ]
	check "$1" $? "logged $(logged "$6"), flows $(proto_counter "$5" flows)," \
		"steered $(proto_counter "$5" steered), queued $q0 -> $q1"
}

# ---------------------------------------------------------------------
# IRC on port 7777: no port rule knows it, the payload signature does.
cat >"$tmp/irc.client" <<EOF
send NICK alice
send USER a 0 * :Alice
send PRIVMSG bob :irc on an odd port
expectline :srv NOTICE alice :done
close
EOF
cat >"$tmp/irc.server" <<EOF
expectline PRIVMSG bob :irc on an odd port
send :srv NOTICE alice :done
close
EOF
steered irc_odd_port_steered irc irc_peers 7777 irc 'irc on an odd port'

# ---------------------------------------------------------------------
# XMPP, on a port of its own and on 5222.
xmpp_scripts() { # name text
	cat >"$tmp/$1.client" <<EOF
send <?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>
expectline <iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.com/res</jid></bind></iq>
send <message to='bob@example.com' type='chat' id='m1'><body>$2</body></message>
expectline </stream:stream>
send </stream:stream>
close
EOF
	cat >"$tmp/$1.server" <<EOF
send <?xml version='1.0'?><stream:stream from='example.com' id='s1' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>
send <iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.com/res</jid></bind></iq>
expectline <message to='bob@example.com' type='chat' id='m1'><body>$2</body></message>
send </stream:stream>
close
EOF
}
xmpp_scripts xmpp1 "xmpp steered"
steered xmpp_steered xmpp1 xmpp_peers 15222 xmpp 'xmpp steered'

# ---------------------------------------------------------------------
# A bulk HTTP-like flow: never marked, never queued.
cat >"$tmp/http.client" <<EOF
send GET /big HTTP/1.1
send Host: example.com
send
expect 2000000
close
EOF
cat >"$tmp/http.server" <<EOF
expectline
send HTTP/1.1 200 OK
bulkraw 2000000
close
EOF
q0=$(queued)
other0=$(proto_counter other flows)
steered0=$("$BIN/imwire" proto list | awk 'NR > 2 { n += $5 } END { print n + 0 }')
run_peers http 10.77.0.2 8080 || fail http_peers "$(peer_errors http)"
q1=$(queued)
steered1=$("$BIN/imwire" proto list | awk 'NR > 2 { n += $5 } END { print n + 0 }')
other1=$(proto_counter other flows)
if [ "$q1" = "$q0" ] && [ "$steered1" = "$steered0" ] && [ "$other1" -eq $((other0 + 1)) ] &&
	[ "$(proto_counter other not_steered)" -gt 10 ]; then
	pass http_bulk_not_steered
else
	fail http_bulk_not_steered "queued $q0 -> $q1, steered $steered0 -> $steered1," \
		"other flows $other0 -> $other1, other packets $(proto_counter other not_steered)"
fi

# ---------------------------------------------------------------------
# XMPP off with bpftool (protocol id 7, enabled = 0): new flows pass by.
if bpftool map update pinned "$PIN/protocols" key 7 0 0 0 value 0 0 0 0 &&
	"$BIN/imwire" proto list | grep -q '^xmpp *off'; then
	pass bpftool_disables_xmpp
else
	fail bpftool_disables_xmpp "$("$BIN/imwire" proto list 2>&1 | grep xmpp)"
fi
xmpp_scripts xmpp2 "xmpp while off"
q0=$(queued)
s0=$(proto_counter xmpp steered)
run_peers xmpp2 10.77.0.2 5222 || fail xmpp_off_peers "$(peer_errors xmpp2)"
sleep 0.3
q1=$(queued)
if [ "$q1" = "$q0" ] && [ "$(proto_counter xmpp steered)" = "$s0" ] &&
	[ "$(logged 'xmpp while off')" = 0 ] && [ "$(proto_counter xmpp not_steered)" -gt 0 ]; then
	pass xmpp_off_not_steered
else
	fail xmpp_off_not_steered "queued $q0 -> $q1, steered $s0 -> $(proto_counter xmpp steered)," \
		"logged $(logged 'xmpp while off')"
fi

# imwire proto enable/disable by name
if "$BIN/imwire" proto enable xmpp && "$BIN/imwire" proto disable irc gg &&
	"$BIN/imwire" proto list | grep -q '^xmpp *on' &&
	"$BIN/imwire" proto list | grep -q '^irc *off' &&
	"$BIN/imwire" proto list | grep -q '^gg *off' &&
	"$BIN/imwire" proto enable irc gg && ! "$BIN/imwire" proto enable nosuch 2>/dev/null; then
	pass proto_enable_disable_by_name
else
	fail proto_enable_disable_by_name "$("$BIN/imwire" proto list 2>&1)"
fi
stop_daemon

# ---------------------------------------------------------------------
# Fix-up fast path: a flow whose deltas are published (client side +5,
# server side -3) before its SYN, with no daemon beating: the classifier
# shifts seq and ack on both bridge ports, the ends never notice.
cat >"$tmp/fixed_client.py" <<'EOF'
import socket, sys
s = socket.socket()
s.bind(("10.77.0.1", 40001))
s.settimeout(10)
s.connect(("10.77.0.2", 7778))
s.sendall(b"x" * 100000)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
sys.exit(0 if got == b"y" * 50000 else 1)
EOF
cat >"$tmp/fixed_server.py" <<'EOF'
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.77.0.2", 7778))
ls.listen(1)
ls.settimeout(10)
c, _ = ls.accept()
c.settimeout(10)
got = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    got += d
c.sendall(b"y" * 50000)
c.close()
sys.exit(0 if got == b"x" * 100000 else 1)
EOF
# key: ::ffff:10.77.0.1, ::ffff:10.77.0.2, ports 40001 and 7778 (little
# endian), pad; value: steer, irc, 0, has-delta, +5, -3, pad
a="0 0 0 0 0 0 0 0 0 0 0xff 0xff 10 77 0 1"
b="0 0 0 0 0 0 0 0 0 0 0xff 0xff 10 77 0 2"
bpftool map update pinned "$PIN/flows" key $a $b 0x41 0x9c 0x62 0x1e 0 0 0 0 \
	value 1 1 0 1 5 0 0 0 0xfd 0xff 0xff 0xff 0 0 0 0 ||
	fail fixup_publish "bpftool map update flows"
start_bridge_capture "$tmp/fixup" tcp port 7778
f0=$(proto_counter irc fixed_up)
$S "$PY" "$tmp/fixed_server.py" 2>"$tmp/fs.err" &
spid=$!
peer_pids=$spid
wait_until 5 $spid port_listens "$S" 7778
$C "$PY" "$tmp/fixed_client.py" 2>"$tmp/fc.err"
crc=$?
wait $spid
src=$?
peer_pids=""
stop_captures
if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(proto_counter irc fixed_up)" -gt "$f0" ]; then
	pass fixup_connection_intact
else
	fail fixup_connection_intact "client $crc, server $src, fixed_up $f0 -> $(proto_counter irc fixed_up)" \
		"$(cat "$tmp/fc.err" "$tmp/fs.err")"
fi
# The SYN's seq is 5 higher on the server's side than on the client's,
# the SYN-ACK's 3 lower on the client's side than on the server's.
syn_seq() { tcpdump -r "$1" -nn -S "$2" 2>/dev/null | sed -n 's/.*seq \([0-9]*\),.*/\1/p' | head -1; }
cs=$(syn_seq "$tmp/fixup.vc.pcap" 'tcp[tcpflags] == tcp-syn')
ss=$(syn_seq "$tmp/fixup.vs.pcap" 'tcp[tcpflags] == tcp-syn')
ca=$(syn_seq "$tmp/fixup.vc.pcap" 'tcp[tcpflags] == tcp-syn|tcp-ack')
sa=$(syn_seq "$tmp/fixup.vs.pcap" 'tcp[tcpflags] == tcp-syn|tcp-ack')
if [ -n "$cs" ] && [ -n "$ca" ] && [ $(((ss - cs) & 0xffffffff)) = 5 ] &&
	[ $(((sa - ca) & 0xffffffff)) = 3 ]; then
	pass fixup_shifts_sequence_numbers
else
	fail fixup_shifts_sequence_numbers "client SYN $cs, server SYN $ss, server SYN-ACK $sa, client SYN-ACK $ca"
fi

if $BPF_B "$BIN/imwire" detach vc vs && ! $BPF_B tc filter show dev vc ingress | grep -q imwire; then
	pass detach
else
	fail detach
fi
