#!/bin/sh
# --version on both binaries, from scripts/version.sh (git describe or a
# release's VERSION file); the version in the stats document and in
# `imwire stats` (imwired's start-up line: tests/cases/pkg_control.sh).
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test

want=$("$TOP/scripts/version.sh")
case $want in
[0-9]*.[0-9]*.[0-9]*) pass version_script_prints_a_version ;;
*) fail version_script_prints_a_version "got \"$want\"" ;;
esac
got=$("$BIN/imwire" --version 2>&1)
check version_imwire "$([ "$got" = "imwire $want" ]; echo $?)" "got \"$got\", want \"imwire $want\""
got=$("$BIN/imwired" --version 2>&1)
check version_imwired "$([ "$got" = "imwired $want" ]; echo $?)" "got \"$got\", want \"imwired $want\""

# A release tarball has no .git: its VERSION file wins.
mkdir -p "$tmp/rel/scripts"
cp "$TOP/scripts/version.sh" "$tmp/rel/scripts/"
echo 9.8.7 >"$tmp/rel/VERSION"
got=$(sh "$tmp/rel/scripts/version.sh")
check version_from_release_file "$([ "$got" = 9.8.7 ]; echo $?)" "got \"$got\""

"$BIN/imwire" read --quiet --stats "$tmp/s.json" "$TOP/../shared/pcaps/irc/zeek_irc-basic.pcap" >/dev/null 2>&1
grep -q "\"version\": \"$want\"" "$tmp/s.json"
check version_in_stats_document $? "$(head -3 "$tmp/s.json")"
"$BIN/imwire" stats "$tmp/s.json" | grep -qx "version: $want"
check version_in_imwire_stats $? "$("$BIN/imwire" stats "$tmp/s.json" | head -3)"
