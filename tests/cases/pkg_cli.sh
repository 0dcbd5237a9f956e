#!/bin/sh
# The operator's commands answer for themselves (issue 21, item 6):
#  - every subcommand `imwire help --list` names answers --help and -h with
#    its own usage on standard output and status 0, so does imwired;
#  - `imwire stats -c CONFIG` reads the stats file of that configuration's
#    instance (stats_file=, else the instance's default path), never some
#    other instance's (paths: tests/unit/test_operation.c); `imwire stats
#    --help` is help, not a file name.
# No root needed.
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test

"$BIN/imwire" help --list >"$tmp/commands"
check help_list_names_commands "$([ "$(wc -l <"$tmp/commands")" -ge 8 ]; echo $?)" "$(cat "$tmp/commands")"
bad=""
for c in $(cat "$tmp/commands"); do
	for h in --help -h; do
		"$BIN/imwire" "$c" $h >"$tmp/out" 2>"$tmp/err"
		rc=$?
		# the review console's commands print their module's usage, "  NAME ..."
		if [ $rc -ne 0 ] || [ -s "$tmp/err" ] || ! grep -q "^  \(imwire \)\?$c " "$tmp/out"; then
			bad="$bad $c$h(rc $rc: $(head -c 200 "$tmp/err"))"
		fi
	done
done
check every_subcommand_answers_help "$([ -z "$bad" ]; echo $?)" "$bad"

"$BIN/imwired" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && grep -q "^usage: imwired" "$tmp/out"
check imwired_answers_help $? "rc $rc"

"$BIN/imwire" stats --frobnicate >/dev/null 2>"$tmp/err"
check unknown_option_is_a_usage_error "$([ $? -eq 2 ]; echo $?)" "$(cat "$tmp/err")"

# ---- stats -c CONFIG ---------------------------------------------------------
P=$TOP/../shared/pcaps/irc
"$BIN/imwire" read --quiet --stats "$tmp/a.json" "$P/zeek_irc-basic.pcap" >/dev/null
"$BIN/imwire" read --quiet --stats "$tmp/b.json" "$P/suricata-verify_irc_input.pcap" >/dev/null
printf 'stats_file=%s\n' "$tmp/a.json" >"$tmp/a.conf"
printf 'stats_file=%s\n' "$tmp/b.json" >"$tmp/b.conf"
"$BIN/imwire" stats "$tmp/a.json" >"$tmp/a.want"
"$BIN/imwire" stats "$tmp/b.json" >"$tmp/b.want"
"$BIN/imwire" stats -c "$tmp/a.conf" >"$tmp/a.got" 2>&1
"$BIN/imwire" stats --config "$tmp/b.conf" >"$tmp/b.got" 2>&1
cmp -s "$tmp/a.want" "$tmp/a.got" && cmp -s "$tmp/b.want" "$tmp/b.got" && ! cmp -s "$tmp/a.got" "$tmp/b.got"
check stats_c_reads_that_instances_file $? "$(diff "$tmp/a.want" "$tmp/a.got" | head -5)"

# without stats_file=: the instance's own default, named in the error
printf 'bridge=br7\n' >"$tmp/br7.conf"
"$BIN/imwire" stats -c "$tmp/br7.conf" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "/run/imwire/br7.stats.json" "$tmp/err"
check stats_default_path_is_per_instance $? "rc $rc: $(cat "$tmp/err")"
printf 'no_such_key=1\n' >"$tmp/bad.conf"
"$BIN/imwire" stats -c "$tmp/bad.conf" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "bad.conf:1: no_such_key: unknown key" "$tmp/err"
check stats_c_refuses_a_bad_config $? "rc $rc: $(cat "$tmp/err")"
