"""Shared helpers for the benchmarks: a real server on a seeded temporary
data folder, logging in over HTTP like a browser would (CSRF token from the
login form, session cookie in a cookie jar), and sync ops built the way a
tablet builds them (sync/static/outbox.js)."""
import contextlib
import http.cookiejar
import importlib.util
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inspector.db import connect, database_path  # noqa: E402
from inspector.demo import seed  # noqa: E402

PASSWORD = "bench-pass"
SYNC_HEADER = {"X-Inspector-Sync": "1"}
BATCH = 200  # as sync/static/outbox.js
VERDICT_VALUES = ("compliant", "not_compliant", "not_applicable", None)
WORDS = ("record", "signed", "missing", "training", "director", "thaw", "log", "second", "verifier", "shift",
         "temperature", "chain", "identity", "policy", "current", "reviewed", "audit", "label", "bag", "the",
         "of", "on", "and", "no", "was", "seen", "in", "for", "with", "each")


def _browser_module():
    """tests/browser.py, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_inspector_tests_browser", ROOT / "tests" / "browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seeded_data_dir(parent):
    """A demo-seeded data folder under ``parent``; returns (path, seed summary)."""
    data = Path(parent) / "data"
    data.mkdir()
    db = connect(database_path(data))
    summary = seed(db, PASSWORD)
    db.conn.close()
    return data, summary


@contextlib.contextmanager
def live_server():
    """Yield (server, seed summary): `inspector serve` (tests/browser.py
    LiveServer, the real server with CSRF on) on a fresh demo data folder."""
    LiveServer = _browser_module().LiveServer
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        data, summary = seeded_data_dir(tmp)
        server = LiveServer(data).start()
        try:
            yield server, summary
        finally:
            server.stop()


def demo_standards(data_dir, inspection_id):
    """Codes of every standard (not section) of the inspection's catalog, in catalog order."""
    conn = sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute(
            "SELECT s.code FROM standards s JOIN inspections i ON i.catalog_id = s.catalog_id "
            "WHERE i.id = ? AND s.depth > 0 ORDER BY s.position", [inspection_id])]
    finally:
        conn.close()


_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|'
                   r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')


def login(base_url, username, password=PASSWORD):
    """An urllib opener holding a logged-in session cookie for ``username``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/login", timeout=30).read().decode()
    match = _CSRF.search(page)
    if not match:
        raise RuntimeError("no csrf_token input in the login form")
    token = match.group(1) or match.group(2)
    form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": password}).encode()
    response = opener.open(base_url + "/login", data=form, timeout=30)
    response.read()
    if urllib.parse.urlsplit(response.geturl()).path == "/login":
        raise RuntimeError(f"login as {username} failed")
    opener.jar = jar
    return opener


def cookie_header(opener):
    return "; ".join(f"{c.name}={c.value}" for c in opener.jar)


class Device:
    """Builds ops like a tablet: a device id, a monotonic seq, an HLC stamp."""

    def __init__(self, seed_value=1):
        self.rng = random.Random(seed_value)
        self.device_id = "d" + uuid.UUID(int=self.rng.getrandbits(128)).hex[:20]
        self.seq = 0
        self.wall = int(time.time() * 1000)

    def op(self, inspection_id, standard, field, value):
        self.seq += 1
        self.wall += 1
        return {"op_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), "device_id": self.device_id,
                "seq": self.seq, "hlc": f"{self.wall:015d}:{0:05d}:{self.device_id}",
                "inspection_id": inspection_id, "standard": standard, "field": field, "value": value}


def edits(standards, n, seed_value=7):
    """``n`` edits {standard, field, value} across ``standards``: verdicts and
    notes, about half each, notes of a sentence or a short paragraph."""
    rng = random.Random(seed_value)
    out = []
    for i in range(n):
        standard = standards[i % len(standards)]
        if rng.random() < 0.5:
            out.append({"standard": standard, "field": "verdict", "value": rng.choice(VERDICT_VALUES)})
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40)))
            out.append({"standard": standard, "field": "note", "value": text.capitalize() + "."})
    return out


def ops_for(device, inspection_id, edit_list):
    return [device.op(inspection_id, e["standard"], e["field"], e["value"]) for e in edit_list]


def batches(items, size=BATCH):
    return [items[i:i + size] for i in range(0, len(items), size)]


def compact(obj):
    """JSON as the browser's JSON.stringify writes it (no spaces)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def ratio(a, b):
    return a / b if b else float("inf")
