"""The server unreachable while the browser believes it is online (issue 24
items 7 and 8): a captive portal or a dead uplink, where every request
fails or hangs but `navigator.onLine` stays true. Every offline path still
works: pages from the device, `Go to standard` with words and Enter, the
word search's results (saying what they searched), and the offline panel."""
import time

import pytest
from playwright.sync_api import expect

from tests.helpers import demo_inspection_id, log_in_by_cookie, make_available_offline

SCOPE = "Searched in your sections (stored on this device)."


def results(page):
    return page.locator("[data-search-results] .search-results a")


def unreachable(context, mode):
    """Every request from the pages and the worker fails at once, or is never answered."""
    if mode == "fail":
        context.route("**/*", lambda route: route.abort("connectionrefused"))
    else:
        context.route("**/*", lambda route: None)  # held: no answer, no error, as behind a dead uplink


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_every_offline_path_works_when_the_server_does_not_answer(live_server, tablet, mode):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    base = f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}"
    page.goto(base)
    make_available_offline(page)
    # Online, the server searched every section: the results do not say "stored on this device".
    box = page.get_by_label("Go to standard")
    box.fill("ICU")
    expect(page.locator("[data-search-count]")).to_have_text("2 standards found.")

    unreachable(tablet, mode)
    page.goto(f"{base}/sections/B2", timeout=15_000)  # from the device (after the worker's 4 s, when held)
    expect(page.get_by_role("heading", level=1)).to_contain_text("B2")
    assert page.evaluate("navigator.onLine")

    # The word search: the stored index answers, and says what it searched.
    box = page.get_by_label("Go to standard")
    box.fill("tocilizumab")
    expect(results(page).first).to_contain_text("B7.3.4 Tocilizumab available without delay", timeout=10_000)
    expect(page.locator("[data-search-count]")).to_contain_text(SCOPE)
    # Words and Enter: the matches here, not "This page is not stored on this device".
    box.fill("ICU")
    started = time.monotonic()
    box.press("Enter")
    expect(results(page).first).to_be_focused(timeout=10_000)
    assert time.monotonic() - started < 8
    expect(page.locator("[data-search-count]")).to_have_text(f"2 standards found. {SCOPE}")
    expect(page.get_by_text("This page is not stored on this device")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("B2.3", timeout=15_000)
    # A code and Enter: the worker's jump map.
    box = page.get_by_label("Go to standard")
    box.fill("b7.3.4")
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tocilizumab available without delay",
                                                                  timeout=15_000)

    # The offline panel: what the device holds, and a download that fails says so rather than hanging.
    page.goto(base, timeout=15_000)
    state = page.locator("[data-offline-state]")
    expect(state).to_contain_text("Available offline")
    if mode == "fail":
        page.get_by_role("button", name="Make available offline").click()
        expect(state).to_contain_text("Could not prepare offline use", timeout=10_000)
    tablet.unroute("**/*")
