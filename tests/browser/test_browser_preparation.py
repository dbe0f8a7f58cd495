"""Before the visit, in real Chromium: the program's PDF opens in the
browser's own viewer (not downloaded, not blocked) from our origin, online
and, once its section's documents are stored, offline; the self-assessment
comes with Make available offline; a request for information raised offline
shows at once, waits, syncs and reaches the server."""
import contextlib

import pytest
from playwright.sync_api import expect

from inspector.domain import users
from inspector.domain.db import connect, database_path
from tests.helpers import (LiveServer, copy_data_dir, demo_inspection_id, log_in_by_cookie, make_available_offline,
                           prepare_as_program, read_only_db, small_pdf)

# Chromium's PDF viewer is an extension of its own: its frame opens inside a page showing a PDF.
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
CACHED_PAGE = """async (url) => {
  const name = (await caches.keys()).find((n) => n.startsWith("pages-u"));
  const hit = await (await caches.open(name)).match(url);
  return hit ? hit.text() : null;
}"""


@pytest.fixture
def prepared_server(tmp_path, seeded_db):
    """The demo on site, its program having self-assessed B1.5 and sent a
    PDF linked to B1.5 and B2.3."""
    data_dir = copy_data_dir(seeded_db, tmp_path / "data")
    db = connect(database_path(data_dir))
    try:
        inspection = db.conn.execute("SELECT id FROM inspections ORDER BY id").fetchone()[0]
        made = prepare_as_program(db, inspection, users.by_username(db, "lead")["id"], state="on_site",
                                  assessed={"B1.5": ("compliant", "Our SOP-QM-01 covers the manufacturer agreements.")},
                                  documents=[("Quality manual", "3.2", small_pdf("Quality manual", pages=3),
                                              "quality-manual.pdf", ["B1.5", "B2.3"])])
    finally:
        db.conn.close()
    server = LiveServer(data_dir).start()
    yield server, inspection, made["documents"]["Quality manual"]
    server.stop()


def shows_pdf(page, url):
    """Open ``url`` in ``page``: True when Chromium's viewer shows it, False
    when it shows anything else; a download fails the test."""
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    if page.url != url:
        page.goto(url)
    for _ in range(50):
        if any(frame.url.startswith(PDF_VIEWER) for frame in page.frames):
            break
        page.wait_for_timeout(100)
    assert not downloads, "the PDF was downloaded, not shown"
    return any(frame.url.startswith(PDF_VIEWER) for frame in page.frames) and \
        page.evaluate("document.contentType") == "application/pdf"


def test_the_pdf_opens_in_the_viewer_online_and_offline_once_stored(prepared_server, tablet):
    server, inspection, sha = prepared_server
    document = f"{server.url}/inspections/{inspection}/program-documents/{sha}"
    page = tablet.new_page()
    log_in_by_cookie(page, server, "inspector1")
    page.goto(f"{server.url}/inspections/{inspection}/program-documents")
    page.get_by_role("link", name="Quality manual").click()
    page.wait_for_url(document)
    assert shows_pdf(page, document)  # online, from the server, under the app's own policy

    page.goto(f"{server.url}/inspections/{inspection}")
    make_available_offline(page)
    # The self-assessment is in the stored copy of the standard page.
    stored = page.evaluate(CACHED_PAGE, f"/inspections/{inspection}/standards/B1.5")
    assert stored and "Our SOP-QM-01 covers the manufacturer agreements." in stored and "Quality manual" in stored
    section = page.locator('[data-section-documents="B1"]')
    section.get_by_role("button", name="Store this section's documents").click()
    expect(section.locator("[data-documents-state]")).to_have_text("Stored on this device.", timeout=20_000)

    tablet.set_offline(True)
    page.goto(f"{server.url}/inspections/{inspection}/standards/B1.5")
    expect(page.get_by_text("Our SOP-QM-01 covers the manufacturer agreements.")).to_be_visible()
    page.get_by_role("link", name="Quality manual").click()
    page.wait_for_url(document)
    assert shows_pdf(page, document)  # offline, from the worker's documents cache

    # Removed, it no longer opens offline; the page says so instead.
    page.goto(f"{server.url}/inspections/{inspection}")
    section = page.locator('[data-section-documents="B1"]')
    expect(section.locator("[data-documents-state]")).to_have_text("Stored on this device.")
    section.get_by_role("button", name="Remove from this device").click()
    expect(section.get_by_role("button", name="Remove from this device")).to_be_hidden()
    assert not shows_pdf(page, document)
    expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
    tablet.set_offline(False)


def test_a_request_raised_offline_waits_then_reaches_the_server(prepared_server, tablet):
    server, inspection, _ = prepared_server
    page = tablet.new_page()
    log_in_by_cookie(page, server, "inspector1")
    page.goto(f"{server.url}/inspections/{inspection}")
    make_available_offline(page)
    tablet.set_offline(True)
    page.goto(f"{server.url}/inspections/{inspection}/standards/B1.5")
    page.get_by_label("Request for information").fill("The training records of the night-shift nurses")
    page.get_by_role("button", name="Send request").click()
    item = page.locator("[data-request-id]").filter(has_text="The training records of the night-shift nurses")
    expect(item.locator("[data-request-sync]")).to_have_text("· Waiting to sync")
    # Still there after a reload offline: the tablet holds it, the stored page does not.
    page.reload()
    expect(item.locator("[data-request-sync]")).to_have_text("· Waiting to sync")

    tablet.set_offline(False)
    expect(item.locator("[data-request-sync]")).to_have_text("· Sent", timeout=30_000)
    request_id = item.get_attribute("data-request-id")
    with contextlib.closing(read_only_db(server.data_dir)) as db:
        row = db.execute("SELECT standard_code, text FROM requests WHERE request_id = ?", [request_id]).fetchone()
    assert tuple(row) == ("B1.5", "The training records of the night-shift nurses")
    # Online again, the server's page shows it, and its raiser may close it.
    page.reload()
    item.get_by_role("button", name="Close request").click()
    expect(item.locator("[data-request-status]")).to_have_text("Closed")
    expect(item.locator("[data-request-sync]")).to_have_text("", timeout=30_000)
    page.reload()
    expect(item.locator("[data-request-status]")).to_have_text("Closed")


def test_a_request_refused_by_the_server_is_kept_with_its_reason(prepared_server, tablet):
    """The visit ends while the tablet is offline: the request it raised is
    refused (inspection_state) and kept on the tablet, saying why."""
    server, inspection, _ = prepared_server
    page = tablet.new_page()
    log_in_by_cookie(page, server, "inspector1")
    page.goto(f"{server.url}/inspections/{inspection}")
    make_available_offline(page)
    tablet.set_offline(True)
    page.goto(f"{server.url}/inspections/{inspection}/standards/B1.5")
    page.get_by_label("Request for information").fill("The cleaning logs")
    page.get_by_role("button", name="Send request").click()
    db = connect(database_path(server.data_dir))
    try:
        db.conn.execute("UPDATE inspections SET state = 'merging' WHERE id = ?", [inspection])
        db.conn.commit()
    finally:
        db.conn.close()
    tablet.set_offline(False)
    item = page.locator("[data-request-id]").filter(has_text="The cleaning logs")
    expect(item.locator("[data-request-sync]")).to_contain_text("Not accepted by the server: Requests for "
                                                                "information are raised before and during the visit",
                                                                timeout=30_000)
    assert demo_inspection_id(server.data_dir) == inspection
