"""Users and passwords in the browser: the admins' Users page, My account,
"Forgot password?", and the set-password and reset links, with the mail
received by a real SMTP server (aiosmtpd, as in test_mail.py) and its link
parsed out of the message and followed."""
import re
import time
from urllib.parse import urlsplit
from datetime import datetime, timedelta, timezone

import pytest

from inspector.app import mailer
from inspector.domain import password_links, users
from inspector.domain.db import database_path
from tests.helpers import PASSWORD
from tests.test_mail import FROM, conf

GOOD = "a meadow of tall grass"


def delivered(db, inbox, port):
    """Send what the outbox holds through the test's SMTP server; the messages received by now."""
    mailer.deliver_due(db, conf(port))
    return inbox.messages


def link_in(message):
    """The path of the one password link in a received message (plain text and HTML agree)."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    [url] = re.findall(r"https?://\S+/password/[\w-]+", text)
    assert f'href="{url}"' in html
    return urlsplit(url).path


def actions(db, action):
    return db.conn.execute("SELECT * FROM audit WHERE action = ? ORDER BY id", [action]).fetchall()


def logged_in_as(client):
    """The username the client's session is logged in as, or None (sent to the login page)."""
    response = client.get("/account")
    if response.status_code != 200:
        return None
    return re.search(r"<dt>Username</dt><dd>([^<]+)</dd>", response.get_data(as_text=True)).group(1)


def add_user(admin, username="nina", email="nina@northbridge.example", role="inspector", **extra):
    return admin.post("/users/new", data={"username": username, "display_name": "Nina New", "email": email,
                                          "role": role, **extra})


def test_an_added_user_sets_their_password_by_the_mailed_link_once(app, db, as_user, smtp):  # noqa: F811
    inbox, port = smtp
    admin = as_user("admin")
    response = add_user(admin)
    assert response.status_code == 303 and response.location.endswith("/users")
    nina = users.by_username(db, "nina")
    assert nina["email"] == "nina@northbridge.example" and not users.has_password(nina)
    assert app.test_client().post("/login", data={"username": "nina", "password": "!no password yet"}) \
        .status_code == 401                                          # created unable to log in
    listing = admin.get("/users").get_data(as_text=True)
    assert "Nina New" in listing and "No password yet (link sent, expires" in listing

    [(to, message)] = delivered(db, inbox, port)
    assert to == ["nina@northbridge.example"] and message["Subject"] == "Set your password for inspector"
    assert message["From"] == FROM and "nina" in message.get_body(("plain",)).get_content()
    path = link_in(message)
    token = path.rsplit("/", 1)[1]
    assert token.encode() not in database_path(app.config["DATA_DIR"]).read_bytes()  # only its hash is kept

    browser = app.test_client()
    form = browser.get(path)
    assert form.status_code == 200 and "Set your password" in form.get_data(as_text=True)
    weak = browser.post(path, data={"new_password": "password1234", "confirm_password": "password1234"})
    assert weak.status_code == 400 and "too common" in weak.get_data(as_text=True)
    assert password_links.check(db, token)[1] is None                # a refused password leaves the link usable
    done = browser.post(path, data={"new_password": GOOD, "confirm_password": GOOD})
    assert done.status_code == 303 and logged_in_as(browser) == "nina"  # logged in by the link

    again = app.test_client().post(path, data={"new_password": "another long phrase", "confirm_password":
                                               "another long phrase"})
    assert again.status_code == 404 and "used already" in again.get_data(as_text=True)
    assert app.test_client().get(path).status_code == 404
    assert users.password_matches(users.by_username(db, "nina"), GOOD)  # the second use changed nothing
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "nina", "password": GOOD}).status_code == 302
    assert "Never" not in admin.get("/users").get_data(as_text=True).split("Nina New")[1].split("</tr>")[0]
    issued, used, refused = (actions(db, f"password_link.{a}") for a in ("issued", "used", "refused"))
    assert [r["subject"] for r in issued] == [r["subject"] for r in used] == ["nina"]
    assert len(refused) == 2 and all('"why":"used"' in r["after"].replace(" ", "") for r in refused)
    assert not any(token in (r["after"] or "") for r in issued + used + refused)


