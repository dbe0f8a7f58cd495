"""An op's value is exactly its field's schema (sync/shapes.py): unknown keys,
wrong types and oversize values are refused with a reason code, and what the
append-only log stores of an accepted op is the canonical value, never more.
A caption op carrying an extra 15 MB key was applied and stored for good."""
import hashlib
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.domain import documents, inspections, preparation, review
from inspector.domain.db import connect, database_path
from sync import fields, oplog
from sync.protocol import Actor, apply_batch
from tests.helpers import Device, committee_decides, coordinator_id, copy_data_dir, demo_inspection_id, user_id

SHA = "ab" * 32
DOCUMENT = hashlib.sha256(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").hexdigest()
CITED = "B1.5"  # a draft citation of the demo: the site answers it

# Who sends each field, and in which state of the inspection it is taken.
INSPECTOR_FIELDS = ("verdict", "note", "photo", "caption", "flag")
LEAD_FIELDS = ("decision_verdict", "citation", "suggestion", "decision_basis", "release_photo")
SITE_FIELDS = ("factual_comment", "corrective_action", "target_date", "evidence", "submitted")
# Before the visit: the program by its self-assessment link; an inspector's requests for information.
PROGRAM_FIELDS = ("self_verdict", "self_how", "crosswalk", "rfi_answer", "rfi_document")
REQUEST_FIELDS = ("rfi", "rfi_closed")
REQUEST = "0190c3a8-7f00-7a00-8000-000000000001"
# Findings are taken on site and while merging; the site comments on the
# draft's factual accuracy (round 0), then answers the committee's decision
# with its corrections (rounds 1, 2, ...).
STATE = {**dict.fromkeys(INSPECTOR_FIELDS + LEAD_FIELDS, "merging"), "factual_comment": "factual_accuracy",
         **dict.fromkeys(("corrective_action", "target_date", "evidence", "submitted"), "corrections"),
         **dict.fromkeys(PROGRAM_FIELDS + REQUEST_FIELDS, "preparing")}


def test_every_field_is_sent_by_someone_here():
    """A new field joins one of the groups below, or this file does not cover it."""
    assert set(fields.FIELDS) - {"review_outcome", "review_comment"} == {
        *INSPECTOR_FIELDS, *LEAD_FIELDS, *SITE_FIELDS, *PROGRAM_FIELDS, *REQUEST_FIELDS}


@pytest.fixture(scope="module")
def world(seeded_db, tmp_path_factory):
    """The demo on a database of its own, its citations decided by the
    committee (so the site's corrections can open), and the site's link."""
    data = copy_data_dir(seeded_db, tmp_path_factory.mktemp("values") / "data")
    db = connect(database_path(data))
    inspection_id = demo_inspection_id(data)
    inspections.set_state(db, inspection_id, "committee")
    committee_decides(db, inspection_id, coordinator_id(db))
    link = dict(review.live_links(db, inspection_id)[0])
    documents.store(db, data, "pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "plan.pdf",
                    inspection_id=inspection_id, link_id=link["id"])
    program_link = dict(review.link(db, review.issue_link(db, inspection_id, "Pat Program", "pat@example.org", 30,
                                                         user_id(data, "lead"), purpose="self_assessment")))
    # The program's crosswalk and answers name a document it uploaded for this
    # inspection, and a request for information raised on it (whatever order the tests run in).
    preparation.add_document(db, inspection_id, DOCUMENT, "Plan", "1", program_link["id"])
    state = inspections.plain(db, inspection_id)["state"]
    inspections.set_state(db, inspection_id, "preparing")
    inspector = Actor(user={"id": user_id(data, "inspector1"), "role": "inspector"})
    raised = apply_batch(db, inspector, [Device("values").op(inspection_id, CITED, "rfi", {"id": REQUEST, "text": "?"})])
    assert raised["results"][0]["status"] == "applied", raised
    inspections.set_state(db, inspection_id, state)
    actors = {"inspector": Actor(user={"id": user_id(data, "inspector1"), "role": "inspector"}),
              "lead": Actor(user={"id": user_id(data, "lead"), "role": "inspector"}),
              "site": Actor(link=link), "program": Actor(link=program_link)}
    yield db, inspection_id, actors
    db.conn.close()


def sender(field):
    return ("inspector" if field in INSPECTOR_FIELDS + REQUEST_FIELDS else "lead" if field in LEAD_FIELDS
            else "program" if field in PROGRAM_FIELDS else "site")


def send(world, field, value, standard=CITED):
    """Send one op of ``field`` by whoever sends it, in the state that takes it."""
    db, inspection_id, actors = world
    inspections.set_state(db, inspection_id, STATE[field])
    op = Device("values").op(inspection_id, standard, field, value)
    return op, apply_batch(db, actors[sender(field)], [op])["results"][0]


def stored_value(db, op_id):
    row = db.conn.execute("SELECT value FROM ops WHERE op_id = ?", [op_id]).fetchone()
    return row and row[0]


# The largest value each field takes: accepted, and within its bound.
LARGEST = {
    "verdict": "not_applicable", "note": "\U0001F489" * fields.MAX_NOTE, "flag": False,
    "photo": {"sha256": SHA, "attached": False}, "caption": {"sha256": SHA, "text": "\x01" * fields.MAX_CAPTION},
    "decision_verdict": "not_compliant", "citation": "é" * fields.MAX_NOTE, "suggestion": "x" * fields.MAX_NOTE,
    "decision_basis": 2 ** 53 - 1, "release_photo": {"sha256": SHA, "released": False},
    "factual_comment": {"round": 0, "text": "\U0001F489" * fields.MAX_NOTE},
    "corrective_action": {"round": 1, "text": "x" * fields.MAX_NOTE},
    "target_date": {"round": 1, "text": "2027-01-31"},
    "evidence": {"round": 1, "sha256": DOCUMENT, "attached": False},
    "submitted": {"round": 1, "submitted": True},
    "self_verdict": "not_applicable", "self_how": "\U0001F489" * fields.MAX_NOTE,
    "crosswalk": {"sha256": DOCUMENT, "linked": False},
    "rfi": {"id": REQUEST, "text": "x" * fields.MAX_NOTE}, "rfi_closed": {"id": REQUEST, "closed": False},
    "rfi_answer": {"id": REQUEST, "text": "é" * fields.MAX_NOTE},
    "rfi_document": {"id": REQUEST, "sha256": DOCUMENT, "attached": False},
}


@pytest.mark.parametrize("field", list(LARGEST))
def test_the_largest_value_of_each_field_is_taken_and_within_its_bound(world, field):
    op, result = send(world, field, LARGEST[field])
    if field in SITE_FIELDS + PROGRAM_FIELDS and result["status"] == "rejected":
        pytest.fail(f"{field}: {result}")  # the site's round must be open: the fixture's state is wrong
    assert result["status"] in ("applied", "superseded"), result
    stored = stored_value(world[0], op["op_id"])
    assert stored == oplog.value_json(LARGEST[field])
    assert len(stored) <= fields.FIELDS[field].shape.bound


@pytest.mark.parametrize("field", [f for f, v in LARGEST.items() if isinstance(v, dict)])
def test_an_extra_key_is_refused_and_nothing_is_logged(world, field):
    op, result = send(world, field, {**LARGEST[field], "pad": "y" * 1_000_000})
    assert (result["status"], result["code"]) == ("rejected", "unknown_key")
    assert "pad" not in result["reason"]  # the key is not echoed
    assert stored_value(world[0], op["op_id"]) is None


# Values near the schema and far from it: the schema's keys with values of
# any type, extra keys, long texts, nested junk.
KEYS = ("sha256", "attached", "text", "released", "round", "submitted", "outcome", "id", "linked", "closed")
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 60, 2 ** 60), st.sampled_from([SHA, "2027-01-31", "", REQUEST]),
                    st.text(st.characters(codec=None), max_size=30),
                    st.builds(lambda c, n: c * n, st.sampled_from("x\U0001F489é"), st.integers(0, 25_000)))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(string.ascii_lowercase, max_size=8), inner, max_size=3), max_leaves=8)
near = st.builds(lambda keys, extra: {**keys, **extra},
                 st.dictionaries(st.sampled_from(KEYS), scalars, max_size=4),
                 st.dictionaries(st.text(max_size=5), junk, max_size=1))
values = st.one_of(scalars, near, junk)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(sorted(LARGEST)), value=values)
def test_no_accepted_op_stores_more_than_its_fields_bound(world, field, value):
    op, result = send(world, field, value)
    stored = stored_value(world[0], op["op_id"])
    if result["status"] == "rejected":
        assert stored is None and result["code"] and result["reason"]
        return
    assert len(stored) <= fields.FIELDS[field].shape.bound
    kept = json.loads(stored)
    if isinstance(kept, dict):
        assert set(kept) <= set(KEYS) and set(kept) == set(value)
