"""Sync ingest: ops/s through the real HTTP push endpoint vs two baselines
of the same rows: raw SQLite inserts, and storage only.

HTTP: `inspector serve` on a demo-seeded temporary data folder, logged in as
inspector1 (CSRF token from the login form), pushing N verdict/note ops across
every standard of the demo inspection in batches of 200 (as outbox.js), with
the header X-Inspector-Sync: 1. Each batch is one transaction on the server:
validate, look up the op id, insert into `ops`, update `findings`.

Baselines, each on a copy of the demo database the server started from,
written round after round as the pushes were, so each round writes into a
database of the same size as the server's (WAL, synchronous=FULL, the app's
own schema and pragmas via inspector.db.connect), one transaction per batch:
(a) raw: the rows as the server logs them, executemany into `ops`;
(b) storage only: the same rows into `ops` and `findings` with executemany
(one upsert per column), no validation, no duplicate lookup, no audit, no HTTP.

The pushes go over one kept-alive connection (as a browser's); the 1-op push
latency is measured on it.

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
import http.client
import urllib.parse
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (BATCH, SYNC_HEADER, batches, compact, cookie_header, demo_standards, edits,  # noqa: E402
                           live_server, login, ratio, seeded_data_dir)
from inspector.testing import seeded_device  # noqa: E402




def http_push(server, inspection_id, rounds):
    opener = login(server.url, "inspector1")
    headers = {**SYNC_HEADER, "Content-Type": "application/json", "Cookie": cookie_header(opener)}
    # One kept-alive connection, as a browser keeps one to its server.
    address = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)

    def send(batch):
        connection.request("POST", "/sync/push", body=compact({"ops": batch}), headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"sync ingest: push answered {response.status}: {body[:200]!r}")
        return json.loads(body)

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
    connection.close()
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


_OPS_INSERT = ("INSERT INTO ops (op_id, user_id, device_id, device_seq, hlc, inspection_id, standard_code, "
               "field, value, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'applied')")


def _storage_batch(conn, rows):
    """(b) storage only: the batch's rows into ``ops`` with one executemany,
    then its findings with one upsert per column, also executemany: no
    validation, no duplicate lookup, no audit record, no HTTP."""
    first = conn.execute("SELECT coalesce(max(seq), 0) FROM ops").fetchone()[0] + 1
    conn.executemany(_OPS_INSERT.replace("(op_id,", "(seq, op_id,").replace("VALUES (?,", "VALUES (?, ?,"),
                     [(first + i, *row) for i, row in enumerate(rows)])
    for column in ("verdict", "note"):
        conn.executemany(
            f"INSERT INTO findings (inspection_id, standard_code, inspector_id, {column}, {column}_hlc, last_seq) "
            f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET {column} = excluded.{column}, "
            f"{column}_hlc = excluded.{column}_hlc, last_seq = excluded.last_seq",
            [(row[5], row[6], row[1], json.loads(row[8]), f"{row[4]} {row[0]}", first + i)
             for i, row in enumerate(rows) if row[7] == column])


def baseline(rounds_rows, storage):
    """Seconds per round of (a) raw inserts into ``ops`` or (b) storage only
    (``storage``), into a copy of the demo database the server started from,
    rounds in the same order as the pushes: each round writes into a
    database of the same size as the server's at that round (inserting into
    a fresh one was 1.7-2.1x faster and flattered the baseline)."""
    from inspector.db import connect, database_path
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        data, _ = seeded_data_dir(tmp)
        # The app's own schema and pragmas (WAL, synchronous=FULL).
        conn = connect(database_path(data)).conn
        try:
            conn.execute("PRAGMA foreign_keys=OFF")
            before = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            times = []
            for rows_batches in rounds_rows:
                start = time.perf_counter()
                for rows in rows_batches:
                    conn.execute("BEGIN IMMEDIATE")
                    if storage:
                        _storage_batch(conn, rows)
                    else:
                        conn.executemany(_OPS_INSERT, rows)
                    conn.execute("COMMIT")
                times.append(time.perf_counter() - start)
            return times, conn.execute("SELECT count(*) FROM ops").fetchone()[0] - before
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
    rows = [as_rows(op_batches, user_id) for op_batches in rounds]
    raw_times, count = baseline(rows, storage=False)
    assert count == n * args.rounds, count
    store_times, count = baseline(rows, storage=True)
    assert count == n * args.rounds, count
    proc_times = in_process_push(rounds)

    http_s, raw_s, store_s, proc_s = (statistics.median(t) for t in (http_times, raw_times, store_times,
                                                                      proc_times))
    http_rate, raw_rate, store_rate, proc_rate = n / http_s, n / raw_s, n / store_s, n / proc_s
    runs = lambda ts: ", ".join(f"{t:.3f}" for t in ts)  # noqa: E731
    print(f"  http push:          {http_s:7.3f} s  {http_rate:9.0f} ops/s  (rounds s: {runs(http_times)}; "
          f"statuses {dict(statuses)})")
    print(f"  http push of 1 op:  {one_op_s * 1000:7.2f} ms median latency (20 pushes, kept-alive connection)")
    print(f"  protocol.push only: {proc_s:7.3f} s  {proc_rate:9.0f} ops/s  (rounds s: {runs(proc_times)}; "
          f"in-process, no HTTP/Flask)")
    print(f"  (a) raw sqlite:     {raw_s:7.3f} s  {raw_rate:9.0f} ops/s  (rounds s: {runs(raw_times)}; "
          f"ops only, executemany, WAL, 1 txn/batch, database of the same size)")
    print(f"  (b) storage only:   {store_s:7.3f} s  {store_rate:9.0f} ops/s  (rounds s: {runs(store_times)}; "
          f"ops + findings, executemany, no validation, no HTTP)")
    line = (f"sync ingest: http {http_rate:.0f} ops/s, ratio to (a) raw sqlite {ratio(http_rate, raw_rate):.3f}, "
            f"to (b) storage only {ratio(http_rate, store_rate):.3f} (raw {raw_rate:.0f}, storage "
            f"{store_rate:.0f}, protocol.push in-process {proc_rate:.0f} ops/s, "
            f"{ratio(proc_rate, store_rate):.3f} of storage; 1-op push {one_op_s * 1000:.2f} ms)")
    print(line)
    return line


if __name__ == "__main__":
    main()
