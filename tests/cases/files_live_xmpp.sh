#!/bin/sh
# An XMPP file transfer inline (#20), live across the netns bridge: two
# real slixmpp clients (tests/peers/xmpp_file.py) through prosody, the
# sender in the client namespace: an SI file-transfer offer (XEP-0096),
# then the file in-band (XEP-0047 IBB, base64 in iq stanzas relayed by
# prosody). imwired follows the offer to the stream, puts the chunks back
# together and logs the file with its hash and type, keeps it in
# files_dir, and changes nothing: the receiver gets every byte.
# Env: BIN, TOP. Live: run it under the team lock.
set -u
. "$TOP/tests/lib.sh"
begin_test
live_test files_live_xmpp "imwfx$$" prosody prosodyctl py:slixmpp
$B "$BIN/imwire" setup --bridge br0 >/dev/null
check steering_rules $?
register_xmpp '"10.77.0.2"' 5222 alice bob
check accounts_registered $? "$(tail -3 "$tmp/prosody.register" 2>/dev/null)"
start_prosody "$S" 5222 300
check prosody_listens $? "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
write_config "$tmp/flxmpp.conf" 50 "files_dir=$tmp/files"
start_daemon "$tmp/flxmpp.conf"
check daemon_started $?

# A text with a little of everything, so the type by content is plain text.
"$PY" -c 'import sys
sys.stdout.write("".join("line %d: caf\u00e9 <xml> & \"quotes\"\n" % i for i in range(2000)))' \
	>"$tmp/report.txt"
SUM=$(sha256sum <"$tmp/report.txt" | cut -d' ' -f1)
SIZE=$(wc -c <"$tmp/report.txt" | tr -d ' ')
mkdir -p "$tmp/out"
$S "$PY" "$PEERS/xmpp_file.py" receive 10.77.0.2 5222 "$domain" "$password" bob "$tmp/out" \
	"$tmp/out/ready" >"$tmp/recv.err" 2>&1 &
rpid=$!
peer_pids=$rpid
wait_until 30 "$rpid" test -e "$tmp/out/ready"
$C "$PY" "$PEERS/xmpp_file.py" send 10.77.0.2 5222 "$domain" "$password" alice bob \
	"$tmp/report.txt" "$tmp/out" >"$tmp/send.err" 2>&1
check sender_done $? "$(cat "$tmp/out/alice.sent" 2>/dev/null) $(tail -3 "$tmp/send.err")"
wait "$rpid"
check receiver_done $? "$(cat "$tmp/out/bob.received" 2>/dev/null) $(tail -3 "$tmp/recv.err")"
peer_pids=""
cmp -s "$tmp/report.txt" "$tmp/out/report.txt"
check received_byte_for_byte $?
end_scenario xmpp_ibb

fact offer_logged 1 "$tmp/events.jsonl" '"proto":"xmpp","dir":"out","kind":"file"' \
	'"file_name":"report.txt"' "\"file_size\":$SIZE,\"eventid\":"
fact file_extracted 1 "$tmp/events.jsonl" '"proto":"xmpp","dir":"out","kind":"file"' \
	'"file_name":"report.txt"' "\"file_state\":\"complete\",\"file_bytes\":$SIZE," \
	"\"file_sha256\":\"$SUM\"" '"file_mime":"text/plain"'
cmp -s "$tmp/report.txt" "$tmp/files/$(echo "$SUM" | cut -c1-2)/$SUM"
check kept_in_files_dir_byte_for_byte $?
exit 0
