#!/bin/sh
# The writer under a message flood (issue 21): imwired inline on the netns
# bridge, a flood of FLOOD_N numbered PRIVMSG lines from bench/inline_peer
# as fast as the bridge carries them, and meanwhile a real IRC session
# (ngircd, python3-irc clients alice and bob through the bridge, carol
# beyond it). Events go to JSON lines and SQLite.
#  1. SIGTERM right after the flood: every one of the FLOOD_N messages is
#     in JSON lines and in SQLite exactly once (before the write-ahead log,
#     36-58 % were lost in the writer's ring), and so is every message of
#     the IRC session; the writer's stats say nothing was lost.
#  2. kill -9 in the middle of the flood, the flood goes on (the queue is
#     bypassed), then a new imwired on the same spool: every event that had
#     been handed to the writer is found again, and each sink holds the
#     same events, each once, with no gap (it used to lose the in-memory
#     queue and leave the sinks disagreeing).
# Each time the daemon keeps running, every connection ends cleanly and
# every client received exactly what was sent (byte counts and a hash).
# Needs root (network namespaces, iptables, NFQUEUE).
set -u
. "$TOP/tests/lib.sh"
begin_test
FLOOD_N=${FLOOD_N:-200000}
FLOOD_PORT=6668
LIMIT=240 # seconds any one flood may take

live_test faults_writer "imwfw$$" ngircd iptables ss timeout sqlite3 "$PY" py:irc.client
[ -x "$BIN/bench/inline_peer" ] || { fail faults_writer_prerequisites "no $BIN/bench/inline_peer (make unit-bins)"; exit 1; }
$B "$BIN/imwire" setup --bridge br0 --ports 6667,$FLOOD_PORT >/dev/null
check faults_writer_setup $?
start_ngircd 600
check faults_writer_ngircd_listens $? "$(tail -5 "$tmp/ngircd.out")"

conf() { # name: events to $tmp/NAME.jsonl and $tmp/NAME.db, spool $tmp/NAME.spool
	printf '%s\n' "jsonl_file=$tmp/$1.jsonl" "sqlite_file=$tmp/$1.db" "spool_dir=$tmp/$1.spool" \
		"stats_file=$tmp/$1.stats.json" "hold_deadline_ms=50" >"$tmp/$1.conf"
}

# flood_start NAME: the numbered flood in the background ($flood_pids).
flood_start() {
	INLINE_PEER_HASH=1 $S "$BIN/bench/inline_peer" bulk-server $FLOOD_PORT $((FLOOD_N * 1000)) $LIMIT \
		privmsg-seq >"$tmp/$1.srv.out" 2>"$tmp/$1.srv.err" &
	fs=$!
	wait_until 5 "$fs" port_listens "$S" $FLOOD_PORT
	INLINE_PEER_HASH=1 $C "$BIN/bench/inline_peer" bulk-client 10.77.0.2 $FLOOD_PORT $LIMIT \
		>"$tmp/$1.cli.out" 2>"$tmp/$1.cli.err" &
	fc=$!
	flood_pids="$fs $fc"
	peer_pids="$peer_pids $fs $fc"
}

# flood_wait NAME: both ends done; FLOOD_NAME_delivered_intact.
flood_wait() {
	local rc_s rc_c sent got hs hc
	wait $fs
	rc_s=$?
	wait $fc
	rc_c=$?
	peer_pids=""
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$tmp/$1.srv.out")
	hs=$(sed -n 's/.*fnv=\([0-9a-f]*\).*/\1/p' "$tmp/$1.srv.out")
	got=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$tmp/$1.cli.out")
	hc=$(sed -n 's/.*fnv=\([0-9a-f]*\).*/\1/p' "$tmp/$1.cli.out")
	[ $rc_s -eq 0 ] && [ $rc_c -eq 0 ] && [ "$sent" = $((FLOOD_N * 1000)) ] && [ "$got" = "$sent" ] &&
		[ -n "$hs" ] && [ "$hs" = "$hc" ] && grep -q 'complete=1' "$tmp/$1.cli.out"
	check "$1_flood_connection_intact_every_byte_received" $? \
		"server rc $rc_s: $(cat "$tmp/$1.srv.out" "$tmp/$1.srv.err")" \
		"client rc $rc_c: $(cat "$tmp/$1.cli.out" "$tmp/$1.cli.err")"
}

