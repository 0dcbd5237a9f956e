#!/bin/sh
# Watching a running imwired (issue 17, items 3, 5, 7), in a network
# namespace of its own (prefix imwpc<pid>, always removed) where loopback IRC
# on port 6667 goes through NFQUEUE 0:
#  - the start-up line names the version;
#  - sd_notify to a NOTIFY_SOCKET of the test's (a real datagram socket, as
#    systemd's): READY=1 with STATUS= once the queue is bound, STATUS=
#    updates, WATCHDOG=1 while the worker runs, STOPPING=1 at SIGTERM;
#  - the Prometheus exposition, read with curl and parsed by the Prometheus
#    client's own parser: every counter of the stats file, per worker, the
#    writer's counters, the IRC session and the message by protocol, kind
#    and direction; the textfile for node_exporter, the same families;
#  - the control socket (root only): `imwire sessions` lists the live IRC
#    session (protocol, local id, remote peer, client, since, events) while
#    it is open, `imwire tail` filtered by protocol and kind prints the
#    message as it passes, `imwire reload` says "ok", and for a broken file
#    "error" with status 1 while the daemon keeps running; a user other than
#    root is refused; the socket goes when the daemon stops.
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test
require_root pkg_control_needs_root || exit 1
require pkg_control_prerequisites curl ip iptables setpriv py:prometheus_client || exit 1
NS=imwpc$$
cleanup_more() {
	ip netns del "$NS" 2>/dev/null
}
ip netns add "$NS" && ip -n "$NS" link set lo up || { fail pkg_control_namespace; exit 1; }
for dir in --dport --sport; do
	ip netns exec "$NS" iptables -A OUTPUT -o lo -p tcp "$dir" 6667 -j NFQUEUE --queue-num 0 --queue-bypass
done
IN="ip netns exec $NS"

conf=$tmp/pkgctl.conf
cat >"$conf" <<EOF
jsonl_file=$tmp/events.jsonl
spool_dir=$tmp/spool
stats_file=$tmp/stats.json
metrics_listen=127.0.0.1:9477
metrics_textfile=$tmp/imwire.prom
control_socket=$tmp/ctl.sock
EOF
cp "$conf" "$tmp/good.conf"

# systemd's notification socket, played by a datagram socket of our own
cat >"$tmp/notify.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.monotonic() + 60
with open(sys.argv[2], "a") as out:
    while time.monotonic() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        for line in msg.split("\n"):
            out.write(line + "\n")
        out.flush()
        if "STOPPING=1" in msg:
            break
EOF
: >"$tmp/notify.log"
"$PY" "$tmp/notify.py" "$tmp/notify.sock" "$tmp/notify.log" &
server_pids=$!
wait_until 5 "$server_pids" test -S "$tmp/notify.sock"

: >"$daemon_log"
NOTIFY_SOCKET=$tmp/notify.sock WATCHDOG_USEC=2000000 $IN "$BIN/imwired" -d -c "$conf" \
	>"$daemon_log" 2>&1 &
daemon_pid=$!
wait_until 10 "$daemon_pid" log_has "$daemon_log" "queue 0: ready"
check control_daemon_starts $? "$(cat "$daemon_log")"
grep -q "imwired $("$TOP/scripts/version.sh") starting (configuration $conf)" "$daemon_log"
check control_startup_line_names_version $? "$(head -3 "$daemon_log")"
wait_until 5 "$daemon_pid" log_has "$tmp/notify.log" "^READY=1"
check notify_ready_once_queue_bound $? "$(cat "$tmp/notify.log")"
grep -A1 "^READY=1" "$tmp/notify.log" | grep -q "^STATUS=[0-9]* packets"
check notify_ready_comes_with_status $? "$(cat "$tmp/notify.log")"
wait_until 5 "$daemon_pid" log_has "$tmp/notify.log" "^WATCHDOG=1" 2
check notify_watchdog_pings $? "$(tail -5 "$tmp/notify.log")"

# An IRC session that stays open for a while: sessions and tail meanwhile.
printf 'expectline NICK alice\nsend :irc.example 001 alice :Welcome\nexpectline PRIVMSG bob :watched\nexpectline PRIVMSG bob :bye\nclose\n' >"$tmp/server.script"
printf 'send NICK alice\nexpectline :irc.example 001 alice :Welcome\nsleep 2.5\nsend PRIVMSG bob :watched\nsleep 2.5\nsend PRIVMSG bob :bye\nsleep 0.3\nclose\n' >"$tmp/client.script"
$IN "$PY" "$PEERS/linepeer.py" server 6667 "$tmp/server.script" "$tmp/server.out" &
peer_pids=$!
wait_until 5 "$peer_pids" port_listens "$IN" 6667
"$BIN/imwire" tail -c "$conf" --proto irc --kind message -n 1 >"$tmp/tail.out" 2>&1 &
tail_pid=$!
$IN "$PY" "$PEERS/linepeer.py" client 127.0.0.1 6667 "$tmp/client.script" "$tmp/client.out" &
client_pid=$!
peer_pids="$peer_pids $client_pid"
sleep 1.5 # logged in, the message not sent yet
"$BIN/imwire" sessions -c "$conf" >"$tmp/sessions" 2>&1
rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/sessions" | grep -qx "$(printf 'proto\tlocal\tpeer\tclient\tsince\tevents')" &&
	grep -q "$(printf '^irc\talice\t127.0.0.1:6667\t127.0.0.1:[0-9]*\t20[0-9-]*T[0-9:]*Z\t[0-9]')" "$tmp/sessions"
