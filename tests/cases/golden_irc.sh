#!/bin/sh
# IRC on real captures (shared/pcaps/irc): `imwire read --format jsonl`
# still prints the committed events, and, independently of those golden
# files, the message events agree with what tshark's dissector shows.
# Env: BIN (holds imwire), TOP (repository root).
#
# tests/pcaps/expected/irc_NAME.texts lists the expected message events as
# dir<TAB>remote<TAB>text, made from tshark by irc_texts_from_tshark.py in
# the same directory. The .jsonl goldens were written by imwire after its
# messages matched those lists:
#   build/bin/imwire read --format jsonl CAPTURE > tests/pcaps/expected/irc_NAME.jsonl
set -u
PCAPS=$TOP/../shared/pcaps/irc
EXPECTED=$TOP/tests/pcaps/expected
. "$TOP/tests/lib.sh"
begin_test
tab=$(printf '\t')

# name:capture file:message events. zeek_irc-dcc-send has 8 PRIVMSG lines:
# 4 to #testing, 2 from tim1 in #testing, a CTCP DCC SEND (a file event
# only) and a CTCP DCC CHAT (a rendezvous, not a message): 6.
CAPTURES="
zeek_irc-basic:zeek_irc-basic.pcap:1
zeek_irc-whitespace:zeek_irc-whitespace.pcap:1
zeek_irc-dcc-send:zeek_irc-dcc-send.pcapng:6
suricata-verify_irc_input:suricata-verify_irc_input.pcap:9
sniffglue_SkypeIRC:sniffglue_SkypeIRC.pcap:43
zeek_irc-more-commands:zeek_irc-more-commands.pcap:0
zeek_contentline-irc-5k-line:zeek_contentline-irc-5k-line.pcap:0
zeek_irc-starttls:zeek_irc-starttls.pcap:0
"

# Message events of a JSON lines file as dir<TAB>remote<TAB>text, the text
# still JSON-escaped like the .texts lists.
messages() {
	grep -F '"kind":"message"' "$1" |
		sed "s/.*\"dir\":\"\([a-z]*\)\",\"kind\":\"message\",\"local\":\"[^\"]*\",\"remote\":\"\([^\"]*\)\".*\"text\":\"\(.*\)\",\"filtered\":.*/\1$tab\2$tab\3/"
}

if [ ! -d "$PCAPS" ]; then
	fail irc_captures_present "no $PCAPS"
	exit 1
fi

