"""Before the visit, the whole journey in Chromium (issue 22, "Done when"),
on the demo's program: its renewal is being prepared, its inspection of two
years ago was on the first illustrative edition.

The lead issues a self-assessment link; the program, with no account,
self-assesses two sections, uploads a PDF linked to three standards, answers
the inspectors' request for information and submits; an inspector makes the
inspection available offline, stores a section's documents, goes offline,
reads the self-assessment and opens the PDF on a standard, raises a request
for information and records a verdict that differs from the program's own,
and syncs; the lead's merge screen flags the difference; and the renewal
shows what was cited last time, carried across the change of edition by
the shipped edition map."""
import contextlib
import re

import pytest
from playwright.sync_api import expect

from inspector.app.demo_renewal import PROGRAM
from inspector.domain.db import connect, database_path
from tests.browser.test_browser_preparation import shows_pdf
from tests.helpers import (TABLET, LiveServer, copy_data_dir, log_in_by_cookie, make_available_offline, read_only_db,
                           small_pdf)

SECTIONS = ("C1", "C2")
LINKED = ("C1.1", "C1.2", "C2.1")


@pytest.fixture
def server(tmp_path, seeded_db):
    data_dir = copy_data_dir(seeded_db, tmp_path / "data")
    db = connect(database_path(data_dir))
    try:
        renewal = db.conn.execute("SELECT id FROM inspections WHERE site_name = ? AND kind = 'renewal'",
                                  [PROGRAM]).fetchone()[0]
    finally:
        db.conn.close()
    server = LiveServer(data_dir).start()
    yield server, renewal
    server.stop()


def rows(server, sql, *params):
    with contextlib.closing(read_only_db(server.data_dir)) as db:
        return [tuple(r) for r in db.execute(sql, params).fetchall()]


def test_before_the_visit_from_the_link_to_the_merge_screen(server, chromium, tablet, tmp_path):
    server, renewal = server
    base = f"{server.url}/inspections/{renewal}"

    # The lead issues a self-assessment link for the program (on a tablet of the lead's own).
    lead_context = chromium.new_context(viewport=TABLET)
    lead = lead_context.new_page()
    log_in_by_cookie(lead, server, "lead")
    lead.goto(f"{base}/preparation")
    lead.get_by_label("Who it is for").fill("Paul Program (quality lead)")
    lead.get_by_label("Their email").fill("paul@lakeside.example")
    lead.get_by_role("button", name="Issue self-assessment link").click()
    link = lead.get_by_label("Link for Paul Program (quality lead): copy it and send it to them").input_value()
    assert re.fullmatch(rf"{re.escape(server.url)}/prepare/{renewal}/[^/]+", link)

    # The program, on a phone's browser of its own and with no account.
    program_context = chromium.new_context(viewport={"width": 390, "height": 844})
    program = program_context.new_page()
    program.goto(link)
    expect(program.get_by_role("heading", level=1)).to_have_text("Self-assessment")
    program.get_by_role("link", name=re.compile(rf"^{SECTIONS[0]}\b")).first.click()
    for section in SECTIONS:
        expect(program.get_by_role("heading", level=1)).to_contain_text(section)
        for standard in program.locator("article.citation").all():
            standard.get_by_label("Compliant", exact=True).check()
        code = program.locator("article.citation .code").first.inner_text()
        program.get_by_label(f"How we comply with {code}").fill(f"Described in our quality manual, for {code}.")
        save = f"Save and go to {SECTIONS[1]}" if section == SECTIONS[0] else "Save draft"
        program.get_by_role("button", name=save, exact=True).last.click()
    pdf = tmp_path / "collection-manual.pdf"
    pdf.write_bytes(small_pdf("Collection facility manual", pages=2))
    program.get_by_role("link", name="Documents", exact=True).click()
    program.get_by_label("File: PDF, JPEG or PNG, up to 10 MB").set_input_files(str(pdf))
    program.get_by_label("Title", exact=True).fill("Collection facility manual")
    program.get_by_label("Version", exact=True).fill("5")
    program.get_by_label("Standards it supports (codes, separated by commas)").fill(", ".join(LINKED))
    program.get_by_role("button", name="Upload", exact=True).click()
    expect(program.get_by_role("alert")).to_contain_text("Uploaded Collection facility manual.")
    # The inspectors' request on B3.4 (the demo's), answered in its section.
    program.goto(link + "/sections/B3")
    program.get_by_label("Your answer", exact=True).fill("The 2026 training records of the night-shift nurses are in QM-031.")
    program.get_by_role("button", name="Save draft", exact=True).last.click()
    program.goto(link)
    program.get_by_role("button", name="Submit self-assessment").click()
    expect(program.get_by_text(re.compile("submitted"))).not_to_have_count(0)
    assert rows(server, "SELECT self_assessment_submitted_at IS NOT NULL FROM inspections WHERE id = ?",
                renewal) == [(1,)]
    assert rows(server, "SELECT answer FROM request_answers WHERE inspection_id = ?", renewal) == [
        ("The 2026 training records of the night-shift nurses are in QM-031.",)]
    assert sorted(rows(server, "SELECT standard_code FROM crosswalk x JOIN program_documents p ON "
                               "p.inspection_id = x.inspection_id AND p.sha256 = x.sha256 WHERE x.inspection_id = ? "
                               "AND p.title = 'Collection facility manual' AND x.linked = 1", renewal)) == [
        (code,) for code in LINKED]
    program_context.close()

    # An inspector takes the inspection offline with the section's documents.
    page = tablet.new_page()
    log_in_by_cookie(page, server, "inspector2")
    page.goto(base)
    make_available_offline(page)
    section = page.locator('[data-section-documents="C1"]')
    section.get_by_role("button", name=re.compile("Store this section's documents")).click()
    expect(section.locator("[data-documents-state]")).to_have_text("Stored on this device.", timeout=20_000)

    tablet.set_offline(True)
    page.goto(f"{base}/standards/C1.1")
    expect(page.get_by_text("Described in our quality manual, for C1.1.")).to_be_visible()
    page.get_by_role("link", name="Collection facility manual").first.click()
    assert shows_pdf(page, page.url)  # offline, from the documents stored for C1
    page.goto(f"{base}/standards/C2.1")
    page.get_by_label("Request for information").fill("The apheresis operators' competency records for 2026")
    page.get_by_role("button", name="Send request").click()
    request = page.locator("[data-request-id]").filter(has_text="The apheresis operators' competency records")
    expect(request.locator("[data-request-sync]")).to_have_text("· Waiting to sync")
    page.goto(f"{base}/standards/C1.1")
    page.get_by_label("Not compliant", exact=True).check()
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    assert rows(server, "SELECT standard_code FROM requests WHERE inspection_id = ? AND text LIKE "
                        "'The apheresis operators%'", renewal) == [("C2.1",)]

    # The lead sees where the team differs from the program's own verdict.
    lead.goto(f"{base}/merge?only=differs")
    row = lead.locator("#std-C1\\.1")
    expect(row).to_contain_text("Differs from self-assessment")
    expect(row.locator(".self-assessed")).to_contain_text("Compliant")
    # What was cited two years ago, on the first edition's B8.10, shows on
    # this edition's B7.2.10, carried by the edition map.
    lead.goto(f"{base}/standards/B7.2.10")
    expect(lead.get_by_text("Emergency drugs at the bedside are not checked for expiry.")).to_be_visible()
    lead.goto(f"{base}/merge?only=cited_last_time")
    expect(lead.locator("#std-B7\\.2\\.10")).to_contain_text("Cited last time")
    lead_context.close()
