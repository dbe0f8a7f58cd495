"""Mail: an outbox of messages, each stored with what caused it and sent
later by a sender (inspector/app/mailer.py) that retries with backoff.

A message is at-least-once: a sender leases it (``claim``) before sending
and records the answer after; a sender killed between the two leaves the
lease to expire and the message is sent again. Nothing is ever dropped: a
message that keeps failing stays queued with its last error, and is given
up (``failed``) only after ``MAX_ATTEMPTS``, still listed for the admins.
Bodies are never listed or logged: they may hold a link for one person.
"""
from datetime import datetime, timedelta, timezone

from .db import joined_transaction

MAX_ATTEMPTS = 12           # about two days of retries, with the backoff below
LEASE = timedelta(minutes=2)  # how long a sender holds a message it is sending
# Wait before the n-th retry: 1, 2, 4 ... minutes, at most 6 hours.
BACKOFF_MINUTES = [2 ** n for n in range(9)]


def _stamp(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _now():
    return datetime.now(timezone.utc)


def queue(db, to_addr, subject, text, html="", *, kind, inspection_id=None, dedupe=None):
    """Put a message in the outbox, in the caller's transaction; its id, or
    None when a message with the same ``dedupe`` key was queued before."""
    with joined_transaction(db):
        cursor = db.conn.execute(
            "INSERT INTO mail_outbox (to_addr, subject, text, html, kind, inspection_id, dedupe) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe) DO NOTHING",
            [to_addr, subject, text, html, kind, inspection_id, dedupe])
        return cursor.lastrowid if cursor.rowcount else None


def claim(db, now=None):
    """Lease the oldest message due for sending (None when there is none):
    another sender (a second server process) skips it until the lease ends."""
    now = now or _now()
    with joined_transaction(db):
        row = db.conn.execute(
            "SELECT * FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ? "
            "AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at, id LIMIT 1",
            [_stamp(now), _stamp(now)]).fetchone()
        if row is None:
            return None
        db.conn.execute("UPDATE mail_outbox SET claimed_until = ? WHERE id = ?", [_stamp(now + LEASE), row["id"]])
        return row


def sent(db, message_id, now=None):
    with joined_transaction(db):
        db.conn.execute("UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
                        "claimed_until = NULL, last_error = '' WHERE id = ?", [_stamp(now or _now()), message_id])


def not_sent(db, message_id, error, now=None):
    """The attempt failed: try again after the backoff, or give up after MAX_ATTEMPTS."""
    now = now or _now()
    with joined_transaction(db):
        attempts = db.conn.execute("SELECT attempts FROM mail_outbox WHERE id = ?",
                                   [message_id]).fetchone()[0] + 1
        wait = timedelta(minutes=BACKOFF_MINUTES[min(attempts - 1, len(BACKOFF_MINUTES) - 1)])
        db.conn.execute(
            "UPDATE mail_outbox SET attempts = ?, last_error = ?, next_attempt_at = ?, claimed_until = NULL, "
            "status = ? WHERE id = ?",
            [attempts, str(error)[:500], _stamp(now + wait), "failed" if attempts >= MAX_ATTEMPTS else "queued",
             message_id])


def listing(db, limit=200):
    """The newest messages for the admins' page: who, what, how it went (never the body)."""
    return db.conn.execute(
        "SELECT id, to_addr, subject, kind, inspection_id, status, attempts, last_error, created_at, sent_at, "
        "next_attempt_at FROM mail_outbox ORDER BY id DESC LIMIT ?", [limit]).fetchall()


def message(db, message_id):
    return db.conn.execute("SELECT * FROM mail_outbox WHERE id = ?", [message_id]).fetchone()


def waiting(db):
    """How many messages are still to be sent."""
    return db.conn.execute("SELECT count(*) FROM mail_outbox WHERE status = 'queued'").fetchone()[0]
