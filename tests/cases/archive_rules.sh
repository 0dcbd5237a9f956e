#!/bin/sh
# Why each event was filtered, in every store at once (issue #22, "Done
# when" 1): `imwire read --config` of tests/pcaps/xmpp_chat.pcap with a
# policy into SQLite, a PostgreSQL and a MariaDB started here
# (tests/dbservers.sh, run under the team lock) and JSON lines:
#  - a censored message (badwords_filename): action modified, rule
#    badwords_filename=lunch, delivered_text with the word starred;
#  - a regex-rewritten one (regex_replace): modified, the regex named, the
#    delivered text rewritten;
#  - a blocked one (a regex_replace with flag b): blocked, its regex named,
#    filtered, no delivered text;
#  - a flagged one (regex_flag): forwarded, the flag rule named, its
#    category; traffic unchanged (no delivered text);
#  - the notice (notice_text) as an event of its own: action injected,
#    rule notice_text, towards the local user, as many in each store;
#  - an untouched message is forwarded, with no rule or category;
#  - each store's chain verifies with the injected events in it.
# Needs root (the servers run as their own users).
set -u
. "$TOP/tests/lib.sh"
begin_test
DBTMP=$tmp/db
mkdir "$DBTMP"
. "$TOP/tests/dbservers.sh"
I=$BIN/imwire
CAP=$TOP/tests/pcaps/xmpp_chat.pcap

cleanup_more() {
	db_cleanup
}

require_root archive_rules "needs root (server users)" || exit 0
if ! pg_init; then
	fail archive_rules "cannot start PostgreSQL" "$(tail -n 5 "$DBTMP/pg-init.log" "$DBTMP/pg.log" 2>&1)"
	exit 0
fi
if ! my_init; then
	fail archive_rules "cannot start MariaDB" "$(tail -n 5 "$DBTMP/my-init.log" "$DBTMP/mysock/my.log" 2>&1)"
	exit 0
fi

printf 'darn\nlunch\n' >"$tmp/badwords"
cat >"$tmp/c.conf" <<EOF
badwords_filename=$tmp/badwords
regex_replace=/slides/notes/
regex_replace=/aus K/X/b
regex_flag=/^thanks/watch/i
notice_text=You are being logged
sensor_name=gw1
sqlite_file=$tmp/a.db
pgsql_connect=$(pg_conninfo)
mysql_server=$(my_socket)
mysql_database=imwire
mysql_username=root
jsonl_file=$tmp/a.jsonl
EOF
"$I" read --config "$tmp/c.conf" --format none "$CAP" >/dev/null 2>"$tmp/read.err"
check archive_rules_read $? "$(cat "$tmp/read.err")"

# One line per store: action|rule|categories|delivered_text|filtered of the
# message whose text starts with $1 (ASCII prefixes: every client agrees).
row_sq() {
	sqlite3 -separator '|' "$tmp/a.db" "SELECT coalesce(action,''), coalesce(rule,''),
		coalesce(categories,''), coalesce(delivered_text,''), filtered FROM messages
		WHERE eventdata LIKE '$1%' AND coalesce(action,'') <> 'injected'"
}
row_pg() {
	pg_sql "SELECT coalesce(action,''), coalesce(rule,''), coalesce(categories,''),
		coalesce(delivered_text,''), filtered FROM messages
		WHERE eventdata LIKE '$1%' AND coalesce(action,'') <> 'injected'" | tr '\t' '|'
}
row_my() {
	my_sql "SET NAMES utf8mb4; SELECT coalesce(action,''), coalesce(rule,''),
		coalesce(categories,''), coalesce(delivered_text,''), filtered FROM messages
		WHERE eventdata LIKE '$1%' AND coalesce(action,'') <> 'injected'" | tr '\t' '|'
}
row_js() {
	"$PY" - "$tmp/a.jsonl" "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e.get("kind") == "message" and e.get("text", "").startswith(sys.argv[2]) \
            and e.get("action") != "injected":
        print("|".join([e.get("action", ""), e.get("rule", ""), e.get("categories", ""),
                        e.get("delivered_text", ""), "1" if e.get("filtered") else "0"]))
EOF
}

expect() { # name, text prefix, wanted line
	for s in sq pg my js; do
		got=$(row_$s "$2")
		[ "$got" = "$3" ]
		check "archive_rules_${1}_$s" $? "got:  $got" "want: $3"
	done
}
expect censored "Hello Bob" "modified|badwords_filename=lunch||Hello Bob, ***** at 12?|0"
expect rewritten "Sure & bring" "modified|regex_replace=/slides/notes/||Sure & bring the <notes>|0"
expect blocked "Gr" "blocked|regex_replace=/aus K/X/b|||1"
expect flagged "thanks carol" "forwarded|regex_flag=/^thanks/watch/i|watch||0"
expect untouched "carol: welcome" "forwarded||||0"

# The notices: injected events, towards the local user, rule notice_text;
# the same number in every store, one per conversation told (3 here).
n_js=$(grep -c '"action":"injected","rule":"notice_text"' "$tmp/a.jsonl")
n_sq=$(sqlite3 "$tmp/a.db" "SELECT count(*) FROM messages WHERE action = 'injected'
	AND rule = 'notice_text' AND eventdata = 'You are being logged' AND outgoing = 0")
n_pg=$(pg_sql "SELECT count(*) FROM messages WHERE action = 'injected'
	AND rule = 'notice_text' AND eventdata = 'You are being logged' AND outgoing = 0")
n_my=$(my_sql "SELECT count(*) FROM messages WHERE action = 'injected'
	AND rule = 'notice_text' AND eventdata = 'You are being logged' AND outgoing = 0")
[ "$n_js" = 3 ] && [ "$n_sq" = 3 ] && [ "$n_pg" = 3 ] && [ "$n_my" = 3 ]
check archive_rules_notice_injected $? "jsonl $n_js, sqlite $n_sq, pgsql $n_pg, mysql $n_my (want 3)"
# Each right after the event that caused it (JSON lines keep the order).
"$PY" - "$tmp/a.jsonl" >"$tmp/order.out" 2>&1 <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
for i, e in enumerate(ev):
    if e.get("action") == "injected":
        prev = ev[i - 1]
        assert i > 0 and prev["kind"] == "message" and prev.get("action") != "injected", prev
        assert e["dir"] == "in" and e["local"] == prev["local"] and e["remote"] == prev["remote"], e
        assert e["session"] == prev["session"] and e["community_id"] == prev["community_id"], e
print("ok")
EOF
check archive_rules_notice_follows_its_event "$(grep -qx ok "$tmp/order.out"; echo $?)" "$(tail -3 "$tmp/order.out")"

# The chains hold the injected events as any other.
"$I" verify --sqlite "$tmp/a.db" --sensor gw1 >"$tmp/v.out" 2>&1
check archive_rules_sqlite_verifies $? "$(cat "$tmp/v.out")"
"$I" verify --pgsql "$(pg_conninfo)" --sensor gw1 >"$tmp/v.out" 2>&1
check archive_rules_pgsql_verifies $? "$(cat "$tmp/v.out")"
"$I" verify --mysql "root@$(my_socket)/imwire" --sensor gw1 >"$tmp/v.out" 2>&1
check archive_rules_mysql_verifies $? "$(cat "$tmp/v.out")"
"$I" verify --jsonl "$tmp/a.jsonl" >"$tmp/v.out" 2>&1
check archive_rules_jsonl_verifies $? "$(cat "$tmp/v.out")"

