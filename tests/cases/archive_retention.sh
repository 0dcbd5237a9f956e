#!/bin/sh
# Retention and legal hold, offline (no servers: no lock needed). Five
# third-party captures recorded between 2004 and 2025 go into a SQLite
# archive, a JSON lines file and IMSpector's file layout through imwire
# read; a second run with retention_days and legal_hold applies retention
# at its start: every event older than the cutoff goes unless its local
# user is held, the purge is one record in each store's chain, both
# stores still verify (with signed checkpoints), the held users' rows and
# the newer ones are all there, day files are gzipped once old and
# removed once expired unless held, logrotate's leftovers likewise. A
# third run purges again from where the first stopped; a row the purge
# should have removed, put back, and a kept one removed, are both named
# by verify; an unchanged archive is not purged twice. files_dir is under
# the same retention: a stored file last referred to before the cutoff
# goes with its sidecar unless an id that referred to it is held.
# Env: BIN (holds imwire), TOP (repository root).
set -u
. "$TOP/tests/lib.sh"
begin_test
P=$TOP/../shared/pcaps
I=$BIN/imwire

"$I" keygen "$tmp/key" >/dev/null
base() {
	cat <<EOC
sensor_name=gw1
sqlite_file=$tmp/a.db
jsonl_file=$tmp/a.jsonl
file_logging_dir=$tmp/logs
files_dir=$tmp/files
checkpoint_key=$tmp/key
checkpoint_log=$tmp/cp.log
EOC
}
base >"$tmp/load.conf"
# vmlemon 2006 (44), damn-0262937047 2004 (14), tesla_brian 2006 (8),
# an OSCAR session of 2009 (6, no local id), tim2 2025 (11)
for c in irc/sniffglue_SkypeIRC.pcap irc/suricata-verify_irc_input.pcap \
	msnp/markofu-pcaps_PPA_msnms.pcap oscar/gwAdvNet20_evidence01.pcap \
	irc/zeek_irc-dcc-send.pcapng; do
	"$I" read --config "$tmp/load.conf" --format none "$P/$c" >/dev/null 2>>"$tmp/read.err" ||
		echo "read $c failed" >>"$tmp/read.err"
done
sq() { sqlite3 "$tmp/a.db" "$1"; }
count_local() { sq "select count(*) from messages where localid='$1'"; }
# 83 events and the file results of the DCC SEND and the OFT2 transfer
[ "$(sq 'select count(*) from messages')" -eq 85 ] && [ "$(wc -l <"$tmp/a.jsonl")" -eq 85 ]
check loaded_85_events $? "$(cat "$tmp/read.err")" "$(sq 'select localid, count(*) from messages group by 1')"
# An old day file logrotate left beside the JSON lines file: one without
# a held user (to go), one with (to stay, gzipped).
grep '"local":"tesla_brian@hotmail.com"' "$tmp/a.jsonl" >"$tmp/a.jsonl.2"
grep '"local":"vmlemon"' "$tmp/a.jsonl" | head -3 >"$tmp/a.jsonl.3"
touch -d 2010-01-01 "$tmp/a.jsonl.2" "$tmp/a.jsonl.3"
cp "$tmp/a.db" "$tmp/before.db"
# files_dir: the DCC SEND's file (tim2 referred to it) and the OFT2
# transfer's (its event has no local id: no sidecar). Both made old; the
# DCC file's sidecar gains vmlemon, as if vmlemon had sent it too.
DCC=$tmp/files/56/566c4819a8130d65d29076930bd46dde5c2595a4a8be4a380857feb5b430ec6e
OFT=$tmp/files/f0/f0f74a982a814640aedaa5fd6542ac810e8c5e257552bcc024a5c808343bccf9
[ -f "$DCC" ] && [ "$(cat "$DCC.refs")" = tim2 ] && [ -f "$OFT" ] && [ ! -e "$OFT.refs" ]
check files_stored_with_referrers $? "$(cd "$tmp/files" && find . -type f | sort)"
echo vmlemon >>"$DCC.refs"
touch -d 2010-01-01 "$DCC" "$OFT"

# The cutoff falls between 2009 and 2025: 600 days before now.
base >"$tmp/keep.conf"
cat >>"$tmp/keep.conf" <<EOC
retention_days=600
legal_hold=vmlemon,Damn-0262937047
EOC
"$I" read --config "$tmp/keep.conf" --format none "$P/gadu/john-samples_ekg_login.pcap" \
	>/dev/null 2>"$tmp/purge.err"
