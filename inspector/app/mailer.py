"""Sending the outbox (inspector/domain/mail.py) through any SMTP server.

``INSPECTOR_SMTP_URL`` says where: ``smtp://host:port`` (plain, as a local
relay or a test's server), ``smtp+starttls://user:password@host:587`` or
``smtps://user:password@host:465``; ``INSPECTOR_MAIL_FROM`` the sender's
address. Without them nothing is sent and nothing is lost: messages wait in
the outbox and the admins' Emails page says "Not sent: no mail server
configured". Each server process runs one sender thread; the outbox's
leases keep two of them from sending one message twice.
"""
import logging
import smtplib
import socket
import threading
import urllib.parse
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid
from typing import NamedTuple

from inspector.domain import mail
from inspector.domain.db import connect, database_path

log = logging.getLogger("inspector.mail")
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT = 20  # seconds for the server to answer each step


class Settings(NamedTuple):
    scheme: str
    host: str
    port: int
    username: str
    password: str
    sender: str
    timeout: float = TIMEOUT


def settings(config):
    """The SMTP settings of an app's config (None when no server is
    configured); ValueError, saying what is wrong, for a URL that cannot work."""
    url, sender = config.get("SMTP_URL") or "", config.get("MAIL_FROM") or ""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"INSPECTOR_SMTP_URL must look like smtp://host:port, smtp+starttls://user:password@host:587 "
                         f"or smtps://user:password@host:465 (got the scheme {parts.scheme or 'none'!r})")
    if "@" not in sender:
        raise ValueError("INSPECTOR_MAIL_FROM must be the address mail is sent from, e.g. inspections@example.org")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as exc:
        raise ValueError(f"INSPECTOR_SMTP_URL has a bad port: {exc}") from None
    return Settings(parts.scheme, parts.hostname, port, urllib.parse.unquote(parts.username or ""),
                    urllib.parse.unquote(parts.password or ""), sender, float(config.get("MAIL_TIMEOUT", TIMEOUT)))


def compose(row, sender):
    """The message of an outbox row: plain text, and HTML as its alternative when there is one."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, row["to_addr"], row["subject"]
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row['id']}", domain=sender.rsplit("@", 1)[1])
    message.set_content(row["text"])
    if row["html"]:
        message.add_alternative(row["html"], subtype="html")
    return message


def send(conf, message):
    """Hand one message to the SMTP server; raises on any refusal or failure."""
    factory = smtplib.SMTP_SSL if conf.scheme == "smtps" else smtplib.SMTP
    with factory(conf.host, conf.port, timeout=conf.timeout) as server:
        if conf.scheme == "smtp+starttls":
            server.starttls()
        if conf.username:
            server.login(conf.username, conf.password)
        refused = server.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)


def deliver_due(db, conf, limit=50, now=None):
    """Send what is due (at ``now``), one message at a time; (sent, failed)
    counts. A failure is recorded with its error and retried later, never dropped."""
    done = failed = 0
    for _ in range(limit):
        row = mail.claim(db, now)
        if row is None:
            break
        try:
            send(conf, compose(row, conf.sender))
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            # The error, never the body: it may hold a link meant for one person.
            log.warning("mail %s to the outbox's recipient not sent (attempt %s): %s", row["id"],
                        row["attempts"] + 1, type(exc).__name__)
            mail.not_sent(db, row["id"], f"{type(exc).__name__}: {exc}", now)
            failed += 1
        else:
            mail.sent(db, row["id"], now)
            done += 1
    return done, failed


class Sender(threading.Thread):
    """Delivers the outbox every ``every`` seconds, or sooner when woken; once
    a day first runs ``daily(db, today)`` in the app's context (the deadline
    reminders: their dedupe keys make a second process's run queue nothing)."""

    def __init__(self, app, conf, every=30, daily=None):
        super().__init__(name="inspector-mail", daemon=True)
        self.app, self.conf, self.every, self.daily = app, conf, every, daily
        self.wake, self.stopping = threading.Event(), threading.Event()
        self.last_day = None

    def run(self):
        db = connect(database_path(self.app.config["DATA_DIR"]))
        try:
            while not self.stopping.is_set():
                try:
                    today = date.today()
                    if self.daily and self.last_day != today:
                        with self.app.app_context():
                            self.daily(db, today)
                        self.last_day = today
                    if self.conf:
                        deliver_due(db, self.conf)
                except Exception:  # a sender that stops would leave mail waiting unseen
                    log.exception("the mail sender failed; it tries again")
                self.wake.wait(self.every)
                self.wake.clear()
        finally:
            db.conn.close()

    def stop(self):
        self.stopping.set()
        self.wake.set()
        self.join(timeout=30)


def init_app(app, daily=None):
    """Check the settings at start (a bad URL stops the server with the reason)
    and, unless told not to (tests), start this process's sender, which runs
    ``daily`` once a day."""
    conf = settings(app.config)
    app.extensions["inspector_mail"] = conf
    # Without a mail server the thread still runs the daily job, so the
    # reminders wait in the outbox (shown to the admins) instead of never
    # being written; tests start it only when they give a server.
    if app.config.get("MAIL_SENDER", True) and (conf or (daily and not app.testing)):
        sender = Sender(app, conf, app.config.get("MAIL_EVERY", 30), daily)
        sender.start()
        app.extensions["inspector_mail_sender"] = sender


def nudge(app):
    """Ask this process's sender to look at the outbox now (after queueing)."""
    sender = app.extensions.get("inspector_mail_sender")
    if sender:
        sender.wake.set()
