#!/bin/sh
# A full disk under the writer (issue 21): the spool, the JSON lines and
# the SQLite file of imwired on one small tmpfs, and a flood of FLOOD_N
# numbered PRIVMSG lines through the bridge. The disk fills: appends to the
# write-ahead log fail, the sinks fail, memory fills too. Then the disk
# grows and the daemon is stopped. Checked: the daemon ran through it; the
# flood's connection delivered every byte; the failures were logged with
# their cause named ENOSPC ("No space left on device (ENOSPC)", never "the
# spool is full"); and for each sink, the events it holds (each once) and
# the events it counts lost, all with cause enospc, add up to every event
# the writer was handed. Needs root (namespaces, NFQUEUE, mount).
set -u
. "$TOP/tests/lib.sh"
begin_test
FLOOD_N=${FLOOD_N:-200000}
FLOOD_PORT=6668
LIMIT=240
DISK=${DISK_MB:-24}m

live_test faults_writer_disk "imwfd$$" iptables ss timeout sqlite3 mount umount "$PY"
[ -x "$BIN/bench/inline_peer" ] || { fail faults_writer_disk_prerequisites "no $BIN/bench/inline_peer"; exit 1; }
cleanup_more() {
	umount "$tmp/disk" 2>/dev/null
}
mkdir "$tmp/disk"
mount -t tmpfs -o size=$DISK,mode=0755 tmpfs "$tmp/disk"
check disk_tmpfs_mounted $?
$B "$BIN/imwire" setup --bridge br0 --ports $FLOOD_PORT >/dev/null
check disk_setup $?
printf '%s\n' "jsonl_file=$tmp/disk/events.jsonl" "sqlite_file=$tmp/disk/events.db" \
	"spool_dir=$tmp/disk/spool" "stats_file=$tmp/stats.json" "hold_deadline_ms=50" >"$tmp/wdisk.conf"
start_daemon "$tmp/wdisk.conf"
check disk_daemon_starts $?

INLINE_PEER_HASH=1 $S "$BIN/bench/inline_peer" bulk-server $FLOOD_PORT $((FLOOD_N * 1000)) $LIMIT \
	privmsg-seq >"$tmp/srv.out" 2>"$tmp/srv.err" &
fs=$!
peer_pids=$fs
wait_until 5 "$fs" port_listens "$S" $FLOOD_PORT
INLINE_PEER_HASH=1 $C "$BIN/bench/inline_peer" bulk-client 10.77.0.2 $FLOOD_PORT $LIMIT \
	>"$tmp/cli.out" 2>"$tmp/cli.err"
rc_c=$?
wait $fs
rc_s=$?
peer_pids=""
sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$tmp/srv.out")
[ $rc_s -eq 0 ] && [ $rc_c -eq 0 ] && [ "$sent" = $((FLOOD_N * 1000)) ] &&
	grep -q "bytes=$sent " "$tmp/cli.out" &&
	[ "$(sed -n 's/.*fnv=\([0-9a-f]*\).*/\1/p' "$tmp/srv.out")" = "$(sed -n 's/.*fnv=\([0-9a-f]*\).*/\1/p' "$tmp/cli.out")" ]
check disk_flood_connection_intact_every_byte_received $? "$(cat "$tmp/srv.out" "$tmp/cli.out" "$tmp/srv.err" "$tmp/cli.err")"
kill -0 "$daemon_pid" 2>/dev/null
check disk_daemon_runs_on_a_full_disk $?
df_line=$(df -k "$tmp/disk" | tail -1)
# The disk grows: what waited is written; then the stop.
mount -o remount,size=1g "$tmp/disk"
check disk_grows $?
stop_daemon 180
check disk_daemon_stops_cleanly $? "exit status $stopped_rc" "$(grep -i 'writer\|alarm' "$daemon_log" | tail -5)"

grep -q 'write-ahead log .*: cannot append: No space left on device (ENOSPC)' "$daemon_log"
check disk_log_append_failure_named_enospc $? "$(grep -i alarm "$daemon_log" | head -3)"
grep -q 'jsonl .*: write: No space left on device (ENOSPC)' "$daemon_log"
check disk_jsonl_failure_named_enospc $? "$(grep 'jsonl' "$daemon_log" | head -3)"
! grep -qi 'spool .* is full' "$daemon_log"
check disk_no_spool_is_full_message $?

# Per sink: held (each once) + lost (all enospc) = handed over.
"$PY" - "$tmp/stats.json" "$tmp/disk/events.jsonl" "$tmp/disk/events.db" >"$tmp/acct" 2>&1 <<'EOF'
import json, sqlite3, sys
st = json.load(open(sys.argv[1]))["writer"]
handed = st["events"]
jl = [l for l in open(sys.argv[2], encoding="utf-8")]
rows = [r[0] for r in sqlite3.connect(sys.argv[3]).execute("SELECT eventid FROM messages")]
held = {"jsonl": (len(jl), len(set(jl))), "sqlite": (len(rows), len(set(rows)))}
ok = True
for s in st["sinks"]:
    kind = s["name"].split()[0]
    if kind not in held:
        continue  # the event tap holds nothing
    n, distinct = held[kind]
    lost = s["lost"]
    other = sum(v for k, v in lost.items() if k != "enospc")
    line = "%s: holds %d (%d distinct), lost %d enospc, %d other, %d queued; handed %d" % (
        kind, n, distinct, lost["enospc"], other, s["queued"], handed)
    print(line)
    if n != distinct or other or s["queued"] or n + lost["enospc"] != handed or lost["enospc"] == 0:
        ok = False
print("not durable %d" % st["not_durable"])
sys.exit(0 if ok and st["not_durable"] > 0 else 1)
EOF
check disk_every_event_held_once_or_lost_with_enospc $? "$(cat "$tmp/acct")"
grep -q 'lost: enospc=' "$daemon_log"
check disk_exit_summary_counts_losses_by_cause $? "$(grep 'writer: ' "$daemon_log")"
echo "full disk ($df_line): $(tr '\n' ';' <"$tmp/acct")"
exit 0
