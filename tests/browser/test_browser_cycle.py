"""The whole cycle after the visit, as FACT and as JACIE run it, in real
Chromium with four people in four browser contexts: an inspector records a
deficiency offline; the lead merges and sends the draft citations; the site
comments on their factual accuracy (and may change nothing else); the lead
sends them to the committee; the coordinator records its decision with due
dates; the site submits corrections with evidence; one round of More
information needed, then Accepted; the lead closes the inspection. The final
PDF holds the site's explanation, the due dates and the outcome and no
inspector's private note, its audit head verifies, and a correction past its
due date shows Overdue."""
import io
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from inspector.domain import inspections, team, users
from inspector.domain.db import connect, database_path, transaction
from tests.helpers import TABLET, log_in_by_cookie, make_available_offline, small_pdf

NOTE = "The ward pharmacist has no training record for handling cell therapy products."
PRIVATE = "intranet names the director"  # a note of the demo the lead never takes into a citation
COMMENT = "Two of the three pharmacists hold the record: it is in the pharmacy's own file."
EXPLANATION = "All ward pharmacists completed the manufacturer's handling course in March."
MORE = "Please attach the signed attendance list."
AGAIN = "Attendance list signed on 2 March; attached."

# What each body's pages say.
BODIES = {
    "fact": {"verdict": "Not compliant", "citations": "citations", "Citation": "Citation",
             "outcome": "Accreditation deferred", "scale": 3},
    "jacie": {"verdict": "Partially compliant", "citations": "deficiencies", "Citation": "Deficiency",
              "outcome": "Certification deferred", "scale": 4},
}


def citation(page, code):
    return page.locator(f'[id="cit-{code}"]')


def inspection_for(server, body):
    """FACT: the demo's inspection. JACIE: a new one with the same team and sections."""
    db = connect(database_path(server.data_dir))
    try:
        if body == "fact":
            return db.conn.execute("SELECT id FROM inspections WHERE body = 'fact'").fetchone()[0]
        uid = {u: users.by_username(db, u)["id"] for u in ("admin", "lead", "inspector1", "inspector3")}
        with transaction(db):
            i = inspections.create(db, "Southbank Centre (JACIE)", 1, "2026-11-30", "2026-12-01", uid["admin"],
                                   body="jacie")
            team.save(db, i, {uid["lead"]: ("lead", set()), uid["inspector1"]: ("inspector", {"B3"}),
                              uid["inspector3"]: ("inspector", {"B4"})}, uid["admin"])
        return i
    finally:
        db.conn.close()


def confirm(page, button):
    """An irreversible step: the page says what is open and asks first."""
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{button}?")
    page.get_by_role("button", name=re.compile(r"^Yes, ")).click()


