#!/usr/bin/env python3
"""What an update costs SQLite with and without the change-number index (issue 3).

Kura's `records` table carries `change_seq`, indexed by `records_by_change` (migration 0002),
so that a snapshot can fetch what changed since it was taken. An update moves its record's
entry in that index: one more random page dirtied per update. This script measures, in SQLite
alone (Python's `sqlite3`, WAL, `synchronous=FULL`, one connection), batches of updates of
random records of a 10,000-record collection, each with an audit row, in three layouts:

- `index`: the table as Kura has it (`records_by_change` on tenant, collection, change_seq);
- `no index`: the same without the index (what the updates cost without any change tracking);
- `change log`: no index, and an append-only `record_changes` table keyed by change number,
  one row per update (the layout PERFORMANCE.md proposes).

It prints updates/s per layout and round. Run it with nothing else busy:
`python3 scripts/experiments/sqlite-update-cost.py [--rounds 3] [--batches 300] [--per 25]`.
The database lives in a temporary directory under /tmp and is removed afterwards.
"""

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
import uuid

RECORDS = 10_000
DATA = json.dumps(
    {"name": "山田 太郎", "city": "東京", "email": "taro@example.jp", "points": 123, "joined": "2026-01-01"}
).encode()


def measure(layout: str, batches: int, per: int) -> float:
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        c = sqlite3.connect(os.path.join(tmp, "bench.db"), isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        c.execute(
            "CREATE TABLE records (tenant_id BLOB, collection_id BLOB, id BLOB, version INT, data BLOB, "
            "created_at INT, updated_at INT, change_seq INT, PRIMARY KEY (tenant_id, collection_id, id))"
        )
        if layout == "index":
            c.execute("CREATE INDEX records_by_change ON records (tenant_id, collection_id, change_seq)")
        if layout == "change log":
            c.execute(
                "CREATE TABLE record_changes (tenant_id BLOB, collection_id BLOB, change_seq INT, id BLOB, "
                "PRIMARY KEY (tenant_id, collection_id, change_seq)) WITHOUT ROWID"
            )
        c.execute(
            "CREATE TABLE audit_log (scope_id BLOB, seq INT, at INT, actor TEXT, operation TEXT, target TEXT, "
            "detail TEXT, prev_hash BLOB, hash BLOB, PRIMARY KEY (scope_id, seq))"
        )
        tenant, collection = uuid.uuid4().bytes, uuid.uuid4().bytes
        ids = [uuid.uuid4().bytes for _ in range(RECORDS)]
        c.execute("BEGIN")
        for seq, id_ in enumerate(ids, start=1):
            c.execute("INSERT INTO records VALUES (?, ?, ?, 1, ?, 0, 0, ?)", (tenant, collection, id_, DATA, seq))
        c.execute("COMMIT")
        seq, entry = RECORDS, 0
        started = time.perf_counter()
        for _ in range(batches):
            c.execute("BEGIN")
            for _ in range(per):
                seq += 1
                entry += 1
                id_ = random.choice(ids)
                c.execute(
                    "UPDATE records SET data = ?, version = version + 1, updated_at = 1, change_seq = ? "
                    "WHERE tenant_id = ? AND collection_id = ? AND id = ?",
                    (DATA, seq, tenant, collection, id_),
                )
                if layout == "change log":
                    c.execute("INSERT INTO record_changes VALUES (?, ?, ?, ?)", (tenant, collection, seq, id_))
                c.execute(
                    "INSERT INTO audit_log VALUES (?, ?, 1, 'user', 'record.update', 'record:bench', "
                    "'changed=points', ?, ?)",
                    (tenant, entry, os.urandom(32), os.urandom(32)),
                )
            c.execute("COMMIT")
        elapsed = time.perf_counter() - started
        c.close()
        return batches * per / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", type=int, default=300, help="committed batches per measurement")
    p.add_argument("--per", type=int, default=25, help="updates per batch (Kura's update batches held 25)")
    args = p.parse_args()
    layouts = ["index", "no index", "change log"]
    results = {layout: [] for layout in layouts}
    for r in range(1, args.rounds + 1):
        for layout in layouts:
            rate = measure(layout, args.batches, args.per)
            results[layout].append(rate)
            print(f"round {r}  {layout:<10}  {rate:>8,.0f} updates/s")
    for layout in layouts:
        rates = sorted(results[layout])
        print(f"median  {layout:<10}  {rates[len(rates) // 2]:>8,.0f} updates/s")


if __name__ == "__main__":
    main()
