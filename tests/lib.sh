# Helpers shared by the case scripts (tests/cases/*.sh). A script sets
# `set -u`, has BIN and TOP from tests/run.sh, and sources this file:
#   . "$TOP/tests/lib.sh"
# then calls begin_test. Plain POSIX sh plus `local` (dash has it), so a
# helper never clobbers its caller's variables. Every wait here is bounded
# in count and time; only processes a script started are stopped, by PID,
# and the EXIT trap (cleanup) stops them all and removes what was made.

# Debian's python3: the peers' modules (python3-irc, python3-slixmpp) are
# installed for it, not for a pyenv python3 that may come first in PATH.
PY=/usr/bin/python3
PEERS=$TOP/tests/peers

# State the helpers share with the scripts. Each *_pids list holds what
# cleanup must stop; whoever stops or waits for a process takes it out.
tmp=""
failed_here=0
stopped_rc=0
daemon_pid=""
daemon_log=""
daemon_in=""
server_pids=""
peer_pids=""
capture_pids=""
topology=""
PIN=""
# The XMPP account every script registers: bare JIDs USER@$domain.
domain=imwire.test
password=pw-imwire

# ---- results ---------------------------------------------------------------

# pass NAME: one PASS line.
pass() {
	echo "PASS $1"
}

# fail NAME [DETAIL...]: one FAIL line, each DETAIL indented below it; sets failed_here.
fail() {
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && printf '  %s\n' "$@"
	failed_here=1
}

# check NAME STATUS [DETAIL...]: PASS NAME when STATUS is 0, else fail with the DETAILs.
check() {
	local name="$1" st="$2"
	shift 2
	if [ "$st" -eq 0 ]; then pass "$name"; else fail "$name" "$@"; fi
}

# same_lines NAME WANT GOT: PASS when the files are equal, else FAIL with counts and diff.
same_lines() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected $(wc -l <"$2") lines, got $(wc -l <"$3" 2>/dev/null)"
		diff "$2" "$3" 2>&1 | head -20 | cut -c1-200 | cat -v | sed 's/^/    /'
	fi
}

# same_bytes NAME WANT GOT: PASS when byte for byte equal, else FAIL with sizes and diff.
same_bytes() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected $(wc -c <"$2") bytes, got $(wc -c <"$3" 2>/dev/null)" \
			"$(cmp "$2" "$3" 2>&1 | head -1)"
		diff "$2" "$3" 2>/dev/null | head -8 | cut -c1-160 | cat -v | sed 's/^/    /'
	fi
}

# fact NAME COUNT FILE STRING...: PASS when exactly COUNT lines of FILE hold every STRING.
fact() {
	local name="$1" want="$2" file="$3" got pat
	shift 3
	cp "$file" "$tmp/sel"
	for pat in "$@"; do
		grep -F -e "$pat" "$tmp/sel" >"$tmp/sel.next"
		mv "$tmp/sel.next" "$tmp/sel"
	done
	got=$(wc -l <"$tmp/sel" | tr -d ' ')
	[ "$got" -eq "$want" ]
	check "$name" $? "$got line(s), want $want, matching: $*"
}

# golden NAME CAPTURE WANT: PASS golden_NAME when `imwire read` of it ($tmp/NAME.jsonl) is WANT.
# The archive's fields (server, session, community_id, action...: README,
# "The archive") come after every other field of a line; the goldens hold
# the older fields, and the archive's own tests check these.
strip_archive_fields() {
	sed -E 's/,"(eventid|sensor|server|session|community_id|action|rule|categories|delivered_text|prev_hash|hash)":("([^"\\]|\\.)*"|[0-9]+)//g' "$@"
}

