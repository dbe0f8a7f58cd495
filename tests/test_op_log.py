"""The op log as the lead's and the site's journeys need it: each row names
its actor and is written once with its final status (the audit chain will
hash rows), an inspection's state decides which writes push still takes, and
three defects found in review stay fixed."""
import json
import sqlite3

import orjson
import pytest

from tests.helpers import SYNC, T0, Device, push
from inspector.domain import inspections, team, users
from inspector.domain.db import statements
from sync import protocol


def logged(db, op_id):
    row = db.conn.execute("SELECT * FROM ops WHERE op_id = ?", [op_id]).fetchone()
    return dict(row) if row else None


# --- the log ------------------------------------------------------------------------

def test_each_logged_op_names_its_actor_and_no_link(as_user, db, demo_inspection, device):
    op = device.op(demo_inspection, "B2.1", "verdict", "compliant")
    assert push(as_user("inspector1"), [op]).json["results"][0]["status"] == "applied"
    row = logged(db, op["op_id"])
    assert row["user_id"] == users.by_username(db, "inspector1")["id"]
    assert row["link_id"] is None


def test_a_superseded_op_is_written_once_with_that_status(as_user, db, demo_inspection, device):
    """The status is decided before the INSERT: the log refuses any UPDATE."""
    client = as_user("inspector1")
    newer = device.op(demo_inspection, "B2.1", "note", "newer", at_ms=T0 + 5000)
    older = device.op(demo_inspection, "B2.1", "note", "older", at_ms=T0 + 1000)
    assert [r["status"] for r in push(client, [newer, older]).json["results"]] == ["applied", "superseded"]
    assert logged(db, older["op_id"])["status"] == "superseded"
    assert logged(db, newer["op_id"])["status"] == "applied"


@pytest.mark.parametrize("sql", ["UPDATE ops SET status = 'superseded'", "DELETE FROM ops",
                                 "UPDATE ops SET value = '\"rewritten\"'"])
def test_the_log_cannot_be_rewritten(db, sql):
    assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] > 0  # the demo's ops
    with pytest.raises(sqlite3.IntegrityError, match="append only"):
        db.conn.execute(sql)


def test_a_log_row_names_exactly_one_actor(db, demo_inspection):
    insert = ("INSERT INTO ops (op_id, user_id, link_id, device_id, device_seq, hlc, inspection_id, "
              "standard_code, field, value, status) VALUES (?, ?, NULL, 'd', 1, 'x', ?, 'B2.1', 'note', '\"\"', "
              "'applied')")
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute(insert, ["no-actor-1", None, demo_inspection])


def test_state_rebuilt_from_the_log_equals_the_state_pushed(as_user, db, demo_inspection, device):
    client = as_user("inspector1")
    push(client, [device.op(demo_inspection, "B2.1", "verdict", "compliant"),
                  device.op(demo_inspection, "B2.1", "note", "seen"),
                  device.op(demo_inspection, "B2.2", "note", "first", at_ms=T0 + 9000),
                  device.op(demo_inspection, "B2.2", "note", "late loser", at_ms=T0 + 10)])
    before = [tuple(r) for r in db.conn.execute("SELECT * FROM findings ORDER BY 1, 2, 3")]
    protocol.rebuild(db)
    assert [tuple(r) for r in db.conn.execute("SELECT * FROM findings ORDER BY 1, 2, 3")] == before


# --- migrations -----------------------------------------------------------------------

def test_migrations_split_like_sqlite_and_keep_trigger_bodies_whole():
    script = """
    CREATE TABLE t (a TEXT);  -- a comment; with a semicolon
    CREATE TRIGGER t_no_update BEFORE UPDATE ON t
    BEGIN
        SELECT RAISE(ABORT, 'no; never');
        SELECT 1;
    END;
    INSERT INTO t VALUES ('a;b');
    """
    parts = list(statements(script))
    assert len(parts) == 3
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].rstrip().endswith("END;")
    conn = sqlite3.connect(":memory:")
    for part in parts:
        conn.execute(part)
    assert conn.execute("SELECT a FROM t").fetchall() == [("a;b",)]


def test_an_unterminated_migration_is_an_error():
    with pytest.raises(ValueError, match="unterminated"):
        list(statements("CREATE TABLE t (a TEXT);\nCREATE TABLE u (b TEXT)"))


# --- the inspection's state ---------------------------------------------------------------

# Findings are frozen once the draft citations leave the team (access.FINDING_STATES).
@pytest.mark.parametrize("state, words", [("factual_accuracy", "factual accuracy review"),
                                          ("committee", "committee review"), ("corrections", "corrections"),
                                          ("closed", "closed")])
def test_an_inspection_past_merging_refuses_findings_with_a_reason_code(as_user, db, demo_inspection, device,
                                                                         state, words):
    inspections.set_state(db, demo_inspection, state)
    before = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    op = device.op(demo_inspection, "B2.1", "verdict", "compliant")
    result = push(as_user("inspector1"), [op]).json["results"][0]
    assert result["status"] == "rejected" and result["code"] == "inspection_state"
    assert words in result["reason"]
    assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before


