"""The History page read on a tablet and on a phone: every record fits the
screen (no sideways scrolling), and on a phone each record reads as a card
with its labels."""
import pytest

from tests.helpers import PHONE, TABLET, log_in_by_cookie, off_the_side


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_lead_reads_the_history_without_scrolling_sideways(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "lead")
    with live_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    page.goto(f"{live_server.url}/inspections/{inspection}/history")
    assert page.get_by_role("heading", name="History").is_visible()
    assert page.get_by_role("rowheader", name="Ada Admin added Ivo Processing to the team").is_visible()
    assert off_the_side(page) == []
    label = page.evaluate("getComputedStyle(document.querySelector('.history td'), '::before').content")
    assert (label == '"When (UTC): "') is (viewport == PHONE)
    context.close()
