#!/bin/sh
# Runs every test and ends with one line "N passed, N failed".
# Usage: tests/run.sh BINDIR   (BINDIR holds imwire, tests/*, gen/*)
# Unit binaries and case scripts print "PASS name" / "FAIL name" lines; a
# program that exits non-zero without a FAIL line (a crash, a sanitizer
# report) counts as one failure of its own, so nothing fails silently.
set -u
BIN=${1:?usage: tests/run.sh BINDIR}
BIN=$(cd "$BIN" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
export BIN TOP
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() { # name, command...
	name=$1
	shift
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	grep -E '^(PASS|FAIL) ' "$log" | sed "s|^|[$name] |"
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		grep -vE '^PASS ' "$log" | head -60 | sed 's/^/    /'
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "[$name] FAIL exited with status $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "[$name] FAIL ran no test"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$BIN"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done

for c in "$TOP"/tests/cases/*.sh; do
	[ -f "$c" ] || continue
	run_one "$(basename "$c" .sh)" sh "$c"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
