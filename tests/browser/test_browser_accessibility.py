"""Accessibility of every page an inspector uses, checked by axe-core in real
Chromium at tablet and phone size, and the finding form used with the
keyboard alone."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import PHONE, TABLET, log_in_by_cookie, off_the_side

AXE = Path(__file__).parent.parent / "vendor" / "axe-core-4.14.1.min.js"


def demo_id(server):
    with server.db() as db:
        return db.execute("SELECT id FROM inspections").fetchone()[0]


def violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


@pytest.mark.parametrize("viewport, scheme", [(TABLET, "light"), (PHONE, "light"), (TABLET, "dark"), (PHONE, "dark")],
                         ids=["tablet", "phone", "tablet-dark", "phone-dark"])
def test_pages_have_no_accessibility_violations(live_server, chromium, viewport, scheme):
    # The audit script is injected inline, which the app's CSP rightly forbids:
    # this context bypasses CSP for the audit only. The dark theme follows the
    # device's prefers-color-scheme.
    context = chromium.new_context(viewport=viewport, bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    page.goto(live_server.url + "/login")
    assert violations(page) == []
    log_in_by_cookie(page, live_server, "lead")
    inspection = demo_id(live_server)
    for path in ["/", f"/inspections/{inspection}", f"/inspections/{inspection}/sections/B6",
                 f"/inspections/{inspection}/sections/B6?only=evidence",
                 f"/inspections/{inspection}/standards/B6.2", f"/inspections/{inspection}/team",
                 f"/inspections/{inspection}/history", "/inspections/new",
                 f"/inspections/{inspection}/merge?section=B1", f"/inspections/{inspection}/merge?only=disagreements",
                 f"/inspections/{inspection}/arrivals", f"/inspections/{inspection}/report",
                 f"/inspections/{inspection}/review"]:
        page.goto(live_server.url + path)
        expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
        assert violations(page) == [], path
        assert off_the_side(page) == [], path
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light"), background
    # The site's pages: its draft citations by its link, and the page every bad link gets.
    page.get_by_role("button", name="Send draft citations to site").click()
    # The confirmation before an irreversible step, then the new stage.
    expect(page.get_by_role("heading", level=1)).to_have_text("Send draft citations to site?")
    assert violations(page) == [] and off_the_side(page) == []
    page.get_by_role("button", name=re.compile(r"^Yes, ")).click()
    # The boosted form swaps the page in when the server answers: fill in the
    # new page's form, not the old one's (which the swap would empty).
    expect(page.locator(".stage.current")).to_have_text("Factual accuracy review")
    page.get_by_label("Who it is for").fill("Sam Site")
    page.get_by_label("Their email").fill("sam@example.org")
    page.get_by_role("button", name="Issue review link").click()
    link = page.get_by_label("Link for Sam Site: copy it and send it to them").input_value()
    site = context.browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    for url in (link, link[:-4] + "xxxx"):
        site.goto(url)
        assert violations(site) == [], url
        assert off_the_side(site) == [], url
    # The JACIE demo inspection in its corrections: the coordinator's committee
    # page and report, and the centre's corrections by its link.
    jacie = jacie_link(live_server)
    site.goto(jacie)
    expect(site.get_by_role("heading", level=1)).to_have_text("Corrections")
    assert violations(site) == [], jacie
    assert off_the_side(site) == [], jacie
    office = context.browser.new_context(viewport=viewport, bypass_csp=True, color_scheme=scheme).new_page()
    log_in_by_cookie(office, live_server, "coordinator")
    jacie_id = jacie.split("/review/")[1].split("/")[0]
    for path in ["/", f"/inspections/{jacie_id}/committee", f"/inspections/{jacie_id}/report"]:
        office.goto(live_server.url + path)
        assert violations(office) == [], path
        assert off_the_side(office) == [], path
    office.context.close()
    site.context.close()
    context.close()


def jacie_link(server):
    """The JACIE demo centre's review link, as the demo prints it."""
    from inspector.domain import review
    from inspector.domain.db import connect, database_path
    from inspector.app.views.review import link_path
    db = connect(database_path(server.data_dir))
    try:
        jacie = db.conn.execute("SELECT id FROM inspections WHERE body = 'jacie'").fetchone()[0]
        secret = (server.data_dir / "secret_key").read_text().strip()
        return server.url + link_path(review.live_links(db, jacie)[0], secret)
    finally:
        db.conn.close()


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_evidence_photos_and_their_removed_state_have_no_violations(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport, bypass_csp=True, color_scheme="dark")
    page = context.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}/standards/B2.3")  # a finding with a photo
    expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
    assert violations(page) == []
    page.get_by_role("button", name="Remove photo").click()
    expect(page.get_by_role("button", name="Undo remove photo")).to_be_focused()
    assert violations(page) == []
    context.close()


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_an_admins_read_only_pages_have_no_violations(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "admin")
    inspection = demo_id(live_server)
    for path in ["/", f"/inspections/{inspection}", f"/inspections/{inspection}/sections/B1",
                 f"/inspections/{inspection}/standards/B1.5"]:
        page.goto(live_server.url + path)
        expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
        assert violations(page) == [], path
    expect(page.get_by_label("Note")).to_be_disabled()
    context.close()


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_checklists_and_the_filtered_list_have_no_violations(live_server, chromium, viewport, tmp_path):
    """The admin's Checklists, a refused file's problems beside the file
    control, a good file's preview; the home list's filters."""
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "admin")
    for path in ["/?stage=corrections&q=Riverside", "/?stage=archived", "/checklists", "/checklists/import"]:
        page.goto(live_server.url + path)
        assert violations(page) == [], path
        assert off_the_side(page) == [], path
    header = "code,parent,title,text,guidance,roles"
    for name, rows, shows in (("bad.csv", ["A1,,Scope,,,clinical", "A1.1,A9,Director,,,clinical", "A1.2,A1,,,,x"],
                               "line 4: unknown role 'x'"),
                              ("good.csv", ["A1,,Scope,,,clinical", "A1.1,A1,Director,,,clinical"],
                               "Preview of good.csv")):
        (tmp_path / name).write_text("\n".join([header, *rows]) + "\n")
        page.goto(live_server.url + "/checklists/import")
        page.get_by_label("Checklist file").set_input_files(tmp_path / name)
        page.get_by_label("Edition name").fill(f"Edition {name} {viewport['width']}")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("main")).to_contain_text(shows)
        assert violations(page) == [], name
        assert off_the_side(page) == [], name
    page.get_by_role("button", name="Import 1 standard").click()
    expect(page.get_by_role("alert")).to_contain_text("Imported 1 standard as the edition")
    context.close()