# The IRC session: alice and bob (through the bridge) and carol talk.
session_plans() { # name
	local i
	{
		echo "connect carol"
		echo "join carol #flood"
		echo "signal carol $tmp/$1.online"
		echo "members carol #flood alice bob"
		i=0
		while [ $i -lt 20 ]; do
			echo "say carol #flood carol $1 line $i"
			echo "say carol alice carol to alice $1 $i"
			i=$((i + 1))
		done
		echo "wait carol 20"
		echo "quit carol"
	} >"$tmp/$1.far"
	{
		echo "connect alice"
		echo "connect bob"
		echo "join alice #flood"
		echo "join bob #flood"
		i=0
		while [ $i -lt 20 ]; do
			echo "say alice #flood alice $1 line $i"
			echo "say bob alice bob to alice $1 $i"
			i=$((i + 1))
		done
		echo "wait alice 60"
		echo "wait bob 40"
		echo "quit alice"
		echo "quit bob"
	} >"$tmp/$1.near"
	# What each receives: the others' channel lines, and the private ones.
	i=0
	: >"$tmp/$1.alice.want"
	: >"$tmp/$1.bob.want"
	: >"$tmp/$1.carol.want"
	while [ $i -lt 20 ]; do
		echo "carol #flood carol $1 line $i" >>"$tmp/$1.alice.want"
		echo "carol alice carol to alice $1 $i" >>"$tmp/$1.alice.want"
		echo "bob alice bob to alice $1 $i" >>"$tmp/$1.alice.want"
		echo "alice #flood alice $1 line $i" >>"$tmp/$1.bob.want"
		echo "carol #flood carol $1 line $i" >>"$tmp/$1.bob.want"
		echo "alice #flood alice $1 line $i" >>"$tmp/$1.carol.want"
		i=$((i + 1))
	done
	for u in alice bob carol; do sort -o "$tmp/$1.$u.want" "$tmp/$1.$u.want"; done
}

# sink_counts NAME: "events distinct flood_events flood_distinct min max" of the JSON lines and of
# SQLite, and the session's messages of each, into NAME.jsonl.count / .db.count / .msgs.
sink_counts() {
	"$PY" - "$tmp/$1.jsonl" "$tmp/$1.db" "$tmp/$1" <<'EOF'
import json, re, sqlite3, sys
jl, db, out = sys.argv[1:4]
flood = re.compile(r"^(\d{10}) x")
def summary(texts):
    seqs = [int(m.group(1)) for m in (flood.match(t or "") for t in texts) if m]
    return "%d %d %d %d %d %d" % (len(texts), len(set(texts)), len(seqs), len(set(seqs)),
                                  min(seqs) if seqs else -1, max(seqs) if seqs else -1)
jt, jm = [], []
for line in open(jl, encoding="utf-8"):
    e = json.loads(line)
    key = "%s|%s|%s|%s|%s" % (e["kind"], e["dir"], e["local"], e["remote"], e["text"])
    jt.append(key if not flood.match(e["text"] or "") else e["text"])
    if e["kind"] == "message" and not flood.match(e["text"] or ""):
        jm.append("%s|%s|%s|%s" % (e["dir"], e["local"], e["remote"], e["text"]))
c = sqlite3.connect(db)
names = {1: "message"}
dt, dm = [], []
for out_, typ, local, remote, data in c.execute(
        "SELECT outgoing, type, localid, remoteid, eventdata FROM messages ORDER BY id"):
    d = "out" if out_ else "in"
    data = data.decode("utf-8") if isinstance(data, bytes) else data
    dt.append(data if flood.match(data or "") else "%s|%s|%s|%s|%s" % (typ, d, local, remote, data))
    if typ == 1 and not flood.match(data or ""):
        dm.append("%s|%s|%s|%s" % (d, local, remote, data))
open(out + ".jsonl.count", "w").write(summary(jt) + "\n")
open(out + ".db.count", "w").write(summary(dt) + "\n")
open(out + ".jsonl.msgs", "w").write("\n".join(sorted(jm)) + "\n")
open(out + ".db.msgs", "w").write("\n".join(sorted(dm)) + "\n")
EOF
}

