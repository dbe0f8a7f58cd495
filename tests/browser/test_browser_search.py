"""The jump box's word search in Chromium: the page's own rule
(static/js/search.js) passes the table of cases the server's passes
(tests/search_cases.json), the results come from the server online and
from the stored search index offline, and the list is used by keyboard."""
import json
from pathlib import Path

from playwright.sync_api import expect

from inspector.domain import catalog
from tests.helpers import PHONE, demo_inspection_id, log_in_by_cookie, make_available_offline
from test_browser_accessibility import violations

CASES = json.loads((Path(__file__).parent.parent / "search_cases.json").read_text())


def test_the_page_rule_passes_the_shared_table_of_cases(live_server, tablet):
    page = tablet.new_page()
    page.goto(live_server.url + "/login")
    failures = page.evaluate("""async (cases) => {
        const search = await import("/static/js/search.js");
        const rule = cases.rule;
        const failures = [];
        for (const c of cases.words) {
            const got = search.words(c.text);
            if (JSON.stringify(got) !== JSON.stringify(c.words)) failures.push({text: c.text, got});
        }
        for (const c of cases.cases) {
            const got = search.rank(c.query, cases.entries).map((e) => e.code);
            if (JSON.stringify(got) !== JSON.stringify(c.codes)) failures.push({query: c.query, got});
        }
        for (const c of cases.jump_keys) {
            const got = search.jumpKey(rule, c.typed);
            if (got !== c.key) failures.push({typed: c.typed, got});
        }
        return failures;
    }""", CASES | {"rule": catalog.JUMP_KEY})
    assert failures == []
    assert len(CASES["cases"]) >= 20 and len(CASES["words"]) >= 10


def results(page):
    return page.locator("[data-search-results] .search-results a")


def test_words_find_standards_online_then_offline(live_server, chromium):
    # On a phone, and with the page's CSP bypassed for the accessibility audit only.
    tablet = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    base = f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}"
    page.goto(base)
    make_available_offline(page)

    # Online: the server's fragment.
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/search?" in r.url else None)
    box = page.get_by_label("Go to standard")
    box.fill("tocilizumab")
    expect(results(page).first).to_contain_text("B7.3.4 Tocilizumab available without delay")
    expect(page.locator("[data-search-status]")).to_contain_text("standards found")
    assert any("q=tocilizumab" in url for url in asked)
    online = results(page).all_inner_texts()

    # Keyboard: Down arrow into the list, down again, Enter opens that standard.
    box.press("ArrowDown")
    expect(results(page).first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(results(page).nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()

    # Offline: the same answer from the stored index, by the page's own rule.
    tablet.set_offline(True)
    page.goto(f"{base}/sections/B1")
    asked.clear()
    box = page.get_by_label("Go to standard")
    box.fill("tocilizumab")
    expect(results(page).first).to_contain_text("B7.3.4 Tocilizumab available without delay")
    assert results(page).all_inner_texts() == online
    assert asked == []  # nothing was asked of the network
    box.fill("ICU")
    expect(results(page).first).to_contain_text("B2.3")
    expect(page.locator("[data-search-count]")).to_have_text("2 standards found. Searched in your sections (stored on this device).")
    assert violations(page) == []  # the results the page made itself, from the server's template
    # Enter with words offline: the matches, focused, not the offline page.
    box.press("Enter")
    expect(results(page).first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("B2.3")
    # A code still jumps (the worker's map), offline too.
    box = page.get_by_label("Go to standard")
    box.fill("b7.3.4")
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tocilizumab available without delay")
    tablet.close()


def test_words_typed_on_a_device_not_holding_the_inspection_say_so_offline(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}/sections/B1")
    expect(page.get_by_role("status")).not_to_have_text("Checking changes on this device…")
    tablet.set_offline(True)
    page.get_by_label("Go to standard").fill("ICU")
    expect(page.locator("[data-search-unavailable]")).to_contain_text("needs this inspection made available offline")
    tablet.set_offline(False)
