"""Before the visit: the program's self-assessment by its signed link, and
the lead's page that issues those links and follows the program's progress.

The program, with no account, opens its self-assessment link
(``/prepare/<inspection>/<token>``, signed as inspector/app/links.py says):
a page per section of the checklist with each standard's self-assessed
verdict, how it complies and the documents that show it; its documents
(uploaded once, each linked to any number of standards); the inspectors'
requests for information, answered with text and documents. Every write is
an op in the same log as the inspectors' (sync/forms.py), with the link as
its actor, sending only what changed since the form was shown. A bad link,
or a site review link, gets the one bad-link page.
"""
import uuid

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from sync import fields, forms

from inspector.domain import access, catalog, documents, inspections, photos, preparation, review
from inspector.domain.catalog import jump_key
from inspector.domain.db import get_db, transaction
from inspector.app import links
from inspector.app.views import document_response, inspection_or_404

bp = Blueprint("preparation", __name__)

# What each refusal of an upload answers (a file that is not a document says its own).
UPLOAD_REFUSALS = {"not_this_inspection": 403, "wrong_link": 403, "inspection_state": 409,
                   "quota_documents": 403, "quota_bytes": 403}
# An upload counts as this many requests against the link's rate limit (as the site's: views/review.py).
UPLOAD_COST = 10
MAX_TITLE, MAX_VERSION = 200, 50


def _text(value, limit=200):
    """A form's text as it can be stored and shown again: a lone surrogate
    (which a hostile client may send) becomes "?", and it is cut to ``limit``."""
    return (value or "").encode("utf-8", "replace").decode("utf-8").strip()[:limit]


def _section_code(db, ins, value):
    """``value`` if it names a section of the inspection's checklist, else None."""
    code = _text(value, 64)
    return code if code and catalog.section(db, ins["catalog_id"], code) else None


def _program(inspection_id, token, cost=1):
    """(link, inspection) for a genuine, live self-assessment link of this
    inspection, from preparing to the end of the visit; else the bad-link page."""
    row, inspection = links.open_link(inspection_id, token, cost)
    if not access.prepare_view_ok(row, inspection):
        links.bad_link()
    return row, inspection


def _page_args(link, ins, token):
    """What every page of the program's link shows: the link, what it may write now, and why not."""
    refused = access.prepare_refusal(link, ins, "self_verdict") or preparation.read_only(ins)
    return {"inspection": ins, "link": link, "token": token, "editable": refused is None,
            "read_only_why": refused.reason if refused else "",
            "takes_documents": access.prepare_refusal(link, ins, "crosswalk") is None,
            "answers": access.prepare_refusal(link, ins, "rfi_answer") is None,
            "op_id": lambda: str(uuid.uuid4())}


# --- the program ---------------------------------------------------------------------

@bp.route("/prepare/<int:inspection_id>/<token>")
def program(inspection_id, token):
    """The self-assessment's front page: progress per section, open requests, submission."""
    link, ins = _program(inspection_id, token)
    db = get_db()
    links.note_opened(link)
    sections = preparation.progress(db, ins)
    return render_template("preparation/program.html", sections=sections,
                           assessed=sum(s["assessed"] for s in sections), total=sum(s["total"] for s in sections),
                           requests=[r for r in preparation.requests(db, inspection_id) if not r["closed"]],
                           section_of=dict(catalog.standards_in_sections(db, ins["catalog_id"])),
                           can_submit=preparation.submit_refusal(link, ins) is None,
                           **_page_args(link, ins, token))


@bp.route("/prepare/<int:inspection_id>/<token>/sections/<code>")
def program_section(inspection_id, token, code):
    link, ins = _program(inspection_id, token)
    return _section_page(link, ins, token, code)


def _section_page(link, ins, token, code, upload_error=None, typed=None, status=200):
    """A section's form; ``upload_error`` ({slot, message}) is shown next to
    that upload control, with what was ``typed`` for it kept."""
    db = get_db()
    sections = preparation.progress(db, ins)
    index = next((n for n, s in enumerate(sections) if s["code"] == code), None)
    if index is None:
        abort(404)
    requests_by_standard = {}
    for r in preparation.requests(db, ins["id"]):
        if not r["closed"] or r["answered"]:
            requests_by_standard.setdefault(r["standard_code"], []).append(r)
    return render_template(
        "preparation/section.html", section=sections[index], sections=sections,
        previous=sections[index - 1] if index else None,
        next=sections[index + 1] if index + 1 < len(sections) else None,
        standards=preparation.section_standards(db, ins, code),
        linked=preparation.documents_by_standard(db, ins["id"]), all_documents=preparation.documents(db, ins["id"]),
        requests=requests_by_standard, upload_error=upload_error, typed=typed or {},
        **_page_args(link, ins, token)), status


