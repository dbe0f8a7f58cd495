"""Evidence on a finding: captions, removing a photo, and a change the server
refuses, which stays on the tablet and is shown, never dropped."""
import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import demo_photo_hashes, log_in_by_cookie

PHOTOS = Path(__file__).parent.parent / "fixtures" / "photos"


def standard_url(server, code):
    with server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    return f"{server.url}/inspections/{inspection}/standards/{code}"


def test_caption_one_photo_and_remove_another(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector2")
    page.goto(standard_url(live_server, "D7.2.4"))
    page.get_by_label("Choose photos").set_input_files(str(PHOTOS / "gps_upright.jpg"))
    page.get_by_label("Choose photos").set_input_files(str(PHOTOS / "gps_rotated.jpg"))
    expect(page.locator("[data-photo-list] li[data-sha256]")).to_have_count(2)
    page.get_by_label("Caption").first.fill("Dewar 3 alarm panel")
    page.get_by_label("Caption").first.blur()
    page.get_by_role("button", name="Remove photo").nth(1).click()
    expect(page.locator("[data-photo-list] li[data-sha256]")).to_have_count(1)
    expect(page.locator("[data-save-state]")).to_contain_text("Saved")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=20_000)

    page.reload()
    expect(page.locator("[data-photo-list] li[data-sha256]")).to_have_count(1)
    expect(page.get_by_label("Caption")).to_have_value("Dewar 3 alarm panel")
    with live_server.db() as db:
        rows = db.execute("SELECT attached, caption FROM finding_photos WHERE standard_code = 'D7.2.4' "
                          "ORDER BY attached DESC").fetchall()
        removal = db.execute("SELECT count(*) FROM ops WHERE field = 'photo' AND standard_code = 'D7.2.4' "
                             "AND value LIKE '%\"attached\":false%'").fetchone()[0]
    assert [tuple(r) for r in rows] == [(1, "Dewar 3 alarm panel"), (0, "")]
    assert removal == 1  # the removal is an op, kept in the log


def refuse_every_op(reason):
    """A push handler standing in for a server that rejects each op it gets."""
    def refuse(route):
        ops = json.loads(route.request.post_data)["ops"]
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "results": [{"op_id": op["op_id"], "status": "rejected", "code": "unknown_standard",
                         "reason": reason} for op in ops], "cursor": 0, "hlc": ""}))
    return refuse


