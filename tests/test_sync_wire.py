"""Bytes on the wire: push bodies sent gzip-compressed (with a limit on their
size once decompressed), and a pull that does not send a device its own edits
back (docs/sync-protocol.md, Push and Pull)."""
import gzip
import random
import time
import tracemalloc
import zlib

import pytest

from inspector.domain import users
from tests.helpers import HOUR, SYNC, T0, Device, push
from sync import protocol

# --- helpers -----------------------------------------------------------------


def body_of(ops):
    return protocol.orjson.dumps({"ops": ops})


def post(client, raw, encoding=None, **headers):
    extra = {"Content-Encoding": encoding} if encoding else {}
    return client.post("/sync/push", data=raw, content_type="application/json", headers={**SYNC, **extra, **headers})


def stored(db, op_ids):
    marks = ",".join("?" * len(op_ids))
    return {r[0] for r in db.conn.execute(f"SELECT op_id FROM ops WHERE op_id IN ({marks})", list(op_ids))}


def bomb(inflated, piece=1024 * 1024):
    """A gzip body of a few KB that inflates to ``inflated`` bytes of spaces."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    head = b'{"ops": ['
    out = [deflate.compress(head)]
    block = b" " * piece
    for _ in range(inflated // piece):
        out.append(deflate.compress(block))
    out.append(deflate.compress(b"]}") + deflate.flush())
    return b"".join(out)


def uid(db, username):
    return users.by_username(db, username)["id"]


# --- push: gzip --------------------------------------------------------------

def test_a_gzip_body_is_read_and_its_ops_applied(as_user, db, demo_inspection, device):
    ops = [device.op(demo_inspection, "B1.1", "note", "Chain of identity checked " * 20),
           device.op(demo_inspection, "B1.2", "verdict", "compliant")]
    raw = gzip.compress(body_of(ops))
    assert len(raw) < len(body_of(ops)) / 3
    response = post(as_user("inspector1"), raw, "gzip")
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["results"]] == ["applied", "applied"]
    assert stored(db, [op["op_id"] for op in ops]) == {op["op_id"] for op in ops}


def test_a_gzip_body_of_several_members_is_read_whole(as_user, db, demo_inspection, device):
    ops = [device.op(demo_inspection, "B1.1", "verdict", "compliant")]
    text = body_of(ops)
    raw = gzip.compress(text[:10]) + gzip.compress(text[10:])
    response = post(as_user("inspector1"), raw, "gzip")
    assert [r["status"] for r in response.json["results"]] == ["applied"]


def test_a_gzip_body_of_as_many_members_as_allowed_is_read_and_one_more_refused(as_user, db, demo_inspection,
                                                                                  device):
    text = body_of([device.op(demo_inspection, "B1.1", "verdict", "compliant")])
    cut = len(text) // protocol.MAX_GZIP_MEMBERS + 1
    parts = [text[i:i + cut] for i in range(0, len(text), cut)]
    parts += [b""] * (protocol.MAX_GZIP_MEMBERS - len(parts))
    client = as_user("inspector1")
    refused = post(client, b"".join(map(gzip.compress, parts + [b""])), "gzip")
    assert (refused.status_code, refused.json["error"]) == (400, "too_many_members")
    taken = post(client, b"".join(map(gzip.compress, parts)), "gzip")
    assert [r["status"] for r in taken.json["results"]] == ["applied"]


def test_a_16_mb_body_of_empty_gzip_members_is_refused_at_once(as_user):
    """It held a server thread for minutes: each member copied the rest of the body."""
    member = gzip.compress(b"")
    raw = member * (16 * 1024 * 1024 // len(member))
    client = as_user("inspector1")
    started = time.perf_counter()
    response = post(client, raw, "gzip")
    elapsed = time.perf_counter() - started
    assert (response.status_code, response.json["error"]) == (400, "too_many_members")
    assert elapsed < 0.5, elapsed  # well under a second (measured: 0.07 s)


class CountingInflater:
    """zlib's decompressobj, counting the bytes it is given to read."""
    fed = 0

    def __init__(self, wbits, real=zlib.decompressobj):
        self.inner = real(wbits)

    def decompress(self, data, max_length=0):
        CountingInflater.fed += len(data)
        return self.inner.decompress(data, max_length)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_inflating_many_members_reads_the_body_a_bounded_number_of_times(monkeypatch):
    """Linear, not quadratic, even were members not limited: twice the
    members, about twice the bytes read (the old loop read four times as many)."""
    monkeypatch.setattr(protocol, "MAX_GZIP_MEMBERS", 10 ** 9, raising=False)
    monkeypatch.setattr(zlib, "decompressobj", CountingInflater)
    member = gzip.compress(b"")
    fed = []
    for count in (5_000, 10_000):
        CountingInflater.fed = 0
        assert protocol.decoded_body(member * count, "gzip", 1024) == b""
        fed.append(CountingInflater.fed)
    assert fed[1] < 2.5 * fed[0], fed


