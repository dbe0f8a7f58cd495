"""Logging in and out."""
import secrets
import threading
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_wtf.csrf import ValidationError, validate_csrf
from itsdangerous import BadSignature, URLSafeSerializer

from inspector.domain import access, inspections, sessions, users
from inspector.domain.db import get_db
from inspector.app.extensions import csrf

bp = Blueprint("auth", __name__)
MAX_LOGIN_FAILURES = users.MAX_USER_FAILURES
MAX_ADDRESS_FAILURES = users.MAX_ADDRESS_FAILURES
LOGIN_WINDOW_S = users.LOGIN_WINDOW_S
# A password check (scrypt) holds 32 MiB for its tens of milliseconds:
# LOGIN_CONCURRENT_CHECKS of them run at once per server process, a login
# beyond them waits this long for a turn, then is asked to retry (503).
CHECK_WAIT_S = 0.5
# A device a user logged in from is remembered in a signed cookie sent only
# to /login: it passes the username's lock (see users.begin_login_attempt).
DEVICE_COOKIE = "inspector_device"
DEVICE_USERS_KEPT = 20  # a shared tablet remembers this many users


@bp.record_once
def _password_check_slots(state):
    state.app.extensions["login_checks"] = threading.BoundedSemaphore(state.app.config["LOGIN_CONCURRENT_CHECKS"])


@bp.before_app_request
def load_user():
    token = session.get("sid")
    g.user = sessions.user_for(get_db(), token) if token is not None else None
    if g.user is None and ("sid" in session or "user_id" in session):
        session.clear()  # revoked, expired, or a cookie from before sessions were kept


def _landing(db, user):
    """Where a login without a ``next`` lands: a team leader whose team is
    merging findings lands on that inspection's merge screen; others at home."""
    merging = [i for i in inspections.listed_for(db, user) if i["state"] == "merging" and access.can_merge(user, i)]
    if len(merging) == 1:
        return url_for("merge.merge_screen", inspection_id=merging[0]["id"])
    return url_for("inspections.home")


def _safe_next(target, default):
    # Only local paths: never redirect off-site after login. Browsers read a
    # backslash as a slash and drop tabs and newlines, so "/\\evil.example"
    # and "/\t/evil.example" are as off-site as "//evil.example".
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default


def _device_serializer():
    return URLSafeSerializer(current_app.secret_key, salt="known-device")


def _device():
    """(device id, ids of users who logged in from it) from the device cookie."""
    try:
        value = _device_serializer().loads(request.cookies.get(DEVICE_COOKIE, ""))
        return str(value["d"]), [int(u) for u in value["u"]]
    except (BadSignature, KeyError, TypeError, ValueError):
        return secrets.token_urlsafe(16), []


def _remember_device(response, device_id, user_ids, user_id):
    kept = ([u for u in user_ids if u != user_id] + [user_id])[-DEVICE_USERS_KEPT:]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps({"d": device_id, "u": kept}),
                        max_age=365 * 86400, path=url_for("auth.login"), httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))


TOO_MANY = {
    "username": "Too many failed attempts for this username from a new device: wait {minutes} minutes, "
                "or log in from a tablet you have used before.",
    "address": "Too many failed attempts from this network: wait {minutes} minutes and try again.",
    "device": "Too many failed attempts on this device: wait {minutes} minutes and try again.",
}


@bp.route("/login", methods=("GET", "POST"))
def login():
    error, status, headers = None, 200, {}
    if request.method == "POST":
        db = get_db()
        typed = request.form.get("username", "")
        username = users.normalise_username(typed)
        password = request.form.get("password", "")
        user = users.by_username(db, typed)
        device_id, device_users = _device()
        known = user is not None and user["id"] in device_users
        # Counted as failed before the password is checked, in the same
        # transaction as the count: guesses sent together see each other.
        attempt, over = users.begin_login_attempt(db, username, request.remote_addr or "",
                                                  device_id if known else None)
        if over:
            error, status = TOO_MANY[over].format(minutes=LOGIN_WINDOW_S // 60), 429
            headers["Retry-After"] = str(LOGIN_WINDOW_S)
        elif not current_app.extensions["login_checks"].acquire(timeout=CHECK_WAIT_S):
            users.forget_login_attempt(db, attempt)
            error, status = "The server is busy checking other logins: try again in a moment.", 503
            headers["Retry-After"] = "2"
        else:
            try:
                ok = users.password_matches(user, password)
            finally:
                current_app.extensions["login_checks"].release()
            if user and ok and user["disabled_at"]:
                error, status = "This account is disabled: ask an admin.", 403
            elif user and ok:
                users.login_succeeded(db, attempt, username, device_id if known else None)
                session.clear()
                session.permanent = True
                session["sid"] = sessions.start(db, user["id"])
                response = redirect(_safe_next(request.args.get("next"), _landing(db, user)))
                _remember_device(response, device_id, device_users, user["id"])
                return response
            else:
                error, status = "Unknown username or wrong password.", 401
    return render_template("auth/login.html", error=error), status, headers


@bp.route("/logout", methods=("POST",))
@csrf.exempt
def logout():
    """Log out. The page's script posts with the sync header (a form token in
    a page cached hours ago may belong to an earlier session); a plain form
    post must carry a valid CSRF token."""
    if not _logout_is_same_site():
        abort(400, description="Log out from this site's own pages.")
    if session.get("sid"):
        sessions.end(get_db(), session["sid"], g.user, device="web")
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))


def _logout_is_same_site():
    if request.headers.get("X-Inspector-Sync") == "1" and \
            request.headers.get("Sec-Fetch-Site") in (None, "same-origin"):
        return True
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True
