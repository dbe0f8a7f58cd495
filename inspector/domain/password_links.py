"""Set-password and reset links: the one-time links a user is sent by mail
to choose a password (a new user's first, or one they forgot).

A link carries a random token; the table keeps only its SHA-256, so a copy
of the database (a backup, a dump) opens no account. A link is used once,
ends ``LIFETIME`` after it was issued, and ends when its user's password
changes any other way or the user is disabled; a new link for a user ends
their earlier ones. Issuing, using and refusing a link are audited (never
the token). Choosing the password itself is users.set_password_by_link.
"""
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from . import audit
from .db import joined_transaction

LIFETIME = timedelta(hours=24)
PURPOSES = ("set_password", "reset_password")
TOKEN_MAX = 128  # what token_urlsafe(32) gives is 43 characters: longer is no token of ours


def _digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _stamp(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _now():
    return datetime.now(timezone.utc)


def issue(db, user, purpose, by=None, device="web", now=None):
    """A new link for ``user`` (a users row), ending their earlier ones;
    returns its token, which is stored nowhere: put it in the mail at once."""
    assert purpose in PURPOSES
    now = now or _now()
    token = secrets.token_urlsafe(32)
    with joined_transaction(db):
        end_all(db, user["id"], "replaced", now)
        link_id = db["password_links"].insert({
            "user_id": user["id"], "token_hash": _digest(token), "purpose": purpose, "issued_by": by,
            "expires_at": _stamp(now + LIFETIME)}).last_pk
        audit.record(db, "password_link.issued", user_id=by, device=device, subject=user["username"],
                     after={"purpose": purpose, "link": link_id, "expires_at": _stamp(now + LIFETIME)})
    return token


def end_all(db, user_id, why, now=None):
    """End every live link of the user (``why``: their password changed, they
    were disabled, a newer link replaced them); how many there were."""
    return db.conn.execute("UPDATE password_links SET ended_at = ?, ended_why = ? "
                           "WHERE user_id = ? AND ended_at IS NULL",
                           [_stamp(now or _now()), why, user_id]).rowcount


def check(db, token, now=None):
    """(link, None) for a live link, with its user's ``username`` and
    ``disabled_at``; (link or None, why it cannot be used) otherwise."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return None, "unknown"
    link = db.conn.execute(
        "SELECT l.*, u.username, u.disabled_at FROM password_links l JOIN users u ON u.id = l.user_id "
        "WHERE l.token_hash = ?", [_digest(token)]).fetchone()
    if link is None:
        return None, "unknown"
    if link["ended_at"]:
        return link, link["ended_why"]
    if link["expires_at"] <= _stamp(now or _now()):
        return link, "expired"
    if link["disabled_at"]:
        return link, "user disabled"
    return link, None


def refused(db, link, why, device="web"):
    """Audit a refusal of a link that was issued. A token that names no link
    is not recorded: anyone could fill the trail with made-up ones."""
    with joined_transaction(db):
        audit.record(db, "password_link.refused", device=device, subject=link["username"],
                     after={"link": link["id"], "purpose": link["purpose"], "why": why})


def use(db, link, device="web", now=None):
    """Mark a checked link used, in the caller's transaction; False when it
    ended meanwhile (the same link sent twice at once: only one wins)."""
    now = now or _now()
    with joined_transaction(db):
        used = db.conn.execute("UPDATE password_links SET ended_at = ?, ended_why = 'used' "
                               "WHERE id = ? AND ended_at IS NULL AND expires_at > ?",
                               [_stamp(now), link["id"], _stamp(now)]).rowcount
        if used:
            audit.record(db, "password_link.used", user_id=link["user_id"], device=device,
                         subject=link["username"], after={"link": link["id"], "purpose": link["purpose"]})
    return bool(used)


def pending(db):
    """{user id: when their newest live link expires}: the Users page shows who was sent one."""
    return dict(db.conn.execute("SELECT user_id, max(expires_at) FROM password_links "
                                "WHERE ended_at IS NULL AND expires_at > ? GROUP BY user_id", [_stamp(_now())]))
