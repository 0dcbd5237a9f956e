#!/usr/bin/env python3
"""Every file result (#20) the same in an SQL sink as in the JSON lines.

Usage: files_sql_json.py JSONL SQLITE_DB N
The JSONL's file results (events with file_state) and the database's rows
with a filestate, in order: exactly N of each, and for each pair every
file field equal (the JSON field beside its column; an absent JSON field
is the column's empty text or NULL, file_gap_bytes 0). Exit 0 when all agree;
what differs is printed."""
import json
import sqlite3
import sys

FIELDS = [("file_state", "filestate"), ("file_bytes", "filebytes"),
          ("file_gap_bytes", "filegapbytes"), ("file_sha256", "filesha256"),
          ("file_mime", "filemime"), ("file_stored", "filestored"), ("file_scan", "filescan"),
          ("file_signature", "filesignature"), ("categories", "categories"),
          ("data_flow", "filedataflow")]


def want(e):
    out = [e["text"]]
    for j, _ in FIELDS:
        out.append(str(e.get(j, 0 if j == "file_gap_bytes" else "")))
    return out


def main():
    jsonl, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    results = [e for e in map(json.loads, open(jsonl, encoding="utf-8")) if "file_state" in e]
    cols = ", ".join(c for _, c in FIELDS)
    rows = sqlite3.connect(db).execute(
        "SELECT eventdata, " + cols + " FROM messages WHERE filestate != '' ORDER BY id").fetchall()
    bad = 0
    if len(rows) != n or len(results) != n:
        print("want %d: %d rows, %d JSON results" % (n, len(rows), len(results)))
        bad = 1
    for e, r in zip(results, rows):
        # categories is the archive's column: NULL when there are none
        got = ["" if x is None else x.decode() if isinstance(x, bytes) else str(x) for x in r]
        if want(e) != got:
            bad = 1
            print("json", want(e), "\nsql ", got)
    return bad


if __name__ == "__main__":
    sys.exit(main())
