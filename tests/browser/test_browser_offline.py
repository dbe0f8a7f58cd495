"""The offline journey in real headless Chromium: an inspector takes an
inspection offline, works through two sections with no network, photographs
evidence, closes the page, and everything reaches the server exactly once
when the network returns."""
import hashlib
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from inspector.domain.photos import blob_path
from tests.helpers import (CHROMIUM, CHROMIUM_ARGS, TABLET, demo_photo_hashes, log_in_by_cookie,
                               log_in_through_form, make_available_offline)

PHOTOS = Path(__file__).parent.parent / "fixtures" / "photos"

WORK = [  # (standard, verdict label, stored verdict, note, photo)
    ("B2.1", "Not compliant", "not_compliant", "Night nurse has no CRS training record.", "gps_rotated.jpg"),
    ("B6.2", "Compliant", "compliant", "Eligibility criteria signed by the panel.", "gps_upright.jpg"),
]


def demo_id(server):
    with server.db() as db:
        return db.execute("SELECT id FROM inspections").fetchone()[0]


def take_offline(page, server):
    inspection = demo_id(server)
    page.goto(f"{server.url}/inspections/{inspection}")
    make_available_offline(page)
    return inspection


def record(page, server, inspection, code, label, note, photo=None):
    page.goto(f"{server.url}/inspections/{inspection}/standards/{code}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    page.get_by_label(label, exact=True).check()
    page.get_by_label("Note").fill(note)
    page.get_by_label("Note").blur()
    if photo:
        page.get_by_label("Choose photos").set_input_files(str(PHOTOS / photo))
        expect(page.locator("[data-photo-list] img")).to_have_count(1)
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")


def test_offline_shift_with_photos_syncs_everything_exactly_once(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = take_offline(page, live_server)

    tablet.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Northbridge")
    for code, label, _, note, photo in WORK:
        record(page, live_server, inspection, code, label, note, photo)
    expect(page.get_by_role("status")).to_contain_text("changes waiting")

    # Still offline, moving around as on the ward: the jump box and the links.
    page.get_by_label("Go to standard").first.fill("b2.1")
    page.get_by_role("button", name="Go").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("B2.1")
    expect(page.get_by_label("Not compliant", exact=True)).to_be_checked()
    page.get_by_role("link", name=re.compile("^Next: ")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("B2.1.1")  # the next in the checklist

    # Close the tab and open a new one, still offline: every value is there.
    page.close()
    page = tablet.new_page()
    for code, label, _, note, _photo in WORK:
        page.goto(f"{live_server.url}/inspections/{inspection}/standards/{code}")
        expect(page.get_by_label(label, exact=True)).to_be_checked()
        expect(page.get_by_label("Note")).to_have_value(note)
        expect(page.locator("[data-photo-list] img")).to_have_count(1)
    page.goto(f"{live_server.url}/inspections/{inspection}/sections/B2")
    expect(page.locator("[data-standard='B2.1'] .verdict-badge")).to_have_text("Not compliant")
    page.goto(f"{live_server.url}/inspections/{inspection}")  # stored before the shift began
    expect(page.locator(".section-row[data-section='B2'] [data-mine]")).to_have_text("3")  # and the demo's B2.2, B2.3
    expect(page.locator(".section-row[data-section='B6'] [data-mine]")).to_have_text("1")
    with live_server.db() as db:
        assert db.execute("SELECT count(*) FROM ops WHERE standard_code IN ('B2.1', 'B6.2') "
                          "AND inspection_id = ?", [inspection]).fetchone()[0] == 0

    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)

    with live_server.db() as db:
        findings = db.execute(
            "SELECT f.standard_code, f.verdict, f.note FROM findings f JOIN users u ON u.id = f.inspector_id "
            "WHERE u.username = 'inspector1' AND f.standard_code IN ('B2.1', 'B6.2') ORDER BY 1").fetchall()
        photos = db.execute("SELECT standard_code, sha256 FROM finding_photos WHERE attached = 1 "
                            "AND standard_code IN ('B2.1', 'B6.2') ORDER BY 1").fetchall()
        op_ids = [r[0] for r in db.execute("SELECT op_id FROM ops WHERE standard_code IN ('B2.1', 'B6.2') "
                                           "AND inspection_id = ?", [inspection])]
        stored = db.execute("SELECT count(*) FROM photos").fetchone()[0]
    assert [tuple(r) for r in findings] == [(c, v, n) for c, _, v, n, _ in WORK]
    assert [r[0] for r in photos] == ["B2.1", "B6.2"]
    assert stored == 2 + len(demo_photo_hashes())  # beside the demo's own photos
    assert len(op_ids) == len(set(op_ids)) == 6  # verdict, note, photo for each: once each

    for (code, sha), (_, _, _, _, fixture) in zip(photos, WORK):
        path = blob_path(live_server.data_dir, sha)
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() != hashlib.sha256((PHOTOS / fixture).read_bytes()).hexdigest()
        assert b"Exif" not in data and b"GPS" not in data
        with Image.open(path) as stored_image, Image.open(PHOTOS / fixture) as original:
            assert not stored_image.getexif()
            turned = original.getexif().get(0x0112, 1) == 6  # turn 90 degrees clockwise to display
            ow, oh = original.size
            assert stored_image.size == ((oh, ow) if turned else (ow, oh))
            # The fixture's red block is top-left as stored; shown upright it is top-right.
            rgb = stored_image.convert("RGB")
            red_at = (rgb.width - 20, 20) if turned else (20, 20)
            r, g, b = rgb.getpixel(red_at)
            assert r > 200 and g < 80 and b < 80, (fixture, red_at, (r, g, b))


def test_server_down_for_real_then_back_the_retry_completes(live_server, tablet):
    """Not emulation: the server process is stopped while the inspector works."""
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector2")
    inspection = take_offline(page, live_server)
    live_server.stop()

    record(page, live_server, inspection, "D7.2.3", "Not compliant", "Dewar alarm test not signed for March.")
    page.reload()  # the cached page, overlaid with this device's values
    expect(page.get_by_label("Not compliant", exact=True)).to_be_checked()
    expect(page.get_by_label("Note")).to_have_value("Dewar alarm test not signed for March.")
    expect(page.get_by_role("status")).to_contain_text("2 changes waiting")

    live_server.start()
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=45_000)
    with live_server.db() as db:
        row = db.execute("SELECT verdict, note FROM findings WHERE standard_code = 'D7.2.3'").fetchone()
    assert tuple(row) == ("not_compliant", "Dewar alarm test not signed for March.")


def test_session_expired_offline_keeps_the_work_until_the_inspector_logs_in(live_server, tablet):
    page = tablet.new_page()
    log_in_through_form(page, live_server.url, "inspector1")
    inspection = take_offline(page, live_server)
    tablet.set_offline(True)
    record(page, live_server, inspection, "B6.3", "Compliant", "Bedside check list used for every infusion.")
    tablet.clear_cookies()  # the session ended during the shift
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_contain_text("Log in again to sync", timeout=30_000)
    with live_server.db() as db:
        assert db.execute("SELECT count(*) FROM findings WHERE standard_code = 'B6.3'").fetchone()[0] == 0

    log_in_through_form(page, live_server.url, "inspector1")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    with live_server.db() as db:
        row = db.execute("SELECT verdict, note FROM findings WHERE standard_code = 'B6.3'").fetchone()
    assert tuple(row) == ("compliant", "Bedside check list used for every infusion.")


def test_work_survives_a_browser_restart_while_offline(live_server, chromium, tmp_path):
    """A flat battery: the browser quits with changes unsynced, comes back
    offline, and the inspector sees every entry; then it syncs."""
    profile = tmp_path / "tablet-profile"

    def launch():
        return chromium.browser_type.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=TABLET)
    if True:
        context = launch()
        page = context.new_page()
        log_in_by_cookie(page, live_server, "inspector3")
        inspection = take_offline(page, live_server)
        context.set_offline(True)
        record(page, live_server, inspection, "B4.2", "Not compliant", "Deviation log has no trend review.")
        context.close()  # the battery dies

        context = launch()
        context.set_offline(True)
        page = context.new_page()
        page.goto(f"{live_server.url}/inspections/{inspection}/standards/B4.2")
        expect(page.get_by_label("Not compliant", exact=True)).to_be_checked()
        expect(page.get_by_label("Note")).to_have_value("Deviation log has no trend review.")
        expect(page.get_by_role("status")).to_have_text("Offline · 2 changes waiting")  # the browser knows it is offline
        context.set_offline(False)
        expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
        context.close()
    with live_server.db() as db:
        row = db.execute("SELECT verdict, note FROM findings WHERE standard_code = 'B4.2'").fetchone()
    assert tuple(row) == ("not_compliant", "Deviation log has no trend review.")


def test_the_jump_box_finds_sections_and_standards_offline(live_server, tablet):
    """Offline, the jump box uses the server's own map (sent with the pages),
    so it goes where it would online: to a section as well as a standard."""
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    take_offline(page, live_server)
    tablet.set_offline(True)
    page.reload()

    page.get_by_label("Go to standard").first.fill("b 6")
    page.get_by_role("button", name="Go").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^\s*B6\s+\S"))
    expect(page.locator("[data-standard='B6.2']")).to_be_visible()

    page.get_by_label("Go to standard").first.fill(" b6.4.1 ")
    page.get_by_role("button", name="Go").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^\s*B6\.4\.1\s"))

    # A section not taken offline (another inspector's) is not on this tablet.
    page.get_by_label("Go to standard").first.fill("C1")
    page.get_by_role("button", name="Go").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
