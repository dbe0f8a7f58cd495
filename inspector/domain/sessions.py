"""Sessions kept on the server. The signed cookie holds a random token; the
table holds its hash, so a copy of the database gives no one a session.
Logout, a password change and disabling a user revoke sessions; a session
ends after a shift without use and after an absolute maximum however often
it is used."""
import hashlib
import secrets
import time

from . import audit
from .db import joined_transaction

IDLE_S = 14 * 3600        # a long shift: a session unused for longer ends
ABSOLUTE_S = 7 * 86400    # however often used, log in again after a week
TOUCH_S = 60              # last_seen is written at most once a minute


def _id(token):
    return hashlib.sha256(token.encode()).hexdigest()


def start(db, user_id, now=None):
    """A new session for the user; returns the token the cookie carries.
    Sessions that can no longer be used are pruned on the way."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    with joined_transaction(db):
        db.conn.execute("DELETE FROM sessions WHERE revoked_at IS NOT NULL OR last_seen <= ? OR created_at <= ?",
                        [now - IDLE_S, now - ABSOLUTE_S])
        db["sessions"].insert({"id": _id(token), "user_id": user_id, "created_at": now, "last_seen": now})
        # The admins' Users page shows when each user last logged in.
        db.conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?",
                        [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), user_id])
    return token


def user_for(db, token, now=None):
    """The user whose live session ``token`` is, or None: revoked, idle for a
    shift, past the absolute maximum, or the user disabled."""
    if not isinstance(token, str):
        return None
    now = time.time() if now is None else now
    row = db.conn.execute(
        "SELECT s.id, s.last_seen, s.user_id FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.id = ? AND s.revoked_at IS NULL AND u.disabled_at IS NULL AND s.last_seen > ? "
        "AND s.created_at > ?", [_id(token), now - IDLE_S, now - ABSOLUTE_S]).fetchone()
    if row is None:
        return None
    if now - row["last_seen"] >= TOUCH_S:  # cheap: one small write a minute per active session
        db.conn.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", [now, row["id"]])
    return db.conn.execute("SELECT * FROM users WHERE id = ?", [row["user_id"]]).fetchone()


def end(db, token, user, device=""):
    """Logout: this session can never be used again."""
    with joined_transaction(db):
        revoked = db.conn.execute("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                  [time.time(), _id(token)]).rowcount
        if revoked and user is not None:
            audit.record(db, "session.revoked", user_id=user["id"], device=device, subject=user["username"],
                         after={"reason": "logout"})


def revoke_all(db, user, reason, by=None, device="", keep=None):
    """End every session of ``user`` (a password change, the user disabled),
    but the one whose token is ``keep`` (the session that changed the password)."""
    with joined_transaction(db):
        revoked = db.conn.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL "
                                  "AND id <> ?", [time.time(), user["id"], _id(keep) if keep else ""]).rowcount
        if revoked:
            audit.record(db, "session.revoked", user_id=by, device=device, subject=user["username"],
                         after={"reason": reason, "sessions": revoked})
    return revoked