golden() {
	local rc same
	"$BIN/imwire" read --format jsonl "$2" >"$tmp/$1.full.jsonl" 2>"$tmp/$1.err"
	rc=$?
	strip_archive_fields "$tmp/$1.full.jsonl" >"$tmp/$1.jsonl"
	diff -u "$3" "$tmp/$1.jsonl" >"$tmp/$1.diff"
	same=$?
	if [ $rc -eq 0 ] && [ $same -eq 0 ]; then
		pass "golden_$1"
	else
		fail "golden_$1" "imwire read: exit status $rc; its output against $3:"
		head -40 "$tmp/$1.diff" | sed 's/^/    /'
		head -5 "$tmp/$1.err" | sed 's/^/    /'
	fi
}

# regenerated GEN BASE...: gen/GEN writes into $tmp/gen: PASS GEN_runs, and regenerated_BASE
# when it wrote BASE.pcap byte for byte as committed in tests/pcaps.
regenerated() {
	local gen="$1" b
	shift
	mkdir -p "$tmp/gen"
	"$BIN/gen/$gen" "$tmp/gen"
	check "${gen}_runs" $?
	for b in "$@"; do
		cmp -s "$tmp/gen/$b.pcap" "$TOP/tests/pcaps/$b.pcap"
		check "regenerated_$b" $?
	done
}

# golden_pcaps BASE...: golden BASE for tests/pcaps/BASE.pcap against expected/BASE.jsonl.
golden_pcaps() {
	local b
	for b in "$@"; do
		golden "$b" "$TOP/tests/pcaps/$b.pcap" "$TOP/tests/pcaps/expected/$b.jsonl"
	done
}

# crlf LINE...: each LINE, CRLF-terminated, on stdout.
crlf() {
	local l
	for l in "$@"; do printf '%s\r\n' "$l"; done
}

# json_string TEXT: TEXT as a JSON string literal (UTF-8 kept) on stdout.
json_string() {
	printf '%s' "$1" |
		"$PY" -c 'import json, sys; print(json.dumps(sys.stdin.read(), ensure_ascii=False))'
}

# ---- processes and waits ---------------------------------------------------