def test_a_refused_change_stays_on_the_tablet_and_is_shown(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")

    tablet.route("**/sync/push", refuse_every_op("standard B2.4 is not in this inspection's catalog"))
    page.goto(standard_url(live_server, "B2.4"))
    page.get_by_label("Compliant", exact=True).check()
    expect(page.get_by_role("status")).to_contain_text("1 change refused", timeout=15_000)
    expect(page.locator("#sync-problems")).to_contain_text("not in this inspection's catalog")
    expect(page.locator("[data-save-state]")).to_contain_text("Not accepted by the server")

    # Still there after a reload, and still the inspector's latest value.
    page.reload()
    expect(page.get_by_label("Compliant", exact=True)).to_be_checked()
    expect(page.locator("#sync-problems")).to_contain_text("B2.4 (verdict)")
    count = page.evaluate("""async () => {
        const open = indexedDB.open('inspector-u' + document.body.dataset.userId);
        const db = await new Promise((ok, err) => { open.onsuccess = () => ok(open.result); open.onerror = err; });
        const req = db.transaction('outbox').objectStore('outbox').count();
        return await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
    }""")
    assert count == 1

    # Only the inspector can let it go, and is asked first.
    tablet.unroute("**/sync/push")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard the refused change to B2.4 (verdict)").click()
    expect(page.locator("#sync-problems")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    expect(page.get_by_label("Compliant", exact=True)).not_to_be_checked()


def test_a_newer_edit_replaces_a_refused_change(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")

    tablet.route("**/sync/push", refuse_every_op("refused for the test"))
    page.goto(standard_url(live_server, "B2.6"))
    page.get_by_label("Compliant", exact=True).check()
    expect(page.get_by_role("status")).to_contain_text("refused", timeout=15_000)
    tablet.unroute("**/sync/push")
    page.get_by_label("Not applicable", exact=True).check()
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    expect(page.locator("#sync-problems")).to_have_count(0)
    with live_server.db() as db:
        assert db.execute("SELECT verdict FROM findings WHERE standard_code = 'B2.6'").fetchone()[0] == "not_applicable"


def test_a_photo_the_server_cannot_take_yet_does_not_hold_up_the_verdict(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector2")
    tablet.route("**/sync/photos/*", lambda route: route.fulfill(status=503, body="busy")
                 if route.request.method == "PUT" else route.continue_())
    page.goto(standard_url(live_server, "D7.2.5"))
    page.get_by_label("Choose photos").set_input_files(str(PHOTOS / "gps_upright.jpg"))
    page.get_by_label("Not compliant", exact=True).check()
    for _ in range(150):  # the verdict reaches the server while the photo waits
        with live_server.db() as db:
            row = db.execute("SELECT verdict FROM findings WHERE standard_code = 'D7.2.5'").fetchone()
        if row:
            break
        page.wait_for_timeout(100)
    assert row and row[0] == "not_compliant"
    expect(page.get_by_role("status")).to_have_text("1 change waiting")  # the photo
    with live_server.db() as db:
        assert db.execute("SELECT count(*) FROM photos").fetchone()[0] == len(demo_photo_hashes())  # none new

    tablet.unroute("**/sync/photos/*")
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=45_000)
    with live_server.db() as db:
        assert db.execute("SELECT count(*) FROM finding_photos WHERE standard_code = 'D7.2.5' AND attached = 1"
                          ).fetchone()[0] == 1


def attached_on(server, code):
    """How many photos the server holds attached to the standard's findings."""
    with server.db() as db:
        return db.execute("SELECT count(*) FROM finding_photos WHERE standard_code = ? AND attached = 1",
                          [code]).fetchone()[0]


def test_photos_chosen_together_open_full_size_and_a_removal_can_be_undone(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector2")
    page.goto(standard_url(live_server, "D7.2.6"))
    page.get_by_label("Choose photos").set_input_files([str(PHOTOS / "gps_upright.jpg"), str(PHOTOS / "gps_rotated.jpg")])
    photos = page.locator("[data-photo-list] li[data-sha256]")
    expect(photos).to_have_count(2, timeout=15_000)  # both are re-encoded on the tablet first
    expect(page.locator("[data-save-state]")).not_to_have_text("Nothing recorded yet")
    long_caption = "Dewar 3 alarm panel, tested at 10:40 with the nurse in charge; the alarm sounded in the office " * 2
    page.get_by_label("Caption").first.fill(long_caption)
    caption = page.get_by_label("Caption").first
    assert caption.evaluate("e => e.scrollHeight <= e.clientHeight + 2")  # the whole caption shows

    page.get_by_role("button", name="Remove photo").nth(1).click()
    expect(photos).to_have_count(1)
    undo = page.get_by_role("button", name="Undo remove photo")
    expect(undo).to_be_focused()
    undo.click()
    expect(photos).to_have_count(2)
    expect(page.get_by_role("button", name="Undo remove photo")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    # "All synced" may still be the answer to the removal, read before the
    # undo was queued: reload once the server holds both photos again.
    deadline = time.monotonic() + 30
    while attached_on(live_server, "D7.2.6") != 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)

    page.reload()
    expect(photos).to_have_count(2)
    with page.expect_popup() as popup:
        page.get_by_role("link", name="Photo 1").click()
    full = popup.value
    full.wait_for_load_state()
    assert full.url.endswith("/photos/" + photos.first.get_attribute("data-sha256"))
    assert full.evaluate("document.images[0].naturalWidth") > 320  # the full image, not the thumbnail
    assert attached_on(live_server, "D7.2.6") == 2
