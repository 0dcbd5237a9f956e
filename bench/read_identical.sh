#!/bin/sh
# `imwire read` of two builds must say exactly the same: standard output,
# standard error and exit status, byte for byte, on every capture under
# PCAPS (default ../shared/pcaps), on the message bench's capture when it
# is there, and on a write error (output to /dev/full). Used to check
# that a change to how events are written (the writer thread, issue 23)
# writes nothing differently.
#
# Usage: bench/read_identical.sh BASE_BINDIR [BINDIR [PCAPS [EXTRA_CAPTURE...]]]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:?usage: read_identical.sh BASE_BINDIR [BINDIR [PCAPS [CAPTURE...]]]}
BIN=${2:-$TOP/build/bin}
PCAPS=${3:-$TOP/../shared/pcaps}
[ $# -gt 3 ] && shift 3 || set --
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

runs=0
fails=0

# one NAME ARGS...: both builds run `imwire read ARGS` (input from $IN,
# default /dev/null; output to $OUT, default a file); every stream and
# the status compared.
one() {
	name=$1
	shift
	for b in base new; do
		if [ "$b" = base ]; then bin=$BASE; else bin=$BIN; fi
		out=${OUT:-$work/$b.out}
		rm -rf "$work/dir.$b"
		set +e
		"$bin/imwire" read "$@" <"${IN:-/dev/null}" >"$out" 2>"$work/$b.err"
		echo $? >"$work/$b.rc"
		set -e
		# the output directory (-o) differs by name only: compare its files
		if [ -d "$work/dir" ]; then
			mv "$work/dir" "$work/dir.$b"
		fi
	done
	runs=$((runs + 1))
	same=yes
	if [ -z "${OUT:-}" ]; then
		cmp -s "$work/base.out" "$work/new.out" || same="no (stdout)"
	fi
	cmp -s "$work/base.err" "$work/new.err" || same="no (stderr)"
	cmp -s "$work/base.rc" "$work/new.rc" || same="no (exit status)"
	if [ -d "$work/dir.base" ] || [ -d "$work/dir.new" ]; then
		diff -r "$work/dir.base" "$work/dir.new" >/dev/null 2>&1 || same="no (output directory)"
	fi
	if [ "$same" = yes ]; then
		if [ -n "${OUT:-}" ]; then
			bytes="output to $OUT"
		else
			bytes="$(wc -c <"$work/new.out") bytes out"
		fi
		echo "same: $name (exit $(cat "$work/new.rc"), $bytes; stderr: $(head -c 120 "$work/new.err" | tr '\n' '|'))"
	else
		echo "DIFFERENT: $name: $same"
		fails=$((fails + 1))
	fi
}

# a policy (read --config: what it would have decided, and the notices)
printf 'what\nmean\nhello\n' >"$work/bad.txt"
cat >"$work/policy.conf" <<EOF
badwords_filename=$work/bad.txt
regex_replace=/clear//b
notice_response=on
filtered_response=on
EOF

captures=$(find "$PCAPS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
for c in $captures "$@"; do
	one "$c" "$c"
	one "$c --format imspector" --format imspector "$c"
	one "$c -o DIR" -o "$work/dir" "$c"
	one "$c --config (policy)" --config "$work/policy.conf" "$c"
	one "$c --extract DIR" --extract "$work/dir" "$c"
done
# every capture in one run, as one capture and as separate ones
# a capture cut short (the read error, after the packets before it),
# one that is not a capture at all, and standard input
for c in $captures "$@"; do
	size=$(stat -c %s "$c")
	head -c $((size / 2 + 7)) "$c" >"$work/cut.pcap"
	one "$c cut at $((size / 2 + 7)) bytes" "$work/cut.pcap"
done
head -c 5000 /dev/urandom >"$work/garbage.pcap"
one "random bytes" "$work/garbage.pcap"
for c in $captures "$@"; do
	IN=$c one "$c from standard input" -
done
# shellcheck disable=SC2086
one "all captures at once" $captures
# shellcheck disable=SC2086
one "all captures, --separate" --separate $captures
# a full disk: the same complaint and status
# shellcheck disable=SC2086
OUT=/dev/full one "all captures to /dev/full" $captures
for c in "$@"; do
	OUT=/dev/full one "$c to /dev/full" "$c"
done
echo "read_identical: $runs runs, $fails different"
[ "$fails" -eq 0 ]
