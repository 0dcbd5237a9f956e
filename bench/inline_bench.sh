#!/bin/sh
# The inline engine's cost, measured in one run on the netns bridge
# topology (scripts/netns-topology.sh) against a baseline of the same run:
#   a  the bridge with no rules
#   b  the steering rules (imwire setup) and an accept-only queue
#      consumer (bench/accept_queue.c): the cost of the queue itself
#   c  imwired decoding IRC on port 6667 and logging every message
#   d  imwired with a length-changing rewrite at the start of each
#      connection, so every later packet of the flow is translated
# For each: the round-trip time of IRC PRIVMSG ping-pongs, one in flight
# (first, on an idle path), then bulk throughput (IRC lines, server to
# client; the median of BENCH_REPEAT runs). Prints a table with ratios
# to (a).
#
# Usage: bench/inline_bench.sh [BINDIR [BENCHDIR]]   (as root; `make bench`)
#   BINDIR    imwire and imwired (default build/bin)
#   BENCHDIR  inline_peer and accept_queue (default build/bench)
# Environment: BENCH_BYTES (200000000), BENCH_PINGS (2000),
#   BENCH_REPEAT (5 bulk runs), BENCH_PING_ROUNDS (3), BENCH_SECONDS (60, the bound on each transfer),
#   BENCH_BULK (notice: server NOTICE lines, decoded but not logged;
#   privmsg: user PRIVMSG lines, each one a logged message event),
#   BENCH_PERF=1 records `perf record` of imwired in (c) and (d) (with
#   the options in BENCH_PERF_RECORD, e.g. -g; the data kept in
#   BENCH_PERF_DIR when set) and
#   prints the top symbols,
#   BENCH_BASE_BIN (a directory holding another build's imwired) adds
#   (c0) and (d0): (c) and (d) with that build, in the same run.
# With BENCH_BULK=privmsg it also prints messages/s delivered (lines the
# receiver got) and written (events in the log by the end of the
# transfer), and the writer's lag: how long after the transfer ended the
# log still grew (until every message was written, 30 s at most).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${1:-$TOP/build/bin}" && pwd) || exit 1
HB=$(cd "${2:-$TOP/build/bench}" && pwd) || exit 1
BYTES=${BENCH_BYTES:-200000000}
PINGS=${BENCH_PINGS:-2000}
REPEAT=${BENCH_REPEAT:-5}
PING_ROUNDS=${BENCH_PING_ROUNDS:-3}
BULK=${BENCH_BULK:-notice}
LIMIT=${BENCH_SECONDS:-60}
PERF=${BENCH_PERF:-0}
PERF_RECORD=${BENCH_PERF_RECORD:-}
PERF_DIR=${BENCH_PERF_DIR:-}
BASE=${BENCH_BASE_BIN:-}
case $BULK in
notice | privmsg) ;;
*)
	echo "inline_bench: BENCH_BULK must be notice or privmsg" >&2
	exit 2
	;;
esac
PORT=6667
GREETING="hello there"
CLIENT_LINE="PRIVMSG bob :hello there"
REWRITE_TO="greetings-and-salutations"

tmp=$(mktemp -d)
P="imwbn$$"
helper_pid=""

stop_helper() {
	[ -n "$helper_pid" ] || return 0
	kill -TERM "$helper_pid" 2>/dev/null
	wait "$helper_pid" 2>/dev/null
	helper_pid=""
}

cleanup() {
	stop_helper
	"$TOP/scripts/netns-topology.sh" down "$P" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "inline_bench: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, iptables, NFQUEUE)"
for f in "$BIN/imwire" "$BIN/imwired" "$HB/inline_peer" "$HB/accept_queue"; do
	[ -x "$f" ] || die "$f is missing: run make bench"
done
"$TOP/scripts/netns-topology.sh" up "$P" >/dev/null || die "cannot create the netns topology"
B="ip netns exec $P-b"
C="ip netns exec $P-c"
S="ip netns exec $P-s"

# wait_log FILE TEXT: until TEXT shows in FILE (5 s at most) while the helper lives.
wait_log() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$helper_pid" 2>/dev/null; then
			cat "$1" >&2
			return 1
		fi
		sleep 0.05
	done
}

start_accept_queue() {
	$B "$HB/accept_queue" 0 3600 >"$tmp/helper.log" 2>&1 &
	helper_pid=$!
	wait_log "$tmp/helper.log" "queue 0 ready"
}

start_imwired() { # extra config lines...
	start_imwired_from "$BIN" "$@"
}