# stop_pid PID [SECONDS [CMD...]]: TERM, KILL after SECONDS (5), CMD once a second; $stopped_rc.
stop_pid() {
	local pid="$1" tenths=$((${2:-5} * 10)) i=0
	stopped_rc=0
	[ -n "$pid" ] || return 0
	if ! kill -TERM "$pid" 2>/dev/null; then
		# Gone already: the shell still knows how a child of its own ended.
		wait "$pid" 2>/dev/null
		stopped_rc=$?
		return 0
	fi
	shift
	[ $# -gt 0 ] && shift
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $tenths ]; do
		if [ $# -gt 0 ] && [ $((i % 10)) -eq 0 ]; then "$@"; fi
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	stopped_rc=$?
}

# READY_SECONDS: how long a start (a daemon ready, a server listening, an event
# written) may take before the test calls it failed. Generous on purpose: a
# wait ends as soon as its condition holds, and an ASan build on a loaded
# 2-core machine (load 9 seen in a full run beside other runs) took over 5 s.
READY_SECONDS=${READY_SECONDS:-30}

# wait_until SECONDS PID CMD...: true once CMD succeeds; false when time is up or PID (or "") died.
wait_until() {
	local n=$(($1 * 20)) pid="$2"
	shift 2
	while ! "$@" 2>/dev/null; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			"$@" 2>/dev/null
			return
		fi
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.05
	done
}

# logged_soon FILE PATTERN [COUNT]: log_has, waited for up to READY_SECONDS while the daemon runs: its
# writer puts events in the write-ahead log first and in the files a moment later.
logged_soon() {
	wait_until "$READY_SECONDS" "$daemon_pid" log_has "$@"
}

# log_has FILE PATTERN [COUNT]: true when at least COUNT (1) lines of FILE match PATTERN.
log_has() {
	local c
	c=$(grep -c -- "$2" "$1" 2>/dev/null)
	[ "${c:-0}" -ge "${3:-1}" ]
}

# port_listens RUN PORT: true when TCP PORT listens in the namespace RUN runs in ($S, "": here).
port_listens() {
	$1 ss -Hltn "sport = :$2" | grep -q .
}

# ---- the test's frame ------------------------------------------------------

# begin_test: $tmp (servers dropping privileges read it), and cleanup at exit, INT or TERM.
begin_test() {
	tmp=$(mktemp -d) || exit 1
	chmod 755 "$tmp"
	daemon_log=$tmp/daemon.log
	trap cleanup EXIT
	trap 'exit 1' INT TERM # through the EXIT trap, once
}

# cleanup: stops what is listed, calls the script's cleanup_more, removes namespaces and $tmp.
cleanup() {
	local p
	for p in $peer_pids $capture_pids $server_pids $daemon_pid; do stop_pid "$p"; done
	if command -v cleanup_more >/dev/null 2>&1; then cleanup_more; fi
	# the pin directory, and imwired's state file for it (handover_file=)
	[ -z "$PIN" ] || rm -rf "$PIN" "/run/imwire/${PIN##*/}"
	if [ -n "$topology" ]; then
		$B "$BIN/imwire" setup --remove >/dev/null 2>&1
		"$TOP/scripts/netns-topology.sh" down "$topology" >/dev/null 2>&1
	fi
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}

# live_test NAME PREFIX TOOL...: goes on as root, with every TOOL, in topology PREFIX; else
# FAIL NAME_needs_root, NAME_prerequisites or NAME_topology and exit 1 (never a silent skip).
live_test() {
	local name="$1" prefix="$2"
	shift 2
	require_root "${name}_needs_root" || exit 1
	require "${name}_prerequisites" "$@" || exit 1
	topology_up "$prefix" || { fail "${name}_topology"; exit 1; }
}

# bpf_pins: $PIN, this test's bpffs directory (as IMWIRE_PIN_DIR; cleanup removes it), and
# $BPF_B to run BPF work in the bridge namespace: `ip netns exec` remounts /sys, hiding bpffs.
bpf_pins() {
	PIN=/sys/fs/bpf/imwire-$P
	export IMWIRE_PIN_DIR="$PIN"
	BPF_B="nsenter --net=/run/netns/$P-b"
}

# require_root NAME [WHY]: true as root, else FAIL NAME and false.
require_root() {
	[ "$(id -u)" = 0 ] && return 0
	fail "$1" "${2:-needs root}"
	return 1
}

# missing_tools TOOL...: each missing command or py:MODULE (as python3-PKG), after a space.
missing_tools() {
	local t m
	for t in "$@"; do
		case $t in
		py:*)
			m=${t#py:}
			"$PY" -c "import $m" 2>/dev/null || printf ' python3-%s' "${m%%.*}"
			;;
		*) command -v "$t" >/dev/null 2>&1 || printf ' %s' "$t" ;;
		esac
	done
}

# require NAME TOOL...: true when no TOOL is missing, else FAIL NAME listing them and false.
require() {
	local name="$1" missing
	shift
	missing=$(missing_tools "$@")
	[ -z "$missing" ] && return 0
	fail "$name" "missing:$missing (run scripts/install-deps.sh)"
	return 1
}

# topology_up PREFIX: netns-topology.sh's namespaces, $P, and $B $C $S to run in them; or false.
topology_up() {
	"$TOP/scripts/netns-topology.sh" up "$1" >/dev/null || return 1
	P=$1
	topology=$1
	B="ip netns exec $P-b"
	C="ip netns exec $P-c"
	S="ip netns exec $P-s"
}

# ---- imwired ---------------------------------------------------------------

# write_config FILE HOLD_MS [LINE...]: imwired config: events to $tmp/events.jsonl, then LINEs.
write_config() {
	local f="$1" l
	printf 'jsonl_file=%s\nhold_deadline_ms=%s\n' "$tmp/events.jsonl" "$2" >"$f"
	shift 2
	for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
}

