#!/bin/sh
# `imwire read` against `tshark -r` (full dissection) and `tcpdump -r FILE
# -w /dev/null` (reading the file, the floor) on one large multi-protocol
# capture: tests/pcaps and the shared captures repeated with fresh
# addresses (bench/make_capture.c) up to BENCH_READ_MB (300) MB, built once
# under BENCHDIR and never committed. Prints seconds (median of
# BENCH_REPEAT runs, tshark BENCH_TSHARK_REPEAT runs), MB/s, peak RSS, and
# ratios measured in this run. Goals (issue 11): at least 50 times faster
# than tshark, within 3 times the tcpdump floor.
#
# Usage: bench/read_bench.sh [BINDIR [BENCHDIR]]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$TOP/build/bin}
BENCH=${2:-$TOP/build/bench}
MB=${BENCH_READ_MB:-300}
REPEAT=${BENCH_REPEAT:-3}
TSHARK_REPEAT=${BENCH_TSHARK_REPEAT:-1}
SHARED=${SHARED_PCAPS:-$TOP/../shared/pcaps}
CAP=$BENCH/read-capture-${MB}MB.pcap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in tshark tcpdump /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "read_bench: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ ! -s "$CAP" ]; then
	inputs=$(ls "$TOP"/tests/pcaps/*.pcap; find "$SHARED" -name '*.pcap' -o -name '*.pcapng' 2>/dev/null | sort)
	# shellcheck disable=SC2086
	"$BENCH/make_capture" "$CAP.tmp" "$MB" $inputs
	mv "$CAP.tmp" "$CAP"
fi
size=$(stat -c %s "$CAP")
cat "$CAP" >/dev/null # the page cache holds it for every tool alike

# run NAME REPEAT command...: median seconds and the max RSS, into NAME.*
run() {
	name=$1 n=$2
	shift 2
	: >"$work/$name.t"
	i=0
	while [ "$i" -lt "$n" ]; do
		/usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
			echo "read_bench: $name failed:" >&2
			tail -5 "$work/$name.err" >&2
			exit 1
		}
		tail -1 "$work/time" >>"$work/$name.t"
		i=$((i + 1))
	done
	sort -n "$work/$name.t" | awk -v n="$n" 'NR == int((n + 1) / 2) { print $1 > "'"$work/$name"'.s" }
		{ if ($2 > m) m = $2 } END { print m > "'"$work/$name"'.rss" }'
}

run tcpdump "$REPEAT" tcpdump -r "$CAP" -w /dev/null
run imwire "$REPEAT" "$BIN/imwire" read --quiet "$CAP"
events=$(wc -l <"$work/imwire.out")
run tshark "$TSHARK_REPEAT" tshark -n -r "$CAP"
frames=$(wc -l <"$work/tshark.out")

t_dump=$(cat "$work/tcpdump.s") t_imw=$(cat "$work/imwire.s") t_tsh=$(cat "$work/tshark.s")
echo "capture: $CAP, $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1048576 }'), $frames packets; imwire decoded $events events"
awk -v s="$size" -v a="$t_dump" -v b="$t_imw" -v c="$t_tsh" \
	-v ra="$(cat "$work/tcpdump.rss")" -v rb="$(cat "$work/imwire.rss")" -v rc="$(cat "$work/tshark.rss")" 'BEGIN {
	mb = s / 1048576
	printf "%-44s %8s %9s %10s %14s\n", "reader", "seconds", "MB/s", "peak RSS", "x imwire time"
	printf "%-44s %8.2f %9.1f %7d KB %14.2f\n", "tcpdump -r FILE -w /dev/null (floor)", a, mb / (a > 0 ? a : 0.01), ra, a / (b > 0 ? b : 0.01)
	printf "%-44s %8.2f %9.1f %7d KB %14.2f\n", "imwire read --quiet FILE", b, mb / (b > 0 ? b : 0.01), rb, 1
	printf "%-44s %8.2f %9.1f %7d KB %14.2f\n", "tshark -n -r FILE", c, mb / (c > 0 ? c : 0.01), rc, c / (b > 0 ? b : 0.01)
	printf "imwire is %.1f times faster than tshark (goal >= 50) and takes %.2f times the tcpdump floor (goal <= 3)\n",
		c / (b > 0 ? b : 0.01), b / (a > 0 ? a : 0.01)
}'
echo "(runs, s: tcpdump $(awk '{printf "%s ", $1}' "$work/tcpdump.t")| imwire $(awk '{printf "%s ", $1}' "$work/imwire.t")| tshark $(awk '{printf "%s ", $1}' "$work/tshark.t"))"
