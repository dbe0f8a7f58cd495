"""The server's own qualities: durable commits, one connection per thread,
files readable by the server's user only, and gunicorn serving the app
(headers, compression, several processes)."""
import json
import os
import re
import stat
import threading

import pytest
from click.testing import CliRunner
from flask import abort

from inspector.app import create_app
from inspector.app.cli import main
from inspector.domain.db import database_path, get_db
from tests.helpers import SYNC, copy_data_dir


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
    result = CliRunner().invoke(main, ["demo", "--data", str(data), "--no-serve", "--password", "private-field-visit"])
    assert result.exit_code == 0, result.output
    assert mode(data) == 0o700
    for path in data.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert any((data / "photos").rglob("*.jpg"))  # the demo's photos were checked too


@pytest.mark.parametrize("start", ["app", "cli"])
def test_a_data_folder_made_open_beforehand_is_made_private_at_start(tmp_path, seeded_db, start):
    """`mkdir /srv/inspector` under umask 022 gives 755, and a copy made by
    hand 644 files: the server or any command tightens them."""
    data = copy_data_dir(seeded_db, tmp_path / "data")
    (data / "secret_key").write_text("k" * 64)
    (data / "photos").mkdir(exist_ok=True)
    (data / "documents").mkdir(exist_ok=True)
    for path in (data, data / "photos", data / "documents"):
        path.chmod(0o755)
    for path in (database_path(data), data / "secret_key"):
        path.chmod(0o644)
    if start == "app":
        create_app({"DATA_DIR": str(data)})
    else:
        result = CliRunner().invoke(main, ["user", "list", "--data", str(data)])
        assert result.exit_code == 0, result.output
    assert {path.name: mode(path) for path in [data, *data.iterdir()]} == {
        "data": 0o700, "photos": 0o700, "documents": 0o700, "inspector.sqlite3": 0o600, "secret_key": 0o600,
        **{path.name: 0o600 for path in data.glob("inspector.sqlite3-*")}}


def test_the_secret_key_is_created_private_whatever_the_umask(tmp_path):
    os.umask(0)
    app = create_app({"DATA_DIR": str(tmp_path / "data")})
    assert mode(tmp_path / "data" / "secret_key") == 0o600
    assert create_app({"DATA_DIR": str(tmp_path / "data")}).secret_key == app.secret_key


# --- headers, compression, static files ------------------------------------------

def test_pages_carry_a_permissions_policy_and_no_hsts_over_http(as_user):
    response = as_user("inspector1").get("/")
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_served_over_https_but_never_to_localhost(as_user):
    client = as_user("inspector1")
    secure = client.get("/", base_url="https://inspector.example.org")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/", base_url="https://localhost:5000").headers


@pytest.mark.parametrize("accept, encoding", [("br, gzip", "br"), ("gzip", "gzip"), ("", None)])
def test_pages_are_compressed_as_the_client_accepts(as_user, accept, encoding):
    response = as_user("inspector1").get("/", headers={"Accept-Encoding": accept})
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]


def test_static_files_are_linked_by_hash_and_cached_for_good(as_user):
    page = as_user("inspector1").get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    client = as_user("inspector1")
    versioned = client.get(css, headers={"Accept-Encoding": "br"})
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["Content-Encoding"] == "br"
    # Under an old hash or none, the file is revalidated, and a revalidation is answered 304.
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000"):
        plain = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert plain.headers["Cache-Control"] == "no-cache"
        again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["ETag"]})
        assert again.status_code == 304


def test_the_service_worker_stores_the_urls_pages_ask_for(as_user):
    client = as_user("inspector1")
    page = client.get("/").get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", client.get("/sw.js").get_data(as_text=True)).group(1))
    asked = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert asked and set(asked) <= set(shell)


# --- error pages -------------------------------------------------------------------

def _raise(code):
    def view():
        abort(code)
    return view


@pytest.fixture
def failing_app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for code in (400, 401, 403, 404, 405, 413, 429, 500):
        app.add_url_rule(f"/_fail/{code}", f"fail_{code}", _raise(code))
        app.add_url_rule(f"/sync/_fail/{code}", f"sync_fail_{code}", _raise(code))

    def crash():
        raise RuntimeError("boom")
    app.add_url_rule("/_crash", "crash", crash)
    return app


@pytest.mark.parametrize("code, words", [
    (400, "Reload the page"), (401, "Log in"), (403, "ask the team leader"), (404, "Check the address"),
    (405, "use its own buttons"), (413, "Make the file smaller"), (429, "Wait a few minutes"),
    (500, "tell your administrator")])
def test_each_error_is_a_page_in_the_apps_layout_that_says_what_to_do(failing_app, as_user, code, words):
    client = as_user("inspector1", app=failing_app)
    response = client.get(f"/_fail/{code}", headers={"Referer": "http://localhost/inspections/1"})
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert words in html
    assert 'class="top"' in html and 'href="/static/css/app.css?v=' in html   # the app's own layout
    assert 'href="/"' in html and 'href="/inspections/1"' in html          # home, and back
    json_answer = client.get(f"/sync/_fail/{code}")
    assert json_answer.status_code == code and json_answer.is_json
    assert set(json_answer.get_json()) == {"error", "message"}


def test_an_error_page_for_someone_logged_out_offers_the_login(failing_app):
    html = failing_app.test_client().get("/_fail/404").get_data(as_text=True)
    assert 'href="/login"' in html


def test_an_unexpected_exception_is_a_500_page(failing_app, as_user):
    response = as_user("inspector1", app=failing_app).get("/_crash")
    assert response.status_code == 500 and "Something went wrong" in response.get_data(as_text=True)


def test_the_sync_api_answers_unknown_addresses_and_methods_in_json(as_user):
    client = as_user("inspector1")
    assert client.get("/sync/nowhere", headers=SYNC).get_json()["error"] == "not_found"
    wrong = client.get("/sync/push", headers=SYNC)
    assert wrong.status_code == 405 and wrong.get_json()["error"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(tmp_path):
    from flask import request

    from inspector.app import create_app
    seen = []
    for hops in (0, 1):
        app = create_app({"DATA_DIR": str(tmp_path / f"d{hops}"), "TESTING": True, "SECRET_KEY": "x",
                          "TRUSTED_PROXIES": hops})
        app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr or "")
        seen.append(app.test_client().get("/whoami", headers={"X-Forwarded-For": "10.1.2.3"},
                                          environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True))
    assert seen == ["127.0.0.1", "10.1.2.3"]  # only when told to trust one proxy
