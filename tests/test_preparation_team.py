"""Before the visit, as the inspection team sees it: the program's documents
(their page, each served only to this inspection's readers), the
self-assessment and the requests for information on the standard page,
requests raised by ops (and refused with their reason), the merge screen's
and the report's comparison with the self-assessment, and the report's
missing documents."""
import re
import uuid

import pytest

from inspector.domain import inspections, preparation, users
from tests.helpers import answer_as_program, prepare_as_program, push, small_pdf

PDF = small_pdf("Training records of the night shift", pages=2)


@pytest.fixture
def prepared(db, demo_inspection):
    """The demo inspection on site, its program having self-assessed three
    standards and sent a PDF linked to three standards (two of section B1)
    and a second document on B2.3."""
    lead = users.by_username(db, "lead")["id"]
    made = prepare_as_program(db, demo_inspection, lead, state="on_site", assessed={
        "B1.1": ("compliant", "Scope statement signed by the director in March."),
        "B1.5": ("compliant", "Our SOP-QM-01 covers it."),
        "B2.3": ("not_compliant", "We are writing the agreement with ICU."),
    }, documents=[("Quality manual", "3.2", PDF, "quality-manual.pdf", ["B1.1", "B1.5", "B2.3"]),
                  ("ICU agreement draft", "0.1", small_pdf("ICU"), "icu.pdf", ["B2.3"])])
    return {"inspection": demo_inspection, **made}


def rfi(device, inspection, standard, text, request_id=None):
    return device.op(inspection, standard, "rfi", {"id": request_id or str(uuid.uuid4()), "text": text})


# --- the documents -----------------------------------------------------------------------------

def test_the_documents_page_lists_each_document_with_its_standards(as_user, prepared):
    i = prepared["inspection"]
    for who in ("inspector1", "admin"):
        page = as_user(who).get(f"/inspections/{i}/program-documents")
        assert page.status_code == 200, who
        html = page.get_data(as_text=True)
        row = html[html.index("Quality manual"):html.index("</tr>", html.index("Quality manual"))]
        assert "3.2" in row and "PDF" in row and re.search(r"\d+(\.\d)? [kK]B", row)
        assert [c for c in ("B1.1", "B1.5", "B2.3") if f">{c}</a>" in row] == ["B1.1", "B1.5", "B2.3"]
        href = f'/inspections/{i}/program-documents/{prepared["documents"]["Quality manual"]}'
        assert f'href="{href}" data-hx-boost="false">Quality manual</a>' in html


def test_a_document_opens_inline_with_the_apps_policy(as_user, prepared):
    i, sha = prepared["inspection"], prepared["documents"]["Quality manual"]
    answer = as_user("inspector1").get(f"/inspections/{i}/program-documents/{sha}")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("inline;")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "no-store" in answer.headers["Cache-Control"]
    assert answer.data.startswith(b"%PDF")


def test_a_document_of_another_inspection_is_not_found_by_its_hash(app, db, as_user, prepared):
    """The JACIE demo's team opens the FACT demo's document by its hash: 404,
    as for a document of nobody's and for anything that is not a hash."""
    jacie = inspections.by_site(db, "Riverside Centre for Cell Therapy (JACIE demo)")[0]
    sha = prepared["documents"]["Quality manual"]
    reader = as_user("inspector1")  # on both teams
    assert reader.get(f"/inspections/{prepared['inspection']}/program-documents/{sha}").status_code == 200
    assert reader.get(f"/inspections/{jacie}/program-documents/{sha}").status_code == 404
    assert reader.get(f"/inspections/{prepared['inspection']}/program-documents/{'0' * 64}").status_code == 404
    assert reader.get(f"/inspections/{prepared['inspection']}/program-documents/..%2Fsecret").status_code == 404
    assert as_user("inspector2").get(f"/inspections/{jacie}/program-documents/{sha}").status_code == 404


