#!/bin/sh
# Gadu-Gadu captures: the two third-party login captures must give the
# UINs 48141423 and 48141164 (as tshark reads them), the generator still
# writes the committed pcap byte for byte, and its events match.
# Env: BIN (holds imwire and gen/gen_gg), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
SHARED="$TOP/../shared/pcaps/gadu"
. "$TOP/tests/lib.sh"
begin_test

regenerated gen_gg gg_session

golden gg_john_ekg_login "$SHARED/john-samples_ekg_login.pcap" \
	"$PCAPS/expected/gg_john_ekg_login.jsonl"
golden gg_john_kadu_login "$SHARED/john-samples_kadu_login.pcap" \
	"$PCAPS/expected/gg_john_kadu_login.jsonl"
golden_pcaps gg_session

# The UIN and the client's address as tshark's Gadu-Gadu dissector sees them.
for c in ekg:48141423 kadu:48141164; do
	cl=${c%%:*} uin=${c#*:}
	t=$(tshark -r "$SHARED/john-samples_${cl}_login.pcap" -Y gadu-gadu.login.uin \
		-T fields -e gadu-gadu.login.uin -e ip.src -e tcp.srcport 2>/dev/null)
	[ "$(echo "$t" | cut -f1)" = "$uin" ]
	check "tshark_${cl}_uin_$uin" $?
	client="$(echo "$t" | cut -f2):$(echo "$t" | cut -f3)"
	fact "${cl}_login_event" 1 "$tmp/gg_john_${cl}_login.jsonl" \
		'"proto":"gg","dir":"out","kind":"login"' "\"local\":\"$uin\"" "\"client\":\"$client\""
	fact "${cl}_only_the_login" 1 "$tmp/gg_john_${cl}_login.jsonl" '"proto":"gg"'
done

S="$tmp/gg_session.jsonl"
t=$(tshark -r "$PCAPS/gg_session.pcap" -Y gadu-gadu.login.uin -T fields \
	-e gadu-gadu.login.uin 2>/dev/null)
[ "$t" = 1234567 ]
check tshark_session_uin $?
fact session_local 8 "$S" '"local":"1234567"'
fact session_out_cp1250 1 "$S" '"dir":"out","kind":"message"' '"remote":"2345678"' \
	'"text":"Cześć Bob, co słychać?"'
fact session_in_split 1 "$S" '"dir":"in","kind":"message"' '"text":"Wszystko dobrze, dzięki!"'
fact session_conference_logged_once 1 "$S" '"dir":"out","kind":"message"' \
	'"remote":"2345678,3456789","group":true' '"text":"hello both"'
# tshark's text of the old GG_RECV_MSG, with the sender prefix we add.
t=$(tshark -r "$PCAPS/gg_session.pcap" -Y 'gadu-gadu.msg.text' -T fields \
	-e gadu-gadu.msg.text 2>/dev/null)
fact session_conference_in "1" "$S" '"dir":"in","kind":"message"' \
	'"remote":"2345678,3456789","group":true' "\"text\":\"3456789: $t\""
fact session_typing 2 "$S" '"kind":"typing"'
fact session_dcc7_file 1 "$S" '"kind":"file"' '"file_name":"wakacje.jpg","file_size":734003'
grep -q 'resyncs after garbage' "$tmp/gg_session.err"
check session_garbage_reported $?
exit 0
