#!/bin/sh
# Completed files scanned by a real clamd (#20), offline: clamd started
# here with a database this test writes (EICAR's hash signature, no
# network), fed with INSTREAM. The EICAR test file sent by DCC is
# infected, with clamd's name for it and the malware category; a clean
# file beside it is clean; both are also kept under files_dir. With clamd
# gone, the results say the scan failed (unscanned), and nothing waits.
# Env: BIN (imwire, gen/gen_files), TOP. Runs clamd: under the team lock.
set -u
. "$TOP/tests/lib.sh"
begin_test
require files_clamd_prerequisites clamd || exit 1

"$BIN/gen/gen_files" --eicar "$tmp"
check eicar_capture_made $?
printf 'clamd_socket=%s\nscan_timeout_ms=10000\nfiles_dir=%s\nsqlite_file=%s\n' \
	"$tmp/clamd.sock" "$tmp/files" "$tmp/events.db" >"$tmp/imwire.conf"
E="$tmp/eicar.jsonl"
EICAR_SHA=275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f

start_clamd 120
check clamd_started $? "$(tail -3 "$tmp/clamd.out" 2>/dev/null)"
"$BIN/imwire" read --quiet --config "$tmp/imwire.conf" "$tmp/files_eicar.pcap" >"$E"
check read_with_clamd $?
fact eicar_infected 1 "$E" '"file_name":"eicar.com"' '"file_state":"complete","file_bytes":68' \
	"\"file_sha256\":\"$EICAR_SHA\"" '"file_scan":"infected"' \
	'"file_signature":"Eicar-Test-Signature.UNOFFICIAL"' '"categories":"malware"'
fact clean_file_clean 1 "$E" '"file_name":"clean.txt"' '"file_state":"complete"' \
	'"file_scan":"clean"'
fact clean_file_no_category 0 "$E" '"file_name":"clean.txt"' '"categories"'
[ -f "$tmp/files/27/$EICAR_SHA" ] && [ "$(wc -c <"$tmp/files/27/$EICAR_SHA")" -eq 68 ]
check infected_file_kept_for_forensics $?
grep -q "Eicar-Test-Signature.UNOFFICIAL FOUND" "$tmp/clamd.log"
check clamd_logged_the_finding $?
# Every field of every result, the same in the SQL sink as in the JSON lines.
"$PY" "$TOP/tests/cases/files_sql_json.py" "$E" "$tmp/events.db" 2 >"$tmp/sql.diff" 2>&1
check sql_sink_has_every_file_field $? "$(head -6 "$tmp/sql.diff")"

stop_clamd
"$BIN/imwire" read --quiet --config "$tmp/imwire.conf" "$tmp/files_eicar.pcap" >"$E.2"
check read_without_clamd $?
fact without_clamd_unscanned 2 "$E.2" '"file_state":"complete"' '"file_scan":"error"' \
	'"file_signature":"cannot connect to clamd' '"categories":"unscanned"'
fact without_clamd_nothing_lost 4 "$E.2" '"kind":"file"'
exit 0
