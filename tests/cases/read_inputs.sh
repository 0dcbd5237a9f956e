#!/bin/sh
# imwire read's inputs (issue #18): a pcapng merged by mergecap from an
# Ethernet capture and a Linux cooked (SLL) one gives exactly the events
# of the two read alone; the same from standard input ("-") and
# gzip-compressed (by file or by pipe, pcap or pcapng); a big-endian
# pcapng with nanosecond timestamps and an interface of a link type imwire
# does not read (written here from the same packets); --separate reads
# files as unrelated captures (a flow cut in two is two flows, nothing
# learnt in one file carries over), without it they are one capture.
# Damage is named and what came before it is kept: a gzip stream that
# stops short, one that is not gzip inside, a pcapng cut inside a block.
# Captures only: no live peers, no lock. Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

require read_inputs_prerequisites mergecap editcap gzip "$PY" || exit 1
ETH=$TOP/../shared/pcaps/irc/zeek_irc-basic.pcap
SLL=$TOP/../shared/pcaps/irc/zeek_irc-starttls.pcap
R="$BIN/imwire"

# read NAME ARGS...: `imwire read ARGS` into $tmp/NAME.jsonl, .err and .rc.
read_to() {
	local n="$1"
	shift
	"$R" read "$@" >"$tmp/$n.jsonl" 2>"$tmp/$n.err"
	echo $? >"$tmp/$n.rc"
}
# events NAME: its events without the flow number, sorted.
events() {
	sed 's/,"flow":[0-9]*//' "$tmp/$1.jsonl" | sort
}
rc_of() {
	cat "$tmp/$1.rc"
}

# ---- mergecap: two link types in one pcapng
mergecap -w "$tmp/merged.pcapng" "$ETH" "$SLL"
check mergecap_writes_pcapng $?
"$PY" - "$tmp/merged.pcapng" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
types = []
i = 0
while i < len(d):
    t, n = struct.unpack_from("<II", d, i)
    if t == 1:
        types.append(struct.unpack_from("<H", d, i + 8)[0])
    i += n
sys.exit(0 if types == [1, 113] else 1)
EOF
check merged_has_ethernet_and_sll_interfaces $?
read_to eth "$ETH"
read_to sll "$SLL"
read_to merged "$tmp/merged.pcapng"
[ "$(rc_of merged)" = 0 ] && [ -s "$tmp/merged.jsonl" ]
check merged_reads $? "$(head -3 "$tmp/merged.err")"
cat "$tmp/eth.jsonl" "$tmp/sll.jsonl" >"$tmp/both.jsonl"
events both >"$tmp/both.want"
events merged >"$tmp/merged.got"
same_lines merged_events_are_both_captures_events "$tmp/both.want" "$tmp/merged.got"
grep -q '"kind":"encrypted".*"text":"STARTTLS"' "$tmp/merged.jsonl" &&
	grep -q '"kind":"message".*"text":"test"' "$tmp/merged.jsonl"
check merged_has_the_sll_and_the_ethernet_events $?
grep -q "^imwire: 1 file(s), 54 packets$" "$tmp/merged.err"
check merged_counts_every_packet $? "$(grep 'file(s)' "$tmp/merged.err")"

