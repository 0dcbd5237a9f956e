#!/bin/sh
# Community IDs of real flows against an independent implementation:
# Wireshark's (tshark 4.0's "communityid" post-dissector), on third-party
# captures. For every flow imwire logs events of, the Community ID on its
# events equals the one tshark computes for that flow's addresses, and
# every event of a flow carries the same session id. (The spec's own
# reference values are checked in tests/unit/test_community_id.c.)
# Env: BIN (holds imwire), TOP (repository root).
set -u
. "$TOP/tests/lib.sh"
begin_test
P=$TOP/../shared/pcaps
CAPS="irc/zeek_irc-basic.pcap irc/zeek_irc-more-commands.pcap irc/zeek_irc-dcc-send.pcapng
msnp/markofu-pcaps_PPA_msnms.pcap oscar/gwAdvNet20_evidence01.pcap xmpp/zeek_xmpp-starttls.pcap"

for c in $CAPS; do
	name=$(basename "$c" | sed 's/\..*//')
	"$BIN/imwire" read --format jsonl "$P/$c" 2>/dev/null |
		sed -n 's/.*"client":"\([^"]*\)".*"server":"\([^"]*\)".*"community_id":"\([^"]*\)".*/\1 \2 \3/p' |
		sort -u >"$tmp/$name.imwire"
	tshark -n -r "$P/$c" --enable-protocol communityid -Y tcp -T fields \
		-e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e communityid 2>/dev/null |
		awk -F'\t' '{ print $1 ":" $2 " " $3 ":" $4 " " $5 }' | sort -u >"$tmp/$name.tshark"
	flows=$(wc -l <"$tmp/$name.imwire")
	missing=$(grep -vxF -f "$tmp/$name.tshark" "$tmp/$name.imwire")
	[ "$flows" -ge 1 ] && [ -z "$missing" ]
	check "community_id_equals_tshark_$name" $? "$flows flows; not as tshark computes them:" "$missing"
	# One session id per flow, different flows different ids.
	"$BIN/imwire" read --format jsonl "$P/$c" 2>/dev/null |
		sed -n 's/.*"flow":\([0-9]*\).*"session":"\([0-9a-f]*\)".*/\1 \2/p' | sort -u >"$tmp/$name.sess"
	[ "$(cut -d' ' -f1 "$tmp/$name.sess" | sort -u | wc -l)" -eq "$(wc -l <"$tmp/$name.sess")" ] &&
		[ "$(cut -d' ' -f2 "$tmp/$name.sess" | sort -u | wc -l)" -eq "$(wc -l <"$tmp/$name.sess")" ]
	check "one_session_id_per_flow_$name" $? "$(cat "$tmp/$name.sess")"
done
