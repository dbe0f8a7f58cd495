"""Users: their names, passwords and whether they may log in, and the record
of failed logins that slows password guessing down."""
import functools
import hashlib
import secrets
import sqlite3
import time
import unicodedata
from datetime import datetime, timezone
from importlib import resources

from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, password_links, sessions
from .db import joined_transaction, transaction

# coordinator: the accrediting body's office, which records the committee's decisions.
ROLES = ("admin", "lead", "inspector", "coordinator")
# Werkzeug's default (scrypt) costs tens of milliseconds on purpose. Tests
# that create many users pass a cheaper method; a hash names its own method,
# so checking a password never depends on this setting.
PASSWORD_METHOD = None


def _hash(password, method=None):
    method = method or PASSWORD_METHOD
    return generate_password_hash(password, **({"method": method} if method else {}))


@functools.cache
def _dummy_hash(method):
    return _hash("not a password", method)


# The hash of a user who has no password yet (added in the browser, sent a
# set-password link): no password matches it, as no hash method starts so.
NO_PASSWORD = "!no password yet"


def has_password(user):
    return not user["password_hash"].startswith("!")


def password_matches(user, password):
    """Whether ``password`` is ``user``'s. For no user (an unknown username),
    or one with no password yet, the password is checked against a dummy hash
    made the way new passwords are, so neither answers faster than a wrong
    password would."""
    usable = user is not None and has_password(user)
    matches = check_password_hash(user["password_hash"] if usable else _dummy_hash(PASSWORD_METHOD),
                                  password[:PASSWORD_MAX + 1])
    return usable and matches


# --- usernames -----------------------------------------------------------------------

USERNAME_MAX = 64
# Letters that read as Latin ones: a name that looks like another user's is
# refused even when every letter is from one script ("асе" in Cyrillic reads
# "ace"). A small part of Unicode's confusables table (UTS #39), the letters
# that matter in practice; digits 0 and 1 read as o and l.
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "о": "o",
    "р": "p", "ԛ": "q", "с": "c", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԝ": "w", "ү": "y",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "0": "o", "1": "l",
})


def normalise_username(name):
    """The form a username is stored and looked up in: NFKC (fullwidth and
    compatibility letters become plain ones), no surrounding space, lower
    case. Only the first few hundred characters are read, so a huge name
    costs nothing."""
    return unicodedata.normalize("NFKC", name[:4 * USERNAME_MAX]).strip().lower()


def _script(char):
    # The first word of a letter's Unicode name is its script: LATIN, CYRILLIC, GREEK, ...
    return unicodedata.name(char, "UNKNOWN").split()[0]


def username_problem(name):
    """Why a (normalised) username cannot be used for a new user, or None."""
    if not name:
        return "a username is required"
    if len(name) > USERNAME_MAX:
        return f"a username has at most {USERNAME_MAX} characters"
    if not all(c in "._-" or ("0" <= c <= "9") or unicodedata.category(c).startswith("L") for c in name):
        return "a username may hold only letters, digits and . _ - (no spaces or invisible characters)"
    scripts = {_script(c) for c in name if unicodedata.category(c).startswith("L")}
    if len(scripts) > 1:
        return (f"{name!r} mixes scripts ({', '.join(sorted(s.title() for s in scripts))}): "
                f"letters that look alike could pass for another user")
    return None


def _skeleton(name):
    return name.translate(_LOOKALIKES)


# --- passwords -------------------------------------------------------------------------

# NIST SP 800-63B: length is what makes a password hard to guess, not rules
# about character classes; refuse passwords known to be common; never force
# periodic changes; allow long passphrases (at least 64 characters). Its
# revision 4 asks 15 characters of a password that is the only factor; 12 is
# what an inspector can still type on a tablet at every login.
PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # longer says nothing more and costs hashing time


@functools.cache
def _common_passwords():
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password, username):
    """Why ``password`` is not good enough for ``username``, or None."""
    if len(password) < PASSWORD_MIN:
        return f"a password needs at least {PASSWORD_MIN} characters (a few words make a good one)"
    if len(password) > PASSWORD_MAX:
        return f"a password has at most {PASSWORD_MAX} characters"
    if username and normalise_username(username) in unicodedata.normalize("NFKC", password).lower():
        return "the password must not contain the username"
    folded = password.strip().lower()
    if folded in _common_passwords() or "".join(folded.split()) in _common_passwords():
        return "that password is too common: it is among the first that guessing tries"
    return None


# --- users -------------------------------------------------------------------------------

