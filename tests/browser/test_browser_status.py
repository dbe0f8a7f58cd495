"""Knowing where you stand: the header says `Offline` when the browser is,
when the device last synced, stays in view on a phone, and keeps its
height whatever the status says (no layout shift)."""
import re

import pytest
from playwright.sync_api import expect

from tests.helpers import PHONE, TABLET, demo_inspection_id, log_in_by_cookie, off_the_side

# Cumulative layout shift of the page's whole life, as Lighthouse sums it
# (shifts without recent input); read after the status has settled.
CLS = """new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) total += e.value;
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(total), 300);
})"""


def test_offline_and_last_synced(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}/standards/B6.2")
    status = page.get_by_role("status")
    expect(status).to_have_text("All synced", timeout=15_000)
    expect(page.locator("#last-synced")).to_have_text(re.compile(r"^Last synced \d{1,2}:\d{2}"))

    tablet.set_offline(True)
    expect(status).to_have_text("Offline")  # not "All synced": an offline tablet cannot know
    page.get_by_label("Compliant", exact=True).check()
    expect(status).to_have_text("Offline · 1 change waiting")
    expect(page.locator("#last-synced")).to_contain_text("Last synced")  # still the last good round

    tablet.set_offline(False)
    expect(status).to_have_text("All synced", timeout=30_000)


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_header_stays_in_view_and_keeps_its_height(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}/standards/B6.2")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    assert page.evaluate(CLS) < 0.01

    header = page.locator("header.top")
    height = header.bounding_box()["height"]
    # Compact: brand, status, who and Log out; below, when it last synced and Sent from this device.
    assert height <= (110 if viewport is PHONE else 80), height
    for text in ["Checking changes on this device…", "Offline · 12 changes waiting"]:
        page.evaluate("t => { document.getElementById('sync-status').textContent = t; }", text)
        assert header.bounding_box()["height"] == height, text
        assert off_the_side(page) == [], text
    # A problem's long message is read in full rather than cut short: it may grow the header.
    page.evaluate("t => { document.getElementById('sync-status').textContent = t; }",
                  "Another user is logged in: log in again as the inspector who made these changes to sync them "
                  "(12 changes kept on this device)")
    assert page.evaluate("() => { const el = document.getElementById('sync-status');"
                         " return el.scrollHeight <= el.clientHeight && el.scrollWidth <= el.clientWidth; }")
    assert off_the_side(page) == []

    assert page.evaluate("() => { window.scrollTo(0, document.body.scrollHeight); return window.scrollY; }") > 0
    box = header.bounding_box()
    assert box["y"] == 0 and page.get_by_role("status").is_visible()
    context.close()
