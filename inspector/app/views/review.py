"""The site's review of the draft citations, and the lead's side of it.

The lead moves the inspection through its lifecycle, issues and revokes
signed links (both purposes: the site's review and the program's
self-assessment), and reviews each response round by round. The site, with
no account, opens its link (``/review/<inspection>/<token>``, signed as
inspector/app/links.py says). Expired, revoked, tampered, other-inspection
or other-purpose links all get the same page, with no hint which it was.

Every write here is an op in the same log as the inspectors' (sync/fields.py),
with the site's review link or the lead as its actor; each form carries the
op ids made when it was shown, so sending it twice changes nothing.
"""
import uuid
from datetime import date
from urllib.parse import quote

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template,
                   request, url_for)

from sync import forms

from inspector.domain import access, audit, committee, deadlines, documents, inspections, photos, review, steps, team
from inspector.domain.db import get_db, transaction
from inspector.app import errors, links, notices
from inspector.app.views import document_response, inspection_or_404

bp = Blueprint("review", __name__)
SALT = links.SALT  # one token format for every purpose of link (inspector/app/links.py)
link_path, link_url = links.link_path, links.link_url


def _site(inspection_id, token, cost=1):
    """(link, inspection) for a genuine, live site review link of this
    inspection; else the bad-link page (a self-assessment link too). The
    request counts ``cost`` against the link's rate limit."""
    row, inspection = links.open_link(inspection_id, token, cost)
    if access.link_waits(row, inspection):
        # A valid link is not a dead one: it opens when the team sends its draft.
        abort(Response(render_template("review/not_yet.html"), 409))
    if not access.respond_view_ok(row, inspection):
        links.bad_link()
    g.site_link = row
    return row, inspection


def _at_citation(code):
    """The page's anchor of a citation: the code comes from the form or the
    address, and a newline in a Location header is a 500."""
    return "#cit-" + quote(code, safe="", errors="replace")


# --- the site --------------------------------------------------------------------------

@bp.route("/review/<int:inspection_id>/<token>")
def site(inspection_id, token):
    link, ins = _site(inspection_id, token)
    links.note_opened(link)
    return _site_page(link, ins, token)


# The site's fields in each state, as its form shows them.
SITE_FIELDS = {"factual_accuracy": [("factual_comment", "Factual accuracy comment", "text")],
               "corrections": [("corrective_action", "Explanation of correction", "text"),
                               ("target_date", "Target date", "date")]}


def _site_page(link, ins, token, upload_error=None, status=200, confirm_unanswered=None):
    """The site's page; ``upload_error`` ({code, error, message}) is shown next
    to the upload control of that citation (at the top when it has none)."""
    db = get_db()
    cited, suggested = review.citations(db, ins)
    rounds = review.rounds(db, ins["id"])
    current = {c["code"]: review.open_round(db, ins, c["code"]) for c in cited}
    is_open = access.respond_refusal(link, ins) is None
    answerable = review.answerable_codes(db, ins) if is_open else set()
    decided = committee.decisions(db, ins["id"])
    if ins["state"] in ("corrections", "closed"):
        cited = [c for c in cited if decided.get(c["code"], {}).get("decision") != "withdrawn"]
    # A citation takes documents while its current round is open: the rule the upload itself is checked by.
    uploadable = {c["code"] for c in cited if access.respond_refusal(link, ins, "evidence") is None
                  and review.round_refusal(db, ins, c["code"], current[c["code"]]) is None}
    return render_template("review/site.html", inspection=ins, link=link, token=token, citations=cited,
                           suggestions=suggested, rounds=rounds, current=current, uploadable=uploadable,
                           answerable=answerable, fields=SITE_FIELDS.get(ins["state"], []),
                           decisions=decided, corrections=committee.corrections(db, ins),
                           committee_labels=committee.DECISIONS, confirm_unanswered=confirm_unanswered,
                           upload_error=upload_error, team=team.members(db, ins["id"]),
                           op_id=lambda: str(uuid.uuid4()), open=is_open, outcomes=review.OUTCOMES), status


