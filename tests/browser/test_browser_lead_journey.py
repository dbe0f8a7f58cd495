"""The lead's rough edges (issue 24 items 10-14) in real Chromium: the merge
screen opens on what needs deciding, the filter clicked is the current one,
a decision says when it has synced, Save review keeps the lead at the
citation, what changed since a decision is said and can be acknowledged,
captions show beside photos, and the offline draft report says when it was
taken."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser_accessibility import violations
from tests.conftest import make_app
from tests.helpers import (PHONE, TABLET, LiveServer, copy_data_dir, demo_inspection_id, log_in_by_cookie,
                           log_in_test_client, off_the_side, user_id)
from tests.test_site_review import CITED, issue, save, send_to_site, to_corrections


def merge_rows(page):
    return page.locator(".merge-row")


def row(page, code):
    return page.locator(f'[id="std-{code}"]')


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_merge_screen_opens_on_what_needs_deciding_and_marks_the_filter_clicked(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport, bypass_csp=True)  # axe is injected inline
    page = context.new_page()
    log_in_by_cookie(page, live_server, "lead")
    merge = f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}/merge"
    page.goto(merge)
    expect(merge_rows(page)).to_have_count(6)
    filters = page.get_by_role("navigation", name="Filter standards")
    current = filters.locator('[aria-current="page"]')
    expect(current).to_have_text("Needs decision")
    expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
    assert violations(page) == [] and off_the_side(page) == []
    height = page.evaluate("document.documentElement.scrollHeight")

    filters.get_by_role("link", name="All standards").click()    # an htmx swap, not a page load
    expect(page).to_have_url(f"{merge}?only=all")
    expect(merge_rows(page)).to_have_count(258)
    expect(current).to_have_text("All standards")
    expect(current).to_be_focused()                               # the focus stays on the filter clicked
    assert page.evaluate("document.documentElement.scrollHeight") > 10 * height
    filters.get_by_role("link", name="Disagreements only").click()
    expect(merge_rows(page)).to_have_count(2)
    expect(current).to_have_text("Disagreements only")
    expect(filters.locator('[aria-current="page"]')).to_have_count(1)
    filters.get_by_role("link", name="Needs decision").click()
    expect(page).to_have_url(merge)
    expect(merge_rows(page)).to_have_count(6)
    expect(current).to_have_text("Needs decision")
    assert violations(page) == []
    context.close()


def test_a_decision_says_saved_and_synced_once_it_has_synced(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "lead")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}/merge")
    d8 = row(page, "D8.2")
    state = d8.locator("[data-save-state]")
    expect(state).to_have_text("Not decided yet")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=20_000)
    tablet.set_offline(True)
    d8.get_by_label("Not compliant", exact=True).check()
    expect(state).to_have_text(re.compile("^Saved on this tablet"))
    expect(page.get_by_role("status")).to_contain_text("waiting")
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    expect(state).to_have_text("Saved and synced")                 # without a reload
    with live_server.db() as db:
        assert db.execute("SELECT verdict FROM decisions WHERE inspection_id = ? AND standard_code = 'D8.2'",
                          [inspection]).fetchone()[0] == "not_compliant"


@pytest.fixture
def corrections_submitted(tmp_path, seeded_db):
    """A server on the demo in its corrections, the site's round 1 submitted
    for every draft citation: the lead has a Save review per citation."""
    data = copy_data_dir(seeded_db, tmp_path / "data")
    app = make_app(data)
    lead = log_in_test_client(app.test_client(), user_id(data, "lead"))
    inspection = demo_inspection_id(data)
    send_to_site(lead, inspection)
    link = issue(lead, inspection)
    from inspector.domain.db import connect, database_path
    db = connect(database_path(data))
    try:
        to_corrections(lead, db, inspection)
    finally:
        db.conn.close()
    site = app.test_client()
    for code in CITED:
        save(site, link, {f"corrective_action-{code}": f"Plan for {code}", f"target_date-{code}": "2027-03-31"})
    save(site, link, {}, action="submit")
    server = LiveServer(data).start()
    yield server, inspection
    server.stop()


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_save_review_keeps_the_lead_at_the_citation(corrections_submitted, chromium, viewport):
    server, inspection = corrections_submitted
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    log_in_by_cookie(page, server, "lead")
    page.goto(f"{server.url}/inspections/{inspection}/review")
    last = page.locator(f'[id="cit-{CITED[-1]}"]')
    last.get_by_role("button", name="Save review").scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 500, before                                   # far down the page
    last.get_by_label("Accepted").check()
    last.get_by_role("button", name="Save review").click()
    expect(last).to_contain_text("Accepted")                      # the page after the save
    expect(page).to_have_url(re.compile(rf"#cit-{re.escape(CITED[-1])}$"))
    heading = last.get_by_role("heading", level=3)
    expect(heading).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > before / 2           # not back at the top
    context.close()


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_lead_sees_what_changed_keeps_the_decision_offline_and_reads_the_captions(live_server, chromium,
                                                                                     viewport):
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "lead")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}")
    from tests.helpers import make_available_offline
    make_available_offline(page)
    page.goto(f"{live_server.url}/inspections/{inspection}/merge")
    b23 = row(page, "B2.3")
    expect(b23.locator(".what-changed")).to_have_text("Iris Clinical changed the note")
    expect(b23.locator(".photo-caption")).to_have_text("ICU transfer email")      # item 13: beside the photo
    expect(b23.get_by_role("img", name="Photo by Iris Clinical")).to_have_accessible_description("ICU transfer email")
    expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
    assert violations(page) == [] and off_the_side(page) == []

    context.set_offline(True)
    b23.get_by_role("button", name="Keep my decision").click()
    expect(b23.locator(".changed")).to_have_count(0)
    expect(b23.locator("[data-changed-since]")).to_have_count(0)
    expect(b23.get_by_label("Not compliant", exact=True)).to_be_focused()
    expect(b23.locator("[data-save-state]")).to_contain_text("on this tablet")
    # A verdict none of the inspectors gave is pointed out as it is chosen.
    contradiction = b23.locator("[data-contradicts]")
    expect(contradiction).to_be_hidden()
    b23.get_by_label("Compliant", exact=True).check()
    expect(contradiction).to_be_visible()
    b23.get_by_label("Not compliant", exact=True).check()
    expect(contradiction).to_be_hidden()
    page.reload()                                                     # offline: the stored page, overlaid
    expect(row(page, "B2.3").locator(".changed")).to_have_count(0)
    context.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    with live_server.db() as db:
        basis = db.execute("SELECT basis FROM decisions WHERE inspection_id = ? AND standard_code = 'B2.3'",
                           [inspection]).fetchone()[0]
    page.goto(f"{live_server.url}/inspections/{inspection}/merge?only=all")
    expect(row(page, "B2.3").locator(".changed")).to_have_count(0)    # the server has it too
    assert basis == int(row(page, "B2.3").get_attribute("data-basis"))
    context.close()


def test_the_offline_draft_report_says_when_it_was_made_and_what_is_newer_on_the_tablet(live_server, chromium):
    context = chromium.new_context(viewport=TABLET, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "lead")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}")
    from tests.helpers import make_available_offline
    make_available_offline(page)
    page.goto(f"{live_server.url}/inspections/{inspection}/merge")
    page.wait_for_timeout(1_100)                       # a decision stamped after the stored copy was made
    context.set_offline(True)
    d8 = row(page, "D8.2")
    d8.get_by_label("Not compliant", exact=True).check()
    d8.get_by_label("Citation").fill("The alarm test of dewar 3 is not recorded.")
    expect(d8.locator("[data-save-state]")).to_contain_text("on this tablet")
    page.get_by_role("link", name="Draft report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Draft report")
    snapshot = page.locator("[data-snapshot]")
    expect(snapshot).to_contain_text("decisions made after that are not in it")
    expect(snapshot.locator("time")).not_to_contain_text("UTC")      # in the tablet's own time zone and locale
    newer = snapshot.locator("[data-newer]")
    expect(newer).to_be_visible()
    expect(newer.get_by_role("listitem")).to_have_text(["D8.2: verdict, citation"])
    expect(newer.get_by_role("link", name="D8.2")).to_have_attribute(
        "href", f"/inspections/{inspection}/merge?only=all#std-D8.2")
    assert "The alarm test of dewar 3" not in page.locator(".report").inner_text()  # the copy: not in it
    assert violations(page) == [] and off_the_side(page) == []
    context.close()