# writer_stat NAME KEY [SINK]: a writer counter of the stats file (a sink's when SINK names it).
writer_stat() {
	"$PY" -c 'import json, sys
w = json.load(open(sys.argv[1]))["writer"]
if len(sys.argv) > 3:
    s = [s for s in w["sinks"] if s["name"].startswith(sys.argv[3])][0]
    v = s[sys.argv[2]]
    print(sum(v.values()) if isinstance(v, dict) else v)
else:
    print(w[sys.argv[2]])' "$tmp/$1.stats.json" "$2" ${3:+"$3"} 2>/dev/null || echo -1
}

# ---------------------------------------------------------------------
# 1. The flood, then SIGTERM.
conf term
session_plans term
start_daemon "$tmp/term.conf"
check term_daemon_starts $?
t0=$(date +%s)
flood_start term
run_session term 120 "$PY" "$PEERS/irc_client.py" 10.77.0.2 6667
flood_wait term
t1=$(date +%s)
kill -0 "$daemon_pid" 2>/dev/null
check term_daemon_ran_through_the_flood $?
stop_daemon 180
check term_daemon_stops_cleanly_after_writing_everything $? "exit status $stopped_rc" \
	"$(grep -i 'writer\|alarm' "$daemon_log" | tail -5)"
sort_received term alice bob carol
check_received term connection_up_until_clean_close alice bob carol
sink_counts term
read -r jn jd jf jfd jmin jmax <"$tmp/term.jsonl.count"
read -r dn dd df dfd dmin dmax <"$tmp/term.db.count"
[ "$jf" = "$FLOOD_N" ] && [ "$jfd" = "$FLOOD_N" ] && [ "$jmin" = 0 ] && [ "$jmax" = $((FLOOD_N - 1)) ]
check term_every_flood_message_once_in_jsonl $? "jsonl: $jf flood events, $jfd distinct, $jmin..$jmax"
[ "$df" = "$FLOOD_N" ] && [ "$dfd" = "$FLOOD_N" ] && [ "$dmin" = 0 ] && [ "$dmax" = $((FLOOD_N - 1)) ]
check term_every_flood_message_once_in_sqlite $? "sqlite: $df flood events, $dfd distinct, $dmin..$dmax"
[ "$jn" = "$jd" ] && [ "$dn" = "$dd" ] && [ "$jn" = "$dn" ]
check term_every_event_once_in_both_sinks $? "jsonl $jn events ($jd distinct), sqlite $dn ($dd distinct)"
# The session: 100 messages seen through the bridge (alice's and bob's, both ways).
[ "$(grep -c . "$tmp/term.jsonl.msgs")" -ge 100 ] && cmp -s "$tmp/term.jsonl.msgs" "$tmp/term.db.msgs" &&
	[ "$(sort -u "$tmp/term.jsonl.msgs" | grep -c .)" = "$(grep -c . "$tmp/term.jsonl.msgs")" ]
check term_session_messages_once_in_both_sinks $? \
	"jsonl $(grep -c . "$tmp/term.jsonl.msgs"), sqlite $(grep -c . "$tmp/term.db.msgs")" \
	"$(diff "$tmp/term.jsonl.msgs" "$tmp/term.db.msgs" | head -4)"
# every sink's summary (JSON lines, SQLite, the event tap) says none
sinks=$(grep -c "imwired: writer: .* lost:" "$daemon_log")
lost=$(grep -c "imwired: writer: .* lost: none" "$daemon_log")
[ "$sinks" -ge 2 ] && [ "$lost" = "$sinks" ] && ! grep -q 'ALARM' "$daemon_log"
check term_writer_says_nothing_lost $? "$(grep 'writer: ' "$daemon_log")"
[ "$(writer_stat term events)" -ge "$FLOOD_N" ] && [ "$(writer_stat term queued jsonl)" = 0 ] &&
	[ "$(writer_stat term queued sqlite)" = 0 ] && [ "$(writer_stat term lost sqlite)" = 0 ]
