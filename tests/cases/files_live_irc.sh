#!/bin/sh
# File transfers inline (#20), live across the netns bridge: two real IRC
# clients (Debian's python3-irc, tests/peers/irc_dcc.py) through ngircd,
# the receiver in the client namespace, the sender (who listens for the
# DCC connection) in the server's; the tc classifier on the bridge ports
# steers by mark (imwire setup --by-mark), so the DCC connection reaches
# imwired only because the offer announced it (the expect map); a real
# clamd, started here with a database this test writes, judges the files.
#  1. a clean file arrives whole and is logged with its SHA-256, clean;
#     the classifier's expect map is empty afterwards, and a connection to
#     the same address and port, after the transfer, is not steered
#  2. the EICAR test file: its last segment is held, clamd finds it, the
#     transfer is cut (both ends see a reset), the receiver got none of
#     its last bytes, the user is told, the log says infected and cut;
#     both results waited in the write-ahead log while the SQLite file's
#     directory was gone (moved away after the daemon made it at start,
#     so nothing reached the database's file meanwhile), and reach it,
#     moved back, with every file field the JSON lines have
#  3. clamd alive but silent (SIGSTOP): no verdict within scan_timeout_ms;
#     scan_fail=closed cuts the clean file (logged timeout, unscanned),
#     scan_fail=open lets it arrive whole (logged timeout)
#  4. imwired stopped (SIGTERM) while a file's end waits for its verdict:
#     the end is judged before the daemon lets its held packets go
#     (scan_fail=closed: cut, never delivered)
#  5. clamd stopped, scan_fail=closed: a clean file is cut, logged
#     unscanned; the same with scan_fail=open arrives whole
# Env: BIN, TOP. Live: run it under the team lock.
set -u
. "$TOP/tests/lib.sh"
begin_test
live_test files_live_irc "imwfi$$" ngircd clamd bpftool sqlite3 py:irc
bpf_pins
# imwired enters expected connections in the pinned maps: bpffs must show
daemon_in=$BPF_B

$BPF_B "$BIN/imwire" attach vc vs >"$tmp/attach.log" 2>&1
check classifier_attached $? "$(tail -3 "$tmp/attach.log")"
$B "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null
check steering_by_mark $?
mkdir -p "$tmp/ngircd.d"
printf '[Limits]\nMaxPenaltyTime = 0\n' >"$tmp/ngircd.d/penalty.conf"
start_ngircd 600
check ngircd_started $?
start_clamd 600
check clamd_started $? "$(tail -3 "$tmp/clamd.out" 2>/dev/null)"

# daemon_with FAIL: imwired holding file ends for clamd, scan_fail=FAIL.
daemon_with() {
	write_config "$tmp/flirc.conf" 50 "clamd_socket=$tmp/clamd.sock" "scan_hold=on" \
		"scan_timeout_ms=${SCAN_TIMEOUT:-4000}" "scan_fail=$1" "files_dir=$tmp/files" \
		"stats_file=$tmp/stats.json" "spool_dir=$tmp/spool" "sqlite_file=$tmp/db/events.db"
	rm -f "$tmp/stats.json"
	start_daemon "$tmp/flirc.conf"
}

# transfer_start NAME FILE [RECEIVER SENDER]: RECEIVER (bob, client side)
# starts receiving FILE from SENDER (alice, server side), each a real IRC
# client; their reports in $tmp/NAME/.
transfer_start() {
	local n="$1" f="$2" to="${3:-bob}" from="${4:-alice}"
	mkdir -p "$tmp/$n"
	$C "$PY" "$PEERS/irc_dcc.py" receive 10.77.0.2 6667 "$to" "$tmp/$n" "$tmp/$n/ready" \
		>"$tmp/$n/recv.err" 2>&1 &
	rpid=$!
	wait_until 20 "$rpid" test -e "$tmp/$n/ready"
	$S "$PY" "$PEERS/irc_dcc.py" send 10.77.0.2 6667 "$from" "$to" "$f" 10.77.0.2 "$tmp/$n" \
		>"$tmp/$n/send.err" 2>&1 &
	spid=$!
	peer_pids="$rpid $spid"
}

# transfer_end: both peers are done.
transfer_end() {
	wait "$spid"
	wait "$rpid"
	peer_pids=""
	sleep 0.5
}

# transfer NAME FILE: the whole transfer.
transfer() {
	transfer_start "$@"
	transfer_end
}

# holds_now: file ends imwired held for a verdict so far (its stats file).
holds_now() {
	stats_counter "$tmp/stats.json" files.holds 2>/dev/null
}
one_held() {
	[ "$(holds_now)" -ge 1 ]
}

queued() { # packets the NFQUEUE rule has sent to the daemon
	$B iptables -w -t filter -L FORWARD -v -x -n | awk '/NFQUEUE/ { n += $1 } END { print n + 0 }'
}