# ---- standard input and gzip
read_to stdin - <"$tmp/merged.pcapng"
cmp -s "$tmp/merged.jsonl" "$tmp/stdin.jsonl" && [ "$(rc_of stdin)" = 0 ]
check stdin_pcapng_same_events $? "$(head -3 "$tmp/stdin.err")"
read_to stdin_pcap - <"$ETH"
cmp -s "$tmp/eth.jsonl" "$tmp/stdin_pcap.jsonl" && [ "$(rc_of stdin_pcap)" = 0 ]
check stdin_pcap_same_events $? "$(head -3 "$tmp/stdin_pcap.err")"
gzip -c "$tmp/merged.pcapng" >"$tmp/merged.pcapng.gz"
gzip -c "$ETH" >"$tmp/eth.pcap.gz"
read_to gz_ng "$tmp/merged.pcapng.gz"
cmp -s "$tmp/merged.jsonl" "$tmp/gz_ng.jsonl" && [ "$(rc_of gz_ng)" = 0 ]
check gzip_pcapng_same_events $? "$(head -3 "$tmp/gz_ng.err")"
read_to gz_pcap "$tmp/eth.pcap.gz"
cmp -s "$tmp/eth.jsonl" "$tmp/gz_pcap.jsonl" && [ "$(rc_of gz_pcap)" = 0 ]
check gzip_pcap_same_events $? "$(head -3 "$tmp/gz_pcap.err")"
read_to gz_stdin - <"$tmp/merged.pcapng.gz"
cmp -s "$tmp/merged.jsonl" "$tmp/gz_stdin.jsonl" && [ "$(rc_of gz_stdin)" = 0 ]
check gzip_on_stdin_same_events $? "$(head -3 "$tmp/gz_stdin.err")"
# Two gzip members one after the other are one stream (as gunzip reads them).
head -c 2000 "$tmp/merged.pcapng" | gzip -c >"$tmp/two.gz"
tail -c +2001 "$tmp/merged.pcapng" | gzip -c >>"$tmp/two.gz"
read_to gz_two "$tmp/two.gz"
cmp -s "$tmp/merged.jsonl" "$tmp/gz_two.jsonl" && [ "$(rc_of gz_two)" = 0 ]
check gzip_members_concatenated $? "$(head -3 "$tmp/gz_two.err")"
read_to stdin_twice - - </dev/null
[ "$(rc_of stdin_twice)" = 2 ] && grep -q 'standard input ("-") can be read only once' \
	"$tmp/stdin_twice.err"
check stdin_only_once $? "$(cat "$tmp/stdin_twice.err")"

# ---- damage: named, and what came before it kept
size=$(wc -c <"$tmp/merged.pcapng.gz")
head -c $((size * 3 / 4)) "$tmp/merged.pcapng.gz" >"$tmp/cut.gz"
read_to cut_gz "$tmp/cut.gz"
[ "$(rc_of cut_gz)" = 1 ] && grep -q "cut.gz: bad pcapng block after packet [0-9]*: .*gzip stream ends early" "$tmp/cut_gz.err"
check gzip_cut_short_is_named $? "$(head -2 "$tmp/cut_gz.err")"
[ -s "$tmp/cut_gz.jsonl" ] && [ "$(wc -l <"$tmp/cut_gz.jsonl")" -lt "$(wc -l <"$tmp/merged.jsonl")" ] &&
	head -n "$(wc -l <"$tmp/cut_gz.jsonl")" "$tmp/merged.jsonl" | cmp -s - "$tmp/cut_gz.jsonl"
check gzip_cut_short_keeps_events_before $?
{ printf '\037\213\010\000\000\000\000\000\000\003'; head -c 300 /dev/zero | tr '\0' 'x'; } >"$tmp/bad.gz"
read_to bad_gz "$tmp/bad.gz"
[ "$(rc_of bad_gz)" = 1 ] && grep -q "bad.gz: cannot read: .*(in the gzip stream)" "$tmp/bad_gz.err"
check gzip_damaged_is_named $? "$(head -2 "$tmp/bad_gz.err")"
size=$(wc -c <"$tmp/merged.pcapng")
# The last block is a bare ACK's: every event lies before the cut.
head -c $((size - 30)) "$tmp/merged.pcapng" >"$tmp/cut.pcapng"
read_to cut_ng "$tmp/cut.pcapng"
[ "$(rc_of cut_ng)" = 1 ] &&
	grep -q "cut.pcapng: bad pcapng block after packet 53: the file ends inside a block at byte [0-9]*" \
		"$tmp/cut_ng.err"
check pcapng_cut_inside_a_block_is_named $? "$(head -2 "$tmp/cut_ng.err")"
events cut_ng >"$tmp/cut_ng.got"
events merged >"$tmp/cut_ng.want"
same_lines pcapng_cut_keeps_events_before "$tmp/cut_ng.want" "$tmp/cut_ng.got"

# ---- a big-endian pcapng, nanosecond time on one interface, an offset on
# another, and a third interface of a link type imwire does not read
# (USER0, 147) with a packet of its own; plus a Simple Packet Block.
"$PY" - "$ETH" "$SLL" "$tmp/be.pcapng" <<'EOF'
import struct, sys

