#!/bin/sh
# The archive's tamper evidence, offline (no servers: no lock needed):
# imwire read with a configuration that names a JSON lines file and a
# SQLite database, a checkpoint key and log; then `imwire verify` passes
# on the clean stores and names the event when one row is altered, one
# deleted, two swapped, one inserted, or the tail cut off. The checkpoint
# signatures are also checked by an independent Ed25519 implementation
# (python3-cryptography), and the chain's first hash by Python's hashlib.
# Env: BIN (holds imwire), TOP (repository root).
set -u
. "$TOP/tests/lib.sh"
begin_test
CAP=$TOP/../shared/pcaps/irc/sniffglue_SkypeIRC.pcap
I=$BIN/imwire

"$I" keygen "$tmp/key" >/dev/null
check keygen $?
cat >"$tmp/imwire.conf" <<EOC
sensor_name=gw1
sqlite_file=$tmp/archive.db
jsonl_file=$tmp/events.jsonl
checkpoint_key=$tmp/key
checkpoint_log=$tmp/checkpoints.log
EOC
"$I" read --config "$tmp/imwire.conf" --format none "$CAP" >/dev/null 2>"$tmp/read.err"
check read_into_archive $?
n=$(wc -l <"$tmp/events.jsonl")
rows=$(sqlite3 "$tmp/archive.db" "select count(*) from messages where hash is not null")
[ "$n" -gt 40 ] && [ "$rows" -eq "$n" ]
check every_event_chained_in_both $? "jsonl $n, sqlite $rows"
[ "$(grep -c 'sink=sqlite' "$tmp/checkpoints.log")" -eq 1 ] &&
	[ "$(grep -c 'sink=jsonl' "$tmp/checkpoints.log")" -eq 1 ]
check one_checkpoint_per_store_at_stop $?

# verify KIND FILE: imwire verify's output in $tmp/v.out, its status in $vrc
verify() {
	"$I" verify "--$1" "$2" --key "$tmp/key.pub" --checkpoints "$tmp/checkpoints.log" \
		>"$tmp/v.out" 2>&1
	vrc=$?
}
expect_clean() { # name kind file
	verify "$2" "$3"
	[ $vrc -eq 0 ] && grep -q '^verified' "$tmp/v.out" &&
		grep -q 'reaches the last signed checkpoint' "$tmp/v.out"
	check "$1" $? "$(cat "$tmp/v.out")"
}
expect_problem() { # name kind file pattern
	verify "$2" "$3"
	[ $vrc -eq 1 ] && grep -q "NOT VERIFIED: $4" "$tmp/v.out"
	check "$1" $? "want: $4" "$(cat "$tmp/v.out")"
}
id_at() { # sqlite row number (1-based, by eventid)
	sqlite3 "$tmp/t.db" "select eventid from messages order by eventid limit 1 offset $(($1 - 1))"
}

expect_clean sqlite_clean_verifies sqlite "$tmp/archive.db"
expect_clean jsonl_clean_verifies jsonl "$tmp/events.jsonl"

# ---- SQLite: one change each ----
cp "$tmp/archive.db" "$tmp/t.db"
e=$(id_at 5)
sqlite3 "$tmp/t.db" "update messages set eventdata='nothing to see' where eventid=$e"
expect_problem sqlite_altered_row_named sqlite "$tmp/t.db" "event $e was altered"

cp "$tmp/archive.db" "$tmp/t.db"
before=$(id_at 6)
e=$(id_at 7)
after=$(id_at 8)
sqlite3 "$tmp/t.db" "delete from messages where eventid=$e"
expect_problem sqlite_deleted_row_named sqlite "$tmp/t.db" "events missing between $before and $after"

# Two rows swap their contents (each keeps its place and id).
cp "$tmp/archive.db" "$tmp/t.db"
a=$(id_at 10)
b=$(id_at 11)
sqlite3 "$tmp/t.db" "update messages set eventid=-1 where eventid=$a;
	update messages set eventid=$a where eventid=$b;
	update messages set eventid=$b where eventid=-1"
expect_problem sqlite_swapped_rows_named sqlite "$tmp/t.db" "event $a was altered"

# A row made up and added after the last one, linked to it, with a hash
# the forger cannot compute without its fields giving it.
cp "$tmp/archive.db" "$tmp/t.db"
last=$(sqlite3 "$tmp/t.db" "select max(eventid) from messages")
sqlite3 "$tmp/t.db" "insert into messages (timestamp, clientaddress, protocolname, outgoing,
	type, localid, remoteid, filtered, eventdata, sensor, eventid, ts_us, kind, action,
	prev_hash, hash) select timestamp, clientaddress, protocolname, outgoing, type, localid,
	remoteid, filtered, 'forged', sensor, $((last + 1)), ts_us, kind, action, hash,
	'00000000000000000000000000000000000000000000000000000000000000ff'
	from messages where eventid=$last"
