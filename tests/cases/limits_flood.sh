#!/bin/sh
# Resource limits under floods (tests/gen/gen_flood.c): SYNs from 20000
# ports, flows of 1-byte segments after holes, IRC lines that never end and
# data after holes that never fill, all around one normal IRC session.
# With max_flows, flow_buffer_bytes and max_buffered_bytes set, the
# counters in `imwire read --stats` show every limit at work, the IRC
# session decodes exactly as it does alone, and peak RSS stays under a
# bound derived from the caps (measured against the IRC session alone
# with the same binary).
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test

MAX_FLOWS=2000
FLOW_BUFFER=65536
MAX_BUFFERED=4194304
# What one tracked flow may cost beyond its buffers (struct flow, app and
# session state, hash chain), generously.
FLOW_COST=2048
# ASan's redzones and its allocator's caches multiply what the caps bound.
ASAN_FACTOR=4
SLACK_KB=16384

if ! "$BIN/gen/gen_flood" "$tmp" >"$tmp/gen.log" 2>&1; then
	cat "$tmp/gen.log"
	fail limits_flood_capture_generated
	exit 0
fi
printf 'max_flows=%s\nflow_buffer_bytes=%s\nmax_buffered_bytes=%s\n' \
	"$MAX_FLOWS" "$FLOW_BUFFER" "$MAX_BUFFERED" >"$tmp/caps.conf"

# Peak RSS in KB of one imwire read (a small ASan quarantine: freed memory
# is what we measure, not what ASan keeps to catch use-after-free).
peak_rss() { # out-jsonl, args...
	out=$1
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=1 /usr/bin/time -f '%M' -o "$tmp/time" \
		"$BIN/imwire" read --quiet "$@" >"$out" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		echo 0
		return
	}
	tail -1 "$tmp/time"
}

rss_alone=$(peak_rss "$tmp/alone.jsonl" "$tmp/flood_irc.pcap")
rss_capped=$(peak_rss "$tmp/capped.jsonl" --config "$tmp/caps.conf" --stats "$tmp/stats.json" \
	"$tmp/flood.pcap")
rss_default=$(peak_rss "$tmp/default.jsonl" "$tmp/flood.pcap")

if [ ! -s "$tmp/stats.json" ] || ! "$BIN/imwire" stats "$tmp/stats.json" >"$tmp/stats.txt"; then
	fail limits_stats_file_written
	exit 0
fi
pass limits_stats_file_written
grep -q '^total:' "$tmp/stats.txt" && grep -q 'pressure_sheds:' "$tmp/stats.txt" &&
	pass limits_imwire_stats_prints || fail limits_imwire_stats_prints

counter() { # section.name from the total
	stats_counter "$tmp/stats.json" "$1"
}

evicted=$(counter flow.flows_evicted)
created=$(counter flow.flows_created)
expired=$(counter flow.expired_halfopen)
# Half-open flows go at max_flows or at halfopen_timeout (30 s of capture
# time), whichever comes first; the IRC session never.
[ $((evicted + expired)) -ge $((created - MAX_FLOWS)) ] && [ "$evicted" -gt 0 ] &&
	[ "$(counter flow.evicted_identified)" = 0 ] &&
	pass limits_syn_flood_evicted_at_max_flows ||
	fail limits_syn_flood_evicted_at_max_flows "created $created evicted $evicted" \
		"(half-open $(counter flow.evicted_halfopen), identified $(counter flow.evicted_identified))," \
		"expired half-open $expired"

bound_hits=$(counter reasm.bound_hits)
[ "$bound_hits" -gt 0 ] && pass limits_tiny_segments_hit_the_segment_bound ||
	fail limits_tiny_segments_hit_the_segment_bound "bound_hits $bound_hits"

sheds=$(counter flow.pressure_sheds)
shed_flows=$(counter app.shed_flows)
[ "$sheds" -gt 0 ] && [ "$shed_flows" -gt 0 ] &&
	pass limits_open_pdus_and_holes_shed_at_max_buffered ||
	fail limits_open_pdus_and_holes_shed_at_max_buffered "sheds $sheds app $shed_flows"

# The peak may pass the cap by what one packet adds before shedding runs:
# a segment, or one framing buffer doubling.
peak=$(counter flow.buffered_peak)
[ "$peak" -le $((MAX_BUFFERED + 4 * FLOW_BUFFER)) ] && [ "$peak" -gt 0 ] &&
	pass limits_buffered_bytes_bounded ||
	fail limits_buffered_bytes_bounded "peak $peak cap $MAX_BUFFERED"

# The IRC session: the same events as alone (flow ids and times differ).
if "$PY" - "$tmp/alone.jsonl" "$tmp/capped.jsonl" "$tmp/default.jsonl" <<'PYEOF'; then
import json, sys
def irc(path):
    keys = ("proto", "dir", "kind", "local", "remote", "group", "text")
    return [tuple(e.get(k) for k in keys) for e in map(json.loads, open(path))
            if e.get("client") == "10.1.0.1:40000"]
alone = irc(sys.argv[1])
ok = len(alone) == 12 and all(irc(p) == alone for p in sys.argv[2:])
if not ok:
    print("alone", alone, "capped", irc(sys.argv[2]), sep="\n")
sys.exit(0 if ok else 1)
PYEOF
	pass limits_irc_session_decoded_through_the_floods
else
	fail limits_irc_session_decoded_through_the_floods
fi

bound=$((rss_alone + ASAN_FACTOR * (MAX_BUFFERED + MAX_FLOWS * FLOW_COST) / 1024 + SLACK_KB))
echo "peak RSS: alone ${rss_alone} KB, floods capped ${rss_capped} KB (bound ${bound} KB), floods with default limits ${rss_default} KB"
[ "$rss_capped" -gt 0 ] && [ "$rss_capped" -le "$bound" ] &&
	pass limits_peak_rss_within_caps || fail limits_peak_rss_within_caps "$rss_capped KB > $bound KB"
[ "$rss_capped" -gt 0 ] && [ "$rss_capped" -lt "$rss_default" ] &&
	pass limits_caps_lower_peak_rss || fail limits_caps_lower_peak_rss "$rss_capped KB vs $rss_default KB"
