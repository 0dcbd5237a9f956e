#!/bin/sh
# End to end with real peers: Debian's prosody as the server on loopback
# (own config, own data directory, a free port, cleartext), two
# python3-slixmpp clients exchanging messages while tcpdump captures the
# port; `imwire read` on the capture must report exactly the messages
# sent, in both flows, with the bound JIDs. Missing packages are a FAIL.
# Env: BIN (holds imwire), TOP (repository root).
set -u
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

result() { # name, status (0 = pass)
	if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; fi
}

# Debian's python3 carries python3-slixmpp; another python3 may come first in PATH.
PY=/usr/bin/python3
for tool in prosody prosodyctl tcpdump $PY; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL realpeer_xmpp_needs_$tool (run scripts/install-deps.sh)"
		exit 1
	fi
done
if ! $PY -c 'import slixmpp' 2>/dev/null; then
	echo "FAIL realpeer_xmpp_needs_python3_slixmpp (run scripts/install-deps.sh)"
	exit 1
fi

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
domain=imwire.test
mkdir -p "$tmp/data"
cat >"$tmp/prosody.cfg.lua" <<CFG
pidfile = "$tmp/prosody.pid"
data_path = "$tmp/data"
log = { info = "$tmp/prosody.log"; error = "$tmp/prosody.err" }
run_as_root = true
prosody_user = "root"
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
modules_enabled = { "roster", "saslauth", "disco", "ping", "posix" }
modules_disabled = { "s2s", "tls", "offline" }
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "$domain"
CFG
for u in alice bob; do
	timeout 20 prosodyctl --config "$tmp/prosody.cfg.lua" register "$u" "$domain" secret \
		>>"$tmp/register.log" 2>&1
done
result realpeer_xmpp_accounts_registered $?

timeout 120 prosody --config "$tmp/prosody.cfg.lua" -F >"$tmp/prosody.out" 2>&1 &
pids="$pids $!"
i=0
until $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "FAIL realpeer_xmpp_server_listens"
		cat "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null | tail -20
		exit 1
	fi
	sleep 0.1
done
echo "PASS realpeer_xmpp_server_listens"

timeout 120 tcpdump -i lo -U -n -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
pids="$pids $!"
i=0
until grep -q listening "$tmp/tcpdump.err" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "FAIL realpeer_xmpp_capture_starts"
		cat "$tmp/tcpdump.err"
		exit 1
	fi
	sleep 0.1
done

printf '%s\n' "hello bob" "Grüße & <tags> \"quoted\"" "third: ☺ done" >"$tmp/lines"
timeout 90 $PY "$TOP/tests/peers/xmpp_chat.py" 127.0.0.1 "$port" "$domain" secret \
	"$tmp/lines" >"$tmp/client.out" 2>&1
rc=$?
result realpeer_xmpp_clients_exchange_messages $rc
[ $rc -eq 0 ] || tail -20 "$tmp/client.out"
sleep 1
for p in $pids; do
	kill "$p" 2>/dev/null
done
sleep 1

"$BIN/imwire" read --format jsonl "$tmp/cap.pcap" >"$tmp/events.jsonl" 2>"$tmp/read.err"
result realpeer_xmpp_read_ok $?

# Exactly the messages sent: each of the 2 x 3 texts is seen twice, leaving
# its sender's client and reaching its receiver's client.
n=$(grep -c '"kind":"message"' "$tmp/events.jsonl")
[ "$n" -eq 12 ]
result "realpeer_xmpp_twelve_message_events_got_$n" $?
check_msg() { # name, dir, local-prefix, remote-prefix, text
	n=$(grep -F "\"dir\":\"$2\",\"kind\":\"message\",\"local\":\"$3" "$tmp/events.jsonl" |
		grep -F "\"remote\":\"$4" | grep -c -F "\"text\":$5")
	[ "$n" -eq 1 ]
	result "$1" $?
}
k=0
while IFS= read -r line; do
	k=$((k + 1))
	ja=$(printf 'a:%s' "$line" | $PY -c 'import json,sys; print(json.dumps(sys.stdin.read(), ensure_ascii=False))')
	jb=$(printf 'b:%s' "$line" | $PY -c 'import json,sys; print(json.dumps(sys.stdin.read(), ensure_ascii=False))')
	check_msg "realpeer_xmpp_alice_sends_line$k" out "alice@$domain/peer" "bob@$domain" "$ja"
	check_msg "realpeer_xmpp_bob_receives_line$k" in "bob@$domain/peer" "alice@$domain/peer" "$ja"
	check_msg "realpeer_xmpp_bob_answers_line$k" out "bob@$domain/peer" "alice@$domain" "$jb"
	check_msg "realpeer_xmpp_alice_receives_line$k" in "alice@$domain/peer" "bob@$domain/peer" "$jb"
done <"$tmp/lines"
n=$(grep -c '"kind":"login"' "$tmp/events.jsonl")
[ "$n" -eq 2 ]
result realpeer_xmpp_two_bound_logins $?
grep -q 'IM sessions: xmpp 2' "$tmp/read.err"
result realpeer_xmpp_two_sessions_detected $?
[ "$(grep -c '"kind":"error"' "$tmp/events.jsonl")" -eq 0 ] && ! grep -q 'resyncs after garbage' "$tmp/read.err"
result realpeer_xmpp_no_errors_or_resyncs $?
exit 0
