#!/bin/sh
# imwired as an operator runs it: as a real daemon with a pid file and
# syslog, reloading its configuration on SIGHUP (a bad file keeps the old
# one), over IPv6, and in passive --tap mode. Needs root.
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root inline_daemon "needs root for network namespaces and NFQUEUE" || exit 0
topology_up "imwid$$" || { fail inline_daemon "cannot create the netns topology"; exit 0; }
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null

# --- a real daemon: forks, writes its pid file, logs events -------------
# (its write-ahead log in $tmp, not under /var/lib/imwire/spool; its own
# messages to log_file=: these hosts have no syslog, and a daemon that
# could log nowhere refuses to start)
printf 'jsonl_file=%s\npidfilename=%s\nspool_dir=%s\nlog_file=%s\n' "$tmp/events.jsonl" \
	"$tmp/imwired.pid" "$tmp/spool" "$tmp/imwired.log" >"$tmp/a.conf"
# imwired returns once the daemon's pid is in the file; traffic waits
# until the daemon says its queue is bound (with --queue-bypass, packets
# before that would pass it by).
$B "$BIN/imwired" -c "$tmp/a.conf"
rc=$?
daemon_pid=$(cat "$tmp/imwired.pid" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null &&
	wait_until "$READY_SECONDS" "$daemon_pid" log_has "$tmp/imwired.log" 'queue 0: ready'; then
	pass daemonized_with_pid_file
else
	fail daemonized_with_pid_file "exit $rc, pid file: '$daemon_pid'" "$(cat "$tmp/imwired.log" 2>&1)"
fi

# --- IPv6 through the bridge, no rule yet --------------------------------
cat >"$tmp/v6.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :a secret over IPv6
expectline :srv PRIVMSG alice :ok
close
EOF
cat >"$tmp/v6.server" <<EOF
expectline PRIVMSG bob :a secret over IPv6
send :srv PRIVMSG alice :ok
close
EOF
run_peers v6 fd77::2 || fail v6_peers "$(peer_errors v6)"
logged_soon "$tmp/events.jsonl" '"text":"a secret over IPv6"'
if grep -q '"text":"a secret over IPv6"' "$tmp/events.jsonl" 2>/dev/null &&
	grep -q '"client":"\[fd77::1\]:' "$tmp/events.jsonl"; then
	pass ipv6_logged
else
	fail ipv6_logged
fi

# --- SIGHUP with a bad file keeps the old configuration -----------------
printf 'jsonl_file=%s\npidfilename=%s\nspool_dir=%s\nlog_file=%s\nno_such_key=1\n' "$tmp/events.jsonl" \
	"$tmp/imwired.pid" "$tmp/spool" "$tmp/imwired.log" >"$tmp/a.conf"
kill -HUP "$daemon_pid"
if wait_until "$READY_SECONDS" "$daemon_pid" log_has "$tmp/imwired.log" 'reload failed, keeping the old configuration' &&
	kill -0 "$daemon_pid" 2>/dev/null; then
	pass bad_reload_keeps_running
else
	fail bad_reload_keeps_running "$(tail -3 "$tmp/imwired.log" 2>&1)"
fi

# --- SIGHUP with a rewrite rule: new messages are rewritten, over IPv6 ---
printf 'jsonl_file=%s\npidfilename=%s\nspool_dir=%s\nlog_file=%s\nregex_replace=/secret/[much longer words]/\n' \
	"$tmp/events.jsonl" "$tmp/imwired.pid" "$tmp/spool" "$tmp/imwired.log" >"$tmp/a.conf"
kill -HUP "$daemon_pid"
wait_until "$READY_SECONDS" "$daemon_pid" log_has "$tmp/imwired.log" 'configuration reloaded from'
cat >"$tmp/v6b.server" <<EOF
expectline PRIVMSG bob :a [much longer words] over IPv6
send :bob!b@h PRIVMSG alice :my secret too
close
EOF
cat >"$tmp/v6b.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :a secret over IPv6
expectline :bob!b@h PRIVMSG alice :my [much longer words] too
send PRIVMSG bob :bye
close
EOF
if run_peers v6b fd77::2 &&
	printf 'NICK alice\r\nPRIVMSG bob :a [much longer words] over IPv6\r\nPRIVMSG bob :bye\r\n' |
	cmp -s - "$tmp/v6b.server.got"; then
	pass reload_applies_rule_ipv6_rewrite
else
	fail reload_applies_rule_ipv6_rewrite "$(peer_errors v6b)"
fi

# --- SIGTERM: clean exit, pid file removed ------------------------------
# The daemon is nobody's child here once it detached: whoever adopts it may
# leave it a zombie, which still answers kill -0.
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null | tr -d " "); [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
kill -TERM "$daemon_pid"
i=0
while alive "$daemon_pid" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
if ! alive "$daemon_pid" && [ ! -e "$tmp/imwired.pid" ]; then
	pass clean_shutdown
else
	fail clean_shutdown "state: $(ps -o stat= -p "$daemon_pid"), pid file: $(ls "$tmp/imwired.pid" 2>&1)"
fi
daemon_pid=""
$B "$BIN/imwire" setup --remove >/dev/null

# --- passive tap on a bridge port: logs, never touches -------------------
printf 'jsonl_file=%s\nregex_replace=/secret/XXXXXX/\n' "$tmp/tap.jsonl" >"$tmp/tap.conf"
daemon_log=$tmp/tap.log
start_daemon "$tmp/tap.conf" --tap vc || fail tap_start
cat >"$tmp/tap.client" <<EOF
nodelay on
send NICK carol
send PRIVMSG dave :tapped secret
expectline :dave!d@h PRIVMSG carol :seen
close
EOF
cat >"$tmp/tap.server" <<EOF
expectline PRIVMSG dave :tapped secret
send :dave!d@h PRIVMSG carol :seen
close
EOF
run_peers tap 10.77.0.2 || fail tap_peers "$(peer_errors tap)"
sleep 0.3
stop_daemon
if grep -q '"dir":"out","kind":"message","local":"carol","remote":"dave".*"text":"tapped secret"' "$tmp/tap.jsonl" &&
	grep -q '"dir":"in","kind":"message","local":"carol","remote":"dave".*"text":"seen"' "$tmp/tap.jsonl" &&
	grep -q 'PRIVMSG dave :tapped secret' "$tmp/tap.server.got"; then
	pass tap_logs_without_touching
else
	fail tap_logs_without_touching "$(cat "$tmp/tap.jsonl" 2>/dev/null | head -3)"
fi

# --- after set-up, as an unprivileged user with CAP_NET_ADMIN only ------
chmod 755 "$tmp"
mkdir "$tmp/nobody"
chown nobody "$tmp/nobody"
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
printf 'jsonl_file=%s\nuser=nobody\nregex_replace=/secret/[dropped privileges]/\n' \
	"$tmp/nobody/events.jsonl" >"$tmp/nobody.conf"
daemon_log=$tmp/nobody.log
if start_daemon "$tmp/nobody.conf"; then
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$daemon_pid/status")
	capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$daemon_pid/status")
	if [ "$uid" = "$(id -u nobody)" ] && [ "$capeff" = "0000000000001000" ]; then
		pass runs_as_user_with_net_admin_only
	else
		fail runs_as_user_with_net_admin_only "uid $uid, CapEff $capeff"
	fi
else
	fail runs_as_user_with_net_admin_only "$(cat "$tmp/nobody.log")"
fi
printf 'nodelay on\nsend NICK alice\nsend PRIVMSG bob :a secret\nexpectline :srv PRIVMSG alice :ok\nclose\n' \
	>"$tmp/priv.client"
printf 'expectline PRIVMSG bob :a [dropped privileges]\nsend :srv PRIVMSG alice :ok\nclose\n' \
	>"$tmp/priv.server"
if run_peers priv 10.77.0.2 && logged_soon "$tmp/nobody/events.jsonl" '"text":"a secret"'; then
	pass unprivileged_daemon_rewrites_and_logs
else
	fail unprivileged_daemon_rewrites_and_logs "$(cat "$tmp/nobody.log" "$tmp/priv.client.err")"
fi
stop_daemon
exit 0
