#!/bin/sh
# Minimal edits (issue 18, item 3): bad-word censoring across the bridge
# changes no byte but the word's. Real peers on both sides: ngircd and
# python3-irc clients, prosody and slixmpp clients; imwired inline with a
# bad-words list; tcpdump on both bridge ports. tests/peers/stream_diff.py
# rebuilds every direction of every flow from both captures and checks
# that the streams have the same length and differ only where a listed
# word was overwritten by '*'s. The IRC plan sends the one-word PRIVMSG
# without ':' that was once re-encoded one byte longer, and a CTCP ACTION;
# the XMPP plan texts that need references (& < > and quotes).
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test minimal_edits "imwme$$" ngircd prosody prosodyctl iptables ss timeout tcpdump "$PY" \
	py:irc.client py:slixmpp
$B "$BIN/imwire" setup --bridge br0 --ports 6667,5222 >/dev/null
check minimal_edits_setup $?
if ! start_ngircd 300; then
	fail minimal_edits_irc_server_listens "$(tail -5 "$tmp/ngircd.out")"
	exit 1
fi
register_xmpp '"10.77.0.2"' 5222 alice bob carol
check minimal_edits_xmpp_accounts $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "$S" 5222 300; then
	fail minimal_edits_xmpp_server_listens "$(tail -5 "$tmp/prosody.out")"
	exit 1
fi

printf 'frak\nsmeg\n' >"$tmp/badwords.txt"
write_config "$tmp/me.conf" 200 "badwords_filename=$tmp/badwords.txt"
start_daemon "$tmp/me.conf"
check minimal_edits_daemon_starts $?
start_bridge_capture "$tmp/me" tcp port 6667 or tcp port 5222
check minimal_edits_captures_listen $?

# ---- IRC
n=irc
act=$(printf '\001ACTION frakking waves\001')
{
	echo "connect alice"
	echo "connect bob"
	echo "join alice #imwire"
	echo "join bob #imwire"
	echo "say alice carol ready"
	echo "raw alice PRIVMSG bob frak"
	echo "raw alice PRIVMSG #imwire smeg"
	echo "say alice bob what the FRAK, smeg: it's \"frak\" & <frak>"
	echo "say alice #imwire $act"
	echo "wait bob 4"
	echo "wait alice 2"
	echo "quit alice"
	echo "quit bob"
} >"$tmp/$n.near"
{
	echo "connect carol"
	echo "join carol #imwire"
	echo "signal carol $tmp/$n.online"
	echo "wait carol 1"
	echo "say carol alice smeg off, Smeg!"
	echo "say carol #imwire frak in channel"
	echo "quit carol"
} >"$tmp/$n.far"
run_session $n 60 "$PY" "$PEERS/irc_client.py" --ctcp 10.77.0.2 6667
{
	echo "alice bob ****"
	echo "alice #imwire ****"
	echo "alice bob what the ****, ****: it's \"****\" & <****>"
	echo "alice #imwire CTCP ACTION ****king waves"
	echo "carol #imwire **** in channel"
} >"$tmp/$n.bob.want"
{
	echo "carol alice **** off, ****!"
	echo "carol #imwire **** in channel"
} >"$tmp/$n.alice.want"
# carol's channel line and alice's lines reach bob in either order.
sort -o "$tmp/$n.bob.want" "$tmp/$n.bob.want"
sort -o "$tmp/$n.alice.want" "$tmp/$n.alice.want"
sort_received $n alice bob
check_received $n connection_up_until_clean_quit alice bob

# ---- XMPP
n=xmpp
{
	echo "connect alice"
	echo "connect bob"
	echo "say alice carol ready"
	echo "say alice bob what the FRAK"
	echo "say alice bob it's \"frak\" & <smeg> 'ok'"
	echo "wait bob 2"
	echo "wait alice 2"
	echo "quit alice"
	echo "quit bob"
} >"$tmp/$n.near"
{
	echo "connect carol"
	echo "signal carol $tmp/$n.online"
	echo "wait carol 1"
	echo "say carol alice smeg off & on"
	echo "say carol alice a <frak> b"
	echo "quit carol"
} >"$tmp/$n.far"
run_session $n 60 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password"
{
	echo "alice@$domain what the ****"
	echo "alice@$domain it's \"****\" & <****> 'ok'"
} >"$tmp/$n.bob.want"
{
	echo "carol@$domain **** off & on"
	echo "carol@$domain a <****> b"
} >"$tmp/$n.alice.want"
# carol's channel line and alice's lines reach bob in either order.
sort -o "$tmp/$n.bob.want" "$tmp/$n.bob.want"
sort -o "$tmp/$n.alice.want" "$tmp/$n.alice.want"
sort_received $n alice bob
check_received $n connection_up_until_clean_quit alice bob

stop_captures
"$PY" "$PEERS/stream_diff.py" 10.77.0.2 "$tmp/me.vc.pcap" "$tmp/me.vs.pcap" frak smeg \
	>"$tmp/diff.out" 2>&1
check minimal_edits_only_the_words_changed_on_the_wire $? \
	"$(grep -v ' changed=0 ' "$tmp/diff.out" | head -12)"
# Each censored occurrence counts where it was overwritten: on the sender's
# flow, and again on bob's when the server relays an already censored
# text (which is not counted: it arrives as '*'s).
words=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^words=/) { sub("words=", "", $i); s += $i } }
	END { print s + 0 }' "$tmp/diff.out")
[ "$words" -ge 13 ]
check minimal_edits_words_censored_on_the_wire $? "words=$words" "$(cat "$tmp/diff.out")"
end_scenario minimal_edits
exit 0
