"""Bytes on the wire, from the real client in Chromium: a push goes gzip-
compressed (plain JSON where the browser has no CompressionStream), the pull
after it does not bring the tablet's own edits back, and a push the server
refuses keeps its ops on the tablet."""
import gzip
import json

from playwright.sync_api import expect

from tests.helpers import TABLET, log_in_by_cookie

LONG_NOTE = "Temperature log of the cryo store checked page by page; two shifts unsigned. " * 20


def demo_id(server):
    with server.db() as db:
        return db.execute("SELECT id FROM inspections").fetchone()[0]


def note_of(server, code):
    with server.db() as db:
        # The demo's FACT inspection (the first): the JACIE one has findings of inspector1's too.
        row = db.execute("SELECT f.note FROM findings f JOIN users u ON u.id = f.inspector_id "
                         "WHERE u.username = 'inspector1' AND f.standard_code = ? "
                         "AND f.inspection_id = (SELECT min(id) FROM inspections)", [code]).fetchone()
    return row[0] if row else None


def wait_for(page, predicate, timeout_ms=20_000):
    """Wait until ``predicate()`` holds (the server's state, or what the page sent)."""
    for _ in range(timeout_ms // 100):
        if predicate():
            return
        page.wait_for_timeout(100)
    assert predicate()


def watch(page):
    """Every push the page sends, as ("push", Content-Encoding, decoded body),
    and every pull answer, as ("pull", url, body), in the order they happened."""
    events = []

    def on_request(request):
        if request.method == "POST" and request.url.endswith("/sync/push"):
            raw, encoding = request.post_data_buffer, request.headers.get("content-encoding")
            events.append(("push", encoding, json.loads(gzip.decompress(raw) if encoding == "gzip" else raw)))

    def on_response(response):
        if "/sync/pull?" in response.url and response.ok:
            events.append(("pull", response.url, response.json()))

    page.on("request", on_request)
    page.on("response", on_response)
    return events


def pull_after_push(events, value):
    """The first pull answered after the push that carried ``value``, or None."""
    pushed = [i for i, (kind, _, body) in enumerate(events)
              if kind == "push" and any(op["value"] == value for op in body["ops"])]
    pulls = [event for event in events[pushed[0]:] if event[0] == "pull"] if pushed else []
    return pulls[0] if pulls else None


def test_a_push_goes_gzipped_and_the_pull_after_it_brings_none_of_the_tablets_own_edits(live_server, tablet):
    page = tablet.new_page()
    events = watch(page)
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}/standards/B2.3")
    page.get_by_label("Compliant", exact=True).check()   # a first round: the tablet has pulled the inspection
    wait_for(page, lambda: pull_after_push(events, "compliant"))
    first = [event for event in events if event[0] == "pull"]
    assert "device=" not in first[0][1]   # a store's first pull is whole

    page.get_by_label("Note").fill(LONG_NOTE)
    page.get_by_label("Note").blur()
    wait_for(page, lambda: pull_after_push(events, LONG_NOTE))
    assert note_of(live_server, "B2.3") == LONG_NOTE

    encoding, body = next((e, b) for kind, e, b in events if kind == "push" and b["ops"][0]["value"] == LONG_NOTE)
    assert encoding == "gzip"
    assert [(op["standard"], op["field"], op["value"]) for op in body["ops"]] == [("B2.3", "note", LONG_NOTE)]
    _, url, answer = pull_after_push(events, LONG_NOTE)
    assert "device=d" in url
    assert answer["findings"] == []           # B2.3 is this tablet's own: not sent back
    assert answer["cursor"] > pull_after_push(events, "compliant")[2]["cursor"]


def test_where_the_browser_has_no_compression_streams_the_push_is_plain_json(live_server, tablet, chromium):
    older = chromium.new_context(viewport=TABLET)
    older.add_init_script("delete globalThis.CompressionStream")
    try:
        encodings = {}
        for context, code in ((older, "B2.4"), (tablet, "B2.5")):
            page = context.new_page()
            events = watch(page)
            log_in_by_cookie(page, live_server, "inspector1")
            page.goto(f"{live_server.url}/inspections/{demo_id(live_server)}/standards/{code}")
            page.get_by_label("Note").fill(LONG_NOTE)
            page.get_by_label("Note").blur()
            wait_for(page, lambda: note_of(live_server, code) == LONG_NOTE)
            encodings[code] = {encoding for kind, encoding, _ in events if kind == "push"}
    finally:
        older.close()
    assert encodings == {"B2.4": {None}, "B2.5": {"gzip"}}


def test_a_refused_push_keeps_its_ops_and_a_too_large_batch_is_sent_in_halves(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_id(live_server)
    sizes = []

    def too_large(route):
        request = route.request
        raw = request.post_data_buffer
        ops = json.loads(gzip.decompress(raw) if request.headers.get("content-encoding") == "gzip" else raw)["ops"]
        sizes.append(len(ops))
        if len(ops) > limit[0]:
            route.fulfill(status=413, content_type="application/json",
                          body=json.dumps({"error": "too_large", "message": "The batch is too large."}))
        else:
            route.continue_()

    limit = [0]   # first every batch is refused, then only batches of more than one op
    tablet.route("**/sync/push", too_large)
    for code in ("B3.1", "B3.2", "B3.3"):
        page.goto(f"{live_server.url}/inspections/{inspection}/standards/{code}")
        page.get_by_label("Note").fill(f"{code}: {LONG_NOTE}")
        page.get_by_label("Note").blur()
        expect(page.locator("[data-save-state]")).to_contain_text("Saved")
    expect(page.get_by_role("status")).to_contain_text("The server refused a sync", timeout=15_000)
    expect(page.get_by_role("status")).to_contain_text("kept on this device")
    assert [note_of(live_server, code) for code in ("B3.1", "B3.2", "B3.3")] == [None, None, None]

    limit[0] = 1
    page.reload()
    wait_for(page, lambda: [note_of(live_server, code) for code in ("B3.1", "B3.2", "B3.3")] == [
        f"{code}: {LONG_NOTE}" for code in ("B3.1", "B3.2", "B3.3")], 30_000)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=15_000)
    assert 3 in sizes and 1 in sizes
