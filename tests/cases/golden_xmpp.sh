#!/bin/sh
# XMPP captures: the generator still writes the committed pcaps byte for
# byte, `imwire read --format jsonl` still prints the expected events for
# them and for the third-party captures in ../shared/pcaps/xmpp, and the
# facts that matter hold whatever the golden files say.
# Env: BIN (holds imwire and gen/gen_xmpp), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
SHARED="$TOP/../shared/pcaps/xmpp"
NAMES="xmpp_chat xmpp_hostile"
. "$TOP/tests/lib.sh"
begin_test

# 1. The generator is deterministic and matches what is committed.
regenerated gen_xmpp $NAMES

# 2. Decoding matches the golden files.
golden_pcaps $NAMES
golden xmpp_zeek_starttls "$SHARED/zeek_xmpp-starttls.pcap" \
	"$PCAPS/expected/xmpp_zeek_starttls.jsonl"
golden xmpp_zeek_dialback_starttls "$SHARED/zeek_xmpp-dialback-starttls.pcap" \
	"$PCAPS/expected/xmpp_zeek_dialback_starttls.jsonl"

# 3. Key facts, independent of the golden files.
Z="$tmp/xmpp_zeek_starttls.jsonl"
# tshark sees the <proceed/> from the server, which sets the TLS in motion.
n=$(tshark -r "$SHARED/zeek_xmpp-starttls.pcap" -Y 'tcp.srcport==5222 && tcp.payload' \
	-T fields -e tcp.payload 2>/dev/null | grep -c "$(printf '<proceed' | od -An -tx1 | tr -d ' \n')")
[ "$n" -eq 1 ]
check tshark_sees_one_proceed $?
fact starttls_encrypted_event 1 "$Z" '"dir":"in","kind":"encrypted"' '"remote":"jabber.ccc.de"' \
	'"client":"198.128.203.95:56048"' '"text":"STARTTLS"'
fact starttls_only_event 1 "$Z" '"proto":"xmpp"'
D="$tmp/xmpp_zeek_dialback_starttls.jsonl"
fact dialback_s2s_encrypted 1 "$D" '"kind":"encrypted"' '"remote":"0xxon.net"' \
	'"client":"184.73.173.246:1193"'
grep -q 'IM sessions: xmpp 1' "$tmp/xmpp_zeek_dialback_starttls.err"
check dialback_detected_by_payload_on_5269 $?

C="$tmp/xmpp_chat.jsonl"
fact chat_login_full_jid 1 "$C" '"kind":"login"' '"text":"alice@example.org/laptop"'
fact chat_local_known 16 "$C" '"local":"alice@example.org/laptop"'
fact chat_out_message 1 "$C" '"dir":"out","kind":"message"' '"remote":"bob@example.org"' \
	'"text":"Hello Bob, lunch at 12?"'
fact chat_in_references_decoded 1 "$C" '"dir":"in","kind":"message"' \
	'"remote":"bob@example.org/phone"' '"text":"Sure & bring the <slides>"'
fact chat_split_utf8 1 "$C" '"dir":"out","kind":"message"' '"text":"Grüße aus Köln ☺"'
fact chat_typing 1 "$C" '"kind":"typing"' '"text":"composing"'
fact muc_join 1 "$C" '"kind":"join"' '"remote":"lounge@conference.example.org","group":true'
fact muc_in_nick_prefix 1 "$C" '"dir":"in","kind":"message"' \
	'"remote":"lounge@conference.example.org","group":true' '"text":"carol: welcome alice"'
fact muc_out 1 "$C" '"dir":"out","kind":"message"' '"group":true' '"text":"thanks carol"'
fact file_si 1 "$C" '"kind":"file"' '"file_name":"menu.pdf","file_size":48213'
fact file_jingle 1 "$C" '"dir":"in","kind":"file"' '"file_name":"slides.odp","file_size":1048576'
fact file_upload_slot 1 "$C" '"kind":"file"' '"remote":"upload.example.org"' \
	'"file_name":"photo.jpg","file_size":204800'
fact file_oob_url 1 "$C" '"kind":"file"' '"text":"https://upload.example.org/a1/photo.jpg"'
fact chat_message_count 6 "$C" '"kind":"message"'
fact logout 1 "$C" '"dir":"out","kind":"logout"'

H="$tmp/xmpp_hostile.jsonl"
fact hostile_good_messages_survive 4 "$H" '"kind":"message"' '"text":"still decoded"'
fact hostile_entities_never_expanded 0 "$H" 'lol'
fact hostile_huge_attribute_dropped 0 "$H" 'never decoded'
grep -q 'resyncs after garbage' "$tmp/xmpp_hostile.err"
check hostile_reported_as_warning $?
exit 0
