"""A year of worldwide inspections (bench/year_data.py): does a request cost
the same at 10%, 50% and 100% of the year?

At each point: database and photo store size; the inspection, section and
standard pages (as an inspector of one inspection) and the merge page (as
its lead), rendered by the Flask test client, medians of many renders; one
device's pull of that inspection (a fresh device, cursor 0: time and bytes).
The inspection measured is the year's first, so it is the same at every
point: only the rest of the database grows. Rounds interleave the points
(this machine is shared and noisy), and each figure's 100%/10% ratio is
printed (goal: within 1.2x). Baseline in the same run: the login page.

Ingest: the same 5,000 verdict/note ops (batches of 200, as outbox.js) pushed
through the app (test client: JSON parsing, protocol, audit; no socket) into
copies of the 10% and 100% databases, rounds interleaved; every op must come
back applied and be in the log. Then the WAL bytes one 200-op batch writes
(WAL truncated before each batch; UUIDv7 op ids, as tablets make them).

Query plans: every statement the pages, the pulls and a push run at 100%,
with any SCAN of a table that grows with the year listed.

The points are built once (10% -> 50% -> 100%, incrementally) and cached
under --cache (default: a folder in the system's temp dir); --fresh rebuilds.

    .venv/bin/python -m bench year [--inspections 500] [--rounds 5] [--repeat 15] [--fresh]
"""
import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import year_data  # noqa: E402
from bench._common import batches, edits  # noqa: E402
from inspector.app import create_app
from tests import helpers as testing
from inspector.domain.db import database_path  # noqa: E402

POINTS = (10, 50, 100)
GOAL = 1.2
VERSION = 2  # of the generator's output: a new version builds a new cache


def tree_size(path):
    """(bytes, files) of the files under ``path``."""
    total = files = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            total += os.path.getsize(os.path.join(dirpath, name))
            files += 1
    return total, files


