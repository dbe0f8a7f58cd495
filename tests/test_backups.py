"""`inspector backup` and `inspector restore`, with the real server under load.

A tablet keeps pushing while the backup runs: the copy is one consistent
moment (integrity check, audit chain), holds every op acknowledged before it
started, exactly once, and every photo its findings refer to; restored into a
new folder, the server starts on it and the tablet's session still holds
(the secret key came along)."""
import contextlib
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from inspector.app.cli import main
from inspector.domain import backups
from inspector.domain.db import database_path
from tests.helpers import Device, LiveServer, copy_data_dir, demo_inspection_id, http_login, http_push

STANDARDS = ["B3.3", "B3.4"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def server(tmp_path, seeded_db):
    server = LiveServer(copy_data_dir(seeded_db, tmp_path / "data"))
    yield server.start(timeout=20)
    server.stop()


class Tablet(threading.Thread):
    """Pushes batches of notes until stopped; ``acknowledged`` lists the op
    ids the server answered ``applied``, in order."""

    def __init__(self, server, inspection):
        super().__init__(daemon=True)
        self.server, self.inspection = server, inspection
        self.opener = http_login(server.url, "inspector1")
        self.device = Device()
        self.acknowledged = []
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stopping.is_set():
                batch = [self.device.op(self.inspection, STANDARDS[i % 2], "note", f"note {self.device.seq + 1}")
                         for i in range(5)]
                answer = http_push(self.opener, self.server.url, batch)
                assert {r["status"] for r in answer["results"]} == {"applied"}, answer
                self.acknowledged += [op["op_id"] for op in batch]
        except Exception as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.01)
        assert self.error is None and len(self.acknowledged) >= count, self.error

    def stop(self):
        self.stopping.set()
        self.join(10)
        assert self.error is None, self.error


def op_counts(data_dir):
    with contextlib.closing(sqlite3.connect(database_path(data_dir))) as conn:
        return dict(conn.execute("SELECT op_id, count(*) FROM ops GROUP BY op_id"))


def referenced_photos(data_dir):
    with contextlib.closing(sqlite3.connect(database_path(data_dir))) as conn:
        return {r[0] for r in conn.execute("SELECT sha256 FROM finding_photos UNION SELECT sha256 FROM photos")}