start_imwired_from() { # bindir, extra config lines...
	dir=$1
	shift
	# The instance is named after the configuration: after this run's
	# topology, so that two runs at once (or a test) never share a pid
	# file, control socket, hand-over claim or spool. Each daemon starts
	# with an empty spool of its own, removed with the rest.
	conf="$tmp/$P.conf"
	rm -rf "$tmp/spool"
	printf 'jsonl_file=%s\nspool_dir=%s\n' "$tmp/events.jsonl" "$tmp/spool" >"$conf"
	for l in "$@"; do printf '%s\n' "$l" >>"$conf"; done
	rm -f "$tmp/events.jsonl"
	$B "$dir/imwired" -d -c "$conf" >"$tmp/helper.log" 2>&1 &
	helper_pid=$!
	wait_log "$tmp/helper.log" "queue 0: ready"
}

# Bulk transfers: "MB/s" of each run on a line of $tmp/NAME.bulk.
run_bulk() { # name expected-first-line expected-bytes
	n=$1
	r=0
	: >"$tmp/$n.bulk"
	[ -f "$tmp/events.jsonl" ] && : >"$tmp/events.jsonl"
	while [ $r -lt "$REPEAT" ]; do
		r=$((r + 1))
		$S "$HB/inline_peer" bulk-server $PORT "$BYTES" "$LIMIT" "$BULK" "$GREETING" \
			>"$tmp/bs.out" 2>"$tmp/bs.err" &
		spid=$!
		$C "$HB/inline_peer" bulk-client 10.77.0.2 $PORT "$LIMIT" "$CLIENT_LINE" \
			>"$tmp/bc.out" 2>"$tmp/bc.err"
		crc=$?
		wait $spid
		src=$?
		got=$(sed -n 's/.*bytes=\([0-9]*\) .*/\1/p' "$tmp/bc.out")
		first=$(sed -n 's/.* first=//p' "$tmp/bc.out")
		if [ $crc -ne 0 ] || [ $src -ne 0 ] || [ "$got" != "$3" ] || [ "$first" != "$2" ]; then
			echo "inline_bench: $n: bulk run $r is wrong: got ${got:-?} bytes" \
				"(want $3), first line '$first' (want '$2')" >&2
			cat "$tmp/bc.err" "$tmp/bs.err" >&2
			echo "FAILED" >>"$tmp/$n.bulk"
			continue
		fi
		sed -n 's/.*mbytes_per_s=\([0-9.]*\).*/\1/p' "$tmp/bc.out" >>"$tmp/$n.bulk"
		# Events the daemon logged by the time the receiver had every
		# byte, and once the log stopped growing: the difference is
		# decoding or writing that lagged behind the verdicts. The lag
		# is how long after the end the last of them came (every message
		# of a privmsg run is an event: waited for, 30 s at most; else
		# until 1 s passes without growth).
		if [ -f "$tmp/events.jsonl" ]; then
			at_end=$(wc -l <"$tmp/events.jsonl")
			t0=$(date +%s.%N)
			settled=$at_end
			last=$t0
			while :; do
				now=$(wc -l <"$tmp/events.jsonl")
				t=$(date +%s.%N)
				if [ "$now" != "$settled" ]; then
					settled=$now
					last=$t
				fi
				[ "$BULK" = privmsg ] && [ "$settled" -ge "$want_events" ] && break
				awk -v t="$t" -v l="$last" -v t0="$t0" 'BEGIN {
					exit !(t - l >= 1 || t - t0 >= 30) }' && break
				sleep 0.05
			done
			lag=$(awk -v l="$last" -v t0="$t0" 'BEGIN { printf "%.2f", l - t0 }')
			secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$tmp/bc.out")
			echo "$settled ($((settled - at_end)) late, lag ${lag} s)" >>"$tmp/$n.events"
			echo "$at_end $secs $lag" >>"$tmp/$n.written"
			# With privmsg lines the log grows by 1 KB a line: keep it small.
			: >"$tmp/events.jsonl"
		fi
	done
}

# Ping-pong rounds: the round with the median median goes to $tmp/NAME.ping
# (a busy neighbour on a 2-core machine can spoil one round).
run_ping() { # name expected-hello-reply
	n=$1
	r=0
	: >"$tmp/$n.pings"
	while [ $r -lt "$PING_ROUNDS" ]; do
		r=$((r + 1))
		$S "$HB/inline_peer" ping-server $PORT "$LIMIT" >"$tmp/ps.out" 2>"$tmp/ps.err" &
		spid=$!
		$C "$HB/inline_peer" ping-client 10.77.0.2 $PORT "$PINGS" "$LIMIT" \
			>"$tmp/pc.out" 2>"$tmp/pc.err"
		crc=$?
		wait $spid
		src=$?
		reply=$(sed -n 's/.* hello_reply=//p' "$tmp/pc.out")
		if [ $crc -ne 0 ] || [ $src -ne 0 ] || [ "$reply" != "$2" ]; then
			echo "inline_bench: $n: ping-pong is wrong: reply '$reply' (want '$2')" >&2
			cat "$tmp/pc.err" "$tmp/ps.err" >&2
			echo "FAILED" >"$tmp/$n.ping"
			return
		fi
		cat "$tmp/pc.out" >>"$tmp/$n.pings"
	done
	sort -t= -k3 -n "$tmp/$n.pings" |
		awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }' >"$tmp/$n.ping"
	sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' "$tmp/$n.pings" | tr '\n' ' ' >"$tmp/$n.medians"
}

