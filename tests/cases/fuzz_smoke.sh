#!/bin/sh
# Every libFuzzer target under fuzz/ builds (make fuzz, clang with ASan and
# UBSan) and runs for FUZZ_SECONDS (default 10) on its seed corpus without
# a crash, a sanitizer report, a leak or a timeout. One PASS/FAIL line per
# target; a target that cannot build or run fails. The fuzzers work on a
# scratch copy of fuzz/corpus/, never on it.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SECONDS_EACH=${FUZZ_SECONDS:-10}
FUZZ_BIN=$TOP/build/fuzz/bin/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

targets=$(cd "$TOP/fuzz" && ls fuzz_*.c 2>/dev/null | sed 's/\.c$//')
if [ -z "$targets" ]; then
	echo "FAIL fuzz_targets_present"
	exit 0
fi

if ! (cd "$TOP" && env -u MAKEFLAGS -u MFLAGS make --no-print-directory -j2 fuzz) >"$work/build.log" 2>&1; then
	tail -20 "$work/build.log"
fi

for t in $targets; do
	bin=$FUZZ_BIN/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz_$t (did not build)"
		continue
	fi
	# the seeds are copied: libFuzzer adds to and reduces its corpus in place
	mkdir -p "$work/$t" "$work/$t.corpus"
	cp "$TOP/fuzz/corpus/$t"/* "$work/$t.corpus/" 2>/dev/null
	# -timeout: one input taking over 10 s is a hang; rss_limit bounds memory.
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions="$TOP/fuzz/ubsan.supp" \
		timeout $((SECONDS_EACH + 60)) "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=1024 -max_len=4096 -artifact_prefix="$work/$t/" \
		"$work/$t.corpus" >"$work/$t.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$work/$t.log" | tail -1)
		echo "PASS fuzz_$t ($runs in ${SECONDS_EACH}s)"
	else
		echo "FAIL fuzz_$t"
		grep -E 'ERROR|SUMMARY|runtime error|#0 |#1 |#2 |#3 ' "$work/$t.log" | head -15 | sed 's/^/    /'
		for a in "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-*; do
			[ -f "$a" ] && echo "    input: $(od -An -tx1 -v "$a" | tr -d ' \n' | head -c 400)"
		done
	fi
done
