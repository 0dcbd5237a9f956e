#!/bin/sh
# The review console on the command line, over the same captures read by
# `imwire read --config` into SQLite, into a PostgreSQL and into a MariaDB
# started here (tests/dbservers.sh: temporary directory, Unix sockets,
# stopped by PID), and over the JSON lines:
#  - `search` finds a word of a known message (full text: FTS5, tsvector,
#    FULLTEXT) and not a word that is only part of one;
#  - `conversations` lists the 7 threads a reader counts in the captures:
#      xmpp_chat.pcap:  alice<->bob (messages both ways, files; bob's and
#                       alice's resources do not split it), the room
#                       lounge@conference.example.org, and alice's upload
#                       slot request to upload.example.org               3
#      msn_group.pcap:  the group chat groupchat-11752013, alice<->carol
#                       (a file), alice<->bob (a file and a webcam)      3
#      zeek_irc-basic:  the channel #brotest                             1
#    (typing, presence, logins, joins and parts make no conversation);
#  - `show` prints the thread, a blocked message marked;
#  - `export --format eml` writes one message per conversation that
#    Python's email parser reads with the right participants and bodies;
#    the manifest's hashes are those of the files; csv, jsonl, mbox too;
#    the manifest records the archive's chain state (verified or not, the
#    last event and hash, the first problem);
#  - the HTML report parses (html.parser) with every conversation in it.
# Needs root (server users). Run under the team lock.
set -u
. "$TOP/tests/lib.sh"
begin_test
DBTMP=$tmp/db
mkdir "$DBTMP"
. "$TOP/tests/dbservers.sh"
cleanup_more() { db_cleanup; }

require_root review_cli "needs root (database server users)" || exit 0
CAPS="$TOP/tests/pcaps/xmpp_chat.pcap $TOP/tests/pcaps/msn_group.pcap $TOP/../shared/pcaps/irc/zeek_irc-basic.pcap"
WANT_CONVS=7
IMW="$BIN/imwire"

if ! pg_init; then
	fail review_pg_start "cannot start PostgreSQL" "$(tail -n 5 "$DBTMP/pg-init.log" "$DBTMP/pg.log" 2>&1)"
	exit 0
fi
if ! my_init; then
	fail review_my_start "cannot start MariaDB" "$(tail -n 5 "$DBTMP/my-init.log" "$DBTMP/mysock/my.log" 2>&1)"
	exit 0
fi

printf 'sqlite_file=%s\n' "$tmp/a.db" >"$tmp/sq.conf"
printf 'pgsql_connect=%s\n' "$(pg_conninfo)" >"$tmp/pg.conf"
printf 'mysql_server=%s\nmysql_database=imwire\nmysql_username=root\n' "$(my_socket)" >"$tmp/my.conf"
printf 'jsonl_file=%s\n' "$tmp/a.jsonl" >"$tmp/js.conf"
for db in sq pg my; do
	# shellcheck disable=SC2086
	"$IMW" read --config "$tmp/$db.conf" --quiet $CAPS >"$tmp/a.jsonl" 2>"$tmp/read-$db.err"
	check "review_read_into_$db" $? "$(head -3 "$tmp/read-$db.err")"
done
# A message the policy blocked, as the writer stores one (filtered=1).
sqlite3 "$tmp/a.db" "UPDATE messages SET filtered = 1 WHERE eventdata = 'Grüße aus Köln ☺'"
pg_sql "UPDATE messages SET filtered = 1 WHERE eventdata = 'Grüße aus Köln ☺'" >/dev/null

# The writer made the indexes the reader uses.
n=$(sqlite3 "$tmp/a.db" "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'lunch'")
check review_sqlite_fts_index "$([ "$n" = 1 ]; echo $?)" "FTS5 rows for lunch: $n"
n=$(pg_sql "SELECT count(*) FROM pg_indexes WHERE tablename = 'messages' AND indexdef LIKE '%gin%to_tsvector%'")
check review_pg_gin_index "$([ "$n" = 1 ]; echo $?)" "GIN indexes: $n"
n=$(my_sql "SELECT count(*) FROM information_schema.statistics WHERE table_schema = 'imwire' AND index_type = 'FULLTEXT'")
check review_my_fulltext_index "$([ "$n" -ge 1 ]; echo $?)" "FULLTEXT indexes: $n"

for db in sq pg my js; do
	"$IMW" search --config "$tmp/$db.conf" lunch >"$tmp/s-$db" 2>&1
	fact "review_search_word_$db" 1 "$tmp/s-$db" "xmpp" "Hello Bob, lunch at 12?"
	"$IMW" search --config "$tmp/$db.conf" lun >"$tmp/s2-$db" 2>&1
	check "review_search_whole_words_$db" "$([ ! -s "$tmp/s2-$db" ]; echo $?)" "$(head -3 "$tmp/s2-$db")"
	"$IMW" search --config "$tmp/$db.conf" --proto msn --dir out --kind file >"$tmp/s3-$db" 2>&1
	fact "review_search_filters_$db" 1 "$tmp/s3-$db" "msn  out  file" "résumé.xlsx"
	"$IMW" conversations --config "$tmp/$db.conf" >"$tmp/c-$db" 2>&1
	n=$(wc -l <"$tmp/c-$db")
	check "review_conversations_$db" "$([ "$n" -eq $WANT_CONVS ]; echo $?)" \
		"$n conversations, want $WANT_CONVS:" "$(cat "$tmp/c-$db")"
