"""Helpers for the browser tests: a live server in its own process, and
headless Debian Chromium driven by Playwright (never a downloaded browser)."""
import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`inspector serve` on localhost (a secure context, so service workers
    and crypto.subtle work) in a subprocess that a test can stop and restart."""

    def __init__(self, data_dir, port=None, tls=None, code_dir=None):
        self.code_dir = code_dir  # run the app from this copy of the code (a "new deploy")
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.tls = tls  # (cert, key) to serve https://
        self.url = f"{'https' if tls else 'http'}://localhost:{self.port}"
        self.proc = None

    def start(self):
        self.log = open(self.data_dir / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from inspector.cli import main; main()", "serve",
             "--data", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port),
             *(["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else [])],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.code_dir,
            env={**os.environ, "PYTHONPATH": str(self.code_dir)} if self.code_dir else None)
        # A self-signed test certificate: readiness is checked without verifying it.
        unverified = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/login", timeout=1, context=unverified).read()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("the server exited; see " + str(self.log.name))
                time.sleep(0.1)
        raise RuntimeError("the server did not start in 20 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()


# --- fixtures (imported by the browser test modules) -------------------------
import pytest  # noqa: E402

from inspector.db import connect, database_path  # noqa: E402
from inspector.demo import seed  # noqa: E402

PASSWORD = "demo-pass"
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command, which installs Debian's chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = connect(database_path(data))
    seed(db, PASSWORD)
    db.conn.close()
    server = LiveServer(data).start()
    yield server
    server.stop()


@pytest.fixture
def tablet(chromium):
    context = chromium.new_context(viewport=TABLET)
    yield context
    context.close()


def log_in(page, base_url, username, password=PASSWORD):
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")


def server_db(server):
    """A read-only look at the server's database."""
    import sqlite3
    conn = sqlite3.connect(f"file:{database_path(server.data_dir)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn
