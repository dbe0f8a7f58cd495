"""Demo data before the visit: a program with an earlier, closed inspection
and its renewal being prepared, the program's self-assessment half done.

Every write takes the path the app itself takes (ops from a tablet or the
program's link, the committee's record, the audit trail), with stable ids,
so seeding twice changes nothing.
"""
import io
import uuid
from datetime import date, timedelta

import pikepdf

from inspector.domain import (audit, catalog, committee, documents, edition_maps, inspections, preparation, programs,
                              review, team)
from inspector.domain.db import folder_of, transaction

PROGRAM = "Lakeside Children's Hospital, cell therapy program (demo)"
PLACE = ("Lakeside", "Canada")
FACILITIES = [("clinical", "Ward 4B, paediatric oncology"), ("clinical", "Day unit"),
              ("collection", "Apheresis unit, level 2"), ("processing", "Cell therapy laboratory")]
PROGRAM_CONTACT = ("Lara Lakeside (quality manager)", "quality@lakeside.example")
# The earlier inspection, two years ago, on the first illustrative edition
# (its codes: B8.10 is now B7.2.10, D11.4 is D7.4.1; the shipped edition map
# carries its citations across): (inspector, standard, verdict, note), and
# the lead's decisions.
EARLIER_EDITION = catalog.EARLIER_ILLUSTRATIVE_EDITIONS[0]
EARLIER_FINDINGS = [
    ("inspector1", "B2.3", "not_compliant", "No written agreement for transfer to intensive care at night."),
    ("inspector1", "B8.10", "not_compliant", "The emergency box on the day unit held an expired ampoule."),
    ("inspector2", "D8.2", "compliant", ""),
    ("inspector2", "D11.4", "not_compliant", "No second verifier signed two of ten thaw records."),
]
EARLIER_DECISIONS = [
    ("B2.3", "not_compliant", "There is no written agreement guaranteeing transfer to intensive care at any hour.",
     "", False),
    ("B8.10", "not_compliant", "Emergency drugs at the bedside are not checked for expiry.", "", False),
    ("D8.2", "compliant", "", "", False),
    ("D11.4", "not_compliant", "Two-person verification at thaw is not always recorded.", "", False),
]
EARLIER_CORRECTIONS = {
    "B2.3": "A written agreement with the intensive care unit was signed; copy attached.",
    "B8.10": "The emergency boxes are checked monthly and the check is signed in a log; three months attached.",
    "D11.4": "The thaw record now has a second verifier's field that cannot be left empty; retraining done.",
}
# The renewal's self-assessment so far: every standard of these sections
# assessed, a few with how the program complies; the rest not started.
SELF_ASSESSED_SECTIONS = ("B1", "B2", "B3", "B4", "B5")
HOW = {
    "B1.1": "The program description (QM-001 v4) lists our products and patient groups.",
    "B2.3": "Signed agreement with the intensive care unit since 2025 (document CL-014).",
    "B3.1": "The director's appointment letter and CV are in the personnel file.",
    "B4.5": "Deviations are investigated with a root-cause form (QM-022).",
}
NOT_YET = {"B3.4": "not_compliant"}  # what the program itself says is not there yet
DOCUMENTS = [  # (title, version, file name, standards it supports)
    ("Program description", "4", "QM-001 program description.pdf", ["B1.1", "B1.2", "B1.3"]),
    ("Agreement with the intensive care unit", "2", "CL-014 ICU agreement.pdf", ["B2.3"]),
    ("Deviation management procedure", "3", "QM-022 deviations.pdf", ["B4.5", "B4.6"]),
]
REQUEST = ("inspector1", "B3.4", "The training records of the night-shift nurses on CRS and ICANS, for 2026.")