def create(db, username, role, password, display_name=None, by=None, device="cli", email=""):
    """Add a user, recorded in the audit trail as made by the user ``by`` (an
    id; None at the command line); raise ValueError with a message a person
    can act on. ``password`` None: the user cannot log in until they choose
    one by a set-password link."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    username = normalise_username(username or "")
    problem = username_problem(username) or (password_problem(password or "", username)
                                             if password is not None else None) or email_problem(email)
    if problem:
        raise ValueError(problem)
    _refuse_taken(db, username)
    display_name = (display_name or "").strip() or username
    # slow on purpose: not while holding the write lock
    password_hash = _hash(password) if password is not None else NO_PASSWORD
    try:
        with joined_transaction(db):
            user_id = db["users"].insert({
                "username": username,
                "display_name": display_name,
                "role": role,
                "password_hash": password_hash,
                "email": (email or "").strip(),
            }).last_pk
            audit.record(db, "user.created", user_id=by, device=device, subject=username,
                         after={"role": role, "display_name": display_name, "email": (email or "").strip()})
    except sqlite3.IntegrityError as exc:  # made meanwhile by someone else
        raise ValueError(f"user {username!r} exists already") from exc
    return user_id


def email_problem(email):
    """Why ``email`` cannot be a user's address, or None ('' is none at all).
    Only its shape: whether it arrives, the mail server says."""
    email = (email or "").strip()
    if email and (email.count("@") != 1 or not all(email.split("@")) or any(c.isspace() for c in email)
                  or len(email) > 254 or "." not in email.split("@")[1]):
        return "an email address looks like name@example.org"
    return None


def name_problem(db, username):
    """Why ``username`` (as typed) cannot be a new user's: its form, or one
    taken or looking like a taken one; None when it can."""
    username = normalise_username(username or "")
    try:
        _refuse_taken(db, username)
    except ValueError as exc:
        return username_problem(username) or str(exc)
    return username_problem(username)


def _refuse_taken(db, username):
    skeleton = _skeleton(username)
    for (existing,) in db.conn.execute("SELECT username FROM users"):
        if existing == username:
            raise ValueError(f"user {username!r} exists already")
        if _skeleton(existing) == skeleton:
            raise ValueError(f"{username!r} looks like an existing user, {existing!r}: choose another name")


def _existing(db, username):
    user = by_username(db, username)
    if user is None:
        raise ValueError(f"no user {normalise_username(username)!r}")
    return user


def set_password(db, username, password, by=None, device="cli", keep_session=None):
    """Change a user's password, end their sessions (all but ``keep_session``,
    the token of the one that changed it) and their set-password and reset
    links; the audit trail records that it changed, never the password or
    its hash."""
    user = _existing(db, username)
    problem = password_problem(password or "", user["username"])
    if problem:
        raise ValueError(problem)
    _store_password(db, user, _hash(password), by, device, keep_session)


def _store_password(db, user, password_hash, by, device, keep_session=None):
    with joined_transaction(db):
        db.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user["id"]])
        audit.record(db, "user.password_changed", user_id=by, device=device, subject=user["username"])
        password_links.end_all(db, user["id"], "password changed")
        sessions.revoke_all(db, user, "password changed", by=by, device=device, keep=keep_session)


class LinkRefused(Exception):
    """A set-password or reset link that cannot be used (``why``: unknown,
    used, expired, replaced, password changed, user disabled)."""

    def __init__(self, why):
        super().__init__(why)
        self.why = why


def set_password_by_link(db, token, password, device="web"):
    """Choose a password by a set-password or reset link: the link is used up,
    the user's sessions and other links end. Returns the user; raises
    LinkRefused (audited when the link was one we issued), or ValueError for
    a password the policy refuses (the link stays usable)."""
    link, why = password_links.check(db, token)
    if why:
        if link is not None:
            password_links.refused(db, link, why, device)
        raise LinkRefused(why)
    problem = password_problem(password or "", link["username"])
    if problem:
        raise ValueError(problem)
    password_hash = _hash(password)  # slow: before the write lock
    with joined_transaction(db):
        if not password_links.use(db, link, device):
            raise LinkRefused("used")
        user = by_id(db, link["user_id"])
        _store_password(db, user, password_hash, link["user_id"], device)
    return by_id(db, link["user_id"])


def disable(db, username, by=None, device="cli"):
    """Stop a user logging in and end their sessions and password links;
    their work stays theirs. The last admin who can log in cannot be disabled."""
    user = _existing(db, username)
    if user["disabled_at"]:
        return
    with joined_transaction(db):
        # Counted under the write lock: two admins disabling each other at once cannot both succeed.
        if user["role"] == "admin" and db.conn.execute(
                "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL").fetchone()[0] <= 1:
            raise ValueError(f"{user['username']!r} is the last admin who can log in: add another admin first")
        db.conn.execute("UPDATE users SET disabled_at = ? WHERE id = ?",
                        [datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), user["id"]])
        audit.record(db, "user.disabled", user_id=by, device=device, subject=user["username"])
        sessions.revoke_all(db, user, "user disabled", by=by, device=device)
        password_links.end_all(db, user["id"], "user disabled")


def enable(db, username, by=None, device="cli"):
    """Let a disabled user log in again."""
    user = _existing(db, username)
    if not user["disabled_at"]:
        return
    with joined_transaction(db):
        db.conn.execute("UPDATE users SET disabled_at = NULL WHERE id = ?", [user["id"]])
        audit.record(db, "user.enabled", user_id=by, device=device, subject=user["username"])


def by_username(db, username):
    """The user of this name as a person may type it (any case, spaces around).
    A name stored before names were normalised is found as typed."""
    return db.conn.execute("SELECT * FROM users WHERE username IN (?, ?) ORDER BY username = ? DESC LIMIT 1",
                           [normalise_username(username), username[:USERNAME_MAX * 4].strip(),
                            normalise_username(username)]).fetchone()


def by_id(db, user_id):
    return db.conn.execute("SELECT * FROM users WHERE id = ?", [user_id]).fetchone()


def everyone(db):
    """Every user, by username: never the password's hash, only whether there is a password."""
    return db.conn.execute("SELECT id, username, display_name, role, disabled_at, email, last_login_at, "
                           "substr(password_hash, 1, 1) <> '!' AS has_password FROM users "
                           "ORDER BY username").fetchall()


