"""The draft report: a cover, the draft citations numbered in catalog order,
released photos only, suggestions; PDF, CSV and XLSX downloads; and never an
inspector's private note (asserted on the bytes of every format)."""
import csv
import io
import re
import zipfile

import pytest
from pypdf import PdfReader

from inspector.domain import users
from tests.helpers import Device, push

from test_merge import DEMO_NOTES


def report(client, inspection, suffix=""):
    response = client.get(f"/inspections/{inspection}/report{suffix}")
    assert response.status_code == 200
    return response


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def xlsx_text(data):
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return "\n".join(book.read(name).decode("utf-8") for name in book.namelist() if name.endswith(".xml"))


def test_the_draft_report_numbers_citations_in_catalog_order(as_user, demo_inspection):
    html = report(as_user("lead"), demo_inspection).get_data(as_text=True)
    assert "<h1" in html and "Draft report" in html
    numbered = re.findall(r'Citation (\d+): <span class="code">([^<]+)</span>', html)
    assert numbered == [("1", "B1.5"), ("2", "B2.3"), ("3", "B7.2.10")]
    assert "There is no written agreement guaranteeing transfer to intensive care" in html
    assert html.index("Draft citations") < html.index("Suggestions")
    assert "Consider a monthly check of the emergency boxes" in html
    for word in ("Northbridge University Hospital", "Lena Lead", "Iris Clinical", "illustrative"):
        assert word in html
    assert re.search(r"<th scope=\"row\">Not compliant</th><td>3</td>", html)


def test_only_released_photos_are_in_the_report(as_user, db, demo_inspection):
    html = report(as_user("lead"), demo_inspection).get_data(as_text=True)
    shown = set(re.findall(r'/photos/([0-9a-f]{64})', html))
    released = {r[0] for r in db.conn.execute("SELECT sha256 FROM photo_releases WHERE released = 1")}
    dewar = db.conn.execute("SELECT sha256 FROM finding_photos WHERE standard_code = 'D8.2'").fetchone()[0]
    assert shown == released and len(shown) == 2 and dewar not in shown


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx", ".pdf"])
def test_private_notes_and_unreleased_captions_are_in_no_report_format(as_user, db, demo_inspection, suffix):
    """A photo the lead releases goes out with its caption (the report shows
    what it is); notes, and the captions of photos kept back, never do."""
    from inspector.app import demo
    data = report(as_user("lead"), demo_inspection, suffix).data
    text = {"": lambda d: d.decode(), ".csv": lambda d: d.decode("utf-8-sig"), ".xlsx": xlsx_text,
            ".pdf": pdf_text}[suffix](data).replace("\n", " ")
    assert "B2.3" in text
    released = {r[0] for r in db.conn.execute("SELECT f.caption FROM finding_photos f JOIN photo_releases r "
                                              "ON r.inspection_id = f.inspection_id AND r.standard_code = "
                                              "f.standard_code AND r.sha256 = f.sha256 AND r.released = 1")}
    kept_back = [f[4] for f in demo.FINDINGS if f[4] and f[4] not in released]
    assert kept_back and released
    for private in DEMO_NOTES + kept_back:
        assert private not in text, (suffix, private)
    if suffix in ("", ".pdf"):
        assert all(caption in text for caption in released)


def test_the_csv_has_one_row_per_standard_with_every_inspectors_verdict(as_user, db, demo_inspection):
    response = report(as_user("lead"), demo_inspection, ".csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:7] == ["Code", "Standard", "Consolidated verdict", "Citation", "Suggestion", "Due date", "Status"]
    assert header[7:] == ["Verdict: Ines Quality", "Verdict: Iris Clinical", "Verdict: Ivo Processing"]
    assert [r[0] for r in body] == [r[0] for r in db.conn.execute(
        "SELECT code FROM standards WHERE catalog_id = 1 AND depth > 0 ORDER BY position")]
    b13 = dict(zip(header, next(r for r in body if r[0] == "B1.3")))
    assert (b13["Verdict: Iris Clinical"], b13["Verdict: Ines Quality"], b13["Consolidated verdict"]) == (
        "Compliant", "Not compliant", "Not decided")  # listed as such, never counted as a verdict


def test_the_xlsx_opens_with_the_same_table(as_user, demo_inspection):
    from openpyxl import load_workbook
    data = report(as_user("lead"), demo_inspection, ".xlsx").data
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == "Code" and sheet["C2"].value == "Consolidated verdict"
    b15 = next(row for row in sheet.iter_rows(min_row=3, values_only=True) if row[0] == "B1.5")
    assert b15[2] == "Not compliant" and b15[3].startswith("The written agreement")


def test_a_spreadsheet_formula_in_a_citation_is_written_as_text(as_user, demo_inspection):
    lead = as_user("lead")
    push(lead, [Device().op(demo_inspection, "D8.2", "citation", "=HYPERLINK(\"http://evil\")")])
    data = report(lead, demo_inspection, ".csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in data


def test_the_pdf_is_a_real_pdf_with_the_citations(as_user, demo_inspection):
    response = report(as_user("lead"), demo_inspection, ".pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    text = pdf_text(response.data).replace("\n", " ")
    assert "Draft report" in text and "Citation 1: B1.5" in text and "Citation 3: B7.2.10" in text
    assert "Suggestions" in text




def test_the_report_is_a_draft_until_the_committee_decides_then_a_deliverable(as_user, db, demo_inspection):
    from inspector.domain import committee, inspections, review
    lead = as_user("lead")
    html = report(lead, demo_inspection).get_data(as_text=True)
    assert 'class="report-draft"' in html and ">Draft report</h1>" in html
    assert "FACT-2026-1" in html and "Not issued yet" in html
    assert "Appendix: verifying this report" in html and "Compliance by section" in html
    assert "Standards not decided" in html and "Team leader: Lena Lead" in html
    # Through the factual accuracy review and the committee to corrections.
    for state in ("merging", "factual_accuracy", "committee"):
        inspections.move(db, inspections.plain(db, demo_inspection), state, user_id=users.by_username(db, "lead")["id"])
    ins = inspections.plain(db, demo_inspection)
    cited, _ = review.citations(db, ins)
    form = {"committee_date": "2026-12-01", "outcome": "deferred"}
    for c in cited:
        form |= {f"decision-{c['code']}": "confirmed", f"due-{c['code']}": "2027-03-01"}
    form[f"decision-{cited[0]['code']}"] = "amended"
    form[f"text-{cited[0]['code']}"] = "Amended by the committee: the agreement must be renewed."
    decided, errors = committee.check(ins, cited, form)
    assert errors == {}
    coordinator = users.create(db, "coord", "coordinator", "x-long-password", "Cora Coordinator")
    committee.record(db, ins, coordinator, decided)
    final = report(lead, demo_inspection).get_data(as_text=True)
    assert 'class="report-draft"' not in final and ">Inspection report</h1>" in final
    assert "Accreditation deferred" in final and "correction due 2027-03-01" in final
    assert "As amended: Amended by the committee" in final
    assert "recorded by Cora Coordinator" in final and re.search(r"Version</dt><dd>3, issued \d{4}-\d\d-\d\d", final)
    # The coordinator reads the report from the committee's step on; the CSV says what is due.
    assert as_user("coord").get(f"/inspections/{demo_inspection}/report").status_code == 200
    rows = list(csv.reader(io.StringIO(report(lead, demo_inspection, ".csv").data.decode("utf-8-sig"))))
    b15 = dict(zip(rows[0], next(r for r in rows if r[0] == cited[0]["code"])))
    assert (b15["Due date"], b15["Status"]) == ("2027-03-01", "Open")