@bp.route("/review/<int:inspection_id>/<token>", methods=("POST",))
def site_save(inspection_id, token):
    """Save draft (only the fields changed since the form was shown), or
    Submit (save, then submit every answered citation's round). A submission
    that leaves citations unanswered says so and asks first."""
    link, ins = _site(inspection_id, token)
    db = get_db()
    form = request.form
    action = form.get("action")
    if action == "submit" and ins["state"] == "corrections":
        # Asked before anything is sent: the answers on this form count as given.
        typed = {code for code in form.getlist("citation")
                 if any(form.get(f"{f}-{code}", "").strip() for f in forms.RESPONSE_FIELDS)}
        left = [code for code in review.unanswered(db, ins) if code not in typed]
        if left:
            forms.write(db, forms.site_answers(form, inspection_id, submit=False), link=link)  # kept as a draft
            return _site_page(link, ins, token, status=200, confirm_unanswered=left)
    ops = forms.site_answers(form, inspection_id, submit=action in ("submit", "submit_anyway"))
    results, refused = forms.write(db, ops, link=link)
    refused = [r for r in refused if r["code"] != "submitted"]
    applied = {r["op_id"] for r in results if r["status"] == "applied"}
    sent = [op["standard"] for op in ops if op["field"] == "submitted" and op["op_id"] in applied]
    if sent:  # the team leader is told which citations, never what the site wrote
        notices.site_submitted(db, ins, sent, comments=ins["state"] == "factual_accuracy")
    if refused:
        flash("Some changes could not be saved: " + "; ".join(sorted({r["reason"] for r in refused})))
    elif action in ("submit", "submit_anyway"):
        left = review.unanswered(db, inspections.plain(db, inspection_id)) if action == "submit_anyway" else []
        flash("Your comments are sent to the lead inspector." if ins["state"] == "factual_accuracy"
              else f"Your response is submitted for the answered ones; still to answer: {', '.join(left)}." if left
              else "Your response is submitted. The lead inspector will review it.")
    else:
        flash("Draft saved. You can come back to it with the same link.")
    return redirect(url_for(".site", inspection_id=inspection_id, token=token) + "#citations")


# What each refusal of an upload answers: the link may not write now (409 for
# a state or round that has moved on), did not name a citation (400), or has
# stored its quota (403); a file that is not a document says its own.
UPLOAD_REFUSALS = {"not_this_inspection": 403, "inspection_state": 409, "not_a_citation": 400,
                   "round_closed": 409, "submitted": 409, "quota_documents": 403, "quota_bytes": 403}
# An upload counts as this many requests against the link's rate limit: a
# 10 MB PDF takes up to about 1.6 s of a core to check (documents.py), so a
# link sends a few at once, then one every few seconds, never a core's worth.
UPLOAD_COST = 10


@bp.route("/review/<int:inspection_id>/<token>/documents", methods=("POST",))
def site_upload(inspection_id, token):
    """Attach an evidence document to the open round of a citation. Whatever
    can refuse it is asked before anything is written: the link's state rule,
    the citation and its round, the link's quota, then the file itself."""
    link, ins = _site(inspection_id, token, UPLOAD_COST)
    db = get_db()
    config = current_app.config
    quota = (config["REVIEW_LINK_MAX_DOCUMENTS"], config["REVIEW_LINK_MAX_DOCUMENT_BYTES"])
    # The upload is a button of the page's one form: the text typed anywhere
    # on it is saved as a draft first, so attaching a file loses no typing.
    form = request.form
    code = form.get("attach") or form.get("citation", "")
    round_ = form.get(f"round-{code}", type=int) if form.get("attach") else form.get("round", type=int)
    if form.get("attach"):
        forms.write(db, forms.site_answers(form, inspection_id, submit=False), link=link)

    def refused(error, message, status):
        if errors.wants_json():
            return jsonify(error=error, message=message), status
        message = message[:1].upper() + message[1:].rstrip(".") + "."  # a sentence, on the page
        return _site_page(link, ins, token, {"code": code, "error": error, "message": message}, status)

    refusal = review.upload_refusal(db, link, ins, code, round_, 0, quota)
    if refusal:
        return refused(refusal.code, refusal.reason, UPLOAD_REFUSALS[refusal.code])
    upload = request.files.get(f"document-{code}") or request.files.get("document")
    if upload is None or not upload.filename:
        return refused("no_file", "Choose a file to attach (PDF, JPEG or PNG).", 400)
    try:
        # Parsed and cleaned before the write lock is taken: a large PDF never holds up the tablets' pushes.
        kind, kept = documents.check(upload.stream.read(documents.MAX_BYTES + 1))
    except documents.DocumentError as exc:
        return refused(exc.code, str(exc), exc.status)
    with transaction(db):
        # Asked again under the write lock: the state, the round or what the
        # link has stored (two uploads at once) may have moved meanwhile.
        link, ins = review.link(db, link["id"]), inspections.plain(db, inspection_id)
        refusal = review.upload_refusal(db, link, ins, code, round_, len(kept), quota)
        if refusal is None:
            doc = documents.store(db, config["DATA_DIR"], kind, kept, upload.filename,
                                  inspection_id=inspection_id, link_id=link["id"])
            review.count_upload(db, link["id"], len(kept))
    if refusal:
        return refused(refusal.code, refusal.reason, UPLOAD_REFUSALS[refusal.code])
    _, not_attached = forms.write(db, forms.evidence(form, inspection_id, code, round_, doc["sha256"]), link=link)
    flash(f"Could not attach {doc['filename']}: {not_attached[0]['reason']}" if not_attached
          else f"Attached {doc['filename']}.")
    return redirect(url_for(".site", inspection_id=inspection_id, token=token) + _at_citation(code))


