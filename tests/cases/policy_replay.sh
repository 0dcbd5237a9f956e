#!/bin/sh
# imwire replay: the inline engine and policy on captures. The output,
# read back by imwire read, shows the edited conversation; tshark finds no
# checksum error and no seq/ack inconsistency the input did not have.
set -u
. "$TOP/tests/lib.sh"
begin_test
if ! command -v tshark >/dev/null; then
	fail policy_replay "tshark missing (scripts/install-deps.sh)"
	exit 0
fi
IRC=/work/shared/pcaps/irc
[ -d "$IRC" ] || IRC="$TOP/../shared/pcaps/irc"

bad_checksums() { tshark -r "$1" -o tcp.check_checksum:TRUE -Y 'tcp.checksum.status==0' 2>/dev/null | wc -l; }
inconsistent() {
	tshark -r "$1" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l
}

# The stream stays a valid TCP conversation: nothing worse than the input.
valid_stream() { # name in out
	bi=$(bad_checksums "$2") bo=$(bad_checksums "$3") ii=$(inconsistent "$2") io=$(inconsistent "$3")
	if [ "$bo" -le "$bi" ] && [ "$io" -le "$ii" ]; then
		pass "$1_valid_tcp"
	else
		fail "$1_valid_tcp" "checksum errors $bi -> $bo, seq/ack problems $ii -> $io"
	fi
}

printf 'what\nmean\n' >"$tmp/bad.txt"
cat >"$tmp/irc.conf" <<EOF
badwords_filename=$tmp/bad.txt
regex_replace=/clear//b
regex_replace=/amarok/the amarok channel/
EOF
in="$IRC/sniffglue_SkypeIRC.pcap"
if [ -f "$in" ]; then
	"$BIN/imwire" replay --config "$tmp/irc.conf" "$in" "$tmp/out.pcap" 2>"$tmp/replay.err" ||
		fail sniffglue_replay "$(cat "$tmp/replay.err")"
	"$BIN/imwire" read "$in" 2>/dev/null >"$tmp/in.jsonl"
	"$BIN/imwire" read "$tmp/out.pcap" 2>/dev/null >"$tmp/out.jsonl"
	n_in=$(grep -c '"kind":"message"' "$tmp/in.jsonl") n_out=$(grep -c '"kind":"message"' "$tmp/out.jsonl")
	if [ "$n_out" -eq $((n_in - 1)) ] && ! grep -q 'more clear' "$tmp/out.jsonl" &&
		grep -q '"text":"yaloki: +how do you \*\*\*\*"' "$tmp/out.jsonl"; then
		pass sniffglue_edited_conversation
	else
		fail sniffglue_edited_conversation "$n_in messages in, $n_out out"
	fi
	valid_stream sniffglue "$in" "$tmp/out.pcap"
	# read --config logs what would have happened: filtered set, no edits
	"$BIN/imwire" read --config "$tmp/irc.conf" "$in" 2>/dev/null >"$tmp/dry.jsonl"
	if [ "$(grep -c '"filtered":true' "$tmp/dry.jsonl")" = 1 ] &&
		grep -q '"text":"yaloki: +how do you mean"' "$tmp/dry.jsonl"; then
		pass read_config_logs_filtered_without_edits
	else
		fail read_config_logs_filtered_without_edits
	fi
else
	fail sniffglue_replay "$in missing"
fi

