#!/bin/sh
# The policy stage live with real IRC peers: ngircd in the server
# namespace, python3-irc clients on both sides of the bridge
# (tests/peers/irc_client.py, driven by a small wrapper that adds a
# "signal" step and records CTCP requests: alice and bob through it,
# carol, dave and erin beyond it), imwired inline on the bridge, one
# IMSpector filter configuration after another (a restart, or SIGHUP for
# the regex): bad words (replaced in place, blocked above
# badwords_block_count), the ACL files with block_unlisted and channels as
# remotes, the SQLite DB filter with its AWL and a row added while the
# daemon runs, a length-changing regex rewrite, and block_files removing
# CTCP DCC SEND offers in both directions. Each scenario checks what every
# client received, that every connection stayed up until a clean QUIT,
# and the daemon's log: original texts, filtered flags, local and remote
# ids.
# IRC ids: local is the client's nick, remote the other nick for a private
# message and the channel for a channel message (whose logged incoming
# text then starts with "sender: ").
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
PY=/usr/bin/python3
PEERS="$TOP/tests/peers"
tmp=$(mktemp -d)
# ngircd drops to an unprivileged user: let it read its files.
chmod 755 "$tmp"
P="imwpi$$"
B="ip netns exec $P-b"
C="ip netns exec $P-c"
S="ip netns exec $P-s"
daemon_pid=""
server_pid=""
peer_pids=""
topology=0

stop_pid() { # pid: TERM, then at most 5 s before KILL; exit status in $stopped_rc
	stopped_rc=0
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	stopped_rc=$?
}

cleanup() {
	for p in $peer_pids $server_pid $daemon_pid; do stop_pid "$p"; done
	if [ $topology -eq 1 ]; then
		$B "$BIN/imwire" setup --remove >/dev/null 2>&1
		"$TOP/scripts/netns-topology.sh" down "$P" >/dev/null 2>&1
	fi
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap "exit 1" INT TERM # through the EXIT trap, once

failed_here=0
pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && printf '  %s\n' "$@"
	failed_here=1
}
check() { # name, status (0 = pass), details...
	local name=$1 st=$2
	shift 2
	if [ "$st" -eq 0 ]; then pass "$name"; else fail "$name" "$@"; fi
}
same_lines() { # name, expected-file, got-file
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected $(wc -l <"$2") lines, got $(wc -l <"$3" 2>/dev/null)"
		diff "$2" "$3" 2>&1 | head -20 | cut -c1-200 | cat -v | sed 's/^/    /'
	fi
}

# ---- prerequisites: a missing one is a FAIL, never a skip --------------
if [ "$(id -u)" != 0 ]; then
	fail inline_policy_irc_needs_root
	exit 1
fi
missing=""
for tool in ngircd sqlite3 iptables ss timeout $PY; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
$PY -c 'import irc.client' 2>/dev/null || missing="$missing python3-irc"
if [ -n "$missing" ]; then
	fail inline_policy_irc_prerequisites "missing:$missing (run scripts/install-deps.sh)"
	exit 1
fi
if ! "$TOP/scripts/netns-topology.sh" up "$P" >/dev/null; then
	fail inline_policy_irc_topology
	exit 1
fi
topology=1
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check irc_policy_setup $?

# ---- the clients: irc_client.py plus "signal NICK FILE" (creates FILE, so
# the other side starts once this one is on) and CTCP requests recorded
# as "SENDER TARGET CTCP WORDS", so an offer that got through would show.
cat >"$tmp/irc_peer.py" <<'EOF'
import sys

sys.path.insert(0, sys.argv[1])
import irc.client
import irc_client


class Driver(irc_client.Driver):
    def __init__(self, *args):
        super().__init__(*args)
        self.irc.add_global_handler("ctcp", self.on_ctcp)

    def on_ctcp(self, conn, ev):
        p = self.peer(conn)
        text = "CTCP " + " ".join(ev.arguments)
        p.got.append((ev.source.nick, ev.target, text))
        p.got_file.write("%s %s %s\n" % (ev.source.nick, ev.target, text))
        p.got_file.flush()

    def step(self, words, rest):
        if words[0] == "signal":
            open(words[2], "w").close()
            return True
        return super().step(words, rest)


