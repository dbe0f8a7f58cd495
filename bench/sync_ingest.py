"""Sync ingest: ops/s through the real HTTP push endpoint vs raw SQLite
inserts of the same rows.

HTTP: `inspector serve` on a demo-seeded temporary data folder, logged in as
inspector1 (CSRF token from the login form), pushing N verdict/note ops across
every standard of the demo inspection in batches of 200 (as outbox.js), with
the header X-Inspector-Sync: 1. Each batch is one transaction on the server:
validate, look up the op id, insert into `ops`, update `findings`.

Baseline: the same rows, as the server stores them in `ops`, inserted with
executemany into an `ops`-shaped table (same columns, UNIQUE op_id, same
index) in a fresh SQLite file in WAL mode with synchronous=FULL (the
server's settings), one transaction per batch.

Also printed, for where the time goes: protocol.push called in-process on
a second seeded database (no HTTP, no Flask).

Run: .venv/bin/python bench/sync_ingest.py [--ops 5000]
"""
import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (BATCH, SYNC_HEADER, batches, compact, demo_standards, edits,  # noqa: E402
                           live_server, login, ratio, seeded_data_dir)
from inspector.testing import seeded_device  # noqa: E402




def http_push(server, inspection_id, rounds):
    opener = login(server.url, "inspector1")
    headers = {**SYNC_HEADER, "Content-Type": "application/json"}

    def send(batch):
        request = urllib.request.Request(server.url + "/sync/push", data=compact({"ops": batch}),
                                         headers=headers, method="POST")
        return json.loads(opener.open(request, timeout=120).read())

    # Warm-up (not timed): a few ops on a separate device whose clock is a
    # day behind, so they never supersede the timed ops.
    warm = seeded_device(999)
    warm.clock_ms -= 86_400_000
    send([warm.op(inspection_id, rounds[0][0][0]["standard"], "verdict", "compliant") for _ in range(5)])
    # Per-request cost: pushes of a single op (what a tablet sends after
    # one edit while online), median latency.
    single = seeded_device(998)
    single.clock_ms -= 86_400_000 // 2
    latencies = []
    for i in range(20):
        start = time.perf_counter()
        send([single.op(inspection_id, rounds[0][0][i % len(rounds[0][0])]["standard"], "note", "one edit")])
        latencies.append(time.perf_counter() - start)
    statuses, times = Counter(), []
    for op_batches in rounds:
        start = time.perf_counter()
        for batch in op_batches:
            for result in send(batch)["results"]:
                statuses[result["status"]] += 1
        times.append(time.perf_counter() - start)
    return times, statuses, statistics.median(latencies)


def in_process_push(rounds):
    from inspector import users
    from inspector.db import connect, database_path
    from sync import protocol
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        data, _ = seeded_data_dir(tmp)
        db = connect(database_path(data))
        try:
            user = users.by_username(db, "inspector1")
            warm = seeded_device(999)  # warm-up, a day behind: supersedes nothing
            warm.clock_ms -= 86_400_000
            protocol.push(db, user, {"ops": [warm.op(rounds[0][0][0]["inspection_id"], rounds[0][0][0]["standard"],
                                                     "verdict", "compliant") for _ in range(5)]})
            times = []
            for op_batches in rounds:
                start = time.perf_counter()
                for batch in op_batches:
                    protocol.push(db, user, {"ops": batch})
                times.append(time.perf_counter() - start)
            return times
        finally:
            db.conn.close()


def raw_sqlite(rows_batches):
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        # The app's own schema and pragmas (WAL, synchronous=FULL), so the
        # baseline differs from the push only by the protocol and HTTP.
        from inspector.db import connect
        conn = connect(Path(tmp) / "raw.sqlite3").conn
        try:
            conn.execute("PRAGMA foreign_keys=OFF")  # no users table rows in this bare file
            sql = ("INSERT INTO ops (op_id, user_id, device_id, device_seq, hlc, inspection_id, standard_code, "
                   "field, value, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'applied')")
            start = time.perf_counter()
            for rows in rows_batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            elapsed = time.perf_counter() - start
            count = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            return elapsed, count
        finally:
            conn.close()


def user_id_of(data_dir, username):
    from inspector.db import database_path
    conn = sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()[0]
    finally:
        conn.close()


def as_rows(op_batches, user_id):
    return [[(op["op_id"], user_id, op["device_id"], op["seq"], op["hlc"], op["inspection_id"], op["standard"],
              op["field"], json.dumps(op["value"], sort_keys=True, separators=(",", ":"))) for op in batch]
            for batch in op_batches]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5000, help="ops to push per round (default 5000)")
    parser.add_argument("--batch", type=int, default=BATCH, help="ops per push (default 200, as outbox.js)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measure; the median is printed")
    args = parser.parse_args(argv)

    with live_server() as (server, summary):
        inspection_id = summary["inspection_id"]
        standards = demo_standards(server.data_dir, inspection_id)
        user_id = user_id_of(server.data_dir, "inspector1")
        # One device per round, so every round's ops are new and newer.
        rounds = []
        for r in range(args.rounds):
            device = seeded_device(1 + r)
            device.clock_ms += r * 10_000_000
            ops = [device.op(inspection_id, e["standard"], e["field"], e["value"])
                   for e in edits(standards, args.ops, seed_value=7 + r)]
            rounds.append(batches(ops, args.batch))
        n = args.ops
        print(f"sync ingest: {n} ops per round (about half notes) across {len(standards)} standards, "
              f"{len(rounds[0])} batches of {args.batch}, median of {args.rounds} rounds")
        http_times, statuses, one_op_s = http_push(server, inspection_id, rounds)
    if statuses.get("applied", 0) != n * args.rounds:
        # A figure of refusals or duplicates would measure the wrong thing.
        raise SystemExit(f"sync ingest: not every op was applied ({dict(statuses)}): no figure")
    raw_times = []
    for op_batches in rounds:
        elapsed, count = raw_sqlite(as_rows(op_batches, user_id))
        assert count == n, count
        raw_times.append(elapsed)
    proc_times = in_process_push(rounds)

    http_s, raw_s, proc_s = (statistics.median(t) for t in (http_times, raw_times, proc_times))
    http_rate, raw_rate, proc_rate = n / http_s, n / raw_s, n / proc_s
    runs = lambda ts: ", ".join(f"{t:.3f}" for t in ts)  # noqa: E731
    print(f"  http push:          {http_s:7.3f} s  {http_rate:9.0f} ops/s  (rounds s: {runs(http_times)}; "
          f"statuses {dict(statuses)})")
    print(f"  http push of 1 op:  {one_op_s * 1000:7.1f} ms median latency (20 pushes)")
    print(f"  protocol.push only: {proc_s:7.3f} s  {proc_rate:9.0f} ops/s  (rounds s: {runs(proc_times)}; "
          f"in-process, no HTTP/Flask)")
    print(f"  raw sqlite:         {raw_s:7.3f} s  {raw_rate:9.0f} ops/s  (rounds s: {runs(raw_times)}; "
          f"executemany, WAL, 1 txn/batch)")
    line = (f"sync ingest: http {http_rate:.0f} ops/s, raw sqlite {raw_rate:.0f} ops/s, "
            f"ratio {ratio(http_rate, raw_rate):.3f} (protocol.push in-process {proc_rate:.0f} ops/s, "
            f"ratio {ratio(proc_rate, raw_rate):.3f})")
    print(line)
    return line


if __name__ == "__main__":
    main()