def for_password_help(db, typed):
    """The users a "Forgot password?" for ``typed`` (a username, or an email
    address) sends a reset link to: those who can log in and have an address."""
    typed = (typed or "")[:4 * USERNAME_MAX].strip()
    if not typed:
        return []
    return db.conn.execute(
        "SELECT * FROM users WHERE disabled_at IS NULL AND email <> '' AND (username = ? OR lower(email) = lower(?)) "
        "ORDER BY id", [normalise_username(typed), typed]).fetchall()


# --- failed logins ------------------------------------------------------------------------

LOGIN_WINDOW_S = 300
MAX_USER_FAILURES = 5      # per username, from devices it has not logged in from
MAX_DEVICE_FAILURES = 5    # per device, for a user who logged in from it before
MAX_ADDRESS_FAILURES = 20  # per client address, whatever the username (a site's tablets may share one)


def _key(kind, value):
    # Only a hash is kept: a row is the same small size whatever was typed,
    # and the table holds no usernames or addresses.
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def begin_login_attempt(db, username, address, device=None, now=None, purpose=""):
    """Count a login attempt as failed before its password is checked, in one
    transaction with the count that decides whether it may be checked at all,
    so simultaneous guesses see each other. A ``device`` (the id of a device
    the user logged in from before) is limited on its own and passes the
    username's and the address's limits, so a stranger's guesses never lock
    the rightful user out of their own tablet. Returns (attempt, None), or
    (None, what is over its limit: "username", "address" or "device").

    ``purpose`` counts other password guesses or requests on their own, with
    the same limits: "reset" (a "Forgot password?" request, each one counted
    and never forgotten, as it sends mail), "change" (the current password
    typed to change it)."""
    now = time.time() if now is None else now
    since = now - LOGIN_WINDOW_S
    keys = {"user_key": _key(purpose + "u", normalise_username(username)),
            "address_key": _key(purpose + "a", address), "device_key": _key(purpose + "d", device) if device else None}

    def failures(column):
        return db.conn.execute(f"SELECT count(*) FROM login_failures WHERE {column} = ? AND at > ?",
                               [keys[column], since]).fetchone()[0]
    with transaction(db):
        db.conn.execute("DELETE FROM login_failures WHERE at <= ?", [since])  # old rows say nothing now
        if device:
            if failures("device_key") >= MAX_DEVICE_FAILURES:
                return None, "device"
        elif failures("user_key") >= MAX_USER_FAILURES:
            return None, "username"
        elif failures("address_key") >= MAX_ADDRESS_FAILURES:
            return None, "address"
        attempt = db.conn.execute("INSERT INTO login_failures (user_key, address_key, device_key, at) "
                                  "VALUES (?, ?, ?, ?)", [*keys.values(), now]).lastrowid
    return attempt, None


def forget_login_attempt(db, attempt):
    """An attempt whose password was never checked (the server was busy) is not a failure."""
    db.conn.execute("DELETE FROM login_failures WHERE rowid = ?", [attempt])


def login_succeeded(db, attempt, username, device=None, purpose=""):
    """The password was right: forget this attempt and the failures it
    answers (the device's own, or else the username's)."""
    with transaction(db):
        db.conn.execute("DELETE FROM login_failures WHERE rowid = ?", [attempt])
        if device:
            db.conn.execute("DELETE FROM login_failures WHERE device_key = ?", [_key(purpose + "d", device)])
        else:
            db.conn.execute("DELETE FROM login_failures WHERE user_key = ?",
                            [_key(purpose + "u", normalise_username(username))])


def new_calendar_nonce(db, user_id, by=None):
    """A new address for the user's calendar feed: the old one stops working.
    Returns the nonce the address is signed with."""
    nonce = secrets.token_hex(16)
    with joined_transaction(db):
        db.conn.execute("UPDATE users SET calendar_nonce = ? WHERE id = ?", [nonce, user_id])
        audit.record(db, "calendar.issued", user_id=by or user_id, subject=str(user_id))
    return nonce


def stop_calendar(db, user_id, by=None):
    with joined_transaction(db):
        db.conn.execute("UPDATE users SET calendar_nonce = NULL WHERE id = ?", [user_id])
        audit.record(db, "calendar.stopped", user_id=by or user_id, subject=str(user_id))