check term_stats_file_counts_the_writer $? "$(tr -d '\n' <"$tmp/term.stats.json" | sed 's/.*"writer"/writer/' | cut -c1-400)"
"$BIN/imwire" stats "$tmp/term.stats.json" >"$tmp/term.stats.txt" 2>&1 &&
	grep -q '^writer:' "$tmp/term.stats.txt" && grep -q '^      name: jsonl ' "$tmp/term.stats.txt" &&
	grep -q '^        enospc: 0' "$tmp/term.stats.txt" && grep -q '^      lag: ' "$tmp/term.stats.txt"
check term_imwire_stats_prints_the_writer $? "$(grep -A12 '^writer' "$tmp/term.stats.txt" | head -14)"
echo "flood: $FLOOD_N messages in $((t1 - t0)) s; writer: $(writer_stat term events) events," \
	"$(writer_stat term submits) hand-overs, append $(($(writer_stat term append_ns) / 1000000)) ms in all," \
	"longest $(($(writer_stat term append_max_ns) / 1000)) us; $(writer_stat term slow_downs) slow-downs"

# ---------------------------------------------------------------------
# 2. kill -9 in the middle of the flood, then a new daemon on the spool.
conf kill
start_daemon "$tmp/kill.conf"
check kill_daemon_starts $?
flood_start kill
# Until the writer has taken a good part of the flood (its stats file).
i=0
while [ $i -lt 600 ] && [ "$(writer_stat kill events)" -lt $((FLOOD_N / 5)) ]; do
	sleep 0.1
	i=$((i + 1))
done
handed=$(writer_stat kill events)
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
cat "$daemon_log" >>"$tmp/daemon.all.log"
[ "$handed" -gt 0 ]
check kill_flood_was_under_way $? "writer had $handed events"
flood_wait kill
start_daemon "$tmp/kill.conf"
check kill_daemon_restarts_on_its_spool $?
# The log was read back at the start; SIGTERM then writes what it holds.
stop_daemon 180
check kill_restarted_daemon_stops_cleanly $? "exit status $stopped_rc"
sink_counts kill
read -r jn jd jf jfd jmin jmax <"$tmp/kill.jsonl.count"
read -r dn dd df dfd dmin dmax <"$tmp/kill.db.count"
# Every event handed over before the kill (the stats file was at most a
# second old) is in both sinks; the flood's are one run with no gap.
[ "$jn" -ge "$handed" ] && [ "$jn" = "$jd" ] && [ "$jf" = "$jfd" ] && [ "$jmin" = 0 ] &&
	[ "$jmax" = $((jf - 1)) ]
check kill_every_handed_event_once_in_jsonl $? \
	"jsonl: $jn events ($jd distinct), flood $jf ($jfd distinct) $jmin..$jmax; handed before the kill: >= $handed"
[ "$dn" = "$jn" ] && [ "$dd" = "$jd" ] && [ "$df" = "$jf" ] && [ "$dfd" = "$jfd" ] &&
	[ "$dmin" = "$jmin" ] && [ "$dmax" = "$jmax" ]
check kill_sqlite_holds_the_same_events_once $? "sqlite: $dn events ($dd distinct), flood $df ($dfd) $dmin..$dmax; jsonl $jn, $jf"
! grep -q 'ALARM' "$tmp/daemon.all.log" "$daemon_log"
check kill_nothing_lost $? "$(grep ALARM "$tmp/daemon.all.log" "$daemon_log" | head -3)"
echo "kill -9: $handed events handed over by the stats file's last count; after the restart $jn in each sink" \
	"($(grep -o 'resuming [0-9]* events' "$daemon_log" | tr '\n' ' '))"
exit 0