perf_start() { # name
	[ "$PERF" = 1 ] || return 0
	# shellcheck disable=SC2086 # BENCH_PERF_RECORD is a list of options
	perf record $PERF_RECORD -o "$tmp/$1.perf" -p "$helper_pid" >"$tmp/perf.log" 2>&1 &
	perf_pid=$!
	sleep 0.5
}

perf_stop() { # name
	[ "$PERF" = 1 ] || return 0
	kill -INT "$perf_pid" 2>/dev/null
	wait "$perf_pid" 2>/dev/null
	echo "--- perf: imwired in ($1), top symbols (self) ---"
	perf report -i "$tmp/$1.perf" --no-children --sort dso,symbol --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -25
	echo "--- perf: imwired in ($1), by thread ---"
	perf report -i "$tmp/$1.perf" --no-children --sort pid --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -6
	[ -z "$PERF_DIR" ] || cp "$tmp/$1.perf" "$PERF_DIR/$1.perf"
}

# The daemon's summary, or, when it has none (it did not stop as it
# should), the end of what it said.
report_helper() { # name pattern
	if grep -q "$2" "$tmp/helper.log"; then
		grep "$2" "$tmp/helper.log" | sed "s/^/  ($1) /" >&2
	else
		echo "  ($1) no summary from the daemon; the end of its log:" >&2
		tail -n 20 "$tmp/helper.log" | sed "s/^/  ($1) /" >&2
	fi
}

