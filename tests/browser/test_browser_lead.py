"""The lead's evening in real Chromium: open Merge findings, show only the
disagreements, settle one and write its citation, lose the network, settle
another, reload, come back online; the draft report and its PDF then hold
both citations, and no inspector's private note."""
import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.helpers import log_in_by_cookie, make_available_offline

CHART = "The organisational chart in the quality manual is out of date and uncontrolled."


def row(page, code):
    return page.locator(f'[id="std-{code}"]')


def test_the_lead_settles_disagreements_online_and_offline_and_the_report_holds_them(live_server, tablet):
    with live_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "lead")
    page.goto(f"{live_server.url}/inspections/{inspection}")
    make_available_offline(page)

    page.get_by_role("link", name="Merge findings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge findings")
    page.get_by_role("link", name="Disagreements only").click()
    expect(page).to_have_url(f"{live_server.url}/inspections/{inspection}/merge?only=disagreements")
    expect(page.locator(".merge-row")).to_have_count(2)          # B1.3 and D7.4.1

    chart = row(page, "B1.3")
    expect(chart).to_contain_text("Iris Clinical")
    expect(chart).to_contain_text("Ines Quality")
    chart.get_by_label("Not compliant", exact=True).check()
    chart.get_by_label("Citation").fill(CHART)
    expect(chart.locator("[data-save-state]")).to_have_text(re.compile("^Saved on this tablet|^Saved and synced"))
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=20_000)

    tablet.set_offline(True)
    handoff = row(page, "D7.4.1")
    handoff.get_by_label("Not compliant", exact=True).check()
    expect(handoff.locator("[data-save-state]")).to_have_text(re.compile("^Saved on this tablet"))
    # Nothing of the inspectors' private notes is written for the lead: the
    # citation starts empty, and the notes come in only when asked for.
    expect(handoff.get_by_label("Citation")).to_have_value("")
    handoff.get_by_role("button", name="Start from the inspectors' notes").click()
    expect(handoff.get_by_label("Citation")).to_have_value(re.compile("Second verifier's signature missing"))
    expect(handoff.locator("[data-save-state]")).to_have_text(re.compile("^Saved on this tablet"))
    expect(page.get_by_role("status")).to_contain_text("waiting")
    page.reload()                                                 # offline: the stored page, with this tablet's decisions
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge findings")
    expect(row(page, "D7.4.1").get_by_label("Not compliant", exact=True)).to_be_checked()
    expect(row(page, "B1.3").get_by_label("Citation")).to_have_value(CHART)

    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    html = page.request.get(f"{live_server.url}/inspections/{inspection}/report").text()
    assert CHART in html
    assert "Second verifier&#39;s signature missing on two of ten thaw records." in html  # the prefilled citation
    pdf = page.request.get(f"{live_server.url}/inspections/{inspection}/report.pdf").body()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")
    assert "Citation 1: B1.3" in text and "Citation 5: D7.4.1" in text  # numbered in catalog order
    assert "organisational chart in the quality manual is out of date" in text
    assert "Second verifier" in text
    assert "intranet names the director" not in text and "intranet names the director" not in html  # Iris's private note
