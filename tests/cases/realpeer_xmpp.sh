#!/bin/sh
# End to end with real peers: Debian's prosody as the server on loopback
# (own config, own data directory, a free port, cleartext), two
# python3-slixmpp clients exchanging messages while tcpdump captures the
# port; `imwire read` on the capture must report exactly the messages
# sent, in both flows, with the bound JIDs. Missing packages are a FAIL.
# Env: BIN (holds imwire), TOP (repository root).
set -u
. "$TOP/tests/lib.sh"
begin_test
password=secret

for tool in $(missing_tools prosody prosodyctl tcpdump "$PY" py:slixmpp); do
	fail "realpeer_xmpp_needs_$(echo "$tool" | tr - _)" "run scripts/install-deps.sh"
	exit 1
done

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
register_xmpp '"127.0.0.1"' "$port" alice bob
check realpeer_xmpp_accounts_registered $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "" "$port" 120; then
	fail realpeer_xmpp_server_listens "$(tail -20 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
	exit 1
fi
pass realpeer_xmpp_server_listens
if ! start_capture "" lo "$tmp/cap.pcap" "tcp port $port"; then
	fail realpeer_xmpp_capture_starts "$(cat "$tmp/cap.pcap.err")"
	exit 1
fi

printf '%s\n' "hello bob" "Grüße & <tags> \"quoted\"" "third: ☺ done" >"$tmp/lines"
timeout 90 "$PY" "$PEERS/xmpp_chat.py" 127.0.0.1 "$port" "$domain" "$password" \
	"$tmp/lines" >"$tmp/client.out" 2>&1
rc=$?
check realpeer_xmpp_clients_exchange_messages $rc "$(tail -20 "$tmp/client.out")"
stop_captures
stop_servers

"$BIN/imwire" read --format jsonl "$tmp/cap.pcap" >"$tmp/events.jsonl" 2>"$tmp/read.err"
check realpeer_xmpp_read_ok $?

# Exactly the messages sent: each of the 2 x 3 texts is seen twice, leaving
# its sender's client and reaching its receiver's client.
n=$(grep -c '"kind":"message"' "$tmp/events.jsonl")
[ "$n" -eq 12 ]
check "realpeer_xmpp_twelve_message_events_got_$n" $?
check_msg() { # name, dir, local-prefix, remote-prefix, text
	n=$(grep -F "\"dir\":\"$2\",\"kind\":\"message\",\"local\":\"$3" "$tmp/events.jsonl" |
		grep -F "\"remote\":\"$4" | grep -c -F "\"text\":$5")
	[ "$n" -eq 1 ]
	check "$1" $?
}
k=0
while IFS= read -r line; do
	k=$((k + 1))
	ja=$(json_string "a:$line")
	jb=$(json_string "b:$line")
	check_msg "realpeer_xmpp_alice_sends_line$k" out "alice@$domain/peer" "bob@$domain" "$ja"
	check_msg "realpeer_xmpp_bob_receives_line$k" in "bob@$domain/peer" "alice@$domain/peer" "$ja"
	check_msg "realpeer_xmpp_bob_answers_line$k" out "bob@$domain/peer" "alice@$domain" "$jb"
	check_msg "realpeer_xmpp_alice_receives_line$k" in "alice@$domain/peer" "bob@$domain/peer" "$jb"
done <"$tmp/lines"
n=$(grep -c '"kind":"login"' "$tmp/events.jsonl")
[ "$n" -eq 2 ]
check realpeer_xmpp_two_bound_logins $?
grep -q 'IM sessions: xmpp 2' "$tmp/read.err"
check realpeer_xmpp_two_sessions_detected $?
[ "$(grep -c '"kind":"error"' "$tmp/events.jsonl")" -eq 0 ] && ! grep -q 'resyncs after garbage' "$tmp/read.err"
check realpeer_xmpp_no_errors_or_resyncs $?
exit 0
