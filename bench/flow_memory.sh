#!/bin/sh
# Memory per idle tracked IM flow (issue 23: goal at most 512 bytes at
# 100 000 concurrent flows, protocol state included; issue 11 asked under
# 1 KiB), and per half-open flow of a SYN flood (issue 16). bench/flow_sizes.c opens N idle IRC sessions in one
# flow table (handshake, NICK/USER, the server's welcome) and prints the
# structure sizes, malloc's own count of the heap they hold, and its peak
# RSS; this script runs it at 1 000 and at BENCH_FLOWS (100 000) flows and
# prints the RSS difference per added flow, so fixed costs cancel out.
#
# With BASE_BENCH set to another build's bench directory (a base: main,
# built elsewhere), its flow_sizes is run the same way in the same run,
# and each figure is followed by the base's and the ratio to it.
#
# Usage: bench/flow_memory.sh [BINDIR [BENCHDIR]]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${2:-$TOP/build/bench}
BASE=${BASE_BENCH:-}
N=${BENCH_FLOWS:-100000}
SMALL=1000
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# rss_per_flow BENCHDIR [MODE]: "PER BIG SMALL", the RSS in bytes per
# added flow between SMALL and N flows, and the two peaks in KB; the N
# run's own output goes to $OUT.
rss_per_flow() {
	small=$("$1/flow_sizes" "$SMALL" ${2:+"$2"})
	"$1/flow_sizes" "$N" ${2:+"$2"} > "$OUT"
	a=$(echo "$small" | awk '/peak RSS/ { print $3 }')
	b=$(awk '/peak RSS/ { print $3 }' "$OUT")
	awk -v a="$a" -v b="$b" -v n="$N" -v s="$SMALL" \
		'BEGIN { printf "%.0f %d %d\n", (b - a) * 1024 / (n - s), b, a }'
}

# report LABEL SUFFIX MODE [LINES]: the figure for this build (SUFFIX: a
# printf format for its ratio to 512), after the last LINES of the N
# run's output (all when empty), then the base's when there is one.
report() {
	label=$1 suffix=$2 mode=$3 lines=${4:-}
	r=$(rss_per_flow "$BENCH" "$mode")
	if [ -n "$lines" ]; then tail -"$lines" "$OUT"; else cat "$OUT"; fi
	echo "$r" | awk -v l="$label" -v t="$suffix" -v n="$N" -v s="$SMALL" '{
		printf "%s: %d bytes (%d KB at %d flows, %d KB at %d); " t "\n",
			l, $1, $2, n, $3, s, $1 / 512
	}'
	[ -n "$BASE" ] || return 0
	b=$(rss_per_flow "$BASE" "$mode")
	heap=$(sed -n 's/.* \([0-9]*\) bytes per flow.*/\1/p' "$OUT")
	echo "$b $r ${heap:-?}" | awk -v n="$N" -v s="$SMALL" '{
		printf "  base: %d bytes (%d KB at %d flows, %d KB at %d; heap %s bytes a flow); this build %.2f of the base\n",
			$1, $2, n, $3, s, $7, $4 / $1
	}'
}

report "RSS per added idle flow" "goal at most 512: %.2f of it" ""
# A SYN flood's flows (issue 16): a SYN each, nothing allocated but the flow.
report "RSS per added half-open flow" "%.2f of an idle session's 512 goal" halfopen 2
# The same idle sessions through the inline engine (imwired's path): its
# per-flow state on top of the flow table's.
report "RSS per added idle flow, inline" "goal at most 512: %.2f of it" inline