@bp.route("/review/<int:inspection_id>/<token>/documents/<sha256>")
def site_document(inspection_id, token, sha256):
    _site(inspection_id, token)
    return _send_document(inspection_id, sha256)


def _send_document(inspection_id, sha256):
    db = get_db()
    doc = documents.stored(db, sha256) if photos.SHA256.match(sha256) else None
    if doc is None or not documents.attached_to(db, inspection_id, sha256):
        abort(404)
    return document_response(doc)


@bp.route("/review/<int:inspection_id>/<token>/photos/<sha256>")
def site_photo(inspection_id, token, sha256):
    _link, ins = _site(inspection_id, token)
    if sha256 not in review.photos_shown(get_db(), ins):
        abort(404)
    path = photos.blob_path(current_app.config["DATA_DIR"], sha256, thumb=request.args.get("size") == "thumb")
    if not path.exists():
        abort(404)
    response = Response(path.read_bytes(), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the lead ---------------------------------------------------------------------------

@bp.route("/inspections/<int:inspection_id>/review")
@access.login_required
def lead(inspection_id):
    """The lead's page for the site's review: the lifecycle, the links, and
    each citation with the site's responses beside it."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_open_review_page)
    cited, suggested = review.citations(db, ins)
    rounds = review.rounds(db, inspection_id)
    current = {c["code"]: review.current_round(db, inspection_id, c["code"]) for c in cited}
    return render_template("review/lead.html", inspection=ins, citations=cited, rounds=rounds, current=current,
                           links=review.links_of(db, inspection_id), live=review.is_live,
                           link_url=link_url, outcomes=review.OUTCOMES,
                           op_id=lambda: str(uuid.uuid4()), next_state=access.next_state(ins),
                           previous_state=access.previous_state(ins), max_days=review.MAX_DAYS,
                           can_review=access.review_refusal(g.user, ins) is None,
                           manages=access.can_manage_links(g.user, ins),
                           next_due=deadlines.next_due(db, ins), today=date.today(),
                           corrections=committee.corrections(db, ins), decisions=committee.decisions(db, inspection_id))


@bp.route("/inspections/<int:inspection_id>/state", methods=("POST",))
@access.login_required
def move_state(inspection_id):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_move_state)
    if request.form.get("direction") == "forward" and access.next_state(ins):
        # An irreversible step shows what is still open and asks first.
        if ins["state"] in access.CONFIRMED and request.form.get("confirmed") != "yes":
            return render_template("review/confirm_move.html", inspection=ins, still_open=steps.still_open(db, ins),
                                   label=access.forward_label(ins), next_state=access.next_state(ins))
        with transaction(db):
            inspections.move(db, ins, access.next_state(ins), user_id=g.user["id"])
        flash(f"The inspection is now: {access.STATE_LABELS[access.next_state(ins)]}.")
    elif request.form.get("direction") == "back" and access.previous_state(ins):
        reason = request.form.get("reason", "").strip()
        if not reason:
            flash("Say why the inspection goes back a step.")
            return redirect(url_for(".lead", inspection_id=inspection_id)), 303
        with transaction(db):
            inspections.move(db, ins, access.previous_state(ins), user_id=g.user["id"], reason=reason[:500])
        flash(f"The inspection is back to: {access.STATE_LABELS[access.previous_state(ins)]}.")
    else:
        abort(400, description="That move is not possible from here.")
    return redirect(url_for(".lead", inspection_id=inspection_id))


# The lead's page of each purpose of link: where its links are issued and listed.
LINK_PAGES = {"site_review": ".lead", "self_assessment": "preparation.lead"}


@bp.route("/inspections/<int:inspection_id>/links", methods=("POST",))
@access.login_required
def issue_link(inspection_id):
    """Issue a link of the form's ``purpose`` (the site's review by default)."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_manage_links)
    purpose = request.form.get("purpose", "site_review")
    refusal = access.issue_link_refusal(g.user, ins, purpose)
    if refusal and refusal.code == "no_site_review":
        flash(refusal.reason)
        return redirect(url_for(".lead", inspection_id=inspection_id))
    if refusal:
        abort(409 if refusal.code == "inspection_state" else 400, description=refusal.reason)
    page = url_for(LINK_PAGES[purpose], inspection_id=inspection_id)
    name, email = request.form.get("issued_to", "").strip(), request.form.get("email", "").strip()
    days = request.form.get("days", type=int)
    problems = [p for p, bad in (("Say who the link is for.", not name),
                                 ("Give their email address.", "@" not in email or len(email) > 200),
                                 (f"Give a number of days from 1 to {review.MAX_DAYS}.",
                                  days is None or not 1 <= days <= review.MAX_DAYS)) if bad]
    if problems:
        flash(" ".join(problems))
        return redirect(page + "#links")
    with transaction(db):
        link_id = review.issue_link(db, inspection_id, name[:200], email, days, g.user["id"], purpose=purpose)
        audit.record(db, "link.issued", inspection_id=inspection_id, user_id=g.user["id"], subject=str(link_id),
                     after={"issued_to": name[:200], "email": email, "days": days, "purpose": purpose})
        # Mailed to the person it is for, in the same transaction: never issued and not sent.
        issued = review.link(db, link_id)
        notices.link_issued(db, ins, issued, link_url(issued))
    # The page lists every live link with its address to copy: nothing to
    # carry in the session (a sync answer racing the redirect could put an
    # older session cookie back and lose it).
    flash(f"Link issued for {name[:200]}: copy it below and send it to them.")
    return redirect(page + f"#link-{link_id}")


