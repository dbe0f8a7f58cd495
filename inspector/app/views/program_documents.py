"""The program's documents as the inspection team reads them: the page
listing them with the standards each supports, and each document served
from our own origin (a PDF in the browser's own viewer, an image as itself).

The program uploads them through its self-assessment link (stored by
``documents.store``, a PDF rebuilt by ``documents.clean_pdf`` so nothing in
it can act); the team only reads them, online or from the documents an
inspector stored on the tablet (sync/static/sw.js).
"""
from flask import Blueprint, abort, render_template

from inspector.domain import access, photos, preparation
from inspector.domain.db import get_db
from inspector.app.views import document_response, inspection_or_404

bp = Blueprint("program_documents", __name__)


@bp.route("/inspections/<int:inspection_id>/program-documents")
@access.login_required
def documents_page(inspection_id):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    return render_template("inspections/program_documents.html", inspection=ins,
                           documents=preparation.documents(db, inspection_id))


# A document is answered inline, so a PDF opens in the browser's own viewer
# (an image as itself), with the app's policy (security.CSP) as every answer
# has it, never sniffed, private. Chromium 156 shows a PDF so under the
# app's policy, `object-src 'none'` included, and even under `sandbox`
# (tests/browser/test_browser_preparation.py); Chromium before its
# out-of-process viewer showed a blocked page for a sandboxed PDF, so the
# policy does not add `sandbox`: clean_pdf already took every script and
# action out of the PDF, and the viewer runs none of ours.


@bp.route("/inspections/<int:inspection_id>/program-documents/<sha256>")
@access.login_required
def document(inspection_id, sha256):
    """One document of this inspection (the program's, or attached to an
    answer to a request for information); 404 for any other, so a hash
    learnt elsewhere opens nothing."""
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    doc = preparation.document(get_db(), ins["id"], sha256) if photos.SHA256.match(sha256) else None
    if doc is None:
        abort(404)
    return document_response(doc, inline=True)
