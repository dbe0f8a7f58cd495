"""A personal calendar of deadlines (/calendar.ics) for a phone's calendar
app, which cannot log in: its address is signed and names the user and a
nonce kept on the server, so stopping the feed (or issuing a new address)
ends the old address at once. Issued and stopped from the home page."""
import hmac
from datetime import datetime, timezone

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from inspector.domain import deadlines, inspections, users
from inspector.domain.db import get_db, transaction
from inspector.domain import access

bp = Blueprint("calendar", __name__)
SALT = "inspector calendar feed"


def _serializer():
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def feed_url(user):
    """The address of the user's feed, or None when they have none."""
    if not user["calendar_nonce"]:
        return None
    token = _serializer().dumps({"u": user["id"], "n": user["calendar_nonce"]})
    return url_for("calendar.feed", t=token, _external=True)


@bp.route("/calendar.ics")
def feed():
    try:
        data = _serializer().loads(request.args.get("t", ""))
    except BadSignature:
        abort(404)
    user = users.by_id(get_db(), data.get("u")) if isinstance(data, dict) else None
    if user is None or user["disabled_at"] or not user["calendar_nonce"] \
            or not hmac.compare_digest(str(data.get("n")), user["calendar_nonce"]):
        abort(404)
    db = get_db()
    pairs = deadlines.for_user(db, user, inspections.listed_for(db, user))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    response = Response(deadlines.ical(pairs, stamp, user), mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/calendar", methods=("POST",))
@access.login_required
def manage():
    """Issue a new feed address (the old one stops), or stop the feed."""
    db = get_db()
    with transaction(db):
        if request.form.get("action") == "stop":
            users.stop_calendar(db, g.user["id"])
            flash("Your calendar feed is stopped: its address no longer works.")
        else:
            users.new_calendar_nonce(db, g.user["id"])
            flash("Your calendar feed has a new address (any old one no longer works): add it to your calendar.")
    return redirect(url_for("inspections.home") + "#calendar")
