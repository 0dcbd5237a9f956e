#!/bin/sh
# A burst of file transfers inline (#20): 100 DCC SENDs at once between
# two real IRC clients across the netns bridge, every file end held for
# a real clamd (scan_hold=on) against a small budget for held bytes
# (scan_hold_max_bytes=4096, about 4 ends of 1 KiB): what waits for
# verdicts never passes the budget, the ends past it are decided at once
# by scan_fail=open (counted), every file arrives whole and is logged
# with its hash, and a conversation running beside the burst on another
# steered port gets every line, in order.
# Env: BIN, TOP. Live: run it under the team lock.
set -u
. "$TOP/tests/lib.sh"
begin_test
live_test files_burst "imwfb$$" ngircd clamd bpftool py:irc
bpf_pins
daemon_in=$BPF_B
N=100
BUDGET=4096

$BPF_B "$BIN/imwire" attach vc vs >"$tmp/attach.log" 2>&1
check classifier_attached $? "$(tail -3 "$tmp/attach.log")"
$B "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null
mkdir -p "$tmp/ngircd.d"
printf '[Limits]\nMaxPenaltyTime = 0\n' >"$tmp/ngircd.d/penalty.conf"
start_ngircd 600
check ngircd_started $?
start_clamd 600
check clamd_started $? "$(tail -3 "$tmp/clamd.out" 2>/dev/null)"
write_config "$tmp/fburst.conf" 50 "clamd_socket=$tmp/clamd.sock" "scan_hold=on" \
	"scan_timeout_ms=10000" "scan_fail=open" "scan_hold_max_bytes=$BUDGET" \
	"stats_file=$tmp/stats.json"
start_daemon "$tmp/fburst.conf"
check daemon_started $?

head -c 20000 /dev/urandom >"$tmp/burst.bin"
SUM=$(sha256sum <"$tmp/burst.bin" | cut -d' ' -f1)
mkdir -p "$tmp/out"
$C "$PY" "$PEERS/irc_dcc.py" receive 10.77.0.2 6667 bob "$tmp/out" "$tmp/out/ready" "$N" \
	>"$tmp/recv.err" 2>&1 &
rpid=$!
peer_pids="$rpid"
wait_until 20 "$rpid" test -e "$tmp/out/ready"
$S "$PY" "$PEERS/irc_dcc.py" send 10.77.0.2 6667 alice bob "$tmp/burst.bin" 10.77.0.2 \
	"$tmp/out" "$N" >"$tmp/send.err" 2>&1 &
spid=$!
peer_pids="$rpid $spid"

# Beside it: 200 lines each way on XMPP's port (steered by the port map).
i=0
: >"$tmp/side.client"
: >"$tmp/side.server"
while [ $i -lt 200 ]; do
	echo "send <message to='b'><body>line $i</body></message>" >>"$tmp/side.client"
	echo "expectline <message to='b'><body>line $i</body></message>" >>"$tmp/side.server"
	echo "send <message to='a'><body>back $i</body></message>" >>"$tmp/side.server"
	echo "expectline <message to='a'><body>back $i</body></message>" >>"$tmp/side.client"
	i=$((i + 1))
done
echo close >>"$tmp/side.client"
echo close >>"$tmp/side.server"
run_peers side 10.77.0.2 5222
check other_flow_intact $? "$(peer_errors side | tail -3)"

wait "$spid"
check sender_done $? "$(tail -3 "$tmp/send.err")"
wait "$rpid"
check receiver_done $? "$(tail -3 "$tmp/recv.err")"
peer_pids=""
[ "$(grep -c '^20000 acked$' "$tmp/out/alice.sent")" -eq "$N" ]
check every_file_acknowledged $? "$(sort "$tmp/out/alice.sent" | uniq -c | head -5)"
[ "$(grep -c '^burst.bin 20000 complete$' "$tmp/out/bob.received")" -eq "$N" ]
check every_file_received $? "$(sort "$tmp/out/bob.received" | uniq -c | head -5)"
bad=0
for f in "$tmp"/out/burst.bin*; do cmp -s "$f" "$tmp/burst.bin" || bad=$((bad + 1)); done
[ "$bad" -eq 0 ] && [ "$(ls "$tmp"/out/burst.bin* | wc -l)" -eq "$N" ]
check every_file_byte_for_byte $? "$bad differ"
sleep 2 # the last verdicts and the stats file
end_scenario burst
fact every_transfer_logged_with_hash "$N" "$tmp/events.jsonl" '"file_name":"burst.bin"' \
	'"file_state":"complete","file_bytes":20000' "\"file_sha256\":\"$SUM\""
peak=$(stats_counter "$tmp/stats.json" engine.scan_held_bytes_peak)
overflows=$(stats_counter "$tmp/stats.json" files.hold_overflows)
holds=$(stats_counter "$tmp/stats.json" files.holds)
released=$(stats_counter "$tmp/stats.json" files.holds_released)
[ "$peak" -gt 0 ] && [ "$peak" -le "$BUDGET" ]
check held_bytes_within_budget $? "peak $peak of $BUDGET"
# Every end was held or decided at once (how many of each depends on how
# fast clamd answers): none lost, none cut.
echo "  $holds ends held, $overflows of them decided at once at the budget"
[ "$holds" -eq "$N" ] && [ "$released" -eq "$N" ]
check every_end_released $? "holds $holds, released $released, at the budget $overflows"
exit 0
