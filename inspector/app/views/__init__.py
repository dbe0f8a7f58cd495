"""The app's blueprints, one module per area (the app factory registers
them all; docs/architecture.md says what each serves), and the lookups they
share."""
from flask import Response, abort, current_app, g

from inspector.domain import access, documents
from inspector.domain.inspections import for_user
from inspector.domain.db import get_db


def inspection_or_404(inspection_id, capability=access.can_view_inspection):
    """The inspection as the current user sees it, if ``capability`` allows;
    else 404, so nobody learns which other inspections exist."""
    inspection = for_user(get_db(), g.user, inspection_id)
    if inspection is None or not capability(g.user, inspection):
        abort(404)
    g.inspection = inspection  # its verdict scale labels the page (see the app factory)
    return inspection


def found_or_404(row):
    """The row, or a 404 if the lookup found nothing."""
    if row is None:
        abort(404)
    return row


def document_response(doc, inline=False):
    """A stored document (its ``documents`` row) as a private response: a
    download by default; ``inline`` for the team, whose browser shows a PDF
    in its own viewer (documents are rebuilt without scripts or actions on
    upload: docs/security.md)."""
    path = documents.blob_path(current_app.config["DATA_DIR"], doc["sha256"])
    response = Response(path.read_bytes(), mimetype=documents.KINDS[doc["kind"]])
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{doc["filename"]}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