check purge_run $? "$(cat "$tmp/purge.err")"
[ "$(count_local vmlemon)" -eq 44 ] && [ "$(count_local damn-0262937047)" -eq 14 ]
check held_users_rows_survive_sqlite $? "$(sq 'select localid, count(*) from messages group by 1')"
[ "$(count_local tesla_brian@hotmail.com)" -eq 0 ] &&
	[ "$(sq "select count(*) from messages where localid='' and kind<>'audit'")" -eq 0 ]
check expired_rows_removed_sqlite $? "$(sq 'select localid, count(*) from messages group by 1')"
[ "$(count_local tim2)" -eq 12 ] # 11 and the DCC file result
check newer_rows_kept_sqlite $?
[ "$(sq "select count(*) from messages where kind='audit' and action='purge' and eventdata like 'purge from=0 %removed=15 kept=58 %hold=vmlemon,Damn-0262937047'")" -eq 1 ]
check one_purge_record_sqlite $? "$(sq "select eventdata from messages where kind='audit'")"
[ -f "$DCC" ] && [ "$(stat -c %Y "$DCC")" -lt 1300000000 ] && [ ! -e "$OFT" ]
check files_dir_expired_removed_held_kept $? "$(cd "$tmp/files" && find . | sort)"
jl() { grep -c "\"local\":\"$1\"" "$tmp/a.jsonl"; }
[ "$(jl vmlemon)" -eq 44 ] && [ "$(jl damn-0262937047)" -eq 14 ] && [ "$(jl tim2)" -eq 12 ] &&
	[ "$(jl tesla_brian@hotmail.com)" -eq 0 ] &&
	[ "$(grep -c '"action":"purge".*"text":"purge from=0 .*removed=15 kept=58' "$tmp/a.jsonl")" -eq 0 ] &&
	[ "$(grep -c '"text":"purge from=0 [^"]*removed=15 kept=58 [^"]*","filtered":false,"flow":0,"eventid":[0-9]*,"sensor":"gw1","action":"purge"' "$tmp/a.jsonl")" -eq 1 ]
check jsonl_purged_alike $? "$(grep -c . "$tmp/a.jsonl") lines"

verify() { # kind file
	"$I" verify "--$1" "$2" --key "$tmp/key.pub" --checkpoints "$tmp/cp.log" >"$tmp/v.out" 2>&1
}
verify sqlite "$tmp/a.db"
check sqlite_verifies_after_purge $? "$(cat "$tmp/v.out")"
grep -q 'purges: 1 (58 events kept by them)' "$tmp/v.out"
check sqlite_verify_counts_the_purge $? "$(cat "$tmp/v.out")"
verify jsonl "$tmp/a.jsonl"
check jsonl_verifies_after_purge $? "$(cat "$tmp/v.out")"

# The file layout: held users' days gzipped, the others gone, the newer
# ones gzipped (older than compress_after_days) and kept.
L=$tmp/logs
[ -f "$L/IRC/vmlemon/#amarok/2006-08-25.gz" ] && [ -f "$L/IRC/damn-0262937047/#s01/2004-12-23.gz" ] &&
	[ -f "$L/IRC/tim2/tim1/2025-07-28.gz" ] && [ ! -e "$L/IRC/vmlemon/#amarok/2006-08-25" ]
check day_files_gzipped_and_held_kept $? "$(cd "$L" && find . -type f | sort)"
[ ! -e "$L/MSN/tesla_brian@hotmail.com" ] && [ ! -e "$L/ICQ-AIM/unknown" ]
check expired_day_files_and_dirs_removed $? "$(cd "$L" && find . | sort)"
zcat "$L/IRC/vmlemon/#amarok/2006-08-25.gz" | grep -q ',1156534'
check gzipped_day_file_reads $?
[ ! -e "$tmp/a.jsonl.2" ] && [ -f "$tmp/a.jsonl.3" ] && [ ! -e "$tmp/a.jsonl.2.gz" ]
check rotated_jsonl_removed_unless_held $? "$(ls "$tmp")"

# Tampering after a purge is still found: a removed row put back (the
# purge's kept rows no longer digest to its record), a kept one deleted.
cp "$tmp/a.db" "$tmp/t.db"
sqlite3 "$tmp/t.db" "attach '$tmp/before.db' as b;
	insert into messages select * from b.messages where localid='tesla_brian@hotmail.com' limit 1"
"$I" verify --sqlite "$tmp/t.db" >"$tmp/v.out" 2>&1
[ $? -eq 1 ] && grep -q 'NOT VERIFIED: the events purge record [0-9]* kept in (0, [0-9]*\] changed: 59 there, 58 recorded' "$tmp/v.out"
check removed_row_put_back_named $? "$(cat "$tmp/v.out")"
cp "$tmp/a.db" "$tmp/t.db"
sqlite3 "$tmp/t.db" "delete from messages where eventid=(select min(eventid) from messages where localid='vmlemon')"
"$I" verify --sqlite "$tmp/t.db" >"$tmp/v.out" 2>&1
[ $? -eq 1 ] && grep -q 'kept in (0, [0-9]*\] changed: 57 there, 58 recorded' "$tmp/v.out"
check held_row_deleted_named $? "$(cat "$tmp/v.out")"

# Nothing new expired: no second record. Then the 2013 login this run
# added expires too: the next purge covers the first's rows and its own.
"$I" read --config "$tmp/keep.conf" --format none "$P/irc/zeek_irc-dcc-send.pcapng" \
	>/dev/null 2>"$tmp/purge.err"
n1=$(sq "select count(*) from messages where action='purge'")
"$I" read --config "$tmp/keep.conf" --format none "$P/irc/zeek_irc-dcc-send.pcapng" \
	>/dev/null 2>>"$tmp/purge.err"
n2=$(sq "select count(*) from messages where action='purge'")
[ "$n1" -eq 2 ] && [ "$n2" -eq 2 ] &&
	[ "$(sq "select count(*) from messages where action='purge' and eventdata like 'purge from=0 %removed=1 kept=71 %'")" -eq 1 ] &&
	[ "$(sq "select count(*) from messages where protocolname='GADU-GADU'")" -eq 0 ]
check second_purge_continues_first $? "$n1 $n2" "$(sq "select eventdata from messages where action='purge'")" "$(cat "$tmp/purge.err")"
# The same content sent again: its time is now, its referrer listed once.
[ "$(stat -c %Y "$DCC")" -gt $(($(date +%s) - 3600)) ] &&
	[ "$(printf 'tim2\nvmlemon')" = "$(cat "$DCC.refs")" ]
check files_dir_reference_refreshes $? "$(stat -c %y "$DCC")" "$(cat "$DCC.refs")"
verify sqlite "$tmp/a.db"
check sqlite_verifies_after_two_purges $? "$(cat "$tmp/v.out")"
verify jsonl "$tmp/a.jsonl"
check jsonl_verifies_after_two_purges $? "$(cat "$tmp/v.out")"

# The hold on damn-0262937047 is lifted: its rows, kept by both purges,
# expire with the next one, and the archive still verifies.
sed 's/^legal_hold=.*/legal_hold=vmlemon/' "$tmp/keep.conf" >"$tmp/lifted.conf"
"$I" read --config "$tmp/lifted.conf" --format none "$P/gadu/john-samples_kadu_login.pcap" \
	>/dev/null 2>"$tmp/purge.err"
[ "$(count_local damn-0262937047)" -eq 0 ] && [ "$(jl damn-0262937047)" -eq 0 ] &&
	[ "$(count_local vmlemon)" -eq 44 ] &&
	[ "$(sq "select count(*) from messages where action='purge' and eventdata like '%removed=14 %hold=vmlemon'")" -eq 1 ]
check lifted_hold_expires $? "$(sq "select eventdata from messages where action='purge'")" "$(cat "$tmp/purge.err")"
verify sqlite "$tmp/a.db"
check sqlite_verifies_after_lifted_hold $? "$(cat "$tmp/v.out")"
verify jsonl "$tmp/a.jsonl"
check jsonl_verifies_after_lifted_hold $? "$(cat "$tmp/v.out")"
[ ! -e "$L/IRC/damn-0262937047" ] && [ -f "$L/IRC/vmlemon/#amarok/2006-08-25.gz" ]
check lifted_hold_day_files_removed $? "$(cd "$L" && find . -type f | sort)"

# A bad legal_hold file refuses to start, naming it.
base >"$tmp/bad.conf"
printf 'retention_days=1\nlegal_hold=%s\n' "$tmp/none.txt" >>"$tmp/bad.conf"
"$I" read --config "$tmp/bad.conf" --format none "$P/gadu/john-samples_ekg_login.pcap" \
	>/dev/null 2>"$tmp/bad.err"
[ $? -ne 0 ] && grep -q "legal_hold $tmp/none.txt" "$tmp/bad.err"
check bad_legal_hold_refused $? "$(cat "$tmp/bad.err")"

# No hold at all: the old file goes, with its sidecar; the store's size
# is counted without it (a restart counts what is there).
touch -d 2010-01-01 "$DCC"
base >"$tmp/nohold.conf"
echo retention_days=600 >>"$tmp/nohold.conf"
"$I" read --config "$tmp/nohold.conf" --format none "$P/gadu/john-samples_ekg_login.pcap" \
	>/dev/null 2>"$tmp/purge.err"
[ ! -e "$DCC" ] && [ ! -e "$DCC.refs" ]
check files_dir_unheld_removed $? "$(cd "$tmp/files" && find . | sort)" "$(cat "$tmp/purge.err")"
