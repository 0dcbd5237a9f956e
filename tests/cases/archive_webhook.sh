#!/bin/sh
# The alert webhook across a receiver outage (issue #22, "Done when" 4):
# every flagged event reaches a receiver started here exactly once.
# The receiver (tests/peers/webhook_receiver.py: Python's http.server on
# 127.0.0.1, logging each accepted POST) goes through:
#   run 1: up but failing (503 to every POST): the flagged events wait in
#          the write-ahead log (spool_dir);
#   run 2: gone (connection refused): still waiting, more join them;
#   run 3: back on the same port: everything waiting, then run 3's own;
#   run 4: up: only run 4's own (nothing posted twice).
# Each run is `imwire read --config` of the XMPP capture with two
# regex_flag rules (2 flagged messages a run). What was flagged is read
# from the run's JSON lines store (every event, with eventid and
# categories); what was received from the receiver's log. Loopback only.
set -u
. "$TOP/tests/lib.sh"
begin_test
I=$BIN/imwire
CAP=$TOP/tests/pcaps/xmpp_chat.pcap
RECV=$TOP/tests/peers/webhook_receiver.py

start_receiver() { # port (0: any) fail_first
	rm -f "$tmp/port"
	"$PY" "$RECV" "$tmp/port" "$tmp/received" "$1" "$2" 2>>"$tmp/recv.err" &
	RECV_PID=$!
	n=0
	while [ ! -s "$tmp/port" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -s "$tmp/port" ]
}
stop_receiver() {
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
	RECV_PID=""
}
cleanup_more() {
	[ -z "${RECV_PID:-}" ] || stop_receiver
}

start_receiver 0 1000000
check webhook_receiver_started $? "$(cat "$tmp/recv.err")"
PORT=$(cat "$tmp/port")
mkdir "$tmp/spool"
cat >"$tmp/w.conf" <<EOF
regex_flag=/Bob/people/i
regex_flag=/^thanks/watch/i
alert_categories=people,watch
alert_webhook=http://127.0.0.1:$PORT/hook
spool_dir=$tmp/spool
jsonl_file=$tmp/all.jsonl
sensor_name=gw1
EOF
run() { # name
	"$I" read --config "$tmp/w.conf" --format none "$CAP" >/dev/null 2>"$tmp/$1.err"
}
received() {
	[ -f "$tmp/received" ] && wc -l <"$tmp/received" | tr -d ' ' || echo 0
}

run run1
grep -q '15 events stay in the write-ahead log' "$tmp/run1.err"
check webhook_failing_receiver_events_wait $? "$(cat "$tmp/run1.err")" "received: $(received)"
stop_receiver

run run2
grep -q 'events stay in the write-ahead log' "$tmp/run2.err" && [ "$(received)" = 0 ]
check webhook_receiver_gone_events_wait $? "$(cat "$tmp/run2.err")" "received: $(received)"

start_receiver "$PORT" 0
check webhook_receiver_back "$?" "$(cat "$tmp/recv.err")"
run run3
n3=$(received)
run run4
stop_receiver

# Flagged: every JSON lines event with a category; received: each once.
"$PY" - "$tmp/all.jsonl" "$tmp/received" >"$tmp/cmp.out" 2>&1 <<'EOF'
import json, sys
flagged = {}
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e.get("categories"):
        flagged[str(e["eventid"])] = e["text"]
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="utf-8")]
ids = [g[1] for g in got]
assert len(flagged) == 8, ("flagged in four runs", len(flagged))
assert sorted(ids) == sorted(flagged), ("received", sorted(ids), "flagged", sorted(flagged))
assert len(set(ids)) == len(ids), "a duplicate"
for key, eid, text in got:
    assert key == "gw1/" + eid, (key, eid)
    assert flagged[eid] == text, (eid, text)
print("ok")
EOF
check webhook_every_flagged_event_exactly_once "$(grep -qx ok "$tmp/cmp.out"; echo $?)" \
	"$(cat "$tmp/cmp.out")" "$(cat "$tmp/run3.err" "$tmp/run4.err")"
# Run 3 sent the six waiting (runs 1 to 3) before run 4 sent its two.
[ "$n3" = 6 ]
check webhook_backlog_sent_when_back $? "after run 3: $n3 received, want 6"
