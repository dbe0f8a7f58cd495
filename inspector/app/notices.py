"""The messages the app sends: each rendered from templates/mail/<name>.txt
and .html (plain text, and HTML as its alternative), in the inspection's
words when it has one, and queued in the outbox (inspector/domain/mail.py)
in the caller's transaction; the sender is nudged to go now. A message never
holds a private note, and a link goes only to the person it is for."""
from flask import current_app, render_template, url_for

from inspector.app import mailer
from inspector.domain import bodies, mail, password_links
from inspector.domain.db import joined_transaction


def send(db, name, to_addr, subject, *, inspection=None, dedupe=None, **context):
    """Queue the message ``name`` for ``to_addr`` (no address: nothing, None);
    its outbox id, or None when ``dedupe`` says it was queued before."""
    if not to_addr or "@" not in to_addr:
        return None
    context.update(inspection=inspection, words=bodies.words(inspection))
    message_id = mail.queue(db, to_addr, subject, render_template(f"mail/{name}.txt", **context),
                            render_template(f"mail/{name}.html", **context), kind=name,
                            inspection_id=inspection["id"] if inspection else None, dedupe=dedupe)
    if message_id:
        mailer.nudge(current_app)
    return message_id


# The two password mails: a new user's first password, and a reset.
PASSWORD_MAILS = {"set_password": "Set your password for inspector",
                  "reset_password": "Reset your password for inspector"}


def password_link(db, user, purpose, by=None, device="web"):
    """Issue a set-password or reset link for ``user`` and mail it to their
    own address, in one transaction: a link is never issued without its
    mail, nor mailed without being issued. The outbox id, or None for a
    user with no address (nothing issued). The token is in the mail only."""
    if not user["email"]:
        return None
    with joined_transaction(db):
        token = password_links.issue(db, user, purpose, by=by, device=device)
        link = url_for("account.choose_password", token=token, _external=True)
        return send(db, purpose, user["email"], PASSWORD_MAILS[purpose], user=user, link=link,
                    hours=int(password_links.LIFETIME.total_seconds() // 3600))
