"""Finding the work: a follow-up flag per standard (an op like any other),
marks on a section's rows for a note, photos and the flag, and filters
that work on a cached page offline with this device's unsynced edits."""
from playwright.sync_api import expect

from inspector.testing import demo_inspection_id, log_in_by_cookie, make_available_offline


def shown(page):
    return page.locator("ul.standards [data-standard]:visible")


def test_flag_marks_and_filters_online_and_offline(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_inspection_id(live_server.data_dir)
    base = f"{live_server.url}/inspections/{inspection}"
    page.goto(base)
    make_available_offline(page)

    page.goto(f"{base}/standards/B6.2")
    flag = page.get_by_role("button", name="Flag for follow-up")
    expect(flag).to_have_attribute("aria-pressed", "false")
    flag.click()
    expect(flag).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-save-state]")).to_have_text("Saved and synced", timeout=15_000)
    with live_server.db() as db:
        assert [tuple(r) for r in db.execute("SELECT standard_code, flagged FROM finding_flags")] == [("B6.2", 1)]
    page.reload()
    expect(flag).to_have_attribute("aria-pressed", "true")

    page.goto(f"{base}/sections/B6")
    row = page.locator("[data-standard='B6.2']")
    expect(row.locator("[data-mark=flagged]")).to_be_visible()
    page.get_by_role("link", name="Flagged", exact=True).click()
    expect(shown(page)).to_have_count(1)
    expect(page.locator("[data-filter-count]")).to_contain_text("1 of")

    # Offline, on the cached pages: a note written now shows and filters at once.
    tablet.set_offline(True)
    page.goto(f"{base}/standards/B6.3")
    page.get_by_label("Note").fill("Minutes for two of three patients only.")
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    page.goto(f"{base}/sections/B6?only=evidence")
    expect(page.locator("[data-standard='B6.3'] [data-mark=note]")).to_be_visible()
    expect(page.locator("[data-standard='B6.3']")).to_be_visible()
    expect(page.locator("[data-standard='B6.2']")).to_be_hidden()
    page.goto(f"{base}/sections/B6?only=flagged")
    expect(shown(page)).to_have_count(1)
    expect(page.locator("[data-standard='B6.2']")).to_be_visible()
    page.goto(f"{base}/sections/B6?only=not_assessed")
    expect(page.locator("[data-standard='B6.2']")).to_be_visible()
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
