"""The audit trail as the people who rely on it meet it: every write leaves a
record of who, when, from where and what changed; the lead reads an
inspection's History in plain words; the report prints the chain's head;
and whoever holds a report can prove with `inspector audit verify --head`
that the history behind it was not changed since."""
import contextlib
import io
import json
import sqlite3

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from inspector.domain import audit, team, users
from inspector.app import demo
from inspector.app.cli import main
from inspector.domain.db import database_path
from tests.helpers import copy_data_dir, push, seed_data_dir
from sync import protocol


def verify(data_dir, *args):
    return CliRunner().invoke(main, ["audit", "verify", "--data", str(data_dir), *map(str, args)])


def records(db, after_id=0):
    return [dict(r) for r in db.conn.execute("SELECT * FROM audit WHERE id > ? ORDER BY id", [after_id])]


def last_id(db):
    return db.conn.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]


def uid(db, username):
    return users.by_username(db, username)["id"]


# --- every write leaves a record --------------------------------------------------------

def test_a_push_records_each_op_with_its_actor_device_and_values_before_and_after(as_user, db, demo_inspection,
                                                                               device):
    start = last_id(db)
    stale = device.op(demo_inspection, "B1.3", "verdict", "not_applicable", at_ms=1_000_000_000_000)
    ops = [device.op(demo_inspection, "B2.3", "verdict", "compliant"),
           device.op(demo_inspection, "B2.3", "note", "The ICU manager showed the signed agreement."),
           stale]
    answer = push(as_user("inspector1"), ops).json
    assert [r["status"] for r in answer["results"]] == ["applied", "applied", "superseded"]

    verdict, note, superseded = records(db, start)  # one record per op, in the batch's order
    iris = uid(db, "inspector1")
    for record, op in zip((verdict, note, superseded), ops):
        assert (record["user_id"], record["link_id"], record["device"], record["subject"],
                record["inspection_id"]) == (iris, None, device.device_id, op["standard"], demo_inspection)
        assert json.loads(record["after"])["op_id"] == op["op_id"]
    assert verdict["action"] == "op.applied"
    assert json.loads(verdict["before"]) == {"field": "verdict", "value": "not_compliant"}
    assert json.loads(verdict["after"])["value"] == "compliant"
    assert json.loads(note["before"])["value"].startswith("No written agreement with intensive care")
    # Kept in the log, not applied: the record says what stood and what lost.
    assert superseded["action"] == "op.superseded"
    assert json.loads(superseded["before"]) == {"field": "verdict", "value": "compliant"}
    assert json.loads(superseded["after"])["value"] == "not_applicable"
    assert audit.verify(db).intact


def test_a_duplicate_or_refused_op_records_nothing(as_user, db, demo_inspection, device):
    op = device.op(demo_inspection, "B2.3", "verdict", "compliant")
    client = as_user("inspector1")
    push(client, [op])
    start = last_id(db)
    answer = push(client, [op, device.op(demo_inspection, "B2.3", "decision_verdict", "compliant")]).json
    assert [r["status"] for r in answer["results"]] == ["duplicate", "rejected"]
    assert last_id(db) == start


def test_rebuilding_from_the_log_adds_no_record(db):
    before = records(db)
    protocol.rebuild(db)
    assert records(db) == before


def test_a_team_change_records_only_what_changed_and_who_changed_it(as_user, db, demo_inspection):
    form = {f"member-{m['id']}": m["team_role"] for m in team.members(db, demo_inspection)}
    for section, usernames in team.assignments(db, demo_inspection).items():
        for username in usernames:
            form[f"assign-{uid(db, username)}-{section}"] = "1"
    form[f"assign-{uid(db, 'inspector2')}-B2"] = "1"
    del form[f"member-{uid(db, 'inspector3')}"]
    start = last_id(db)

    assert as_user("lead").post(f"/inspections/{demo_inspection}/team", data=form).status_code == 302

    made = [(r["action"], r["subject"], r["user_id"], r["before"], r["after"]) for r in records(db, start)]
    assert made == [("team.left", "inspector3", uid(db, "lead"), '{"team_role":"inspector"}', None),
                    ("team.assigned", "inspector2", uid(db, "lead"), None, '{"section":"B2"}')]


def test_users_made_and_passwords_changed_are_recorded_without_the_password(db):
    start = last_id(db)
    users.create(db, "ines2", "inspector", "s3cret-horse", "Ines Second")
    users.set_password(db, "ines2", "another-s3cret")
    created, changed = records(db, start)
    assert (created["action"], created["subject"], created["user_id"], created["device"]) == \
        ("user.created", "ines2", None, "cli")
    assert (changed["action"], changed["before"], changed["after"]) == ("user.password_changed", None, None)
    stored = json.dumps([created, changed])
    assert "s3cret" not in stored and users.by_username(db, "ines2")["password_hash"] not in stored


