"""Ops made on the server from a form: the site's answers (its review link
has no outbox), the lead's review of them, and the program's self-assessment,
crosswalk and answers to requests for information (by its self-assessment link). They go through the same
protocol as a tablet's push (apply_batch), with the link or the user as
their actor. Each form carries the op ids made when it was shown, so sending
it twice changes nothing; an op id the form lacks is made here."""
import threading
import uuid

from .protocol import Actor, apply_batch, now_ms

# The site's text answers to a citation (the fields of sync/fields.py it writes from its form).
RESPONSE_FIELDS = ("factual_comment", "corrective_action", "target_date")

_last_stamp = [0]
_stamp_lock = threading.Lock()


def _stamped(device, ops):
    """``ops`` stamped by the server's clock; never the same millisecond twice
    in this process, so a later save always sorts after an earlier one."""
    with _stamp_lock:
        now = _last_stamp[0] = max(now_ms(), _last_stamp[0] + 1)
    return [{**op, "device_id": device, "seq": n, "hlc": f"{now:015d}:{n:05d}:{device}"}
            for n, op in enumerate(ops)]


def write(db, ops, *, user=None, link=None):
    """Apply ``ops`` as ``user`` or as the site's ``link``: the per-op results,
    and those refused."""
    if not ops:
        return [], []
    device = f"link{link['id']}" if link else f"web-u{user['id']}"
    results = apply_batch(db, Actor(user=user, link=link), _stamped(device, ops))["results"]
    return results, [r for r in results if r["status"] == "rejected"]


def _op(form, id_name, inspection_id, code, field, value):
    return {"op_id": form.get(id_name) or str(uuid.uuid4()), "inspection_id": inspection_id, "standard": code,
            "field": field, "value": value}


def site_answers(form, inspection_id, submit=None):
    """The site's form (Save draft / Submit) as ops: only the fields changed
    since the form was shown (someone else's edit of another field is left
    alone), and when submitting the submission of every answered citation's
    round (``submit``; by default, the form's own action says)."""
    submit = form.get("action") == "submit" if submit is None else submit
    ops = []
    for code in form.getlist("citation"):
        round_ = form.get(f"round-{code}", type=int)
        for field in RESPONSE_FIELDS:
            value = form.get(f"{field}-{code}")
            if value is None or value == form.get(f"was-{field}-{code}", ""):
                continue
            ops.append(_op(form, f"id-{field}-{code}", inspection_id, code, field,
                           {"round": round_, "text": value.strip()}))
        if submit and any(form.get(f"{f}-{code}", "").strip() for f in RESPONSE_FIELDS):
            ops.append(_op(form, f"id-submitted-{code}", inspection_id, code, "submitted",
                           {"round": round_, "submitted": True}))
    return ops


def evidence(form, inspection_id, code, round_, sha256):
    """Attach an uploaded document to the site's answer of a citation's round."""
    return [_op(form, "op_id", inspection_id, code, "evidence", {"round": round_, "sha256": sha256, "attached": True})]


def review_of(form, inspection_id, code):
    """The lead's review of a round: its outcome, and a comment when written."""
    round_ = form.get("round", type=int)
    ops = [_op(form, "id-outcome", inspection_id, code, "review_outcome",
               {"round": round_, "outcome": form.get("outcome")})]
    comment = form.get("comment", "").strip()
    if comment:
        ops.append(_op(form, "id-comment", inspection_id, code, "review_comment", {"round": round_, "text": comment}))
    return ops


# The program's self-assessment of a standard (the fields it writes from its form).
SELF_ASSESSMENT_FIELDS = ("self_verdict", "self_how")


def self_assessment(form, inspection_id):
    """The program's section form (Save draft) as ops: for each standard it
    shows (``standard``), its verdict and how it complies, the documents
    linked or unlinked, and for each request for information it shows
    (``request``) the answer; only what changed since the form was shown
    (``was-...``), so two people saving two sections, or two standards, never
    overwrite each other's."""
    ops = []
    for code in form.getlist("standard"):
        for field in SELF_ASSESSMENT_FIELDS:
            value = form.get(f"{field}-{code}")
            if value is None or value == form.get(f"was-{field}-{code}", ""):
                continue
            value = (value or None) if field == "self_verdict" else value.strip()
            ops.append(_op(form, f"id-{field}-{code}", inspection_id, code, field, value))
        shown, now = set(form.getlist(f"was-linked-{code}")), set(form.getlist(f"linked-{code}"))
        added = form.get(f"add-{code}")
        if added:
            now.add(added)
        ops += crosswalk(inspection_id, {code: (shown, now)})
    for request_id in form.getlist("request"):
        code, value = form.get(f"request-standard-{request_id}", ""), form.get(f"rfi_answer-{request_id}")
        if value is None or value == form.get(f"was-rfi_answer-{request_id}", ""):
            continue
        ops.append(_op(form, f"id-rfi_answer-{request_id}", inspection_id, code, "rfi_answer",
                       {"id": request_id, "text": value.strip()}))
    return ops


def crosswalk(inspection_id, changes):
    """Link and unlink documents to standards: ``changes`` holds, per standard
    code, the documents (sha256) (linked when the form was shown, linked now);
    only the difference is sent."""
    ops = []
    for code, (shown, now) in changes.items():
        for sha256 in sorted(now - shown):
            ops.append(_op({}, "", inspection_id, code, "crosswalk", {"sha256": sha256, "linked": True}))
        for sha256 in sorted(shown - now):
            ops.append(_op({}, "", inspection_id, code, "crosswalk", {"sha256": sha256, "linked": False}))
    return ops


def request_document(inspection_id, code, request_id, sha256):
    """Attach an uploaded document to the program's answer to a request for information."""
    return [_op({}, "", inspection_id, code, "rfi_document", {"id": request_id, "sha256": sha256, "attached": True})]
