"""Load and crash: many tablets pushing to a real server at once; with
``--kill``, the server SIGKILLed mid-load and restarted while they retry.

`inspector serve` (gunicorn gthread, as deployed) runs on loopback in its own
process group on a demo-seeded data folder. Each tablet is a thread with its
own keep-alive connection (http.client), its own device id and clock
(`seeded_device`), logged in as one of the demo's three inspectors (the
session cookie got through the login form, once per account). A tablet loops
until the time is up: a batch of 1-25 verdict/note ops on random standards of
the demo inspection, and every 8th round a small JPEG (PUT
/sync/photos/<sha256>) followed by a batch that attaches it. A request that
fails (connection refused or cut, 5xx) is sent again unchanged (the same
batch, the same op ids) until it is answered, as outbox.js does.

Every op id the server answered applied, duplicate or superseded is
"acknowledged". After the run, the database is read: every acknowledged op
id must be in `ops` exactly once, no op id may have been answered "applied"
twice, and the registers (findings, photos, flags, decisions, ...) must equal
what `sync.protocol.rebuild` makes from the log on a copy of the database.

Printed: requests/s, ops/s, p50/p95/p99 latency (of the answered attempt),
and the ratio of N-tablet throughput to 1-tablet throughput measured on the
same server in the same run (without --kill).

Run: .venv/bin/python -m bench load [--tablets 50] [--seconds 10]
     .venv/bin/python -m bench load --kill [--runs 3]
"""
import argparse
import collections
import contextlib
import hashlib
import http.client
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PASSWORD, cookie_header, login, seeded_data_dir  # noqa: E402
from tests.helpers import SYNC, LiveServer, copy_data_dir, read_only_db, seeded_device  # noqa: E402

ACCOUNTS = ("inspector1", "inspector2", "inspector3")
ACKED = ("applied", "duplicate", "superseded")
PHOTO_EVERY = 8
MAX_BATCH = 25
GIVE_UP = 60  # seconds a tablet keeps retrying one request before the run fails