check control_sessions_lists_live_irc_session $? "rc $rc" "$(cat "$tmp/sessions")"
"$BIN/imwire" sessions -c "$conf" --json >"$tmp/sessions.json" 2>&1
"$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
irc = [r for r in rows if r.get("proto") == "irc" and r["local"] == "alice"]
assert irc and irc[0]["peer"] == "127.0.0.1:6667" and irc[0]["events"] >= 1, rows
' "$tmp/sessions.json" 2>"$tmp/err"
check control_sessions_json $? "$(cat "$tmp/sessions.json" "$tmp/err")"
wait_until 10 "$tail_pid" test -s "$tmp/tail.out"
wait "$tail_pid"
rc=$?
"$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
e = json.loads(lines[0])
assert e["proto"] == "irc" and e["kind"] == "message" and e["text"] == "watched" and e["local"] == "alice", e
' "$tmp/tail.out" 2>"$tmp/err"
check control_tail_prints_the_filtered_event_live "$([ $rc -eq 0 ] && [ ! -s "$tmp/err" ]; echo $?)" \
	"rc $rc" "$(cat "$tmp/tail.out" "$tmp/err")"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$BIN/imwire" sessions -c "$conf" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "Permission denied" "$tmp/out"
check control_socket_refuses_non_root $? "rc $rc: $(cat "$tmp/out")"

# ---- metrics --------------------------------------------------------------
sleep 1.2 # a stats file and a textfile written after the message
$IN curl -sf http://127.0.0.1:9477/metrics >"$tmp/metrics" 2>"$tmp/err"
check metrics_served_over_http $? "$(cat "$tmp/err")"
cat >"$tmp/prom.py" <<'EOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def sample(name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None
stats = json.load(open(sys.argv[2]))
w = stats["workers"][0]
missing = []
def walk(prefix, obj):
    for k, v in obj.items():
        if k in ("name",):
            continue
        if isinstance(v, dict):
            walk(k, v)
        elif prefix == "sessions":
            if sample("imwire_sessions_detected_total", worker=w["name"], proto=k) is None:
                missing.append("sessions." + k)
        else:
            name = "imwire_" + (prefix + "_" if prefix else "") + k
            if sample(name, worker=w["name"]) is None and sample(name + "_total", worker=w["name"]) is None:
                missing.append(name)
walk("", w)
assert not missing, "stats counters missing from the metrics: %s" % missing
assert sample("imwire_engine_packets_total", worker="queue 0") >= 6
assert sample("imwire_sessions_detected_total", worker="queue 0", proto="irc") >= 1
assert sample("imwire_events_total", proto="irc", kind="message", dir="out") >= 1
assert sample("imwire_build_info", version=sys.argv[3]) == 1
assert any(n.startswith("imwire_writer_") for n in fams), sorted(fams)
print(len(fams), "families")
EOF
"$PY" "$tmp/prom.py" "$tmp/metrics" "$tmp/stats.json" "$("$TOP/scripts/version.sh")" >"$tmp/prom.out" 2>&1
check metrics_parse_and_hold_every_stats_counter $? "$(tail -5 "$tmp/prom.out")"
"$PY" "$tmp/prom.py" "$tmp/imwire.prom" "$tmp/stats.json" "$("$TOP/scripts/version.sh")" >"$tmp/prom.out" 2>&1
check metrics_textfile_for_node_exporter $? "$(tail -5 "$tmp/prom.out")"
$IN "$PY" -c 'import urllib.request, sys
try:
    urllib.request.urlopen("http://127.0.0.1:9477/other")
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 404 else 1)
sys.exit(1)'
check metrics_other_paths_404 $?

# ---- reload ---------------------------------------------------------------
"$BIN/imwire" reload -c "$conf" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^ok configuration reloaded from $conf" "$tmp/out"
check control_reload_ok $? "rc $rc: $(cat "$tmp/out")"
echo "no_such_key=1" >>"$conf"
"$BIN/imwire" reload -c "$tmp/good.conf" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^error refused, the old configuration keeps running: .*no_such_key: unknown key" "$tmp/out" &&
	kill -0 "$daemon_pid"
check control_reload_refused_says_why $? "rc $rc: $(cat "$tmp/out")"
cp "$tmp/good.conf" "$conf"
grep -q "STATUS=configuration refused" "$tmp/notify.log"
check notify_status_after_refused_reload $?

for p in $peer_pids; do wait "$p"; done
peer_pids=""
stop_pid "$daemon_pid"
daemon_pid=""
check control_daemon_stops_cleanly "$stopped_rc" "$(tail -5 "$daemon_log")"
wait_until 5 "$server_pids" log_has "$tmp/notify.log" "^STOPPING=1"
check notify_stopping $?
[ ! -e "$tmp/ctl.sock" ]
check control_socket_removed_at_stop $?