def records(path):
    d = open(path, "rb").read()
    magic, = struct.unpack_from("<I", d, 0)
    assert magic == 0xa1b2c3d4, "expected a little-endian microsecond pcap"
    link, = struct.unpack_from("<I", d, 20)
    i, out = 24, []
    while i + 16 <= len(d):
        sec, usec, cap, orig = struct.unpack_from("<IIII", d, i)
        out.append((sec * 1000000 + usec, d[i + 16:i + 16 + cap], orig))
        i += 16 + cap
    return link, out

def pad(b):
    return b + b"\0" * (-len(b) % 4)

def block(t, body):
    n = 12 + len(body)
    return struct.pack(">II", t, n) + body + struct.pack(">I", n)

def opt(code, value):
    return struct.pack(">HH", code, len(value)) + pad(value)

eth_link, eth = records(sys.argv[1])
sll_link, sll = records(sys.argv[2])
out = block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1) + opt(0, b""))
# 0: Ethernet, nanoseconds; 1: USER0; 2: SLL, microseconds counted from
# 1000 seconds before the epoch (if_tsoffset says add them back).
out += block(1, struct.pack(">HHI", eth_link, 0, 0) + opt(9, b"\x09") + opt(0, b""))
out += block(1, struct.pack(">HHI", 147, 0, 0) + opt(0, b""))
out += block(1, struct.pack(">HHI", sll_link, 0, 0) + opt(14, struct.pack(">q", 1000)) +
             opt(0, b""))
pkts = [(us * 1000, 0, data, orig) for us, data, orig in eth]
pkts += [((us - 1000 * 1000000), 2, data, orig) for us, data, orig in sll]
pkts.sort(key=lambda p: p[0] * (1 if p[1] == 0 else 1000))
first = True
for ts, iface, data, orig in pkts:
    if first:
        out += block(6, struct.pack(">IIIII", 1, 0, 0, 4, 4) + pad(b"user"))
        first = False
    out += block(6, struct.pack(">IIIII", iface, ts >> 32, ts & 0xffffffff, len(data), orig) +
                 pad(data))
# A Simple Packet Block: interface 0, an ARP-sized frame that is not IP.
out += block(3, struct.pack(">I", 42) + pad(b"\xff" * 12 + b"\x08\x06" + b"\0" * 28))
open(sys.argv[3], "wb").write(out)
EOF
check big_endian_pcapng_written $?
read_to be "$tmp/be.pcapng"
events be >"$tmp/be.got"
same_lines big_endian_nanosecond_offset_same_events "$tmp/both.want" "$tmp/be.got"
grep -q "be.pcapng: 1 packets of unsupported link types skipped (first: 147" "$tmp/be.err" &&
	grep -q "^imwire: 1 file(s), 56 packets$" "$tmp/be.err"
check big_endian_counts_the_unreadable_interface $? "$(head -3 "$tmp/be.err")"

# ---- --separate: a capture cut in two is two captures, or one
editcap -c 20 "$ETH" "$tmp/part.pcap" >/dev/null
set -- "$tmp"/part_*.pcap
[ $# -eq 2 ]
check editcap_cut_in_two $? "$*"
read_to joined "$@"
read_to separate --separate "$@"
grep -q "^flows: 1 TCP (0 picked up mid-stream)" "$tmp/joined.err"
check without_separate_one_flow $? "$(grep '^flows' "$tmp/joined.err")"
grep -q "^flows: 2 TCP (1 picked up mid-stream)" "$tmp/separate.err"
check separate_two_flows $? "$(grep '^flows' "$tmp/separate.err")"
# The first file's login and the second file's join: the same flow, or
# two, and the join knows its local user only when the login was seen.
"$PY" - "$tmp/joined.jsonl" "$tmp/separate.jsonl" <<'EOF'
import json, sys
def by_kind(path):
    return {e["kind"]: e for e in map(json.loads, open(path))}
j, s = by_kind(sys.argv[1]), by_kind(sys.argv[2])
ok = (j["login"]["flow"] == j["join"]["flow"] and j["join"]["local"] == "brotest" and
      s["login"]["flow"] != s["join"]["flow"] and s["join"]["local"] == "")
sys.exit(0 if ok else 1)
EOF
check separate_learns_nothing_across_files $? "$(cut -c1-120 "$tmp/separate.jsonl")"
cmp -s "$tmp/eth.jsonl" "$tmp/joined.jsonl"
check without_separate_same_as_uncut $?
exit $failed_here
