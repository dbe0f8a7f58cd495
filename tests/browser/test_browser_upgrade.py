"""A tablet that went into the field with the first version of the outbox
database comes back with unsynced work in it. The new code upgrades the
database in place: every op survives, with its id, and then syncs."""
import time

import pytest
from playwright.sync_api import expect

from tests.helpers import log_in_through_form

pytestmark = pytest.mark.browser

# What the tablet holds, written with the version 1 schema exactly as the
# first release created it (sync/static/outbox.js before store.js existed):
# a verdict, a note and a photo waiting, and a change the server refused.
WRITE_VERSION_1_OUTBOX = """async ({ userId, inspectionId, device }) => {
    const open = indexedDB.open(`inspector-u${userId}`, 1);
    open.onupgradeneeded = () => {
        const db = open.result;
        const outbox = db.createObjectStore("outbox", { keyPath: "op_id" });
        outbox.createIndex("by_key", "key");
        outbox.createIndex("by_seq", "seq");
        db.createObjectStore("values", { keyPath: "key" });
        db.createObjectStore("photos", { keyPath: "sha256" });
        db.createObjectStore("meta");
    };
    const db = await new Promise((ok, fail) => { open.onsuccess = () => ok(open.result); open.onerror = () => fail(open.error); });

    const canvas = new OffscreenCanvas(64, 48);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#c00"; ctx.fillRect(0, 0, 64, 48);
    const blob = await canvas.convertToBlob({ type: "image/jpeg" });
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");

    const wall = Date.now() - 3600_000;  // an hour ago, on the ward
    const stamp = (n) => `${String(wall).padStart(15, "0")}:${String(n).padStart(5, "0")}:${device}`;
    const op = (seq, standard, field, value, extra = {}) => {
        const f = field === "photo" ? `photo:${value.sha256}` : field;
        return { op_id: `v1-${seq}-${crypto.randomUUID()}`, device_id: device, seq, hlc: stamp(seq),
                 inspection_id: inspectionId, standard, field, value, key: `${inspectionId}|${standard}|${f}`,
                 section: "B6", state: "pending", ...extra };
    };
    const ops = [
        op(1, "B6.1", "verdict", "not_compliant"),
        op(2, "B6.1", "note", "Apheresis unit has no written emergency procedure."),
        op(3, "B6.1", "photo", { sha256, attached: true }),
        op(4, "B6.2", "verdict", "compliant", { state: "rejected", reason: "refused before the update" }),
    ];
    const tx = db.transaction(["outbox", "values", "photos", "meta"], "readwrite");
    for (const o of ops) {
        tx.objectStore("outbox").put(o);
        tx.objectStore("values").put({ key: o.key, inspection_id: inspectionId, standard: o.standard, section: "B6",
                                       field: o.field, value: o.value, stamp: `${o.hlc} ${o.op_id}` });
    }
    tx.objectStore("photos").put({ sha256, blob, width: 64, height: 48, uploaded: false, error: null });
    tx.objectStore("meta").put(4, "seq");
    tx.objectStore("meta").put({ wall, counter: 4 }, "hlc");
    tx.objectStore("meta").put([inspectionId], "inspections");
    await new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = () => fail(tx.error); });
    db.close();
    localStorage.setItem("inspector-device-id", device);
    return { sha256, opIds: ops.map((o) => o.op_id) };
}"""

READ_OUTBOX = """async (userId) => {
    const open = indexedDB.open(`inspector-u${userId}`);
    const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
    const read = (store) => new Promise((ok) => {
        const req = db.transaction(store).objectStore(store).getAll();
        req.onsuccess = () => ok(req.result);
    });
    const result = { version: db.version, indexes: [...db.transaction("outbox").objectStore("outbox").indexNames],
                     ops: (await read("outbox")).map((o) => [o.standard, o.field, o.state]),
                     photos: (await read("photos")).map((p) => [p.state, p.blob instanceof Blob]) };
    db.close();
    return result;
}"""


def test_unsynced_work_in_a_version_1_database_survives_the_upgrade_and_syncs(live_server, tablet):
    with live_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
        user_id = db.execute("SELECT id FROM users WHERE username = 'inspector1'").fetchone()[0]
    page = tablet.new_page()
    page.goto(live_server.url + "/login")  # logged out: nothing opens the database yet
    held = page.evaluate(WRITE_VERSION_1_OUTBOX, {"userId": user_id, "inspectionId": inspection,
                                                 "device": "dFieldTablet0001"})

    # The inspector logs in on the new release: the database is upgraded and the loop syncs.
    log_in_through_form(page, live_server.url, "inspector1")
    expect(page.get_by_role("status")).to_have_text("1 change refused", timeout=30_000)
    expect(page.locator("#sync-problems")).to_contain_text("B6.2 (verdict): refused before the update")
    deadline = time.monotonic() + 30
    while True:
        with live_server.db() as db:
            finding = db.execute("SELECT verdict, note FROM findings WHERE standard_code = 'B6.1'").fetchone()
            photo = db.execute("SELECT sha256, attached FROM finding_photos WHERE standard_code = 'B6.1'").fetchone()
            op_ids = {r[0] for r in db.execute("SELECT op_id FROM ops WHERE standard_code LIKE 'B6.%'")}
        if (finding and photo) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    assert tuple(finding) == ("not_compliant", "Apheresis unit has no written emergency procedure.")
    assert tuple(photo) == (held["sha256"], 1)
    assert op_ids == set(held["opIds"][:3])  # the same ops, sent once each, under their own ids

    outbox = page.evaluate(READ_OUTBOX, user_id)
    assert outbox["version"] == 3 and "by_state" in outbox["indexes"]
    assert outbox["ops"] == [["B6.2", "verdict", "rejected"]]  # refused: kept, still shown, never dropped
    assert outbox["photos"] == [["uploaded", True]]  # the blob stays on the tablet