# start_daemon CONFIG [OPTION...]: imwired -d under $daemon_in ($B); true once it is ready (READY_SECONDS).
# $IMWIRED, when set, is the daemon binary to run instead of $BIN/imwired.
# Ready: its last queue (--queue N-M, else 0) says so, or with --tap IFACE the tap is on.
start_daemon() {
	local ready="queue 0: ready" prev="" a
	for a in "$@"; do
		case $prev in
		--queue) ready="queue ${a#*-}: ready" ;;
		--tap) ready="tap on $a" ;;
		esac
		prev=$a
	done
	rm -f "$tmp/events.jsonl"
	# Each config's write-ahead log and cursors in $tmp (removed with it),
	# not in /var/lib/imwire/spool.
	grep -q '^spool_dir=' "$1" 2>/dev/null || echo "spool_dir=$tmp/spool.$(basename "$1")" >>"$1"
	# Emptied first: the wait below must not find an earlier daemon's line.
	: >"$daemon_log"
	${daemon_in:-$B} "${IMWIRED:-$BIN/imwired}" -d -c "$@" >"$daemon_log" 2>&1 &
	daemon_pid=$!
	wait_until "$READY_SECONDS" "$daemon_pid" log_has "$daemon_log" "$ready" && return 0
	show_daemon
	return 1
}

# show_daemon: the daemon's output, indented.
show_daemon() {
	sed 's/^/    daemon: /' "$daemon_log"
}

# stop_daemon [SECONDS]: stops imwired (KILL after SECONDS, 5); true when it exited 0 with
# its statistics, no sanitizer report. A daemon writes every queued event before it exits:
# give SECONDS when its sinks may be far behind.
stop_daemon() {
	[ -n "$daemon_pid" ] || return 1
	stop_pid "$daemon_pid" "${1:-5}"
	daemon_pid=""
	cat "$daemon_log" >>"$tmp/daemon.all.log"
	[ -z "${VERBOSE:-}" ] || show_daemon
	# A sanitizer's report (a leak found at exit) changes the exit status.
	[ "$stopped_rc" -eq 0 ] && grep -q "queue 0: .* packets" "$daemon_log" &&
		! grep -q "Sanitizer\|runtime error" "$daemon_log"
}

# reload_daemon PATTERN [SECONDS]: SIGHUP to imwired; true once its log matches PATTERN.
reload_daemon() {
	kill -HUP "$daemon_pid"
	wait_until "${2:-5}" "$daemon_pid" log_has "$daemon_log" "$1"
}

# end_scenario NAME: stop_daemon, checks NAME_daemon_stops_cleanly and NAME_no_edit_refused.
end_scenario() {
	local stats
	stop_daemon
	check "$1_daemon_stops_cleanly" $? "exit status $stopped_rc"
	# Every edit the policy asked for was made (the line is written at exit).
	stats=$(grep "queue 0: .* packets" "$daemon_log")
	echo "$stats" | grep -q "refused: 0 committed, 0 too big, 0 not encodable;"
	check "$1_no_edit_refused" $? "$stats"
	if [ $failed_here -ne 0 ] && [ -z "${VERBOSE:-}" ]; then show_daemon; fi
	failed_here=0
}

# ---- what the daemon logged ------------------------------------------------

# log_settles FILE: while the daemon runs, wait (5 s at most) until FILE has not grown for
# 0.3 s: its writer puts events in the write-ahead log first, in the files a moment later.
log_settles() {
	local n=0 size last=-1 still=0
	[ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null || return 0
	while [ $n -lt 100 ]; do
		size=$(stat -c %s "$1" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 6 ] && return 0
		else
			still=0
		fi
		last=$size
		sleep 0.05
		n=$((n + 1))
	done
}

# log_fields JSONL KIND FIELD...: per KIND event, in log order, its FIELDs joined by "|".
log_fields() {
	log_settles "$1"
	"$PY" - "$@" <<'EOF'
import json, sys
path, kind, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
# The policy's own notices (the archive's injected events, rule the key
# that made them) are not the conversation these logs compare; tests
# that are about them look for them (archive_rules, inline_policy).
NOTICE_KEYS = ("notice_text", "blocked_notice_text", "notice_response", "filtered_response")
def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)
with open(path, encoding="utf-8") as f:
    for line in f:
        ev = json.loads(line)
        if ev.get("action") == "injected" and ev.get("rule") in NOTICE_KEYS:
            continue
        if ev.get("kind") == kind:
            print("|".join(show(ev.get(k)) for k in fields))
EOF
}

