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
own schema and pragmas via inspector.domain.db.connect), one transaction per batch:
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
from tests.helpers import seeded_device  # noqa: E402




class HttpPusher:
    """Pushes over one kept-alive connection, as a browser keeps one to its server."""

    def __init__(self, server, inspection_id, first_batch):
        opener = login(server.url, "inspector1")
        self.headers = {**SYNC_HEADER, "Content-Type": "application/json", "Cookie": cookie_header(opener)}
        self.address = urllib.parse.urlsplit(server.url)
        self.connection = None
        self.connect()
        self.statuses = Counter()
        self.inspection_id, self.standards = inspection_id, [op["standard"] for op in first_batch]
        # Warm-up (not timed): a few ops on a separate device whose clock is a
        # day behind, so they never supersede the timed ops.
        warm = seeded_device(999)
        warm.clock_ms -= 86_400_000
        self.send([warm.op(inspection_id, self.standards[0], "verdict", "compliant") for _ in range(5)])
        self.single = seeded_device(998)  # one-op pushes, half a day behind: supersede nothing timed
        self.single.clock_ms -= 86_400_000 // 2
        self.singles = 0

    def connect(self):
        """A fresh kept-alive connection, opened before a timed stretch: the
        server closes one idle for 5 s (its keepalive), as the baselines run."""
        if self.connection is not None:
            self.connection.close()
        self.connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=120)
        self.connection.connect()

    def send(self, batch):
        self.connection.request("POST", "/sync/push", body=compact({"ops": batch}), headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"sync ingest: push answered {response.status}: {body[:200]!r}")
        return json.loads(body)

    def round(self, op_batches):
        self.connect()
        start = time.perf_counter()
        for batch in op_batches:
            for result in self.send(batch)["results"]:
                self.statuses[result["status"]] += 1
        return time.perf_counter() - start

    def one_op(self):
        """Seconds for a push of a single op (what a tablet sends after one edit while online)."""
        op = self.single.op(self.inspection_id, self.standards[self.singles % len(self.standards)], "note",
                            f"one edit {self.singles}")
        self.singles += 1
        start = time.perf_counter()
        result = self.send([op])["results"][0]
        elapsed = time.perf_counter() - start
        if result["status"] != "applied":
            raise SystemExit(f"sync ingest: a one-op push was not applied: {result}")
        return elapsed

    def floor(self):
        """Seconds for a small static file (1 KB) over the same connection:
        the server's and the client's share of any request, before the app."""
        start = time.perf_counter()
        self.connection.request("GET", "/static/js/photos.js", headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"sync ingest: the static file answered {response.status}")
        return elapsed

    def close(self):
        self.connection.close()


class InProcessPusher:
    """protocol.push called in-process on a second seeded database (no HTTP, no Flask)."""

    def __init__(self, tmp, first_batch):
        from inspector.domain import users
        from inspector.domain.db import connect, database_path
        from sync import protocol
        self.protocol = protocol
        data, _ = seeded_data_dir(tmp)
        self.db = connect(database_path(data))
        self.user = users.by_username(self.db, "inspector1")
        warm = seeded_device(999)  # warm-up, a day behind: supersedes nothing
        warm.clock_ms -= 86_400_000
        op = first_batch[0]
        protocol.push(self.db, self.user, {"ops": [warm.op(op["inspection_id"], op["standard"], "verdict",
                                                           "compliant") for _ in range(5)]})

    def round(self, op_batches):
        start = time.perf_counter()
        for batch in op_batches:
            self.protocol.push(self.db, self.user, {"ops": batch})
        return time.perf_counter() - start

    def close(self):
        self.db.conn.close()


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


class Baseline:
    """(a) raw inserts into ``ops``, or (b) storage only (``storage``), into a
    copy of the demo database the server started from, rounds in the same
    order as the pushes: each round writes into a database of the same size
    as the server's at that round (inserting into a fresh one was 1.7-2.1x
    faster and flattered the baseline). The app's own schema and pragmas
    (WAL, synchronous=FULL), one transaction per batch."""

    def __init__(self, tmp, storage):
        from inspector.domain.db import connect, database_path
        data, _ = seeded_data_dir(tmp)
        self.conn = connect(database_path(data)).conn
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.storage = storage
        self.before = self.count()
        self.conn.execute("CREATE TABLE bench_commits (n INTEGER)")

    def count(self):
        return self.conn.execute("SELECT count(*) FROM ops").fetchone()[0]

    def round(self, rows_batches):
        start = time.perf_counter()
        for rows in rows_batches:
            self.conn.execute("BEGIN IMMEDIATE")
            if self.storage:
                _storage_batch(self.conn, rows)
            else:
                self.conn.executemany(_OPS_INSERT, rows)
            self.conn.execute("COMMIT")
        return time.perf_counter() - start

    def one_row_commit(self):
        """Seconds for one row committed durably (synchronous=FULL): the disk's
        share of a one-op push, whatever the app does."""
        start = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO bench_commits VALUES (1)")
        self.conn.execute("COMMIT")
        return time.perf_counter() - start

    def close(self):
        self.conn.close()


