"""Signed links: the one mechanism behind the site's review link and the
program's self-assessment link (review_links, with a purpose).

A token is signed with the app's key and names the inspection, the issued
link and its nonce, never a user's session. Each purpose has its pages
under its own prefix (``/review/...``, ``/prepare/...``); a link opens only
the pages of its own purpose. Expired, revoked, tampered, other-inspection
and other-purpose links all get the same page, with no hint which it was.
"""
from urllib.parse import urlsplit

from flask import Response, abort, current_app, g, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import TooManyRequests

from inspector.domain import audit, inspections, review
from inspector.domain.db import get_db, transaction
from inspector.app import throttle

# The salt of every link's token, whatever its purpose (the purpose is the
# row's): tokens issued before links had a purpose still open their link.
SALT = "inspector site review link"
# Where each purpose's pages live.
PREFIXES = {"site_review": "review", "self_assessment": "prepare"}


def serializer(secret_key=None):
    return URLSafeSerializer(secret_key or current_app.secret_key, salt=SALT)


def init_app(app):
    config = app.config
    app.extensions["review_link_throttle"] = throttle.TokenBuckets(config["REVIEW_LINK_RATE"],
                                                                   config["REVIEW_LINK_BURST"])


def link_path(link, secret_key=None):
    """The path of an issued link (a review_links row): the inspection, the
    link's id and its nonce, signed, under its purpose's prefix."""
    token = serializer(secret_key).dumps({"i": link["inspection_id"], "l": link["id"], "n": link["nonce"]})
    return f"/{PREFIXES[link['purpose']]}/{link['inspection_id']}/{token}"


def link_url(link):
    return url_for("inspections.home", _external=True).rstrip("/") + link_path(link)


def bad_link():
    abort(Response(render_template("review/bad_link.html"), 403))


def open_link(inspection_id, token, cost=1):
    """(link, inspection) for a genuine, live, issued link of this inspection;
    else the bad-link page. Whether its purpose opens the page asking is the
    caller's (access.py). The request counts ``cost`` against the link's rate limit."""
    g.user = None  # a link's pages never act as whoever may be logged in on this browser
    try:
        data = serializer().loads(token)
    except BadSignature:
        bad_link()
    if not _spelled_as_issued(data, inspection_id, token):
        bad_link()
    if not isinstance(data, dict) or data.get("i") != inspection_id or not isinstance(data.get("l"), int):
        bad_link()
    # Counted per token we issued (the signature held), before any other work.
    wait = current_app.extensions["review_link_throttle"].take((data["l"], data.get("n")), cost)
    if wait:
        raise TooManyRequests(f"This link sent too many requests in a short time: wait {wait} seconds, "
                              f"then reload the page.", retry_after=wait)
    db = get_db()
    row = review.link(db, data["l"])
    inspection = inspections.plain(db, inspection_id)
    # The nonce: a link id is reused after a restore, the nonce never is.
    if (not review.is_issued_as(row, data.get("n")) or not review.is_live(row)
            or row["inspection_id"] != inspection_id):
        bad_link()
    g.inspection = inspection  # its body's words on the link's pages
    return row, inspection


def _spelled_as_issued(data, inspection_id, token):
    """Whether the address spells the link exactly as it was issued, one
    spelling per link. itsdangerous skips characters outside base64 (an "é"
    or a zero-width space in the signature still verifies): the token must be
    what signing ``data`` gives. The route sees the path decoded (%2E is "."):
    the request line as sent must hold the token too, where the server gives it."""
    if serializer().dumps(data) != token:
        return False
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw is None:
        return True
    path = urlsplit(raw).path.removeprefix(request.script_root)
    return path.split("/")[2:4] == [str(inspection_id), token]


def note_opened(link):
    """A link's page was opened: remembered, and in the audit trail at most once an hour."""
    db = get_db()
    if review.note_opened(db, link["id"]):
        with transaction(db):
            audit.record(db, "link.opened", inspection_id=link["inspection_id"], link_id=link["id"],
                         device=f"link{link['id']}", subject=link["issued_to"])