@bp.route("/inspections/<int:inspection_id>/links/<int:link_id>/revoke", methods=("POST",))
@access.login_required
def revoke_link(inspection_id, link_id):
    db = get_db()
    inspection_or_404(inspection_id, access.can_manage_links)
    row = review.link(db, link_id)
    if row is None or row["inspection_id"] != inspection_id:
        abort(404)
    with transaction(db):
        review.revoke_link(db, link_id)
        audit.record(db, "link.revoked", inspection_id=inspection_id, user_id=g.user["id"], subject=str(link_id),
                     before={"issued_to": row["issued_to"], "email": row["email"], "purpose": row["purpose"]})
    flash(f"The link for {row['issued_to']} no longer works.")
    return redirect(url_for(LINK_PAGES[row["purpose"]], inspection_id=inspection_id) + "#links")


@bp.route("/inspections/<int:inspection_id>/responses/<code>/review", methods=("POST",))
@access.login_required
def review_response(inspection_id, code):
    """Accepted, or More information needed, with a comment: the site then answers again."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_open_review_page)
    outcome = request.form.get("outcome")
    _, refused = forms.write(db, forms.review_of(request.form, inspection_id, code), user=g.user)
    if refused:
        flash("Not saved: " + refused[0]["reason"])
    else:
        if outcome == "more_info":
            notices.more_information(db, ins, code, link_url)
        flash(f"{code}: {review.OUTCOMES.get(outcome, outcome)}.")
    return redirect(url_for(".lead", inspection_id=ins["id"]) + _at_citation(code))


@bp.route("/inspections/<int:inspection_id>/documents/<sha256>")
@access.login_required
def lead_document(inspection_id, sha256):
    inspection_or_404(inspection_id, access.can_open_review_page)
    return _send_document(inspection_id, sha256)
