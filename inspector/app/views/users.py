"""The admins' Users page: who may log in and when they last did; adding a
user (who chooses their own password by a link sent to their address, never
one the admin picks); disabling and enabling; sending a password reset.
The command line (`inspector user ...`) does the same for servers without mail."""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from inspector.app import notices
from inspector.domain import access, password_links, users
from inspector.domain.db import get_db, transaction

bp = Blueprint("users", __name__)
manage = access.capability_required(access.can_manage_users)

ROLE_LABELS = {
    "admin": "Admin: runs the office (users, inspections, mail)",
    "lead": "Team leader: leads inspections and their teams",
    "inspector": "Inspector: records findings on a team",
    "coordinator": "Coordinator: records the committee's decisions",
}


def _listing(row_errors=None, status=200):
    db = get_db()
    return render_template("users/users.html", people=users.everyone(db), invited=password_links.pending(db),
                           row_errors=row_errors or {}, role_labels=ROLE_LABELS,
                           mail_configured=current_app.extensions.get("inspector_mail") is not None), status


@bp.route("/users")
@manage
def listing():
    return _listing()


@bp.route("/users/new", methods=("GET", "POST"))
@manage
def new_user():
    if request.method == "GET":
        return render_template("users/new_user.html", form={}, errors={}, role_labels=ROLE_LABELS)
    db, form = get_db(), request.form
    email = form.get("email", "").strip()
    errors = {
        "username": users.name_problem(db, form.get("username", "")),
        "email": users.email_problem(email) if email else "an email address is needed: the link to set the "
                                                          "password goes there",
        "role": None if form.get("role") in users.ROLES else "choose a role",
    }
    errors = {field: problem for field, problem in errors.items() if problem}
    if not errors:
        try:
            with transaction(db):  # the user and their link's mail, together or not at all
                user_id = users.create(db, form["username"], form["role"], None, form.get("display_name"),
                                       by=g.user["id"], device="web", email=email)
                user = users.by_id(db, user_id)
                notices.password_link(db, user, "set_password", by=g.user["id"])
        except ValueError as exc:  # the name was taken meanwhile
            errors["username"] = str(exc)
        else:
            flash(f"Added {user['username']}. A link to set their password was sent to {email}; "
                  f"it works once, within 24 hours.")
            return redirect(url_for("users.listing"), 303)
    return render_template("users/new_user.html", form=form, errors=errors, role_labels=ROLE_LABELS), 400


def _user(user_id):
    user = users.by_id(get_db(), user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>/disable", methods=("POST",))
@manage
def disable(user_id):
    user = _user(user_id)
    try:
        users.disable(get_db(), user["username"], by=g.user["id"], device="web")
    except ValueError as exc:  # the last admin who can log in
        return _listing({user_id: str(exc)}, 409)
    flash(f"Disabled {user['username']}: their sessions have ended and they cannot log in.")
    return redirect(url_for("users.listing"), 303)


@bp.route("/users/<int:user_id>/enable", methods=("POST",))
@manage
def enable(user_id):
    user = _user(user_id)
    users.enable(get_db(), user["username"], by=g.user["id"], device="web")
    flash(f"Enabled {user['username']}: they can log in again.")
    return redirect(url_for("users.listing"), 303)


@bp.route("/users/<int:user_id>/password-link", methods=("POST",))
@manage
def send_reset(user_id):
    """A reset link to the user's own address (a set-password link to one who never chose a password)."""
    user, db = _user(user_id), get_db()
    if user["disabled_at"]:
        return _listing({user_id: "This user is disabled: enable them first."}, 409)
    if not user["email"]:
        return _listing({user_id: "No email address on file for a link: set their password at the "
                                  f"command line instead (inspector user password {user['username']})."}, 409)
    purpose = "reset_password" if users.has_password(user) else "set_password"
    notices.password_link(db, user, purpose, by=g.user["id"])
    flash(f"A link to {'reset' if purpose == 'reset_password' else 'set'} the password of {user['username']} "
          f"was sent to {user['email']}; it works once, within 24 hours.")
    return redirect(url_for("users.listing"), 303)