def test_a_document_attached_to_an_answer_is_served_and_unattached_is_not(db, as_user, prepared, device):
    i, link = prepared["inspection"], prepared["link"]
    inspector = as_user("inspector1")
    request_id = str(uuid.uuid4())
    assert push(inspector, [rfi(device, i, "B1.5", "The night-shift training records", request_id)]
                ).json["results"][0]["status"] == "applied"
    from inspector.domain import documents
    from inspector.domain.db import folder_of
    kind, kept = documents.check(small_pdf("Roster"))
    other = documents.store(db, folder_of(db), kind, kept, "roster.pdf")["sha256"]
    assert inspector.get(f"/inspections/{i}/program-documents/{other}").status_code == 404  # stored, not the program's
    from inspector.domain import preparation
    preparation.add_document(db, i, other, "Night-shift roster", "", link["id"])          # uploaded by its link
    assert [r["status"] for r in answer_as_program(db, link, i, "B1.5", request_id, "Attached.", other)] == \
        ["applied", "applied"]
    assert inspector.get(f"/inspections/{i}/program-documents/{other}").status_code == 200


# --- the standard page ---------------------------------------------------------------------------

def test_the_standard_page_shows_the_self_assessment_documents_and_requests(db, as_user, prepared, device):
    i, link = prepared["inspection"], prepared["link"]
    inspector = as_user("inspector1")
    request_id = str(uuid.uuid4())
    push(inspector, [rfi(device, i, "B2.3", "The signed ICU transfer agreement", request_id)])
    answer_as_program(db, link, i, "B2.3", request_id, "It will be signed on 2 December.")
    html = inspector.get(f"/inspections/{i}/standards/B2.3").get_data(as_text=True)
    assert "Self-assessed verdict" in html and "We are writing the agreement with ICU." in html
    assert "How we comply" in html
    for title in ("Quality manual", "ICU agreement draft"):
        assert f'data-hx-boost="false">{title}</a>' in html
    assert "The signed ICU transfer agreement" in html and "It will be signed on 2 December." in html
    assert 'data-request-form' in html and "Answered" in html
    untouched = inspector.get(f"/inspections/{i}/standards/B3.1").get_data(as_text=True)
    assert "has not assessed this standard" in untouched and "No request for information on this standard" in untouched


def test_after_the_visit_the_page_offers_no_request(as_user, db, prepared):
    inspections.set_state(db, prepared["inspection"], "merging")
    html = as_user("inspector1").get(f"/inspections/{prepared['inspection']}/standards/B2.3").get_data(as_text=True)
    assert "Self-assessed verdict" in html and "data-request-form" not in html


# --- requests for information as ops ---------------------------------------------------------------

def test_a_request_is_raised_closed_by_its_raiser_or_the_lead_not_by_another_inspector(db, as_user, prepared,
                                                                                         device):
    i = prepared["inspection"]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    raiser, other, lead = as_user("inspector1"), as_user("inspector2"), as_user("lead")
    assert [r["status"] for r in push(raiser, [rfi(device, i, "B1.5", "Night-shift training", first),
                                               rfi(device, i, "B1.5", "Cleaning logs", second)]).json["results"]] \
        == ["applied", "applied"]
    assert [r["text"] for r in preparation.open_requests(db, i)] == ["Night-shift training", "Cleaning logs"]
    refused = push(other, [device.op(i, "B1.5", "rfi_closed", {"id": first, "closed": True})]).json["results"][0]
    assert refused["status"] == "rejected" and refused["code"] == "not_raiser"
    assert push(raiser, [device.op(i, "B1.5", "rfi_closed", {"id": first, "closed": True})]
                ).json["results"][0]["status"] == "applied"
    assert push(lead, [device.op(i, "B1.5", "rfi_closed", {"id": second, "closed": True})]
                ).json["results"][0]["status"] == "applied"
    assert preparation.open_requests(db, i) == []
    # The raiser opens theirs again, later than the lead's closing of the other: each as its newest closing says.
    assert push(raiser, [device.op(i, "B1.5", "rfi_closed", {"id": first, "closed": False})]
                ).json["results"][0]["status"] == "applied"
    assert [r["request_id"] for r in preparation.open_requests(db, i)] == [first]


