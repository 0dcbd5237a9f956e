#!/bin/sh
# The tc BPF classifier on the bridge ports of the netns topology, with
# `imwire setup --by-mark` steering what it marks into imwired:
#  - an IRC flow on a non-standard port and an XMPP flow are steered (the
#    daemon logs their messages) while a bulk HTTP-like flow is not (the
#    NFQUEUE rule's packet counter does not move, the classifier counts
#    it as "other");
#  - XMPP switched off with plain bpftool stops steering new XMPP flows;
#  - `imwire proto enable|disable|list`, detach;
#  - the liveness entry: a running imwired holds the pin directory (a
#    second one is refused with a clear message), its exit frees it;
#  - offsets a dead daemon left in the xlate map (published here with
#    bpftool) for addresses a new connection then uses: its SYN clears
#    them, the connection crosses untranslated and intact. (Translation on
#    the wire is inline_restart.sh's, with a real edit; every rule of it is
#    test_bpf_publish's, against seqmap.)
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
for m in protocols ports flows xlate counters liveness owner; do
	[ -e "$PIN/$m" ] || fail "pinned_$m"
done
$B "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null

queued() { # packets the NFQUEUE rule has sent to the daemon
	$B iptables -w -t filter -L FORWARD -v -x -n | awk '/NFQUEUE/ { n += $1 } END { print n + 0 }'
}

write_config "$tmp/bpfcls.conf" 50
daemon_in=$BPF_B # where bpffs is visible: the daemon holds the pin directory
start_daemon "$tmp/bpfcls.conf" || { fail daemon_start; exit 0; }
first_pid=$daemon_pid
# A second daemon on the same pin directory is refused, and says why (a
# configuration of its own: the same one would be refused by its pid file).
cp "$tmp/bpfcls.conf" "$tmp/bpfcls2.conf"
$BPF_B timeout 10 "$BIN/imwired" -d -c "$tmp/bpfcls2.conf" --queue 9 >"$tmp/second.log" 2>&1
second_rc=$?
if [ $second_rc -ne 0 ] && grep -q "$PIN is held by a live imwired (pid $first_pid)" "$tmp/second.log" &&
	"$BIN/imwire" pin-dir | grep -q "held by imwired pid $first_pid"; then
	pass second_daemon_refused
else
	fail second_daemon_refused "exit $second_rc: $(head -3 "$tmp/second.log")" "$("$BIN/imwire" pin-dir)"
fi

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

if "$BIN/imwire" pin-dir | grep -q "not held by any imwired"; then
	pass daemon_exit_frees_pin_dir
else
	fail daemon_exit_frees_pin_dir "$("$BIN/imwire" pin-dir)"
fi

# ---------------------------------------------------------------------
# Stale offsets: entries for ::ffff:10.77.0.1:40001 - ::ffff:10.77.0.2:7778
# (client side +5, server side -3) as a daemon killed in the middle of an
# edited connection would leave them, then a new connection on those
# addresses. Port 7778 is made IRC's so that the classifier steers it.
bpftool map update pinned "$PIN/ports" key 0x62 0x1e value 1 0 0 0 ||
	fail stale_port "bpftool map update ports"
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
# xlate_entry SIDE DELTA: bpftool's key and value bytes for one direction
# (side 0: 10.77.0.1:40001, side 1: 10.77.0.2:7778): key = flow key, pad,
# side; value = lock, pad, stamp, base offset (little endian), limit, no
# edits, flags, proto irc, pad, then the empty edit list.
xlate_entry() {
	"$PY" - "$1" "$2" <<'EOF'
import struct, sys
side, delta = int(sys.argv[1]), int(sys.argv[2])
key = bytes(10) + b"\xff\xff" + bytes([10, 77, 0, 1]) + bytes(10) + b"\xff\xff" + bytes([10, 77, 0, 2])
key += struct.pack("<HHII", 40001, 7778, 0, side)
value = struct.pack("<IIQiIHBBI", 0, 0, 0, delta, 0, 0, 0, 1, 0) + bytes(16 * 16)
print("key", " ".join(str(b) for b in key), "value", " ".join(str(b) for b in value))
EOF
}
bpftool map update pinned "$PIN/xlate" $(xlate_entry 0 5) &&
	bpftool map update pinned "$PIN/xlate" $(xlate_entry 1 -3) ||
	fail stale_publish "bpftool map update xlate"
stale0=$(proto_counter irc stale)
start_bridge_capture "$tmp/stale" tcp port 7778
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
if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(proto_counter irc stale)" = $((stale0 + 2)) ] &&
	! bpftool map dump pinned "$PIN/xlate" 2>/dev/null | grep -q key; then
	pass new_syn_clears_stale_offsets
else
	fail new_syn_clears_stale_offsets "client $crc, server $src, stale $stale0 -> $(proto_counter irc stale)" \
		"$(cat "$tmp/fc.err" "$tmp/fs.err" | tail -2)" \
		"$(bpftool map dump pinned "$PIN/xlate" 2>&1 | head -3)"
fi
# ... and the connection crossed untranslated: each side's first data
# segment has the same seq on both bridge ports
data_seq() { # PCAP SRC: seq of SRC's first segment with data
	tcpdump -r "$1" -nn -S "src host $2 and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0" \
		2>/dev/null | sed -n 's/.*seq \([0-9]*\):.*/\1/p' | head -1
}
cc=$(data_seq "$tmp/stale.vc.pcap" 10.77.0.1)
cs=$(data_seq "$tmp/stale.vs.pcap" 10.77.0.1)
sc=$(data_seq "$tmp/stale.vc.pcap" 10.77.0.2)
ss=$(data_seq "$tmp/stale.vs.pcap" 10.77.0.2)
if [ -n "$cc" ] && [ -n "$sc" ] && [ "$cc" = "$cs" ] && [ "$sc" = "$ss" ]; then
	pass stale_offsets_not_applied
else
	fail stale_offsets_not_applied "client data at $cc (client side), $cs (server side);" \
		"server data at $ss (server side), $sc (client side)"
fi

if $BPF_B "$BIN/imwire" detach vc vs && ! $BPF_B tc filter show dev vc ingress | grep -q imwire; then
	pass detach
else
	fail detach
fi
