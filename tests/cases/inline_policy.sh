#!/bin/sh
# The policy stage live: imwired inline on a bridge between two network
# namespaces, real kernel TCP stacks on both ends (tests/peers/linepeer.py
# speaking IRC), IMSpector's filters configured as IMSpector users write
# them. Each scenario asserts what each receiver got and what was logged.
# Needs root (network namespaces, iptables, NFQUEUE).
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root inline_policy "needs root for network namespaces and NFQUEUE" || exit 0
require inline_policy sqlite3 || exit 0
topology_up "imwip$$" || { fail inline_policy "cannot create the netns topology"; exit 0; }
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null

logged() { # NAME PATTERN [COUNT]: the jsonl log has COUNT (default 1+) lines matching
	logged_soon "$tmp/events.jsonl" "$2" "${3:-1}"
	c=$(grep -c -- "$2" "$tmp/events.jsonl" 2>/dev/null)
	if { [ $# -ge 3 ] && [ "$c" = "$3" ]; } || { [ $# -lt 3 ] && [ "${c:-0}" -ge 1 ]; }; then
		pass "$1"
	else
		fail "$1" "$c lines match $2"
	fi
}

# ---------------------------------------------------------------------
# 1. Bad words (IMSpector's content manipulation): replaced in place, the
# message blocked above badwords_block_count; the log keeps the original.
printf 'frak\nsmeg\n' >"$tmp/badwords.txt"
write_config "$tmp/bw.conf" 200 "badwords_filename=$tmp/badwords.txt" "badwords_block_count=2"
start_daemon "$tmp/bw.conf" || fail badwords_daemon_start
cat >"$tmp/bw.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :what the FRAK
send PRIVMSG bob :frak smeg frak
send PRIVMSG bob :after
expectline :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/bw.server" <<EOF
expectline PRIVMSG bob :after
send :bob!b@h PRIVMSG alice :smeg off
send :bob!b@h PRIVMSG alice :smeg smeg smeg smeg
send :bob!b@h PRIVMSG alice :end
close
EOF
run_peers bw || fail bw_peers "$(peer_errors bw)"
crlf "NICK alice" "PRIVMSG bob :what the ****" "PRIVMSG bob :after" >"$tmp/bw.server.want"
crlf ":bob!b@h PRIVMSG alice :**** off" ":bob!b@h PRIVMSG alice :end" >"$tmp/bw.client.want"
same_bytes badwords_server_received "$tmp/bw.server.want" "$tmp/bw.server.got"
same_bytes badwords_client_received "$tmp/bw.client.want" "$tmp/bw.client.got"
logged badwords_logged_original '"text":"what the FRAK","filtered":false'
logged badwords_blocked_logged_filtered '"text":"frak smeg frak","filtered":true'
logged badwords_blocked_in_logged_filtered '"text":"smeg smeg smeg smeg","filtered":true'
stop_daemon

# ---------------------------------------------------------------------
# 2. ACL: whitelist first, blacklist, block_unlisted.
printf 'alice: bob carol\n' >"$tmp/white.txt"
printf 'alice: carol dave\n' >"$tmp/black.txt"
write_config "$tmp/acl.conf" 200 "whitelist_filename=$tmp/white.txt" \
	"blacklist_filename=$tmp/black.txt" "block_unlisted=on"
start_daemon "$tmp/acl.conf" || fail acl_daemon_start
cat >"$tmp/acl.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :to bob
send PRIVMSG carol :to carol
send PRIVMSG dave :to dave
send PRIVMSG erin :to erin
send PRIVMSG bob :last
expectline :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/acl.server" <<EOF
expectline PRIVMSG bob :last
send :dave!d@h PRIVMSG alice :from dave
send :carol!c@h PRIVMSG alice :from carol
send :erin!e@h PRIVMSG alice :from erin
send :bob!b@h PRIVMSG alice :end
close
EOF
run_peers acl || fail acl_peers "$(peer_errors acl)"
crlf "NICK alice" "PRIVMSG bob :to bob" "PRIVMSG carol :to carol" "PRIVMSG bob :last" >"$tmp/acl.server.want"
crlf ":carol!c@h PRIVMSG alice :from carol" ":bob!b@h PRIVMSG alice :end" >"$tmp/acl.client.want"
same_bytes acl_server_received "$tmp/acl.server.want" "$tmp/acl.server.got"
same_bytes acl_client_received "$tmp/acl.client.want" "$tmp/acl.client.got"
logged acl_logged_filtered '"filtered":true' 4
stop_daemon

# ---------------------------------------------------------------------
# 3. The DB filter with AWL: incoming from strangers blocked until the local
# user writes to them; the table edited while the daemon runs.
db="$tmp/filter.db"
write_config "$tmp/db.conf" 200 "db_filter_filename=$db"
start_daemon "$tmp/db.conf" || fail db_daemon_start
sqlite3 "$db" "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES (NULL, NULL, 3, 1, 0), (NULL, NULL, 2, 1, 0), ('alice', 'bob', 1, 1, 0);"
cat >"$tmp/db1.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG dave :hello dave
expectline :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/db1.server" <<EOF
expectline PRIVMSG dave :hello dave
send :erin!e@h PRIVMSG alice :spam from erin
send :dave!d@h PRIVMSG alice :reply from dave
send :bob!b@h PRIVMSG alice :end
close
EOF
run_peers db1 || fail db1_peers "$(peer_errors db1)"
crlf ":dave!d@h PRIVMSG alice :reply from dave" ":bob!b@h PRIVMSG alice :end" >"$tmp/db1.client.want"
same_bytes dbfilter_awl_client_received "$tmp/db1.client.want" "$tmp/db1.client.got"
if [ "$(sqlite3 "$db" "SELECT count(*) FROM lists WHERE localid='alice' AND remoteid='dave' AND action=1 AND type=2")" = 1 ]; then
	pass dbfilter_awl_row_added
else
	fail dbfilter_awl_row_added "$(sqlite3 "$db" 'SELECT * FROM lists')"
fi
# Edited while running: erin allowed by hand, dave's AUTO row removed.
sqlite3 "$db" "DELETE FROM lists WHERE type=2; INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES ('alice', 'erin', 1, 1, 0);"
cat >"$tmp/db2.client" <<EOF
nodelay on
send NICK alice
expectline :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/db2.server" <<EOF
expectline NICK alice
send :dave!d@h PRIVMSG alice :dave again
send :erin!e@h PRIVMSG alice :erin now allowed
send :bob!b@h PRIVMSG alice :end
close
EOF
run_peers db2 || fail db2_peers "$(peer_errors db2)"
crlf ":erin!e@h PRIVMSG alice :erin now allowed" ":bob!b@h PRIVMSG alice :end" >"$tmp/db2.client.want"
same_bytes dbfilter_edited_while_running_client_received \
	"$tmp/db2.client.want" "$tmp/db2.client.got"
stop_daemon

# ---------------------------------------------------------------------
# 4. block_files: an IRC DCC SEND offer is removed from the stream.
write_config "$tmp/files.conf" 200 "block_files=on"
start_daemon "$tmp/files.conf" || fail files_daemon_start
dcc=$(printf '\001DCC SEND report.pdf 167772161 5000 1234\001')
cat >"$tmp/files.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :$dcc
send PRIVMSG bob :after the offer
expectline :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/files.server" <<EOF
expectline PRIVMSG bob :after the offer
send :bob!b@h PRIVMSG alice :end
close
EOF
run_peers files || fail files_peers "$(peer_errors files)"
crlf "NICK alice" "PRIVMSG bob :after the offer" >"$tmp/files.server.want"
same_bytes block_files_server_received "$tmp/files.server.want" "$tmp/files.server.got"
logged block_files_logged_filtered '"kind":"file".*"filtered":true'
stop_daemon

# ---------------------------------------------------------------------
# 5. Regex replacement (length-changing) and STARTTLS refusal.
write_config "$tmp/rx.conf" 200 'regex_replace=/([0-9]{4})-[0-9]{4}-[0-9]{4}-([0-9]{4})/\1-****-****-\2 (card number removed)/' \
	"block_encrypted=irc"
start_daemon "$tmp/rx.conf" || fail regex_daemon_start
cat >"$tmp/rx.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :my card is 1234-5678-9012-3456 ok
send STARTTLS
expectline :srv 691 alice :STARTTLS refused by policy
close
EOF
cat >"$tmp/rx.server" <<EOF
expectline STARTTLS
send :srv 670 alice :STARTTLS successful, go ahead with TLS handshake
close
EOF
run_peers rx || fail rx_peers "$(peer_errors rx)"
crlf "NICK alice" "PRIVMSG bob :my card is 1234-****-****-3456 (card number removed) ok" "STARTTLS" >"$tmp/rx.server.want"
crlf ":srv 691 alice :STARTTLS refused by policy" >"$tmp/rx.client.want"
same_bytes regex_server_received "$tmp/rx.server.want" "$tmp/rx.server.got"
same_bytes starttls_refused_client_received "$tmp/rx.client.want" "$tmp/rx.client.got"
logged regex_logged_original '"text":"my card is 1234-5678-9012-3456 ok"'
stop_daemon

# ---------------------------------------------------------------------
# 6. Notices: once per conversation, and to the local user when something
# is blocked (rate-limited). A notice caused by the client's own message
# goes at once, in segments imwired originates, when nothing is on its
# way to the client (the blocked notice, before "two"); before the server
# has sent anything it follows the server's first line ("one"). Then
# SIGHUP: a broken config keeps the old one, a good one takes over.
write_config "$tmp/notice.conf" 200 "notice_text=This conversation is logged." \
	"blocked_notice_text=A message was blocked." "regex_replace=/forbidden//b"
start_daemon "$tmp/notice.conf" || fail notice_daemon_start
cat >"$tmp/notice.server" <<EOF
expectline PRIVMSG bob :hi bob
send :bob!b@h PRIVMSG alice :one
sleep 0.6
send :bob!b@h PRIVMSG alice :two
expectline PRIVMSG bob :done
send :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/notice.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :hi bob
expectline :bob!b@h PRIVMSG alice :one
send PRIVMSG bob :forbidden thing
send PRIVMSG bob :forbidden again
expectline :bob!b@h PRIVMSG alice :two
send PRIVMSG bob :done
expectline :bob!b@h PRIVMSG alice :end
close
EOF
run_peers notice || fail notice_peers "$(peer_errors notice)"
# The notices come from imwire, not from bob: this server never said its
# name, so a nick of imwire's own (issue #18).
crlf ":bob!b@h PRIVMSG alice :one" ":imwire!imwire@imwire NOTICE alice :This conversation is logged." \
	":imwire!imwire@imwire NOTICE alice :A message was blocked." ":bob!b@h PRIVMSG alice :two" \
	":bob!b@h PRIVMSG alice :end" >"$tmp/notice.client.want"
crlf "NICK alice" "PRIVMSG bob :hi bob" "PRIVMSG bob :done" >"$tmp/notice.server.want"
# Whether the first notice goes before "one" or after it depends on
# whether the server's ACK of "hi bob" crossed the bridge before the
# decision (then imwired can originate segments towards alice at once):
# both are right, and each is exactly one notice in its place.
crlf ":imwire!imwire@imwire NOTICE alice :This conversation is logged." ":bob!b@h PRIVMSG alice :one" \
	":imwire!imwire@imwire NOTICE alice :A message was blocked." ":bob!b@h PRIVMSG alice :two" \
	":bob!b@h PRIVMSG alice :end" >"$tmp/notice.client.want2"
if cmp -s "$tmp/notice.client.want2" "$tmp/notice.client.got"; then
	pass notices_client_received
else
	same_bytes notices_client_received "$tmp/notice.client.want" "$tmp/notice.client.got"
fi
same_bytes notices_server_received "$tmp/notice.server.want" "$tmp/notice.server.got"
# The archive: each notice is an event of its own, what imwired told alice.
logged notice_logged_injected '"dir":"in".*"text":"This conversation is logged\.".*"action":"injected","rule":"notice_text"'
logged blocked_notice_logged_injected '"dir":"in".*"text":"A message was blocked\.".*"action":"injected","rule":"blocked_notice_text"'
logged blocked_logged_with_rule '"text":"forbidden thing".*"action":"blocked","rule":"regex_replace=/forbidden//b"'

printf 'regex_replace=/unclosed(/x/\n' >>"$tmp/notice.conf"
reload_daemon "reload failed" 2
if grep -q "reload failed, keeping the old configuration: .*notice.conf:[0-9]*: regex_replace" "$daemon_log"; then
	pass reload_bad_config_kept_old
else
	fail reload_bad_config_kept_old "$(tail -3 "$daemon_log")"
fi
write_config "$tmp/notice.conf" 200 "regex_replace=/hello/HELLO-RELOADED/"
reload_daemon "configuration reloaded" 2
sleep 0.1
cat >"$tmp/reload.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :hello forbidden
expectline :srv PRIVMSG alice :ok
close
EOF
cat >"$tmp/reload.server" <<EOF
expectline PRIVMSG bob :HELLO-RELOADED forbidden
send :srv PRIVMSG alice :ok
close
EOF
run_peers reload || fail reload_peers "$(peer_errors reload)"
crlf "NICK alice" "PRIVMSG bob :HELLO-RELOADED forbidden" >"$tmp/reload.server.want"
same_bytes reload_applies_new_rules_server_received \
	"$tmp/reload.server.want" "$tmp/reload.server.got"
stop_daemon

exit 0