def test_the_demo_writes_a_valid_chain_through_the_same_functions(db):
    result = audit.verify(db)
    assert result.intact and result.rows > 50 and result.head == audit.head(db)
    actions = {r["action"] for r in records(db)}
    assert {"user.created", "inspection.created", "team.joined", "team.assigned", "op.applied"} <= actions


def test_seeding_the_demo_again_keeps_the_chain_valid(tmp_path):
    from inspector.domain.db import connect
    from inspector.app.demo import seed
    seed_data_dir(tmp_path / "data")
    db = connect(database_path(tmp_path / "data"))
    try:
        seed(db, "again-and-again")
        result = audit.verify(db)
        assert result.intact
        assert [r["action"] for r in records(db)].count("user.password_changed") == len(demo.USERS)
    finally:
        db.conn.close()


# --- verify, and tampering found ----------------------------------------------------------

def test_verify_passes_on_the_demo(app, db):
    result = verify(app.config["DATA_DIR"])
    assert result.exit_code == 0, result.output
    ops = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    assert result.output.splitlines() == [f"audit trail intact: {last_id(db)} rows, head {audit.head(db)}",
                                          f"op log matches the audit trail: {ops} ops, each as its record holds it"]


def tamper(data_dir, how, row_id=40):
    """Change a copy's trail behind the app's back, as someone with the file could."""
    conn = sqlite3.connect(database_path(data_dir), isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    if how == "edited":
        conn.execute("""UPDATE audit SET after = '{"field":"verdict","value":"compliant"}' WHERE id = 40""")
    elif how == "deleted":
        conn.execute("DELETE FROM audit WHERE id = 40")
    elif how == "inserted":
        # Rows 40 and after move up one place and a forged row, correctly
        # linked to row 39 and hashed, takes row 40's place.
        conn.execute("UPDATE audit SET id = -id WHERE id >= 40")
        conn.execute("UPDATE audit SET id = 1 - id WHERE id < 0")
        row = dict(conn.execute("SELECT * FROM audit WHERE id = 41").fetchone())
        row.update(id=40, action="op.applied", after='{"field":"verdict","value":"compliant"}',
                   prev_hash=conn.execute("SELECT hash FROM audit WHERE id = 39").fetchone()[0])
        row["hash"] = audit.row_hash(row)
        conn.execute(f"INSERT INTO audit ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    elif how == "rehashed":
        # A row changed and every hash from there on recomputed: the chain
        # holds together again, but no longer reaches the head printed earlier.
        conn.execute("""UPDATE audit SET after = '{"field":"verdict","value":"compliant"}' WHERE id = ?""",
                     [row_id])
        prev = conn.execute("SELECT hash FROM audit WHERE id = ?", [row_id - 1]).fetchone()[0]
        for row in conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", [row_id]).fetchall():
            row = {**dict(row), "prev_hash": prev}
            prev = audit.row_hash(row)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [row["prev_hash"], prev, row["id"]])
    conn.close()


@pytest.mark.parametrize("how, why", [
    ("edited", "row altered: its hash does not match its content"),
    ("deleted", "row 40 was deleted (row 39 is followed by row 41)"),
    ("inserted", "row 40 was inserted out of place (row 41 holds the hash of row 39)"),
])
def test_verify_names_the_first_row_altered_deleted_or_inserted(seeded_db, tmp_path, how, why):
    copy = copy_data_dir(seeded_db, tmp_path / "copy")
    assert verify(copy).exit_code == 0
    tamper(copy, how)
    result = verify(copy)
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"audit trail broken at row 40: {why}",
                                          "op log not checked: the audit trail it is checked against is broken"]


def test_the_database_refuses_to_change_or_remove_a_record(db):
    for sql in ("UPDATE audit SET subject = 'x' WHERE id = 1", "DELETE FROM audit WHERE id = 1"):
        with pytest.raises(sqlite3.IntegrityError, match="append only"):
            db.conn.execute(sql)


def test_a_head_taken_earlier_still_proves_its_history_after_more_writes(app, as_user, db, demo_inspection,
                                                                          device):
    data_dir = app.config["DATA_DIR"]
    earlier = CliRunner().invoke(main, ["audit", "head", "--data", str(data_dir)]).output.strip()
    rows_then = last_id(db)
    push(as_user("inspector1"), [device.op(demo_inspection, "B2.3", "verdict", "compliant")])

    result = verify(data_dir, "--head", earlier)
    assert result.exit_code == 0, result.output
    assert f"history up to {earlier} is intact (row {rows_then} of {rows_then + 1})" in result.output

    made_up = "f" * 64
    result = verify(data_dir, "--head", made_up)
    assert result.exit_code == 1
    assert f"head {made_up} is not in the audit trail" in result.output


