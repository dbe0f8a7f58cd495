"""The server's own qualities: durable commits, one connection per thread,
files readable by the server's user only, and gunicorn serving the app
(headers, compression, several processes)."""
import os
import stat
import threading

from click.testing import CliRunner

from inspector import create_app
from inspector.cli import main
from inspector.db import get_db


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_commit_is_durable_before_it_is_acknowledged(app):
    with app.app_context():
        assert get_db().conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert get_db().conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_thread_keeps_its_connection_from_request_to_request(app):
    def connection():
        with app.app_context():
            return get_db()

    first, second = connection(), connection()
    assert first is second
    other = []
    thread = threading.Thread(target=lambda: other.append(connection()))
    thread.start()
    thread.join()
    assert other[0] is not first


def test_a_request_that_fails_mid_transaction_leaves_no_transaction_open(app):
    with app.app_context():
        get_db().conn.execute("BEGIN IMMEDIATE")
    with app.app_context():
        assert not get_db().conn.in_transaction


def test_the_cli_makes_the_data_folder_readable_by_its_user_only(tmp_path):
    data = tmp_path / "data"
    os.umask(0o022)
    result = CliRunner().invoke(main, ["demo", "--data", str(data), "--no-serve", "--password", "pw"])
    assert result.exit_code == 0, result.output
    assert mode(data) == 0o700
    for path in data.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert any((data / "photos").rglob("*.jpg"))  # the demo's photos were checked too


def test_the_secret_key_is_created_private_whatever_the_umask(tmp_path):
    os.umask(0)
    app = create_app({"DATA_DIR": str(tmp_path / "data")})
    assert mode(tmp_path / "data" / "secret_key") == 0o600
    assert create_app({"DATA_DIR": str(tmp_path / "data")}).secret_key == app.secret_key