# by_local: "dir|local|..." lines on stdin grouped by local id, in log order within each.
by_local() {
	LC_ALL=C sort -s -t '|' -k2,2
}

# by_local_dir: as by_local, then by direction, in log order within each.
by_local_dir() {
	LC_ALL=C sort -s -t '|' -k2,2 -k1,1
}

# check_policy_log NAME [JSONL]: $tmp/NAME.log.want is the message log, by_local; no error.
check_policy_log() {
	local events="${2:-$tmp/events.jsonl}"
	# each direction of a local id in log order; the two directions of one
	# conversation interleave as the peers' timing has it (a reply and the
	# next line of the other side race), so that order is not compared
	log_fields "$events" message dir local remote text filtered 2>&1 | by_local_dir >"$tmp/$1.log.got"
	by_local_dir <"$tmp/$1.log.want" >"$tmp/$1.log.want.sorted"
	same_lines "$1_daemon_logged_originals_and_filtered_flags" "$tmp/$1.log.want.sorted" "$tmp/$1.log.got"
	[ "$(grep -c '"kind":"error"' "$events")" -eq 0 ]
	check "$1_daemon_logged_no_error" $? "$(grep '"kind":"error"' "$events" | head -3)"
}

# proto_counter PROTO COLUMN: the classifier's count (flows, steered, ...), over all CPUs.
proto_counter() {
	"$BIN/imwire" proto list | awk -v p="$1" -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == p { print $(idx[col]) }'
}

# stats_counter FILE SECTION.NAME: that total of a stats file, -1 while it cannot be read.
stats_counter() {
	"$PY" -c 'import json, sys
try:
    t = json.load(open(sys.argv[1]))["total"]
    s, n = sys.argv[2].split(".")
    print(t[s][n])
except Exception:
    print(-1)' "$1" "$2"
}

# ---- captures --------------------------------------------------------------

# CAPTURE_BUFFER_KIB: each capture's ring in the kernel, where packets wait while tcpdump
# waits for a CPU. In immediate mode libpcap gives every packet a 64 KiB slot (lo fills two:
# the sent copy and the received one), so tcpdump's default 2 MiB held 16 packets of lo:
# realpeer_gg's capture lost 12 (its FINs) on a quiet machine, and messages on a loaded one.
# 32 MiB: 256 packets of lo, 512 of a bridge port.
CAPTURE_BUFFER_KIB=${CAPTURE_BUFFER_KIB:-32768}
capture_files=""

# start_capture RUN DEV PCAP FILTER...: tcpdump in the background; true once it listens.
start_capture() {
	local run="$1" dev="$2" out="$3" pid
	shift 3
	# Immediate mode: without it the packets of the last ring block (up
	# to a second's worth) are lost when tcpdump is stopped.
	$run tcpdump -i "$dev" --immediate-mode -B "$CAPTURE_BUFFER_KIB" -n -U -w "$out" "$@" \
		2>"$out.err" &
	pid=$!
	capture_pids="$capture_pids $pid"
	capture_files="$capture_files $out"
	wait_until "$READY_SECONDS" "$pid" log_has "$out.err" listening
}

# start_bridge_capture PREFIX FILTER...: on both bridge ports: PREFIX.vc.pcap, PREFIX.vs.pcap.
start_bridge_capture() {
	local pre="$1"
	shift
	start_capture "$B" vc "$pre.vc.pcap" "$@" && start_capture "$B" vs "$pre.vs.pcap" "$@"
}

