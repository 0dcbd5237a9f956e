#!/bin/sh
# IMSpector 0.9's configuration, unchanged, live with real IRC peers
# (issue #18): ngircd in the server namespace, python3-irc clients alice
# and bob through the bridge, carol, dave and erin beyond it, imwired
# inline with tests/imspector09/imspector.conf (its /etc and /var paths
# pointed at this test's directory, nothing else changed).
#
# - The daemon starts, with one warning for each key imwire cannot honour
#   (ssl=on and the other keys of a TCP proxy), and no "unknown key".
# - The 0.9 ACL (tests/imspector09/acl.txt): alice may talk to carol and in
#   channels, not to erin; bob may not talk in channels; the first
#   matching line decides.
# - The 0.9 responder: each party of a conversation is told once
#   ("Message from IMSpector: -=Your activities are being logged=-": the
#   configured prefix and postfix), the local user by a NOTICE from the
#   server (visibly the system, not the other party), the remote by a
#   NOTICE in the local user's name; whoever sent what was blocked is told
#   so, with what it was.
# - A restart: the responder's file remembers, nobody is told again, and a
#   second blocked message within filtered_mins tells nobody either.
# Each client's received lines are checked exactly (command, apparent
# sender, target, text), every connection stays up until a clean QUIT,
# and the daemon's log has the originals with their filtered flags.
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

# ---- prerequisites, then the namespaces: a missing one is a FAIL, never a skip
live_test imspector09_live "imw09$$" ngircd sqlite3 iptables ss timeout "$PY" py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check imspector09_setup $?

if ! start_ngircd 300; then
	fail imspector09_server_listens "$(tail -5 "$tmp/ngircd.out")"
	exit 1
fi

# ---- the configuration: IMSpector 0.9's sample, paths moved here
sample=$TOP/tests/imspector09
cp "$sample/acl.txt" "$sample/badwords.txt" "$tmp/"
conf=$tmp/imspector.conf
write_config "$conf" 200
sed -e "s|/etc/imspector|$tmp|g; s|/var/lib/imspector|$tmp|g" \
	-e "s|/var/log/imspector|$tmp/log|g; s|/var/run|$tmp|g" "$sample/imspector.conf" >>"$conf"
mkdir -p "$tmp/log"
db=$tmp/responder.db

"$BIN/imwire" check-config "$conf" >"$tmp/check.out" 2>"$tmp/check.err"
check imspector09_check_config_passes $? "$(grep -v warning "$tmp/check.err" | head -3)"
fact imspector09_check_config_warnings_only 14 "$tmp/check.err" "imwire: warning: "
[ "$(grep -vc "imwire: warning: " "$tmp/check.err")" -eq 0 ]
check imspector09_check_config_nothing_else $? "$(grep -v "imwire: warning: " "$tmp/check.err")"

start_daemon "$conf"
check imspector09_daemon_starts $?
fact imspector09_daemon_warns_once_for_ssl 1 "$daemon_log" "warning:" ":$(grep -n '^ssl=on' "$conf" | cut -d: -f1): ssl: "
fact imspector09_daemon_warns_per_key 14 "$daemon_log" "warning:" "ignored"
[ "$(grep -c "unknown key" "$daemon_log")" -eq 0 ]
check imspector09_daemon_no_unknown_key $? "$(grep "unknown key" "$daemon_log")"

session() {
	run_session "$1" 60 "$PY" "$PEERS/irc_client.py" --kinds 10.77.0.2 6667
}
# received NAME USER...: each USER's lines sorted, without the "Connection
# statistics" notice ngircd sends everyone who quits.
received() {
	local n="$1" u
	shift
	for u in "$@"; do
		grep -v '^NOTICE irc.imwire.test [^ ]* Connection statistics: ' "$tmp/$n.out/$u.got" |
			sort >"$tmp/$n.out/$u.got.kept"
		mv "$tmp/$n.out/$u.got.kept" "$tmp/$n.out/$u.got"
	done
}
told="Message from IMSpector: -=Your activities are being logged=-"
blocked="Message from IMSpector: -=This was blocked:"

