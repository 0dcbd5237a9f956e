#!/bin/sh
# `imwire read` on message-heavy traffic (issue 23) against the tcpdump
# floor, tshark and, when installed, Suricata, in one run. The capture is
# made once under BENCHDIR by bench/gen_messages.c: BENCH_FLOWS (3000)
# connections, a third each IRC (6667), XMPP c2s (5222) and MSN
# switchboard (1863), BENCH_MESSAGES (600000) chat messages of 20 to 200
# bytes (one in eight with UTF-8) spread over them, both directions, one
# PDU a segment. The file is read into the page cache first; then, each
# BENCH_REPEAT (3) times (tshark BENCH_TSHARK_REPEAT, 1), interleaved so
# that load on the machine falls on all alike:
#   tcpdump        tcpdump -r FILE -w /dev/null: reading every record, the floor
#   base jsonl     $BENCH_BASE_BIN/imwire read --quiet FILE > x.jsonl, when
#                  BENCH_BASE_BIN names another build (before/after)
#   jsonl          imwire read --quiet FILE > x.jsonl: every event as a JSON line
#   imspector      imwire read --quiet --format imspector -o DIR FILE
#   sqlite         imwire read --quiet --config C FILE, C naming a SQLite file
#                  (the JSON lines go to /dev/null, or nowhere with
#                  --format none where imwire has it)
#   tshark         tshark -n -r FILE > /dev/null (one summary line a packet)
#   suricata       suricata -r FILE, no rules, single thread (flow and TCP
#                  tracking only: it has no IRC, XMPP or MSN parser)
# Prints the median wall seconds and CPU seconds (user + system: steadier
# on a loaded machine), MB/s, messages/s, peak RSS, and the ratios to the
# floor and to tshark. Goals (issue 23): JSON lines at least 15 times
# faster than tshark and within 5 times the floor. Every JSON-lines run
# must give the same lines; the run fails otherwise.
#
# Usage: bench/message_bench.sh [BINDIR [BENCHDIR]]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$TOP/build/bin}
BENCH=${2:-$TOP/build/bench}
FLOWS=${BENCH_FLOWS:-3000}
MSGS=${BENCH_MESSAGES:-600000}
REPEAT=${BENCH_REPEAT:-3}
TSHARK_REPEAT=${BENCH_TSHARK_REPEAT:-1}
BASE=${BENCH_BASE_BIN:-}
CAP=$BENCH/messages-${FLOWS}x${MSGS}.pcap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in tshark tcpdump /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "message_bench: $tool missing (scripts/install-deps.sh --test)" >&2; exit 1; }
done
if [ ! -s "$CAP" ]; then
	"$BENCH/gen_messages" "$CAP.tmp" "$FLOWS" "$MSGS"
	mv "$CAP.tmp" "$CAP"
fi
size=$(stat -c %s "$CAP")
cat "$CAP" >/dev/null # the page cache holds it for every reader alike

printf 'sqlite_file=%s\n' "$work/events.db" >"$work/sqlite.conf"
if "$BIN/imwire" help 2>&1 | grep -q 'format.*none'; then
	sqlite_fmt="--format none"
else
	sqlite_fmt=""
fi
if command -v suricata >/dev/null; then
	suricata=suricata
	mkdir -p "$work/suricata"
	: >"$work/empty.rules"
else
	suricata=
fi

# once NAME command...: one timed run, appended to NAME.t as
# "wall cpu rss"; output to NAME.out.
once() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
		echo "message_bench: $name failed:" >&2
		tail -5 "$work/$name.err" >&2
		exit 1
	}
	tail -1 "$work/time" | awk '{ print $1, $2 + $3, $4 }' >>"$work/$name.t"
}

# A JSON-lines run must give the lines the first one gave.
same_lines() {
	if [ -s "$work/jsonl.ref" ]; then
		cmp -s "$work/jsonl.ref" "$work/$1.out" || {
			echo "message_bench: $1 wrote other JSON lines than jsonl" >&2
			exit 1
		}
	fi
}

i=0
while [ "$i" -lt "$REPEAT" ]; do
	once tcpdump tcpdump -r "$CAP" -w /dev/null
	once jsonl "$BIN/imwire" read --quiet "$CAP"
	[ -s "$work/jsonl.ref" ] || cp "$work/jsonl.out" "$work/jsonl.ref"
	same_lines jsonl
	if [ -n "$BASE" ]; then
		once base "$BASE/imwire" read --quiet "$CAP"
		same_lines base
	fi
	rm -rf "$work/imspector"
	once imspector "$BIN/imwire" read --quiet --format imspector -o "$work/imspector" "$CAP"
	rm -f "$work/events.db"*
	# shellcheck disable=SC2086
	once sqlite "$BIN/imwire" read --quiet $sqlite_fmt --config "$work/sqlite.conf" "$CAP"
	if [ -n "$suricata" ]; then
		once suricata suricata -r "$CAP" --runmode single -k none -S "$work/empty.rules" \
			-l "$work/suricata"
	fi
	i=$((i + 1))
