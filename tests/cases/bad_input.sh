#!/bin/sh
# imwire read on bad input: one clear line naming the file and the reason,
# a non-zero exit, and the other files still decoded.
set -u
PCAPS="$TOP/../shared/pcaps"
. "$TOP/tests/lib.sh"
begin_test

expect_error() { # name, file, reason-substring
	"$BIN/imwire" read --format jsonl "$2" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(grep -c "imwire: $2: " "$tmp/err")
	[ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q "$3" "$tmp/err"
	check "$1" $? "exit $rc" "$(cat "$tmp/err")"
}

printf 'this is not a capture file, just some text\n' >"$tmp/text.pcap"
expect_error not_a_pcap "$tmp/text.pcap" "not a pcap or pcapng file"

expect_error missing_file "$tmp/does-not-exist.pcap" "cannot open"

# A classic pcap header with link type 147 (DLT_USER0).
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\223\000\000\000' >"$tmp/user0.pcap"
expect_error unsupported_linktype "$tmp/user0.pcap" "unsupported link type 147"

# Cut a real capture in the middle of a record.
head -c 3000 "$PCAPS/irc/zeek_irc-basic.pcap" >"$tmp/cut.pcap"
expect_error truncated_record "$tmp/cut.pcap" "bad record after packet"

# The truncated file still yields what came before the cut, and a good file
# after a bad one is still decoded.
"$BIN/imwire" read --format jsonl "$tmp/text.pcap" "$PCAPS/irc/zeek_irc-basic.pcap" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
n=$(grep -c '"kind":"message"' "$tmp/out")
check bad_file_does_not_stop_others "$([ "$rc" -ne 0 ] && [ "$n" -eq 1 ]; echo $?)"

# Garbage inside a good capture is counted, not fatal: a random-bytes TCP
# stream on the IRC port next to a real IRC session.
"$BIN/imwire" read --format jsonl "$PCAPS/irc/zeek_irc-more-commands.pcap" >"$tmp/out" 2>"$tmp/err"
check good_capture_exit_zero "$?"

exit 0