def small_jpeg(rng):
    from PIL import Image
    img = Image.new("RGB", (48, 36), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(12):
        img.putpixel((rng.randrange(48), rng.randrange(36)), tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class Tablet(threading.Thread):
    def __init__(self, index, port, cookie, plan, until, tag):
        super().__init__(daemon=True)
        self.index, self.port, self.cookie, self.plan, self.until = index, port, cookie, plan, until
        self.rng = random.Random(f"{tag}-{index}")
        self.device = seeded_device(f"load-{tag}-{index}")
        self.conn = None
        self.latencies = []     # (kind, seconds) of answered attempts
        self.answers = []       # (op_id, status) of every answer
        self.sent = []          # every op id sent
        self.retries = 0
        self.longest_wait = 0.0  # first attempt to answer, retries included
        self.error = None

    def request(self, method, path, body, headers):
        first = time.perf_counter()
        while True:
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                start = time.perf_counter()
                self.conn.request(method, path, body=body, headers={"Cookie": self.cookie, **SYNC, **headers})
                response = self.conn.getresponse()
                answer = response.read()
                if response.status < 500:
                    now = time.perf_counter()
                    self.longest_wait = max(self.longest_wait, now - first)
                    return response.status, answer, now - start
            except (OSError, http.client.HTTPException):
                with contextlib.suppress(Exception):
                    self.conn.close()
                self.conn = None
            self.retries += 1
            if time.perf_counter() - first > GIVE_UP:
                raise RuntimeError(f"tablet {self.index}: no answer to {method} {path} in {GIVE_UP} s")
            time.sleep(0.05 + self.rng.random() * 0.1)

    def push(self, ops):
        self.sent += [op["op_id"] for op in ops]
        status, answer, elapsed = self.request("POST", "/sync/push", json.dumps({"ops": ops}),
                                               {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"tablet {self.index}: push answered {status}: {answer[:300]!r}")
        self.latencies.append(("push", elapsed))
        self.answers += [(r["op_id"], r["status"]) for r in json.loads(answer)["results"]]

    def run(self):
        try:
            rounds = 0
            while time.time() < self.until:
                rounds += 1
                standards = self.plan["standards"]
                if rounds % PHOTO_EVERY == 0:
                    raw = small_jpeg(self.rng)
                    digest = hashlib.sha256(raw).hexdigest()
                    status, answer, elapsed = self.request("PUT", f"/sync/photos/{digest}", raw,
                                                           {"Content-Type": "image/jpeg"})
                    if status not in (200, 201):
                        raise RuntimeError(f"tablet {self.index}: photo answered {status}: {answer[:300]!r}")
                    self.latencies.append(("photo", elapsed))
                    ops = [self.device.op(self.plan["inspection"], self.rng.choice(standards), "photo",
                                          {"sha256": digest, "attached": True})]
                else:
                    ops = []
                    for _ in range(self.rng.randint(1, MAX_BATCH)):
                        standard = self.rng.choice(standards)
                        if self.rng.random() < 0.5:
                            ops.append(self.device.op(self.plan["inspection"], standard, "verdict",
                                                      self.rng.choice(("compliant", "not_compliant", None))))
                        else:
                            ops.append(self.device.op(self.plan["inspection"], standard, "note",
                                                      f"Round {rounds} on tablet {self.index}: seen."))
                self.push(ops)
        except Exception as exc:  # reported by the caller
            self.error = exc
        finally:
            if self.conn:
                self.conn.close()


def the_plan(data):
    with contextlib.closing(read_only_db(data)) as db:
        inspection = db.execute("SELECT id FROM inspections ORDER BY id").fetchone()[0]
        standards = [r[0] for r in db.execute(
            "SELECT s.code FROM standards s JOIN inspections i ON i.catalog_id = s.catalog_id "
            "WHERE i.id = ? AND s.depth > 0 ORDER BY s.position", [inspection])]
    return {"inspection": inspection, "standards": standards}


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def drive(server, cookies, plan, tablets, seconds, tag, kill_at=None):
    """Run ``tablets`` tablets for ``seconds``; SIGKILL and restart the
    server ``kill_at`` seconds in, if given. Returns the tablets and the wall time."""
    until = time.time() + seconds
    threads = [Tablet(i, server.port, cookies[i % len(cookies)], plan, until, tag) for i in range(tablets)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    if kill_at is not None:
        time.sleep(kill_at)
        server.kill()
        time.sleep(0.3)  # tablets see refused connections for a moment
        server.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    errors = [t.error for t in threads if t.error]
    if errors:
        raise SystemExit(f"load: {len(errors)} tablets failed, first: {errors[0]}")
    return threads, wall


def figures(threads, wall):
    lat = [s for t in threads for _, s in t.latencies]
    pushes = [s for t in threads for k, s in t.latencies if k == "push"]
    return {"requests": len(lat), "rps": len(lat) / wall, "ops": sum(len(t.answers) for t in threads),
            "ops_s": sum(len(t.answers) for t in threads) / wall,
            "photos": sum(1 for t in threads for k, _ in t.latencies if k == "photo"),
            **{f"p{p}": percentile(lat, p) * 1000 for p in (50, 95, 99)},
            **{f"push_p{p}": percentile(pushes, p) * 1000 for p in (50, 95, 99)},
            "retries": sum(t.retries for t in threads), "longest_wait": max(t.longest_wait for t in threads)}


def register_tables():
    from sync.fields import FIELDS
    return sorted({f.register.table for f in FIELDS.values()})


def dump(conn, tables):
    return {t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}")) for t in tables}


def rebuild_differs(data_dir):
    """Copy the database, dump the registers, rebuild them from the log on the
    copy, dump again; return the tables that differ (and how many rows)."""
    from inspector.domain.db import connect, database_path
    from sync import protocol
    with tempfile.TemporaryDirectory(prefix="inspector-rebuild-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        with contextlib.closing(sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)
        db = connect(copy)
        try:
            tables = register_tables()
            before = dump(db.conn, tables)
            protocol.rebuild(db)
            after = dump(db.conn, tables)
        finally:
            db.conn.close()
    return {t: (len(before[t]), len(after[t])) for t in tables if before[t] != after[t]}, \
        sum(len(v) for v in before.values())


def verify(data_dir, threads):
    """The exactly-once checks; returns a dict of counts (all zero is good)."""
    acked = collections.defaultdict(list)
    for t in threads:
        for op_id, status in t.answers:
            acked[op_id].append(status)
    not_acked_answers = collections.Counter(s for v in acked.values() for s in v if s not in ACKED)
    sent = {op_id for t in threads for op_id in t.sent}
    with contextlib.closing(read_only_db(data_dir)) as db:
        in_log = collections.Counter(r[0] for r in db.execute("SELECT op_id FROM ops"))
    acknowledged = {op_id for op_id, v in acked.items() if any(s in ACKED for s in v)}
    differs, register_rows = rebuild_differs(data_dir)
    return {"acknowledged": len(acknowledged),
            "missing": sum(1 for i in acknowledged if in_log[i] == 0),
            "twice_in_log": sum(1 for i in sent if in_log[i] > 1),
            "applied_twice": sum(1 for v in acked.values() if v.count("applied") > 1),
            "sent_not_answered": sum(1 for i in sent if i not in acked),
            "not_acked": dict(not_acked_answers),
            "duplicates": sum(v.count("duplicate") for v in acked.values()),
            "rebuild_differs": differs, "register_rows": register_rows}


def good(check):
    return not (check["missing"] or check["twice_in_log"] or check["applied_twice"] or check["sent_not_answered"]
                or check["not_acked"] or check["rebuild_differs"])


def one_run(tmp, seeded_database, name, tablets, seconds, kill, base_seconds=0, rng=None, password=PASSWORD):
    """One run on a fresh copy of ``seeded_database``: (figures with their
    "check", 1-tablet baseline figures or None)."""
    data = copy_data_dir(seeded_database, Path(tmp) / f"data-{name}")
    server = LiveServer(data, workers=2).start(timeout=30)
    try:
        cookies = [cookie_header(login(server.url, a, password)) for a in ACCOUNTS]
        plan = the_plan(data)
        base = None
        everyone = []
        if base_seconds:
            threads, wall = drive(server, cookies, plan, 1, base_seconds, f"{name}-base")
            base = figures(threads, wall)
            everyone += threads
        kill_at = (rng or random.Random()).uniform(0.3, 0.7) * seconds if kill else None
        threads, wall = drive(server, cookies, plan, tablets, seconds, name, kill_at)
        everyone += threads
        row = figures(threads, wall)
    finally:
        server.stop()
    row["kills"] = server.kills
    row["kill_at"] = kill_at
    row["check"] = verify(data, everyone)
    return row, base


def describe(row):
    return (f"{row['rps']:6.0f} req/s {row['ops_s']:7.0f} ops/s  p50 {row['p50']:5.1f}  p95 {row['p95']:6.1f}  "
            f"p99 {row['p99']:6.1f} ms  (push p99 {row['push_p99']:.1f} ms; {row['requests']} requests, "
            f"{row['ops']} ops, {row['photos']} photos)")


def describe_check(c):
    return (f"{c['acknowledged']} acknowledged: {c['missing']} missing, {c['twice_in_log']} twice in the log, "
            f"{c['applied_twice']} answered applied twice, {c['sent_not_answered']} sent but never answered, "
            f"other answers {c['not_acked'] or 'none'}; {c['duplicates']} answered duplicate (a retry of a batch "
            f"already written); rebuild from the log on a copy: "
            f"{'equal' if not c['rebuild_differs'] else 'DIFFERS ' + str(c['rebuild_differs'])} "
            f"({c['register_rows']} register rows)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10, help="load seconds per run")
    parser.add_argument("--base-seconds", type=float, default=4, help="1-tablet baseline seconds (not with --kill)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the server mid-load and restart it")
    parser.add_argument("--runs", type=int, default=None, help="runs (default 1, 3 with --kill)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill moments")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.kill else 1)
    rng = random.Random(args.seed)
    print(f"load: {args.tablets} tablets (threads, keep-alive) as {len(ACCOUNTS)} inspectors, batches of "
          f"1-{MAX_BATCH} ops, a photo every {PHOTO_EVERY}th round, {args.seconds:g} s per run, "
          f"{'SIGKILL + restart mid-load, ' if args.kill else ''}{runs} run(s), gunicorn gthread on "
          f"{os.cpu_count()} CPUs", flush=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        seeded, _ = seeded_data_dir(tmp)
        for run in range(runs):
            row, base = one_run(tmp, seeded / "inspector.sqlite3", f"run{run}", args.tablets, args.seconds, args.kill,
                                0 if args.kill else args.base_seconds, rng)
            if base:
                print(f"  1 tablet      {describe(base)}")
            kill = (f"; killed at {row['kill_at']:.1f} s, {row['retries']} retried requests, longest wait "
                    f"{row['longest_wait']:.1f} s" if args.kill else "")
            print(f"  {args.tablets} tablets{'' if args.tablets < 10 else ' '}  {describe(row)}{kill}")
            print(f"  check: {describe_check(row['check'])}", flush=True)
            failed += not good(row["check"])
            if base:
                print(f"load: {args.tablets} tablets {row['rps']:.0f} req/s, 1 tablet {base['rps']:.0f} req/s, "
                      f"ratio {row['rps'] / base['rps']:.2f}; p99 {row['p99']:.0f} ms; "
                      f"{'all acknowledged ops once' if good(row['check']) else 'CHECK FAILED'}")
    if args.kill:
        print(f"load: kill, {runs} runs, {runs - failed} passed, ratio {(runs - failed) / runs:.2f} "
              f"(0 acknowledged ops lost, 0 applied twice, state equal to a rebuild)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