# plain_exchange PORT: a line from the server namespace to a server on
# 10.77.0.1:PORT in the client's, and back.
plain_exchange() {
	local spid
	$C "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.1", int(sys.argv[1])))
s.listen(1)
s.settimeout(10)
c, _ = s.accept()
c.settimeout(10)
c.recv(100)
c.sendall(b"done\n")
c.close()' "$1" 2>"$tmp/plain.err" &
	spid=$!
	wait_until 5 "$spid" port_listens "$C" "$1"
	$S "$PY" -c 'import socket, sys
c = socket.create_connection(("10.77.0.1", int(sys.argv[1])), timeout=10)
c.sendall(b"not a file\n")
sys.exit(0 if c.recv(100).startswith(b"done") else 1)' "$1" 2>>"$tmp/plain.err" &&
		wait "$spid"
}

expect_entries() {
	$BPF_B bpftool -j map dump pinned "$PIN/expect" 2>/dev/null |
		"$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

head -c 40000 /dev/urandom >"$tmp/clean.bin"
CLEAN_SHA=$(sha256sum <"$tmp/clean.bin" | cut -d' ' -f1)
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$tmp/eicar.com"

# ---- 1. clean -----------------------------------------------------------
daemon_with open
check daemon_started $?
# The database's directory goes away (imwired made it at start); moved,
# not removed: the sandbox allows the directory it saw at start.
mv "$tmp/db" "$tmp/db.gone"
check database_directory_gone $?
transfer clean "$tmp/clean.bin"
grep -qx "clean.bin 40000 complete" "$tmp/clean/bob.received"
check clean_received_complete $? "$(cat "$tmp/clean/bob.received" "$tmp/clean/recv.err" 2>/dev/null | tail -3)"
cmp -s "$tmp/clean.bin" "$tmp/clean/clean.bin"
check clean_received_byte_for_byte $?
grep -qx "40000 acked" "$tmp/clean/alice.sent"
check clean_sender_saw_every_ack $? "$(cat "$tmp/clean/alice.sent" "$tmp/clean/send.err" 2>/dev/null | tail -3)"
fact clean_logged_with_hash 1 "$tmp/events.jsonl" '"kind":"file"' '"file_name":"clean.bin"' \
	'"file_state":"complete","file_bytes":40000' "\"file_sha256\":\"$CLEAN_SHA\"" \
	'"file_scan":"clean"'
[ -f "$tmp/files/$(echo "$CLEAN_SHA" | cut -c1-2)/$CLEAN_SHA" ]
check clean_kept_in_files_dir $?
# The offer's entry is gone once its connection came; and it named one
# address: the same port on the other side of the bridge is an ordinary
# connection, not steered.
port=$(sed -n 's/.*"DCC SEND clean.bin [0-9]* \([0-9]*\) 40000".*/\1/p' "$tmp/events.jsonl" | head -1)
q0=$(queued)
plain_exchange "${port:-1}"
check same_port_afterwards_connects $? "port ${port:-none}: $(cat "$tmp/plain.err" 2>/dev/null)"
[ "$(queued)" = "$q0" ]
check same_port_afterwards_not_steered $? "queued $q0 -> $(queued)"
[ "$(expect_entries)" = 0 ]
check expect_map_empty_after $? "$(expect_entries) entries left"

# ---- 2. EICAR -----------------------------------------------------------
transfer eicar "$tmp/eicar.com"
grep -q "^eicar.com 0 \(reset\|short\)$" "$tmp/eicar/bob.received"
check eicar_receiver_got_nothing_and_was_reset $? "$(cat "$tmp/eicar/bob.received" 2>/dev/null)"
grep -q "^0 reset$" "$tmp/eicar/alice.sent"
check eicar_sender_was_reset $? "$(cat "$tmp/eicar/alice.sent" 2>/dev/null)"
[ ! -s "$tmp/eicar/eicar.com" ]
check eicar_not_delivered $?
fact eicar_logged_infected_and_cut 1 "$tmp/events.jsonl" '"file_name":"eicar.com"' \
	'"file_state":"cut","file_bytes":68' '"file_scan":"infected"' \
	'"file_signature":"Eicar-Test-Signature.UNOFFICIAL"' '"categories":"malware"'
grep -q "eicar.com was blocked" "$tmp/eicar/bob.notices"
check eicar_user_told $? "$(cat "$tmp/eicar/bob.notices" 2>/dev/null)"
# Nothing reached the database while its directory was gone; it comes
# back: what waited in the log reaches it.
# (no table at all: the writer had not opened it yet when it went)
gone=$(sqlite3 "$tmp/db.gone/events.db" "SELECT count(*) FROM messages WHERE filestate != ''" \
	2>/dev/null)
[ "${gone:-0}" = 0 ]
check no_results_while_database_gone $? "$gone file results in it"
mv "$tmp/db.gone" "$tmp/db"
sql_results() {
	[ "$(sqlite3 "$tmp/db/events.db" "SELECT count(*) FROM messages WHERE filestate != ''" \
		2>/dev/null)" = 2 ]
}
wait_until 20 "$daemon_pid" sql_results
check results_waited_for_the_database $?
"$PY" "$TOP/tests/cases/files_sql_json.py" "$tmp/events.jsonl" "$tmp/db/events.db" 2 \
	>"$tmp/sql.diff" 2>&1
check results_in_sql_with_every_file_field $? "$(head -6 "$tmp/sql.diff")"
end_scenario live_scan

# ---- 3. clamd silent ----------------------------------------------------
# Alive (its socket accepts) but never answering: only scan_timeout_ms ends
# the wait.
clamd_real=$(cat "$tmp/clamd.pid")
kill -STOP "$clamd_real"
SCAN_TIMEOUT=2000 daemon_with closed
transfer silent_closed "$tmp/clean.bin"
grep -q "^clean.bin [0-9]* \(reset\|short\)$" "$tmp/silent_closed/bob.received" &&
	! cmp -s "$tmp/clean.bin" "$tmp/silent_closed/clean.bin"
check silent_clamd_fail_closed_cuts $? "$(cat "$tmp/silent_closed/bob.received" 2>/dev/null)"
fact silent_clamd_fail_closed_logged 1 "$tmp/events.jsonl" '"file_name":"clean.bin"' \
	'"file_state":"cut"' '"file_scan":"timeout"' \
	'"file_signature":"no verdict within scan_timeout_ms"' '"categories":"unscanned"'
end_scenario silent_closed
SCAN_TIMEOUT=2000 daemon_with open
transfer silent_open "$tmp/clean.bin"
cmp -s "$tmp/clean.bin" "$tmp/silent_open/clean.bin"
check silent_clamd_fail_open_delivers $? "$(cat "$tmp/silent_open/bob.received" 2>/dev/null)"
fact silent_clamd_fail_open_logged 1 "$tmp/events.jsonl" '"file_name":"clean.bin"' \
	'"file_state":"complete","file_bytes":40000' "\"file_sha256\":\"$CLEAN_SHA\"" \
	'"file_scan":"timeout"' '"categories":"unscanned"'
end_scenario silent_open

# ---- 4. imwired stopped while an end waits ------------------------------
# SIGTERM while the last segment waits for a verdict that cannot come in
# time: the end is judged (scan_fail=closed: cut) before the held packets
# go; without that, shutdown would deliver the unjudged bytes.
SCAN_TIMEOUT=2500 daemon_with closed
# (carol and dave: their IRC sessions end after imwired, on the classifier alone)
transfer_start sigterm "$tmp/clean.bin" carol dave
wait_until 20 "$spid" one_held
check sigterm_end_held $? "holds: $(holds_now)"
end_scenario sigterm
transfer_end
grep -q "^clean.bin [0-9]* \(reset\|short\)$" "$tmp/sigterm/carol.received" &&
	! cmp -s "$tmp/clean.bin" "$tmp/sigterm/clean.bin"
check sigterm_held_end_never_delivered $? "$(cat "$tmp/sigterm/carol.received" 2>/dev/null)"
fact sigterm_logged_cut 1 "$tmp/events.jsonl" '"file_name":"clean.bin"' \
	'"file_state":"cut"' '"file_scan":"timeout"' '"categories":"unscanned"'
kill -CONT "$clamd_real"

# ---- 5. clamd gone ------------------------------------------------------
stop_clamd
daemon_with closed
transfer closed "$tmp/clean.bin"
grep -q "^clean.bin [0-9]* \(reset\|short\)$" "$tmp/closed/bob.received" &&
	! cmp -s "$tmp/clean.bin" "$tmp/closed/clean.bin"
check no_clamd_fail_closed_cuts $? "$(cat "$tmp/closed/bob.received" 2>/dev/null)"
fact no_clamd_fail_closed_logged 1 "$tmp/events.jsonl" '"file_name":"clean.bin"' \
	'"file_state":"cut"' '"file_scan":"error"' '"categories":"unscanned"'
end_scenario fail_closed
daemon_with open
transfer open "$tmp/clean.bin"
cmp -s "$tmp/clean.bin" "$tmp/open/clean.bin"
check no_clamd_fail_open_delivers $? "$(cat "$tmp/open/bob.received" 2>/dev/null)"
fact no_clamd_fail_open_logged 1 "$tmp/events.jsonl" '"file_name":"clean.bin"' \
	'"file_state":"complete"' '"file_scan":"error"' '"categories":"unscanned"'
end_scenario fail_open
exit 0
