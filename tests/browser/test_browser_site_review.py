"""The three journeys together in real Chromium, in three browser contexts:
an inspector records a deficiency offline and syncs; the lead consolidates
it, sends the draft citations and issues a link; the site, with no account,
saves a draft, reloads, submits with a PDF; the lead asks for more; the site
answers again; the lead accepts and finalizes; and the report's audit head
verifies with `inspector audit verify --head`."""
import re
import subprocess
import sys

from playwright.sync_api import expect

from tests.helpers import TABLET, log_in_by_cookie, make_available_offline, small_pdf

NOTE = "The ward pharmacist has no training record for handling cell therapy products."
PLAN = "All ward pharmacists complete the manufacturer's handling course by the end of March."
PDF = small_pdf("Training plan")


def citation(page, code):
    return page.locator(f'[id="cit-{code}"]')


def test_inspector_lead_and_site_from_finding_to_final_report(live_server, chromium, tmp_path):
    with live_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    base = f"{live_server.url}/inspections/{inspection}"

    # 1. The inspector, offline in the pharmacy, records a deficiency; it syncs once back online.
    tablet = chromium.new_context(viewport=TABLET)
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(base)
    make_available_offline(page)
    tablet.set_offline(True)
    page.goto(f"{base}/standards/B3.4")
    page.get_by_label("Not compliant", exact=True).check()
    page.get_by_label("Note").fill(NOTE)
    page.get_by_label("Note").blur()
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    tablet.close()

    # 2. The lead consolidates it, sends the draft citations and issues a link.
    lead_context = chromium.new_context(viewport=TABLET)
    lead = lead_context.new_page()
    log_in_by_cookie(lead, live_server, "lead")
    lead.goto(f"{base}/merge?section=B3")
    row = lead.locator('[id="std-B3.4"]')
    row.get_by_label("Not compliant", exact=True).check()
    row.get_by_role("button", name="Start from the inspectors' notes").click()  # the lead takes the note as the citation
    expect(row.locator("[data-save-state]")).to_have_text("Saved on this tablet")
    expect(lead.get_by_role("status")).to_have_text("All synced", timeout=20_000)
    lead.goto(base)
    lead.get_by_role("link", name="Site review").click()
    lead.get_by_role("button", name="Send draft citations to site").click()
    expect(lead.locator(".stage.current")).to_have_text("With the site")
    lead.get_by_label("Who it is for").fill("Sam Site")
    lead.get_by_label("Their email").fill("sam@northbridge.example")
    lead.get_by_label("Valid for (days)").fill("10")
    lead.get_by_role("button", name="Issue review link").click()
    link = lead.get_by_label("Link for Sam Site: copy it and send it to them").input_value()
    assert link.startswith(f"{live_server.url}/review/{inspection}/")

    # 3. The site, with no account: saves a draft, reloads, attaches a PDF, submits.
    site_context = chromium.new_context(viewport=TABLET)
    site = site_context.new_page()
    site.goto(link)
    expect(site.get_by_role("heading", level=1)).to_have_text("Draft citations")
    expect(citation(site, "B3.4")).to_contain_text(NOTE)       # the lead's citation, taken from the note
    expect(site.locator("body")).not_to_contain_text("Merge findings")
    codes = [c.removeprefix("cit-") for c in site.locator("article.citation").evaluate_all("els => els.map(e => e.id)")]
    for code in codes:
        citation(site, code).get_by_label("Corrective action plan").fill(PLAN if code == "B3.4" else f"Plan for {code}")
    citation(site, "B3.4").get_by_label("Target date").fill("2027-03-31")
    site.get_by_role("button", name="Save draft").click()
    expect(site.get_by_role("alert")).to_contain_text("Draft saved")
    site.reload()
    expect(citation(site, "B3.4").get_by_label("Corrective action plan")).to_have_value(PLAN)
    # A page saved as .pdf is refused beside its upload control; the page goes on working from there.
    fake = tmp_path / "not-really.pdf"
    fake.write_bytes(b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n")
    site.get_by_label(re.compile(r"\(B3\.4\): PDF, JPEG or PNG")).set_input_files(str(fake))
    site.get_by_role("button", name="Attach to B3.4").click()
    refused = site.get_by_label(re.compile(r"\(B3\.4\): PDF, JPEG or PNG"))
    expect(refused).to_have_accessible_description(re.compile("could not be read as one. Nothing was saved"))
    pdf = tmp_path / "training-plan.pdf"
    pdf.write_bytes(PDF)
    refused.set_input_files(str(pdf))
    site.get_by_role("button", name="Attach to B3.4").click()
    expect(site.get_by_role("alert")).to_contain_text("Attached training-plan.pdf")
    site.get_by_role("button", name="Submit response").click()
    expect(site.get_by_role("alert")).to_contain_text("Your response is submitted")

    # 4. The lead reads it beside its citation and asks for more.
    lead.reload()
    answer = citation(lead, "B3.4")
    expect(answer).to_contain_text(PLAN)
    expect(answer.get_by_role("link", name="training-plan.pdf")).to_be_visible()
    answer.get_by_label("More information needed").check()
    answer.get_by_label("Comment to the site").fill("Please attach the signed attendance list.")
    answer.get_by_role("button", name="Save review").click()
    expect(lead.get_by_role("alert")).to_contain_text("More information needed")

    # 5. The site answers again.
    site.reload()
    expect(citation(site, "B3.4")).to_contain_text("Please attach the signed attendance list.")
    citation(site, "B3.4").get_by_label("Corrective action plan").fill("Attendance list signed on 2 March.")
    site.get_by_role("button", name="Submit response").click()
    expect(site.get_by_role("alert")).to_contain_text("Your response is submitted")

    # 6. The lead accepts and finalizes; the report prints the audit head, which verifies.
    lead.reload()
    answer = citation(lead, "B3.4")
    expect(answer).to_contain_text("Attendance list signed on 2 March.")
    answer.get_by_label("Accepted").check()
    answer.get_by_role("button", name="Save review").click()
    lead.get_by_role("button", name="Finalize report").click()
    expect(lead.locator(".stage.current")).to_have_text("Final")
    lead.goto(f"{base}/report")
    head = re.search(r"Audit trail head: ([0-9a-f]{64})", lead.locator("body").inner_text()).group(1)
    verify = subprocess.run([sys.executable, "-m", "inspector.app.cli", "audit", "verify", "--head", head,
                             "--data", str(live_server.data_dir)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    site.reload()
    expect(site.locator("body")).to_contain_text("The report is final")
    site_context.close()
    lead_context.close()
