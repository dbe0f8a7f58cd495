"""Logging in and out."""
import functools
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import ValidationError, validate_csrf
from werkzeug.security import check_password_hash, generate_password_hash

from .. import access, inspections, users
from ..db import get_db
from ..extensions import csrf

bp = Blueprint("auth", __name__)
MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 300


@functools.cache
def _dummy_hash():
    # Checked against when the username is unknown, so a wrong username costs
    # the same time as a wrong password.
    return generate_password_hash("not a password")


@bp.before_app_request
def load_user():
    user_id = session.get("user_id")
    g.user = users.by_id(get_db(), user_id) if user_id is not None else None


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


@bp.route("/login", methods=("GET", "POST"))
def login():
    error, status = None, 200
    if request.method == "POST":
        db = get_db()
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if users.recent_login_failures(db, username, LOGIN_WINDOW_S) >= MAX_LOGIN_FAILURES:
            # Checked before the password, so guessing gains nothing meanwhile.
            error, status = (f"Too many failed attempts for this username: wait "
                             f"{LOGIN_WINDOW_S // 60} minutes and try again."), 429
        else:
            user = users.by_username(db, username)
            ok = check_password_hash(user["password_hash"] if user else _dummy_hash(), password)
            if user and ok:
                users.clear_login_failures(db, username)
                session.clear()
                session.permanent = True
                session["user_id"] = user["id"]
                return redirect(_safe_next(request.args.get("next"), _landing(db, user)))
            users.record_login_failure(db, username)
            error, status = "Unknown username or wrong password.", 401
    return render_template("auth/login.html", error=error), status


@bp.route("/logout", methods=("POST",))
@csrf.exempt
def logout():
    """Log out. The page's script posts with the sync header (a form token in
    a page cached hours ago may belong to an earlier session); a plain form
    post must carry a valid CSRF token."""
    if not _logout_is_same_site():
        abort(400, description="Log out from this site's own pages.")
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
