#!/bin/sh
# End to end with a real Gadu-Gadu client: two libgadu sessions (protocol
# 10, no TLS: libgadu-dev from Debian) log in to our own minimal test
# server (tests/peers/gg_server.c) on loopback, on a free port that is not
# 8074, and exchange messages while tcpdump captures the port; `imwire
# read` on the capture must report exactly the messages sent. A missing
# package is a FAIL. Env: BIN (holds imwire), TOP (repository root).
set -u
. "$TOP/tests/lib.sh"
begin_test

for tool in $(missing_tools cc tcpdump "$PY"); do
	fail "realpeer_gg_needs_$tool" "run scripts/install-deps.sh"
	exit 1
done
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2"
# shellcheck disable=SC2086
cc $CFLAGS -o "$tmp/gg_server" "$TOP/tests/peers/gg_server.c" 2>"$tmp/cc.err"
check realpeer_gg_server_builds $?
# shellcheck disable=SC2086
if ! cc $CFLAGS -o "$tmp/gg_client" "$TOP/tests/peers/gg_client.c" -lgadu 2>>"$tmp/cc.err"; then
	fail realpeer_gg_libgadu_client_builds "libgadu-dev: run scripts/install-deps.sh" \
		"$(cat "$tmp/cc.err")"
	exit 1
fi
pass realpeer_gg_libgadu_client_builds

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 60 "$tmp/gg_server" "$port" 45 >"$tmp/server.out" 2>&1 &
server_pids=$!
if ! wait_until 5 "$server_pids" log_has "$tmp/server.out" listening; then
	fail realpeer_gg_server_listens "$(tail -5 "$tmp/server.out")"
	exit 1
fi
if ! start_capture "" lo "$tmp/cap.pcap" "tcp port $port"; then
	fail realpeer_gg_capture_starts "$(cat "$tmp/cap.pcap.err")"
	exit 1
fi

printf '%s\n' "hello bob" "Zażółć gęślą jaźń" "<b>not html</b> & more" >"$tmp/lines"
timeout 50 "$tmp/gg_client" 127.0.0.1 "$port" "$tmp/lines" >"$tmp/client.out" 2>&1
rc=$?
check realpeer_gg_libgadu_sessions_exchange_messages $rc "$(tail -20 "$tmp/client.out")"
stop_captures
stop_servers

"$BIN/imwire" read --format jsonl "$tmp/cap.pcap" >"$tmp/events.jsonl" 2>"$tmp/read.err"
check realpeer_gg_read_ok $?
grep -q 'IM sessions: gg 2' "$tmp/read.err"
check realpeer_gg_two_sessions_detected_off_port $?
for uin in 1111111 2222222; do
	n=$(grep -F '"dir":"out","kind":"login"' "$tmp/events.jsonl" | grep -c -F "\"local\":\"$uin\"")
	[ "$n" -eq 1 ]
	check "realpeer_gg_login_$uin" $?
done
# Each of the 2 x 3 texts is seen leaving one client and reaching the other.
n=$(grep -c '"kind":"message"' "$tmp/events.jsonl")
[ "$n" -eq 12 ]
check "realpeer_gg_twelve_message_events_got_$n" $?
check_msg() { # name, dir, local, remote, json-text
	n=$(grep -F "\"dir\":\"$2\",\"kind\":\"message\",\"local\":\"$3\",\"remote\":\"$4\"" \
		"$tmp/events.jsonl" | grep -c -F "\"text\":$5")
	[ "$n" -eq 1 ]
	check "$1" $?
}
k=0
while IFS= read -r line; do
	k=$((k + 1))
	ja=$(json_string "a:$line")
	jb=$(json_string "b:$line")
	check_msg "realpeer_gg_alice_sends_line$k" out 1111111 2222222 "$ja"
	check_msg "realpeer_gg_bob_receives_line$k" in 2222222 1111111 "$ja"
	check_msg "realpeer_gg_bob_answers_line$k" out 2222222 1111111 "$jb"
	check_msg "realpeer_gg_alice_receives_line$k" in 1111111 2222222 "$jb"
done <"$tmp/lines"
[ "$(grep -c '"kind":"error"' "$tmp/events.jsonl")" -eq 0 ] && ! grep -q 'resyncs after garbage' "$tmp/read.err"
check realpeer_gg_no_errors_or_resyncs $?

# The real sessions replayed with a notice: Gadu-Gadu has no sender that
# is visibly the system, so each notice arrives in the conversation from
# the peer, its text marked (the default response_prefix/postfix).
printf 'notice_text=This conversation is logged.\n' >"$tmp/notice.conf"
"$BIN/imwire" replay --config "$tmp/notice.conf" "$tmp/cap.pcap" "$tmp/notice.pcap" 2>"$tmp/replay.err"
check realpeer_gg_replay_with_notice $? "$(cat "$tmp/replay.err")"
"$BIN/imwire" read --format jsonl "$tmp/notice.pcap" 2>/dev/null >"$tmp/notice.jsonl"
marked=$(grep -c '"kind":"message",.*"text":"Message from imwire: -=This conversation is logged\.=-"' \
	"$tmp/notice.jsonl")
all=$(grep -c 'This conversation is logged' "$tmp/notice.jsonl")
[ "$marked" -ge 1 ] && [ "$marked" -eq "$all" ] &&
	[ "$(grep -c '"kind":"message"' "$tmp/notice.jsonl")" -eq $((12 + marked)) ]
check realpeer_gg_notice_marked_in_the_conversation $? "$marked marked of $all"
exit 0
