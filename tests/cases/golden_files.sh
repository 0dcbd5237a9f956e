#!/bin/sh
# File transfers followed offline (#20): for each way a file travels (IRC
# DCC, XMPP in-band and SOCKS5 bytestreams, GG DCC7, MSN P2P, a Yahoo HTTP
# relay) the generator still writes the committed capture, `imwire read`
# prints the expected events, each transfer's result carries the SHA-256
# of the bytes the generator sent (computed here independently), and
# `imwire read --extract` keeps exactly those bytes under their hash; a
# transfer that lost a segment (a capture made here) is incomplete, with no
# hash and nothing kept.
# Env: BIN (holds imwire and gen/gen_files), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
NAMES="files_dcc files_xmpp_ibb files_xmpp_s5b files_gg_dcc7 files_msn_p2p files_ymsg_relay"
. "$TOP/tests/lib.sh"
begin_test

regenerated gen_files $NAMES
golden_pcaps $NAMES

# The file every capture carries, N bytes of it, as the generator writes it.
body() {
	"$PY" -c 'import sys
n = int(sys.argv[1]); s = b""; i = 0
while len(s) < n:
    s += b"line %d of a file sent across an IM network\n" % i; i += 1
sys.stdout.buffer.write(s[:n])' "$1"
}

# extracted NAME CAPTURE BYTES PROTO FILE: one complete result for FILE with
# the hash of BYTES bytes of the body, kept by --extract byte for byte.
extracted() {
	local name="$1" cap="$2" n="$3" proto="$4" file="$5" sum
	body "$n" >"$tmp/$name.want"
	sum=$(sha256sum <"$tmp/$name.want" | cut -d' ' -f1)
	fact "${name}_result" 1 "$tmp/$cap.jsonl" "\"proto\":\"$proto\"" '"kind":"file"' \
		"\"file_name\":\"$file\"" "\"file_state\":\"complete\",\"file_bytes\":$n," \
		"\"file_sha256\":\"$sum\"" '"file_mime":"text/plain"'
	rm -rf "$tmp/x"
	"$BIN/imwire" read --quiet --extract "$tmp/x" "$PCAPS/$cap.pcap" >/dev/null
	cmp -s "$tmp/$name.want" "$tmp/x/$(echo "$sum" | cut -c1-2)/$sum"
	check "${name}_extracted_byte_for_byte" $?
}

extracted dcc files_dcc 4321 irc notes.txt
extracted xmpp_ibb files_xmpp_ibb 3000 xmpp report.txt
extracted xmpp_s5b files_xmpp_s5b 5000 xmpp photo.txt
extracted gg_dcc7 files_gg_dcc7 2500 gg plan.txt
extracted msn_p2p files_msn_p2p 3500 msn todo.list
extracted ymsg_relay files_ymsg_relay 2222 ymsg minutes.txt

# A lost segment: counted, never guessed; nothing kept.
"$BIN/gen/gen_files" --lossy "$tmp"
"$BIN/imwire" read --quiet --extract "$tmp/x2" "$tmp/files_dcc_lossy.pcap" >"$tmp/lossy.jsonl"
fact dcc_lossy_incomplete 1 "$tmp/lossy.jsonl" '"file_name":"lossy.txt"' \
	'"file_state":"incomplete","file_bytes":3321' '"file_gap_bytes":1000'
fact dcc_lossy_no_hash 0 "$tmp/lossy.jsonl" '"file_name":"lossy.txt"' '"file_sha256"'
[ ! -d "$tmp/x2" ] || [ "$(find "$tmp/x2" -type f | wc -l)" -eq 0 ]
check dcc_lossy_nothing_kept $?

# Every result reads as its offer (same flow, remote, name), once.
for c in $NAMES; do
	fact "${c}_one_result_per_offer" "$(grep -c '"kind":"file".*"file_size":[0-9]*}$' \
		"$tmp/$c.jsonl")" "$tmp/$c.jsonl" '"kind":"file"' '"file_state":"'
done
exit 0