for entry in $CAPTURES; do
	cap=${entry%%:*}
	rest=${entry#*:}
	file=${rest%%:*}
	want=${rest#*:}
	out=$tmp/irc_$cap.jsonl

	golden "irc_$cap" "$PCAPS/$file" "$EXPECTED/irc_$cap.jsonl"

	fact "message_count_$cap" "$want" "$out" '"proto":"irc"' '"kind":"message"'

	messages "$out" | sort >"$tmp/$cap.got"
	sort "$EXPECTED/irc_$cap.texts" >"$tmp/$cap.want"
	diff -u "$tmp/$cap.want" "$tmp/$cap.got" >"$tmp/$cap.tdiff"
	same=$?
	check "message_texts_match_tshark_$cap" $same
	[ "$same" -eq 0 ] || head -20 "$tmp/$cap.tdiff"
done

# Facts the lists above do not cover.
D=$tmp/irc_zeek_irc-dcc-send.jsonl
fact dcc_send_file_event 1 "$D" '"dir":"out","kind":"file"' '"remote":"tim1"' \
	'"text":"ssh.trace (1320211 bytes)"' '"file_name":"ssh.trace"' '"file_size":1320211}'
# The DCC connection followed to its data (#20): the file as
# `tshark -z follow,tcp,raw` of the data stream gives it, byte for byte.
fact dcc_send_file_extracted 1 "$D" '"dir":"out","kind":"file"' '"remote":"tim1"' \
	'"file_state":"complete","file_bytes":1320211,"data_flow":2' \
	'"file_sha256":"566c4819a8130d65d29076930bd46dde5c2595a4a8be4a380857feb5b430ec6e"' \
	'"file_mime":"application/vnd.tcpdump.pcap"'
# The same by hand: what the sender (10.0.0.7:59130, tshark's node 1 of
# stream 1) sent on the DCC connection, with --extract's copy beside it.
if command -v tshark >/dev/null 2>&1; then
	tshark -r "$TOP/../shared/pcaps/irc/zeek_irc-dcc-send.pcapng" -q -z follow,tcp,raw,1 \
		2>/dev/null | "$PY" "$TOP/tests/pcaps/expected/follow_bytes.py" 1 "$tmp/ssh.trace"
	"$BIN/imwire" read --quiet --extract "$tmp/x" \
		"$TOP/../shared/pcaps/irc/zeek_irc-dcc-send.pcapng" >"$tmp/x.jsonl"
	want=$(sha256sum <"$tmp/ssh.trace" | cut -d' ' -f1)
	[ "$want" = 566c4819a8130d65d29076930bd46dde5c2595a4a8be4a380857feb5b430ec6e ] &&
		[ "$(wc -c <"$tmp/ssh.trace")" -eq 1320211 ] && cmp -s "$tmp/ssh.trace" "$tmp/x/56/$want"
	check dcc_extract_equals_manual_reassembly $? "tshark: $want"
else
	fail dcc_extract_equals_manual_reassembly "tshark is missing (run scripts/install-deps.sh)"
fi
fact dcc_chat_is_rendezvous 1 "$D" '"kind":"rendezvous"' '"text":"DCC CHAT CHAT 167772167 59214"'
fact dcc_local_from_001 12 "$D" '"local":"tim2"'
fact dcc_send_not_a_message 0 "$D" '"kind":"message"' '"text":"DCC SEND'
fact dcc_login_once 1 "$D" '"kind":"login"'
fact dcc_logout_once 1 "$D" '"dir":"out","kind":"logout"' '"text":"leaving"'

T=$tmp/irc_zeek_irc-starttls.jsonl
fact starttls_encrypted 1 "$T" '"dir":"in","kind":"encrypted"' '"remote":"irc.joulunet.org"' \
	'"text":"STARTTLS"'
fact starttls_nothing_else 1 "$T" '"proto":"irc"'

S=$tmp/irc_sniffglue_SkypeIRC.jsonl
fact midstream_local_from_numeric 44 "$S" '"local":"vmlemon"'
fact midstream_action_kept 2 "$S" '"kind":"message"' '"remote":"#amarok"' '"text":"eean: +ACTION '

M=$tmp/irc_zeek_irc-more-commands.jsonl
fact server_notices_not_messages 0 "$M" '"text":"*** '
fact nick_in_use_login_as_tim_ 1 "$M" '"kind":"login"' '"local":"tim_"'
fact kick_is_part 1 "$M" '"kind":"part"' '"remote":"#testing"' '"text":"tim_"' \
	'"client":"172.16.238.1:40896"'
fact kick_says_kicked 2 "$M" '"kind":"part"' '"text":"tim_ (kicked by tim)"'
fact topic_event 1 "$M" '"kind":"topic"' '"remote":"#testing"' '"text":"tim: test"'
fact invite_both_sides 2 "$M" '"kind":"rendezvous"' '"text":"invite to #testing"'

B=$tmp/irc_zeek_irc-basic.jsonl
fact basic_one_word_text 1 "$B" '"dir":"out","kind":"message"' '"remote":"#brotest"' \
	'"group":true' '"text":"test"'
fact basic_own_join 1 "$B" '"kind":"join"' '"remote":"#brotest"' '"text":"brotest"'

W=$tmp/irc_zeek_irc-whitespace.jsonl
fact whitespace_runs 1 "$W" '"dir":"out","kind":"message"' '"remote":"#BROTEST"' '"text":"test"'
fact whitespace_nick 4 "$W" '"local":"brotest"'
