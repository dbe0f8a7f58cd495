"""A user's own password: My account (change it, the current one required),
"Forgot password?" (a reset link to the address on file), and the page a
set-password or reset link opens to choose one (inspector/domain/password_links.py).

Following a link and choosing a password logs the user in: the link proved
they hold the mailbox, and the new password is theirs alone. A token is
never logged nor kept: only its hash is in the database."""
import time

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from inspector.app import notices
from inspector.app.views.auth import TOO_MANY
from inspector.domain import access, password_links, sessions, users
from inspector.domain.db import get_db

bp = Blueprint("account", __name__)

WINDOW_MINUTES = users.LOGIN_WINDOW_S // 60
# Why a link cannot be used, in the words of the page that says so.
REFUSALS = {
    "unknown": "This link is not one we sent: check that it was copied whole from the message.",
    "used": "This link has been used already: each link works once.",
    "expired": f"This link has expired: links work for {password_links.LIFETIME.days * 24} hours.",
    "replaced": "A newer link was sent after this one: use the newest message.",
    "password changed": "This link ended when the password was changed.",
    "user disabled": "This account is disabled: ask an admin.",
}


@bp.context_processor
def password_rule():
    return {"password_min": users.PASSWORD_MIN}


def _too_many(over):
    return TOO_MANY[over].format(minutes=WINDOW_MINUTES)


@bp.route("/account")
@access.login_required
def account():
    return render_template("account/account.html", errors={})


@bp.route("/account/password", methods=("POST",))
@access.login_required
def change_password():
    """Change one's own password: the current one first (its wrong guesses
    limited as logins are), then today's policy; the user's other sessions
    end, this one stays."""
    db, form, user = get_db(), request.form, g.user
    errors, status = {}, 400
    attempt, over = users.begin_login_attempt(db, user["username"], request.remote_addr or "", purpose="change")
    if over:
        errors["current_password"], status = _too_many(over), 429
    elif not users.password_matches(user, form.get("current_password", "")):
        errors["current_password"] = "That is not your current password."
    else:
        users.login_succeeded(db, attempt, user["username"], purpose="change")
        errors = _new_password_problems(form, user["username"])
        if not errors:
            users.set_password(db, user["username"], form["new_password"], by=user["id"], device="web",
                               keep_session=session.get("sid"))
            flash("Your password is changed. You are still logged in here; every other session has ended.")
            return redirect(url_for("account.account"), 303)
    return render_template("account/account.html", errors=errors), status


def _new_password_problems(form, username):
    new = form.get("new_password", "")
    problem = users.password_problem(new, username)
    if problem:
        return {"new_password": problem[0].upper() + problem[1:] + "."}
    if form.get("confirm_password", "") != new:
        return {"confirm_password": "The two passwords differ: type the same one twice."}
    return {}


@bp.route("/forgot-password", methods=("GET", "POST"))
def forgot_password():
    """Send a reset link to the address on file of the user named (by
    username or email). The answer is the same, in the same time, whether
    or not such a user exists; requests are limited per name and per
    network as failed logins are."""
    if request.method == "GET":
        return render_template("account/forgot.html", sent=False, error=None)
    started = time.monotonic()
    db, typed = get_db(), request.form.get("username", "")
    _attempt, over = users.begin_login_attempt(db, typed, request.remote_addr or "", purpose="reset")
    if over:
        return (render_template("account/forgot.html", sent=False, error=_too_many(over)), 429,
                {"Retry-After": str(users.LOGIN_WINDOW_S)})
    for user in users.for_password_help(db, typed):
        notices.password_link(db, user, "reset_password" if users.has_password(user) else "set_password")
    # Sending costs a write and a render that an unknown name does not:
    # every answer waits to the same floor, so its time tells nothing.
    time.sleep(max(0.0, started + current_app.config["PASSWORD_HELP_MIN_S"] - time.monotonic()))
    return render_template("account/forgot.html", sent=True, error=None)


@bp.route("/password/<token>", methods=("GET", "POST"))
def choose_password(token):
    """The page a set-password or reset link opens: choose a password, then
    be logged in. Opening it changes nothing (mail scanners open links)."""
    db = get_db()
    link, why = password_links.check(db, token)
    if why:
        if link is not None:
            password_links.refused(db, link, why)
        return _bad_link(why)
    errors = {}
    if request.method == "POST":
        errors = _new_password_problems(request.form, link["username"])
        if not errors:
            try:
                user = users.set_password_by_link(db, token, request.form["new_password"])
            except users.LinkRefused as refused:  # used by a request sent at the same time
                return _bad_link(refused.why)
            session.clear()
            session.permanent = True
            session["sid"] = sessions.start(db, user["id"])
            flash("Your password is set and you are logged in.")
            return redirect(url_for("inspections.home"), 303)
    return (render_template("account/choose_password.html", link=link, errors=errors),
            400 if errors else 200)


def _bad_link(why):
    return render_template("account/bad_link.html", reason=REFUSALS.get(why, REFUSALS["unknown"])), 404
