#!/bin/sh
# MSN: the public switchboard capture and the generated captures decode to
# their golden files, the generator still writes the committed pcaps byte
# for byte, and the facts that matter hold whatever the golden files say.
# Env: BIN (holds imwire and gen/gen_msn), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
PPA="$TOP/../shared/pcaps/msnp/markofu-pcaps_PPA_msnms.pcap"
NAMES="msn_ns msn_group msn_midstream"
. "$TOP/tests/lib.sh"
begin_test

# 1. The generator is deterministic and matches what is committed.
regenerated gen_msn $NAMES

# 2. Decoding matches the golden files.
golden msn_markofu_ppa "$PPA" "$PCAPS/expected/msn_markofu_ppa.jsonl"
golden_pcaps $NAMES

# 3. The public capture, checked against tshark's view of it
# (tshark -r F -Y msnms -T fields -e tcp.payload): 7 text/plain MSG with
# these texts, 13 typing messages (8 from the client, 5 from Thomas).
P="$tmp/msn_markofu_ppa.jsonl"
B='"local":"tesla_brian@hotmail.com","remote":"tesla_thomas@hotmail.com"'
fact ppa_messages 7 "$P" '"kind":"message"' "$B" '"group":false'
fact ppa_msg_1 1 "$P" '"dir":"out","kind":"message"' '"text":"Hey Brian"'
fact ppa_msg_2 1 "$P" '"dir":"in","kind":"message"' '"text":"Hey man, whats up?"'
fact ppa_msg_3 1 "$P" '"dir":"out","kind":"message"' '"text":"Not much, did you hear about the new IT guy they hired?"'
fact ppa_msg_4 1 "$P" '"dir":"in","kind":"message"' '"text":"ohh yea, i hear he is a real jerk"'
fact ppa_msg_5 1 "$P" '"dir":"out","kind":"message"' '"text":"I'"'"'ve heard the same"'
fact ppa_msg_6 1 "$P" '"dir":"in","kind":"message"' '"text":"maybe we should try hacking into a server to mess with him?"'
fact ppa_msg_7 1 "$P" '"dir":"out","kind":"message"' '"text":"sounds good to me"'
fact ppa_typing 13 "$P" '"kind":"typing"' "$B"
fact ppa_typing_out 8 "$P" '"dir":"out","kind":"typing"'
fact ppa_typing_in 5 "$P" '"dir":"in","kind":"typing"'
fact ppa_join 1 "$P" '"dir":"in","kind":"join"' "$B"
fact ppa_nothing_else 21 "$P" '"proto":"msn"'
if command -v tshark >/dev/null 2>&1; then
	# Every text/plain body tshark sees appears as a message text.
	tshark -r "$PPA" -Y msnms -T fields -e tcp.payload 2>/dev/null |
		while read -r hex; do
			printf '%s' "$hex" | xxd -r -p | tr -d '\r' >"$tmp/pl"
			grep -q '^Content-Type: text/plain' "$tmp/pl" && sed '1,/^$/d' "$tmp/pl" && echo
		done >"$tmp/tshark_texts"
	n=0
	ok=0
	while IFS= read -r text; do
		n=$((n + 1))
		grep -qF "\"kind\":\"message\"" "$P" && grep -F "\"text\":\"$text\"" "$P" >/dev/null || ok=1
	done <"$tmp/tshark_texts"
	check ppa_texts_match_tshark "$([ "$ok" -eq 0 ] && [ "$n" -eq 7 ]; echo $?)"
fi

# 4. Generated captures: the facts the generator put there.
N="$tmp/msn_ns.jsonl"
fact ns_login 1 "$N" '"dir":"in","kind":"login","local":"alice@example.com"'
fact ns_presence 5 "$N" '"kind":"presence"'
fact ns_presence_bob 2 "$N" '"kind":"presence"' '"remote":"bob@example.com"'
fact ns_rng 1 "$N" '"kind":"rendezvous","local":"alice@example.com","remote":"bob@example.com"'
fact ns_logout 1 "$N" '"dir":"out","kind":"logout"'
fact ns_profile_not_chat 0 "$N" '"kind":"message"'
G="$tmp/msn_group.jsonl"
fact group_id 9 "$G" '"remote":"groupchat-11752013","group":true'
fact group_in_text 1 "$G" '"dir":"in","kind":"message"' '"text":"bob@example.com: Welcome to the team chat"'
fact group_out_text 1 "$G" '"dir":"out","kind":"message"' '"text":"Thanks! Grüße to both of you"'
fact group_after_bye 1 "$G" '"text":"bob@example.com: carol had to go"' '"remote":"groupchat-11752013"'
fact group_part 1 "$G" '"kind":"part"' '"text":"carol@example.com"'
fact group_join 1 "$G" '"kind":"join"' '"text":"dave@example.com"'
fact invite_file 1 "$G" '"kind":"file"' '"remote":"carol@example.com"' '"file_name":"agenda.txt","file_size":2048'
fact p2p_file 1 "$G" '"dir":"out","kind":"file"' '"remote":"bob@example.com"' '"text":"Q3 résumé.xlsx (73728 bytes)"' '"file_size":73728'
fact p2p_webcam 1 "$G" '"dir":"in","kind":"webcam"' '"remote":"bob@example.com"'
M="$tmp/msn_midstream.jsonl"
fact midstream_in 1 "$M" '"dir":"in","kind":"message"' '"remote":"bob@example.com"' '"text":"are you still there?"'
fact midstream_out 1 "$M" '"dir":"out","kind":"message"' '"remote":"bob@example.com"' '"text":"yes, sorry"'
exit 0
