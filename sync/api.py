"""The sync API: push ops, pull changes, upload and read photos by hash, and
the service worker and offline manifest that pair with them.

The JSON API is authenticated by the session cookie alone, never by a token
baked into a page (a page cached in the morning is used all afternoon). It is
defended against cross-site requests by a custom header, which a cross-site
form cannot send and a cross-site fetch cannot send without a CORS preflight
we never grant, plus the browser's Sec-Fetch-Site / Origin.
"""
import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, jsonify, request, send_file, url_for

from inspector import photos, queries
from inspector.auth import api_login_required, login_required
from inspector.db import get_db, transaction

from . import protocol

bp = Blueprint("sync", __name__, static_folder="static", static_url_path="/sync/static")
STATIC = Path(__file__).resolve().parent / "static"
# The app shell the service worker stores at install: everything a cached
# page needs to run offline.
SHELL = [
    ("static", "css/app.css"), ("static", "js/app.js"), ("static", "js/photos.js"),
    ("static", "vendor/htmx-2.0.11.min.js"), ("static", "vendor/idb-8.0.3.js"),
    ("static", "icons/icon-192.png"), ("static", "icons/icon-512.png"),
    ("sync.static", "outbox.js"),
]
SYNC_HEADER = "X-Inspector-Sync"
USER_HEADER = "X-Inspector-User"


def _error(status, code, message, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


@bp.before_request
def same_site_only():
    if request.endpoint in ("sync.service_worker", "sync.web_manifest", "sync.static"):
        return None
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site not in (None, "same-origin", "none") or (origin and not _same_host(origin)):
        return _error(403, "cross_site", "Sync requests must come from this site's own pages.")
    if request.headers.get(SYNC_HEADER) != "1" and request.endpoint not in ("sync.photo", "sync.offline_manifest"):
        return _error(400, "missing_header", f"Sync requests must carry the header {SYNC_HEADER}: 1.")
    # On a shared tablet a tab left open for one inspector must never push
    # their ops under the next inspector's session: the client says whose
    # outbox it is sending from.
    claimed = request.headers.get(USER_HEADER)
    if claimed and g.user is not None and claimed != str(g.user["id"]):
        return _error(409, "wrong_user", "Another user is logged in on this device: log in again as the "
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
@api_login_required
def push():
    batch = request.get_json(silent=True)
    if batch is None:
        return _error(400, "malformed_batch", "The body must be JSON: {\"ops\": [...]}.")
    try:
        result = protocol.push(get_db(), g.user, batch, crash_after=current_app.config.get("CRASH_AFTER_OPS"))
    except protocol.BatchError as exc:
        return _error(400, "malformed_batch", str(exc))
    except protocol.Forbidden as exc:
        return _error(403, "not_a_member", "You are not on the team of this inspection; nothing was saved.",
                      op_ids=exc.op_ids)
    # Only counts are logged: never a note or a photo.
    current_app.logger.info("push user=%s ops=%d", g.user["id"], len(result["results"]))
    return jsonify(result)


@bp.route("/sync/pull")
@api_login_required
def pull():
    db = get_db()
    inspection = queries.inspection_for(db, g.user, request.args.get("inspection", type=int) or 0)
    if inspection is None:
        return _error(404, "no_such_inspection", "No inspection of yours has that id.")
    cursor = request.args.get("cursor", default=0, type=int)
    return jsonify(protocol.pull(db, g.user, inspection, max(cursor, 0)))


@bp.route("/sync/photos/<sha256>", methods=("PUT",))
@api_login_required
def upload_photo(sha256):
    if not protocol.SHA256.match(sha256):
        return _error(400, "bad_hash", "The address must end with the photo's sha256 in lowercase hex.")
    length = request.content_length
    if length is not None and length > photos.MAX_BYTES:
        return _error(413, "too_large", f"The photo is larger than {photos.MAX_BYTES // (1024 * 1024)} MB.")
    try:
        raw = request.get_data(cache=False)
    except Exception:  # the client went away mid-upload
        return _error(400, "truncated", "The upload was cut short; send it again.")
    if length is not None and len(raw) != length:
        return _error(400, "truncated", "The upload was cut short; send it again.")
    db = get_db()
    try:
        with transaction(db):
            row = photos.store(db, current_app.config["DATA_DIR"], g.user["id"], sha256, raw)
    except photos.PhotoError as exc:
        return _error(exc.status, exc.code, str(exc))
    current_app.logger.info("photo stored user=%s bytes=%d", g.user["id"], row["bytes"])
    return jsonify(sha256=sha256, width=row["width"], height=row["height"], bytes=row["bytes"]), 201


@bp.route("/sync/photos/<sha256>")
@login_required
def photo(sha256):
    return _send_photo(sha256, thumb=request.args.get("size") == "thumb")


def _send_photo(sha256, thumb):
    if not protocol.SHA256.match(sha256) or not queries.may_read_photo(get_db(), g.user, sha256):
        abort(404)
    path = photos.blob_path(current_app.config["DATA_DIR"], sha256, thumb=thumb)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/inspections/<int:inspection_id>/offline-manifest")
@login_required
def offline_manifest(inspection_id):
    """Every URL the inspector may open for this inspection, for the service
    worker to cache when they take it offline."""
    db = get_db()
    ins = queries.inspection_for(db, g.user, inspection_id)
    if ins is None:
        abort(404)
    codes = queries.standard_codes_for(db, g.user, ins)
    pages = [url_for("inspections.home"), url_for("inspections.inspection", inspection_id=inspection_id)]
    pages += [url_for("inspections.section", inspection_id=inspection_id, code=s)
              for s in dict.fromkeys(section for _, section in codes)]
    pages += [url_for("inspections.standard", inspection_id=inspection_id, code=c) for c, _ in codes]
    thumbs = [url_for("sync.photo", sha256=r[0], size="thumb") for r in db.conn.execute(
        "SELECT sha256 FROM finding_photos WHERE inspection_id = ? AND inspector_id = ? AND attached = 1",
        [inspection_id, g.user["id"]])]
    return jsonify(inspection_id=inspection_id, user_id=g.user["id"], pages=pages, photos=thumbs)


@bp.route("/sw.js")
def service_worker():
    # Browsers ask for the worker on every navigation: build it once per process
    # (a deploy restarts the process, which gives the new version).
    body = current_app.extensions.get("inspector_sw")
    if body is None:
        urls, digest = _shell()
        body = (STATIC / "sw.js").read_text().replace("__VERSION__", digest).replace("__SHELL__", json.dumps(urls))
        current_app.extensions["inspector_sw"] = body
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _shell():
    """Shell URLs and a hash of their contents: the service worker's version."""
    h = hashlib.sha256((STATIC / "sw.js").read_bytes())
    urls = []
    for endpoint, filename in SHELL:
        folder = current_app.static_folder if endpoint == "static" else STATIC
        h.update((Path(folder) / filename).read_bytes())
        urls.append(url_for(endpoint, filename=filename))
    return urls + [url_for("sync.web_manifest")], h.hexdigest()[:16]


@bp.route("/manifest.webmanifest")
def web_manifest():
    icon = lambda size: {"src": url_for("static", filename=f"icons/icon-{size}.png"),  # noqa: E731
                         "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
    response = jsonify(name="inspector: IEC inspections", short_name="inspector", start_url="/",
                       display="standalone", background_color="#ffffff", theme_color="#0b5394",
                       icons=[icon(192), icon(512)])
    response.mimetype = "application/manifest+json"
    return response
