#!/bin/sh
# XEP-0198 stream management against edits, live: prosody with mod_smacks
# in the server namespace, slixmpp clients through the bridge asking for
# stream management. Stream management counts stanzas end to end, so a
# stanza imwired deletes or inserts would make prosody end the stream.
# With a daemon that only logs, the offer passes and the client enables
# it; with a policy that may edit, the offer is blanked (same length) and
# the client does without: a deleted message, the next ones, a reply and
# a clean close all work.
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root xmpp_sm_needs_root || exit 1
require xmpp_sm_prerequisites prosody prosodyctl iptables ss timeout "$PY" py:slixmpp || exit 1
topology_up "imwsm$$" || { fail xmpp_sm_topology; exit 1; }
$B "$BIN/imwire" setup --bridge br0 --ports 5222 >/dev/null
check xmpp_sm_setup $?
register_xmpp '"10.77.0.2"' 5222 alice bob
check xmpp_sm_accounts_registered $? "$(tail -3 "$tmp/prosody.register")"
sed -i 's/"posix" }/"posix", "smacks" }/' "$tmp/prosody.cfg.lua"
grep -q '"smacks"' "$tmp/prosody.cfg.lua"
check xmpp_sm_module_enabled $?
if ! start_prosody "$S" 5222 200; then
	fail xmpp_sm_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
	exit 1
fi

run_plan() { # name: $tmp/NAME.plan through the bridge, output in $tmp/NAME.out
	mkdir -p "$tmp/$1.out"
	$C timeout 60 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
		"$tmp/$1.plan" "$tmp/$1.out" >"$tmp/$1.err" 2>&1
}

# 1. Logging only: nothing can be edited, the offer reaches the client.
n=log_only
printf 'connect-sm alice\nconnect bob\nsm alice on\nsay alice bob hello\nwait bob 1\nquit alice\nquit bob\n' \
	>"$tmp/$n.plan"
write_config "$tmp/$n.conf" 50
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
run_plan $n
check ${n}_client_enabled_stream_management $? "$(tail -3 "$tmp/$n.err")"
[ "$(cat "$tmp/$n.out/alice.status" "$tmp/$n.out/bob.status")" = "$(printf 'clean\nclean')" ]
check ${n}_streams_closed_cleanly $?
stop_daemon
check ${n}_daemon_stops_cleanly $?

# 2. A policy that deletes messages: the offer is blanked, the client does
# without, and the streams survive the deletion.
n=drop
cat >"$tmp/$n.plan" <<EOF
connect-sm alice
connect bob
sm alice off
say alice bob forbidden one
say alice bob after
wait bob 1
say bob alice back
wait alice 1
quit alice
quit bob
EOF
write_config "$tmp/$n.conf" 50 "regex_replace=/forbidden//b"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
run_plan $n
check ${n}_client_did_without_stream_management $? "$(tail -3 "$tmp/$n.err")"
echo "alice@$domain after" >"$tmp/$n.bob.want"
echo "bob@$domain back" >"$tmp/$n.alice.want"
for u in alice bob; do
	same_lines ${n}_${u}_received_exactly "$tmp/$n.$u.want" "$tmp/$n.out/$u.got"
	[ "$(cat "$tmp/$n.out/$u.status" 2>/dev/null)" = clean ]
	check ${n}_${u}_stream_closed_cleanly $? "status: $(cat "$tmp/$n.out/$u.status" 2>/dev/null)"
done
stop_daemon
check ${n}_daemon_stops_cleanly $?
exit $failed_here