done
# The same threads whatever the archive (ids differ only for JSON lines).
cut -d' ' -f2- "$tmp/c-sq" >"$tmp/c-sq.cut"
cut -d' ' -f2- "$tmp/c-pg" >"$tmp/c-pg.cut"
same_lines review_conversations_sqlite_equals_pgsql "$tmp/c-sq.cut" "$tmp/c-pg.cut"
fact review_conversation_room 1 "$tmp/c-sq" "room lounge@conference.example.org" "2 events"
fact review_conversation_pair 1 "$tmp/c-sq" "alice@example.org <-> bob@example.org" "7 events" "1 policy hits"

# show: the thread, the blocked message marked.
for db in sq pg; do
	id=$(grep 'alice@example.org <-> bob@example.org' "$tmp/c-$db" | cut -d' ' -f1)
	"$IMW" show --config "$tmp/$db.conf" "$id" >"$tmp/show-$db" 2>&1
	fact "review_show_marks_hit_$db" 1 "$tmp/show-$db" "!!" "[BLOCKED]" "Grüße aus Köln"
	fact "review_show_thread_$db" 8 "$tmp/show-$db" "2003-05-01T12:00:00Z"
done
# The writer's archive has the archive's columns (action): a message it
# stored as blocked is found by --action.
# (A copy: the exports below read the archive as it is.)
cp "$tmp/a.db" "$tmp/act.db"
sqlite3 "$tmp/act.db" "UPDATE messages SET action = 'blocked' WHERE eventdata = 'Grüße aus Köln ☺'"
printf 'sqlite_file=%s\n' "$tmp/act.db" >"$tmp/act.conf"
"$IMW" search --config "$tmp/act.conf" --action blocked >"$tmp/action" 2>&1
fact review_search_action 1 "$tmp/action" "Grüße aus Köln"
# IMSpector's own table, never written by imwire, lacks it: named.
sqlite3 "$tmp/old.db" "CREATE TABLE messages (id integer PRIMARY KEY AUTOINCREMENT,
	timestamp integer NOT NULL, clientaddress text NOT NULL, protocolname text NOT NULL,
	outgoing integer NOT NULL, type integer NOT NULL, localid text NOT NULL,
	remoteid text NOT NULL, filtered integer NOT NULL, eventdata blob NOT NULL)"
printf 'sqlite_file=%s\n' "$tmp/old.db" >"$tmp/old.conf"
"$IMW" search --config "$tmp/old.conf" --action blocked >"$tmp/noaction" 2>&1
fact review_missing_column_named 1 "$tmp/noaction" "no \`action\` column"

# Exports, from SQLite and from PostgreSQL.
for db in sq pg; do
	"$IMW" export --config "$tmp/$db.conf" --format eml -o "$tmp/eml-$db" 2>"$tmp/eml-$db.err"
	check "review_export_eml_runs_$db" $? "$(cat "$tmp/eml-$db.err")"
	"$PY" - "$tmp/eml-$db" >"$tmp/eml-$db.out" 2>&1 <<'EOF'
import email, email.policy, email.utils, glob, hashlib, json, os, sys
d = sys.argv[1]
man = json.load(open(os.path.join(d, "manifest.json")))
files = sorted(glob.glob(os.path.join(d, "*.eml")))
assert len(files) == 7 and man["conversations"] == 7, (len(files), man["conversations"])
for f in man["files"]:
    data = open(os.path.join(d, f["name"]), "rb").read()
    assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"], f["name"]
found = 0
for path in files:
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    assert m["Content-Type"].startswith("text/plain"), m["Content-Type"]
    body = m.get_content()
    people = [a for _, a in email.utils.getaddresses([str(m["From"]), str(m["To"])])]
    if m["X-IMwire-Protocol"] == "xmpp" and "bob@example.org" in people:
        assert people == ["alice@example.org", "bob@example.org"], people
        assert "alice@example.org/laptop -> bob@example.org: Hello Bob, lunch at 12?" in body
        assert "bob@example.org/phone -> alice@example.org/laptop: Sure & bring the <slides>" in body
        assert "[BLOCKED]: Grüße aus Köln ☺" in body
        found += 1
    if m["X-IMwire-Room"] == "groupchat-11752013":
        parts = str(m["X-IMwire-Participants"])
        for p in ("alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"):
            assert p in parts, parts
        assert "carol@example.com: hi alice\n    second line" in body, body
        found += 1
assert found == 2, found
print("ok")
EOF
	check "review_export_eml_parses_$db" "$(grep -qx ok "$tmp/eml-$db.out"; echo $?)" "$(tail -5 "$tmp/eml-$db.out")"