@bp.route("/prepare/<int:inspection_id>/<token>/sections/<code>", methods=("POST",))
def program_section_save(inspection_id, token, code):
    """Save draft: only the fields changed since the form was shown."""
    link, ins = _program(inspection_id, token)
    db = get_db()
    code = _section_code(db, ins, code)
    if code is None:
        abort(404)
    _, refused = forms.write(db, forms.self_assessment(request.form, inspection_id), link=link)
    if refused:
        flash("Some changes could not be saved: " + "; ".join(sorted({r["reason"] for r in refused})))
    else:
        flash("Draft saved. You can come back to it with the same link.")
    target = _section_code(db, ins, request.form.get("then")) or code  # Save and go to the next section
    return redirect(url_for(".program_section", inspection_id=inspection_id, token=token, code=target))


@bp.route("/prepare/<int:inspection_id>/<token>/submit", methods=("POST",))
def program_submit(inspection_id, token):
    link, ins = _program(inspection_id, token)
    db = get_db()
    with transaction(db):
        ins = inspections.plain(db, inspection_id)  # under the write lock: the state may have moved
        refusal = preparation.submit_refusal(link, ins)
        if refusal is None:
            preparation.submit(db, ins, link["id"])
    if refusal:
        flash("Not submitted: " + refusal.reason)
        return redirect(url_for(".program", inspection_id=inspection_id, token=token)), 303
    flash("Your self-assessment is submitted. The inspectors will read it before the visit.")
    return redirect(url_for(".program", inspection_id=inspection_id, token=token))


@bp.route("/prepare/<int:inspection_id>/<token>/documents")
def program_documents(inspection_id, token):
    link, ins = _program(inspection_id, token)
    return _documents_page(link, ins, token)


def _documents_page(link, ins, token, upload_error=None, typed=None, standards_error=None, status=200):
    """The program's documents with the standards each supports; an error is
    shown next to the control that caused it, with what was typed kept."""
    db = get_db()
    return render_template("preparation/documents.html", documents=preparation.documents(db, ins["id"]),
                           upload_error=upload_error, typed=typed or {}, standards_error=standards_error or {},
                           **_page_args(link, ins, token)), status


def _typed_codes(db, ins, text):
    """(codes, unknown) of the standard codes typed (commas or spaces between
    them), matched as the jump box matches them (case and spaces aside)."""
    known = {jump_key(code): code for code, _ in catalog.standards_in_sections(db, ins["catalog_id"])}
    codes, unknown = [], []
    for word in text.replace(",", " ").replace(";", " ").split():
        code = known.get(jump_key(word))
        (codes if code else unknown).append(code or word)
    return codes, unknown


@bp.route("/prepare/<int:inspection_id>/<token>/documents/<sha256>/standards", methods=("POST",))
def program_document_standards(inspection_id, token, sha256):
    """The standards one document supports: those ticked, and codes typed."""
    link, ins = _program(inspection_id, token)
    db = get_db()
    if not photos.SHA256.match(sha256) or not preparation.has_document(db, inspection_id, sha256):
        abort(404)
    form = request.form
    typed = _text(form.get("add"), 2000)
    codes, unknown = _typed_codes(db, ins, typed)
    if unknown:
        return _documents_page(link, ins, token, typed={sha256: typed},
                               standards_error={sha256: "Not standards of this checklist: " + ", ".join(unknown)
                                                + ". Nothing was changed."}, status=400)
    shown = set(form.getlist("was-standard"))
    now = set(form.getlist("standard")) | set(codes)
    changes = {code: ({sha256} if code in shown else set(), {sha256} if code in now else set())
               for code in shown | now}
    _, refused = forms.write(db, forms.crosswalk(inspection_id, changes), link=link)
    flash("Not saved: " + refused[0]["reason"] if refused else "The document's standards are saved.")
    return redirect(url_for(".program_documents", inspection_id=inspection_id, token=token) + f"#doc-{sha256[:12]}")


