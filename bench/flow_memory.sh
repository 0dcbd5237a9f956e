#!/bin/sh
# Memory per idle tracked IM flow (issue 23: goal at most 512 bytes at
# 100 000 concurrent flows, protocol state included; issue 11 asked under
# 1 KiB), and per half-open flow of a SYN flood (issue 16). bench/flow_sizes.c opens N idle IRC sessions in one
# flow table (handshake, NICK/USER, the server's welcome) and prints the
# structure sizes, malloc's own count of the heap they hold, and its peak
# RSS; this script runs it at 1 000 and at BENCH_FLOWS (100 000) flows and
# prints the RSS difference per added flow, so fixed costs cancel out.
#
# Usage: bench/flow_memory.sh [BINDIR [BENCHDIR]]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${2:-$TOP/build/bench}
N=${BENCH_FLOWS:-100000}
SMALL=1000

small=$("$BENCH/flow_sizes" "$SMALL")
big=$("$BENCH/flow_sizes" "$N")
echo "$big"
rss_small=$(echo "$small" | awk '/peak RSS/ { print $3 }')
rss_big=$(echo "$big" | awk '/peak RSS/ { print $3 }')
awk -v a="$rss_small" -v b="$rss_big" -v n="$N" -v s="$SMALL" 'BEGIN {
	per = (b - a) * 1024 / (n - s)
	printf "RSS per added idle flow: %.0f bytes (%d KB at %d flows, %d KB at %d); goal at most 512: %.2f of it\n",
		per, b, n, a, s, per / 512
}'
# A SYN flood's flows (issue 16): a SYN each, nothing allocated but the flow.
small=$("$BENCH/flow_sizes" "$SMALL" halfopen)
big=$("$BENCH/flow_sizes" "$N" halfopen)
echo "$big" | tail -2
rss_small=$(echo "$small" | awk '/peak RSS/ { print $3 }')
rss_big=$(echo "$big" | awk '/peak RSS/ { print $3 }')
awk -v a="$rss_small" -v b="$rss_big" -v n="$N" -v s="$SMALL" 'BEGIN {
	per = (b - a) * 1024 / (n - s)
	printf "RSS per added half-open flow: %.0f bytes (%d KB at %d flows, %d KB at %d); %.2f of an idle session'"'"'s 512 goal\n",
		per, b, n, a, s, per / 512
}'
# The same idle sessions through the inline engine (imwired's path): its
# per-flow state on top of the flow table's.
small=$("$BENCH/flow_sizes" "$SMALL" inline)
big=$("$BENCH/flow_sizes" "$N" inline)
echo "$big"
rss_small=$(echo "$small" | awk '/peak RSS/ { print $3 }')
rss_big=$(echo "$big" | awk '/peak RSS/ { print $3 }')
awk -v a="$rss_small" -v b="$rss_big" -v n="$N" -v s="$SMALL" 'BEGIN {
	per = (b - a) * 1024 / (n - s)
	printf "RSS per added idle flow, inline: %.0f bytes (%d KB at %d flows, %d KB at %d); goal at most 512: %.2f of it\n",
		per, b, n, a, s, per / 512
}'