def test_a_rewritten_chain_passes_alone_but_not_against_the_head_a_report_printed(seeded_db, tmp_path):
    copy = copy_data_dir(seeded_db, tmp_path / "copy")
    printed = CliRunner().invoke(main, ["audit", "head", "--data", str(copy)]).output.strip()
    with contextlib.closing(sqlite3.connect(database_path(copy))) as conn:
        team_row = conn.execute("SELECT min(id) FROM audit WHERE action = 'team.assigned'").fetchone()[0]
    tamper(copy, "rehashed", team_row)  # a record that is not an op's: nothing else to hold it against
    assert verify(copy).exit_code == 0  # the chain alone cannot tell
    result = verify(copy, "--head", printed)
    assert result.exit_code == 1 and f"head {printed} is not in the audit trail" in result.output


# --- the History page -------------------------------------------------------------------

def test_the_history_tells_a_verdict_change_in_plain_words(as_user, demo_inspection, device):
    push(as_user("inspector1"), [device.op(demo_inspection, "B2.3", "verdict", "compliant")])
    html = as_user("lead").get(f"/inspections/{demo_inspection}/history").get_data(as_text=True)
    assert f"Iris Clinical set the verdict of B2.3 to Compliant from device {device.device_id[:6]}…" in html
    assert "Ada Admin added Ivo Processing to the team" in html
    assert "Ada Admin added Lena Lead to the team as team leader" in html
    row = html[html.rindex("Iris Clinical set the verdict of B2.3"):]
    assert row.index("Not compliant") < row.index("Compliant</td>")  # before, then after


def test_the_history_shortens_long_texts(as_user, demo_inspection, device):
    push(as_user("inspector1"), [device.op(demo_inspection, "B2.3", "note", "word " * 400)])
    html = as_user("lead").get(f"/inspections/{demo_inspection}/history").get_data(as_text=True)
    assert "word " * 30 not in html and "word word…" in html


def test_an_admin_sees_that_a_flag_changed_not_whether_it_is_set(as_user, demo_inspection, device):
    push(as_user("inspector1"), [device.op(demo_inspection, "B2.3", "flag", True)])
    admin = as_user("admin").get(f"/inspections/{demo_inspection}/history").get_data(as_text=True)
    lead = as_user("lead").get(f"/inspections/{demo_inspection}/history").get_data(as_text=True)
    assert "Iris Clinical flagged B2.3 for follow-up" in lead
    assert "Iris Clinical changed the follow-up flag on B2.3" in admin and "flagged B2.3" not in admin


def test_history_tells_an_action_it_does_not_know_in_general_words(db, demo_inspection):
    audit.record(db, "review.accepted", inspection_id=demo_inspection, user_id=uid(db, "lead"), subject="B2.3",
                 after={"outcome": "accepted"})
    told = audit.history(db, demo_inspection)[-1]
    assert told.description == "Lena Lead recorded review accepted (B2.3)"
    assert told.after == "outcome: accepted"


@pytest.mark.parametrize("username, page", [("lead", "/inspections/{id}"), ("admin", "/")])
def test_the_lead_and_admins_find_the_history_from_their_pages(as_user, demo_inspection, username, page):
    html = as_user(username).get(page.format(id=demo_inspection)).get_data(as_text=True)
    assert f'href="/inspections/{demo_inspection}/history"' in html


def test_an_inspector_has_no_history_link(as_user, demo_inspection):
    html = as_user("inspector1").get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert "/history" not in html


# --- the report as evidence -----------------------------------------------------------------

def test_the_report_page_and_pdf_print_the_current_head(as_user, db, demo_inspection, device):
    push(as_user("lead"), [device.op(demo_inspection, "B2.3", "citation", "Signed agreement still missing.")])
    head = audit.head(db)
    client = as_user("lead")
    html = client.get(f"/inspections/{demo_inspection}/report").get_data(as_text=True)
    # The head, and how an auditor checks the trail against it (the command, then the hash).
    assert f'Audit trail head: <code class="hash">{head}</code>' in html and "inspector audit verify --head" in html
    pdf = client.get(f"/inspections/{demo_inspection}/report.pdf").data
    text = "".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert f"Audittrailhead:{head}" in text and "inspectorauditverify--head" in text


# --- the chain's canonical JSON, whichever library writes it -----------------------------

# What records hold: text, integers (within 64 bits), booleans, None, lists, objects.
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.text(st.characters(codec="utf-8")),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(st.characters(codec="utf-8"), max_size=8), children, max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_JSON_VALUES)
def test_rows_are_hashed_over_the_same_bytes_json_wrote_before_orjson_came(value):
    # Chains written before orjson must verify for ever: the one encoder
    # (orjson) must give exactly json's bytes for what records hold.
    assert audit._CANONICAL(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert audit._HASHED([value, "x"]) == json.dumps([value, "x"], separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value", [2 ** 70, "\ud800", {"\ud800": 1}, {1: "a"}])
def test_a_value_the_encoder_cannot_write_is_refused_never_written_another_way(value):
    with pytest.raises((TypeError, orjson.JSONEncodeError)):
        audit._CANONICAL(value)
