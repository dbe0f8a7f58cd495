"""The server stops in the middle of a batch: the batch is all or nothing.

The real app runs in a subprocess. Asked to crash after three ops, the test's
launcher wraps the op log's append so that the process exits (os._exit, as a
power cut or an OOM kill would) after three ops of a batch are written inside
the batch's transaction: the hook lives here, not in the app. The tablet sees the connection fail and
keeps its outbox; after the restart it sends the same batch again and every
op is applied exactly once.
"""
import contextlib
import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.client import HTTPException
from pathlib import Path

import pytest

from conftest import PASSWORD, Device
from inspector.db import connect, database_path
from inspector.demo import seed

ROOT = Path(__file__).resolve().parent.parent
SERVER = """
import os, sys
from inspector import create_app
from sync import oplog

if len(sys.argv) > 3:  # crash after this many ops are written
    crash_after, real_append, written = int(sys.argv[3]), oplog.append, []

    def append(db, row, status):
        if len(written) == crash_after:
            os._exit(70)
        written.append(row["op_id"])
        return real_append(db, row, status)

    oplog.append = append
create_app({'DATA_DIR': sys.argv[1]}).run(host='127.0.0.1', port=int(sys.argv[2]), use_reloader=False)
"""


def free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`create_app(...).run()` in a subprocess, always stopped by the test."""

    def __init__(self, data_dir, log_path, crash_after=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        crash = [str(crash_after)] if crash_after is not None else []
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, str(data_dir), str(self.port), *crash],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (OSError, HTTPException):
                time.sleep(0.05)
        raise RuntimeError("the server did not start in time")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


@pytest.fixture
def servers(tmp_path):
    started = []

    def start(data_dir, crash_after=None):
        server = Server(data_dir, tmp_path / "server.log", crash_after)
        started.append(server)
        return server.wait_ready()

    yield start
    for server in started:
        server.stop()


class Tablet:
    """What the browser does over HTTP: a cookie jar and the sync header."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self, url, username):
        with self.opener.open(f"{url}/login", timeout=5) as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": PASSWORD}).encode()
        with self.opener.open(urllib.request.Request(f"{url}/login", data=form), timeout=5) as response:
            assert response.status == 200     # followed the redirect to the home page
        assert any(c.name == "session" for c in self.jar)

    def push(self, url, ops):
        request = urllib.request.Request(f"{url}/sync/push", data=json.dumps({"ops": ops}).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "X-Inspector-Sync": "1"})
        with self.opener.open(request, timeout=10) as response:
            return json.loads(response.read())


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


def test_a_batch_cut_by_a_server_crash_is_all_or_nothing_and_the_retry_applies_once(tmp_path, servers):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = connect(database_path(data_dir))
    inspection = seed(db, PASSWORD)["inspection_id"]
    db.conn.close()
    before = state(data_dir)

    device = Device("tablet-" + uuid.uuid4().hex[:8])
    batch = [device.op(inspection, "B2.1", "verdict", "compliant"),
             device.op(inspection, "B2.1", "note", "Policy binder complete."),
             device.op(inspection, "B2.2", "verdict", "not_compliant"),
             device.op(inspection, "B2.2", "note", "Consent form version out of date."),
             device.op(inspection, "B2.3", "verdict", "not_applicable"),
             device.op(inspection, "B2.4", "verdict", "compliant")]
    op_ids = [op["op_id"] for op in batch]

    server = servers(data_dir, crash_after=3)
    tablet = Tablet()
    tablet.login(server.url, "inspector1")
    with pytest.raises((urllib.error.URLError, HTTPException, ConnectionError)):
        tablet.push(server.url, batch)
    server.proc.wait(timeout=5)
    assert server.proc.returncode == 70           # it died mid-batch, as the hook says
    assert ops_with_ids(data_dir, op_ids) == []   # none of the three written ops survived
    assert state(data_dir) == before

    # Restarted without the hook; the tablet still holds its session and its outbox.
    server = servers(data_dir)
    answer = tablet.push(server.url, batch)
    assert answer["results"] == [{"op_id": i, "status": "applied"} for i in op_ids]
    assert ops_with_ids(data_dir, op_ids) == [{"op_id": i, "status": "applied"} for i in op_ids]
    # The answer of that retry was lost too: one more retry changes nothing.
    again = tablet.push(server.url, batch)
    assert again["results"] == [{"op_id": i, "status": "duplicate"} for i in op_ids]
    assert len(ops_with_ids(data_dir, op_ids)) == 6
    findings, ops_count = state(data_dir)
    assert ops_count == before[1] + 6
    assert len(findings) == len(before[0]) + 4