def demo_pdf(text, pages=1):
    """A real PDF (pages with a line of text each): the same bytes every run."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for n in range(pages):
        pdf.add_blank_page()
        page = pdf.pages[-1]
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.Contents = pdf.make_stream(f"BT /F1 12 Tf 72 712 Td ({text} {n + 1}) Tj ET".encode())
    out = io.BytesIO()
    pdf.save(out, static_id=True, deterministic_id=True)
    return out.getvalue()


def seed(db, catalog_id, ids, tablet, decide, form):
    """The program, its closed inspection and its renewal in preparation (once);
    returns {"program", "earlier_id", "renewal_id", "link"}. ``tablet``,
    ``decide`` and ``form`` are the demo's device, lead's decisions and form
    helpers (inspector/app/demo.py)."""
    found = programs.by_name(db, PROGRAM)
    if found is None:
        with transaction(db):
            program_id = programs.create(db, PROGRAM, ids["admin"], *PLACE, FACILITIES, device="cli")
        earlier_catalog = catalog.import_earlier(db, EARLIER_EDITION)
        if not edition_maps.of(db, earlier_catalog, catalog_id):
            edition_maps.import_file(db, EARLIER_EDITION, catalog.ILLUSTRATIVE_EDITION,
                                     catalog.bundled_catalog_path(catalog.EARLIER_FILES[EARLIER_EDITION][1]))
        earlier_id = _earlier(db, earlier_catalog, ids, program_id, tablet, decide, form)
        renewal_id = _renewal(db, catalog_id, ids, program_id, tablet, form)
    else:
        program_id = found["id"]
        earlier_id, renewal_id = [row["id"] for row in reversed(programs.inspections_of(db, program_id))][:2]
    link = review.live_links(db, renewal_id, purpose="self_assessment")[0]
    return {"program": PROGRAM, "program_id": program_id, "earlier_id": earlier_id, "renewal_id": renewal_id,
            "link": dict(link)}


def _team(db, inspection_id, ids, sections):
    team.save(db, inspection_id, {ids["lead"]: ("lead", set()),
                                  **{ids[u]: ("inspector", set(codes)) for u, codes in sections.items()}},
              ids["admin"], device="cli")


def _issue(db, inspection_id, ids, days, purpose):
    link_id = review.issue_link(db, inspection_id, *PROGRAM_CONTACT, days, ids["lead"], purpose=purpose)
    audit.record(db, "link.issued", inspection_id=inspection_id, user_id=ids["lead"], subject=str(link_id),
                 after={"issued_to": PROGRAM_CONTACT[0], "email": PROGRAM_CONTACT[1], "days": days,
                        "purpose": purpose})
    return review.link(db, link_id)


def _earlier(db, catalog_id, ids, program_id, tablet, decide, form):
    """Two years ago: an initial FACT inspection, its two citations corrected and accepted, closed."""
    from sync import forms, oplog
    today = date.today()
    with transaction(db):
        inspection_id = inspections.create(
            db, PROGRAM, catalog_id, (today - timedelta(days=731)).isoformat(),
            (today - timedelta(days=730)).isoformat(), ids["admin"], device="cli", body="fact",
            program_id=program_id, kind="initial")
        _team(db, inspection_id, ids, {"inspector1": ["B2", "B8"], "inspector2": ["D8", "D11"]})
    tablets = {u: tablet(db, inspection_id, u, ids[u]) for u in ("inspector1", "inspector2", "lead")}
    for username, code, verdict, note in EARLIER_FINDINGS:
        tablets[username].op(code, "verdict", verdict)
        if note:
            tablets[username].op(code, "note", note)
    sent = [op_id for u in ("inspector1", "inspector2") for op_id in tablets[u].push()]
    decide(tablets["lead"], EARLIER_DECISIONS, oplog.newest_seq_of(db, sent))

    def move(state):
        with transaction(db):
            inspections.move(db, inspections.plain(db, inspection_id), state, user_id=ids["lead"])

    move("merging")
    move("factual_accuracy")
    with transaction(db):
        link = _issue(db, inspection_id, ids, 60, "site_review")
    move("committee")
    ins = inspections.plain(db, inspection_id)
    cited, _ = review.citations(db, ins)
    held = today - timedelta(days=690)
    decided, errors = committee.check(ins, cited, form({
        "committee_date": held.isoformat(), "outcome": "accredited",
        **{f"decision-{c['code']}": "confirmed" for c in cited},
        **{f"due-{c['code']}": (held + timedelta(days=60)).isoformat() for c in cited}}))
    assert not errors, errors
    with transaction(db):
        committee.record(db, ins, ids["coordinator"], decided)
    answers = {"citation": list(EARLIER_CORRECTIONS)}
    for code, text in EARLIER_CORRECTIONS.items():
        answers.update({f"round-{code}": "1", f"corrective_action-{code}": text, f"target_date-{code}": ""})
    _, refused = forms.write(db, forms.site_answers(form(answers), inspection_id, submit=True), link=link)
    assert not refused, refused
    lead = tablets["lead"]
    for code in EARLIER_CORRECTIONS:
        lead.op(code, "review_outcome", {"round": 1, "outcome": "accepted"})
    lead.push()
    move("closed")
    return inspection_id


def _renewal(db, catalog_id, ids, program_id, tablet, form):
    """In three weeks: the renewal, being prepared; the program has self-assessed part B's first five sections."""
    from sync import forms
    today = date.today()
    with transaction(db):
        inspection_id = inspections.create(
            db, PROGRAM, catalog_id, (today + timedelta(days=21)).isoformat(),
            (today + timedelta(days=22)).isoformat(), ids["admin"], device="cli", body="fact",
            program_id=program_id, kind="renewal", state="preparing")
        _team(db, inspection_id, ids, {"inspector1": ["B1", "B2", "B3", "B6", "B7"],
                                       "inspector2": ["C1", "C2", "C6", "C7", "D7", "D8"]})
        link = _issue(db, inspection_id, ids, 60, "self_assessment")
    codes = [code for code, _ in catalog.standards_in_sections(db, catalog_id, SELF_ASSESSED_SECTIONS)]
    ops = []
    for code in codes:
        ops.append(_op(inspection_id, code, "self_verdict", NOT_YET.get(code, "compliant")))
        if code in HOW:
            ops.append(_op(inspection_id, code, "self_how", HOW[code]))
    data_dir = folder_of(db)
    for title, version, filename, standards in DOCUMENTS:
        kind, kept = documents.check(demo_pdf(title, pages=2))
        with transaction(db):
            sha = documents.store(db, data_dir, kind, kept, filename, inspection_id=inspection_id,
                                  link_id=link["id"])["sha256"]
            preparation.add_document(db, inspection_id, sha, title, version, link["id"])
        ops += [_op(inspection_id, code, "crosswalk", {"sha256": sha, "linked": True}, key=sha)
                for code in standards]
    _, refused = forms.write(db, ops, link=link)
    assert not refused, refused
    username, code, text = REQUEST
    raiser = tablet(db, inspection_id, username, ids[username])
    raiser.op(code, "rfi", {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{inspection_id}/rfi")), "text": text})
    raiser.push()
    return inspection_id


def _op(inspection_id, code, field, value, key=""):
    return {"op_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{inspection_id}/program/{code}/{field}/{key}")),
            "inspection_id": inspection_id, "standard": code, "field": field, "value": value}
