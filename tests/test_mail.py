"""Mail that arrives, through a real SMTP server (aiosmtpd on a free port):
queued in the outbox, sent by the sender, parsed on arrival. A server that
refuses, never answers or drops the connection loses nothing: the message
stays queued with its error and goes out once the server is back."""
import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest

from inspector.app import mailer
from inspector.domain import mail

FROM = "inspections@example.org"


def conf(port, timeout=5):
    return mailer.settings({"SMTP_URL": f"smtp://127.0.0.1:{port}", "MAIL_FROM": FROM, "MAIL_TIMEOUT": timeout})


def later(minutes):
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def status(db, message_id):
    row = mail.message(db, message_id)
    return row["status"], row["attempts"], row["last_error"]


def test_a_queued_message_arrives_as_text_and_html(db, smtp):
    inbox, port = smtp
    message_id = mail.queue(db, "sam@northbridge.example", "Your review link", "Open https://x.example/review/1/t",
                            "<p>Open <a href=\"https://x.example/review/1/t\">your link</a></p>", kind="link")
    assert mailer.deliver_due(db, conf(port)) == (1, 0)
    [(to, received)] = inbox.messages
    assert to == ["sam@northbridge.example"] and received["From"] == FROM
    assert received["Subject"] == "Your review link"
    assert received.get_body(("plain",)).get_content().strip() == "Open https://x.example/review/1/t"
    assert 'href="https://x.example/review/1/t"' in received.get_body(("html",)).get_content()
    assert status(db, message_id) == ("sent", 1, "")
    assert mailer.deliver_due(db, conf(port)) == (0, 0)   # sent once, never again


def test_a_message_queued_twice_under_one_key_is_sent_once(db, smtp):
    inbox, port = smtp
    first = mail.queue(db, "lena@example.org", "Due in 3 days", "B1.5", kind="deadline", dedupe="d/1/B1.5/3")
    again = mail.queue(db, "lena@example.org", "Due in 3 days", "B1.5", kind="deadline", dedupe="d/1/B1.5/3")
    assert first and again is None
    mailer.deliver_due(db, conf(port))
    assert len(inbox.messages) == 1


def test_a_server_that_refuses_keeps_the_message_queued_until_it_takes_it(db, smtp):
    inbox, port = smtp
    inbox.refuse = "451 Try again later"
    message_id = mail.queue(db, "sam@example.org", "Draft citations", "text", kind="link")
    assert mailer.deliver_due(db, conf(port)) == (0, 1)
    state, attempts, error = status(db, message_id)
    assert (state, attempts) == ("queued", 1) and "451" in error
    assert mailer.deliver_due(db, conf(port)) == (0, 0)               # not before its backoff
    inbox.refuse = None
    assert mailer.deliver_due(db, conf(port), now=later(3)) == (1, 0)  # after it
    assert len(inbox.messages) == 1 and status(db, message_id) == ("sent", 2, "")


def silent_server(drop):
    """A TCP server that accepts and then never speaks (``drop`` False) or hangs up at once (True)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close() if drop else held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return listener, held


@pytest.mark.parametrize("drop, error", [(False, "timed out"), (True, "SMTPServerDisconnected")])
def test_a_server_that_hangs_or_hangs_up_loses_nothing(db, smtp, drop, error):
    listener, _held = silent_server(drop)
    message_id = mail.queue(db, "sam@example.org", "Subject", "text", kind="link")
    try:
        assert mailer.deliver_due(db, conf(listener.getsockname()[1], timeout=0.5)) == (0, 1)
    finally:
        listener.close()
    state, attempts, last_error = status(db, message_id)
    assert (state, attempts) == ("queued", 1) and error in last_error
    inbox, port = smtp                                                    # the server is back
    assert mailer.deliver_due(db, conf(port), now=later(3)) == (1, 0) and len(inbox.messages) == 1


def test_two_senders_never_hold_one_message_at_once(db):
    mail.queue(db, "a@example.org", "One", "text", kind="link")
    first = mail.claim(db)
    assert first is not None and mail.claim(db) is None                   # leased by the first
    assert mail.claim(db, later(3))["id"] == first["id"]                   # a dead sender's lease ends


def test_a_message_that_never_goes_is_given_up_but_still_listed(db):
    message_id = mail.queue(db, "a@example.org", "One", "text", kind="link")
    for n in range(mail.MAX_ATTEMPTS):
        mail.not_sent(db, message_id, "SMTPServerDisconnected: gone", later(60 * 24 * n))
    assert status(db, message_id)[:2] == ("failed", mail.MAX_ATTEMPTS)
    assert [m["id"] for m in mail.listing(db)] == [message_id]


def test_without_a_mail_server_the_admins_see_what_waits(db, as_user):
    mail.queue(db, "sam@example.org", "Your review link", "the link", kind="link")
    html = as_user("admin").get("/emails").get_data(as_text=True)
    assert "Not sent: no mail server configured." in html and "1 message waits in the outbox" in html
    assert "sam@example.org" in html and "Your review link" in html
    assert "the link" not in html                                          # never the body
    assert as_user("lead").get("/emails").status_code == 403


@pytest.mark.parametrize("url, sender, says", [
    ("http://mail.example.org", FROM, "INSPECTOR_SMTP_URL must look like"),
    ("smtp://", FROM, "INSPECTOR_SMTP_URL must look like"),
    ("smtp://mail.example.org:notaport", FROM, "bad port"),
    ("smtp://mail.example.org", "", "INSPECTOR_MAIL_FROM must be"),
])
def test_a_mail_setting_that_cannot_work_stops_the_start_with_the_reason(data_dir, app_on, url, sender, says):
    with pytest.raises(ValueError, match=says):
        app_on(data_dir, SMTP_URL=url, MAIL_FROM=sender)


def test_the_servers_sender_delivers_what_is_queued(data_dir, new_app, smtp):
    inbox, port = smtp
    app = new_app(data_dir, SMTP_URL=f"smtp://127.0.0.1:{port}", MAIL_FROM=FROM, MAIL_EVERY=0.2)
    db = app.extensions["inspector_db_keeper"]
    mail.queue(db, "sam@example.org", "Sent by the thread", "text", kind="link")
    mailer.nudge(app)
    deadline = datetime.now() + timedelta(seconds=10)
    while not inbox.messages and datetime.now() < deadline:
        threading.Event().wait(0.1)
    app.extensions["inspector_mail_sender"].stop()
    assert [m["Subject"] for _, m in inbox.messages] == ["Sent by the thread"]
