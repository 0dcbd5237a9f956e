#!/bin/sh
# YMSG: no public capture exists, so the generator (built from the protocol
# descriptions) writes them. The committed pcaps are still what it writes,
# they decode to their golden files, and the facts the generator put in
# hold whatever the golden files say.
# Env: BIN (holds imwire and gen/gen_ymsg), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
NAMES="ymsg_session ymsg_malformed ymsg_midstream"
. "$TOP/tests/lib.sh"
begin_test

# 1. The generator is deterministic and matches what is committed.
regenerated gen_ymsg $NAMES

# 2. Decoding matches the golden files.
golden_pcaps $NAMES

# 3. Key facts, independent of the golden files.
S="$tmp/ymsg_session.jsonl"
L='"local":"alice_y"'
fact login 1 "$S" '"dir":"in","kind":"login"' "$L"
fact offline_1 1 "$S" '"remote":"carol_y"' '"text":"did you get my mail?"'
fact offline_2 1 "$S" '"remote":"dave_y"' '"text":"ping me when you are back"'
fact offline_3 1 "$S" '"remote":"carol_y"' '"text":"never mind, found it"'
fact msg_out 1 "$S" '"dir":"out","kind":"message"' '"remote":"bob_y"' '"text":"Hi Bob, lunch at noon?"'
fact msg_split_in 1 "$S" '"dir":"in","kind":"message"' '"text":"Sure! Café downstairs ☕"'
fact msg_latin1 1 "$S" '"dir":"in","kind":"message"' '"text":"naïve question: why?"'
fact typing 3 "$S" '"kind":"typing"' '"remote":"bob_y"'
fact typing_stopped 1 "$S" '"dir":"in","kind":"typing"' '"text":"stopped"'
fact webcam 4 "$S" '"kind":"webcam"' '"remote":"bob_y"'
fact file_46 1 "$S" '"dir":"in","kind":"file"' '"text":"minutes.doc (48640 bytes)"' '"file_size":48640'
fact file_4d 1 "$S" '"dir":"out","kind":"file"' '"file_name":"IMG_0042.JPG","file_size":1843200'
fact file_dc_1 1 "$S" '"dir":"in","kind":"file"' '"file_name":"budget.xls","file_size":23552'
fact file_dc_2 1 "$S" '"dir":"in","kind":"file"' '"file_name":"résumé.pdf","file_size":104857'
fact files_only_offers 4 "$S" '"kind":"file"'
fact conf_events 9 "$S" '"remote":"bob_y-2817","group":true'
fact conf_msg_in 1 "$S" '"dir":"in","kind":"message"' '"text":"bob_y: agenda: budget"'
fact conf_msg_out 1 "$S" '"dir":"out","kind":"message"' '"remote":"bob_y-2817"' '"text":"numbers are in the xls"'
fact room_events 8 "$S" '"remote":"Linux, FreeBSD, Solaris:1","group":true'
fact room_members 1 "$S" '"dir":"in","kind":"join"' '"text":"alice_y, frank_y, gina_y"'
fact room_msg_in 1 "$S" '"dir":"in","kind":"message"' '"text":"frank_y: anyone tried the 2.6 kernel?"'
fact room_msg_out 1 "$S" '"dir":"out","kind":"message"' '"text":"yes, runs fine"'
fact room_invite_in 1 "$S" '"dir":"in","kind":"rendezvous"' '"remote":"Kernel:2"' '"text":"frank_y: better room here"'
fact logout 1 "$S" '"dir":"out","kind":"logout"'
M="$tmp/ymsg_malformed.jsonl"
fact malformed_survivors 4 "$M" '"kind":"message"' '"text":"good after'
fact malformed_nothing_bad 0 "$M" '"text":"length too'
grep -q 'resyncs after garbage' "$tmp/ymsg_malformed.err"
check malformed_counted $?
fact midstream 2 "$tmp/ymsg_midstream.jsonl" '"kind":"message"' '"remote":"bob_y"'
if command -v tshark >/dev/null 2>&1; then
	# Wireshark's own dissector reads the same message texts (key 14).
	tshark -r "$PCAPS/ymsg_session.pcap" -Y 'ymsg.service == 6' -T fields \
		-e ymsg.content-line.key -e ymsg.content-line.value 2>/dev/null >"$tmp/ws"
	ok=0
	for t in "did you get my mail?" "ping me when you are back" "never mind, found it" \
		"Hi Bob, lunch at noon?"; do
		grep -qF "$t" "$tmp/ws" || ok=1
	done
	check session_texts_match_tshark $ok
fi
exit 0
