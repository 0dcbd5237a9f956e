#!/bin/sh
# OSCAR and TOC: the generator still writes the committed captures byte for
# byte, `imwire read --format jsonl` still prints the expected events, and
# the facts that matter hold whatever the golden files say, including on
# the real AIM capture (OSCAR in cleartext on TCP 443, OFT2 on 5190).
# Env: BIN (holds imwire and gen/gen_oscar), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
REAL="$TOP/../shared/pcaps/oscar/gwAdvNet20_evidence01.pcap"
NAMES="oscar_login oscar_icq oscar_chat oscar_oft toc_v1 toc_v2"
. "$TOP/tests/lib.sh"
begin_test

# 1. The generator is deterministic and matches what is committed.
regenerated gen_oscar $NAMES

# 2. Decoding matches the golden files.
golden_pcaps $NAMES
golden oscar_gwAdvNet20_evidence01 "$REAL" \
	"$PCAPS/expected/oscar_gwAdvNet20_evidence01.jsonl"

# 3. Key facts, independent of the golden files.
L="$tmp/oscar_login.jsonl"
fact login_local_id_from_self_info 9 "$L" '"local":"imwireuser"'
fact login_html_out 1 "$L" '"dir":"out"' '"kind":"message"' '"remote":"buddybob"' \
	'"content_type":"text/html"' '<HTML><BODY>Hello <B>bob</B>, lunch at 12?</BODY></HTML>'
fact login_ucs2_in 1 "$L" '"dir":"in"' '"text":"Привет, wörld ✓"'
fact login_latin1_auto_response 1 "$L" '"text":"Café crème, back soon"' '"auto_response":true'
fact login_one_typing_event 1 "$L" '"kind":"typing"' '"remote":"buddybob"'
fact login_file_proposal 1 "$L" '"kind":"file"' '"dir":"out"' '"file_name":"report.pdf"' \
	'"file_size":123456'
fact login_chat_invitation 1 "$L" '"kind":"rendezvous"' 'chat invitation'
fact login_split_snac 1 "$L" '"text":"This message crosses three TCP segments; the SNAC header itself is cut."'
fact login_bad_flap_lost 0 "$L" 'lost words'
fact login_resync_after_bad_flap 1 "$L" '"text":"after the bad FLAP"'
fact login_multipart 1 "$L" '"text":"costs €5"'
grep -q '1 malformed PDUs; 1 resyncs after garbage (7 bytes skipped)' "$tmp/oscar_login.err"
check login_bad_flap_counted $?

I="$tmp/oscar_icq.jsonl"
fact icq_uin_local 3 "$I" '"local":"123456789"'
fact icq_channel4 1 "$I" '"dir":"in"' '"remote":"987654321"' '"text":"old style text"'
fact icq_offline 1 "$I" '"remote":"555000111"' '"text":"Sorry I missed you"'

C="$tmp/oscar_chat.jsonl"
fact chat_out 1 "$C" '"dir":"out"' '"remote":"imwire-room"' '"group":true' '"text":"hello room"'
fact chat_in_ucs2 1 "$C" '"dir":"in"' '"group":true' '"text":"carol: hi ☺"'

fact oft_transfer_once 1 "$tmp/oscar_oft.jsonl" '"dir":"in"' '"kind":"file"' \
	'"file_name":"notes.txt"' '"file_size":3000}'
fact oft_data_extracted 1 "$tmp/oscar_oft.jsonl" '"dir":"in"' '"kind":"file"' \
	'"file_name":"notes.txt"' '"file_state":"complete","file_bytes":3000'

T="$tmp/toc_v1.jsonl"
fact toc_unescaped 1 "$T" '"dir":"out"' '"remote":"buddyann"' '"text":"costs $5 (or \"less\")"'
fact toc_im_in_colons 1 "$T" '"dir":"in"' '"content_type":"text/html"' \
	'"text":"<HTML><BODY>sure: see you</BODY></HTML>"'
