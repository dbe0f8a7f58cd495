"""The sync protocol through its real HTTP endpoints, as an inspector's
tablets use it: pushing batches (again, late, out of order, from two
devices), uploading photos, losing the session, and pulling changes."""
import hashlib
import json
import io

import pytest
from PIL import Image

from inspector.domain import inspections, photos, team, users
from inspector.domain.db import connect, database_path, transaction
from tests.helpers import HOUR, PASSWORD, SYNC, T0, Device, demo_photo_hashes, push
from sync import fields, protocol



# --- helpers -----------------------------------------------------------------

DEMO_PHOTOS = demo_photo_hashes()


def rows(db, sql, params=()):
    return [dict(r) for r in db.conn.execute(sql, params)]


def findings(db):
    return rows(db, "SELECT * FROM findings ORDER BY inspection_id, standard_code, inspector_id")


def finding_photos(db):
    return rows(db, "SELECT * FROM finding_photos ORDER BY inspection_id, standard_code, inspector_id, sha256")


def ops_log(db):
    return rows(db, "SELECT * FROM ops ORDER BY seq")


def op_status(db, op_id):
    row = db.conn.execute("SELECT status FROM ops WHERE op_id = ?", [op_id]).fetchone()
    return row[0] if row else None


def uid(db, username):
    return users.by_username(db, username)["id"]


def finding(db, inspection, code, username):
    row = db.conn.execute("SELECT * FROM findings WHERE inspection_id = ? AND standard_code = ? AND inspector_id = ?",
                          [inspection, code, uid(db, username)]).fetchone()
    return dict(row) if row else None


def stamp(op):
    return f"{op['hlc']} {op['op_id']}"


def statuses(response):
    assert response.status_code == 200, response.data
    return [(r["op_id"], r["status"]) for r in response.json["results"]]


