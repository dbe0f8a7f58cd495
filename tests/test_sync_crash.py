"""The server stops in the middle of a batch: the batch is all or nothing.

The real app runs in a subprocess. Asked to crash after three ops, the test
launcher (tests/helpers.py, LiveServer(crash_after=3)) wraps the op log's
append so that the process exits (os._exit, as a power cut or an OOM kill
would) after three ops of a batch are written inside the batch's transaction:
the hook lives in the tests' launcher, not in the app. The tablet sees the
connection fail and keeps its outbox; after the restart it sends the same batch again and every
op is applied exactly once.
"""
import urllib.error
import uuid
from http.client import HTTPException

import pytest

from inspector.domain.db import connect, database_path
from tests.helpers import CRASH_EXIT, Device, LiveServer, copy_data_dir, demo_inspection_id, http_login, http_push


@pytest.fixture
def servers():
    """servers(data_dir, crash_after=None) -> a started LiveServer; all are
    stopped after the test."""
    started = []

    def start(data_dir, crash_after=None):
        server = LiveServer(data_dir, crash_after=crash_after)
        started.append(server)
        return server.start(timeout=10)

    yield start
    for server in started:
        server.stop()


def ops_with_ids(data_dir, op_ids):
    db = connect(database_path(data_dir))
    try:
        marks = ",".join("?" * len(op_ids))
        return [dict(r) for r in db.conn.execute(
            f"SELECT op_id, status FROM ops WHERE op_id IN ({marks}) ORDER BY seq", list(op_ids))]
    finally:
        db.conn.close()


def state(data_dir):
    db = connect(database_path(data_dir))
    try:
        return ([tuple(r) for r in db.conn.execute("SELECT * FROM findings ORDER BY 1, 2, 3")],
                db.conn.execute("SELECT count(*) FROM ops").fetchone()[0])
    finally:
        db.conn.close()


def test_a_batch_cut_by_a_server_crash_is_all_or_nothing_and_the_retry_applies_once(tmp_path, seeded_db, servers):
    data_dir = copy_data_dir(seeded_db, tmp_path / "data")
    inspection = demo_inspection_id(data_dir)
    before = state(data_dir)

    device = Device("tablet-" + uuid.uuid4().hex[:8])
    batch = [device.op(inspection, "B3.1", "verdict", "compliant"),
             device.op(inspection, "B3.1", "note", "Policy binder complete."),
             device.op(inspection, "B3.2", "verdict", "not_compliant"),
             device.op(inspection, "B3.2", "note", "Consent form version out of date."),
             device.op(inspection, "B3.3", "verdict", "not_applicable"),
             device.op(inspection, "B3.4", "verdict", "compliant")]
    op_ids = [op["op_id"] for op in batch]

    server = servers(data_dir, crash_after=3)
    tablet = http_login(server.url, "inspector1")  # what the browser holds: a cookie jar
    assert any(c.name == "session" for c in tablet.jar)
    with pytest.raises((urllib.error.URLError, HTTPException, ConnectionError)):
        http_push(tablet, server.url, batch)
    server.proc.wait(timeout=5)
    assert server.proc.returncode == CRASH_EXIT   # it died mid-batch, as the hook says
    assert ops_with_ids(data_dir, op_ids) == []   # none of the three written ops survived
    assert state(data_dir) == before

    # Restarted without the hook; the tablet still holds its session and its outbox.
    server = servers(data_dir)
    answer = http_push(tablet, server.url, batch)
    assert answer["results"] == [{"op_id": i, "status": "applied"} for i in op_ids]
    assert ops_with_ids(data_dir, op_ids) == [{"op_id": i, "status": "applied"} for i in op_ids]
    # The answer of that retry was lost too: one more retry changes nothing.
    again = http_push(tablet, server.url, batch)
    assert again["results"] == [{"op_id": i, "status": "duplicate"} for i in op_ids]
    assert len(ops_with_ids(data_dir, op_ids)) == 6
    findings, ops_count = state(data_dir)
    assert ops_count == before[1] + 6
    assert len(findings) == len(before[0]) + 4