# ---------------------------------------------------------------------
# 1. First conversations. alice writes to carol: both are told, alice by
# the server, carol by a NOTICE in alice's name; carol's reply tells
# nobody. alice in #imwire: allowed (groupchat), nobody new. alice to
# erin: denied ("deny alice"), alice hears it was blocked, erin hears
# nothing. bob may not take part in channels ("deny bob groupchat"):
# alice's channel line never reaches him (he is told the chat is logged:
# his first event), his own is removed and he hears it was blocked; his
# message to dave passes and dave is told. erin writes to bob first: she
# hears the notice with bob's answer, the first line of his that reaches
# her.
n=first
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
join carol #imwire
signal carol $tmp/$n.online
wait carol 2
say carol alice hi alice
wait carol 3
wait dave 2
say erin bob hi bob
wait erin 2
quit carol
quit dave
quit erin
EOF
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
join alice #imwire
join bob #imwire
members alice #imwire alice bob carol
say alice carol hello carol
wait alice 2
say alice #imwire hello channel
say alice erin hello erin
wait alice 3
wait bob 1
say bob #imwire bob in channel
say bob dave hello dave
wait bob 3
say bob erin hi erin
quit alice
quit bob
EOF
session $n
received $n alice bob carol dave erin
sort >"$tmp/$n.alice.want" <<EOF
NOTICE irc.imwire.test alice $told
PRIVMSG carol alice hi alice
NOTICE irc.imwire.test alice $blocked hello erin=-
EOF
sort >"$tmp/$n.bob.want" <<EOF
NOTICE irc.imwire.test bob $told
NOTICE irc.imwire.test bob $blocked bob in channel=-
PRIVMSG erin bob hi bob
EOF
sort >"$tmp/$n.carol.want" <<EOF
PRIVMSG alice carol hello carol
NOTICE alice carol $told
PRIVMSG alice #imwire hello channel
EOF
sort >"$tmp/$n.dave.want" <<EOF
PRIVMSG bob dave hello dave
NOTICE bob dave $told
EOF
sort >"$tmp/$n.erin.want" <<EOF
PRIVMSG bob erin hi erin
NOTICE bob erin $told
EOF
check_received $n connection_up_until_clean_quit alice bob carol dave erin
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|hello carol|false
in|alice|carol|hi alice|false
out|alice|#imwire|hello channel|false
out|alice|erin|hello erin|true
in|bob|#imwire|alice: hello channel|true
out|bob|#imwire|bob in channel|true
out|bob|dave|hello dave|false
in|bob|erin|hi bob|false
out|bob|erin|hi erin|false
EOF
check_policy_log $n
# The responder's file: one row per user told, IMSpector's layout.
sqlite3 -separator '|' "$db" \
	"SELECT protocolname, userid, type FROM responder ORDER BY type, userid" >"$tmp/$n.db.got"
cat >"$tmp/$n.db.want" <<EOF
IRC|alice|1
IRC|bob|1
IRC|carol|1
IRC|dave|1
IRC|erin|1
IRC|alice|2
IRC|bob|2
EOF
same_lines ${n}_responder_file_remembers_who_was_told "$tmp/$n.db.want" "$tmp/$n.db.got"
end_scenario $n

# ---------------------------------------------------------------------
# 2. A restart with the same file: the same conversations tell nobody
# anything, and alice's second message to erin, blocked again within
# filtered_mins, brings no second "blocked" notice.
start_daemon "$conf"
check restart_daemon_starts $?
n=restart
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
signal carol $tmp/$n.online
wait carol 1
say carol alice welcome back
wait dave 1
quit carol
quit dave
quit erin
EOF
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
say alice carol hello again
wait alice 1
say alice erin hello again erin
say bob dave hello again dave
quit alice
quit bob
EOF
session $n
received $n alice bob carol dave erin
echo "PRIVMSG carol alice welcome back" >"$tmp/$n.alice.want"
echo "PRIVMSG alice carol hello again" >"$tmp/$n.carol.want"
echo "PRIVMSG bob dave hello again dave" >"$tmp/$n.dave.want"
check_received $n connection_up_until_clean_quit alice bob carol dave erin
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|hello again|false
in|alice|carol|welcome back|false
out|alice|erin|hello again erin|true
out|bob|dave|hello again dave|false
EOF
check_policy_log $n
sqlite3 -separator '|' "$db" \
	"SELECT protocolname, userid, type FROM responder ORDER BY type, userid" >"$tmp/$n.db.got"
same_lines ${n}_responder_file_unchanged "$tmp/first.db.want" "$tmp/$n.db.got"
end_scenario $n

exit 0