@pytest.mark.parametrize("state", ["preparing", "on_site", "merging"])
def test_findings_are_taken_until_the_draft_citations_are_sent(as_user, db, demo_inspection, device, state):
    inspections.set_state(db, demo_inspection, state)
    op = device.op(demo_inspection, "B2.1", "note", f"seen while {state}")
    assert push(as_user("inspector1"), [op]).json["results"][0]["status"] == "applied"


@pytest.mark.parametrize("state", ["with_site", "final", "nonsense"])   # the first two: states before the cycle
def test_an_unknown_state_is_refused(db, demo_inspection, state):
    with pytest.raises(ValueError):
        inspections.set_state(db, demo_inspection, state)
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("UPDATE inspections SET state = ? WHERE id = ?", [state, demo_inspection])


# --- defects found in review: each test failed before its fix ------------------------------

def test_a_stamp_in_fullwidth_digits_is_refused(as_user, db, demo_inspection, device):
    """'１７...' matched \\d, sorted after every real stamp and won for ever."""
    op = device.op(demo_inspection, "B2.1", "note", "sneaky")
    wall, counter, dev = op["hlc"].split(":")
    op["hlc"] = ":".join(["".join(chr(ord(c) + 0xFEE0) for c in wall), counter, dev])
    result = push(as_user("inspector1"), [op]).json["results"][0]
    assert result["status"] == "rejected" and result["code"] == "malformed"
    assert logged(db, op["op_id"]) is None


@pytest.mark.parametrize("change", [{"inspection_id": "other"}, {"standard": "B2.2"}, {"device_id": "elsewhere"}])
def test_a_reused_op_id_must_match_the_whole_op_to_be_a_duplicate(as_user, db, demo_inspection, change):
    client = as_user("inspector1")
    device = Device("tabletX")
    op = device.op(demo_inspection, "B2.1", "note", "same text")
    assert push(client, [op]).json["results"][0]["status"] == "applied"
    other = dict(op)
    if "inspection_id" in change:
        other_id = inspections.create(db, "Second site", 1, "2026-01-01", "2026-01-02",
                                      users.by_username(db, "admin")["id"])
        team.add_member(db, other_id, users.by_username(db, "inspector1")["id"], "inspector")
        other["inspection_id"] = other_id
    elif "device_id" in change:
        other["device_id"] = change["device_id"]
        other["hlc"] = op["hlc"].rsplit(":", 1)[0] + ":" + change["device_id"]
    else:
        other.update(change)
    result = push(client, [other]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "op_id_reused")
    assert push(client, [op]).json["results"][0]["status"] == "duplicate"


def test_the_same_op_twice_in_one_batch_is_applied_once(as_user, db, demo_inspection, device):
    op = device.op(demo_inspection, "B2.1", "note", "twice")
    results = push(as_user("inspector1"), [op, op]).json["results"]
    assert [r["status"] for r in results] == ["applied", "duplicate"]
    assert db.conn.execute("SELECT count(*) FROM ops WHERE op_id = ?", [op["op_id"]]).fetchone()[0] == 1


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_deeply_nested_body_is_a_400_not_a_500(as_user, db, depth):
    before = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    body = '{"ops": ' + "[" * depth + "]" * depth + "}"
    response = as_user("inspector1").post("/sync/push", data=body, content_type="application/json",
                                          headers={"X-Inspector-Sync": "1"})
    assert response.status_code == 400
    assert response.json["error"] == "malformed_batch"
    assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before


def test_a_value_nested_deeper_than_json_reads_refuses_the_batch_never_a_500(as_user, db, demo_inspection, device):
    """orjson reads 1024 levels; json, which writes the log's values, stops at
    the recursion limit (1000). A body nested past protocol._SHALLOW is read
    again by json, so a value a thousand deep refuses the batch as
    docs/sync-protocol.md says, whichever parser could read it. Without that
    bound orjson's reading stood: the op was answered on its own (200), and a
    value its schema took (before op values were exactly their schema, this
    one) was logged by json's encoder, which crashed (a 500)."""
    depth = 1015  # with the body, the op and the value's own object: 1019, within orjson's 1024
    op = device.op(demo_inspection, "B2.1", "photo", {"sha256": "a" * 64, "attached": False, "deep": "DEEP"})
    body = json.dumps({"ops": [op]}).replace('"DEEP"', "[" * depth + "]" * depth)
    assert orjson.loads(body) and body.count("[") == depth + 1
    before = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    response = as_user("inspector1").post("/sync/push", data=body, content_type="application/json", headers=SYNC)
    assert response.status_code == 400
    assert response.json["error"] == "malformed_batch"
    assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before


def test_old_random_op_ids_and_new_time_ordered_ones_are_both_taken(as_user, db, demo_inspection):
    """Tablets still in the field send UUIDv4 op ids; new ones send time-ordered UUIDv7."""
    import uuid

    from tests.helpers import uuid7
    old_tablet, new_tablet = Device("oldtablet"), Device("newtablet")
    old = old_tablet.op(demo_inspection, "B3.1", "note", "from an old tablet")
    old["op_id"] = str(uuid.uuid4())
    new = new_tablet.op(demo_inspection, "B3.2", "note", "from a new tablet")
    assert uuid.UUID(new["op_id"]).version == 7 and uuid.UUID(uuid7(1_764_000_000_000, 12345)).version == 7
    results = push(as_user("inspector1"), [old, new]).json["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