# Every generated capture: an empty policy changes nothing but MSS options.
printf 'mss_headroom=0\n' >"$tmp/none.conf"
for p in "$TOP"/tests/pcaps/*.pcap; do
	n=$(basename "$p" .pcap)
	"$BIN/imwire" replay --config "$tmp/none.conf" "$p" "$tmp/$n.pcap" 2>/dev/null
	"$BIN/imwire" read "$p" 2>/dev/null >"$tmp/$n.a"
	"$BIN/imwire" read "$tmp/$n.pcap" 2>/dev/null >"$tmp/$n.b"
	cmp -s "$tmp/$n.a" "$tmp/$n.b" || { fail "replay_identity_$n"; continue; }
	# A capture with reordered segments comes out in stream order (the
	# engine holds a segment until the hole before it fills).
	[ "$n" = imip_reorder ] && continue
	tcpdump -r "$p" -nn -x 2>/dev/null | grep -v '^[0-9]' >"$tmp/$n.ha"
	tcpdump -r "$tmp/$n.pcap" -nn -x 2>/dev/null | grep -v '^[0-9]' >"$tmp/$n.hb"
	cmp -s "$tmp/$n.ha" "$tmp/$n.hb" || { fail "replay_identity_bytes_$n"; continue; }
done
pass replay_identity_on_generated_captures

# Rewrites, deletions and insertions on a generated capture (MSN, XMPP).
cat >"$tmp/rw.conf" <<EOF
regex_replace=/e/EEE/
EOF
for n in msn_group xmpp_chat ymsg_session; do
	p="$TOP/tests/pcaps/$n.pcap"
	"$BIN/imwire" replay --config "$tmp/rw.conf" "$p" "$tmp/rw_$n.pcap" 2>"$tmp/rw.err" ||
		{ fail "replay_rewrite_$n" "$(cat "$tmp/rw.err")"; continue; }
	"$BIN/imwire" read "$tmp/rw_$n.pcap" 2>/dev/null >"$tmp/rw_$n.jsonl"
	a=$("$BIN/imwire" read "$p" 2>/dev/null | grep '"kind":"message"' | grep -c '"text":"[^"]*e')
	b=$(grep '"kind":"message"' "$tmp/rw_$n.jsonl" | grep -c 'EEE')
	# Not every message can be re-encoded (see the report of the edits
	# refused): at least one must show the rewrite.
	if [ "$a" -gt 0 ] && [ "$b" -gt 0 ]; then
		pass "replay_rewrite_${n}_read_back"
	else
		fail "replay_rewrite_${n}_read_back" "$a messages with e, $b rewritten"
	fi
	valid_stream "replay_rewrite_$n" "$p" "$tmp/rw_$n.pcap"
done

# Notices on the protocols without a sender that is visibly the system
# (MSN, YMSG, OSCAR, TOC, Gadu-Gadu, IMIP): each goes into the peer's
# conversation, its text marked (the default response_prefix/postfix),
# every notice and not only the responder's. Read back from the edited
# capture: the bytes the receivers got hold both notices, marked, and no
# notice without the mark (in a room it is said by "imwire"; Gadu-Gadu's
# conference members are numbers, so there it follows a member's).
cat >"$tmp/notice.conf" <<EOF
notice_text=This conversation is logged.
blocked_notice_text=A message was blocked.
regex_replace=/e//b
EOF
marked() { # text: how many message events carry it marked
	grep -c "\"text\":\"\\([0-9]*: \\)\\{0,1\\}\\(imwire: \\)\\{0,1\\}Message from imwire: -=$1=-\"" "$2"
}
for n in msn_group ymsg_session oscar_icq toc_v1 gg_session imip_login; do
	p="$TOP/tests/pcaps/$n.pcap"
	"$BIN/imwire" replay --config "$tmp/notice.conf" "$p" "$tmp/notice_$n.pcap" 2>"$tmp/notice.err" ||
		{ fail "replay_notice_marked_$n" "$(cat "$tmp/notice.err")"; continue; }
	"$BIN/imwire" read "$tmp/notice_$n.pcap" 2>/dev/null | grep '"kind":"message"' >"$tmp/notice_$n.jsonl"
	logged=$(marked 'This conversation is logged\.' "$tmp/notice_$n.jsonl")
	blocked=$(marked 'A message was blocked\.' "$tmp/notice_$n.jsonl")
	all=$(grep -c 'This conversation is logged\.\|A message was blocked\.' "$tmp/notice_$n.jsonl")
	if [ "$logged" -ge 1 ] && [ "$blocked" -ge 1 ] && [ "$all" -eq $((logged + blocked)) ]; then
		pass "replay_notice_marked_$n"
	else
		fail "replay_notice_marked_$n" "$logged logged and $blocked blocked notices marked, of $all"
	fi
	valid_stream "replay_notice_$n" "$p" "$tmp/notice_$n.pcap"
done
exit 0