def user_id_of(data_dir, username):
    from inspector.domain.db import database_path
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

    with live_server() as (server, summary), tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
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
              f"{len(rounds[0])} batches of {args.batch}, median of {args.rounds} rounds, the four measures "
              f"interleaved round by round (the machine is shared: no measure gets the quiet minute alone)")
        rows = [as_rows(op_batches, user_id) for op_batches in rounds]
        pusher = HttpPusher(server, inspection_id, rounds[0][0])
        local = InProcessPusher(Path(tmp) / "in-process", rounds[0][0])
        raw, storage = Baseline(Path(tmp) / "raw", storage=False), Baseline(Path(tmp) / "storage", storage=True)
        http_times, raw_times, store_times, proc_times, singles, commits, floors = [], [], [], [], [], [], []
        try:
            # One-op pushes and one-row commits, interleaved; before the
            # rounds, whose newer stamps would supersede them.
            for _ in range(20):
                singles.append(pusher.one_op())
                commits.append(storage.one_row_commit())
                floors.append(pusher.floor())
            for r in range(args.rounds):
                http_times.append(pusher.round(rounds[r]))
                raw_times.append(raw.round(rows[r]))
                store_times.append(storage.round(rows[r]))
                proc_times.append(local.round(rounds[r]))
            statuses = pusher.statuses
            counts = (raw.count() - raw.before, storage.count() - storage.before)
        finally:
            for part in (pusher, local, raw, storage):
                part.close()
    if statuses.get("applied", 0) != n * args.rounds:
        # A figure of refusals or duplicates would measure the wrong thing.
        raise SystemExit(f"sync ingest: not every op was applied ({dict(statuses)}): no figure")
    if counts != (n * args.rounds, n * args.rounds):
        raise SystemExit(f"sync ingest: the baselines wrote {counts} ops, not {n * args.rounds} each: no figure")
    one_op_s, commit_s, floor_s = (statistics.median(t) for t in (singles, commits, floors))

    http_s, raw_s, store_s, proc_s = (statistics.median(t) for t in (http_times, raw_times, store_times,
                                                                      proc_times))
    http_rate, raw_rate, store_rate, proc_rate = n / http_s, n / raw_s, n / store_s, n / proc_s
    runs = lambda ts: ", ".join(f"{t:.3f}" for t in ts)  # noqa: E731
    print(f"  http push:          {http_s:7.3f} s  {http_rate:9.0f} ops/s  (rounds s: {runs(http_times)}; "
          f"statuses {dict(statuses)})")
    print(f"  http push of 1 op:  {one_op_s * 1000:7.2f} ms median latency (20 pushes, kept-alive connection); "
          f"a one-row durable commit alone (synchronous=FULL, the disk's share): {commit_s * 1000:.2f} ms; "
          f"a 1 KB static file on the same connection (the server's floor): {floor_s * 1000:.2f} ms")
    print(f"  protocol.push only: {proc_s:7.3f} s  {proc_rate:9.0f} ops/s  (rounds s: {runs(proc_times)}; "
          f"in-process, no HTTP/Flask)")
    print(f"  (a) raw sqlite:     {raw_s:7.3f} s  {raw_rate:9.0f} ops/s  (rounds s: {runs(raw_times)}; "
          f"ops only, executemany, WAL, 1 txn/batch, database of the same size)")
    print(f"  (b) storage only:   {store_s:7.3f} s  {store_rate:9.0f} ops/s  (rounds s: {runs(store_times)}; "
          f"ops + findings, executemany, no validation, no HTTP)")
    line = (f"sync ingest: http {http_rate:.0f} ops/s, ratio to (a) raw sqlite {ratio(http_rate, raw_rate):.3f}, "
            f"to (b) storage only {ratio(http_rate, store_rate):.3f} (raw {raw_rate:.0f}, storage "
            f"{store_rate:.0f}, protocol.push in-process {proc_rate:.0f} ops/s, "
            f"{ratio(proc_rate, store_rate):.3f} of storage; 1-op push {one_op_s * 1000:.2f} ms, of which a durable "
            f"commit alone {commit_s * 1000:.2f} ms and a static file {floor_s * 1000:.2f} ms)")
    print(line)
    return line


if __name__ == "__main__":
    main()