def test_the_new_user_form_keeps_todays_username_rules(db, as_user):
    admin = as_user("admin")
    before = len(users.everyone(db))
    for username, says in [("1ead", "looks like an existing user"), ("lеad", "mixes scripts"),
                           ("Lead", "exists already"), ("two words", "may hold only letters")]:
        page = add_user(admin, username=username)
        assert page.status_code == 400 and says in page.get_data(as_text=True), username
        assert 'id="username-error"' in page.get_data(as_text=True)
    no_mail = add_user(admin, username="nomail", email="")
    assert no_mail.status_code == 400 and 'id="email-error"' in no_mail.get_data(as_text=True)
    assert add_user(admin, username="badmail", email="not an address").status_code == 400
    assert add_user(admin, username="norole", role="boss").status_code == 400
    assert len(users.everyone(db)) == before                         # nobody was added
    assert add_user(admin, username="  Ｎina ").status_code == 303    # normalised: NFKC, lower case, stripped
    assert users.by_username(db, "nina") is not None


def test_an_expired_link_refuses(app, db, as_user, smtp):  # noqa: F811
    inbox, port = smtp
    add_user(as_user("admin"))
    path = link_in(delivered(db, inbox, port)[0][1])
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    db.conn.execute("UPDATE password_links SET expires_at = ?", [past])  # the day has gone by
    refused = app.test_client().post(path, data={"new_password": GOOD, "confirm_password": GOOD})
    assert refused.status_code == 404 and "expired" in refused.get_data(as_text=True)
    assert not users.has_password(users.by_username(db, "nina"))
    assert '"why":"expired"' in actions(db, "password_link.refused")[0]["after"].replace(" ", "")


def test_a_link_lasts_a_day(db):
    user = users.by_username(db, "inspector1")
    token = password_links.issue(db, user, "reset_password")
    now = datetime.now(timezone.utc)
    assert password_links.check(db, token, now + timedelta(hours=23, minutes=59))[1] is None
    assert password_links.check(db, token, now + timedelta(hours=24, seconds=1))[1] == "expired"


def test_a_forged_or_altered_token_refuses(app, db):
    user = users.by_username(db, "inspector1")
    token = password_links.issue(db, user, "reset_password")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/password/{altered}", "/password/not-a-token", f"/password/{'x' * 500}"):
        for method in ("GET", "POST"):
            response = app.test_client().open(path, method=method, data={"new_password": GOOD,
                                                                          "confirm_password": GOOD})
            assert response.status_code == 404 and "not one we sent" in response.get_data(as_text=True)
    assert users.password_matches(users.by_username(db, "inspector1"), PASSWORD)
    assert actions(db, "password_link.refused") == []               # made-up tokens never fill the trail


def test_forgot_password_answers_alike_for_anyone_and_mails_only_the_address_on_file(app, db, smtp):  # noqa: F811
    inbox, port = smtp
    app.config["PASSWORD_HELP_MIN_S"] = 0.5
    users.create(db, "nina", "inspector", GOOD, "Nina New", email="nina@northbridge.example")
    users.create(db, "omar", "inspector", GOOD, "Omar No-Mail")

    def ask(typed):
        started = time.monotonic()
        response = app.test_client().post("/forgot-password", data={"username": typed})
        return response.status_code, response.get_data(as_text=True), time.monotonic() - started

    ask("someone")  # the first answer of a process compiles the templates: not what is measured
    unknown, known, by_email, no_address = ask("nobody"), ask("Nina"), ask("NINA@northbridge.example"), \
        ask("omar")
    assert unknown[:2] == known[:2] == by_email[:2] == no_address[:2]  # the same words, whoever it was
    assert unknown[0] == 200 and "If an account matches" in unknown[1]
    assert all(0.5 <= answer[2] < 2 for answer in (unknown, known, by_email, no_address))
    assert abs(unknown[2] - known[2]) < 0.2
    received = delivered(db, inbox, port)
    assert [to for to, _ in received] == [["nina@northbridge.example"]] * 2  # nothing for nobody, nor for no address
    assert received[0][1]["Subject"] == "Reset your password for inspector"
    # A newer link replaces the first: only the second message's link works.
    first, second = (link_in(message) for _, message in received)
    assert "newer link" in app.test_client().get(first).get_data(as_text=True)
    browser = app.test_client()
    assert browser.post(second, data={"new_password": "a brand new phrase", "confirm_password":
                                      "a brand new phrase"}).status_code == 303
    assert users.password_matches(users.by_username(db, "nina"), "a brand new phrase")