def test_a_gzip_bomb_is_refused_413_and_nothing_is_saved(app, as_user, db, demo_inspection, device):
    app.config["SYNC_MAX_PUSH_BYTES"] = 1024 * 1024
    raw = bomb(64 * 1024 * 1024)
    assert len(raw) < 100_000   # 64 MB of spaces in under 100 KB
    response = post(as_user("inspector1"), raw, "gzip")
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    assert "1,048,576 bytes once decompressed" in response.json["message"]
    assert db.conn.execute("SELECT count(*) FROM ops WHERE device_id = ?", [device.device_id]).fetchone()[0] == 0


def test_a_bomb_is_never_inflated_past_the_limit():
    limit = 1024 * 1024
    raw = bomb(256 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(protocol.BodyTooLarge):
            protocol.decoded_body(raw, "gzip", limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * limit, peak   # 256 MB inflated at once would be 256x the limit


# mtime=0: a gzip header holds the time, and pytest-xdist's workers must
# collect the same test ids even when they start a second apart.
@pytest.mark.parametrize("raw, why", [
    (b"\x1f\x8b\x08\x00not really gzip at all", "not valid gzip"),
    (gzip.compress(b'{"ops": []}', mtime=0)[:-12], "cut short"),  # the end of the stream is missing
    (b'{"ops": []}', "not valid gzip"),                          # said gzip, sent plain
    (gzip.compress(b'{"ops": []}', mtime=0) + b"trailing", "not valid gzip"),
    (b"", "cut short"),
])
def test_a_damaged_gzip_body_is_refused_400(as_user, raw, why):
    response = post(as_user("inspector1"), raw, "gzip")
    assert response.status_code == 400
    assert response.json["error"] == "malformed_batch"
    assert why in response.json["message"]


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, gzip", "compress"])
def test_an_encoding_the_server_does_not_read_is_415(as_user, db, demo_inspection, device, encoding):
    op = device.op(demo_inspection, "B1.1", "verdict", "compliant")
    response = post(as_user("inspector1"), gzip.compress(body_of([op])), encoding)
    assert response.status_code == 415
    assert response.json["error"] == "unsupported_encoding"
    assert stored(db, [op["op_id"]]) == set()


@pytest.mark.parametrize("encoding", [None, "identity", "gzip", "GZIP", "x-gzip"])
def test_the_push_size_limit_is_configurable_and_counts_the_body_decompressed(app, as_user, db, demo_inspection,
                                                                              encoding):
    device = Device(clock_ms=T0)
    ops = [device.op(demo_inspection, f"B1.{i % 3 + 1}", "note", f"note {i} " + "x" * 400) for i in range(20)]
    text = body_of(ops)
    raw = text if encoding in (None, "identity") else gzip.compress(text)
    client = as_user("inspector1")
    app.config["SYNC_MAX_PUSH_BYTES"] = len(text) - 1
    refused = post(client, raw, encoding)
    assert (refused.status_code, refused.json["error"]) == (413, "too_large")
    assert stored(db, [op["op_id"] for op in ops]) == set()
    app.config["SYNC_MAX_PUSH_BYTES"] = len(text)
    taken = post(client, raw, encoding)
    assert taken.status_code == 200
    assert stored(db, [op["op_id"] for op in ops]) == {op["op_id"] for op in ops}


def test_the_limit_comes_from_the_environment(monkeypatch, tmp_path):
    from inspector.app import create_app
    monkeypatch.setenv("INSPECTOR_SYNC_MAX_PUSH_BYTES", "12345")
    app = create_app({"DATA_DIR": str(tmp_path / "d"), "TESTING": True, "SECRET_KEY": "t"})
    assert app.config["SYNC_MAX_PUSH_BYTES"] == 12345


def test_a_gzip_body_needs_a_login_before_it_is_inflated(app, db, monkeypatch):
    inflated = []
    monkeypatch.setattr(protocol, "decoded_body", lambda *a: inflated.append(a))
    response = post(app.test_client(), bomb(8 * 1024 * 1024), "gzip")
    assert response.status_code == 401 and inflated == []


# --- pull: not the device's own edits ------------------------------------------

def pull(client, inspection, cursor, device=None):
    query = f"/sync/pull?inspection={inspection}&cursor={cursor}" + (f"&device={device}" if device else "")
    response = client.get(query, headers=SYNC)
    assert response.status_code == 200, response.json
    return response.json


def rows_of(answer):
    return {name: value for name, value in answer.items() if isinstance(value, list)}


def test_the_pull_after_a_push_leaves_out_the_devices_own_edits_and_moves_the_cursor(as_user, demo_inspection):
    one = as_user("inspector1")
    tablet = Device("tabletA", clock_ms=T0)
    cursor = pull(one, demo_inspection, 0)["cursor"]
    ops = [tablet.op(demo_inspection, f"B{i % 8 + 1}.1", field, value)
           for i in range(40) for field, value in (("verdict", "compliant"), ("note", f"seen {i}"))]
    ops.append(tablet.op(demo_inspection, "B2.2", "flag", True))
    assert {r["status"] for r in push(one, ops).json["results"]} == {"applied"}

    plain = pull(one, demo_inspection, cursor)
    assert len(plain["findings"]) == 8 and len(plain["flags"]) == 1   # what is sent back today
    mine = pull(one, demo_inspection, cursor, device="tabletA")
    assert (mine["findings"], mine["photos"], mine["flags"]) == ([], [], [])
    assert mine["cursor"] == plain["cursor"] > cursor
    # Another device's id gets them all: only the device that wrote them is spared.
    assert pull(one, demo_inspection, cursor, device="tabletB")["findings"] == plain["findings"]


def test_a_change_from_elsewhere_is_always_sent_whole(as_user, db, demo_inspection):
    one = as_user("inspector1")
    a, b = Device("tabletA", clock_ms=T0), Device("tabletB", clock_ms=T0 + HOUR)
    cursor = pull(one, demo_inspection, 0)["cursor"]
    push(one, [a.op(demo_inspection, "B3.1", "verdict", "compliant"),   # later beaten by tablet B
               a.op(demo_inspection, "B3.2", "verdict", "compliant"),   # tablet B writes the note
               a.op(demo_inspection, "B3.3", "verdict", "compliant")])  # tablet B's older edit loses
    push(one, [b.op(demo_inspection, "B3.1", "verdict", "not_compliant"),
               b.op(demo_inspection, "B3.2", "note", "from the other tablet"),
               b.op(demo_inspection, "B3.3", "verdict", "not_applicable", at_ms=T0 - HOUR)])
    got = {f["standard"]: f for f in pull(one, demo_inspection, cursor, device="tabletA")["findings"]}
    assert set(got) == {"B3.1", "B3.2"}
    assert got["B3.1"]["verdict"] == "not_compliant"
    assert (got["B3.2"]["verdict"], got["B3.2"]["note"]) == ("compliant", "from the other tablet")
    # Tablet B gets tablet A's edits (B3.3: A's verdict stands over B's older one).
    got_b = {f["standard"]: f for f in pull(one, demo_inspection, cursor, device="tabletB")["findings"]}
    assert set(got_b) == {"B3.2", "B3.3"} and got_b["B3.3"]["verdict"] == "compliant"


def test_on_a_shared_tablet_another_users_edits_from_it_are_sent(as_user, db, demo_inspection):
    """One tablet, one device id, a store per user: the lead on the tablet an
    inspector used still gets the inspector's findings and no decision of theirs is lost."""
    one, lead = as_user("inspector1"), as_user("lead")
    tablet = Device("sharedTablet", clock_ms=T0)
    lead_cursor = pull(lead, demo_inspection, 0)["cursor"]
    push(one, [tablet.op(demo_inspection, "B4.1", "verdict", "compliant")])
    decision = tablet.op(demo_inspection, "B4.1", "decision_verdict", "compliant")
    assert push(lead, [decision]).json["results"][0]["status"] == "applied"
    got = pull(lead, demo_inspection, lead_cursor, device="sharedTablet")
    assert [(f["standard"], f["inspector_id"]) for f in got["findings"]] == [("B4.1", uid(db, "inspector1"))]
    assert got["decisions"] == []   # the lead's own, from this tablet
    assert [d["standard"] for d in pull(lead, demo_inspection, lead_cursor, device="other")["decisions"]] == ["B4.1"]


def test_a_device_id_that_is_not_one_is_refused(as_user, demo_inspection):
    response = as_user("inspector1").get(f"/sync/pull?inspection={demo_inspection}&device=a%20b", headers=SYNC)
    assert (response.status_code, response.json["error"]) == (400, "bad_device")
    response = as_user("inspector1").get(f"/sync/pull?inspection={demo_inspection}&device=ab%0A", headers=SYNC)
    assert response.status_code == 400


FIELDS = (("verdict", lambda r: r.choice(["compliant", "not_compliant", None])),
          ("note", lambda r: f"note {r.randrange(1000)}"),
          ("flag", lambda r: r.random() < 0.5))
COLUMN = {"verdict": ("findings", "verdict"), "note": ("findings", "note"), "flag": ("flags", "flagged")}


class Tablet:
    """What a tablet's store holds (outbox.js record, sync.js pullChanges):
    its own edits as it makes them, pulled values when their stamp is greater."""

    def __init__(self, client, name, clock_ms):
        self.client, self.device = client, Device(name, clock_ms=clock_ms)
        self.values, self.cursor, self.pulled_once, self.outbox = {}, 0, False, []
        self.spared = 0  # rows the pulls left out
        self.wall = 0   # the clock's wall time: it never goes back, and moves past stamps seen

    def edit(self, inspection, standard, field, value, at_ms):
        self.wall = max(self.wall + 1, at_ms)
        op = self.device.op(inspection, standard, field, value, at_ms=self.wall)
        self.values[(standard, field)] = (value, f"{op['hlc']} {op['op_id']}")
        self.outbox.append(op)

    def sync(self, inspection):
        if self.outbox:
            assert push(self.client, self.outbox).status_code == 200
            self.outbox = []
        answer = pull(self.client, inspection, self.cursor, self.device.device_id if self.pulled_once else None)
        everything = pull(self.client, inspection, self.cursor)
        self.spared += sum(map(len, rows_of(everything).values())) - sum(map(len, rows_of(answer).values()))
        for field, (name, column) in COLUMN.items():
            for row in answer[name]:
                stamp = row[f"{column}_hlc"]
                if stamp and self.values.get((row["standard"], field), (None, ""))[1] < stamp:
                    value = bool(row[column]) if field == "flag" else row[column]
                    self.values[(row["standard"], field)] = (value, stamp)
        self.cursor, self.pulled_once = answer["cursor"], True
        if answer["hlc"]:
            self.wall = max(self.wall, int(answer["hlc"].split(":")[0]))


@pytest.mark.parametrize("seed", range(6))
def test_tablets_that_skip_their_own_edits_still_end_with_the_servers_state(as_user, db, demo_inspection, seed):
    """Two tablets of one inspector edit the same few fields with clocks that
    disagree, syncing in random turns; each pull leaves out the asking
    tablet's own edits. After a last round each knows exactly the server's state.
    Without the device's own rows left out this holds too: what is tested is
    that leaving them out loses nothing."""
    rng = random.Random(seed)
    one = as_user("inspector1")
    # Tablet B's clock runs hours ahead of tablet A's: its edits often beat
    # A's later ones, which the server then logs as superseded.
    tablets = [Tablet(one, "tabletA", T0), Tablet(one, "tabletB", T0)]
    skew = {"tabletA": 0, "tabletB": 3 * HOUR}
    standards = ["B5.1", "B5.2", "B5.3"]
    for step in range(80):
        tablet = rng.choice(tablets)
        if rng.random() < 0.7:
            field, make = rng.choice(FIELDS)
            tablet.edit(demo_inspection, rng.choice(standards), field, make(rng),
                        T0 + step * 60_000 + skew[tablet.device.device_id])
        else:
            tablet.sync(demo_inspection)
    for tablet in tablets + tablets:   # each pushes, then each pulls what the other pushed
        tablet.sync(demo_inspection)
    truth = pull(one, demo_inspection, 0)
    expected = {}
    for field, (name, column) in COLUMN.items():
        for row in truth[name]:
            if row["standard"] in standards and row[f"{column}_hlc"]:
                value = bool(row[column]) if field == "flag" else row[column]
                expected[(row["standard"], field)] = (value, row[f"{column}_hlc"])
    for tablet in tablets:
        known = {k: v for k, v in tablet.values.items() if k[0] in standards}
        assert known == expected, tablet.device.device_id
    assert sum(tablet.spared for tablet in tablets) > 5


def test_a_rebuild_gives_the_same_pull_with_or_without_the_device(as_user, db, demo_inspection):
    one = as_user("inspector1")
    a, b = Device("tabletA", clock_ms=T0), Device("tabletB", clock_ms=T0 + HOUR)
    cursor = pull(one, demo_inspection, 0)["cursor"]
    push(one, [a.op(demo_inspection, "B6.1", "verdict", "compliant"), a.op(demo_inspection, "B6.2", "note", "x")])
    push(one, [b.op(demo_inspection, "B6.2", "verdict", "compliant")])
    before = [rows_of(pull(one, demo_inspection, cursor, device)) for device in (None, "tabletA", "tabletB")]
    protocol.rebuild(db)
    after = [rows_of(pull(one, demo_inspection, cursor, device)) for device in (None, "tabletA", "tabletB")]
    assert after == before
    assert [f["standard"] for f in before[1]["findings"]] == ["B6.2"]
