"""The program, on a phone or a tablet and with no account, self-assesses a standard
through its self-assessment link and uploads a PDF linked to it; the page
fits the phone's width and has no accessibility violations."""
import pytest
from playwright.sync_api import expect

from inspector.app.links import link_path
from inspector.domain import inspections, preparation, review, team, users
from inspector.domain.db import connect, database_path
from tests.browser.test_browser_accessibility import violations
from tests.helpers import PHONE, TABLET, off_the_side, small_pdf


@pytest.fixture
def program_link(live_server):
    """An inspection in Preparing and a self-assessment link for its program (its address, and the inspection)."""
    db = connect(database_path(live_server.data_dir))
    try:
        admin, lead = (users.by_username(db, u)["id"] for u in ("admin", "lead"))
        catalog_id = db.conn.execute("SELECT catalog_id FROM inspections ORDER BY id").fetchone()[0]
        ins = inspections.create(db, "Eastgate Cell Therapy Program", catalog_id, "2026-12-14", "2026-12-16", admin,
                                 state="preparing")
        team.add_member(db, ins, lead, "lead")
        link_id = review.issue_link(db, ins, "Pat Program", "pat@eastgate.example", 30, lead,
                                    purpose="self_assessment")
        secret = (live_server.data_dir / "secret_key").read_text().strip()
        section = preparation.progress(db, inspections.plain(db, ins))[0]["code"]
        return live_server.url + link_path(review.link(db, link_id), secret), ins, section
    finally:
        db.conn.close()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_the_program_self_assesses_a_standard_and_links_a_pdf(viewport, live_server, chromium, program_link, tmp_path):
    url, ins, section = program_link
    pdf = tmp_path / "quality-manual.pdf"
    pdf.write_bytes(small_pdf("Quality manual"))
    context = chromium.new_context(viewport=viewport, bypass_csp=True)  # CSP bypassed for the audit script only
    page = context.new_page()
    page.goto(url)
    page.get_by_role("link", name=section).first.click()
    standard = page.locator("article.citation").first
    code = standard.locator(".code").first.inner_text()
    standard.get_by_label("Compliant", exact=True).check()
    standard.get_by_label(f"How we comply with {code}").fill("Our SOP-12, signed by the director in 2026.")
    standard.get_by_label(f"Upload a document for {code}: PDF, JPEG or PNG").set_input_files(str(pdf))
    standard.get_by_label("Title").fill("Quality manual")
    standard.get_by_label("Version").fill("3.1")
    standard.get_by_role("button", name=f"Upload and link to {code}").click()
    expect(page.get_by_role("alert")).to_contain_text("Uploaded Quality manual.")
    standard = page.locator(f"#std-{code.replace('.', chr(92) + '.')}")
    expect(standard.get_by_label("Quality manual (version 3.1)")).to_be_checked()
    expect(standard.get_by_label(f"How we comply with {code}")).to_have_value(
        "Our SOP-12, signed by the director in 2026.")
    assert off_the_side(page) == []
    assert violations(page) == []
    db = connect(database_path(live_server.data_dir))
    try:
        assert preparation.self_assessment(db, ins)[code]["verdict"] == "compliant"
        [doc] = preparation.documents(db, ins)
        assert (doc["title"], doc["version"], doc["standards"]) == ("Quality manual", "3.1", [code])
    finally:
        db.conn.close()
    context.close()