done
"$IMW" export --config "$tmp/sq.conf" --format html -o "$tmp/html" 2>"$tmp/html.err"
check review_export_html_runs $? "$(cat "$tmp/html.err")"
"$PY" - "$tmp/html/report.html" >"$tmp/html.out" 2>&1 <<'EOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.scripts = [], [], 0
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.scripts += tag == "script" or any(k.startswith("on") for k, _ in attrs)
    def handle_data(self, d):
        self.text.append(d)
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
text = "".join(p.text)
assert p.scripts == 0
assert "7 conversations" in text, text[:300]
assert "Sure & bring the <slides>" in text
assert "Grüße aus Köln ☺" in text
assert p.tags.count("h2") == 7, p.tags.count("h2")
print("ok")
EOF
check review_export_html_parses "$(grep -qx ok "$tmp/html.out"; echo $?)" "$(tail -5 "$tmp/html.out")"
for f in csv jsonl mbox; do
	"$IMW" export --config "$tmp/pg.conf" --format $f -o "$tmp/$f" 2>"$tmp/$f.err"
	check "review_export_${f}_runs" $? "$(cat "$tmp/$f.err")"
done
"$PY" - "$tmp" >"$tmp/other.out" 2>&1 <<'EOF'
import csv, json, mailbox, sys
t = sys.argv[1]
rows = list(csv.DictReader(open(t + "/csv/events.csv", encoding="utf-8", newline="")))
lines = [json.loads(l) for l in open(t + "/jsonl/events.jsonl", encoding="utf-8")]
want = sum(1 for l in open(t + "/a.jsonl", encoding="utf-8"))
assert len(rows) == len(lines) == want, (len(rows), len(lines), want)
assert any(r["text"] == "carol@example.com: hi alice\r\nsecond line" for r in rows)
assert sum(1 for _ in mailbox.mbox(t + "/mbox/conversations.mbox")) == 7
print("ok")
EOF
check review_export_csv_jsonl_mbox "$(grep -qx ok "$tmp/other.out"; echo $?)" "$(tail -5 "$tmp/other.out")"
# The manifest records the chain state the archive was verified against:
# MariaDB's archive is as the writer left it (verified, ending at its last
# event and hash); the SQLite one had a row altered above (the blocked
# message): not verified, the altered event named, and a warning.
"$IMW" export --config "$tmp/my.conf" --format csv -o "$tmp/csv-my" 2>"$tmp/csv-my.err"
check review_export_runs_my $? "$(cat "$tmp/csv-my.err")"
last=$(my_sql "SELECT CONCAT(eventid, ' ', hash) FROM imwire.messages ORDER BY eventid DESC LIMIT 1")
altered=$(sqlite3 "$tmp/a.db" "SELECT eventid FROM messages WHERE eventdata = 'Grüße aus Köln ☺'")
"$PY" - "$tmp/csv-my/manifest.json" "$tmp/eml-sq/manifest.json" "$last" "$altered" >"$tmp/integ.out" 2>&1 <<'EOF'
import json, sys
good = json.load(open(sys.argv[1]))["integrity"]
bad = json.load(open(sys.argv[2]))["integrity"]
last_id, last_hash = sys.argv[3].split()
assert good["checked"] and good["chain"] and good["verified"], good
assert good["problems"] == 0 and good["first_problem"] is None, good
assert str(good["last_id"]) == last_id and good["last_hash"] == last_hash, (good, last_id, last_hash)
assert good["rows"] > 0 and good["unchained"] == 0, good
assert bad["checked"] and bad["chain"] and not bad["verified"], bad
assert bad["problems"] >= 1 and bad["first_problem"] == "event %s was altered: its fields no longer give its hash" % sys.argv[4], bad
print("ok")
EOF
check review_export_manifest_chain_state "$(grep -qx ok "$tmp/integ.out"; echo $?)" "$(tail -5 "$tmp/integ.out")"
fact review_export_warns_unverified 1 "$tmp/eml-sq.err" "the archive's chain does not verify: event $altered was altered"
"$IMW" export --config "$tmp/sq.conf" --format csv -o "$tmp/csv" 2>"$tmp/again.err"
check review_export_never_overwrites "$([ $? -ne 0 ] && grep -q 'File exists' "$tmp/again.err"; echo $?)"

# An IMSpector-made SQLite table (no sensor, eventid, no index) is read.
sqlite3 "$tmp/imspector.db" "CREATE TABLE messages (id integer PRIMARY KEY AUTOINCREMENT,
	timestamp integer NOT NULL, clientaddress text NOT NULL, protocolname text NOT NULL,
	outgoing integer NOT NULL, type integer NOT NULL, localid text NOT NULL,
	remoteid text NOT NULL, filtered integer NOT NULL, eventdata blob NOT NULL);
	INSERT INTO messages VALUES (1, 1051790400, '10.0.0.2:4000', 'MSN', 1, 1, 'a@b.c', 'd@e.f', 0, 'old school');"
"$IMW" search --sqlite "$tmp/imspector.db" school >"$tmp/imsp" 2>&1
fact review_imspector_table 1 "$tmp/imsp" "msn  out  message" "old school"
