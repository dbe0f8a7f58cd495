"""Helpers shared by the tests and the benchmarks: a demo-seeded data folder,
the real server in a subprocess, sync ops built the way a tablet builds them,
and logging in without the login form where the form is not what is tested.

Nothing here imports pytest (the benchmarks use it too), and the app never
imports this module: the one test hook, a server that dies mid-batch, is put
in by the launcher below, not read by production code.
"""
import contextlib
import hashlib
import http.cookiejar
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from http.client import HTTPException
from pathlib import Path

from inspector.app import create_app, demo

from inspector.domain import sessions, users
from inspector.domain.db import connect, database_path
from inspector.app.demo import seed
from inspector.app.demo_renewal import demo_pdf

PASSWORD = "demo-field-visit"  # the password policy asks 12 characters or more
# A hash names its own method, so the server checks a cheap hash as well as
# Werkzeug's deliberately slow default; only the test process makes them.
CHEAP_PASSWORD_METHOD = "pbkdf2:sha256:1"
HOUR = 3_600_000
# Tablets' clocks in tests: half a day ago, so an hour either way stays within
# the day ahead of the server's clock that the server accepts.
T0 = int(time.time()) * 1000 - 12 * HOUR
SYNC = {"X-Inspector-Sync": "1"}
CRASH_EXIT = 70  # the exit status of a server told to die mid-batch
# Browser tests: Debian's Chromium, never a downloaded one, at tablet and phone size.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}


def use_cheap_password_hashes():
    """Hash passwords made in this process (the seeded demo, test users) cheaply."""
    users.PASSWORD_METHOD = CHEAP_PASSWORD_METHOD


# --- data folders ---------------------------------------------------------------

def seed_data_dir(data_dir, password=PASSWORD):
    """Create ``data_dir`` with the demo seeded in it; return the seed summary.
    The database is left as one file (no WAL beside it), ready to copy."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True)
    db = connect(database_path(data_dir))
    try:
        summary = seed(db, password)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()
    return summary


def copy_data_dir(seeded_database, data_dir):
    """A new data folder holding a copy of an already seeded database file
    and of the photos stored beside it."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True)
    shutil.copyfile(seeded_database, database_path(data_dir))
    photos = Path(seeded_database).parent / "photos"
    if photos.is_dir():
        shutil.copytree(photos, data_dir / "photos")
    return data_dir


def demo_photo_hashes():
    """The hashes of the evidence photos the demo stores: tests count what they add beside them."""
    return {hashlib.sha256(demo.demo_photo(f[4])).hexdigest() for f in demo.FINDINGS if f[4]}


def small_pdf(text="Evidence", pages=1):
    """A real PDF (pages with a line of text each), as an evidence document."""
    return demo_pdf(text, pages)


def read_only_db(data_dir):
    """A read-only look at a data folder's database (rows by name)."""
    conn = sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def demo_inspection_id(data_dir):
    with contextlib.closing(read_only_db(data_dir)) as db:
        return db.execute("SELECT id FROM inspections ORDER BY id").fetchone()[0]


def user_id(data_dir, username):
    with contextlib.closing(read_only_db(data_dir)) as db:
        return db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()[0]


# --- sync ops --------------------------------------------------------------------

class Device:
    """Builds ops the way a tablet does (sync/static/outbox.js): its own id, a
    seq that only grows, an HLC stamp from its clock and a time-ordered op id
    (UUIDv7). Given ``rng`` (a random.Random), its ids are repeatable from run
    to run."""

    def __init__(self, device_id=None, clock_ms=T0, rng=None):
        self.rng = rng
        self.device_id = device_id or "dev" + self._bits(128).to_bytes(16, "big").hex()[:10]
        self.clock_ms = clock_ms
        self.seq = 0

    def _bits(self, n):
        return self.rng.getrandbits(n) if self.rng else secrets.randbits(n)

    def op(self, inspection_id, standard, field, value, at_ms=None):
        self.seq += 1
        wall = at_ms if at_ms is not None else self.clock_ms + self.seq
        return {"op_id": uuid7(wall, self._bits(74)), "device_id": self.device_id, "seq": self.seq,
                "hlc": f"{wall:015d}:{0:05d}:{self.device_id}", "inspection_id": inspection_id,
                "standard": standard, "field": field, "value": value}