done
i=0
while [ "$i" -lt "$TSHARK_REPEAT" ]; do
	once tshark tshark -n -r "$CAP"
	i=$((i + 1))
done

events=$(wc -l <"$work/jsonl.ref")
messages=$(grep -c '"kind":"message"' "$work/jsonl.ref" || true)
rows=$(sqlite3 "$work/events.db" 'SELECT COUNT(*) FROM messages' 2>/dev/null || echo "?")
packets=$(wc -l <"$work/tshark.out")

# median NAME FIELD (1 wall, 2 cpu, 3 rss: the largest)
median() {
	if [ "$2" = 3 ]; then
		awk '{ if ($3 > m) m = $3 } END { print m + 0 }' "$work/$1.t"
	else
		sort -n -k"$2" "$work/$1.t" | awk -v f="$2" '{ v[NR] = $f } END { print v[int((NR + 1) / 2)] }'
	fi
}

echo "capture: $CAP, $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }'), $packets packets, $FLOWS flows"
echo "imwire: $events events, $messages messages (JSON lines); SQLite: $rows rows"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %8s %8s %8s %11s %10s %8s %8s\n' reader seconds "cpu s" "MB/s" "messages/s" "peak RSS" "x floor" "tshark/x"
t_floor=$(median tcpdump 1) t_tshark=$(median tshark 1)
c_floor=$(median tcpdump 2) c_tshark=$(median tshark 2)
row() {
	name=$1 label=$2
	[ -s "$work/$name.t" ] || return 0
	awk -v label="$label" -v s="$size" -v m="$messages" -v t="$(median "$name" 1)" \
		-v c="$(median "$name" 2)" -v r="$(median "$name" 3)" -v f="$t_floor" -v ts="$t_tshark" 'BEGIN {
		d = t > 0 ? t : 0.005
		printf "%-46s %8.2f %8.2f %8.1f %11.0f %7d KB %8.2f %8.2f\n", label, t, c, s / 1e6 / d,
			m / d, r, t / (f > 0 ? f : 0.005), ts / d
	}'
}
row tcpdump "tcpdump -r FILE -w /dev/null (floor)"
row base "imwire read, JSON lines (BENCH_BASE_BIN)"
row jsonl "imwire read, JSON lines"
row imspector "imwire read, IMSpector files"
if [ -n "$sqlite_fmt" ]; then
	row sqlite "imwire read, SQLite (--format none)"
else
	row sqlite "imwire read, SQLite (+ JSON to /dev/null)"
fi
row tshark "tshark -n -r FILE"
row suricata "suricata -r FILE, no rules, single thread"
[ -n "$suricata" ] || echo "suricata: not installed (not in Debian 12; bookworm-backports has it): no row"

t_jsonl=$(median jsonl 1) c_jsonl=$(median jsonl 2)
awk -v f="$t_floor" -v ts="$t_tshark" -v j="$t_jsonl" -v cf="$c_floor" -v cts="$c_tshark" -v cj="$c_jsonl" 'BEGIN {
	j = j > 0 ? j : 0.005; cj = cj > 0 ? cj : 0.005
	printf "goals, wall time: JSON lines %.1f times faster than tshark (goal >= 15), %.2f times the floor (goal <= 5)\n",
		ts / j, j / (f > 0 ? f : 0.005)
	printf "       cpu time:  JSON lines %.1f times faster than tshark, %.2f times the floor\n",
		cts / cj, cj / (cf > 0 ? cf : 0.005)
}'
if [ -s "$work/suricata.t" ]; then
	awk -v s="$(median suricata 1)" -v j="$t_jsonl" 'BEGIN {
		printf "       JSON lines take %.2f of Suricata'"'"'s time (goal < 1)\n", j / (s > 0 ? s : 0.005) }'
fi
for name in tcpdump base jsonl imspector sqlite tshark suricata; do
	[ -s "$work/$name.t" ] || continue
	printf '(runs %s, wall/cpu s: %s)\n' "$name" "$(awk '{ printf "%s/%s ", $1, $2 }' "$work/$name.t")"
done
