"""Fixtures: an app on a temporary data folder with the demo seeded, clients
logged in as each demo user, and a helper to build sync ops."""
import itertools
import time
import shutil
import uuid

import pytest

from inspector import create_app
from inspector.db import connect, database_path
from inspector.demo import seed

PASSWORD = "demo-pass"
HOUR = 3_600_000
# Tablets' clocks in tests: half a day ago, so an hour either way stays within
# the day ahead of the server's clock that the server accepts.
T0 = int(time.time()) * 1000 - 12 * HOUR
SYNC = {"X-Inspector-Sync": "1"}


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory):
    """The demo seeded once (password hashing is slow on purpose); each test
    gets its own copy of the file."""
    folder = tmp_path_factory.mktemp("seeded")
    db = connect(database_path(folder))
    seed(db, PASSWORD)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return database_path(folder)


@pytest.fixture
def app(data_dir, seeded_db):
    data_dir.mkdir()
    shutil.copyfile(seeded_db, database_path(data_dir))
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": False})
    return app


@pytest.fixture
def db(app):
    conn = connect(database_path(app.config["DATA_DIR"]))
    yield conn
    conn.conn.close()


@pytest.fixture
def demo_inspection(db):
    return db.conn.execute("SELECT id FROM inspections").fetchone()[0]


def login(client, username, password=PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def as_user(app):
    """as_user("inspector1") -> a test client logged in as that user."""
    def make(username):
        return login(app.test_client(), username)
    return make


class Device:
    """Builds ops the way a tablet does: its own id, seq and clock."""

    def __init__(self, device_id=None, clock_ms=T0):
        self.device_id = device_id or "dev" + uuid.uuid4().hex[:10]
        self.seq = itertools.count(1)
        self.clock_ms = clock_ms
        self.counter = 0

    def op(self, inspection_id, standard, field, value, at_ms=None):
        seq = next(self.seq)
        wall = at_ms if at_ms is not None else self.clock_ms + seq
        return {"op_id": str(uuid.uuid4()), "device_id": self.device_id, "seq": seq,
                "hlc": f"{wall:015d}:{0:05d}:{self.device_id}", "inspection_id": inspection_id,
                "standard": standard, "field": field, "value": value}


@pytest.fixture
def device():
    return Device()


def push(client, ops, **kw):
    return client.post("/sync/push", json={"ops": ops}, headers=SYNC, **kw)