def uuid7(ms, random_bits):
    """A UUIDv7 as outbox.js makes one: 48-bit ms timestamp, version 7, the
    variant, then 74 random bits. Ids made later sort later, so the log's
    op_id index grows at its end instead of being written all over."""
    value = (ms & (2 ** 48 - 1)) << 80 | 0x7 << 76 | (random_bits >> 62 & 0xFFF) << 64 | 0b10 << 62 \
        | random_bits & (2 ** 62 - 1)
    return str(uuid.UUID(int=value))


def seeded_device(seed_value, clock_ms=None):
    """A Device whose id and op ids follow from ``seed_value``, its clock now."""
    rng = random.Random(seed_value)
    device_id = "d" + uuid.UUID(int=rng.getrandbits(128)).hex[:20]
    return Device(device_id, int(time.time() * 1000) if clock_ms is None else clock_ms, rng)


def push(client, ops, **kw):
    """POST a batch to /sync/push with a Flask test client."""
    return client.post("/sync/push", json={"ops": ops}, headers=SYNC, **kw)


# --- before the visit ------------------------------------------------------------------

def prepare_as_program(db, inspection_id, lead_id, *, assessed=None, documents=(), state="preparing"):
    """The program's preparation written through the paths its self-assessment
    link takes, while the inspection is being prepared (then it is put in
    ``state``): a link issued for it, ``assessed`` ({code: (verdict, how)})
    as ops by that link, and each of ``documents`` ((title, version, bytes,
    filename, [codes])) stored, described and linked to its standards.
    Returns {"link": link row, "documents": {title: sha256}}."""
    from inspector.domain import documents as stored_documents
    from inspector.domain import inspections, preparation, review
    from inspector.domain.db import folder_of, transaction
    from sync.protocol import Actor, apply_batch
    inspections.set_state(db, inspection_id, "preparing")
    link = review.link(db, review.issue_link(db, inspection_id, "Pat Program", "pat@program.example", 30, lead_id,
                                             purpose="self_assessment"))
    device, ops, shas = Device(), [], {}
    for code, (verdict, how) in (assessed or {}).items():
        ops += [device.op(inspection_id, code, "self_verdict", verdict), device.op(inspection_id, code, "self_how", how)]
    for title, version, raw, filename, codes in documents:
        kind, kept = stored_documents.check(raw)
        with transaction(db):
            sha = stored_documents.store(db, folder_of(db), kind, kept, filename, inspection_id=inspection_id,
                                         link_id=link["id"])["sha256"]
        preparation.add_document(db, inspection_id, sha, title, version, link["id"])
        shas[title] = sha
        ops += [device.op(inspection_id, code, "crosswalk", {"sha256": sha, "linked": True}) for code in codes]
    results = apply_batch(db, Actor(link=link), ops)["results"]
    assert all(r["status"] == "applied" for r in results), results
    inspections.set_state(db, inspection_id, state)
    return {"link": link, "documents": shas}


def answer_as_program(db, link, inspection_id, standard, request_id, text, sha256=None):
    """The program's answer to a request, through its link (with a document already stored)."""
    from sync.protocol import Actor, apply_batch
    device = Device()
    ops = [device.op(inspection_id, standard, "rfi_answer", {"id": request_id, "text": text})]
    if sha256:
        ops.append(device.op(inspection_id, standard, "rfi_document",
                             {"id": request_id, "sha256": sha256, "attached": True}))
    return apply_batch(db, Actor(link=link), ops)["results"]


# --- the cycle after the visit ------------------------------------------------------

# A due date no test outlives: a correction due then is never overdue.
FAR_DUE = "2099-12-31"


def forward(client, inspection_id, confirmed=True):
    """The lead's forward button; an irreversible step confirmed as its page
    asks (``confirmed=False``: the first press, which shows that page)."""
    data = {"direction": "forward", **({"confirmed": "yes"} if confirmed else {})}
    return client.post(f"/inspections/{inspection_id}/state", data=data)


def coordinator_id(db, username="cora"):
    """The id of a coordinator account (the accrediting body's office), made the first time."""
    row = users.by_username(db, username)
    return row["id"] if row else users.create(db, username, "coordinator", PASSWORD, "Cora Coordinator")


def committee_decides(db, inspection_id, by, decisions=None, *, held="2027-01-15", outcome="deferred",
                      due=FAR_DUE):
    """Record the committee's decision on an inspection with the committee,
    as its coordinator ``by`` would: every draft citation confirmed, its
    correction due ``due``, unless ``decisions`` ({code: (decision, amended
    text, due)}) say otherwise. The inspection is then in its corrections."""
    from inspector.domain import committee, inspections, review
    inspection = inspections.plain(db, inspection_id)
    decided = {c["code"]: ("confirmed", "", due) for c in review.citations(db, inspection)[0]}
    committee.record(db, inspection, by, {"committee_date": held, "outcome": outcome,
                                          "citations": {**decided, **(decisions or {})}})