@bp.route("/prepare/<int:inspection_id>/<token>/upload", methods=("POST",))
def program_upload(inspection_id, token):
    """Upload a document once, with its title and version, linked to a
    standard (from a section's form), to the standards typed (from the
    documents page) or attached to the answer to a request for information.
    From a section's form, what was typed anywhere on it is saved first as a
    draft, so attaching a file loses no typing. Whatever can refuse the file
    is asked before it is kept: the link's state rule, its quota, the file."""
    link, ins = _program(inspection_id, token, UPLOAD_COST)
    db = get_db()
    form = request.form
    slot = _text(form.get("attach") or "new", 64)  # a standard's code, "rfi-<request id>", or "new" (documents page)
    section = _section_code(db, ins, form.get("section")) if form.get("section") else None
    if form.get("section") and section is None:
        abort(400, description="That is not a section of this checklist.")
    if section:
        forms.write(db, forms.self_assessment(form, inspection_id), link=link)
    typed = {"slot": slot, "title": _text(form.get(f"title-{slot}"), MAX_TITLE),
             "version": _text(form.get(f"version-{slot}"), MAX_VERSION), "standards": _text(form.get("standards"), 2000)}
    request_id = slot[4:] if slot.startswith("rfi-") else None
    if request_id is not None and fields.REQUEST_ID.check(request_id):
        abort(400, description="That is not a request for information.")
    field = "rfi_document" if request_id else "crosswalk"

    def refused(message, status):
        message = message[:1].upper() + message[1:].rstrip(".") + "."
        error = {"slot": slot, "message": message}
        if section:
            return _section_page(link, ins, token, section, error, typed, status)
        return _documents_page(link, ins, token, error, typed, status=status)

    if section and not request_id and slot not in catalog.standard_codes(db, ins["catalog_id"], [slot]):
        abort(400, description="That is not a standard of this checklist.")
    codes, unknown = _typed_codes(db, ins, typed["standards"]) if not section else ([slot] if not request_id
                                                                                    else [], [])
    if unknown:
        return refused("Not standards of this checklist: " + ", ".join(unknown) + ". Correct them, then choose "
                       "the file again", 400)
    config = current_app.config
    quota = (config["REVIEW_LINK_MAX_DOCUMENTS"], config["REVIEW_LINK_MAX_DOCUMENT_BYTES"])
    refusal = preparation.upload_refusal(link, ins, field, 0, quota)
    if refusal:
        return refused(refusal.reason, UPLOAD_REFUSALS[refusal.code])
    upload = request.files.get(f"document-{slot}")
    if upload is None or not upload.filename:
        return refused("Choose a file to upload (PDF, JPEG or PNG)", 400)
    try:
        # Parsed and cleaned before the write lock is taken: a large PDF never holds up the tablets' pushes.
        kind, kept = documents.check(upload.stream.read(documents.MAX_BYTES + 1))
    except documents.DocumentError as exc:
        return refused(f"{str(exc).rstrip('.')}. Choose the file again once it is right", exc.status)
    title = typed["title"] or _text(upload.filename.rsplit(".", 1)[0], MAX_TITLE) or "Document"
    with transaction(db):
        # Asked again under the write lock: the state or the link's quota may have moved meanwhile.
        link, ins = review.link(db, link["id"]), inspections.plain(db, inspection_id)
        refusal = preparation.upload_refusal(link, ins, field, len(kept), quota)
        if refusal is None:
            doc = documents.store(db, config["DATA_DIR"], kind, kept, upload.filename,
                                  inspection_id=inspection_id, link_id=link["id"])
            review.count_upload(db, link["id"], len(kept))
            preparation.add_document(db, inspection_id, doc["sha256"], title, typed["version"], link["id"])
    if refusal:
        return refused(refusal.reason, UPLOAD_REFUSALS[refusal.code])
    if request_id:
        code = form.get(f"request-standard-{request_id}", "")
        ops = forms.request_document(inspection_id, code, request_id, doc["sha256"])
    else:
        ops = forms.crosswalk(inspection_id, {code: (set(), {doc["sha256"]}) for code in codes})
    _, not_linked = forms.write(db, ops, link=link)
    flash(f"Uploaded {title}, but: {not_linked[0]['reason']}" if not_linked else f"Uploaded {title}.")
    if section:
        anchor = f"#rfi-{request_id}" if request_id else f"#std-{slot}"
        return redirect(url_for(".program_section", inspection_id=inspection_id, token=token, code=section) + anchor)
    return redirect(url_for(".program_documents", inspection_id=inspection_id, token=token)
                    + f"#doc-{doc['sha256'][:12]}")


@bp.route("/prepare/<int:inspection_id>/<token>/documents/<sha256>")
def program_document(inspection_id, token, sha256):
    """One of the program's own documents, as a download."""
    _program(inspection_id, token)
    db = get_db()
    if not photos.SHA256.match(sha256) or not preparation.has_document(db, inspection_id, sha256):
        abort(404)
    return document_response(documents.stored(db, sha256))


# --- the lead ---------------------------------------------------------------------------

@bp.route("/inspections/<int:inspection_id>/preparation")
@access.login_required
def lead(inspection_id):
    """The lead's page before the visit: the self-assessment links (issued
    and revoked through the same routes as the site's review links), the
    program's progress per section and its submission."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_manage_links)
    sections = preparation.progress(db, ins)
    refusal = access.issue_link_refusal(g.user, ins, "self_assessment")
    return render_template("preparation/lead.html", inspection=ins, sections=sections,
                           assessed=sum(s["assessed"] for s in sections), total=sum(s["total"] for s in sections),
                           links=review.links_of(db, inspection_id, "self_assessment"), live=review.is_live,
                           link_url=links.link_url, max_days=review.MAX_DAYS,
                           can_issue=refusal is None, issue_why=refusal.reason if refusal else "",
                           documents=len(preparation.documents(db, inspection_id)))
