"""Users and their passwords, and the record of failed logins."""
import time

from werkzeug.security import generate_password_hash

from . import audit
from .db import joined_transaction

ROLES = ("admin", "lead", "inspector")
# Werkzeug's default (scrypt) costs tens of milliseconds on purpose. Tests
# that create many users pass a cheaper method; a hash names its own method,
# so checking a password never depends on this setting.
PASSWORD_METHOD = None


def _hash(password):
    return generate_password_hash(password, **({"method": PASSWORD_METHOD} if PASSWORD_METHOD else {}))


def create(db, username, role, password, display_name=None, by=None, device="cli"):
    """Add a user, recorded in the audit trail as made by the user ``by`` (an
    id; None at the command line); raise ValueError with a message a person
    can act on."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not username or not username.strip():
        raise ValueError("a username is required")
    if not password:
        raise ValueError("a password is required")
    if db["users"].count_where("username = ?", [username]):
        raise ValueError(f"user {username!r} exists already")
    password_hash = _hash(password)  # slow on purpose: not while holding the write lock
    with joined_transaction(db):
        user_id = db["users"].insert({
            "username": username.strip(),
            "display_name": display_name or username.strip(),
            "role": role,
            "password_hash": password_hash,
        }).last_pk
        audit.record(db, "user.created", user_id=by, device=device, subject=username.strip(),
                     after={"role": role, "display_name": display_name or username.strip()})
    return user_id


def set_password(db, username, password, by=None, device="cli"):
    """Change a user's password; the audit trail records that it changed, never the password or its hash."""
    password_hash = _hash(password)
    with joined_transaction(db):
        db.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", [password_hash, username])
        audit.record(db, "user.password_changed", user_id=by, device=device, subject=username)


def by_username(db, username):
    return db.conn.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()


def by_id(db, user_id):
    return db.conn.execute("SELECT * FROM users WHERE id = ?", [user_id]).fetchone()


def everyone(db):
    return db.conn.execute("SELECT id, username, display_name, role FROM users ORDER BY username").fetchall()


def recent_login_failures(db, username, window_s):
    return db.conn.execute("SELECT count(*) FROM login_failures WHERE username = ? AND at > ?",
                           [username, time.time() - window_s]).fetchone()[0]


def record_login_failure(db, username):
    db.conn.execute("INSERT INTO login_failures (username, at) VALUES (?, ?)", [username, time.time()])


def clear_login_failures(db, username):
    db.conn.execute("DELETE FROM login_failures WHERE username = ?", [username])
