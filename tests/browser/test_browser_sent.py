"""Sent from this device (issue 24 item 5): the device keeps the server's
answer to every change it sent, lists them on a page that opens offline,
and downloads them as CSV; the answers kept are bounded."""
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.helpers import PHONE, TABLET, demo_inspection_id, log_in_by_cookie, off_the_side, wait_for_worker

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# A verdict of the other scale: well formed, so it is sent, and refused by the server.
RECORD_REFUSED = """async (inspectionId) => {
  const outbox = await import("/sync/static/outbox.js");
  await outbox.record({ inspectionId, standard: "B6.3", section: "B6", field: "verdict", value: "partially_compliant" });
}"""


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_sent_from_this_device_lists_every_answer_offline_and_as_csv(live_server, chromium, viewport):
    context = chromium.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}/standards/B6.2")
    wait_for_worker(page)
    status = page.get_by_role("status")
    page.get_by_label("Compliant", exact=True).check()
    page.get_by_label("Note").fill("Policy signed, =SUM(A1) on file")
    page.get_by_label("Note").blur()
    expect(status).to_have_text("All synced", timeout=30_000)
    page.evaluate(RECORD_REFUSED, inspection)
    expect(status).to_have_text("1 change refused", timeout=30_000)

    # Reached from the header; stored by the worker on the way, then opened with no network.
    page.get_by_role("link", name="Sent from this device").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sent from this device")
    expect(page.locator("[data-sent-rows] tr")).to_have_count(3)
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sent from this device")
    rows = page.locator("[data-sent-rows] tr")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-sent-summary]")).to_have_text("3 changes answered by the server, 1 refused.")
    refused = page.locator("tr[data-answer='refused']")
    expect(refused).to_contain_text("B6.3")
    expect(refused).to_contain_text("Refused: partially_compliant is not a verdict of this checklist")
    expect(page.locator("tr[data-answer='applied']")).to_have_count(2)
    expect(page.locator("tr[data-answer='applied']").first).to_contain_text("Policy signed")  # the latest first
    for stamp in page.locator("[data-sent-rows] time").evaluate_all("els => els.map((e) => e.dateTime)"):
        assert ISO_MS.match(stamp), stamp
    assert off_the_side(page) == []

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["standard"], r["field"], r["answer"]) for r in table] == [
        ("B6.3", "verdict", "refused"), ("B6.2", "note", "applied"), ("B6.2", "verdict", "applied")]
    assert table[0]["reason"].startswith("partially_compliant is not a verdict")
    assert table[1]["value"] == "Policy signed, =SUM(A1) on file"  # quoted by CSV, not run as a formula
    assert table[2]["value"] == "Compliant"
    assert all(ISO_MS.match(r["answered_at"]) and ISO_MS.match(r["made_at"]) for r in table)
    with live_server.db() as db:
        sent = {r[0] for r in db.execute("SELECT op_id FROM ops WHERE standard_code = 'B6.2'")}
    assert {r["op_id"] for r in table[1:]} <= sent
    context.close()


# Answers put in the store as settle would, some old, then pruned as settle does.
PRUNE = """async ({ days, entries }) => {
  const outbox = await import("/sync/static/outbox.js");
  const store = await import("/sync/static/store.js");
  const db = await store.db();
  const now = Date.now(), day = 86_400_000;
  const tx = db.transaction("sent", "readwrite");
  const sent = tx.objectStore("sent");
  const op = (i) => ({ op_id: `op-${String(i).padStart(3, "0")}`, inspection_id: 1, standard: "B6.2", field: "note",
                       value: `n${i}`, hlc: null, seq: i });
  for (let i = 0; i < 10; i++) await outbox.keepAnswer(sent, op(i), "applied", null, now - (100 - i) * day);  // too old
  for (let i = 10; i < 20; i++) await outbox.keepAnswer(sent, op(i), "applied", null, now - (20 - i) * day);
  await outbox.pruneAnswers(sent, { days, entries }, now);
  await tx.done;
  return (await outbox.sentLog()).map((e) => e.op_id);
}"""


def test_answers_kept_are_bounded_by_age_and_number(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    kept = page.evaluate(PRUNE, {"days": 90, "entries": 6})
    assert kept == [f"op-{i:03d}" for i in range(19, 13, -1)]  # none over 90 days, then the latest 6
    # The server's settings reach the device.
    assert page.evaluate("document.body.dataset.sentKeepDays") == "90"
    assert page.evaluate("import('/sync/static/outbox.js').then((m) => m.sentKeep())") == {"days": 90, "entries": 5000}
