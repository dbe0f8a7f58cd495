"""Users and their passwords, and the record of failed logins."""
import time

from werkzeug.security import generate_password_hash

ROLES = ("admin", "lead", "inspector")
# Werkzeug's default (scrypt) costs tens of milliseconds on purpose. Tests
# that create many users pass a cheaper method; a hash names its own method,
# so checking a password never depends on this setting.
PASSWORD_METHOD = None


def _hash(password):
    return generate_password_hash(password, **({"method": PASSWORD_METHOD} if PASSWORD_METHOD else {}))


def create(db, username, role, password, display_name=None):
    """Add a user; raise ValueError with a message a person can act on."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not username or not username.strip():
        raise ValueError("a username is required")
    if not password:
        raise ValueError("a password is required")
    if db["users"].count_where("username = ?", [username]):
        raise ValueError(f"user {username!r} exists already")
    return db["users"].insert({
        "username": username.strip(),
        "display_name": display_name or username.strip(),
        "role": role,
        "password_hash": _hash(password),
    }).last_pk


def set_password(db, username, password):
    db.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", [_hash(password), username])


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