def many_inspections(db, count, by, lead, inspector=None, catalog_id=1, assigned=("B1", "B2"), first=0):
    """``count`` inspections at an office's size, for the home list: each a
    program of its own ("Program 007 Hospital", in city "City 7"), through
    the cycle's stages in turn and over three years (2024-2026), ``lead``
    leading each and ``inspector`` on each with sections ``assigned``; a live
    review link in the factual accuracy review, a committee date, a confirmed
    citation with a submitted correction waiting for the lead's review in
    the corrections. Numbered from ``first``. One transaction. Their ids, in the order made."""
    from inspector.domain import access, inspections, programs, review, team
    from inspector.domain.db import transaction
    ids = []
    with transaction(db):
        for n in range(first, first + count):
            state, year = access.STATES[n % len(access.STATES)], 2024 + n % 3
            starts = f"{year}-{1 + n % 12:02d}-{1 + n % 27:02d}"
            ends = starts[:8] + f"{int(starts[8:]) + 1:02d}"
            name = f"Program {n:03d} Hospital"
            program = programs.create(db, name, by, city=f"City {n}")
            i = inspections.create(db, name, catalog_id, starts, ends, by, program_id=program, state=state)
            team.add_member(db, i, lead, "lead")
            if inspector is not None:
                team.add_member(db, i, inspector, "inspector")
                for code in assigned:
                    team.assign_section(db, i, code, inspector)
            if state == "factual_accuracy":
                review.issue_link(db, i, "Sam Site", "sam@example.org", 7, lead)
            elif state == "committee":
                db.conn.execute("UPDATE inspections SET committee_date = ? WHERE id = ?", [f"{year}-12-01", i])
            elif state == "corrections":
                db.conn.execute("INSERT INTO committee_decisions (inspection_id, standard_code, decision, due_on) "
                                "VALUES (?, 'B1.5', 'confirmed', ?)", [i, f"{year + 1}-01-15"])
                db.conn.execute("INSERT INTO responses (inspection_id, standard_code, round, submitted, last_seq) "
                                "VALUES (?, 'B1.5', 1, 1, 0)", [i])
            ids.append(i)
    return ids


# --- sessions without the login form --------------------------------------------

def _start_session(data_dir, user_id):
    db = connect(database_path(data_dir))
    try:
        return sessions.start(db, user_id)
    finally:
        db.conn.close()


def log_in_test_client(client, user_id):
    """Give a Flask test client the session that logging in as ``user_id`` gives."""
    token = _start_session(client.application.config["DATA_DIR"], user_id)
    with client.session_transaction() as session:
        session.permanent = True
        session["sid"] = token
    return client


def session_cookie(data_dir, username, secure=False):
    """A cookie for a browser context (Playwright's ``add_cookies``, with its
    ``url`` to add) holding the session that logging in as ``username`` gives
    on the server of ``data_dir``: a session row in that folder's database,
    signed with that folder's secret key."""
    app = create_app({"DATA_DIR": str(data_dir)})  # reads the folder's secret_key, as the server did
    value = app.session_interface.get_signing_serializer(app).dumps(
        {"_permanent": True, "sid": _start_session(data_dir, user_id(data_dir, username))})
    expires = datetime.now(timezone.utc) + app.permanent_session_lifetime
    return {"name": app.config["SESSION_COOKIE_NAME"], "value": value, "httpOnly": True, "sameSite": "Lax",
            "secure": secure, "expires": expires.timestamp()}


# --- the real server -------------------------------------------------------------

def free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# `inspector serve` as the CLI runs it (gunicorn). Asked to crash after N ops,
# it first wraps the op log's append_many so that the worker process exits
# (os._exit, as a power cut or an OOM kill would) once N ops of a batch are
# written inside the batch's transaction; a gunicorn server hook (child_exit,
# set as the hook's default before the CLI builds its settings) then stops the
# whole server with the same status instead of starting a new worker. The
# wrap is made before the fork, so the workers inherit it: the hooks live
# here, not in the app.
LAUNCHER = f"""
import os, signal, sys
crash_after = int(sys.argv.pop(1))
if crash_after >= 0:
    import gunicorn.config
    from sync import oplog
    real_append_many, written = oplog.append_many, []

    def append_many(db, logged):
        logged = list(logged)
        room = crash_after - len(written)
        real_append_many(db, logged[:room])
        written.extend(row["op_id"] for _, row, _ in logged[:room])
        if len(logged) > room:
            os._exit({CRASH_EXIT})

    def child_exit(server, worker):
        for pid in list(server.WORKERS):
            os.kill(pid, signal.SIGKILL)
        os._exit({CRASH_EXIT})

    oplog.append_many = append_many
    gunicorn.config.ChildExit.default = staticmethod(child_exit)
from inspector.app.cli import main
main()
"""


