"""The committee's decision: after the factual accuracy review, the
accrediting body's committee (FACT's Accreditation Committee monthly,
JACIE's twice a month) confirms, amends or withdraws each draft citation,
sets a due date for each correction and decides the outcome. The body's
coordinator records it here; recording it moves the inspection on to its
corrections. Each citation's decision and the decision as a whole are in the
audit trail, written in the same transaction.
"""
from datetime import date

from . import audit, bodies, inspections
from .db import joined_transaction

DECISIONS = {"confirmed": "Confirmed", "amended": "Amended", "withdrawn": "Withdrawn"}


def decisions(db, inspection_id):
    """{standard code: row} of the committee's decisions on an inspection."""
    return {r["standard_code"]: dict(r) for r in db.conn.execute(
        "SELECT * FROM committee_decisions WHERE inspection_id = ?", [inspection_id])}


def _day(text):
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def check(inspection, citations, form):
    """(what to record, {form field: error}) from the committee's form:
    ``committee_date``, ``outcome``, and per citation ``decision-<code>``,
    ``text-<code>`` (the amended text) and ``due-<code>``. Every citation
    needs a decision; an amended one its new text; a confirmed or amended
    one a due date on or after the committee's date."""
    errors, per_citation = {}, {}
    held = _day(form.get("committee_date", ""))
    if held is None:
        errors["committee_date"] = "Give the date the committee met."
    outcome = form.get("outcome", "")
    if outcome not in bodies.of(inspection).outcomes:
        errors["outcome"] = "Choose the committee's outcome."
    for c in citations:
        code = c["code"]
        decision = form.get(f"decision-{code}", "")
        text = form.get(f"text-{code}", "").strip()
        due = _day(form.get(f"due-{code}", ""))
        if decision not in DECISIONS:
            errors[f"decision-{code}"] = f"Confirm, amend or withdraw {code}."
            continue
        if decision == "amended" and not text:
            errors[f"text-{code}"] = f"Write the amended text of {code}."
        if decision != "withdrawn":
            if due is None:
                errors[f"due-{code}"] = f"Give the date the correction of {code} is due."
            elif held is not None and due < held:
                errors[f"due-{code}"] = f"The correction of {code} cannot be due before the committee met."
        per_citation[code] = (decision, text[:20_000] if decision == "amended" else "",
                              due.isoformat() if due and decision != "withdrawn" else None)
    return {"committee_date": held.isoformat() if held else None, "outcome": outcome,
            "citations": per_citation}, errors


def record(db, inspection, user_id, decided):
    """Store the committee's decision (from ``check``, without errors) and
    move the inspection to its corrections, all in one transaction."""
    with joined_transaction(db):
        for code, (decision, text, due_on) in decided["citations"].items():
            db["committee_decisions"].upsert({"inspection_id": inspection["id"], "standard_code": code,
                                               "decision": decision, "text": text, "due_on": due_on},
                                              pk=("inspection_id", "standard_code"))
            audit.record(db, "committee.citation", inspection_id=inspection["id"], user_id=user_id, subject=code,
                         after={"decision": decision, "due_on": due_on, **({"text": text} if text else {})})
        db.conn.execute("UPDATE inspections SET committee_date = ?, outcome = ?, decided_by = ? WHERE id = ?",
                        [decided["committee_date"], decided["outcome"], user_id, inspection["id"]])
        audit.record(db, "committee.decided", inspection_id=inspection["id"], user_id=user_id,
                     subject=decided["outcome"], after={"committee_date": decided["committee_date"],
                                                        "outcome": decided["outcome"]})
        inspections.move(db, inspection, "corrections", user_id=user_id)


def corrections(db, inspection, today=None):
    """The citations the site corrects (confirmed or amended), each with the
    text it corrects (the amended one if amended), its due date, whether a
    correction was accepted, and whether it is overdue (past its due date
    without an accepted correction)."""
    return corrections_many(db, [inspection["id"]], today)[inspection["id"]]


def corrections_many(db, inspection_ids, today=None):
    """{inspection id: its corrections, as ``corrections``} for each id, in two
    queries however many (the home page's cards)."""
    today = today or date.today()
    ids = sorted(set(inspection_ids))
    out = {i: {} for i in ids}
    if not ids:
        return out
    marks = ",".join("?" * len(ids))
    accepted = {(r[0], r[1]) for r in db.conn.execute(
        f"SELECT inspection_id, standard_code FROM reviews WHERE inspection_id IN ({marks}) "
        f"AND outcome = 'accepted'", ids)}
    for d in db.conn.execute(f"SELECT * FROM committee_decisions WHERE inspection_id IN ({marks})", ids):
        if d["decision"] == "withdrawn":
            continue
        code, done = d["standard_code"], (d["inspection_id"], d["standard_code"]) in accepted
        due = _day(d["due_on"])
        out[d["inspection_id"]][code] = {**dict(d), "accepted": done,
                                         "overdue": due is not None and due < today and not done}
    return out