def test_a_backup_taken_under_load_restores_with_every_acknowledged_op(tmp_path, server):
    tablet = Tablet(server, demo_inspection_id(server.data_dir))
    tablet.start()
    try:
        tablet.wait_for(50)
        acknowledged_before = list(tablet.acknowledged)
        result = run("backup", tmp_path / "backup", "--data", server.data_dir)
        during = len(tablet.acknowledged) - len(acknowledged_before)
        tablet.wait_for(len(tablet.acknowledged) + 20)  # the server kept taking pushes
    finally:
        tablet.stop()
    assert result.exit_code == 0, result.output
    assert "Copied the database" in result.output and "audit trail intact" in result.output
    assert "Copied secret_key" in result.output
    backup = tmp_path / "backup"
    for path in [database_path(backup), backup / "secret_key", *backup.rglob("*.jpg")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not list(backup.glob("*.tmp"))

    restored = tmp_path / "restored"
    result = run("restore", backup, "--data", restored)
    assert result.exit_code == 0, result.output
    assert run("audit", "verify", "--data", restored).exit_code == 0
    with contextlib.closing(sqlite3.connect(database_path(restored))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = op_counts(restored)
    assert all(counts.get(op_id) == 1 for op_id in acknowledged_before)
    # What the copy holds beyond that came while it ran, never after it ended.
    assert len(counts) <= len(op_counts(server.data_dir))
    photos = referenced_photos(restored)
    assert photos and all((restored / "photos" / h[:2] / f"{h}.jpg").is_file() for h in photos)
    assert (restored / "secret_key").read_bytes() == (server.data_dir / "secret_key").read_bytes()
    print(f"ops acknowledged while the backup ran: {during}")

    # The server runs on the restored folder, and the tablet's session still holds there.
    server.stop()
    again = LiveServer(restored, port=server.port).start(timeout=20)
    try:
        answer = http_push(tablet.opener, again.url, [tablet.device.op(tablet.inspection, "B3.3", "note", "after")])
        assert answer["results"][0]["status"] == "applied"
    finally:
        again.stop()


def test_backup_refuses_a_folder_that_holds_one_unless_forced(tmp_path, seeded_db):
    data = copy_data_dir(seeded_db, tmp_path / "data")
    assert run("backup", tmp_path / "b", "--data", data).exit_code == 0
    result = run("backup", tmp_path / "b", "--data", data)
    assert result.exit_code == 1 and "already holds a backup" in result.output
    result = run("backup", tmp_path / "b", "--data", data, "--force")
    assert result.exit_code == 0 and "Copied photos/: 0 files (6 already there)" in result.output


def test_backup_of_a_folder_without_a_database_creates_nothing(tmp_path):
    result = run("backup", tmp_path / "b", "--data", tmp_path / "empty")
    assert result.exit_code == 1 and "no inspector database" in result.output
    assert not (tmp_path / "empty").exists() and not (tmp_path / "b").exists()


def test_restore_refuses_live_data_unless_forced_and_keeps_the_old_file(tmp_path, seeded_db, server):
    data = copy_data_dir(seeded_db, tmp_path / "other")
    assert run("backup", tmp_path / "b", "--data", data).exit_code == 0

    result = run("restore", tmp_path / "b", "--data", server.data_dir)
    assert result.exit_code == 1 and "already holds a database" in result.output
    # Forced while the server runs: refused, as the server would go on writing to the old file.
    result = run("restore", tmp_path / "b", "--data", server.data_dir, "--force")
    assert result.exit_code == 1 and "stop the server" in result.output
    assert not list(server.data_dir.glob("*.tmp"))

    before = op_counts(server.data_dir)
    server.stop()
    result = run("restore", tmp_path / "b", "--data", server.data_dir, "--force")
    assert result.exit_code == 0, result.output
    kept = list(server.data_dir.glob("inspector.sqlite3.before-restore-*"))
    assert len(kept) == 1 and f"kept as {kept[0]}" in result.output
    assert not (server.data_dir / "inspector.sqlite3-wal").exists()
    assert op_counts(server.data_dir) == op_counts(tmp_path / "b")
    with contextlib.closing(sqlite3.connect(kept[0])) as conn:
        assert dict(conn.execute("SELECT op_id, count(*) FROM ops GROUP BY op_id")) == before


def test_restore_refuses_a_damaged_backup_and_changes_nothing(tmp_path, seeded_db):
    data = copy_data_dir(seeded_db, tmp_path / "data")
    assert run("backup", tmp_path / "b", "--data", data).exit_code == 0
    path = database_path(tmp_path / "b")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(raw))
    result = run("restore", tmp_path / "b", "--data", tmp_path / "new")
    assert result.exit_code == 1 and "damaged" in result.output, result.output
    assert not database_path(tmp_path / "new").exists()
    assert not list((tmp_path / "new").glob("*.tmp"))


# A backup that stops once its database copy exists (the marker file says
# so), until it is killed: a kill mid-backup, every time.
PAUSED_BACKUP = """
import pathlib, sys, time
from inspector.domain import backups
real_copy, marker = backups._copy_database, pathlib.Path(sys.argv.pop(1))

def copy_then_wait(source, target):
    real_copy(source, target)
    marker.touch()
    time.sleep(60)

backups._copy_database = copy_then_wait
from inspector.app.cli import main
main()
"""


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


def killed_backup(data, dest, signum, marker):
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_BACKUP, str(marker), "backup", str(dest), "--data",
                             str(data), "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the backup never reached its copy"
            time.sleep(0.02)
        proc.send_signal(signum)
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_killed_backup_leaves_no_temporary_file_and_the_earlier_backup_whole(tmp_path, seeded_db):
    data, dest = copy_data_dir(seeded_db, tmp_path / "data"), tmp_path / "b"
    assert run("backup", dest, "--data", data).exit_code == 0
    earlier = database_path(dest).read_bytes()

    # kill: the copy under way is removed as the command stops.
    assert killed_backup(data, dest, signal.SIGTERM, tmp_path / "copied") == 128 + signal.SIGTERM
    assert leftovers(dest) == []
    assert database_path(dest).read_bytes() == earlier

    # kill -9 cannot be caught: the next backup removes what it left.
    assert killed_backup(data, dest, signal.SIGKILL, tmp_path / "copied again") == -signal.SIGKILL
    assert leftovers(dest) == ["inspector.sqlite3.copying.tmp"]
    assert database_path(dest).read_bytes() == earlier
    assert run("backup", dest, "--data", data, "--force").exit_code == 0
    assert leftovers(dest) == []


def test_a_backup_that_fails_leaves_no_temporary_file(tmp_path, seeded_db, monkeypatch):
    data, dest = copy_data_dir(seeded_db, tmp_path / "data"), tmp_path / "b"

    def damaged(path):
        raise backups.BackupError(f"{path} is damaged: (made so by the test)")

    monkeypatch.setattr(backups, "check", damaged)
    result = run("backup", dest, "--data", data)
    assert result.exit_code == 1 and "damaged" in result.output
    assert leftovers(dest) == [] and not database_path(dest).exists()