# stop_captures: stops every capture, once the last segments had 0.5 s to reach it. FAIL
# capture_complete for a capture that lost packets (tcpdump's count at exit): what a test
# reads in it would not be what crossed the wire.
stop_captures() {
	local p f lost
	sleep 0.5
	for p in $capture_pids; do kill -INT "$p" 2>/dev/null; done
	for p in $capture_pids; do stop_pid "$p"; done
	for f in $capture_files; do
		lost=$(sed -n 's/^\([0-9]*\) packets* dropped by kernel$/\1/p' "$f.err" 2>/dev/null)
		[ "${lost:-none}" = 0 ] ||
			fail capture_complete "${f##*/}: ${lost:-no} packet(s) dropped by kernel (CAPTURE_BUFFER_KIB)"
	done
	capture_pids=""
	capture_files=""
}

# wire_has PCAP TEXT: true when some segment of the capture carried TEXT.
wire_has() {
	tcpdump -r "$1" -nn -A 2>/dev/null | grep -qF "$2"
}

# ---- servers and peers -----------------------------------------------------

# stop_servers: stops every server started here.
stop_servers() {
	local p
	for p in $server_pids; do stop_pid "$p"; done
	server_pids=""
}

# start_ngircd SECONDS: ngircd on 10.77.0.2:6667 in $S for at most SECONDS; true once it listens.
start_ngircd() {
	local pid
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
	$S timeout "$1" ngircd -n -f "$tmp/ngircd.conf" >"$tmp/ngircd.out" 2>&1 &
	pid=$!
	server_pids="$server_pids $pid"
	wait_until 10 "$pid" port_listens "$S" 6667
}

# register_xmpp IFACES PORT USER...: prosody config (cleartext, $domain), accounts; true when made.
register_xmpp() {
	local ifs="$1" port="$2" u
	shift 2
	mkdir -p "$tmp/prosody.data"
	cat >"$tmp/prosody.cfg.lua" <<EOF
pidfile = "$tmp/prosody.pid"
data_path = "$tmp/prosody.data"
log = { info = "$tmp/prosody.log"; error = "$tmp/prosody.err" }
run_as_root = true
prosody_user = "root"
interfaces = { $ifs }
c2s_ports = { $port }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
modules_enabled = { "roster", "saslauth", "disco", "ping", "posix" }
modules_disabled = { "s2s", "tls", "offline" }
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "$domain"
EOF
	for u in "$@"; do
		timeout 20 prosodyctl --config "$tmp/prosody.cfg.lua" register "$u" "$domain" "$password" \
			>>"$tmp/prosody.register" 2>&1 || return 1
	done
}

# start_prosody RUN PORT SECONDS: prosody as register_xmpp set it up; true once it listens.
start_prosody() {
	local pid
	$1 timeout "$3" prosody --config "$tmp/prosody.cfg.lua" -F >"$tmp/prosody.out" 2>&1 &
	pid=$!
	server_pids="$server_pids $pid"
	wait_until 10 "$pid" port_listens "$1" "$2"
}

# run_peers NAME [HOST [PORT]]: linepeers run $tmp/NAME.server, NAME.client; true when both met all.
# Received bytes in NAME.server.got and NAME.client.got, exit statuses in $server_rc, $client_rc.
run_peers() {
	local n="$1" host="${2:-10.77.0.2}" port="${3:-6667}" spid
	$S "$PY" "$PEERS/linepeer.py" server "$port" "$tmp/$n.server" "$tmp/$n.server.got" \
		2>"$tmp/$n.server.err" &
	spid=$!
	peer_pids=$spid
	wait_until "$READY_SECONDS" "$spid" port_listens "$S" "$port"
	$C "$PY" "$PEERS/linepeer.py" client "$host" "$port" "$tmp/$n.client" "$tmp/$n.client.got" \
		2>"$tmp/$n.client.err"
	client_rc=$?
	wait $spid
	server_rc=$?
	peer_pids=""
	[ $client_rc -eq 0 ] && [ $server_rc -eq 0 ]
}

# peer_errors NAME: what run_peers' two peers said on stderr.
peer_errors() {
	cat "$tmp/$1.client.err" "$tmp/$1.server.err" 2>/dev/null
}

