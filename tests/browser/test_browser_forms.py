"""An inspector on a tablet records findings standard by standard in real
headless Chromium, and every page fits a tablet and a phone."""
import pytest
from playwright.sync_api import expect

from tests.helpers import PHONE, TABLET, log_in_by_cookie, off_the_side


FINDINGS = [
    ("B2.1", "Not compliant", "not_compliant", "Two nurses lack yearly CRS training records."),
    ("B2.2", "Compliant", "compliant", "Competency files complete for pharmacists."),
    ("B4.1", "Not applicable", "not_applicable", "No paediatric patients treated."),
]


def demo_id(server):
    with server.db() as db:
        return db.execute("SELECT id FROM inspections").fetchone()[0]


def test_inspector_records_three_findings_and_sees_them_after_reload(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_id(live_server)
    page.get_by_role("link", name="Northbridge University Hospital").click()
    expect(page.get_by_role("heading", name="My sections")).to_be_visible()

    for code, label, _, note in FINDINGS:
        page.get_by_label("Go to standard").fill(code)
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(code)
        page.get_by_label(label, exact=True).check()
        page.get_by_label("Note").fill(note)
        page.get_by_label("Note").blur()
        expect(page.locator("[data-save-state]")).to_contain_text("Saved")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)

    for code, label, _, note in FINDINGS:
        page.goto(f"{live_server.url}/inspections/{inspection}/standards/{code}")
        page.reload()
        expect(page.get_by_label(label, exact=True)).to_be_checked()
        expect(page.get_by_label("Note")).to_have_value(note)

    with live_server.db() as db:
        rows = db.execute(
            "SELECT f.standard_code, f.verdict, f.note FROM findings f JOIN users u ON u.id = f.inspector_id "
            "WHERE u.username = 'inspector1' AND f.standard_code IN ('B2.1', 'B2.2', 'B4.1') "
            "ORDER BY f.standard_code").fetchall()
    assert [tuple(r) for r in rows] == [(code, value, note) for code, _, value, note in FINDINGS]


def test_a_note_typed_a_moment_before_a_reload_is_kept(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    url = f"{live_server.url}/inspections/{demo_id(live_server)}/standards/B2.4"
    page.goto(url)
    page.get_by_label("Note").press_sequentially("Fridge log unsigned")
    page.reload()  # no pause: the tab is closed the instant typing stops
    expect(page.get_by_label("Note")).to_have_value("Fridge log unsigned")
    expect(page.locator("[data-save-state]")).to_contain_text("Saved")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    page.reload()
    expect(page.get_by_label("Note")).to_have_value("Fridge log unsigned")


def test_a_mistapped_verdict_can_be_cleared(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}/standards/B2.5")
    page.get_by_label("Not compliant", exact=True).check()
    page.get_by_role("button", name="Clear verdict").click()
    expect(page.locator("[data-save-state]")).to_contain_text("Saved")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    page.reload()
    for label in ("Compliant", "Not compliant", "Not applicable"):
        expect(page.get_by_label(label, exact=True)).not_to_be_checked()
    with live_server.db() as db:
        assert db.execute("SELECT verdict FROM findings WHERE standard_code = 'B2.5'").fetchone()[0] is None


def page_fits(page):
    """Nothing runs off the side, and every control is at least 44 px tall and
    wide (a radio inside a big label is measured by its label)."""
    overflow = off_the_side(page)
    small = page.evaluate("""() => [...document.querySelectorAll(
            'button, input:not([type=hidden]):not([type=file]), select, textarea, .button, label.choice, label.check')]
        .filter(e => e.offsetParent !== null && !e.matches('label.choice input, label.check input'))
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
        .filter(([, r]) => r.height < 44 || r.width < 44)
        .map(([html, r]) => `${html} ${Math.round(r.width)}x${Math.round(r.height)}`)""")
    return overflow, small


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet-768x1024", "phone-390x844"])
def test_every_page_fits_the_screen_with_finger_sized_controls(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    inspection = demo_id(live_server)
    page.goto(live_server.url + "/login")
    assert page_fits(page) == ([], [])
    log_in_by_cookie(page, live_server, "lead")
    paths = ["/", f"/inspections/{inspection}", f"/inspections/{inspection}/sections/D2",
             f"/inspections/{inspection}/standards/D2.1", f"/inspections/{inspection}/team", "/inspections/new"]
    for path in paths:
        page.goto(live_server.url + path)
        assert page_fits(page) == ([], []), path
    context.close()