def test_forgot_password_is_rate_limited_like_login(app, db, smtp):  # noqa: F811
    inbox, port = smtp
    app.config["PASSWORD_HELP_MIN_S"] = 0
    users.create(db, "nina", "inspector", GOOD, "Nina New", email="nina@northbridge.example")
    client = app.test_client()
    answers = [client.post("/forgot-password", data={"username": "nina"}).status_code
               for _ in range(users.MAX_USER_FAILURES + 2)]
    assert answers == [200] * users.MAX_USER_FAILURES + [429, 429]
    limited = client.post("/forgot-password", data={"username": "nina"})
    assert "Too many" in limited.get_data(as_text=True) and limited.headers["Retry-After"]
    assert len(delivered(db, inbox, port)) == users.MAX_USER_FAILURES
    # Another name is counted on its own, and so is logging in.
    assert client.post("/forgot-password", data={"username": "nobody"}).status_code == 200
    assert client.post("/login", data={"username": "nina", "password": GOOD}).status_code == 302


def test_the_last_admin_cannot_be_disabled_from_the_browser_or_the_cli(db, as_user):
    admin = as_user("admin")
    me = users.by_username(db, "admin")
    refused = admin.post(f"/users/{me['id']}/disable")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and f'id="user-{me["id"]}-error"' in page and "last admin" in page
    assert users.by_username(db, "admin")["disabled_at"] is None
    with pytest.raises(ValueError, match="last admin"):
        users.disable(db, "admin")
    users.create(db, "second", "admin", GOOD, "Sam Second")
    assert admin.post(f"/users/{me['id']}/disable").status_code == 303
    assert users.by_username(db, "admin")["disabled_at"] is not None


def test_disabling_ends_sessions_at_once_and_enabling_lets_them_back(app, db, as_user):
    inspector = as_user("inspector1")
    assert logged_in_as(inspector) == "inspector1"
    admin = as_user("admin")
    target = users.by_username(db, "inspector1")
    assert admin.post(f"/users/{target['id']}/disable").status_code == 303
    assert logged_in_as(inspector) is None
    assert "Disabled" in admin.get("/users").get_data(as_text=True)
    assert app.test_client().post("/login", data={"username": "inspector1", "password": PASSWORD}).status_code == 403
    assert admin.post(f"/users/{target['id']}/enable").status_code == 303
    assert app.test_client().post("/login", data={"username": "inspector1", "password": PASSWORD}).status_code == 302
    assert [r["subject"] for r in actions(db, "user.disabled")] == ["inspector1"]


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(app, db, as_user):
    here, elsewhere = as_user("inspector1"), as_user("inspector1")
    link = password_links.issue(db, users.by_username(db, "inspector1"), "reset_password")
    wrong = here.post("/account/password", data={"current_password": "not my password",
                                                  "new_password": GOOD, "confirm_password": GOOD})
    assert wrong.status_code == 400 and 'id="current_password-error"' in wrong.get_data(as_text=True)
    weak = here.post("/account/password", data={"current_password": PASSWORD, "new_password": "short",
                                                 "confirm_password": "short"})
    assert weak.status_code == 400 and "at least 12 characters" in weak.get_data(as_text=True)
    differ = here.post("/account/password", data={"current_password": PASSWORD, "new_password": GOOD,
                                                  "confirm_password": GOOD + "!"})
    assert differ.status_code == 400 and 'id="confirm_password-error"' in differ.get_data(as_text=True)
    assert logged_in_as(elsewhere) == "inspector1"                   # nothing changed yet
    done = here.post("/account/password", data={"current_password": PASSWORD, "new_password": GOOD,
                                                "confirm_password": GOOD})
    assert done.status_code == 303
    assert logged_in_as(here) == "inspector1" and logged_in_as(elsewhere) is None
    assert users.password_matches(users.by_username(db, "inspector1"), GOOD)
    assert password_links.check(db, link)[1] == "password changed"   # a reset link sent before ends too