greet_line=":bob!b@h PRIVMSG alice :$GREETING"
# privmsg: one event a line, and the client's first line and the greeting
want_events=$((BYTES / 1000 + 2))
greet_len=$((${#greet_line} + 2))
bulk_bytes=$((BYTES - BYTES % 1000 + greet_len))
rewritten_line=":bob!b@h PRIVMSG alice :$REWRITE_TO there"
rewritten_bytes=$((bulk_bytes + ${#REWRITE_TO} - 5))
hello_len=5
rewritten_hello_len=${#REWRITE_TO}

echo "inline_bench: $BYTES bytes bulk x $REPEAT, $PINGS ping-pongs, topology $P" >&2

# (a) the plain bridge
run_ping a ":bob!b@h PRIVMSG alice :hello back, you sent $hello_len bytes"
run_bulk a "$greet_line" $bulk_bytes

# The same steering rules for (b), (c) and (d).
$B "$BIN/imwire" setup --bridge br0 --ports $PORT >/dev/null || die "imwire setup failed"

# (b) the queue and an accept-only consumer
start_accept_queue || die "accept_queue did not start"
run_ping b ":bob!b@h PRIVMSG alice :hello back, you sent $hello_len bytes"
run_bulk b "$greet_line" $bulk_bytes
stop_helper
sed 's/^/  (b) /' "$tmp/helper.log" >&2

# (c) imwired decoding and logging
start_imwired || die "imwired did not start"
perf_start c
run_ping c ":bob!b@h PRIVMSG alice :hello back, you sent $hello_len bytes"
run_bulk c "$greet_line" $bulk_bytes
perf_stop c
stop_helper
report_helper c 'packets:'

# (d) imwired translating every packet after a rewrite
start_imwired "regex_replace=/hello/$REWRITE_TO/" || die "imwired did not start"
perf_start d
run_ping d ":bob!b@h PRIVMSG alice :$REWRITE_TO back, you sent $rewritten_hello_len bytes"
run_bulk d "$rewritten_line" $rewritten_bytes
perf_stop d
stop_helper
report_helper d 'packets:'
# (c0) and (d0): the same with another build, in this run
if [ -n "$BASE" ]; then
	start_imwired_from "$BASE" || die "the base imwired did not start"
	run_ping c0 ":bob!b@h PRIVMSG alice :hello back, you sent $hello_len bytes"
	run_bulk c0 "$greet_line" $bulk_bytes
	stop_helper
	start_imwired_from "$BASE" "regex_replace=/hello/$REWRITE_TO/" ||
		die "the base imwired did not start"
	run_ping d0 ":bob!b@h PRIVMSG alice :$REWRITE_TO back, you sent $rewritten_hello_len bytes"
	run_bulk d0 "$rewritten_line" $rewritten_bytes
	stop_helper
fi
# (e) imwired with the routing stage on (local routing and a bot): every
# event runs the routing handlers, sessions are registered, and link facts
# are kept for originating; nothing here is routed (bob is beyond the bridge)
start_imwired "local_routing=irc" "bot_auditbot=auditbot@irc" || die "imwired did not start"
run_ping e ":bob!b@h PRIVMSG alice :hello back, you sent $hello_len bytes"
run_bulk e "$greet_line" $bulk_bytes
stop_helper
report_helper e 'packets:\|routing:'
for n in c0 c d0 d e; do
	[ -f "$tmp/$n.events" ] && echo "  ($n) events logged per bulk run: $(paste -sd, "$tmp/$n.events")" >&2
done

median() { # file of numbers (or FAILED) -> median, or FAILED
	if grep -q FAILED "$1" || ! [ -s "$1" ]; then
		echo FAILED
	else
		sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
	fi
}

field() { # file key
	sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1"
}

base_tp=$(median "$tmp/a.bulk")
base_med=$(field "$tmp/a.ping" median_us)
echo
printf '%-40s %9s %7s %10s %10s %7s %10s\n' "configuration" "MB/s" "ratio" "median us" "p99 us" \
	"ratio" "added us"
for n in a b c0 c d0 d e; do
	[ -s "$tmp/$n.bulk" ] || continue
	case $n in
	a) what="(a) bridge, no rules" ;;
	b) what="(b) NFQUEUE + accept-only consumer" ;;
	c0) what="(c0) as (c), BENCH_BASE_BIN's imwired" ;;
	c) what="(c) imwired, IRC decoded and logged" ;;
	d0) what="(d0) as (d), BENCH_BASE_BIN's imwired" ;;
	d) what="(d) imwired, rewrite: every packet mapped" ;;
	e) what="(e) imwired, routing stage on" ;;
	esac
	tp=$(median "$tmp/$n.bulk")
	med=$(field "$tmp/$n.ping" median_us)
	p99=$(field "$tmp/$n.ping" p99_us)
	awk -v what="$what" -v tp="$tp" -v btp="$base_tp" -v med="${med:-}" -v p99="${p99:-}" \
		-v bmed="${base_med:-}" 'BEGIN {
		r1 = (tp != "FAILED" && btp != "FAILED" && btp > 0) ? sprintf("%.2f", tp / btp) : "-"
		if (med == "") { med = "FAILED"; p99 = "-"; r2 = "-"; add = "-" }
		else if (bmed == "") { r2 = "-"; add = "-" }
		else { r2 = sprintf("%.2f", med / bmed); add = sprintf("%+.1f", med - bmed) }
		printf "%-40s %9s %7s %10s %10s %7s %10s\n", what, tp, r1, med, p99, r2, add
	}'
done
echo
case $BULK in
notice) kind="server NOTICE lines (decoded, not logged)" ;;
*) kind="user PRIVMSG lines (each a logged message)" ;;
esac
echo "bulk: $BYTES bytes of 1000-byte IRC $kind, server to client, median of $REPEAT runs"
runs=""
for n in a b c0 c d0 d e; do
	[ -s "$tmp/$n.bulk" ] && runs="$runs${runs:+| }$n $(tr '\n' ' ' <"$tmp/$n.bulk")"
done
echo "      (runs, MB/s: $runs)"
if [ "$BULK" = privmsg ]; then
	# A line is 1000 bytes: messages/s delivered is MB/s x 1000.
	for n in c0 c d0 d e; do
		[ -s "$tmp/$n.written" ] || continue
		sort -n -k3 "$tmp/$n.written" >"$tmp/w.sorted"
		w=$(awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }' "$tmp/w.sorted")
		median "$tmp/$n.bulk" | awk -v n="$n" -v w="$w" '{
			split(w, f, " ")
			printf "  (%s) messages/s delivered %.0f, written by the end %.0f; writer lag %s s" \
				" (the median run)\n", n, $1 * 1000, (f[2] > 0 ? f[1] / f[2] : 0), f[3] }'
	done
fi
echo "latency: $PINGS IRC PRIVMSG round trips, one in flight, TCP_NODELAY, after 50 unmeasured;"
meds=""
for n in a b c0 c d0 d e; do
	[ -f "$tmp/$n.medians" ] && meds="$meds${meds:+| }$n $(cat "$tmp/$n.medians")"
done
echo "      the median of $PING_ROUNDS rounds (medians, us: $meds)"
echo "goals: (c), (d) and (e) throughput ratio >= 0.80; added median latency < 100 us"