expect_problem sqlite_inserted_row_named sqlite "$tmp/t.db" "event $((last + 1)) was altered"

cp "$tmp/archive.db" "$tmp/t.db"
last=$(sqlite3 "$tmp/t.db" "select max(eventid) from messages")
sqlite3 "$tmp/t.db" "delete from messages where eventid in (select eventid from messages order by eventid desc limit 3)"
expect_problem sqlite_truncation_named sqlite "$tmp/t.db" "truncated: .*last signed checkpoint (event $last)"

# ---- JSON lines: the same by editing the file ----
J=$tmp/events.jsonl
jid() { sed -n "${1}p" "$J" | sed 's/.*"eventid":\([0-9]*\).*/\1/'; }
sed '5s/"text":"[^"]*"/"text":"nothing to see"/' "$J" >"$tmp/t.jsonl"
expect_problem jsonl_altered_line_named jsonl "$tmp/t.jsonl" "event $(jid 5) was altered"
sed '7d' "$J" >"$tmp/t.jsonl"
expect_problem jsonl_deleted_line_named jsonl "$tmp/t.jsonl" "events missing between $(jid 6) and $(jid 8)"
awk 'NR==10 { held = $0; next } { print } NR==11 { print held }' "$J" >"$tmp/t.jsonl"
expect_problem jsonl_swapped_lines_named jsonl "$tmp/t.jsonl" "event $(jid 10) is out of order"
awk 'NR==12 { print; sub(/"text":"[^"]*"/, "\"text\":\"forged\""); print; next } { print }' "$J" |
	awk 'NR==13 { sub(/"eventid":[0-9]*/, "&1") } { print }' >"$tmp/t.jsonl"
verify jsonl "$tmp/t.jsonl"
[ $vrc -eq 1 ] && grep -q 'NOT VERIFIED: event' "$tmp/v.out"
check jsonl_inserted_line_detected $? "$(cat "$tmp/v.out")"
head -n $((n - 2)) "$J" >"$tmp/t.jsonl"
expect_problem jsonl_truncation_named jsonl "$tmp/t.jsonl" "truncated: .*last signed checkpoint (event $(jid "$n"))"

# A checkpoint line changed: its signature no longer holds.
sed 's/eventid=\([0-9]\)/eventid=9/' "$tmp/checkpoints.log" >"$tmp/cp.bad"
"$I" verify --jsonl "$J" --key "$tmp/key.pub" --checkpoints "$tmp/cp.bad" >"$tmp/v.out" 2>&1
[ $? -eq 1 ] && grep -q 'signature does not verify' "$tmp/v.out"
check forged_checkpoint_refused $? "$(cat "$tmp/v.out")"

# Independently: python3-cryptography checks each checkpoint's Ed25519
# signature, and hashlib recomputes the first event's hash from the
# encoding README documents.
$PY - "$tmp/key.pub" "$tmp/checkpoints.log" "$J" >"$tmp/py.out" 2>&1 <<'EOP'
import hashlib, json, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
pub = bytes.fromhex(open(sys.argv[1]).read().split()[1])
k = Ed25519PublicKey.from_public_bytes(pub)
for line in open(sys.argv[2]):
    body, sig = line.rstrip("\n").rsplit(" sig=", 1)
    k.verify(bytes.fromhex(sig), body.encode())
names = {"irc": "IRC"}
raw = open(sys.argv[3]).readline()
ev = json.loads(raw)
ts = raw.split('"ts":', 1)[1].split(",", 1)[0]
s, f = ts.split(".")
ts_us = int(s) * 1000000 + int((f + "000000")[:6])
b = b"imwire-chain-1\0" + struct.pack(">Qq", ev["eventid"], ts_us)
b += bytes([ev["dir"] == "out", ev["filtered"]])
for k2 in ["sensor", "proto", "kind", "local", "remote", "client", "server", "session",
           "community_id", "action", "rule", "categories", "text", "delivered_text",
           "route_to", "content_type"]:
    v = ev.get(k2, "")
    if k2 == "proto":
        v = names[v]
    v = v.encode()
    b += struct.pack(">I", len(v)) + v
h = hashlib.sha256(bytes(32) + b).hexdigest()
assert ev["prev_hash"] == "0" * 64, ev["prev_hash"]
assert h == ev["hash"], (h, ev["hash"])
print("ok")
EOP
grep -qx ok "$tmp/py.out"
check independent_signature_and_hash $? "$(cat "$tmp/py.out")"
