"""Two inspectors share one tablet: neither sees the other's stored pages or
unsynced changes, and logging out never throws work away."""
import pytest
from playwright.sync_api import expect

from tests.helpers import log_in_through_form, make_available_offline


def test_second_inspector_never_sees_the_first_ones_pages_or_outbox(live_server, tablet):
    with live_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    standard_url = f"{live_server.url}/inspections/{inspection}/standards/B2.1"
    page = tablet.new_page()
    log_in_through_form(page, live_server.url, "inspector1")
    page.goto(f"{live_server.url}/inspections/{inspection}")
    make_available_offline(page)

    # The server cannot take pushes for a while: the change stays on the tablet.
    tablet.route("**/sync/push", lambda route: route.abort())
    page.goto(standard_url)
    page.get_by_label("Not compliant", exact=True).check()
    page.get_by_label("Note").fill("Private note of inspector1")
    page.get_by_label("Note").blur()
    expect(page.get_by_role("status")).to_contain_text("waiting", timeout=10_000)

    warnings = []

    def answer(dialog):
        warnings.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert warnings == ["2 changes are not synced yet. They stay on this tablet and sync when you log in again. "
                        "Log out?"]

    log_in_through_form(page, live_server.url, "inspector2")
    expect(page.get_by_role("status")).to_have_text("All synced")
    page.goto(standard_url)
    expect(page.get_by_label("Note")).to_have_value("")
    expect(page.get_by_label("Not compliant", exact=True)).not_to_be_checked()
    tablet.set_offline(True)
    page.goto(standard_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    tablet.set_offline(False)

    # inspector2 has nothing pending: logging out removes their stored pages.
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    caches = page.evaluate("caches.keys()")
    assert not [name for name in caches if name.startswith("pages-") and name != "pages-u%s" % _user_id(live_server, "inspector1")]
    assert "pages-u%s" % _user_id(live_server, "inspector1") in caches  # kept: inspector1 still has changes

    tablet.unroute("**/sync/push")
    log_in_through_form(page, live_server.url, "inspector1")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    with live_server.db() as db:
        row = db.execute("SELECT f.verdict, f.note FROM findings f JOIN users u ON u.id = f.inspector_id "
                         "WHERE u.username = 'inspector1' AND f.standard_code = 'B2.1'").fetchone()
    assert tuple(row) == ("not_compliant", "Private note of inspector1")


def _user_id(server, username):
    with server.db() as db:
        return db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()[0]