class LiveServer:
    """`inspector serve` on localhost (a secure context, so service workers
    and crypto.subtle work) in a subprocess that a test or a benchmark can
    stop, kill and restart. It runs in its own process group, so that
    ``kill`` reaches the gunicorn arbiter and its workers at once."""

    def __init__(self, data_dir, port=None, tls=None, code_dir=None, crash_after=None, workers=1):
        self.code_dir = code_dir  # run the app from this copy of the code (a "new deploy")
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.tls = tls  # (cert, key) to serve https://
        self.crash_after = crash_after  # die after writing this many ops (CRASH_EXIT)
        self.url = f"{'https' if tls else 'http'}://localhost:{self.port}"
        self.proc = None
        self.log = None
        # One worker process by default: a test's browser shares the
        # machine's two cores with it, and one process of four threads
        # serves one tablet. The load benchmark runs the production two.
        self.workers = workers
        self.kills = 0

    def start(self, timeout=20):
        self.log = open(self.data_dir / f"server-{self.port}.log", "ab")
        crash = -1 if self.crash_after is None else self.crash_after
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(crash), "serve", "--workers", str(self.workers),
             "--data", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port),
             *(["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else [])],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.code_dir, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(self.code_dir)} if self.code_dir else None)
        # A self-signed test certificate: readiness is checked without verifying it.
        unverified = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/login", timeout=1, context=unverified).read()
                return self
            except (OSError, HTTPException):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log.name}")
                time.sleep(0.05)
        raise RuntimeError(f"the server did not start in {timeout} s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # SIGINT: gunicorn's quick shutdown, as a crash or a pulled plug
            # would; SIGTERM would wait for kept-alive browser connections.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
        if self.log:
            self.log.close()

    def kill(self):
        """SIGKILL the server and its workers at once (a power cut), and wait
        until none is left holding the port."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
                time.sleep(0.02)
            except ProcessLookupError:
                break
        self.kills += 1

    @contextlib.contextmanager
    def db(self):
        """A read-only look at the server's database, closed after use."""
        with contextlib.closing(read_only_db(self.data_dir)) as conn:
            yield conn

    def session_cookie(self, username):
        """The session cookie of ``username`` on this server, for Playwright."""
        return {**session_cookie(self.data_dir, username, secure=bool(self.tls)), "url": self.url + "/"}


# --- logging in a browser (a Playwright page) ----------------------------------------

# The page clips what runs past its right edge (`overflow-x: clip`, which
# keeps the header sticky), so `scrollWidth` no longer shows it: look at
# each element's box instead. A box inside one that clips or scrolls
# sideways on purpose (a wide table's wrapper) is that box's business.
_OFF_THE_SIDE = """() => {
  const width = document.documentElement.clientWidth, contained = new Map();
  const insideScroller = (el) => {
    const parent = el.parentElement;
    if (!parent || parent === document.body) return false;
    if (!contained.has(parent)) {
      const overflow = getComputedStyle(parent).overflowX;
      contained.set(parent, ["auto", "scroll", "hidden"].includes(overflow) || insideScroller(parent));
    }
    return contained.get(parent);
  };
  const off = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.height && box.right > width + 1 && !insideScroller(el)) {
      off.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ends at ${Math.round(box.right)} px`);
    }
  }
  return off.slice(0, 5);
}"""


def off_the_side(page):
    """What runs past the right edge of the viewport (nothing, on a page that fits): a few, described."""
    return page.evaluate(_OFF_THE_SIDE)


def wait_for_worker(page, timeout_ms=45_000):
    """Wait until the service worker controls the page, as it does a few
    seconds after a first visit (it stores the whole shell first); if it has
    not after ``timeout_ms``, reload once, as the app tells the user to."""
    for attempt in range(2):
        # Polled with evaluate: wait_for_function's string form needs eval, which the app's CSP forbids.
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if page.evaluate("() => Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)"):
                return
            page.wait_for_timeout(200)
        if attempt == 0:
            page.reload()
    raise TimeoutError("the service worker did not take the page, even after a reload")


def make_available_offline(page):
    """Press Make available offline on the inspection page open in ``page``,
    once the worker has taken the page, and wait until it says it is ready."""
    from playwright.sync_api import expect
    wait_for_worker(page)
    page.get_by_role("button", name="Make available offline").click()
    expect(page.locator("[data-offline-state]")).to_contain_text("Ready to use offline", timeout=60_000)


def log_in_through_form(page, base_url, username, password=PASSWORD):
    """Log in as an inspector does: the form, then the home page."""
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")


def log_in_by_cookie(page, server, username):
    """Where logging in is not what a test is about: the page's context gets
    the session cookie the form would give, and the page opens the home page,
    where the form lands."""
    page.context.add_cookies([server.session_cookie(username)])
    page.goto(server.url + "/")


# --- logging in over HTTP, as a browser does ----------------------------------------

_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|'
                   r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')


def http_login(base_url, username, password=PASSWORD):
    """An urllib opener holding a logged-in session cookie for ``username``,
    got through the login form (CSRF token from GET /login); ``.jar`` holds
    its cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/login", timeout=30).read().decode()
    match = _CSRF.search(page)
    if not match:
        raise RuntimeError("no csrf_token input in the login form")
    token = match.group(1) or match.group(2)
    form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": password}).encode()
    response = opener.open(base_url + "/login", data=form, timeout=30)
    response.read()
    if urllib.parse.urlsplit(response.geturl()).path == "/login":
        raise RuntimeError(f"login as {username} failed")
    opener.jar = jar
    return opener


def http_push(opener, base_url, ops, timeout=10):
    """POST a batch to /sync/push as outbox.js does; return the decoded answer."""
    request = urllib.request.Request(f"{base_url}/sync/push", data=json.dumps({"ops": ops}).encode(),
                                     method="POST", headers={"Content-Type": "application/json", **SYNC})
    with opener.open(request, timeout=timeout) as response:
        return json.loads(response.read())


# --- query plans ---------------------------------------------------------------------

# Tables that grow with every inspection the server holds: a query that reads
# all of one of them costs more every week (bench/year.py measures it).
GROWING_TABLES = frozenset({
    "ops", "audit", "findings", "finding_photos", "finding_flags", "decisions", "photo_releases", "responses",
    "reviews", "response_documents", "documents", "photos", "photo_uploads", "members", "assignments",
    "inspections", "sessions", "review_links", "login_failures"})
_NAMED_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.IGNORECASE)
_NOT_ALIASES = {"WHERE", "ON", "LEFT", "JOIN", "INNER", "CROSS", "ORDER", "GROUP", "LIMIT", "USING", "AS",
                "UNION", "NATURAL", "SET", "VALUES", "HAVING", "WINDOW", "INDEXED", "NOT", "OUTER"}


def scans_of_big_tables(conn, sql):
    """The ``SCAN`` lines of ``sql``'s query plan that read a whole table of
    GROWING_TABLES (or a whole index of one): each costs more as the year's
    data grows. ``sql`` has its parameters filled in (as a trace callback
    gives it)."""
    tables = {}
    for table, alias in _NAMED_TABLE.findall(sql):
        tables[table.lower()] = table.lower()
        if alias and alias.upper() not in _NOT_ALIASES:
            tables[alias.lower()] = table.lower()
    out = []
    for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
        scan = re.match(r"SCAN (\w+)", row[3])
        if scan and tables.get(scan.group(1).lower(), scan.group(1).lower()) in GROWING_TABLES:
            out.append(row[3])
    return out


@contextlib.contextmanager
def statements_run(conn):
    """Collect, in a list, every distinct SQL statement ``conn`` runs inside
    the block (queries and writes; parameters filled in)."""
    seen, statements = [], []
    conn.set_trace_callback(seen.append)
    try:
        yield statements
    finally:
        conn.set_trace_callback(None)
        statements.extend(dict.fromkeys(
            s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE"))))


def app_connection(app):
    """The database connection the calling thread's requests use (a test
    client runs requests in the calling thread), opened if need be."""
    with app.app_context():
        from inspector.domain.db import get_db
        return get_db().conn


class Inbox:
    """An SMTP handler (aiosmtpd) that keeps what it receives as (recipients,
    parsed message), or answers ``refuse`` (e.g. "451 Try again later") to every message."""

    def __init__(self):
        self.messages, self.refuse = [], None

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy
        if self.refuse:
            return self.refuse
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                            policy=email.policy.default)))
        return "250 OK"
