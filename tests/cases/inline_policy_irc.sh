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
. "$TOP/tests/lib.sh"
begin_test

# ---- prerequisites, then the namespaces: a missing one is a FAIL, never a skip
live_test inline_policy_irc "imwpi$$" ngircd sqlite3 iptables ss timeout "$PY" py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check irc_policy_setup $?

# ---- the clients: tests/peers/irc_client.py with --ctcp, so CTCP requests
# are recorded as "SENDER TARGET CTCP WORDS" and an offer that got through
# would show.

# ---- ngircd --------------------------------------------------------------
if ! start_ngircd 300; then
	fail irc_policy_server_listens "$(tail -5 "$tmp/ngircd.out")"
	exit 1
fi

# ---- one conversation: the far side first, the bridged side once it is on
# session NAME: plans $tmp/NAME.far (carol, dave, erin: beyond the bridge;
# connected, it does "signal carol $tmp/NAME.online" and speaks only once
# alice has written to carol, so everyone is online) and $tmp/NAME.near
# (alice, bob: through the bridge); received texts in $tmp/NAME.out/NICK.got.
session() {
	run_session "$1" 60 "$PY" "$PEERS/irc_client.py" --ctcp 10.77.0.2 6667
}
# ---------------------------------------------------------------------
# 1. Bad words: each one replaced by as many '#'; more than two blocks the
# message, which the recipient never gets and the log keeps with
# filtered=true. alice's messages are censored on her flow and so reach
# bob's already censored; carol, beyond the bridge, makes the filter act
# on server->client, in a channel too.
n=badwords
printf 'frak\nsmeg\n' >"$tmp/badwords.txt"
write_config "$tmp/$n.conf" 200 "badwords_filename=$tmp/badwords.txt" \
	"badwords_replace_character=#" "badwords_block_count=2"
start_daemon "$tmp/$n.conf"
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
session $n
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
check_received $n connection_up_until_clean_quit alice bob carol
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
check_policy_log $n
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
write_config "$tmp/$n.conf" 200 "whitelist_filename=$tmp/white.txt" \
	"blacklist_filename=$tmp/black.txt" "block_unlisted=on"
start_daemon "$tmp/$n.conf"
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
session $n
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
check_received $n connection_up_until_clean_quit alice bob carol dave erin
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
check_policy_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 3. The DB filter: an AWL rule for everyone, dave blocked for alice.
# dave's first message is blocked; alice writes to him, which adds an AUTO
# ACCEPT row, and his reply passes. Then, the daemon still running, a
# BLOCK row for erin: her next message is blocked.
n=db
db="$tmp/filter.db"
write_config "$tmp/$n.conf" 200 "db_filter_filename=$db"
start_daemon "$tmp/$n.conf"
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
session $n
printf 'erin alice erin one\ndave alice reply from dave\n' >"$tmp/$n.alice.want"
echo "alice carol ready" >"$tmp/$n.carol.want"
echo "alice dave hello dave" >"$tmp/$n.dave.want"
echo "dave erin your turn" >"$tmp/$n.erin.want"
check_received $n connection_up_until_clean_quit alice carol dave erin
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
session $n
echo "dave alice dave again" >"$tmp/$n.alice.want"
echo "alice carol ready" >"$tmp/$n.carol.want"
echo "erin dave your turn" >"$tmp/$n.dave.want"
check_received $n connection_up_until_clean_quit alice carol dave erin
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
check_policy_log $n

# ---------------------------------------------------------------------
# 4. SIGHUP to a regex rewrite that changes the length (card numbers), both
# directions, private and channel messages.
n=regex
# The running daemon rereads the file it was started with.
write_config "$tmp/db.conf" 200 \
	'regex_replace=/([0-9]{4})-[0-9]{4}-[0-9]{4}-([0-9]{4})/\1-****-****-\2 (card number removed)/'
reload_daemon "configuration reloaded"
check ${n}_sighup_reloads $? "$(tail -3 "$daemon_log")"
log_settles "$tmp/events.jsonl" # the previous scenario's events all in
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
session $n
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
check_received $n connection_up_until_clean_quit alice bob carol
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
check_policy_log $n "$tmp/$n.events"
end_scenario db_regex

# ---------------------------------------------------------------------
# 5. block_files: a CTCP DCC SEND offer never reaches the other client
# (alice's to bob on her flow, carol's to alice on the server's), the
# lines around it do, and the log has the offer as a filtered file event.
n=files
write_config "$tmp/$n.conf" 200 "block_files=on"
start_daemon "$tmp/$n.conf"
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
session $n
echo "alice bob after the offer" >"$tmp/$n.bob.want"
echo "carol alice end" >"$tmp/$n.alice.want"
echo "alice carol ready" >"$tmp/$n.carol.want"
check_received $n connection_up_until_clean_quit alice bob carol
# An offer's PDU is a file event only (no message); block_files judges it
# and the PDU goes, logged filtered.
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|false
out|alice|bob|after the offer|false
in|alice|carol|end|false
in|bob|alice|after the offer|false
EOF
check_policy_log $n
log_fields "$tmp/events.jsonl" file dir local remote file_name filtered 2>&1 | by_local \
	>"$tmp/$n.files.got"
cat >"$tmp/$n.files.want" <<EOF
out|alice|bob|report.pdf|true
in|alice|carol|my notes.txt|true
EOF
same_lines ${n}_daemon_logged_offers_as_filtered_file_events "$tmp/$n.files.want" "$tmp/$n.files.got"
end_scenario $n

exit 0