def test_wrong_current_passwords_are_limited(as_user):
    client = as_user("inspector1")
    answers = [client.post("/account/password", data={"current_password": "guess", "new_password": GOOD,
                                                      "confirm_password": GOOD}).status_code
               for _ in range(users.MAX_USER_FAILURES + 1)]
    assert answers == [400] * users.MAX_USER_FAILURES + [429]


def test_an_admin_sends_a_reset_to_the_users_own_address(app, db, as_user, smtp):  # noqa: F811
    inbox, port = smtp
    nina = users.create(db, "nina", "inspector", GOOD, "Nina New", email="nina@northbridge.example")
    admin = as_user("admin")
    assert admin.post(f"/users/{nina}/password-link").status_code == 303
    [(to, message)] = delivered(db, inbox, port)
    assert to == ["nina@northbridge.example"] and message["Subject"] == "Reset your password for inspector"
    browser = app.test_client()
    assert browser.post(link_in(message), data={"new_password": "a brand new phrase",
                                                "confirm_password": "a brand new phrase"}).status_code == 303
    assert logged_in_as(browser) == "nina"
    # No address on file: said beside the user's row, nothing queued.
    omar = users.create(db, "omar", "inspector", GOOD, "Omar No-Mail")
    refused = admin.post(f"/users/{omar}/password-link")
    assert refused.status_code == 409 and f'id="user-{omar}-error"' in refused.get_data(as_text=True)
    assert len(delivered(db, inbox, port)) == 1


@pytest.mark.parametrize("who", ["lead", "inspector1", "coordinator"])
def test_only_admins_manage_users(db, as_user, who):
    client = as_user(who)
    target = users.by_username(db, "inspector2")["id"]
    assert client.get("/users").status_code == 403
    assert client.post("/users/new", data={"username": "x", "email": "x@example.org", "role": "admin"}) \
        .status_code == 403
    assert client.post(f"/users/{target}/disable").status_code == 403
    assert users.by_id(db, target)["disabled_at"] is None and users.by_username(db, "x") is None
    assert client.get("/account").status_code == 200                  # their own account, though


def test_the_login_page_offers_forgot_password(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page and "Forgot password?" in page


def test_the_cli_adds_a_user_with_an_email_and_a_password(data_dir, app):
    from click.testing import CliRunner

    from inspector.app.cli import main
    result = CliRunner().invoke(main, ["user", "add", "--data", str(data_dir), "nina", "--role", "inspector",
                                       "--email", "nina@northbridge.example"], input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    listing = CliRunner().invoke(main, ["user", "list", "--data", str(data_dir)]).output
    assert re.search(r"^nina\s+inspector\s+active\s+nina\s+nina@northbridge.example$", listing, re.M), listing
    bad = CliRunner().invoke(main, ["user", "add", "--data", str(data_dir), "omar", "--role", "inspector",
                                    "--email", "not an address"], input=f"{GOOD}\n{GOOD}\n")
    assert bad.exit_code != 0 and "name@example.org" in bad.output