@pytest.mark.parametrize("value, code", [
    ({"id": "not-a-uuid", "text": "Logs"}, "bad_value"),
    ({"id": "0F8FAD5B-D9CB-469F-A165-70867728950E", "text": "Logs"}, "bad_value"),  # upper case
    ({"id": str(uuid.UUID(int=1)), "text": "x" * 20_001}, "bad_value"),
    ({"id": str(uuid.UUID(int=2)), "text": "Logs", "extra": 1}, "bad_value"),
    ({"text": "Logs"}, "bad_value"),
])
def test_a_malformed_request_is_refused_with_its_reason(as_user, prepared, device, value, code):
    result = push(as_user("inspector1"), [device.op(prepared["inspection"], "B1.5", "rfi", value)]).json["results"][0]
    assert result["status"] == "rejected" and result["code"], result
    assert result["reason"]


def test_requests_are_refused_after_the_visit(db, as_user, prepared, device):
    inspections.set_state(db, prepared["inspection"], "merging")
    result = push(as_user("inspector1"), [rfi(device, prepared["inspection"], "B1.5", "Too late")]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "inspection_state")


def test_a_request_cannot_take_another_requests_id_nor_close_an_unknown_one(as_user, prepared, device):
    i, taken = prepared["inspection"], str(uuid.uuid4())
    assert push(as_user("inspector1"), [rfi(device, i, "B1.5", "Mine", taken)]).json["results"][0]["status"] == "applied"
    stolen = push(as_user("inspector2"), [rfi(device, i, "B1.5", "Not theirs", taken)]).json["results"][0]
    moved = push(as_user("inspector1"), [rfi(device, i, "B2.3", "Elsewhere", taken)]).json["results"][0]
    unknown = push(as_user("lead"), [device.op(i, "B1.5", "rfi_closed", {"id": str(uuid.uuid4()), "closed": True})]
                   ).json["results"][0]
    assert [r["code"] for r in (stolen, moved, unknown)] == ["request_taken", "request_taken", "unknown_request"]


def test_a_tablet_pulls_the_teams_requests(as_user, prepared, device):
    i, request_id = prepared["inspection"], str(uuid.uuid4())
    push(as_user("inspector1"), [rfi(device, i, "B1.5", "Cleaning logs", request_id)])
    pulled = as_user("inspector2").get(f"/sync/pull?inspection={i}&cursor=0", headers={"X-Inspector-Sync": "1"}).json
    assert [(r["standard"], r["request_id"], r["text"]) for r in pulled["requests"]] == \
        [("B1.5", request_id, "Cleaning logs")]


# --- the merge screen and the report -------------------------------------------------------------

def test_the_merge_screen_flags_where_the_team_differs_from_the_self_assessment(db, as_user, prepared):
    """The demo's lead decided B1.1 compliant, B1.5 and B2.3 not compliant:
    B1.5 (self-assessed compliant) differs, B1.1 and B2.3 do not."""
    inspections.set_state(db, prepared["inspection"], "merging")
    lead = as_user("lead")
    page = lead.get(f"/inspections/{prepared['inspection']}/merge?only=all").get_data(as_text=True)
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<article class="merge-row" id="std-([^"]+)"(.*?)</article>',
                                                         page, re.S)}
    assert "Differs from self-assessment" in rows["B1.5"] and "Self-assessed by the program" in rows["B1.5"]
    assert all("Differs from self-assessment" not in rows[c] and "Self-assessed" in rows[c] for c in ("B1.1", "B2.3"))
    assert "Self-assessed" not in rows["B3.1"]
    only = lead.get(f"/inspections/{prepared['inspection']}/merge?only=differs").get_data(as_text=True)
    assert re.findall(r'<article class="merge-row" id="std-([^"]+)"', only) == ["B1.5"]


