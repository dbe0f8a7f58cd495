"""Logging in and sessions under attack: simultaneous guesses, a flood of
password checks, lock-outs by strangers, huge usernames, captured cookies,
sessions that never end. Each test was written against the code before the
fix and failed there (the decisions: docs/decisions.md, "Accounts and security")."""
import threading
import time

import pytest

from inspector.domain import users
from tests.helpers import PASSWORD, push
from inspector.app.views import auth


def post_login(client, username, password, address="127.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


class CountingCheck:
    """Stands in for the password check: counts calls and the most running at
    once, and takes ``seconds`` so that simultaneous requests overlap."""

    def __init__(self, real, seconds):
        self.real, self.seconds = real, seconds
        self.calls = self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, *args):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.seconds)
            return self.real(*args)
        finally:
            with self.lock:
                self.running -= 1


def at_once(requests):
    """Run the callables in threads released together; their answers in order."""
    answers = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def run(i):
        start.wait()
        answers[i] = requests[i]()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


@pytest.fixture
def check(monkeypatch):
    def install(seconds):
        counting = CountingCheck(users.check_password_hash, seconds)
        monkeypatch.setattr(users, "check_password_hash", counting)
        return counting
    return install


# --- guessing ------------------------------------------------------------------------

def test_simultaneous_guesses_are_counted_before_any_is_checked(app, check):
    counting = check(0.05)
    answers = at_once([lambda: post_login(app.test_client(), "inspector1", f"guess-{n}") for n in range(20)])
    assert {a.status_code for a in answers} <= {401, 429, 503}
    assert counting.calls <= auth.MAX_LOGIN_FAILURES


def test_concurrent_password_checks_are_capped_and_the_rest_asked_to_retry(app, check):
    counting = check(1.0)
    answers = at_once([lambda n=n: post_login(app.test_client(), f"nobody{n}", "guess", f"10.0.0.{n}")
                       for n in range(12)])
    assert counting.most <= app.config["LOGIN_CONCURRENT_CHECKS"]
    busy = [a for a in answers if a.status_code == 503]
    assert busy and all(a.headers["Retry-After"] for a in busy)
    assert {a.status_code for a in answers} == {401, 503}


def test_guessing_from_one_address_is_limited_across_usernames(app):
    client = app.test_client()
    answers = [post_login(client, f"name{n}", "guess", "203.0.113.9").status_code for n in range(25)]
    assert answers[:auth.MAX_ADDRESS_FAILURES] == [401] * auth.MAX_ADDRESS_FAILURES
    assert set(answers[auth.MAX_ADDRESS_FAILURES:]) == {429}
    assert post_login(client, "name99", "guess", "198.51.100.7").status_code == 401  # another address


def test_a_stranger_cannot_lock_the_rightful_user_out_of_their_own_tablet(app):
    tablet, attacker, new_tablet = app.test_client(), app.test_client(), app.test_client()
    assert post_login(tablet, "inspector1", PASSWORD, "192.0.2.10").status_code == 302
    tablet.post("/logout")
    answers = [post_login(attacker, "inspector1", f"guess-{n}", "203.0.113.66").status_code for n in range(8)]
    assert answers[-1] == 429
    # The tablet inspector1 logged in from before passes the username's lock...
    assert post_login(tablet, "inspector1", PASSWORD, "192.0.2.10").status_code == 302
    # ...a device never used by inspector1 waits (the price of slowing the guessing down).
    assert post_login(new_tablet, "inspector1", PASSWORD, "192.0.2.11").status_code == 429


def test_a_known_tablet_guessing_is_limited_too(app):
    tablet = app.test_client()
    assert post_login(tablet, "inspector1", PASSWORD).status_code == 302
    tablet.post("/logout")
    answers = [post_login(tablet, "inspector1", f"guess-{n}").status_code for n in range(7)]
    assert answers[:auth.MAX_LOGIN_FAILURES] == [401] * auth.MAX_LOGIN_FAILURES
    assert answers[-1] == 429