def jpeg(color=(200, 30, 30), size=(64, 48)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    raw = buf.getvalue()
    return raw, hashlib.sha256(raw).hexdigest()


def put_photo(client, raw, sha, **kw):
    headers = {**SYNC, "Content-Type": "image/jpeg", **kw.pop("headers", {})}
    return client.put(f"/sync/photos/{sha}", data=raw, headers=headers, **kw)


# --- 1. the same batch twice -------------------------------------------------

def test_a_batch_pushed_twice_is_applied_once(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    batch = [device.op(demo_inspection, "B2.1", "verdict", "compliant"),
             device.op(demo_inspection, "B2.1", "note", "SOPs signed by the director."),
             device.op(demo_inspection, "B2.2", "verdict", "not_compliant")]
    assert statuses(push(client, batch)) == [(op["op_id"], "applied") for op in batch]
    f = finding(db, demo_inspection, "B2.1", "inspector1")
    assert (f["verdict"], f["note"]) == ("compliant", "SOPs signed by the director.")
    before = findings(db), finding_photos(db), ops_log(db)

    # The tablet lost the answer (tunnel, lift, flaky wifi) and sends it all again.
    assert statuses(push(client, batch)) == [(op["op_id"], "duplicate") for op in batch]
    assert (findings(db), finding_photos(db), ops_log(db)) == before


def test_an_op_id_reused_for_a_different_op_is_rejected(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    op = device.op(demo_inspection, "B2.1", "verdict", "compliant")
    push(client, [op])
    forged = {**op, "value": "not_compliant"}
    response = push(client, [forged])
    [result] = response.json["results"]
    assert (result["status"], result["code"]) == ("rejected", "op_id_reused")
    assert finding(db, demo_inspection, "B2.1", "inspector1")["verdict"] == "compliant"


# --- 2. ops out of order -----------------------------------------------------

def test_a_later_edit_arriving_first_stands_and_the_earlier_is_superseded(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    first = device.op(demo_inspection, "B2.3", "verdict", "compliant")
    second = device.op(demo_inspection, "B2.3", "verdict", "not_compliant")   # the inspector changed their mind
    note_1 = device.op(demo_inspection, "B2.3", "note", "draft")
    note_2 = device.op(demo_inspection, "B2.3", "note", "Training records missing for two nurses.")

    assert statuses(push(client, [second])) == [(second["op_id"], "applied")]
    assert statuses(push(client, [first])) == [(first["op_id"], "superseded")]
    # Within one batch too.
    assert statuses(push(client, [note_2, note_1])) == [(note_2["op_id"], "applied"), (note_1["op_id"], "superseded")]

    f = finding(db, demo_inspection, "B2.3", "inspector1")
    assert (f["verdict"], f["verdict_hlc"]) == ("not_compliant", stamp(second))
    assert (f["note"], f["note_hlc"]) == ("Training records missing for two nurses.", stamp(note_2))
    # The earlier edits are kept in the log, marked.
    assert op_status(db, first["op_id"]) == "superseded"
    assert op_status(db, note_1["op_id"]) == "superseded"
    assert op_status(db, second["op_id"]) == "applied"
    # Sending the late one again is only a duplicate.
    assert statuses(push(client, [first])) == [(first["op_id"], "duplicate")]


# --- 3. one inspector, two tablets, clocks an hour apart ---------------------

def _two_devices_ops(inspection):
    a = Device("tabletA", clock_ms=T0)
    b = Device("tabletB", clock_ms=T0 + HOUR)          # B's clock runs an hour fast
    ops_a = [a.op(inspection, "B4.1", "verdict", "compliant", at_ms=T0 + 10),
             a.op(inspection, "B4.1", "note", "Checked on tablet A later in the day.", at_ms=T0 + 2 * HOUR),
             a.op(inspection, "B4.2", "verdict", "not_applicable", at_ms=T0 + 20)]
    ops_b = [b.op(inspection, "B4.1", "verdict", "not_compliant", at_ms=T0 + HOUR + 5),
             b.op(inspection, "B4.1", "note", "Tablet B note.", at_ms=T0 + HOUR + 6),
             b.op(inspection, "B4.2", "verdict", "compliant", at_ms=T0 + 20)]  # same wall time as A's: ids break the tie
    return ops_a, ops_b


def test_two_tablets_of_one_inspector_converge_whatever_the_arrival_order(tmp_path, demo_inspection, new_app,
                                                                           as_user):
    ops_a, ops_b = _two_devices_ops(demo_inspection)
    # B4.2: equal wall time and counter, so the device id decides: "tabletB" > "tabletA".
    winners = {("B4.1", "verdict"): ops_b[0], ("B4.1", "note"): ops_a[1], ("B4.2", "verdict"): ops_b[2]}

    outcomes = []
    for name, order in (("a_then_b", (ops_a, ops_b)), ("b_then_a", (ops_b, ops_a))):
        app = new_app(tmp_path / name)
        client = as_user("inspector1", app=app)
        results = {}
        for batch in order:
            results.update(statuses(push(client, batch)))
        db = connect(database_path(app.config["DATA_DIR"]))
        try:
            state = [{k: v for k, v in row.items() if k != "last_seq"} for row in findings(db)]
            log = {r["op_id"]: r["status"] for r in ops_log(db)}
            for (code, field), op in winners.items():
                f = finding(db, demo_inspection, code, "inspector1")
                assert (f[field], f[f"{field}_hlc"]) == (op["value"], stamp(op)), (name, code, field)
        finally:
            db.conn.close()
        # Every op of both tablets is in the log; the losers marked superseded
        # (or, if they arrived first, overwritten later by the winner).
        assert {op["op_id"] for op in ops_a + ops_b} <= set(log)
        outcomes.append(state)
        if name == "a_then_b":
            assert results == {ops_a[0]["op_id"]: "applied", ops_a[1]["op_id"]: "applied",
                               ops_a[2]["op_id"]: "applied", ops_b[0]["op_id"]: "applied",
                               ops_b[1]["op_id"]: "superseded", ops_b[2]["op_id"]: "applied"}
        else:
            assert results == {ops_b[0]["op_id"]: "applied", ops_b[1]["op_id"]: "applied",
                               ops_b[2]["op_id"]: "applied", ops_a[0]["op_id"]: "superseded",
                               ops_a[1]["op_id"]: "applied", ops_a[2]["op_id"]: "superseded"}
    assert outcomes[0] == outcomes[1]


# --- 4. two inspectors on one standard ---------------------------------------

def test_two_inspectors_on_one_standard_never_overwrite_each_other(as_user, db, demo_inspection):
    # B1 is covered by inspector1 and inspector3 on purpose.
    one, three = Device(clock_ms=T0), Device(clock_ms=T0 + HOUR)
    op1 = one.op(demo_inspection, "B1.4", "verdict", "compliant")
    op3 = three.op(demo_inspection, "B1.4", "verdict", "not_compliant")  # later stamp, another person
    n1 = one.op(demo_inspection, "B1.4", "note", "Agreement seen.")
    n3 = three.op(demo_inspection, "B1.4", "note", "Agreement expired in March.")
    assert statuses(push(as_user("inspector1"), [op1, n1])) == [(op1["op_id"], "applied"), (n1["op_id"], "applied")]
    assert statuses(push(as_user("inspector3"), [op3, n3])) == [(op3["op_id"], "applied"), (n3["op_id"], "applied")]

    rows_ = rows(db, "SELECT inspector_id, verdict, note FROM findings WHERE inspection_id = ? AND standard_code = ? "
                     "ORDER BY inspector_id", [demo_inspection, "B1.4"])
    assert rows_ == sorted([
        {"inspector_id": uid(db, "inspector1"), "verdict": "compliant", "note": "Agreement seen."},
        {"inspector_id": uid(db, "inspector3"), "verdict": "not_compliant", "note": "Agreement expired in March."},
    ], key=lambda r: r["inspector_id"])


# --- 5. one malformed op among good ones -------------------------------------

def _bad(op, **change):
    bad = {**op, **change}
    return {k: v for k, v in bad.items() if v is not DROP}


DROP = object()
SHA = "ab" * 32
# A bad op, and the reason code it is refused with: ``malformed`` for the op
# itself, its field's code for its value (sync/shapes.py).
BAD_OPS = {
    "bad verdict": (lambda op: _bad(op, value="maybe"), "wrong_type"),
    "verdict of the wrong type": (lambda op: _bad(op, value=["compliant"]), "wrong_type"),
    "verdict as an object": (lambda op: _bad(op, value={"v": 1}), "wrong_type"),
    "missing op_id": (lambda op: _bad(op, op_id=DROP), "malformed"),
    "op_id not a string": (lambda op: _bad(op, op_id=12345678), "malformed"),
    "wrong hlc shape": (lambda op: _bad(op, hlc="2026-11-25T10:00:00Z"), "malformed"),
    # A pattern's "$" also matches before a final newline: these were stored.
    "op_id ending in a newline": (lambda op: _bad(op, op_id=op["op_id"] + "\n"), "malformed"),
    "device_id ending in a newline": (lambda op: _bad(op, device_id=op["device_id"] + "\n"), "malformed"),
    "hlc ending in a newline": (lambda op: _bad(op, hlc=op["hlc"] + "\n"), "malformed"),
    "photo hash ending in a newline": (
        lambda op: _bad(op, field="caption", value={"sha256": SHA + "\n", "text": "x"}), "wrong_type"),
    "hlc of another device": (lambda op: _bad(op, hlc=f"{T0:015d}:00000:someoneelse"), "malformed"),
    "unknown field": (lambda op: _bad(op, field="score", value=3), "malformed"),
    "not an object": (lambda op: "verdict=compliant", "malformed"),
    "a list": (lambda op: [op], "malformed"),
    "null": (lambda op: None, "malformed"),
    "missing value": (lambda op: _bad(op, value=DROP), "malformed"),
    "negative seq": (lambda op: _bad(op, seq=-1), "malformed"),
    "seq too large for the database": (lambda op: _bad(op, seq=2 ** 70), "malformed"),
    "inspection id not an integer": (lambda op: _bad(op, inspection_id="1"), "malformed"),
    "inspection id too large": (lambda op: _bad(op, inspection_id=2 ** 70), "malformed"),
    "note not a string": (lambda op: _bad(op, field="note", value=42), "wrong_type"),
    "note that is not valid unicode": (lambda op: _bad(op, field="note", value="fever chart \ud800"), "wrong_type"),
    "caption that is not valid unicode": (
        lambda op: _bad(op, field="caption", value={"sha256": SHA, "text": "\udfff"}), "wrong_type"),
    "photo hash not a string": (
        lambda op: _bad(op, field="caption", value={"sha256": int("1" * 64), "text": "x"}), "wrong_type"),
    "photo without attached": (lambda op: _bad(op, field="photo", value={"sha256": SHA}), "wrong_type"),
    "caption too long": (lambda op: _bad(op, field="caption",
                                         value={"sha256": SHA, "text": "x" * (fields.MAX_CAPTION + 1)}), "too_long"),
    "note too long": (lambda op: _bad(op, field="note", value="x" * (fields.MAX_NOTE + 1)), "too_long"),
    # Stored for good in the append-only log, past every limit: now refused.
    "caption with an extra key": (lambda op: _bad(op, field="caption", value={"sha256": SHA, "text": "x",
                                                                               "pad": "y" * 100_000}), "unknown_key"),
    "photo with junk nested inside": (
        lambda op: _bad(op, field="photo", value={"sha256": SHA, "attached": False,
                                                  "junk": json.loads("[" * 150 + "]" * 150)}), "unknown_key"),
    "photo's attached as a string": (
        lambda op: _bad(op, field="photo", value={"sha256": SHA, "attached": "true"}), "wrong_type"),
}


@pytest.mark.parametrize("kind", BAD_OPS)
def test_one_malformed_op_is_rejected_and_the_good_ones_applied(kind, as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    good_1 = device.op(demo_inspection, "B5.1", "verdict", "compliant")
    template = device.op(demo_inspection, "B5.2", "verdict", "compliant")
    good_2 = device.op(demo_inspection, "B5.3", "note", "Fine.")
    make_bad, code = BAD_OPS[kind]
    bad = make_bad(template)
    ops_before = ops_log(db)
    photos_before = finding_photos(db)

    response = push(client, [good_1, bad, good_2])
    assert response.status_code == 200, response.data
    results = response.json["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[0] == {"op_id": good_1["op_id"], "status": "applied"}
    assert results[2] == {"op_id": good_2["op_id"], "status": "applied"}
    rejected = results[1]
    assert rejected["code"] == code
    assert isinstance(rejected["reason"], str) and len(rejected["reason"]) > 5
    expected_id = bad.get("op_id") if isinstance(bad, dict) and isinstance(bad.get("op_id"), str) else None
    assert rejected["op_id"] == expected_id

    new = ops_log(db)[len(ops_before):]
    assert [r["op_id"] for r in new] == [good_1["op_id"], good_2["op_id"]]
    assert finding(db, demo_inspection, "B5.2", "inspector1") is None
    assert finding(db, demo_inspection, "B5.1", "inspector1")["verdict"] == "compliant"
    assert finding_photos(db) == photos_before


def test_an_op_on_a_standard_outside_the_catalog_is_rejected(as_user, db, demo_inspection, device):
    good = device.op(demo_inspection, "B5.1", "verdict", "compliant")
    bad = device.op(demo_inspection, "Z9.9", "verdict", "compliant")
    section = device.op(demo_inspection, "B5", "verdict", "compliant")  # a section heading, not a standard
    results = push(as_user("inspector1"), [good, bad, section]).json["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("applied", None), ("rejected", "unknown_standard"), ("rejected", "unknown_standard")]
    assert op_status(db, bad["op_id"]) is None and op_status(db, section["op_id"]) is None


# --- 6. malformed batches ----------------------------------------------------

def _many(inspection):
    d = Device()
    return {"ops": [d.op(inspection, "B2.1", "note", f"n{i}") for i in range(protocol.MAX_BATCH + 1)]}


BAD_BATCHES = {
    "not JSON": lambda i: {"data": '{"ops": [', "content_type": "application/json"},
    "JSON sent as text": lambda i: {"data": '{"ops": []}', "content_type": "text/plain"},
    "JSON null": lambda i: {"data": "null", "content_type": "application/json"},
    "a bare list": lambda i: {"json": [Device().op(i, "B2.1", "verdict", "compliant")]},
    "ops not a list": lambda i: {"json": {"ops": {"a": 1}}},
    "no ops key": lambda i: {"json": {"changes": []}},
    "a string": lambda i: {"json": "ops"},
    "too many ops": lambda i: {"json": _many(i)},
}


@pytest.mark.parametrize("kind", BAD_BATCHES)
def test_a_malformed_batch_is_refused_whole(kind, as_user, db, demo_inspection):
    before = findings(db), ops_log(db)
    response = as_user("inspector1").post("/sync/push", headers=SYNC, **BAD_BATCHES[kind](demo_inspection))
    assert response.status_code == 400
    assert response.json["error"] == "malformed_batch"
    assert "ops" in response.json["message"]
    if kind == "too many ops":
        assert str(protocol.MAX_BATCH) in response.json["message"]
    assert (findings(db), ops_log(db)) == before


def test_an_empty_batch_is_fine(as_user, db, demo_inspection):
    response = push(as_user("inspector1"), [])
    assert response.status_code == 200 and response.json["results"] == []


# --- 7. a photo op before its blob -------------------------------------------

def test_a_photo_op_waits_for_its_blob(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    raw, sha = jpeg()
    attach = device.op(demo_inspection, "B6.1", "photo", {"sha256": sha, "attached": True})
    caption = device.op(demo_inspection, "B6.1", "caption", {"sha256": sha, "text": "Crash cart, sealed."})

    results = push(client, [attach, caption]).json["results"]
    assert results[0]["op_id"] == attach["op_id"]
    assert (results[0]["status"], results[0]["code"]) == ("rejected", "missing_photo")
    assert "upload" in results[0]["reason"]
    assert results[1] == {"op_id": caption["op_id"], "status": "applied"}
    assert op_status(db, attach["op_id"]) is None

    # Another inspector's upload of the same bytes does not count for this one.
    assert put_photo(as_user("inspector2"), raw, sha).status_code == 201
    assert push(client, [attach]).json["results"][0]["code"] == "missing_photo"

    response = put_photo(client, raw, sha)
    assert response.status_code == 201
    assert response.json == {"sha256": sha, "width": 64, "height": 48, "bytes": response.json["bytes"]}
    assert statuses(push(client, [attach])) == [(attach["op_id"], "applied")]
    assert rows(db, "SELECT sha256, attached, caption FROM finding_photos WHERE sha256 = ?", [sha]) == [
        {"sha256": sha, "attached": 1, "caption": "Crash cart, sealed."}]
    assert client.get(f"/photos/{sha}").status_code == 200


# --- 8. photo uploads --------------------------------------------------------

def _nothing_stored(db, app):
    """Nothing beyond the photos the demo had already stored: no row, no file, no temp file."""
    verified = {r["sha256"] for r in rows(db, "SELECT sha256 FROM photos")}
    uploaded = {r["sha256"] for r in rows(db, "SELECT sha256 FROM photo_uploads")}
    photo_files = [p for p in (database_path(app.config["DATA_DIR"]).parent / "photos").rglob("*")
                   if p.is_file() and p.name.split(".")[0] not in DEMO_PHOTOS]
    return (verified - DEMO_PHOTOS, uploaded - DEMO_PHOTOS, photo_files) == (set(), set(), [])


def test_a_photo_under_the_wrong_hash_is_refused(app, as_user, db):
    client = as_user("inspector1")
    raw, _ = jpeg()
    _, other = jpeg(color=(0, 0, 255))
    response = put_photo(client, raw, other)
    assert (response.status_code, response.json["error"]) == (400, "hash_mismatch")
    assert _nothing_stored(db, app)
    # A hash that is not even hex.
    assert put_photo(client, raw, "G" * 64).json["error"] == "bad_hash"


def test_a_truncated_upload_is_refused_and_the_whole_file_then_works_once(app, as_user, db):
    client = as_user("inspector1")
    raw, sha = jpeg(size=(300, 200))
    half = raw[: len(raw) // 2]

    # The body ends before the declared Content-Length: the connection dropped.
    response = put_photo(client, half, sha, environ_overrides={"CONTENT_LENGTH": str(len(raw))})
    assert (response.status_code, response.json["error"]) == (400, "truncated")
    assert _nothing_stored(db, app)
    # The first half of the bytes under the whole file's hash.
    response = put_photo(client, half, sha)
    assert (response.status_code, response.json["error"]) == (400, "hash_mismatch")
    assert _nothing_stored(db, app)

    first = put_photo(client, raw, sha)
    again = put_photo(client, raw, sha)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert (first.json["width"], first.json["height"]) == (300, 200)
    assert len(rows(db, "SELECT * FROM photos")) == 1 + len(DEMO_PHOTOS)
    assert rows(db, "SELECT sha256, user_id FROM photo_uploads WHERE sha256 NOT IN (%s)" % ",".join(
        "?" * len(DEMO_PHOTOS)), sorted(DEMO_PHOTOS)) == [{"sha256": sha, "user_id": uid(db, "inspector1")}]
    folder = database_path(app.config["DATA_DIR"]).parent / "photos"
    assert sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name.split(".")[0] not in DEMO_PHOTOS) == [
        f"{sha}.jpg", f"{sha}.thumb.jpg"]


# --- 9. session and cross-site defence ---------------------------------------

def test_a_push_after_the_session_ended_is_401_then_applies_after_login(app, db, demo_inspection, device):
    client = app.test_client()          # the session cookie expired during the offline shift
    batch = [device.op(demo_inspection, "B7.1.1", "verdict", "compliant"),
             device.op(demo_inspection, "B7.1.1", "note", "Typed offline at 11:40.")]
    before = ops_log(db)
    response = push(client, batch)
    assert response.status_code == 401
    assert response.is_json and response.json["error"] == "login_required"
    assert ops_log(db) == before and finding(db, demo_inspection, "B7.1.1", "inspector1") is None

    assert client.post("/login", data={"username": "inspector1", "password": PASSWORD}).status_code == 302
    assert statuses(push(client, batch)) == [(op["op_id"], "applied") for op in batch]
    assert finding(db, demo_inspection, "B7.1.1", "inspector1")["note"] == "Typed offline at 11:40."


def test_sync_needs_its_header_and_refuses_cross_site_requests(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    op = device.op(demo_inspection, "B7.1.2", "verdict", "compliant")
    before = ops_log(db)

    response = client.post("/sync/push", json={"ops": [op]})
    assert (response.status_code, response.json["error"]) == (400, "missing_header")
    response = client.post("/sync/push", json={"ops": [op]}, headers={**SYNC, "Sec-Fetch-Site": "cross-site"})
    assert (response.status_code, response.json["error"]) == (403, "cross_site")
    response = client.post("/sync/push", json={"ops": [op]}, headers={**SYNC, "Sec-Fetch-Site": "same-site"})
    assert response.status_code == 403
    response = client.post("/sync/push", json={"ops": [op]}, headers={**SYNC, "Origin": "https://evil.example"})
    assert (response.status_code, response.json["error"]) == (403, "cross_site")
    response = client.post("/sync/push", json={"ops": [op]}, headers={**SYNC, "Origin": "null"})
    assert response.status_code == 403
    response = client.post("/sync/push", json={"ops": [op]},
                           headers={**SYNC, "Origin": "https://localhost.evil.example"})
    assert response.status_code == 403
    response = put_photo(client, *jpeg(), headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert ops_log(db) == before

    # What the tablet's own page sends.
    response = client.post("/sync/push", json={"ops": [op]},
                           headers={**SYNC, "Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})
    assert statuses(response) == [(op["op_id"], "applied")]
    # Behind the README's HTTPS proxy the page is https:// and the app sees http://.
    op2 = device.op(demo_inspection, "B7.1.3", "verdict", "compliant")
    response = client.post("/sync/push", json={"ops": [op2]},
                           headers={**SYNC, "Sec-Fetch-Site": "same-origin", "Origin": "https://localhost"})
    assert statuses(response) == [(op2["op_id"], "applied")]


# --- 10. another inspection --------------------------------------------------

@pytest.fixture
def other_inspection(db):
    with transaction(db):
        catalog_id = db.conn.execute("SELECT id FROM catalogs").fetchone()[0]
        inspection = inspections.create(db, "Other site", catalog_id, "2026-12-01", "2026-12-02",
                                               uid(db, "admin"))
        team.add_member(db, inspection, uid(db, "inspector2"), "inspector")
    return inspection


def test_a_push_for_an_inspection_the_user_is_not_on_is_refused_whole(as_user, db, demo_inspection,
                                                                       other_inspection, device):
    mine = device.op(demo_inspection, "B2.4", "verdict", "compliant")
    theirs = [device.op(other_inspection, "B2.4", "verdict", "not_compliant"),
              device.op(other_inspection, "B2.5", "note", "sneaky")]
    malformed = {"op_id": "x"}
    before = findings(db), ops_log(db)

    response = push(as_user("inspector1"), [mine, theirs[0], malformed, theirs[1]])
    assert response.status_code == 403
    assert response.json["error"] == "not_a_member"
    assert response.json["op_ids"] == [op["op_id"] for op in theirs]
    assert (findings(db), ops_log(db)) == before

    # inspector2 is on it.
    assert statuses(push(as_user("inspector2"), [theirs[0]])) == [(theirs[0]["op_id"], "applied")]


# --- 11. pull ----------------------------------------------------------------

def pull(client, inspection, cursor):
    response = client.get(f"/sync/pull?inspection={inspection}&cursor={cursor}", headers=SYNC)
    return response


def test_pull_returns_changes_after_the_cursor_scoped_to_the_user(as_user, app, db, demo_inspection):
    one, lead = as_user("inspector1"), as_user("lead")
    me = uid(db, "inspector1")

    everything = pull(one, demo_inspection, 0)
    assert everything.status_code == 200
    body = everything.json
    assert {f["inspector_id"] for f in body["findings"]} == {me}
    assert sorted(f["standard"] for f in body["findings"]) == sorted(r["standard_code"] for r in rows(
        db, "SELECT standard_code FROM findings WHERE inspection_id = ? AND inspector_id = ?", [demo_inspection, me]))
    cursor = body["cursor"]
    assert cursor == max(f["last_seq"] for f in body["findings"] + body["photos"])

    # Nothing new: empty lists, same cursor.
    assert pull(one, demo_inspection, cursor).json | {"hlc": None, "server_time": None} == {
        "cursor": cursor, "findings": [], "photos": [], "flags": [], "requests": [], "hlc": None, "server_time": None}

    d = Device(clock_ms=T0)
    raw, sha = jpeg()
    assert put_photo(one, raw, sha).status_code == 201
    ops = [d.op(demo_inspection, "B2.6", "verdict", "compliant"),
           d.op(demo_inspection, "B1.1", "note", "Letter re-checked."),
           d.op(demo_inspection, "B2.6", "photo", {"sha256": sha, "attached": True})]
    assert [s for _, s in statuses(push(one, ops))] == ["applied"] * 3
    other = Device(clock_ms=T0)
    push(as_user("inspector2"), [other.op(demo_inspection, "D1.1", "verdict", "not_compliant")])

    changes = pull(one, demo_inspection, cursor).json
    assert [(f["standard"], f["verdict"], f["note"]) for f in changes["findings"]] == [
        ("B2.6", "compliant", ""), ("B1.1", "compliant", "Letter re-checked.")]
    assert [(p["standard"], p["sha256"], p["attached"]) for p in changes["photos"]] == [("B2.6", sha, 1)]
    assert changes["cursor"] > cursor
    assert {f["inspector_id"] for f in changes["findings"]} == {me}
    latest = pull(one, demo_inspection, changes["cursor"]).json
    assert (latest["findings"], latest["photos"], latest["cursor"]) == ([], [], changes["cursor"])

    # The team leader sees everyone's findings.
    lead_view = pull(lead, demo_inspection, 0).json
    by_inspector = {f["inspector_id"] for f in lead_view["findings"]}
    assert by_inspector == {me, uid(db, "inspector2"), uid(db, "inspector3")}
    assert len(lead_view["findings"]) == db.conn.execute(
        "SELECT count(*) FROM findings WHERE inspection_id = ?", [demo_inspection]).fetchone()[0]
    assert sha in [p["sha256"] for p in lead_view["photos"]]
    assert len(lead_view["photos"]) == len(rows(db, "SELECT * FROM finding_photos WHERE inspection_id = ?",
                                                [demo_inspection]))
    # ...and inspector2 sees neither inspector1's findings nor their photo.
    two_view = pull(as_user("inspector2"), demo_inspection, 0).json
    assert {f["inspector_id"] for f in two_view["findings"]} == {uid(db, "inspector2")}
    assert {p["inspector_id"] for p in two_view["photos"]} == {uid(db, "inspector2")}
    assert sha not in [p["sha256"] for p in two_view["photos"]]


def test_pull_of_an_inspection_the_user_is_not_on_is_404(as_user, db, demo_inspection, other_inspection):
    users.create(db, "outsider", "inspector", PASSWORD)
    assert pull(as_user("outsider"), demo_inspection, 0).status_code == 404
    assert pull(as_user("inspector1"), other_inspection, 0).json["error"] == "no_such_inspection"
    assert pull(as_user("inspector1"), 999999, 0).status_code == 404


def test_pull_reads_one_snapshot(app, db, demo_inspection):
    """A push committed between pull's reads of findings and of photos must
    not move the cursor past a finding change the answer did not include."""
    d = Device(clock_ms=T0)
    raw, sha = jpeg()
    user = users.by_username(db, "inspector1")
    with transaction(db):
        photos.store(db, app.config["DATA_DIR"], user["id"], sha, raw)
    cursor = db.conn.execute("SELECT max(seq) FROM ops").fetchone()[0]
    writer = connect(database_path(app.config["DATA_DIR"]))

    class Conn:
        """The pull's connection; a tablet pushes right after the first read."""
        def __init__(self, conn):
            self.inner, self.reads = conn, 0

        def execute(self, sql, *args):
            result = self.inner.execute(sql, *args)
            if sql.lstrip().upper().startswith("SELECT") and "FROM findings" in sql:
                self.reads += 1
                if self.reads == 1:
                    protocol.push(writer, user, {"ops": [
                        d.op(demo_inspection, "B2.7", "verdict", "compliant"),
                        d.op(demo_inspection, "B2.7", "photo", {"sha256": sha, "attached": True})]})
            return result

    class Db:
        conn = Conn(db.conn)

    inspection = inspections.for_user(db, user, demo_inspection)
    try:
        first = protocol.pull(Db, user, inspection, cursor)
    finally:
        writer.conn.close()
    second = protocol.pull(db, user, inspection, first["cursor"])
    seen = [f["standard"] for f in first["findings"] + second["findings"]]
    assert "B2.7" in seen


# --- 12. rebuild from the log ------------------------------------------------

def test_rebuilding_from_the_log_gives_the_same_state(as_user, db, demo_inspection):
    one, three = as_user("inspector1"), as_user("inspector3")
    a, b = Device("tabA", clock_ms=T0), Device("tabB", clock_ms=T0 + HOUR)
    c = Device("tabC", clock_ms=T0)
    raw1, sha1 = jpeg((10, 200, 10))
    raw2, sha2 = jpeg((10, 10, 200))
    for raw, sha in ((raw1, sha1), (raw2, sha2)):
        assert put_photo(one, raw, sha).status_code == 201
    assert put_photo(three, raw2, sha2).status_code == 201

    a_ops = [a.op(demo_inspection, "B7.2.1", "verdict", "compliant"),
             a.op(demo_inspection, "B7.2.1", "note", "first"),
             a.op(demo_inspection, "B7.2.1", "photo", {"sha256": sha1, "attached": True}),
             a.op(demo_inspection, "B7.2.1", "caption", {"sha256": sha1, "text": "Freezer alarm panel"}),
             a.op(demo_inspection, "B7.2.1", "photo", {"sha256": sha2, "attached": True}),
             a.op(demo_inspection, "B7.2.1", "photo", {"sha256": sha2, "attached": False}),   # removed again
             a.op(demo_inspection, "B1.1", "verdict", "not_compliant")]                      # over the demo's
    b_ops = [b.op(demo_inspection, "B7.2.1", "verdict", "not_compliant"),
             b.op(demo_inspection, "B7.2.1", "caption", {"sha256": sha1, "text": "Freezer alarm, tested"}),
             b.op(demo_inspection, "B7.2.2", "caption", {"sha256": sha2, "text": "caption before the attach"}),
             b.op(demo_inspection, "B7.2.2", "photo", {"sha256": sha2, "attached": True})]
    late = a.op(demo_inspection, "B7.2.1", "note", "second")
    stale = a.op(demo_inspection, "B7.2.1", "verdict", "not_applicable", at_ms=T0 - HOUR)  # an old clock
    c_ops = [c.op(demo_inspection, "B7.2.1", "verdict", "compliant"),
             c.op(demo_inspection, "B7.2.1", "photo", {"sha256": sha2, "attached": True}),
             c.op(demo_inspection, "B7.2.1", "caption", {"sha256": sha2, "text": "Inspector 3's view"})]

    results = dict(statuses(push(one, b_ops)))
    results.update(statuses(push(one, [a_ops[i] for i in (6, 5, 4, 3, 2, 1, 0)])))   # reversed
    results.update(statuses(push(one, [late, stale])))
    results.update(statuses(push(three, c_ops)))
    assert "superseded" in results.values() and "rejected" not in results.values()
    assert results[a_ops[0]["op_id"]] == "superseded"     # B's verdict, an hour ahead, stands
    assert results[a_ops[3]["op_id"]] == "superseded"     # B's caption stands
    assert results[stale["op_id"]] == "superseded"

    before = findings(db), finding_photos(db)
    assert rows(db, "SELECT standard_code, sha256, attached, caption FROM finding_photos "
                    "WHERE inspector_id = ? AND standard_code IN ('B7.2.1', 'B7.2.2') ORDER BY standard_code, sha256",
                [uid(db, "inspector1")]) == sorted([
        {"standard_code": "B7.2.1", "sha256": sha1, "attached": 1, "caption": "Freezer alarm, tested"},
        {"standard_code": "B7.2.1", "sha256": sha2, "attached": 0, "caption": ""},
        {"standard_code": "B7.2.2", "sha256": sha2, "attached": 1, "caption": "caption before the attach"},
    ], key=lambda r: (r["standard_code"], r["sha256"]))

    protocol.rebuild(db)
    assert (findings(db), finding_photos(db)) == before
    protocol.rebuild(db)   # and again: a rebuild is repeatable
    assert (findings(db), finding_photos(db)) == before



# --- clocks and shared tablets ---------------------------------------------

def test_a_stamp_more_than_a_day_ahead_is_refused_and_the_server_says_its_time(as_user, db, demo_inspection):
    client = as_user("inspector1")
    ahead = Device("tabletFromTheFuture", clock_ms=protocol.now_ms() + 2 * 24 * HOUR)
    op = ahead.op(demo_inspection, "B2.5", "verdict", "compliant")
    body = push(client, [op]).json
    [result] = body["results"]
    assert (result["status"], result["code"]) == ("rejected", "clock_ahead")
    assert abs(body["server_time"] - protocol.now_ms()) < 60_000
    assert finding(db, demo_inspection, "B2.5", "inspector1") is None
    # A later real edit is not beaten by it.
    fine = Device().op(demo_inspection, "B2.5", "verdict", "not_compliant")
    assert statuses(push(client, [fine])) == [(fine["op_id"], "applied")]


def test_the_newest_stamp_answered_is_the_inspections_own_without_a_device_id(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    op = device.op(demo_inspection, "B2.2", "verdict", "compliant")
    body = push(client, [op]).json
    assert body["hlc"] == ":".join(op["hlc"].split(":")[:2])
    other = inspections.create(db, "Other site", 1, "2026-01-01", "2026-01-02", uid(db, "admin"))
    team.add_member(db, other, uid(db, "inspector2"), "inspector")
    later = Device(clock_ms=T0 + HOUR).op(other, "B2.2", "verdict", "compliant")
    push(as_user("inspector2"), [later])
    assert pull(client, demo_inspection, 0).json["hlc"] == body["hlc"]  # not the other inspection's


def test_a_tab_sending_one_users_outbox_under_another_users_session_is_refused(as_user, db, demo_inspection, device):
    inspector3 = as_user("inspector3")  # logged in now; the tab still holds inspector1's changes
    op = device.op(demo_inspection, "B2.3", "note", "inspector1's private observation")
    response = inspector3.post("/sync/push", json={"ops": [op]},
                               headers={**SYNC, "X-Inspector-User": str(uid(db, "inspector1"))})
    assert response.status_code == 409 and response.json["error"] == "wrong_user"
    assert db.conn.execute("SELECT count(*) FROM ops WHERE op_id = ?", [op["op_id"]]).fetchone()[0] == 0
    own = inspector3.post("/sync/push", json={"ops": [op]},
                          headers={**SYNC, "X-Inspector-User": str(uid(db, "inspector3"))})
    assert own.status_code == 200


# --- the follow-up flag: its own register, one more entry of the field table --------

def test_the_follow_up_flag_is_an_op_private_to_its_inspector(as_user, db, demo_inspection, device):
    on = device.op(demo_inspection, "B2.4", "flag", True)
    off = device.op(demo_inspection, "B2.4", "flag", False, at_ms=T0 + HOUR)
    bad = device.op(demo_inspection, "B2.5", "flag", "yes")
    one = as_user("inspector1")
    result = push(one, [on, bad]).json["results"]
    assert [r["status"] for r in result] == ["applied", "rejected"]
    assert result[1]["code"] == "wrong_type"
    me = uid(db, "inspector1")
    b24 = "SELECT standard_code, inspector_id, flagged FROM finding_flags WHERE standard_code = 'B2.4'"
    assert rows(db, b24) == [{"standard_code": "B2.4", "inspector_id": me, "flagged": 1}]
    # A flag alone is not a finding: nothing for the lead to merge.
    assert rows(db, "SELECT inspector_id FROM findings WHERE standard_code = 'B2.4' AND inspector_id = ?", [me]) == []
    # Hers: B2.4 now and the demo's B7.3.3; nobody else's.
    assert sorted((f["standard"], f["flagged"]) for f in pull(one, demo_inspection, 0).json["flags"]) == [
        ("B2.4", 1), ("B7.3.3", 1)]
    assert pull(as_user("inspector2"), demo_inspection, 0).json["flags"] == []
    assert statuses(push(one, [off])) == [(off["op_id"], "applied")]
    assert rows(db, "SELECT flagged FROM finding_flags WHERE standard_code = 'B2.4'") == [{"flagged": 0}]