def test_the_team_grid_fits_a_tablet_screen(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "lead")
    page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}/team")
    grid = page.locator(".grid-scroll")
    assert grid.evaluate("e => e.scrollWidth <= e.clientWidth")  # no sideways scrolling with the demo's team
    assert page.evaluate("document.documentElement.scrollHeight") < 2400  # was a 2,400 px stack of checkboxes


def test_an_inspector_records_a_finding_with_the_keyboard_alone(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}/standards/B6.3")
    verdict = page.get_by_label("Compliant", exact=True)
    for _ in range(40):  # Tab from the top of the page to the first verdict
        page.keyboard.press("Tab")
        if verdict.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("the verdict cannot be reached with Tab")
    page.keyboard.press("ArrowDown")  # radio group: arrows move and choose
    expect(page.get_by_label("Not compliant", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Note")).to_be_focused()
    page.keyboard.type("Tocilizumab: one dose on site, two required.")
    expect(page.locator("[data-save-state]")).to_contain_text("Saved")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    page.reload()
    expect(page.get_by_label("Not compliant", exact=True)).to_be_checked()
    expect(page.get_by_label("Note")).to_have_value("Tocilizumab: one dose on site, two required.")


def test_the_audit_itself_catches_an_unlabelled_control(chromium):
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_content("<!doctype html><html lang='en'><head><title>t</title></head>"
                     "<body><main><h1>t</h1><input type='text'></main></body></html>")
    assert any(v.startswith("label ") for v in violations(page))
    context.close()


def too_small(locator):
    """Controls whose touch target is under 44 x 44 CSS px."""
    boxes = locator.evaluate_all("els => els.map(e => { const r = e.getBoundingClientRect(); "
                                 "return [e.textContent.trim().slice(0, 30) || e.id, r.width, r.height]; })")
    assert boxes, "no control found"
    return [b for b in boxes if b[1] < 44 or b[2] < 44]


@pytest.mark.parametrize("viewport, scheme", [(TABLET, "light"), (PHONE, "light"), (TABLET, "dark"), (PHONE, "dark")],
                         ids=["tablet", "phone", "tablet-dark", "phone-dark"])
def test_finding_the_work_has_no_violations_and_big_enough_targets(live_server, chromium, viewport, scheme):
    """The inspection page's filters and section marks, the jump box's results
    and the search page, at tablet and phone size (offline results:
    test_browser_search.py)."""
    context = chromium.new_context(viewport=viewport, bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    base = f"{live_server.url}/inspections/{demo_id(live_server)}"
    page.goto(base)
    expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
    expect(page.locator(".section-row [data-mark-count]:visible").first).to_be_visible()
    assert violations(page) == []
    page.goto(f"{base}?only=evidence")
    expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
    expect(page.locator("[data-filter-count]")).to_contain_text("standards shown")
    assert violations(page) == []
    assert too_small(page.locator("nav.filters a")) == []
    assert too_small(page.locator("[data-standards] [data-standard]:visible a")) == []
    assert off_the_side(page) == []

    box = page.get_by_label("Go to standard")
    box.fill("intensive care")
    expect(page.locator("[data-search-results] .search-results a").first).to_be_visible()
    assert violations(page) == []
    assert too_small(page.locator("form.jump input, form.jump button, [data-search-results] a")) == []
    assert off_the_side(page) == []

    page.goto(f"{base}/search?q=tocilizumab")
    assert violations(page) == []
    context.close()


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_programs_and_what_was_cited_last_time_have_no_violations(live_server, chromium, viewport):
    """The demo's renewal (its program's earlier inspection cited B2.3), the
    program pages, and the new inspection form showing a problem beside its field."""
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "lead")
    with live_server.db() as db:
        renewal, program = db.execute("SELECT id, program_id FROM inspections WHERE kind = 'renewal'").fetchone()
    for path in ["/programs", f"/programs/{program}", f"/inspections/{renewal}/standards/B2.3",
                 f"/inspections/{renewal}/merge?only=cited_last_time", f"/inspections/{renewal}/report"]:
        page.goto(live_server.url + path)
        expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
        assert violations(page) == [], path
        assert off_the_side(page) == [], path
    page.goto(live_server.url + "/inspections/new")
    page.get_by_label("Program name").fill("Westbrook Clinic")
    page.get_by_label("Inspection type").select_option("internal")
    page.get_by_label("First day").fill("2027-01-04")
    page.get_by_label("Last day").fill("2027-01-05")
    page.get_by_role("button", name="Create inspection").click()
    expect(page.locator("#kind-error")).to_contain_text("An internal audit goes with the accrediting body")
    assert violations(page) == [] and off_the_side(page) == []
    context.close()