# run_session NAME SECONDS CLIENT...: plan $tmp/NAME.far in $S, then NAME.near in $C; checked.
# CLIENT runs as CLIENT PLAN $tmp/NAME.out; the near side starts once the far side has made
# $tmp/NAME.online (30 s at most); both are stopped after SECONDS.
run_session() {
	local n="$1" secs="$2" far rc_near rc_far
	shift 2
	mkdir -p "$tmp/$n.out"
	$S timeout "$secs" "$@" "$tmp/$n.far" "$tmp/$n.out" >"$tmp/$n.far.err" 2>&1 &
	far=$!
	peer_pids=$far
	wait_until 30 "$far" test -e "$tmp/$n.online"
	$C timeout "$secs" "$@" "$tmp/$n.near" "$tmp/$n.out" >"$tmp/$n.near.err" 2>&1
	rc_near=$?
	wait $far
	rc_far=$?
	peer_pids=""
	[ $rc_near -eq 0 ] && [ $rc_far -eq 0 ]
	check "${n}_clients_complete_their_plans" $? \
		"near rc $rc_near: $(tail -3 "$tmp/$n.near.err")" \
		"far rc $rc_far: $(tail -3 "$tmp/$n.far.err" 2>/dev/null)"
}

# sort_received NAME USER...: sorts what each USER got ($tmp/NAME.out/USER.got), for check_received.
sort_received() {
	local n="$1" u
	shift
	for u in "$@"; do sort -o "$tmp/$n.out/$u.got" "$tmp/$n.out/$u.got" 2>/dev/null; done
}

# check_received NAME END USER...: NAME.USER.want is what USER got; NAME_USER_END: a clean end.
check_received() {
	local n="$1" end="$2" u st
	shift 2
	for u in "$@"; do
		[ -e "$tmp/$n.$u.want" ] || : >"$tmp/$n.$u.want"
		same_lines "${n}_${u}_received_exactly" "$tmp/$n.$u.want" "$tmp/$n.out/$u.got"
		st=$(cat "$tmp/$n.out/$u.status" 2>/dev/null)
		[ "$st" = clean ]
		check "${n}_${u}_$end" $? "status: ${st:-none}"
	done
}

# ---- clamd (file transfers, #20) ---------------------------------------------

clamd_pid=""
# EICAR's MD5 and size, as a ClamAV hash signature: no network, no freshclam.
EICAR_HDB="44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature"

# start_clamd SECONDS: clamd in the foreground on $tmp/clamd.sock with a database this test
# wrote ($tmp/clamdb: the EICAR signature), for at most SECONDS; true once it answers PING.
start_clamd() {
	mkdir -p "$tmp/clamdb"
	echo "$EICAR_HDB" >"$tmp/clamdb/imwire-test.hdb"
	cat >"$tmp/clamd.conf" <<EOC
LocalSocket $tmp/clamd.sock
DatabaseDirectory $tmp/clamdb
Foreground yes
LogFile $tmp/clamd.log
PidFile $tmp/clamd.pid
Bytecode no
EOC
	timeout "$1" clamd --config-file="$tmp/clamd.conf" >"$tmp/clamd.out" 2>&1 &
	clamd_pid=$!
	server_pids="$server_pids $clamd_pid"
	wait_until 30 "$clamd_pid" clamd_answers
}

# clamd_answers: true when clamd on $tmp/clamd.sock says PONG.
clamd_answers() {
	"$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(1)
s.connect(sys.argv[1])
s.sendall(b"zPING\0")
sys.exit(0 if s.recv(16).startswith(b"PONG") else 1)' "$tmp/clamd.sock" 2>/dev/null
}

# stop_clamd: stops the clamd start_clamd started.
stop_clamd() {
	stop_pid "$clamd_pid"
	server_pids=$(echo "$server_pids" | sed "s/ $clamd_pid\b//")
	clamd_pid=""
}