@pytest.mark.parametrize("self_verdict, decision, verdicts, differs", [
    (None, None, ["compliant"], False),
    ("compliant", None, [], False),
    ("compliant", None, ["compliant", None], False),
    ("compliant", None, ["compliant", "not_compliant"], True),   # undecided: any inspector's verdict
    ("compliant", "not_compliant", ["compliant"], True),          # decided: the lead's decision
    ("not_compliant", "not_compliant", ["compliant"], False),
])
def test_what_differs_from_the_self_assessment(self_verdict, decision, verdicts, differs):
    from inspector.domain.merge import differs_from_self
    assert differs_from_self(self_verdict, {"verdict": decision} if decision else None,
                             [{"verdict": v} for v in verdicts]) is differs


def test_the_report_says_where_the_team_differs_and_what_documents_are_missing(db, as_user, prepared, device):
    i = prepared["inspection"]
    inspector = as_user("inspector1")
    answered, still_open = str(uuid.uuid4()), str(uuid.uuid4())
    push(inspector, [rfi(device, i, "B1.5", "The cleaning logs of 2026", answered),
                     rfi(device, i, "B2.3", "The night-shift training records", still_open)])
    answer_as_program(db, prepared["link"], i, "B1.5", answered, "Attached to the quality manual, annex 4.")
    inspections.set_state(db, i, "merging")
    html = as_user("lead").get(f"/inspections/{i}/report").get_data(as_text=True)
    differs = html[html.index('id="self-h"'):html.index("</section>", html.index('id="self-h"'))]
    assert "B1.5" in differs and "B1.1" not in differs and "B2.3" not in differs
    assert re.search(r"B1\.5.*<td>Compliant</td><td>Not compliant</td>", differs, re.S)
    missing = html[html.index('id="missing-h"'):html.index("</section>", html.index('id="missing-h"'))]
    assert "Missing documents" in missing and "The night-shift training records" in missing
    assert "cleaning logs" not in missing


# --- offline: the documents per section and the bundle ----------------------------------------------

def test_the_inspection_page_offers_each_sections_documents_with_their_size(as_user, prepared):
    i, shas = prepared["inspection"], prepared["documents"]
    html = as_user("inspector1").get(f"/inspections/{i}").get_data(as_text=True)
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<li data-section-documents="([^"]+)".*?</li>', html, re.S)}
    # inspector1's sections hold B1 and B2 of the demo; the manual is in both, the ICU draft in B2 only.
    assert set(rows) == {"B1", "B2"}
    assert rows["B1"].count("/program-documents/") == 1 and shas["Quality manual"] in rows["B1"]
    assert shas["ICU agreement draft"] in rows["B2"] and rows["B2"].count("/program-documents/") == 2
    size = re.search(r"Store this section's documents \(([\d.]+) kB\)", rows["B2"])
    b1 = re.search(r"Store this section's documents \(([\d.]+) kB\)", rows["B1"])
    assert size and b1 and float(size.group(1)) > float(b1.group(1))


def test_the_offline_bundle_carries_the_self_assessment_and_the_documents_page(app, as_user, prepared):
    from inspector.app import offline
    i = prepared["inspection"]
    answer = as_user("inspector1").get(f"/inspections/{i}/offline-bundle", headers={"Accept-Encoding": "identity"})
    manifest, entries = offline.unframe(answer.data)
    pages = {e["url"]: e["body"].decode() for e in entries if not e["url"].startswith("/photos/")}
    assert "We are writing the agreement with ICU." in pages[f"/inspections/{i}/standards/B2.3"]
    assert "Quality manual" in pages[f"/inspections/{i}/program-documents"]
