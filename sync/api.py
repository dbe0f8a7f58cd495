"""The sync API: push ops, pull changes, upload photos by hash.

The JSON API is authenticated by the session cookie alone, never by a token
baked into a page (a page cached in the morning is used all afternoon). It is
defended against cross-site requests by a custom header, which a cross-site
form cannot send and a cross-site fetch cannot send without a CORS preflight
we never grant, plus the browser's Sec-Fetch-Site / Origin.
"""
from urllib.parse import urlsplit

import orjson
from flask import Blueprint, current_app, g, jsonify, request

from inspector.domain import access, inspections, photos
from inspector.domain.db import get_db

from . import protocol

bp = Blueprint("sync", __name__, static_folder="static", static_url_path="/sync/static")
SYNC_HEADER = "X-Inspector-Sync"
USER_HEADER = "X-Inspector-User"


def answer(payload):
    """A JSON answer written by orjson: a push's answer holds a result per op
    and a pull's every changed row (a 200-op push's answer: 174 us through
    Flask's jsonify, json with keys sorted; 7 us so)."""
    return current_app.response_class(orjson.dumps(payload), mimetype="application/json")


def error(status, code, message, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


@bp.before_request
def same_site_only():
    if request.endpoint == "sync.static":
        return None
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site not in (None, "same-origin", "none") or (origin and not _same_host(origin)):
        return error(403, "cross_site", "Sync requests must come from this site's own pages.")
    if request.headers.get(SYNC_HEADER) != "1":
        return error(400, "missing_header", f"Sync requests must carry the header {SYNC_HEADER}: 1.")
    # On a shared tablet a tab left open for one inspector must never push
    # their ops under the next inspector's session: the client says whose
    # outbox it is sending from.
    claimed = request.headers.get(USER_HEADER)
    if claimed and g.user is not None and claimed != str(g.user["id"]):
        return error(409, "wrong_user", "Another user is logged in on this device: log in again as the "
                                        "inspector who made these changes to sync them.")
    return None


def _same_host(origin):
    """Whether an Origin header names this server. The host is compared, not
    the scheme: behind the HTTPS proxy the README recommends (Caddy), the page
    is https:// while the app itself is reached over http://."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


@bp.route("/sync/push", methods=("POST",))
@access.api_login_required
def push():
    if not request.is_json:
        return error(400, "malformed_batch", 'The body must be JSON (Content-Type: application/json): {"ops": [...]}.')
    limit = current_app.config["SYNC_MAX_PUSH_BYTES"]
    try:
        body = protocol.decoded_body(request.get_data(cache=False), request.headers.get("Content-Encoding"), limit)
        result = protocol.push(get_db(), g.user, protocol.parse_body(body))
    except protocol.UnsupportedEncoding as exc:
        return error(415, "unsupported_encoding",
                     f"The body's Content-Encoding {str(exc)[:40]!r} is not read here: send it as gzip or uncompressed.")
    except protocol.BodyTooLarge:
        return error(413, "too_large", f"The batch is larger than {limit:,} bytes once decompressed; "
                                       "nothing was saved: send fewer ops at a time.")
    except protocol.TooManyMembers:
        return error(400, "too_many_members", f"The gzip body holds more than {protocol.MAX_GZIP_MEMBERS} members; "
                                              "nothing was saved: send it as one gzip stream.")
    except protocol.BatchError as exc:
        return error(400, "malformed_batch", str(exc))
    except protocol.Forbidden as exc:
        return error(403, "not_a_member", "You are not on the team of this inspection; nothing was saved.",
                     op_ids=exc.op_ids)
    # Only counts are logged: never a note or a photo.
    current_app.logger.info("push user=%s ops=%d", g.user["id"], len(result["results"]))
    return answer(result)


@bp.route("/sync/pull")
@access.api_login_required
def pull():
    db = get_db()
    inspection = inspections.for_user(db, g.user, request.args.get("inspection", type=int) or 0)
    if not access.can_read_inspection(g.user, inspection):
        return error(404, "no_such_inspection", "No inspection of yours has that id.")
    cursor = request.args.get("cursor", default=0, type=int)
    # The asking device, so its own edits are not sent back (docs/sync-protocol.md, Pull).
    device = request.args.get("device")
    if device is not None and not protocol.DEVICE_ID.fullmatch(device):
        return error(400, "bad_device", "device must be the device's id: 1-64 letters, digits, '_' or '-'.")
    return answer(protocol.pull(db, g.user, inspection, max(cursor, 0), device))


@bp.route("/sync/photos/<sha256>", methods=("PUT",))
@access.api_login_required
def upload_photo(sha256):
    if not photos.SHA256.match(sha256):
        return error(400, "bad_hash", "The address must end with the photo's sha256 in lowercase hex.")
    length = request.content_length
    if length is not None and length > photos.MAX_BYTES:
        return error(413, "too_large", f"The photo is larger than {photos.MAX_BYTES // (1024 * 1024)} MB.")
    try:
        raw = request.get_data(cache=False)
    except Exception:  # the client went away mid-upload
        return error(400, "truncated", "The upload was cut short; send it again.")
    if length is not None and len(raw) != length:
        return error(400, "truncated", "The upload was cut short; send it again.")
    db = get_db()
    try:
        # Not in a transaction here: store() decodes the photo first and
        # takes the write lock only to record it.
        row = photos.store(db, current_app.config["DATA_DIR"], g.user["id"], sha256, raw)
    except photos.PhotoError as exc:
        return error(exc.status, exc.code, str(exc))
    current_app.logger.info("photo stored user=%s bytes=%d", g.user["id"], row["bytes"])
    return jsonify(sha256=sha256, width=row["width"], height=row["height"], bytes=row["bytes"]), 201
