#!/bin/sh
# An XMPP file transfer inline (#20), live across the netns bridge: two
# real slixmpp clients (tests/peers/xmpp_file.py) through prosody, the
# sender in the client namespace: an SI file-transfer offer (XEP-0096),
# then the file in-band (XEP-0047 IBB, base64 in iq stanzas relayed by
# prosody). imwired follows the offer to the stream, puts the chunks back
# together and logs the file with its hash and type, keeps it in
# files_dir, and changes nothing: the receiver gets every byte. Before it,
# a start with retention_days: files_dir's old files go unless held.
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
# files_dir under the archive's retention, applied by the daemon's
# writer at its start (inside the sandbox): two files stored long ago, one
# referred to by a held id (kept), one by nobody known (no sidecar, as an
# older imwire left it: removed, its size counted). The JSON lines sink's
# retention runs in the same sandbox: it lists the file's directory for
# what logrotate left there (an old rotated file goes), which the sandbox
# once refused (Permission denied: every event then waited in the
# write-ahead log).
OLD_HELD=$(printf '%064d' 1)
OLD_FREE=$(printf '%064d' 2)
mkdir -p "$tmp/files/00"
echo 'held content' >"$tmp/files/00/$OLD_HELD"
echo 'carol@example.org' >"$tmp/files/00/$OLD_HELD.refs"
echo 'old content' >"$tmp/files/00/$OLD_FREE"
touch -d 2010-01-01 "$tmp/files/00/$OLD_HELD" "$tmp/files/00/$OLD_FREE"
mkdir -p "$tmp/jsonl"
echo '{"ts":"2010-01-01T00:00:00.000000Z","local":"dave@example.org"}' >"$tmp/jsonl/retain.jsonl.1"
touch -d 2010-01-01 "$tmp/jsonl/retain.jsonl.1"
# The hold is a file of ids (as a compliance officer keeps it), in a
# directory of its own (the sandbox must let the daemon read it there),
# read again at each reload; a pass every 3 s.
mkdir -p "$tmp/hold"
echo 'Carol@example.org' >"$tmp/hold/hold.txt"
printf '%s\n' "sqlite_file=$tmp/retain.db" "files_dir=$tmp/files" retention_days=30 \
	retention_interval=3 "jsonl_file=$tmp/jsonl/retain.jsonl" \
	"legal_hold=$tmp/hold/hold.txt" "stats_file=$tmp/stats.json" >"$tmp/retain.conf"
start_daemon "$tmp/retain.conf"
check retention_daemon_started $?
wait_until 10 "$daemon_pid" log_has "$daemon_log" "files_dir: retention: "
[ -f "$tmp/files/00/$OLD_HELD" ] && [ -f "$tmp/files/00/$OLD_HELD.refs" ] &&
	[ ! -e "$tmp/files/00/$OLD_FREE" ] &&
	log_has "$daemon_log" "files_dir: retention: 1 files (12 bytes) removed, 1 kept for legal hold"
check files_dir_retention_at_start $? "$(cd "$tmp/files" && find . | sort)" \
	"$(grep 'retention' "$daemon_log")"
wait_until 10 "$daemon_pid" test -s "$tmp/stats.json"
[ "$(stats_counter "$tmp/stats.json" files.store_expired)" -eq 1 ] &&
	[ "$(stats_counter "$tmp/stats.json" files.store_expired_bytes)" -eq 12 ] &&
	[ "$(stats_counter "$tmp/stats.json" files.store_held)" -ge 1 ]
check files_dir_retention_counted $? "$(grep -o '"store_[a-z_]*": [0-9]*' "$tmp/stats.json" | tr '\n' ' ')"
wait_until 10 "$daemon_pid" sh -c "! test -e '$tmp/jsonl/retain.jsonl.1'"
[ ! -e "$tmp/jsonl/retain.jsonl.1" ] && ! grep -q 'jsonl.*Permission denied' "$daemon_log"
check jsonl_retention_in_the_sandbox $? "$(ls -la "$tmp/jsonl")" "$(grep -i 'jsonl\|denied' "$daemon_log")"
# The hold lifted by editing its file, and a reload: the next pass removes
# the file it kept. retention_days is read at start only: the reload says so.
echo 'nobody@example.org' >"$tmp/hold/hold.txt"
sed -i 's/^retention_days=30$/retention_days=31/' "$tmp/retain.conf"
reload_daemon "configuration reloaded"
log_has "$daemon_log" "reload: ignored until restart: retention_days$"
check reload_says_retention_days_waits_for_a_restart $? "$(grep 'reload' "$daemon_log")"
wait_until 10 "$daemon_pid" sh -c "! test -e '$tmp/files/00/$OLD_HELD'"
[ ! -e "$tmp/files/00/$OLD_HELD" ] && [ ! -e "$tmp/files/00/$OLD_HELD.refs" ] &&
	log_has "$daemon_log" "files_dir: retention: 1 files (13 bytes) removed, 0 kept for legal hold"
check legal_hold_file_read_again_at_reload $? "$(cd "$tmp/files" && find . | sort)" \
	"$(grep 'retention\|reload' "$daemon_log")"
end_scenario retention

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
# The file event's local id refers to the file.
grep -qx 'alice@[^/]*\(/.*\)\{0,1\}' "$tmp/files/$(echo "$SUM" | cut -c1-2)/$SUM.refs"
check stored_file_lists_its_referrer $? "$(cat "$tmp/files/$(echo "$SUM" | cut -c1-2)/$SUM.refs" 2>&1)"
exit 0
