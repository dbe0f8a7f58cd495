"""Reading evidence photos (uploads go through the sync API)."""
from flask import Blueprint, abort, current_app, g, request, send_file

from inspector.domain import access, findings, photos
from inspector.domain.db import get_db

bp = Blueprint("photos", __name__)


@bp.route("/photos/<sha256>")
@access.login_required
def photo(sha256):
    """The photo (``?size=thumb`` for its thumbnail), to those access allows."""
    db = get_db()
    if not photos.SHA256.match(sha256) or not access.can_view_photo(
            g.user, photos.uploaded_by(db, sha256, g.user["id"]), findings.photo_attachments(db, sha256, g.user)):
        abort(404)
    path = photos.blob_path(current_app.config["DATA_DIR"], sha256, thumb=request.args.get("size") == "thumb")
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