@pytest.mark.parametrize("body", ["fact", "jacie"])
def test_the_cycle_from_finding_to_closed_inspection(live_server, chromium, tmp_path, body):
    say = BODIES[body]
    inspection = inspection_for(live_server, body)
    base = f"{live_server.url}/inspections/{inspection}"

    # 1. The inspector, offline, records a deficiency on the body's scale; it syncs once back online.
    tablet = chromium.new_context(viewport=TABLET)
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(base)
    make_available_offline(page)
    tablet.set_offline(True)
    page.goto(f"{base}/standards/B3.4")
    expect(page.locator("input[name=verdict]")).to_have_count(say["scale"])
    page.get_by_label(say["verdict"], exact=True).check()
    page.get_by_label("Note").fill(NOTE)
    page.get_by_label("Note").blur()
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)

    # 2. The lead merges (the body's words), sends the draft to the site and issues a link.
    lead_context = chromium.new_context(viewport=TABLET)
    lead = lead_context.new_page()
    log_in_by_cookie(lead, live_server, "lead")
    lead.goto(f"{base}/merge?only=all&section=B3")
    row = lead.locator('[id="std-B3.4"]')
    row.get_by_label(say["verdict"], exact=True).check()
    row.get_by_role("button", name="Start from the inspectors' notes").click()
    expect(row.get_by_label(say["Citation"])).to_have_value(NOTE)
    expect(row.locator("[data-save-state]")).to_have_text(re.compile("^Saved (on this tablet|and synced)"))
    expect(lead.get_by_role("status")).to_have_text("All synced", timeout=20_000)
    lead.goto(f"{base}/review")
    if body == "jacie":  # made on site for this test (the demo's FACT inspection is merging already)
        lead.get_by_role("button", name="Start merging findings").click()
        expect(lead.locator(".stage.current")).to_have_text("Merging findings")
    confirm(lead, "Send draft citations to site")
    expect(lead.locator(".stage.current")).to_have_text("Factual accuracy review")
    lead.get_by_label("Who it is for").fill("Sam Site")
    lead.get_by_label("Their email").fill("sam@site.example")
    lead.get_by_role("button", name="Issue review link").click()
    link = lead.get_by_label("Link for Sam Site: copy it and send it to them").input_value()

    # 3. The site comments on factual accuracy only.
    site_context = chromium.new_context(viewport=TABLET)
    site = site_context.new_page()
    site.goto(link)
    expect(site.get_by_role("heading", level=1)).to_have_text(f"Draft {say['citations']}")
    expect(site.locator(".notice").first).to_contain_text("Make no changes for the inspection until the committee")
    expect(citation(site, "B3.4").get_by_label("Explanation of correction")).to_have_count(0)
    citation(site, "B3.4").get_by_label("Factual accuracy comment").fill(COMMENT)
    site.get_by_role("button", name="Send comments").click()
    expect(site.get_by_role("alert")).to_contain_text("Your comments are sent")

    # 4. The lead reads it and sends the draft to the committee.
    lead.reload()
    expect(citation(lead, "B3.4")).to_contain_text(COMMENT)
    confirm(lead, "Send to committee")
    expect(lead.locator(".stage.current")).to_have_text("Committee review")

    # 5. The coordinator records the committee's decision: due dates, one already past.
    office_context = chromium.new_context(viewport=TABLET)
    office = office_context.new_page()
    log_in_by_cookie(office, live_server, "coordinator")
    office.goto(live_server.url + "/")
    office.get_by_role("link", name="Committee decision").first.click()
    office.goto(f"{base}/committee")
    office.get_by_label("Committee date").fill("2026-12-01")
    office.get_by_label("Outcome").select_option(label=say["outcome"])
    codes = [c.removeprefix("cit-") for c in office.locator("fieldset.citation").evaluate_all(
        "els => els.map(e => e.id)")]
    assert "B3.4" in codes
    for code in codes:
        citation(office, code).get_by_label("Confirmed").check()
        citation(office, code).get_by_label("Correction due").fill("2099-01-31" if code == "B3.4" else "2026-12-02")
    office.get_by_label(re.compile("These are the committee's decisions")).check()
    office.get_by_role("button", name="Record the committee's decision").click()
    expect(office.get_by_role("alert")).to_contain_text("The committee's decision is recorded")
    expect(office.locator(".stage.current")).to_have_text("Corrections")

    # 6. The site submits its correction with evidence; what it typed survives attaching the file.
    site.reload()
    expect(site.get_by_role("heading", level=1)).to_have_text("Corrections")
    expect(site.locator("body")).to_contain_text("Do not upload patient-identifiable information")
    others = [c for c in codes if c != "B3.4"]
    if others:
        expect(citation(site, others[0])).to_contain_text("Overdue")
    b34 = citation(site, "B3.4")
    expect(b34).to_contain_text("correction due 2099-01-31")
    b34.get_by_label("Explanation of correction").fill(EXPLANATION)
    # A page saved as .pdf is refused beside its upload control, and the typing stays.
    fake = tmp_path / "not-really.pdf"
    fake.write_bytes(b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n")
    b34.get_by_label(re.compile("Evidence of implementation for B3.4")).set_input_files(str(fake))
    b34.get_by_role("button", name="Attach to B3.4").click()
    refused = citation(site, "B3.4").get_by_label(re.compile("Evidence of implementation for B3.4"))
    expect(refused).to_have_accessible_description(re.compile("Nothing was saved from this file"))
    expect(citation(site, "B3.4").get_by_label("Explanation of correction")).to_have_value(EXPLANATION)
    b34 = citation(site, "B3.4")
    pdf = tmp_path / "training-plan.pdf"
    pdf.write_bytes(small_pdf("Training plan"))
    b34.get_by_label(re.compile("Evidence of implementation for B3.4")).set_input_files(str(pdf))
    b34.get_by_role("button", name="Attach to B3.4").click()
    expect(site.get_by_role("alert")).to_contain_text("Attached training-plan.pdf")
    expect(citation(site, "B3.4").get_by_label("Explanation of correction")).to_have_value(EXPLANATION)
    site.get_by_role("button", name="Submit response").click()
    if others:  # other citations unanswered: it says so and asks first
        expect(site.locator("#confirm-submit")).to_contain_text("still")
        site.get_by_role("button", name="Submit the answered ones").click()
    expect(site.get_by_role("alert")).to_contain_text("Your response is submitted")

    # 7. One round of More information needed, then Accepted.
    lead.reload()
    answer = citation(lead, "B3.4")
    expect(answer).to_contain_text(EXPLANATION)
    expect(answer.get_by_role("link", name="training-plan.pdf")).to_be_visible()
    answer.get_by_label("More information needed").check()
    answer.get_by_label("Comment to the site").fill(MORE)
    answer.get_by_role("button", name="Save review").click()
    expect(lead.get_by_role("alert")).to_contain_text("More information needed")
    site.reload()
    expect(citation(site, "B3.4")).to_contain_text(MORE)
    citation(site, "B3.4").get_by_label("Explanation of correction").fill(AGAIN)
    site.get_by_role("button", name="Submit response").click()
    if others:
        site.get_by_role("button", name="Submit the answered ones").click()
    expect(site.get_by_role("alert")).to_contain_text("Your response is submitted")
    lead.reload()
    answer = citation(lead, "B3.4")
    expect(answer).to_contain_text(AGAIN)
    answer.get_by_label("Accepted").check()
    answer.get_by_role("button", name="Save review").click()
    expect(lead.get_by_role("alert")).to_contain_text("Accepted")

    # 8. Closed; the final report is a deliverable that verifies.
    confirm(lead, "Close inspection")
    expect(lead.locator(".stage.current")).to_have_text("Closed")
    pdf_bytes = lead.request.get(f"{base}/report.pdf").body()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes)).pages).replace("\n", " ")
    assert "Inspection report" in text and "DRAFT" not in text
    assert AGAIN in text and "2099-01-31" in text and say["outcome"] in text
    assert PRIVATE not in text
    html = lead.request.get(f"{base}/report").text()
    head = re.search(r"Audit trail head: <code class=\"hash\">([0-9a-f]{64})", html).group(1)
    verify = subprocess.run([sys.executable, "-m", "inspector.app.cli", "audit", "verify", "--head", head,
                             "--data", str(live_server.data_dir)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    site.reload()
    expect(site.locator("body")).to_contain_text("The inspection is closed")
    for context in (tablet, lead_context, site_context, office_context):
        context.close()
