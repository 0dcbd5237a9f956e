#!/bin/sh
# The manual pages (man/) against the code, so that what another change adds
# is caught until it is documented:
#  - imwire(8), imwired(8) and imwire.conf(5) render with
#    `MANWIDTH=80 man --warnings -l` without a single warning;
#  - every key `imwire check-config --list-keys` prints (the parser's own
#    table) has an entry in imwire.conf(5), and every entry there is a key;
#  - every command `imwire help --list` prints (the dispatch table) has a
#    subsection in imwire(8), and every subsection is a command; no command
#    is dispatched in cli/imwire.c outside that table;
#  - every option each command's --help shows is in imwire(8), and every long
#    option imwired's option table accepts is in imwired(8).
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test
require manpages_prerequisites man groff || exit 1
M=$TOP/man

for p in imwire.8 imwired.8 imwire.conf.5; do
	MANWIDTH=80 man --warnings -l "$M/$p" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && [ "$(wc -l <"$tmp/out")" -gt 40 ]
	check "manpage_renders_without_warnings_${p%.*}_${p##*.}" $? "rc $rc" "$(head -10 "$tmp/err")"
done

# missing WANT GOT: the lines of WANT that GOT lacks, space-separated
missing() {
	sort -u "$1" >"$1.s"
	sort -u "$2" >"$2.s"
	comm -23 "$1.s" "$2.s" | tr '\n' ' '
}

"$BIN/imwire" check-config --list-keys >"$tmp/keys.code"
sed -n 's/^\.It Cm \([A-Za-z0-9_]*\).*/\1/p' "$M/imwire.conf.5" >"$tmp/keys.man"
m=$(missing "$tmp/keys.code" "$tmp/keys.man")
check manpage_documents_every_config_key "$([ -z "$m" ] && [ -s "$tmp/keys.code" ]; echo $?)" \
	"keys the parser takes but imwire.conf(5) lacks (add an .It Cm entry): $m"
m=$(missing "$tmp/keys.man" "$tmp/keys.code")
check manpage_documents_only_real_keys "$([ -z "$m" ]; echo $?)" \
	"imwire.conf(5) documents keys the parser refuses: $m"

"$BIN/imwire" help --list >"$tmp/cmds.code"
sed -n 's/^\.Ss \([a-z-]*\)$/\1/p' "$M/imwire.8" >"$tmp/cmds.man"
m=$(missing "$tmp/cmds.code" "$tmp/cmds.man")
check manpage_documents_every_command "$([ -z "$m" ] && [ -s "$tmp/cmds.code" ]; echo $?)" \
	"commands imwire(8) lacks (add a .Ss section): $m"
m=$(missing "$tmp/cmds.man" "$tmp/cmds.code")
check manpage_documents_only_real_commands "$([ -z "$m" ]; echo $?)" "not commands: $m"
# a command dispatched by name outside the table would escape both lists
grep -o 'strcmp(argv\[1\], "[a-z-]*")' "$TOP/daemon/src/cli/imwire.c" |
	sed 's/.*"\(.*\)")/\1/' | grep -v -e '^-' -e '^version$' >"$tmp/cmds.src"
m=$(missing "$tmp/cmds.src" "$tmp/cmds.code")
check every_dispatched_command_is_in_the_table "$([ -z "$m" ]; echo $?)" \
	"cli/imwire.c dispatches these outside its commands[] table: $m"

# options: each command's --help, against imwire(8)
: >"$tmp/opts.missing"
while read -r c; do
	"$BIN/imwire" "$c" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u |
		while read -r o; do
			grep -q -- "Fl -${o#--}\b" "$M/imwire.8" || echo "$c $o" >>"$tmp/opts.missing"
		done
done <"$tmp/cmds.code"
check manpage_documents_every_command_option "$([ ! -s "$tmp/opts.missing" ]; echo $?)" \
	"options imwire(8) lacks: $(tr '\n' ',' <"$tmp/opts.missing")"

grep -o '{ "[a-z][a-z-]*", *\(no\|required\|optional\)_argument' "$TOP/daemon/src/cli/imwired.c" |
	sed 's/{ "\([a-z-]*\)".*/\1/' >"$tmp/dopts"
: >"$tmp/dopts.missing"
while read -r o; do
	grep -q -- "Fl -$o\b" "$M/imwired.8" || echo "--$o" >>"$tmp/dopts.missing"
done <"$tmp/dopts"
check manpage_documents_every_imwired_option "$([ -s "$tmp/dopts" ] && [ ! -s "$tmp/dopts.missing" ]; echo $?)" \
	"options imwired(8) lacks: $(tr '\n' ' ' <"$tmp/dopts.missing")"