def main():
    host, port, plan, outdir = sys.argv[2:6]
    d = Driver(host, int(port), outdir)
    rc = 0
    with open(plan, encoding="utf-8") as f:
        steps = [l.rstrip("\n") for l in f]
    try:
        for n, line in enumerate(steps, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            words = line.split()
            rest = line.split(None, 3)[3] if words[0] == "say" else ""
            if not d.step(words, rest):
                print("step %d failed or timed out: %s" % (n, line), file=sys.stderr)
                rc = 1
                break
    except (irc.client.ServerConnectionError, OSError) as err:
        print("connection error: %s" % err, file=sys.stderr)
        rc = 1
    d.finish()
    sys.exit(rc)


main()
EOF

# ---- daemon --------------------------------------------------------------
write_config() { # name, extra lines...: $tmp/NAME.conf logging to $tmp/events.jsonl
	f="$tmp/$1.conf"
	shift
	printf 'jsonl_file=%s\nhold_deadline_ms=200\n' "$tmp/events.jsonl" >"$f"
	for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
}

start_daemon() { # config name
	rm -f "$tmp/events.jsonl"
	: >"$tmp/daemon.log"
	$B "$BIN/imwired" -d -c "$tmp/$1.conf" >"$tmp/daemon.log" 2>&1 &
	daemon_pid=$!
	i=0
	while ! grep -q "queue 0: ready" "$tmp/daemon.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			sed 's/^/    daemon: /' "$tmp/daemon.log"
			return 1
		fi
		sleep 0.05
	done
}

stop_daemon() { # true when it stopped cleanly, with its statistics and no sanitizer report
	[ -n "$daemon_pid" ] || return 1
	stop_pid "$daemon_pid"
	daemon_pid=""
	cat "$tmp/daemon.log" >>"$tmp/daemon.all.log"
	[ "$stopped_rc" -eq 0 ] && grep -q "queue 0: .* packets" "$tmp/daemon.log" &&
		! grep -q "Sanitizer\|runtime error" "$tmp/daemon.log"
}

end_scenario() { # name: stop the daemon, show its log if something failed
	local stats
	stop_daemon
	check "$1_daemon_stops_cleanly" $? "exit status $stopped_rc"
	# Every edit the policy asked for was made (the line is written at exit).
	stats=$(grep "queue 0: .* packets" "$tmp/daemon.log")
	echo "$stats" | grep -q "refused: 0 committed, 0 too big, 0 not encodable;"
	check "$1_no_edit_refused" $? "$stats"
	if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
		sed 's/^/    daemon: /' "$tmp/daemon.log"
	fi
	failed_here=0
}

# ---- ngircd --------------------------------------------------------------
mkdir -p "$tmp/ngircd.d"
cat >"$tmp/ngircd.conf" <<EOF
[Global]
Name = irc.imwire.test
Info = imwire test server
AdminInfo1 = imwire tests
AdminInfo2 = network namespace
AdminEMail = nobody@imwire.test
Listen = 10.77.0.2
Ports = 6667
MotdPhrase = imwire test
PidFile = $tmp/ngircd.pid
[Limits]
PingTimeout = 600
PongTimeout = 60
MaxNickLength = 16
[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = $tmp/ngircd.d
EOF
$S timeout 300 ngircd -n -f "$tmp/ngircd.conf" >"$tmp/ngircd.out" 2>&1 &
server_pid=$!
i=0
until $S ss -Hltn "sport = :6667" | grep -q .; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		fail irc_policy_server_listens "$(tail -5 "$tmp/ngircd.out")"
		exit 1
	fi
	sleep 0.1
done

# ---- one conversation: the far side first, the bridged side once it is on
# run_session NAME: plans $tmp/NAME.far (carol, dave, erin: beyond the
# bridge; connected, it does "signal carol $tmp/NAME.online" and speaks
# only once alice has written to carol, so everyone is online) and
# $tmp/NAME.near (alice, bob: through the bridge); received texts in
# $tmp/NAME.out/NICK.got.
run_session() {
	local n=$1 far i rc_near rc_far
	mkdir -p "$tmp/$n.out"
	$S timeout 60 $PY "$tmp/irc_peer.py" "$PEERS" 10.77.0.2 6667 \
		"$tmp/$n.far" "$tmp/$n.out" >"$tmp/$n.far.err" 2>&1 &
	far=$!
	peer_pids="$far"
	i=0
	while [ ! -e "$tmp/$n.online" ] && kill -0 $far 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	$C timeout 60 $PY "$tmp/irc_peer.py" "$PEERS" 10.77.0.2 6667 \
		"$tmp/$n.near" "$tmp/$n.out" >"$tmp/$n.near.err" 2>&1
	rc_near=$?
	wait $far
	rc_far=$?
	peer_pids=""
	[ $rc_near -eq 0 ] && [ $rc_far -eq 0 ]
	check "${n}_clients_complete_their_plans" $? \
		"near rc $rc_near: $(tail -3 "$tmp/$n.near.err")" \
		"far rc $rc_far: $(tail -3 "$tmp/$n.far.err" 2>/dev/null)"
}

# check_received NAME NICK: $tmp/NAME.NICK.want is exactly what NICK got,
# and NICK's connection stayed up until the server answered our QUIT.
check_received() {
	local n=$1 u=$2 st
	[ -e "$tmp/$n.$u.want" ] || : >"$tmp/$n.$u.want"
	same_lines "${n}_${u}_received_exactly" "$tmp/$n.$u.want" "$tmp/$n.out/$u.got"
	st=$(cat "$tmp/$n.out/$u.status" 2>/dev/null)
	[ "$st" = clean ]
	check "${n}_${u}_connection_up_until_clean_quit" $? "status: ${st:-none}"
}

# The daemon's events of KIND (message by default) as
# "dir|local|remote|text|filtered", in log order for each local id.
log_events() { # jsonl file [kind]
	$PY - "$1" "${2:-message}" <<'EOF'
import json, sys
rows = []
with open(sys.argv[1], encoding="utf-8") as f:
    for n, line in enumerate(f):
        ev = json.loads(line)
        if ev.get("kind") != sys.argv[2]:
            continue
        text = ev.get("text", "") if sys.argv[2] != "file" else ev.get("file_name", "")
        rows.append((ev.get("local", ""), n, "|".join((ev.get("dir", ""), ev.get("local", ""),
            ev.get("remote", ""), text, "true" if ev.get("filtered") else "false"))))
for _l, _n, text in sorted(rows):
    print(text)
EOF
}

check_log() { # name [events file]: $tmp/NAME.log.want against the daemon's log
	local events=${2:-$tmp/events.jsonl}
	log_events "$events" >"$tmp/$1.log.got" 2>&1
	same_lines "$1_daemon_logged_originals_and_filtered_flags" "$tmp/$1.log.want" "$tmp/$1.log.got"
	[ "$(grep -c '"kind":"error"' "$events")" -eq 0 ]
	check "$1_daemon_logged_no_error" $? "$(grep '"kind":"error"' "$events" | head -3)"
}

# ---------------------------------------------------------------------
# 1. Bad words: each one replaced by as many '#'; more than two blocks the
# message, which the recipient never gets and the log keeps with
# filtered=true. alice's messages are censored on her flow and so reach
# bob's already censored; carol, beyond the bridge, makes the filter act
# on server->client, in a channel too.
n=badwords
printf 'frak\nsmeg\n' >"$tmp/badwords.txt"
write_config $n "badwords_filename=$tmp/badwords.txt" "badwords_replace_character=#" \
	"badwords_block_count=2"
start_daemon $n
check ${n}_daemon_starts $?
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
join alice #imwire
join bob #imwire
say alice carol ready
say alice bob what the FRAK
say alice bob frak smeg frak
say alice bob frak, :smeg: stays
say alice bob after
say alice #imwire smeggy channel
wait bob 4
wait alice 3
quit alice
quit bob
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
join carol #imwire
signal carol $tmp/$n.online
wait carol 2
say carol alice smeg off, Smeg!
say carol alice smeg smeg smeg
say carol #imwire frak in channel
say carol #imwire frak frak frak in channel
say carol alice end
quit carol
EOF
run_session $n
cat >"$tmp/$n.bob.want" <<EOF
alice bob what the ####
alice bob ####, :####: stays
alice bob after
alice #imwire ####gy channel
carol #imwire #### in channel
EOF
cat >"$tmp/$n.alice.want" <<EOF
carol alice #### off, ####!
carol #imwire #### in channel
carol alice end
EOF
printf 'alice carol ready\nalice #imwire ####gy channel\n' >"$tmp/$n.carol.want"
for u in alice bob carol; do check_received $n $u; done
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|false
out|alice|bob|what the FRAK|false
out|alice|bob|frak smeg frak|true
out|alice|bob|frak, :smeg: stays|false
out|alice|bob|after|false
out|alice|#imwire|smeggy channel|false
in|alice|carol|smeg off, Smeg!|false
in|alice|carol|smeg smeg smeg|true
in|alice|#imwire|carol: frak in channel|false
in|alice|#imwire|carol: frak frak frak in channel|true
in|alice|carol|end|false
in|bob|alice|what the ####|false
in|bob|alice|####, :####: stays|false
in|bob|alice|after|false
in|bob|#imwire|alice: ####gy channel|false
in|bob|#imwire|carol: frak in channel|false
in|bob|#imwire|carol: frak frak frak in channel|true
EOF
check_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 2. ACL: alice's whitelist names bob, carol and #imwire (carol passes
# though blacklisted: the whitelist goes first), dave is blacklisted, erin
# and #other unlisted (block_unlisted=on; alice's whitelist line also
# means "none else"). bob's line lets alice and both channels in. A
# channel message is judged by the channel, whoever wrote it.
n=acl
printf 'alice: bob carol #imwire\nbob: alice #imwire #other\n' >"$tmp/white.txt"
printf 'alice: carol dave\n' >"$tmp/black.txt"
write_config $n "whitelist_filename=$tmp/white.txt" "blacklist_filename=$tmp/black.txt" \
	"block_unlisted=on"
start_daemon $n
check ${n}_daemon_starts $?
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
join alice #imwire
join bob #imwire
join alice #other
join bob #other
say alice carol ready
say alice bob to bob
say alice dave to dave
say alice erin to erin
say alice #other to other
say alice #imwire to channel
wait bob 4
wait alice 2
quit alice
quit bob
EOF
# Each far sender hands over to the next: their messages reach alice's
# connection in this order.
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
join carol #imwire
join carol #other
join dave #imwire
signal carol $tmp/$n.online
wait carol 2
say dave alice from dave
say dave #imwire dave in channel
say dave erin your turn
wait erin 1
say erin alice from erin
say erin carol your turn
wait carol 4
say carol #other carol in other
say carol alice end
quit carol
quit dave
quit erin
EOF
run_session $n
cat >"$tmp/$n.bob.want" <<EOF
alice bob to bob
alice #imwire to channel
dave #imwire dave in channel
carol #other carol in other
EOF
printf 'dave #imwire dave in channel\ncarol alice end\n' >"$tmp/$n.alice.want"
cat >"$tmp/$n.carol.want" <<EOF
alice carol ready
alice #imwire to channel
dave #imwire dave in channel
erin carol your turn
EOF
echo "alice #imwire to channel" >"$tmp/$n.dave.want"
echo "dave erin your turn" >"$tmp/$n.erin.want"
for u in alice bob carol dave erin; do check_received $n $u; done
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|false
out|alice|bob|to bob|false
out|alice|dave|to dave|true
out|alice|erin|to erin|true
out|alice|#other|to other|true
out|alice|#imwire|to channel|false
in|alice|dave|from dave|true
in|alice|#imwire|dave: dave in channel|false
in|alice|erin|from erin|true
in|alice|#other|carol: carol in other|true
in|alice|carol|end|false
in|bob|alice|to bob|false
in|bob|#imwire|alice: to channel|false
in|bob|#imwire|dave: dave in channel|false
in|bob|#other|carol: carol in other|false
EOF
check_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 3. The DB filter: an AWL rule for everyone, dave blocked for alice.
# dave's first message is blocked; alice writes to him, which adds an AUTO
# ACCEPT row, and his reply passes. Then, the daemon still running, a
# BLOCK row for erin: her next message is blocked.
n=db
db="$tmp/filter.db"
write_config $n "db_filter_filename=$db"
start_daemon $n
check ${n}_daemon_starts $?
sqlite3 "$db" "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES
	(NULL, NULL, 3, 1, 0), ('alice', 'dave', 2, 1, 0);"
check ${n}_rules_inserted $?
cat >"$tmp/$n.near" <<EOF
connect alice
say alice carol ready
wait alice 1
say alice dave hello dave
wait alice 2
quit alice
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
signal carol $tmp/$n.online
wait carol 1
say dave alice dave before
say dave erin your turn
wait erin 1
say erin alice erin one
wait dave 1
say dave alice reply from dave
quit carol
quit dave
quit erin
EOF
run_session $n
printf 'erin alice erin one\ndave alice reply from dave\n' >"$tmp/$n.alice.want"
echo "alice carol ready" >"$tmp/$n.carol.want"
echo "alice dave hello dave" >"$tmp/$n.dave.want"
echo "dave erin your turn" >"$tmp/$n.erin.want"
for u in alice carol dave erin; do check_received $n $u; done
auto=$(sqlite3 -separator '|' "$db" "SELECT localid, remoteid FROM lists WHERE action=1 AND type=2 ORDER BY remoteid")
[ "$auto" = "$(printf 'alice|carol\nalice|dave')" ]
check ${n}_awl_added_auto_accept_rows $? "AUTO rows: ${auto:-none}"

n=db_live
sqlite3 "$db" "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES ('alice', 'erin', 2, 1, 0);"
check ${n}_block_row_inserted_while_running $?
cat >"$tmp/$n.near" <<EOF
connect alice
say alice carol ready
wait alice 1
quit alice
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
signal carol $tmp/$n.online
wait carol 1
say erin alice erin two
say erin dave your turn
wait dave 1
say dave alice dave again
quit carol
quit dave
quit erin
EOF
run_session $n
echo "dave alice dave again" >"$tmp/$n.alice.want"
echo "alice carol ready" >"$tmp/$n.carol.want"
echo "erin dave your turn" >"$tmp/$n.dave.want"
for u in alice carol dave erin; do check_received $n $u; done
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|false
in|alice|dave|dave before|true
in|alice|erin|erin one|false
out|alice|dave|hello dave|false
in|alice|dave|reply from dave|false
out|alice|carol|ready|false
in|alice|erin|erin two|true
in|alice|dave|dave again|false
EOF
check_log $n

# ---------------------------------------------------------------------
# 4. SIGHUP to a regex rewrite that changes the length (card numbers), both
# directions, private and channel messages.
n=regex
# The running daemon rereads the file it was started with.
write_config db 'regex_replace=/([0-9]{4})-[0-9]{4}-[0-9]{4}-([0-9]{4})/\1-****-****-\2 (card number removed)/'
kill -HUP "$daemon_pid"
i=0
while ! grep -q "configuration reloaded" "$tmp/daemon.log" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q "configuration reloaded" "$tmp/daemon.log"
check ${n}_sighup_reloads $? "$(tail -3 "$tmp/daemon.log")"
lines_before=$(wc -l <"$tmp/events.jsonl")
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
join alice #imwire
join bob #imwire
say alice carol ready
say alice bob my card is 1234-5678-9012-3456 ok
say alice #imwire cards: 1111-2222-3333-4444 & 5555-6666-7777-8888
wait bob 3
wait alice 2
quit alice
quit bob
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
join carol #imwire
signal carol $tmp/$n.online
wait carol 2
say carol alice yours: 9999-8888-7777-6666, right?
say carol #imwire mine: 0000-1111-2222-3333
quit carol
EOF
run_session $n
cat >"$tmp/$n.bob.want" <<EOF
alice bob my card is 1234-****-****-3456 (card number removed) ok
alice #imwire cards: 1111-****-****-4444 (card number removed) & 5555-****-****-8888 (card number removed)
carol #imwire mine: 0000-****-****-3333 (card number removed)
EOF
cat >"$tmp/$n.alice.want" <<EOF
carol alice yours: 9999-****-****-6666 (card number removed), right?
carol #imwire mine: 0000-****-****-3333 (card number removed)
EOF
cat >"$tmp/$n.carol.want" <<EOF
alice carol ready
alice #imwire cards: 1111-****-****-4444 (card number removed) & 5555-****-****-8888 (card number removed)
EOF
for u in alice bob carol; do check_received $n $u; done
# Only this scenario's events: the log file is the DB scenario's too.
tail -n +$((lines_before + 1)) "$tmp/events.jsonl" >"$tmp/$n.events"
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|false
out|alice|bob|my card is 1234-5678-9012-3456 ok|false
out|alice|#imwire|cards: 1111-2222-3333-4444 & 5555-6666-7777-8888|false
in|alice|carol|yours: 9999-8888-7777-6666, right?|false
in|alice|#imwire|carol: mine: 0000-1111-2222-3333|false
in|bob|alice|my card is 1234-****-****-3456 (card number removed) ok|false
in|bob|#imwire|alice: cards: 1111-****-****-4444 (card number removed) & 5555-****-****-8888 (card number removed)|false
in|bob|#imwire|carol: mine: 0000-1111-2222-3333|false
EOF
check_log $n "$tmp/$n.events"
end_scenario db_regex

# ---------------------------------------------------------------------
# 5. block_files: a CTCP DCC SEND offer never reaches the other client
# (alice's to bob on her flow, carol's to alice on the server's), the
# lines around it do, and the log has the offer as a filtered file event.
n=files
write_config $n "block_files=on"
start_daemon $n
check ${n}_daemon_starts $?
dcc=$(printf '\001DCC SEND report.pdf 167772161 5000 1234\001')
dcc_far=$(printf '\001DCC SEND "my notes.txt" 167772162 5001 99\001')
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
say alice carol ready
say alice bob $dcc
say alice bob after the offer
wait bob 1
wait alice 1
quit alice
quit bob
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
signal carol $tmp/$n.online
wait carol 1
say carol alice $dcc_far
say carol alice end
quit carol
EOF
run_session $n
echo "alice bob after the offer" >"$tmp/$n.bob.want"
echo "carol alice end" >"$tmp/$n.alice.want"
echo "alice carol ready" >"$tmp/$n.carol.want"
for u in alice bob carol; do check_received $n $u; done
# irc.c makes an offer's PDU two events, a message (the CTCP body) and a
# file event after it. block_files judges the file event, and the PDU goes:
# every event of a removed PDU is logged filtered, the message too.
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|false
out|alice|bob|DCC SEND report.pdf 167772161 5000 1234|true
out|alice|bob|after the offer|false
in|alice|carol|DCC SEND "my notes.txt" 167772162 5001 99|true
in|alice|carol|end|false
in|bob|alice|after the offer|false
EOF
check_log $n
log_events "$tmp/events.jsonl" file >"$tmp/$n.files.got" 2>&1
cat >"$tmp/$n.files.want" <<EOF
out|alice|bob|report.pdf|true
in|alice|carol|my notes.txt|true
EOF
same_lines ${n}_daemon_logged_offers_as_filtered_file_events "$tmp/$n.files.want" "$tmp/$n.files.got"
end_scenario $n

$B "$BIN/imwire" setup --remove >/dev/null
exit 0
