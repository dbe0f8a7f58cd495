"""Fixtures: an app on a temporary data folder with the demo seeded, clients
logged in as each demo user, and a device that builds sync ops. The helpers
themselves live in tests/helpers.py, shared with the benchmarks."""
import pytest

from inspector.app import create_app
from inspector.domain.db import connect, database_path
from tests.helpers import (Device, Inbox, free_port, copy_data_dir, log_in_test_client, seed_data_dir,
                               use_cheap_password_hashes, user_id)

# Every password this process hashes (the seeded demo, users made by tests,
# the CLI run in-process) uses a cheap method; the server checks any method.
use_cheap_password_hashes()


@pytest.fixture(autouse=True)
def _keep_umask():
    """The CLI, run in-process, sets the umask for the server's files: give
    the next test the process's own back."""
    import os
    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory):
    """The demo seeded once; each test, and each live server, gets its own
    copy of the file."""
    folder = tmp_path_factory.mktemp("seeded") / "data"
    seed_data_dir(folder)
    return database_path(folder)


def make_app(data_dir, **config):
    """The app on ``data_dir``, as the tests run it (CSRF off: test_pages.py
    switches it on where it is what is tested); ``config`` overrides settings."""
    return create_app({"DATA_DIR": str(data_dir), "TESTING": True, "SECRET_KEY": "test",
                       "WTF_CSRF_ENABLED": False, **config})


@pytest.fixture
def app_on():
    """app_on(data_dir, **config) -> the app, as the tests run it, on a data folder already there."""
    return make_app


@pytest.fixture
def new_app(seeded_db):
    """new_app(data_dir, **config) -> an app on a fresh copy of the seeded demo there."""
    def make(data_dir, **config):
        return make_app(copy_data_dir(seeded_db, data_dir), **config)
    return make


@pytest.fixture
def app(data_dir, new_app):
    return new_app(data_dir)


@pytest.fixture
def db(app):
    conn = connect(database_path(app.config["DATA_DIR"]))
    yield conn
    conn.conn.close()


@pytest.fixture
def demo_inspection(db):
    return db.conn.execute("SELECT id FROM inspections").fetchone()[0]


@pytest.fixture
def as_user(app):
    """as_user("inspector1") -> a test client with the session that logging
    in as that user gives (the login form itself is tested in test_pages.py);
    ``app=`` for another app than the test's own."""
    def make(username, app=app):
        return log_in_test_client(app.test_client(), user_id(app.config["DATA_DIR"], username))
    return make


@pytest.fixture
def device():
    return Device()


@pytest.fixture
def smtp():
    """A real SMTP server on a free port (aiosmtpd): (its inbox, its port)."""
    from aiosmtpd.controller import Controller
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()
