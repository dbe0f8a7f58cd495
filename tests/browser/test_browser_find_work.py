"""Finding the work: a follow-up flag per standard (an op like any other),
marks on a section's rows for a note, photos and the flag, and filters
that work on a cached page offline with this device's unsynced edits."""
import re

from playwright.sync_api import expect

from tests.helpers import demo_inspection_id, log_in_by_cookie, make_available_offline


def shown(page):
    return page.locator("ul.standards [data-standard]:visible")


def inspector1_with_the_inspection_offline(live_server, tablet):
    """A page logged in as inspector1 on the demo inspection, made available offline; and its address."""
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    base = f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}"
    page.goto(base)
    make_available_offline(page)
    return page, base


def test_flag_marks_and_filters_online_and_offline(live_server, tablet):
    page, base = inspector1_with_the_inspection_offline(live_server, tablet)
    # A filter that shows nothing says so, and how to get something there.
    page.goto(f"{base}/sections/B6?only=flagged")
    expect(page.locator("[data-filter-count]")).to_have_text(re.compile(r"^Nothing flagged here yet"))
    expect(shown(page)).to_have_count(0)

    page.goto(f"{base}/standards/B6.2")
    flag = page.get_by_role("button", name="Flag for follow-up")
    expect(flag).to_have_attribute("aria-pressed", "false")
    flag.click()
    expect(flag).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-save-state]")).to_have_text("Saved and synced", timeout=15_000)
    with live_server.db() as db:
        flags = [tuple(r) for r in db.execute("SELECT standard_code, flagged FROM finding_flags ORDER BY 1")]
        assert flags == [("B6.2", 1), ("B7.3.3", 1)]  # and the demo's own
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


def test_inspection_page_filters_online_and_offline(live_server, tablet):
    """The inspection page under a filter lists my sections' matching
    standards grouped by section; offline, on its cached copy, with the
    edits this tablet has not synced yet."""
    page, base = inspector1_with_the_inspection_offline(live_server, tablet)
    sections = page.locator("[data-sections-list]")
    standards = page.locator("[data-standards]")
    expect(sections).to_be_visible()
    expect(standards).to_be_hidden()

    page.get_by_role("link", name="Not compliant", exact=True).click()
    expect(page).to_have_url(f"{base}?only=not_compliant")
    expect(sections).to_be_hidden()
    # The demo's: inspector1 found B1.5, B2.3, B7.2.10 and B7.3.3 not compliant.
    expect(shown(page)).to_have_count(4)
    expect(page.locator("[data-filter-count]")).to_contain_text("4 of")
    expect(page.locator("[data-group]:visible h3")).to_have_text(
        [re.compile(r"^B1\s"), re.compile(r"^B2\s"), re.compile(r"^B7\s")])
    expect(page.locator("[data-standard='B2.3'] [data-mark=note]")).to_be_visible()
    expect(page.get_by_role("link", name="Not compliant", exact=True)).to_have_attribute("aria-current", "page")
    page.locator("[data-standard='B2.3'] a").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("B2.3")

    # Offline: a verdict and a flag given now show at once on the cached page.
    tablet.set_offline(True)
    page.goto(f"{base}/standards/B6.3")
    page.get_by_label("Not compliant", exact=True).check()
    page.get_by_role("button", name="Flag for follow-up").click()
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    page.goto(f"{base}?only=not_compliant")
    expect(sections).to_be_hidden()
    expect(shown(page)).to_have_count(5)
    expect(page.locator("[data-standard='B6.3']")).to_be_visible()
    expect(page.get_by_role("link", name="Not compliant", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="All", exact=True)).not_to_have_attribute("aria-current", "page")
    page.goto(f"{base}?only=flagged")
    expect(shown(page)).to_have_count(2)  # this one, and the demo's B7.3.3
    expect(page.locator("[data-standard='B6.3'] [data-mark=flagged]")).to_be_visible()
    expect(page.locator("[data-standard='B7.3.3'] [data-mark=flagged]")).to_be_visible()
    page.goto(f"{base}?only=not_assessed")
    expect(page.locator("[data-standard='B6.3']")).to_be_hidden()
    expect(page.locator("[data-standard='B1.2']")).to_be_visible()
    page.goto(base)
    expect(sections).to_be_visible()
    expect(standards).to_be_hidden()
    # The section's row counts the flag given offline.
    expect(page.locator(".section-row[data-section='B6'] [data-mark-count=flagged]")).to_have_text("1 flagged")
    expect(page.locator(".section-row[data-section='B7'] [data-mark-count=flagged]")).to_have_text("1 flagged")
    expect(page.locator(".section-row[data-section='B3'] [data-mark-count=flagged]")).to_be_hidden()
    tablet.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
