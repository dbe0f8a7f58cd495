"""One inspector on two tablets with clocks that disagree, and tablets that
change hands: the latest edit wins, and nobody's work lands under, or is
stored for, somebody else."""
import time
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD, TABLET, log_in_by_cookie, log_in_through_form, make_available_offline


def demo_id(server):
    with server.db() as db:
        return db.execute("SELECT id FROM inspections").fetchone()[0]


def write_note(page, text):
    page.get_by_label("Note").fill(text)
    expect(page.locator("[data-save-state]")).to_contain_text("Saved")


def test_an_edit_on_a_tablet_whose_clock_is_an_hour_behind_still_wins(live_server, chromium):
    url = f"{live_server.url}/inspections/{demo_id(live_server)}/standards/B6.1"
    ahead = chromium.new_context(viewport=TABLET)
    behind = chromium.new_context(viewport=TABLET)
    behind.clock.set_system_time(datetime.now() - timedelta(hours=1))
    first = ahead.new_page()
    log_in_by_cookie(first, live_server, "inspector1")
    first.goto(url)
    write_note(first, "Tocilizumab: two doses in the ward fridge.")
    expect(first.get_by_role("status")).to_have_text("All synced", timeout=15_000)

    second = behind.new_page()
    log_in_by_cookie(second, live_server, "inspector1")
    second.goto(url)
    expect(second.get_by_label("Note")).to_have_value("Tocilizumab: two doses in the ward fridge.")
    write_note(second, "Tocilizumab: only one dose; the second was used on Monday.")
    expect(second.get_by_role("status")).to_have_text("All synced", timeout=15_000)

    # The badge can say "All synced" a moment before it counts the new edit
    # (a clean-clone CI run read the server first): wait for the push itself.
    def note_on_server():
        with live_server.db() as db:
            return db.execute("SELECT note FROM findings WHERE standard_code = 'B6.1'").fetchone()[0]
    deadline = time.monotonic() + 15
    while note_on_server() != "Tocilizumab: only one dose; the second was used on Monday." \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    note = note_on_server()
    assert note == "Tocilizumab: only one dose; the second was used on Monday."
    first.reload()
    expect(first.get_by_label("Note")).to_have_value(note)
    ahead.close()
    behind.close()


def test_logging_out_offline_keeps_the_inspector_in_and_their_pages(live_server, tablet):
    page = tablet.new_page()
    log_in_through_form(page, live_server.url, "inspector2")
    inspection = demo_id(live_server)
    page.goto(f"{live_server.url}/inspections/{inspection}")
    make_available_offline(page)
    tablet.set_offline(True)
    # The alert is answered the moment it opens: a click left waiting on the
    # page while an alert is open timed out once in a clean-clone CI run.
    said = []
    page.once("dialog", lambda dialog: (said.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Log out").click()
    for _ in range(100):  # the alert comes once the page has found there is no network
        if said:
            break
        page.wait_for_timeout(100)
    assert said and said[0].startswith("Logging out needs the network"), said
    expect(page.get_by_role("heading", level=1)).to_contain_text("Northbridge")
    page.goto(f"{live_server.url}/inspections/{inspection}/standards/D7.2.1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("D7.2.1")
    tablet.set_offline(False)
    page.goto(live_server.url + "/")
    expect(page.locator(".who")).to_contain_text("Ivo Processing")  # still inspector2, as the page said


def test_a_new_user_on_the_tablet_never_lands_in_the_previous_users_cache(live_server, tablet):
    page = tablet.new_page()
    log_in_through_form(page, live_server.url, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}")
    make_available_offline(page)
    with live_server.db() as db:
        ids = dict(db.execute("SELECT username, id FROM users").fetchall())

    tablet.clear_cookies()  # inspector1's session ends; the tab stays open
    page.get_by_role("link", name="inspector", exact=True).click()  # a boosted link lands on the login page
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    page.wait_for_load_state("networkidle")  # the boosted swap has settled before anyone types
    page.get_by_label("Username").fill("inspector3")
    page.get_by_label("Password").fill(PASSWORD)
    expect(page.get_by_label("Username")).to_have_value("inspector3")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".who")).to_contain_text("Ines Quality")
    page.reload()

    home = page.evaluate("""async (cacheName) => {
        const hit = await (await caches.open(cacheName)).match('/');
        return hit ? await hit.text() : null;
    }""", f"pages-u{ids['inspector1']}")
    assert f'data-user-id="{ids["inspector1"]}"' in home
    assert "Ines Quality" not in home


def test_a_tab_left_open_never_sends_one_inspectors_changes_as_another(live_server, tablet):
    with live_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    old_tab = tablet.new_page()
    log_in_through_form(old_tab, live_server.url, "inspector1")
    tablet.route("**/sync/push", lambda route: route.abort())  # no signal for a while
    old_tab.goto(f"{live_server.url}/inspections/{inspection}/standards/B7.1.1")
    write_note(old_tab, "inspector1's private observation")
    expect(old_tab.get_by_role("status")).to_contain_text("waiting")

    tablet.clear_cookies()
    new_tab = tablet.new_page()
    log_in_through_form(new_tab, live_server.url, "inspector3")  # the next inspector, same tablet, same cookies
    tablet.unroute("**/sync/push")
    old_tab.evaluate("dispatchEvent(new Event('online'))")
    expect(old_tab.get_by_role("status")).to_contain_text("Another user is logged in", timeout=15_000)
    with live_server.db() as db:
        assert db.execute("SELECT count(*) FROM ops WHERE standard_code = 'B7.1.1'").fetchone()[0] == 0
