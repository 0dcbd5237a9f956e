#!/bin/sh
# The cost of the writer and its write-ahead log (issues 21 and 23), on a
# message-heavy capture made by bench/gen_messages.c (BENCH_FLOWS flows,
# a third each IRC, XMPP and MSN; BENCH_MESSAGES messages, both
# directions), built once under BENCHDIR. In one run, interleaved, each
# BENCH_REPEAT times (median shown), with CPU time (user + system):
#   tcpdump       tcpdump -r FILE -w /dev/null: reading the file, the floor
#   base read     $BENCH_BASE_BIN/imwire read --quiet FILE > x.jsonl, when
#                 BENCH_BASE_BIN names an older build (before/after)
#   read          imwire read --quiet FILE > x.jsonl (JSON lines written
#                 directly, no writer)
#   read, config  the same with --config of an empty file: the writer runs
#                 below all take --config, which also runs the (empty)
#                 policy for every event; this is their baseline
#   writer, log   the same JSON lines through the writer and its
#                 write-ahead log (--format none --config: jsonl_file=,
#                 spool_dir=), fsync=batch (the default), =interval, =off
#   writer, mem   the writer without a log (no spool_dir)
#   sqlite        SQLite through the writer and its log
# Every JSON-lines output is checked equal to the direct one. Prints
# seconds, CPU seconds (all threads), events/s and the ratio to "read,
# config".
#
# Usage: bench/writer_bench.sh [BINDIR [BENCHDIR]]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$TOP/build/bin}
BENCH=${2:-$TOP/build/bench}
FLOWS=${BENCH_FLOWS:-3000}
MSGS=${BENCH_MESSAGES:-600000}
REPEAT=${BENCH_REPEAT:-3}
CAP=$BENCH/messages-${FLOWS}x${MSGS}.pcap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in tcpdump /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "writer_bench: $tool missing" >&2; exit 1; }
done
if [ ! -s "$CAP" ]; then
	"$BENCH/gen_messages" "$CAP.tmp" "$FLOWS" "$MSGS"
	mv "$CAP.tmp" "$CAP"
fi
cat "$CAP" >/dev/null

conf() { # name, extra lines...
	local n=$1
	shift
	printf '%s\n' "$@" >"$work/$n.conf"
}
conf empty "# no key: only the policy's (empty) steps"
conf log_batch "jsonl_file=$work/out.jsonl" "spool_dir=$work/spool" "fsync=batch"
conf log_interval "jsonl_file=$work/out.jsonl" "spool_dir=$work/spool" "fsync=interval"
conf log_off "jsonl_file=$work/out.jsonl" "spool_dir=$work/spool" "fsync=off"
conf mem "jsonl_file=$work/out.jsonl"
conf sqlite "sqlite_file=$work/out.db" "spool_dir=$work/spool"

# one NAME CHECK command...: one timed run into NAME.t ("wall cpu"); the
# JSON lines it wrote ($work/out.jsonl or stdout) compared with the direct
# read's when CHECK is 1.
one() {
	local name=$1 check=$2
	shift 2
	rm -rf "$work/spool" "$work/out.jsonl" "$work/out.db"
	/usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/stdout" 2>"$work/$name.err" || {
		echo "writer_bench: $name failed:" >&2
		tail -5 "$work/$name.err" >&2
		exit 1
	}
	awk '{ print $1, $2 + $3 }' "$work/time" >>"$work/$name.t"
	if [ "$check" = 1 ]; then
		out=$work/out.jsonl
		[ -s "$out" ] || out=$work/stdout
		cmp -s "$out" "$work/direct.jsonl" || { echo "writer_bench: $name wrote other JSON lines" >&2; exit 1; }
	fi
}

"$BIN/imwire" read --quiet "$CAP" >"$work/direct.jsonl"
events=$(wc -l <"$work/direct.jsonl")
i=0
while [ "$i" -lt "$REPEAT" ]; do
	one tcpdump 0 tcpdump -r "$CAP" -w /dev/null
	[ -z "${BENCH_BASE_BIN:-}" ] || one base 1 "$BENCH_BASE_BIN/imwire" read --quiet "$CAP"
	one read 1 "$BIN/imwire" read --quiet "$CAP"
	one read_config 1 "$BIN/imwire" read --quiet --config "$work/empty.conf" "$CAP"
	for m in log_batch log_interval log_off mem; do
		one "$m" 1 "$BIN/imwire" read --quiet --format none --config "$work/$m.conf" "$CAP"
	done
	one sqlite 0 "$BIN/imwire" read --quiet --format none --config "$work/sqlite.conf" "$CAP"
	i=$((i + 1))
done

median() { # NAME: "wall cpu" of the run with the median wall time
	sort -n "$work/$1.t" | awk -v n="$REPEAT" 'NR == int((n + 1) / 2)'
}
base_wall=$(median read_config | cut -d' ' -f1)
size=$(stat -c %s "$CAP")
echo "capture: $CAP, $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1048576 }'), $events events; $REPEAT runs each, median; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %8s %8s %12s %9s\n' "reader" "seconds" "cpu s" "events/s" "x read,cfg"
show() { # name, label
	[ -s "$work/$1.t" ] || return 0
	median "$1" | awk -v l="$2" -v e="$events" -v b="$base_wall" \
		'{ printf "%-46s %8.2f %8.2f %12.0f %9.2f\n", l, $1, $2, ($1 > 0 ? e / $1 : 0), ($1 / (b > 0 ? b : 0.01)) }'
}
show tcpdump "tcpdump -r FILE -w /dev/null (floor)"
show base "base imwire read ($BENCH_BASE_BIN)"
show read "imwire read, JSON lines direct"
show read_config "imwire read --config (empty), direct"
show log_batch "writer + write-ahead log, fsync=batch"
show log_interval "writer + write-ahead log, fsync=interval"
show log_off "writer + write-ahead log, fsync=off"
show mem "writer, memory only (no spool_dir)"
show sqlite "SQLite, writer + write-ahead log"
for n in tcpdump base read read_config log_batch log_interval log_off mem sqlite; do
	[ -s "$work/$n.t" ] && printf '(%s runs, s: %s) ' "$n" "$(cut -d' ' -f1 "$work/$n.t" | tr '\n' ' ')"
done
echo
