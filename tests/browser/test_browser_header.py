"""The phone header never cuts the sync badge short (issue 24 item 9): at
phone and tablet size, light and dark, each status the app shows is read in
full (wrapped, not clipped), the header stays axe clean; and an inspector's
standard is read-only, with the reason, once the inspection no longer takes
findings."""
import pytest
from playwright.sync_api import expect

from inspector.domain import inspections
from inspector.domain.db import connect, database_path, transaction
from tests.helpers import PHONE, TABLET, demo_inspection_id, log_in_by_cookie, off_the_side
from test_browser_accessibility import violations

CLIPPED = """() => {
  const el = document.getElementById("sync-status");
  return { text: el.textContent, clipped: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight,
           height: el.getBoundingClientRect().height };
}"""
# Every everyday status, as sync.status() words them, at the largest counts a day gives.
STATUSES = ["Offline · 1 change waiting", "Offline · 128 changes waiting", "Syncing 128 changes…",
            "128 changes waiting", "12 changes refused", "Checking changes on this device…"]
SIZES = [(TABLET, "light"), (PHONE, "light"), (TABLET, "dark"), (PHONE, "dark")]


@pytest.mark.parametrize("viewport, scheme", SIZES, ids=["tablet", "phone", "tablet-dark", "phone-dark"])
def test_the_sync_badge_is_never_cut_short(live_server, chromium, viewport, scheme):
    context = chromium.new_context(viewport=viewport, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}/standards/B6.2")
    status = page.get_by_role("status")
    expect(status).to_have_text("All synced", timeout=15_000)
    # The real one first: offline with a change waiting.
    context.set_offline(True)
    page.get_by_label("Compliant", exact=True).check()
    expect(status).to_have_text("Offline · 1 change waiting")
    seen = page.evaluate(CLIPPED)
    assert not seen["clipped"], seen
    assert violations(page) == [] and off_the_side(page) == []
    height = page.locator("header.top").bounding_box()["height"]
    for text in STATUSES:
        page.evaluate("t => { const el = document.getElementById('sync-status'); el.textContent = t;"
                      " el.dataset.state = t.includes('refused') ? 'problem' : 'waiting'; }", text)
        seen = page.evaluate(CLIPPED)
        assert not seen["clipped"], seen
        assert page.locator("header.top").bounding_box()["height"] == height, text  # no shift: two lines fit
        assert off_the_side(page) == [], text
    context.set_offline(False)
    context.close()


def test_an_inspectors_standard_is_read_only_with_the_reason_once_findings_are_closed(live_server, chromium):
    inspection = demo_inspection_id(live_server.data_dir)
    db = connect(database_path(live_server.data_dir))
    try:
        with transaction(db):
            inspections.set_state(db, inspection, "factual_accuracy")
    finally:
        db.conn.close()
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{inspection}/standards/B6.2")
    why = page.locator("#read-only-why")
    expect(why).to_be_visible()
    expect(why).to_have_text("Read only. The inspection is factual accuracy review: findings can no longer change.")
    assert why.bounding_box()["y"] < 844 * 2  # near the top of the form on a phone, not past the end
    expect(page.get_by_label("Compliant", exact=True)).to_be_disabled()
    expect(page.get_by_label("Note")).to_be_disabled()
    assert violations(page) == [] and off_the_side(page) == []
    context.close()
