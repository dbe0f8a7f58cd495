"""The admins' view of the mail the app sends: who, what, and how it went."""
from flask import Blueprint, current_app, render_template

from inspector.domain import access, mail
from inspector.domain.db import get_db

bp = Blueprint("emails", __name__)


@bp.route("/emails")
@access.capability_required(access.can_read_mail)
def emails():
    db = get_db()
    return render_template("emails/emails.html", messages=mail.listing(db), waiting=mail.waiting(db),
                           configured=current_app.extensions.get("inspector_mail") is not None)