def test_an_unknown_username_costs_what_a_wrong_password_costs(app, monkeypatch):
    """Checked against a dummy hash made the way new passwords are (the
    method users.PASSWORD_METHOD names, Werkzeug's default in production), so
    the answer's time does not say whether the username exists."""
    import werkzeug.security
    methods = []
    real = werkzeug.security._hash_internal

    def spy(method, salt, password):
        methods.append(method)
        return real(method, salt, password)
    monkeypatch.setattr(werkzeug.security, "_hash_internal", spy)
    assert post_login(app.test_client(), "inspector1", "not-the-password").status_code == 401
    assert post_login(app.test_client(), "nobody-by-this-name", "not-the-password").status_code == 401
    assert set(methods) == {methods[0]}, methods  # the known user's method, for the dummy too


def test_failed_logins_store_neither_the_username_nor_its_size(app, db):
    client = app.test_client()
    huge = "inspector1" + "x" * 400_000
    for _ in range(10):
        assert post_login(client, huge, "guess").status_code in (401, 429)
    stored = db.conn.execute("SELECT * FROM login_failures").fetchall()
    assert stored and all(len(str(value)) <= 100 for row in stored for value in row)
    assert not any("inspector1" in str(value) for row in stored for value in row)


def test_old_failed_logins_are_pruned(app, db):
    client = app.test_client()
    for n in range(3):
        post_login(client, f"name{n}", "guess")
    db.conn.execute("UPDATE login_failures SET at = at - 86400")
    post_login(client, "name9", "guess")
    assert db.conn.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 1


def test_login_looks_up_the_normalised_username(app):
    assert post_login(app.test_client(), "  Inspector1 ", PASSWORD).status_code == 302


# --- sessions ------------------------------------------------------------------------

def logged_in(app, username="inspector1"):
    client = app.test_client()
    assert post_login(client, username, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    return client


def test_a_cookie_captured_before_logout_does_not_work_after_it(app):
    client = logged_in(app)
    captured = client.get_cookie("session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert thief.get("/").status_code == 302


def test_changing_the_password_ends_the_users_sessions(app, db):
    client, other = logged_in(app), logged_in(app, "inspector2")
    users.set_password(db, "inspector1", "a-new-long-passphrase")
    assert client.get("/").status_code == 302
    assert other.get("/").status_code == 200
    actions = [r[0] for r in db.conn.execute("SELECT action FROM audit WHERE subject = 'inspector1'")]
    assert "session.revoked" in actions and "user.password_changed" in actions


def test_a_disabled_user_is_logged_out_and_cannot_log_in(app, db):
    client = logged_in(app)
    users.disable(db, "inspector1")
    assert client.get("/").status_code == 302
    refused = post_login(app.test_client(), "inspector1", PASSWORD)
    assert refused.status_code == 403 and b"disabled" in refused.data
    assert post_login(app.test_client(), "inspector1", "not-the-password").status_code == 401
    users.enable(db, "inspector1")
    assert post_login(app.test_client(), "inspector1", PASSWORD).status_code == 302


def test_a_session_idle_for_a_shift_ends_and_sync_answers_401(app, db, demo_inspection, device):
    client = logged_in(app)
    db.conn.execute("UPDATE sessions SET last_seen = last_seen - 15 * 3600")
    response = push(client, [device.op(demo_inspection, "B7.1.1", "verdict", "compliant")])
    assert response.status_code == 401 and response.json["error"] == "login_required"
    assert client.get("/").status_code == 302


def test_a_session_used_all_the_time_still_ends_after_the_absolute_maximum(app, db):
    client = logged_in(app)
    db.conn.execute("UPDATE sessions SET created_at = created_at - 8 * 86400")  # last_seen stays recent
    assert client.get("/").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, db):
    client = logged_in(app)
    first = db.conn.execute("SELECT last_seen FROM sessions").fetchone()[0]
    client.get("/")
    assert db.conn.execute("SELECT last_seen FROM sessions").fetchone()[0] == first
    db.conn.execute("UPDATE sessions SET last_seen = last_seen - 120")
    client.get("/")
    assert db.conn.execute("SELECT last_seen FROM sessions").fetchone()[0] > first - 120


def test_a_name_stored_before_names_were_normalised_still_logs_in_as_typed(app, db):
    db.conn.execute("UPDATE users SET username = 'Inspector1' WHERE username = 'inspector1'")
    assert post_login(app.test_client(), "Inspector1", PASSWORD).status_code == 302
