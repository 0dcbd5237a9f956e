#!/bin/sh
# Lists the functions of C sources by length, longest first:
#   LINES FILE:LINE NAME [reason]
# A function is a definition in the house style: its body opens with "{"
# alone at the start of a line and closes with "}" there too; its length
# counts from the line with its name to the closing brace.
#
# With --over N, lists only functions longer than N lines, and ends with
# "N over, M without a reason" (exit status 1 when M > 0). A reason is a
# comment right above the function whose text holds "Long:" -- why the
# function is kept whole.
#
# Usage: scripts/func-lengths.sh [--over N] [PATH...]   (default: daemon/src)
set -u
over=0
if [ "${1:-}" = "--over" ]; then
	over=${2:?--over needs a number}
	shift 2
fi
[ $# -gt 0 ] || set -- daemon/src
find "$@" -name '*.c' -type f | sort | xargs awk -v over="$over" '
FNR == 1 { in_fn = 0; comment = ""; in_comment = 0; prev = ""; prev2 = "" }
{
	line = $0
	if (!in_fn) {
		if (line ~ /^\/\*/) { in_comment = 1; comment = "" }
		if (in_comment) comment = comment " " line
		if (in_comment && line ~ /\*\//) { in_comment = 0; after_comment = FNR; next }
		if (line ~ /^\{/) {
			in_fn = 1
			# the signature: the nearest line before with "name(" at its start
			sig = prev; sigline = FNR - 1
			if (sig !~ /^[A-Za-z_].*\(/) { sig = prev2; sigline = FNR - 2 }
			if (sig !~ /^[A-Za-z_].*\(/) { sig = prev3; sigline = FNR - 3 }
			name = sig
			sub(/\(.*/, "", name)
			n = split(name, parts, /[ *]+/)
			name = parts[n]
			reason = (sigline - 1 <= after_comment + 0 && comment ~ /Long:/) ? "reason" : ""
			start = sigline
		}
		prev3 = prev2; prev2 = prev; prev = line
		if (line !~ /^\/\*/ && line !~ /^ \*/ && line !~ /^$/ && FNR != after_comment &&
		    line !~ /^[A-Za-z_].*/ && line !~ /^\t/)
			comment = ""
		next
	}
	if (line ~ /^\}/) {
		in_fn = 0
		len = FNR - start + 1
		if (len > over)
			printf "%d %s:%d %s %s\n", len, FILENAME, start, name, reason
		comment = ""; after_comment = -10
		prev = line; prev2 = ""; prev3 = ""
	}
}' | sort -rn -k1,1 | awk -v over="$over" '
{ print; n++; if ($4 != "reason") m++ }
END { if (over > 0) { printf "%d over %d lines, %d without a reason\n", n, over, m; exit (m > 0) } }'
