"""Bad input never reaches a 500, and nothing is partly written: arbitrary
push bodies, arbitrary catalog files and arbitrary photo uploads, generated
by hypothesis."""
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.domain import catalog
from sync import protocol

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SYNC = {"X-Inspector-Sync": "1"}

# JSON-ish values: text with NUL and lone surrogates, integers far past 64
# bits, floats, nesting; and op-shaped objects so that some get deep.
scalars = (st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(alphabet=st.characters(), max_size=40))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
op_keys = st.sampled_from(["op_id", "device_id", "seq", "hlc", "inspection_id", "standard", "field", "value"])
ops = st.dictionaries(op_keys, values, max_size=8)
bodies = (st.builds(lambda o: {"ops": o}, st.lists(ops | values, max_size=5)) | values)


def dumps(body):
    # json.dumps writes lone surrogates as \\ud800 escapes, as a hostile client would.
    return json.dumps(body, allow_nan=False)


@FUZZ
@given(body=bodies)
def test_any_push_body_gets_an_answer_never_a_500(as_user, db, body):
    client = as_user("inspector1")
    before = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    response = client.post("/sync/push", data=dumps(body), content_type="application/json", headers=SYNC)
    assert response.status_code in (200, 400, 403), response.status_code
    assert response.is_json
    if response.status_code != 200:
        assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before  # nothing partly written
    else:
        assert all(r["status"] in ("applied", "duplicate", "superseded", "rejected") for r in response.json["results"])


@pytest.mark.parametrize("raw", [b'{"ops": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", b'{"ops": [1e999]}',
                                 b'{"ops": [' + b"9" * 5000 + b"]}", b'{"ops": ["\\ud800\\u0000"]}'])
def test_pathological_push_bodies_are_answered(as_user, raw):
    response = as_user("inspector1").post("/sync/push", data=raw, content_type="application/json", headers=SYNC)
    assert response.status_code in (200, 400) and response.is_json


catalog_rows = st.lists(st.fixed_dictionaries({f: st.text(alphabet=st.characters(), max_size=12) for f in catalog.FIELDS}),
                        max_size=6)


@FUZZ
@given(data=catalog_rows | values)
def test_any_json_catalog_is_imported_or_refused_with_a_reason(data):
    raw = json.dumps(data).encode()
    try:
        rows = catalog.parse(raw, json_format=True)
    except catalog.CatalogError as exc:
        assert str(exc)
        return
    assert any(r["depth"] > 0 for r in rows)
    for row in rows:
        assert catalog.CODE.match(row["code"]) and ".." not in row["code"]
        for field in catalog.FIELDS:
            row[field].encode("utf-8")          # storable: no lone surrogates
            assert "\x00" not in row[field]


@FUZZ
@given(raw=st.binary(max_size=400))
def test_any_csv_bytes_are_imported_or_refused_with_a_reason(raw):
    try:
        catalog.parse(b"code,parent,title,text,guidance,roles\n" + raw)
    except catalog.CatalogError as exc:
        assert str(exc)


@pytest.mark.parametrize("data, reason", [
    ('[{"code":"B1","parent":"","title":"\\ud800","text":"","guidance":"","roles":""}]', "invalid text"),
    ('[{"code":"B1","parent":"","title":"t","text":"","guidance":"","roles":' + "1" * 4400 + "}]", "too long"),
    ("[" * 5000 + "]" * 5000, "nested too deep"),
    ('[{"code":"B\\u00001","parent":"","title":"t","text":"","guidance":"","roles":""}]', "must be letters"),
    ('[{"code":"..","parent":"","title":"t","text":"","guidance":"","roles":""}]', "must be letters"),
    ('[{"code":"B1","parent":"","title":"t","text":"","guidance":"","roles":""}]', "no standards"),
])
def test_catalog_defects_found_by_hand_are_refused(data, reason):
    """Each of these gave a traceback or was accepted before."""
    with pytest.raises(catalog.CatalogError, match=reason):
        catalog.parse(data.encode(), json_format=True)


@FUZZ
@given(raw=st.binary(min_size=1, max_size=2000))
def test_any_upload_is_stored_or_refused_and_nothing_partly_written(as_user, db, raw):
    sha = hashlib.sha256(raw).hexdigest()
    response = as_user("inspector1").put(f"/sync/photos/{sha}", data=raw, headers={**SYNC,
                                                                                   "Content-Type": "image/jpeg"})
    assert response.status_code in (201, 400, 413, 415), response.status_code
    if response.status_code != 201:
        assert db.conn.execute("SELECT count(*) FROM photos WHERE sha256 = ?", [sha]).fetchone()[0] == 0
        assert db.conn.execute("SELECT count(*) FROM photo_uploads WHERE sha256 = ?", [sha]).fetchone()[0] == 0


def _depth(value):
    if isinstance(value, dict):
        value = list(value.values())
    elif not isinstance(value, list):
        return 0
    return 1 + max((_depth(item) for item in value), default=0)


def _has_float(value):
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, float) or (isinstance(value, list) and any(_has_float(item) for item in value))


@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.integers(min_value=0, max_value=6))
def test_the_push_body_walk_finds_every_float_and_every_nesting_past_the_limit(value, limit):
    # parse_body keeps orjson's reading only when this says yes; a float (an
    # integer past 64 bits, as orjson reads it) or a body nested past the
    # limit goes to json, which answers as it always did.
    assert protocol._floatless_within(value, limit) == (not _has_float(value) and _depth(value) <= limit)


@pytest.mark.parametrize("raw, expected", [
    (b'{"seq": 18446744073709551616}', 2 ** 64),     # orjson alone reads a float here
    (b'{"seq": 1' + b"0" * 30 + b"}", 10 ** 30),
    (b'{"seq": 1.5}', 1.5),
])
def test_numbers_orjson_reads_differently_are_read_as_json_reads_them(raw, expected):
    seq = protocol.parse_body(raw)["seq"]
    assert seq == expected and type(seq) is type(expected)


def test_a_body_nested_past_the_limit_is_read_by_json():
    deep = b"[" * 201 + b"]" * 201
    assert protocol.parse_body(deep) == json.loads(deep)
