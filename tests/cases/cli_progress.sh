#!/bin/sh
# imwire read on many MB: a progress bar with rate and ETA on a terminal,
# none when stderr is not one, and the summary at the end either way.
set -u
F="$TOP/../shared/pcaps/irc/zeek_irc-dcc-send.pcapng"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v script >/dev/null 2>&1; then
	echo "FAIL progress_on_terminal (script(1) from bsdutils is missing)"
	exit 0
fi
# script(1) gives the command a terminal; four copies make 5.8 MB.
script -qec "'$BIN/imwire' read -o '$tmp/out' '$F' '$F' '$F' '$F'" "$tmp/typescript" >/dev/null 2>&1
if grep -aq 'MB/s ETA' "$tmp/typescript" && grep -aq '100%' "$tmp/typescript"; then
	echo "PASS progress_on_terminal"
else
	echo "FAIL progress_on_terminal"
fi
if grep -aq 'IM sessions: irc 4' "$tmp/typescript" && grep -aq 'events: ' "$tmp/typescript"; then
	echo "PASS summary_on_terminal"
else
	echo "FAIL summary_on_terminal"
fi
TZ=UTC "$BIN/imwire" read -o "$tmp/out2" "$F" "$F" "$F" "$F" 2>"$tmp/err" >/dev/null
if ! grep -q 'MB/s' "$tmp/err" && grep -q '^IM sessions: irc 4' "$tmp/err" &&
	grep -q '^flows: ' "$tmp/err"; then
	echo "PASS no_progress_when_not_a_terminal"
else
	echo "FAIL no_progress_when_not_a_terminal"
fi
# The IMSpector layout was written: one file for the channel, one for the
# private conversation carrying the DCC offer, and nothing for kinds
# IMSpector never logged (login, join...).
if [ -f "$tmp/out2/IRC/tim2/#testing/2025-07-28" ] && [ -f "$tmp/out2/IRC/tim2/tim1/2025-07-28" ] &&
	[ "$(find "$tmp/out2" -type f | wc -l)" -eq 2 ] &&
	grep -q ',1,2,0,ssh.trace (1320211 bytes)$' "$tmp/out2/IRC/tim2/tim1/2025-07-28"; then
	echo "PASS imspector_layout"
else
	echo "FAIL imspector_layout"
	find "$tmp/out2" -type f | head -5
fi
exit 0
