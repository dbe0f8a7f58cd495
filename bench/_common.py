"""Shared helpers for the benchmarks: a real server on a seeded temporary
data folder, logging in over HTTP like a browser would (CSRF token from the
login form, session cookie in a cookie jar), and sync ops built the way a
tablet builds them (sync/static/outbox.js). The server, the login and the op
builder are the tests' own, from tests/helpers.py."""
import contextlib
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from tests import helpers as testing
from tests.helpers import LiveServer

PASSWORD = "bench-passphrase"  # 12 characters or more: the password policy
SYNC_HEADER = testing.SYNC
BATCH = 200  # as sync/static/outbox.js
VERDICT_VALUES = ("compliant", "not_compliant", "not_applicable", None)
WORDS = ("record", "signed", "missing", "training", "director", "thaw", "log", "second", "verifier", "shift",
         "temperature", "chain", "identity", "policy", "current", "reviewed", "audit", "label", "bag", "the",
         "of", "on", "and", "no", "was", "seen", "in", "for", "with", "each")


def seeded_data_dir(parent):
    """A demo-seeded data folder under ``parent``; returns (path, seed summary)."""
    data = Path(parent) / "data"
    return data, testing.seed_data_dir(data, PASSWORD)


@contextlib.contextmanager
def live_server():
    """Yield (server, seed summary): `inspector serve` (tests.helpers
    LiveServer, the real server with CSRF on) on a fresh demo data folder."""
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        data, summary = seeded_data_dir(tmp)
        server = LiveServer(data).start()
        try:
            yield server, summary
        finally:
            server.stop()


def demo_standards(data_dir, inspection_id):
    """Codes of every standard (not section) of the inspection's catalog, in catalog order."""
    with contextlib.closing(testing.read_only_db(data_dir)) as conn:
        return [r[0] for r in conn.execute(
            "SELECT s.code FROM standards s JOIN inspections i ON i.catalog_id = s.catalog_id "
            "WHERE i.id = ? AND s.depth > 0 ORDER BY s.position", [inspection_id])]


def login(base_url, username, password=PASSWORD):
    """An urllib opener holding a logged-in session cookie for ``username``."""
    return testing.http_login(base_url, username, password)


def cookie_header(opener):
    return "; ".join(f"{c.name}={c.value}" for c in opener.jar)


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