def build_points(cache, total, log=print):
    """{percent: data folder} of the three points, built (incrementally) unless cached."""
    growing = cache / "build"
    folders = {}
    for pct in POINTS:
        folder = cache / f"p{pct}"
        folders[pct] = folder
        if (folder / "ready").exists():
            continue
        upto = max(1, total * pct // 100)
        seconds = year_data.build(growing, upto, total, log=log)
        photo_bytes, photo_files = tree_size(growing / "photos")
        if pct == POINTS[-1]:
            if folder.exists():
                shutil.rmtree(folder)
            growing.rename(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(database_path(growing), database_path(folder))
        (folder / "ready").write_text(f"{photo_bytes} {photo_files} {seconds:.1f}\n")
        log(f"  point {pct}%: {upto} inspections built in {seconds:.0f} s")
    return folders


def conn_photo(folder, inspection_id, inspector_id):
    """The sha256 of one photo the inspector attached in the inspection."""
    with contextlib.closing(testing.read_only_db(folder)) as conn:
        return conn.execute("SELECT sha256 FROM finding_photos WHERE inspection_id = ? AND inspector_id = ? "
                            "AND attached = 1 ORDER BY sha256 LIMIT 1", [inspection_id, inspector_id]).fetchone()[0]


def point_facts(folder):
    photo_bytes, photo_files, seconds = (folder / "ready").read_text().split()
    with contextlib.closing(testing.read_only_db(folder)) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("inspections", "ops", "findings", "finding_photos", "audit")}
    return {"db_bytes": database_path(folder).stat().st_size, "photo_bytes": int(photo_bytes),
            "photo_files": int(photo_files), "build_s": float(seconds), **counts}


class Point:
    """The app on one point's folder, logged in as an inspector and as the
    lead of the year's first inspection."""

    def __init__(self, folder):
        self.folder = folder
        self.app = create_app({"DATA_DIR": str(folder), "TESTING": True, "SECRET_KEY": "bench",
                               "WTF_CSRF_ENABLED": False})
        with contextlib.closing(testing.read_only_db(folder)) as conn:
            self.inspection_id = conn.execute("SELECT id FROM inspections WHERE site_name = ?",
                                              [year_data.SITE.format(1)]).fetchone()[0]
            team = conn.execute("SELECT u.id, u.username, m.team_role FROM members m JOIN users u "
                                "ON u.id = m.user_id WHERE m.inspection_id = ?", [self.inspection_id]).fetchall()
        _, people, _ = year_data.plan(0)
        first = f"insp{people[0]:03d}"
        self.inspector_id = next(r["id"] for r in team if r["username"] == first)
        self.lead_id = next(r["id"] for r in team if r["team_role"] == "lead")
        self.photo = conn_photo(folder, self.inspection_id, self.inspector_id)
        self.anonymous = self.app.test_client()
        self.inspector = testing.log_in_test_client(self.app.test_client(), self.inspector_id)
        self.lead = testing.log_in_test_client(self.app.test_client(), self.lead_id)
        i = self.inspection_id
        self.pages = {
            "inspection": (self.inspector, f"/inspections/{i}", {}),
            "section": (self.inspector, f"/inspections/{i}/sections/S5", {}),
            "standard": (self.inspector, f"/inspections/{i}/standards/S5.8", {}),
            "merge": (self.lead, f"/inspections/{i}/merge", {}),
            "pull": (self.inspector, f"/sync/pull?inspection={i}&cursor=0", testing.SYNC),
            "lead pull": (self.lead, f"/sync/pull?inspection={i}&cursor=0", testing.SYNC),
            "photo": (self.inspector, f"/photos/{self.photo}?size=thumb", {}),
            "login (baseline)": (self.anonymous, "/login", {}),
        }
        # Not timed, but their queries' plans are checked too.
        self.others = {"home": (self.inspector, "/"), "lead home": (self.lead, "/"),
                       "arrivals": (self.lead, f"/inspections/{i}/arrivals"),
                       "history": (self.lead, f"/inspections/{i}/history"),
                       "review": (self.lead, f"/inspections/{i}/review"),
                       "report": (self.lead, f"/inspections/{i}/report"),
                       "offline manifest": (self.inspector, f"/inspections/{i}/offline-manifest"),
                       "merge section": (self.lead, f"/inspections/{i}/merge?section=S3&only=disagreements")}

    def visit_others(self):
        for name, (client, url) in self.others.items():
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")

    def get(self, name):
        client, url, headers = self.pages[name]
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{name} at {self.folder.name}: {url} answered {response.status_code}")
        return response

    def connection(self):
        """The connection this thread's requests use."""
        return testing.app_connection(self.app)


def measure_pages(points, rounds, repeat):
    """{page: {pct: [seconds, ...]}}, the points interleaved round by round."""
    names = list(next(iter(points.values())).pages)
    times = {name: {pct: [] for pct in points} for name in names}
    for point in points.values():
        for name in names:
            point.get(name)  # warm: templates compiled, pages in the cache
    for r in range(rounds):
        order = list(points) if r % 2 == 0 else list(reversed(points))
        for name in names:
            for pct in order:
                for _ in range(repeat):
                    start = time.perf_counter()
                    points[pct].get(name)
                    times[name][pct].append(time.perf_counter() - start)
    return times


def pull_check(points):
    """Bytes of each pull; fail unless the pull holds the inspection's findings."""
    out = {}
    for pct, point in points.items():
        for name in ("pull", "lead pull"):
            body = point.get(name).get_json()
            if len(body["findings"]) < 150:
                raise SystemExit(f"{name} at {pct}% holds {len(body['findings'])} findings: the data is not there")
            client, url, headers = point.pages[name]
            gzipped = client.get(url, headers={**headers, "Accept-Encoding": "gzip"})
            if gzipped.headers.get("Content-Encoding") != "gzip":
                raise SystemExit(f"{name}: the pull was not compressed")
            out[(name, pct)] = f"{len(point.get(name).data):,} ({len(gzipped.data):,} gzip)"
    return out


# --- the query plans ----------------------------------------------------------------

def traced_statements(point, actions):
    """Every distinct SQL statement (parameters filled in) run by ``actions``."""
    with testing.statements_run(point.connection()) as statements:
        for action in actions:
            action()
    return statements


# --- ingest -------------------------------------------------------------------------

def ingest_copy(folder, into, photo_store=None):
    """A data folder holding a copy of ``folder``'s database, and a link to
    ``photo_store`` (the 100% point's, which holds every point's photos)."""
    into.mkdir(parents=True)
    shutil.copyfile(database_path(folder), database_path(into))
    if photo_store:
        (into / "photos").symlink_to(photo_store)
    return Point(into)


def push_all(point, ops):
    """Push ``ops`` in batches of 200 as the inspector; seconds taken. Fails unless every op is applied."""
    with contextlib.closing(testing.read_only_db(point.folder)) as conn:
        before = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    start = time.perf_counter()
    for batch in batches(ops):
        answer = testing.push(point.inspector, batch)
        refused = [r for r in answer.get_json()["results"] if r["status"] != "applied"]
        if answer.status_code != 200 or refused:
            raise SystemExit(f"ingest at {point.folder.name}: ops not applied: {answer.status_code} {refused[:2]}")
    seconds = time.perf_counter() - start
    with contextlib.closing(testing.read_only_db(point.folder)) as conn:
        after = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    if after - before != len(ops):
        raise SystemExit(f"ingest at {point.folder.name}: {len(ops)} ops pushed, the log grew by {after - before}")
    return seconds


_clock = [0]


def workload(codes, inspection_id, n, seed_value):
    """``n`` edits from a new device, stamped after every workload made before (so none is superseded)."""
    _clock[0] = max(_clock[0], int(time.time() * 1000))
    device = testing.seeded_device(seed_value, _clock[0])
    _clock[0] += n + 1
    return [device.op(inspection_id, e["standard"], e["field"], e["value"]) for e in edits(codes, n, seed_value)]


def wal_per_batch(point, ops):
    """Bytes of WAL each 200-op batch wrote (the WAL truncated before each)."""
    keeper = point.app.extensions["inspector_db_keeper"].conn
    wal = Path(str(database_path(point.folder)) + "-wal")
    sizes = []
    for batch in batches(ops):
        busy = keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy or wal.stat().st_size:
            raise SystemExit("the WAL could not be truncated before a batch")
        push_all(point, batch)
        sizes.append(wal.stat().st_size)
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inspections", type=int, default=year_data.INSPECTIONS, help="the year's inspections")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of page renders")
    parser.add_argument("--repeat", type=int, default=15, help="renders of each page per round and point")
    parser.add_argument("--ingest-ops", type=int, default=5000)
    parser.add_argument("--ingest-rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="where the built points are kept")
    parser.add_argument("--fresh", action="store_true", help="rebuild the points")
    args = parser.parse_args(argv)
    cache = args.cache or Path(tempfile.gettempdir()) / f"inspector-year-v{VERSION}-{args.inspections}"
    if args.fresh and cache.exists():
        shutil.rmtree(cache)
    print(f"  year: {args.inspections} inspections x {year_data.TEAM} inspectors x "
          f"{year_data.SECTIONS * year_data.PER_SECTION} standards, {year_data.PHOTOS} photos each; cache {cache}")
    folders = build_points(cache, args.inspections)
    facts = {pct: point_facts(folder) for pct, folder in folders.items()}
    for pct, f in facts.items():
        print(f"  {pct:>3}%: {f['inspections']} inspections, {f['ops']:,} ops, {f['findings']:,} findings, "
              f"{f['finding_photos']:,} photo rows, {f['audit']:,} audit rows; database {f['db_bytes'] / 2**20:,.0f} MiB, "
              f"photo store {f['photo_bytes'] / 2**20:,.0f} MiB in {f['photo_files']:,} files "
              f"(built in {f['build_s']:.0f} s)")
    with tempfile.TemporaryDirectory(prefix="inspector-bench-year-") as tmp:
        # Pages read a copy, so logging in (a session row) leaves the cache as built.
        points = {pct: ingest_copy(folder, Path(tmp) / f"pages{pct}", folders[100] / "photos")
                  for pct, folder in folders.items()}
        sizes = pull_check(points)
        times = measure_pages(points, args.rounds, args.repeat)
        print(f"  pages: median of {args.rounds} rounds x {args.repeat} renders, points interleaved")
        ratios = {}
        for name, by_point in times.items():
            ms = {pct: statistics.median(t) * 1000 for pct, t in by_point.items()}
            ratios[name] = ms[100] / ms[10]
            extra = ""
            if "pull" in name:
                extra = "; bytes " + " / ".join(sizes[(name, pct)] for pct in points)
            print(f"  {name:>17}: " + " / ".join(f"{ms[pct]:.2f}" for pct in points)
                  + f" ms at {' / '.join(f'{p}%' for p in points)}; 100%/10% {ratios[name]:.2f}"
                  + ("" if name.startswith("login") else (" flat" if ratios[name] <= GOAL else " NOT FLAT")) + extra)

        codes = [f"S{s}.{n}" for s in range(1, year_data.SECTIONS + 1) for n in range(1, year_data.PER_SECTION + 1)]
        top = points[100]
        statements = traced_statements(top, [lambda n=n: top.get(n) for n in top.pages] + [top.visit_others] + [
            lambda: push_all(top, workload(codes, top.inspection_id, 200, 5))])
        print(f"  query plans at 100%: {len(statements)} statements (the pages above, {', '.join(top.others)}, "
              f"a push)")
        found = [(sql, scan) for sql in statements for scan in testing.scans_of_big_tables(top.connection(), sql)]
        for sql, scan in found:
            print(f"    {scan}: {' '.join(sql.split())[:160]}")
        if not found:
            print("    no SCAN of a table that grows with the year")

        ingest = {pct: ingest_copy(folders[pct], Path(tmp) / f"ingest{pct}") for pct in (10, 100)}
        spent = {10: [], 100: []}
        for r in range(args.ingest_rounds):
            ops = workload(codes, ingest[10].inspection_id, args.ingest_ops, 1000 + r)
            for pct in ((10, 100) if r % 2 == 0 else (100, 10)):
                spent[pct].append(push_all(ingest[pct], ops))
        rate = {pct: args.ingest_ops / statistics.median(s) for pct, s in spent.items()}
        ops = workload(codes, ingest[10].inspection_id, 2000, 78)
        wal = {pct: statistics.median(wal_per_batch(ingest[pct], ops)) / 1024 for pct in (10, 100)}
        ingest_ratio = rate[10] / rate[100]
        print(f"  ingest: {args.ingest_ops:,} ops in batches of 200, median of {args.ingest_rounds} rounds: "
              f"{rate[10]:,.0f} ops/s at 10%, {rate[100]:,.0f} ops/s at 100%")
        print(f"  WAL per 200-op batch (median of 10): {wal[10]:.0f} KiB at 10%, {wal[100]:.0f} KiB at 100%")
    worst = max((r, n) for n, r in ratios.items() if not n.startswith("login"))
    print(f"year: pages and pulls 100%/10% ratio worst {worst[0]:.2f} ({worst[1]}), ingest time ratio "
          f"{ingest_ratio:.2f} (goal {GOAL}); database {facts[100]['db_bytes'] / 2**20:,.0f} MiB at 100%, "
          f"WAL per batch {wal[10]:.0f} -> {wal[100]:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
