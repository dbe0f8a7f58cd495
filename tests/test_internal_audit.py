"""An internal audit: the program's own staff audit it with the app's usual
accounts (a lead and inspectors); it has no site review and no committee,
and every form of its report says it is not an accreditation inspection."""
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from inspector.domain import access, inspections, programs, review, team, users

MARK = "Internal audit: not an accreditation inspection"


def uid(db, username):
    return users.by_username(db, username)["id"]


@pytest.fixture
def audit_id(as_user, db, demo_inspection):
    """An internal audit of the demo's program, made by the lead in the form, inspector1 on its team."""
    program = inspections.plain(db, demo_inspection)["program_id"]
    response = as_user("lead").post("/inspections/new", data={
        "program_id": str(program), "kind": "internal", "body": "internal", "scale": "fact", "catalog_id": "1",
        "starts_on": "2026-02-02", "ends_on": "2026-02-03"})
    assert response.status_code == 302, response.get_data(as_text=True)
    inspection_id = int(response.location.split("/")[2])
    team.add_member(db, inspection_id, uid(db, "inspector1"), "inspector")
    return inspection_id


def test_its_cycle_has_no_site_review_and_no_committee(db, audit_id):
    ins = inspections.plain(db, audit_id)
    assert programs.is_internal_audit(ins) and ins["kind"] == ins["body"] == "internal"
    assert access.path(ins) == ["preparing", "on_site", "merging", "corrections", "closed"]
    inspections.set_state(db, audit_id, "merging")
    assert access.forward_label(inspections.plain(db, audit_id)) == "Freeze findings and start corrections"


def test_no_site_review_link_is_issued_for_it(as_user, db, audit_id):
    lead = as_user("lead")
    page = lead.get(f"/inspections/{audit_id}/review").get_data(as_text=True)
    assert "An internal audit has no site review" in page and "Issue review link" not in page
    response = lead.post(f"/inspections/{audit_id}/links", data={"issued_to": "Sam", "email": "sam@example.org",
                                                                 "days": "7"})
    assert response.status_code == 302
    assert review.links_of(db, audit_id) == []


def test_its_report_is_marked_in_the_page_the_pdf_the_csv_and_the_xlsx(as_user, audit_id):
    lead = as_user("lead")
    assert MARK in lead.get(f"/inspections/{audit_id}/report").get_data(as_text=True)
    pdf = PdfReader(io.BytesIO(lead.get(f"/inspections/{audit_id}/report.pdf").get_data()))
    assert MARK in re.sub(r"\s+", " ", pdf.pages[0].extract_text())
    lines = lead.get(f"/inspections/{audit_id}/report.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == MARK and lines[1].startswith("Code,Standard,")
    title = load_workbook(io.BytesIO(lead.get(f"/inspections/{audit_id}/report.xlsx").get_data())).active["A1"].value
    assert title.endswith(f"({MARK})")


def test_an_accreditation_inspections_report_carries_no_such_mark(as_user, demo_inspection):
    lead = as_user("lead")
    assert MARK not in lead.get(f"/inspections/{demo_inspection}/report").get_data(as_text=True)
    assert lead.get(f"/inspections/{demo_inspection}/report.csv").get_data(as_text=True).lstrip("\ufeff").startswith(
        "Code,")