fact toc_auto 1 "$T" '"auto_response":true' '"text":"I am away from my computer"'
fact toc_chat_room_name 2 "$T" '"remote":"Lobby"' '"group":true'
fact toc_chat_in_sender 1 "$T" '"text":"dave: hey all: welcome"'
fact toc_error 1 "$T" '"kind":"error"' '"text":"901:nobody"'
T2="$tmp/toc_v2.jsonl"
fact toc2_send_im 1 "$T2" '"local":"toc2user"' '"dir":"out"' '"text":"café at noon?"'
fact toc2_im_in2 1 "$T2" '"dir":"in"' '"text":"yes, at noon"'
fact toc2_typing 1 "$T2" '"kind":"typing"' '"remote":"buddycat"'
fact toc2_file 1 "$T2" '"kind":"file"' '"file_name":"photo.jpg"' '"file_size":4096'

# 4. The real capture: exactly the 4 messages tshark shows (two out, two
# in, all with buddy Sec558user1), and one file event on each of the BOS
# connection (the proposal) and the OFT2 connection (the transfer).
R="$tmp/oscar_gwAdvNet20_evidence01.jsonl"
fact real_four_messages 4 "$R" '"kind":"message"' '"remote":"Sec558user1"'
fact real_two_out 2 "$R" '"kind":"message"' '"dir":"out"'
fact real_two_in_html 2 "$R" '"kind":"message"' '"dir":"in"' '"content_type":"text/html"' \
	'<HTML><BODY><FONT FACE=\"Arial\" SIZE=2 COLOR=#000000>'
fact real_proposal 1 "$R" '"kind":"file"' '"dir":"out"' '"remote":"Sec558user1"' \
	'"client":"192.168.1.158:51128"' '"file_name":"recipe.docx"' '"file_size":12008}'
fact real_oft_transfer 1 "$R" '"kind":"file"' '"dir":"in"' '"client":"192.168.1.159:1272"' \
	'"file_name":"recipe.docx"' '"file_size":12008}'
# The OFT2 connection followed to its data (#20): the proposal's event with
# what came on flow 6, typed by its content.
fact real_oft_extracted 1 "$R" '"kind":"file"' '"dir":"out"' '"remote":"Sec558user1"' \
	'"flow":3,' '"file_state":"complete","file_bytes":12008,"data_flow":6' \
	'"file_sha256":"f0f74a982a814640aedaa5fd6542ac810e8c5e257552bcc024a5c808343bccf9"' \
	'"file_mime":"application/vnd.openxmlformats-officedocument.wordprocessingml.document"'
if command -v tshark >/dev/null 2>&1; then
	# Every text tshark shows, JSON-escaped, is the text of one message event.
	tshark -r "$REAL" -d tcp.port==443,aim -Y aim.messageblock.message \
		-T fields -e aim.messageblock.message 2>/dev/null |
		sed 's/\\/\\\\/g; s/"/\\"/g' >"$tmp/tshark.texts"
	n=$(wc -l <"$tmp/tshark.texts" | tr -d ' ')
	ok=0
	[ "$n" -eq 4 ] || ok=1
	while IFS= read -r text; do
		[ "$(grep -F -c -e "\"text\":\"$text\"" "$R")" -eq 1 ] || ok=1
	done <"$tmp/tshark.texts"
	check real_texts_match_tshark $ok
	# The file, reassembled by hand: what the sender (192.168.1.158:5190,
	# tshark's node 1 of stream 5) sent after its 256-byte OFT2 prompt,
	# as many bytes as the prompt announced; --extract keeps the same.
	tshark -r "$REAL" -q -z follow,tcp,raw,5 2>/dev/null |
		"$PY" "$PCAPS/expected/follow_bytes.py" 1 "$tmp/recipe.docx" --skip 256 --take 12008
	"$BIN/imwire" read --quiet --extract "$tmp/x" "$REAL" >"$tmp/x.jsonl"
	want=$(sha256sum <"$tmp/recipe.docx" | cut -d' ' -f1)
	[ "$want" = f0f74a982a814640aedaa5fd6542ac810e8c5e257552bcc024a5c808343bccf9 ] &&
		cmp -s "$tmp/recipe.docx" "$tmp/x/f0/$want"
	check real_oft_extract_equals_manual_reassembly $? "tshark: $want"
else
	fail real_texts_match_tshark "tshark is missing (run scripts/install-deps.sh)"
fi
exit 0
