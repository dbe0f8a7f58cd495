"""Whatever order ops arrive in, however often they are resent and however
they are cut into batches, the server ends in the same state: the one a
single in-order push gives, and the one rebuilt from its own log."""
import random

import pytest

from inspector.domain.db import connect, database_path
from tests.helpers import HOUR, T0, Device, push
from sync import protocol


def workload(inspection):
    """One inspector on two tablets whose clocks disagree by an hour, editing
    the same standards: verdicts, notes, photo attach/remove and captions."""
    fast, slow = Device("tabletA", clock_ms=T0 + HOUR), Device("tabletB", clock_ms=T0)
    rng = random.Random(7)
    sha = "ab" * 32
    ops = []
    for n in range(60):
        device = fast if n % 2 else slow
        code = rng.choice(["B3.1", "B3.2", "B3.3"])
        field = rng.choice(["verdict", "note", "caption"])
        value = {"verdict": rng.choice(["compliant", "not_compliant", "not_applicable", None]),
                 "note": f"note {n}",
                 "caption": {"sha256": sha, "text": f"caption {n}"}}[field]
        ops.append(device.op(inspection, code, field, value))
    ops.append(slow.op(inspection, "B3.1", "photo", {"sha256": sha, "attached": False}))
    return ops


# The workload's standards in the inspection it goes to (the demo's first:
# the JACIE demo inspection has findings on B3.1 of its own); the demo's own findings stay.
CODES = ("WHERE inspection_id = (SELECT min(id) FROM inspections) "
         "AND standard_code IN ('B3.1', 'B3.2', 'B3.3')")


def state(db):
    findings = [tuple(r) for r in db.conn.execute(
        f"SELECT standard_code, inspector_id, verdict, verdict_hlc, note, note_hlc FROM findings {CODES} "
        "ORDER BY standard_code, inspector_id")]
    photos = [tuple(r) for r in db.conn.execute(
        f"SELECT standard_code, sha256, attached, attached_hlc, caption, caption_hlc FROM finding_photos {CODES} "
        "ORDER BY standard_code, sha256")]
    return findings, photos


@pytest.fixture
def expected(tmp_path, new_app, as_user, demo_inspection):
    """The state after pushing the workload once, in order, in one batch, to
    a server of its own (the log is append only: it cannot be wound back)."""
    app = new_app(tmp_path / "in-order")
    ops = workload(demo_inspection)
    assert push(as_user("inspector1", app=app), ops).status_code == 200
    db = connect(database_path(app.config["DATA_DIR"]))
    result = state(db)
    db.conn.close()
    return ops, result


@pytest.mark.parametrize("seed", range(8))
def test_any_order_any_duplicates_any_batching_converges(expected, db, as_user, seed):
    ops, result = expected
    rng = random.Random(seed)
    deliveries = ops + rng.sample(ops, k=len(ops) // 2)  # half of them arrive twice
    rng.shuffle(deliveries)
    client = as_user("inspector1")
    statuses = []
    while deliveries:
        size = rng.randint(1, 25)
        batch, deliveries = deliveries[:size], deliveries[size:]
        response = push(client, batch)
        assert response.status_code == 200
        statuses += [r["status"] for r in response.json["results"]]

    assert state(db) == result
    assert set(statuses) <= {"applied", "duplicate", "superseded"}
    logged = [r[0] for r in db.conn.execute(f"SELECT op_id FROM ops {CODES}")]
    assert sorted(logged) == sorted(op["op_id"] for op in ops)  # every op kept once, winners and losers alike

    protocol.rebuild(db)
    assert state(db) == result
