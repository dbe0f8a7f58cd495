"""The op log inside the evidence: each op's audit record holds the op's hash,
so an op changed, removed or added in the log behind the server's back (as
someone holding the file could, its triggers dropped) is named by `inspector
audit verify`, `inspector rebuild` refuses to make it the findings, and a
record appended to the trail for an op that never was is named as forged."""
import contextlib
import hashlib
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from inspector.app.cli import main
from inspector.domain import audit, chain
from inspector.domain import db as db_module
from inspector.domain.db import connect, database_path, statements, transaction
from tests.helpers import copy_data_dir


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@contextlib.contextmanager
def behind_the_back(data_dir):
    """The database file opened as someone holding it could: no app, the
    log's append-only triggers dropped."""
    conn = sqlite3.connect(database_path(data_dir), isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER IF EXISTS ops_no_update")
    conn.execute("DROP TRIGGER IF EXISTS ops_no_delete")
    try:
        yield conn
    finally:
        conn.close()


def findings(data_dir):
    with contextlib.closing(sqlite3.connect(database_path(data_dir))) as conn:
        return conn.execute("SELECT * FROM findings ORDER BY inspection_id, standard_code, inspector_id").fetchall()


def standing_note(conn):
    """A logged note op whose value the findings hold now: changing it changes what a rebuild makes."""
    return conn.execute("SELECT o.* FROM ops o JOIN findings f ON f.note_hlc = o.hlc || ' ' || o.op_id "
                        "WHERE o.field = 'note' ORDER BY o.seq LIMIT 1").fetchone()


def change_value(conn, op):
    conn.execute("UPDATE ops SET value = ? WHERE seq = ?", [json.dumps("All agreements were signed."), op["seq"]])


def change_standard(conn, op):
    conn.execute("UPDATE ops SET standard_code = 'B7.3.9' WHERE seq = ?", [op["seq"]])


def delete(conn, op):
    conn.execute("DELETE FROM ops WHERE seq = ?", [op["seq"]])


FORGED_OP_ID = "0190f0f0-aaaa-7bbb-8ccc-000000000001"


def insert(conn, op):
    # A note for the same standard, stamped later than every real edit, so it would win.
    conn.execute("INSERT INTO ops (op_id, user_id, link_id, device_id, device_seq, hlc, inspection_id, "
                 "standard_code, field, value, status) VALUES (?, ?, NULL, ?, 99, ?, ?, ?, 'note', ?, 'applied')",
                 [FORGED_OP_ID, op["user_id"], op["device_id"], f"002000000000000:00000:{op['device_id']}",
                  op["inspection_id"], op["standard_code"], json.dumps("All agreements were signed.")])


@pytest.mark.parametrize("tamper, says", [
    (change_value, "op {op_id} (seq {seq}) was changed in the log: it no longer matches the hash audit row {row} "
                   "holds (its value, stamp (hlc), device seq or status"),
    (change_standard, "op {op_id} (seq {seq}) was changed in the log: it no longer matches the hash audit row {row} "
                      "holds (standard_code was '{standard}', is 'B7.3.9')"),
    (delete, "op {op_id} (seq {seq}) is missing from the log: deleted (audit row {row} records it)"),
    (insert, f"op {FORGED_OP_ID} (seq {{last}}) has no audit record: added to the log behind the server's back"),
])
def test_an_op_changed_removed_or_added_behind_the_servers_back_is_named_and_not_rebuilt(seeded_db, tmp_path,
                                                                                        tamper, says):
    data = copy_data_dir(seeded_db, tmp_path / "copy")
    assert run("audit", "verify", "--data", data).exit_code == 0
    before = findings(data)
    with behind_the_back(data) as conn:
        op = standing_note(conn)
        row = conn.execute("SELECT id FROM audit WHERE action = 'op.applied' AND json_extract(after, '$.op_id') = ?",
                           [op["op_id"]]).fetchone()[0]
        tamper(conn, op)
        last = conn.execute("SELECT max(seq) FROM ops").fetchone()[0]

    result = run("audit", "verify", "--data", data)
    assert result.exit_code == 1
    assert "audit trail intact" in result.output  # the chain holds: the log's own check finds it
    assert "op log does not match the audit trail: 1 problem\n" in result.output
    assert says.format(op_id=op["op_id"], seq=op["seq"], row=row, standard=op["standard_code"],
                       last=last) in result.output

    refused = run("rebuild", "--data", data)
    assert refused.exit_code == 1
    assert "Nothing was rebuilt: the op log does not verify against the audit trail" in refused.output
    assert findings(data) == before


def test_an_intact_log_is_rebuilt(seeded_db, tmp_path):
    data = copy_data_dir(seeded_db, tmp_path / "copy")
    result = run("rebuild", "--data", data)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Findings rebuilt from")


def test_an_op_changed_with_its_record_and_the_chain_rewritten_is_caught_by_a_printed_head(seeded_db, tmp_path):
    """The limit of a chain without a key, and what answers it: someone who
    changes an op, puts its new hash in its record and recomputes every hash
    after it leaves a trail and a log that agree; the head a report printed
    before is then no longer in the trail."""
    data = copy_data_dir(seeded_db, tmp_path / "copy")
    printed = run("audit", "head", "--data", data).output.strip()
    with behind_the_back(data) as conn:
        op = standing_note(conn)
        change_value(conn, op)
        conn.execute("DROP TRIGGER audit_no_update")
        changed = conn.execute("SELECT * FROM ops WHERE seq = ?", [op["seq"]]).fetchone()
        record = conn.execute("SELECT * FROM audit WHERE action = 'op.applied' AND json_extract(after, '$.op_id') = ?",
                              [op["op_id"]]).fetchone()
        after = {**json.loads(record["after"]), "op_hash": chain.op_hash(changed["seq"], changed, changed["status"])}
        conn.execute("UPDATE audit SET after = ? WHERE id = ?",
                     [json.dumps(after, sort_keys=True, separators=(",", ":")), record["id"]])
        prev = conn.execute("SELECT hash FROM audit WHERE id = ?", [record["id"] - 1]).fetchone()[0]
        for row in conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", [record["id"]]).fetchall():
            row = {**dict(row), "prev_hash": prev}
            prev = audit.row_hash(row)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [row["prev_hash"], prev, row["id"]])

    assert run("audit", "verify", "--data", data).exit_code == 0  # trail and log agree: neither alone can tell
    result = run("audit", "verify", "--data", data, "--head", printed)
    assert result.exit_code == 1 and f"head {printed} is not in the audit trail" in result.output


# --- records appended to the trail ----------------------------------------------------------

def append_record(conn, action, after):
    """A row added at the end of the trail, correctly linked and hashed, as a
    forger who has read audit.row_hash could."""
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row = {"id": last["id"] + 1, "at": "2026-12-01T10:00:00.000000Z", "inspection_id": 1, "user_id": 3,
           "link_id": None, "device": "tablet-1", "action": action, "subject": "B1.5", "before": None,
           "after": json.dumps(after, sort_keys=True, separators=(",", ":")), "prev_hash": last["hash"]}
    row["hash"] = audit.row_hash(row)
    conn.execute(f"INSERT INTO audit ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    return row


@pytest.mark.parametrize("action, after, says", [
    ("op.applied", {"field": "note", "value": "x", "op_id": "never-logged-0001", "seq": 10_000, "op_hash": "0" * 64},
     "audit row {row} records op never-logged-0001 at seq 10000, which the log never reached: a forged record"),
    ("op.applied", {"field": "note", "value": "x", "op_id": "never-logged-0001"},
     "audit row {row} is an op record without its op's hash, written after the log was sealed: "
     "not written by this server (forged)"),
    (chain.SEAL, {"ops": 0, "last_seq": 0}, "audit row {row} seals the op log a second time"),
])
def test_an_appended_forged_record_is_named_as_such(seeded_db, tmp_path, action, after, says):
    data = copy_data_dir(seeded_db, tmp_path / "copy")
    printed = run("audit", "head", "--data", data).output.strip()
    with behind_the_back(data) as conn:
        row = append_record(conn, action, after)["id"]

    result = run("audit", "verify", "--data", data, "--head", printed)
    assert result.exit_code == 1
    assert "audit trail intact" in result.output  # linked and hashed as the server would
    assert says.format(row=row) in result.output
    # Against a head printed before it, the row is one written after that head.
    assert f"1 row written after that head (rows {row} to {row})" in result.output


# --- a log from before op records held hashes ---------------------------------------------

SEAL_STEP = db_module.MIGRATIONS.index(chain.seal_op_log)


def old_data_folder(folder, ops=5):
    """A data folder as it was before op records held hashes: the schema up to
    the seal, ``ops`` notes logged, each with the record written then."""
    folder.mkdir()
    conn = sqlite3.connect(database_path(folder), isolation_level=None)
    conn.row_factory = sqlite3.Row
    for script in db_module.MIGRATIONS[:SEAL_STEP]:
        for statement in statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={SEAL_STEP}")
    conn.execute("INSERT INTO users (id, username, display_name, role, password_hash) "
                 "VALUES (1, 'iris', 'Iris', 'inspector', 'x')")
    conn.execute("INSERT INTO catalogs (id, edition, source) VALUES (1, 'e', 's')")
    conn.execute("INSERT INTO inspections (id, site_name, catalog_id, starts_on, ends_on, created_by) "
                 "VALUES (1, 'Site', 1, '2026-01-01', '2026-01-02', 1)")
    old = type("Old", (), {"conn": conn})()
    for n in range(1, ops + 1):
        op_id = f"old-op-{n:04d}"
        conn.execute("INSERT INTO ops (op_id, user_id, device_id, device_seq, hlc, inspection_id, standard_code, "
                     "field, value, status) VALUES (?, 1, 'd1', ?, ?, 1, 'B1.1', 'note', ?, 'applied')",
                     [op_id, n, f"0017000000{n:05d}:00000:d1", json.dumps(f"note {n}")])
        chain.record_many(old, [chain.event("op.applied", inspection_id=1, user_id=1, device="d1", subject="B1.1",
                                            after={"field": "note", "value": f"note {n}", "op_id": op_id})])
    conn.close()
    return folder


def test_ops_logged_before_the_seal_verify_and_a_later_edit_to_them_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(chain, "SEAL_BLOCK", 2)  # 5 ops: three sealing records
    data = old_data_folder(tmp_path / "old")
    db = connect(database_path(data))  # the migration seals the log
    sealing = db.conn.execute("SELECT after FROM audit WHERE action = ? ORDER BY id", [chain.SEALED]).fetchall()
    assert [[op_id for _, op_id, _ in json.loads(r[0])["ops"]] for r in sealing] == [
        ["old-op-0001", "old-op-0002"], ["old-op-0003", "old-op-0004"], ["old-op-0005"]]
    assert audit.verify(db).intact and audit.verify_ops(db) == (5, [], 0)
    db.conn.close()
    assert run("audit", "verify", "--data", data).exit_code == 0

    with behind_the_back(data) as conn:
        conn.execute("UPDATE ops SET value = ? WHERE op_id = 'old-op-0003'", [json.dumps("rewritten")])
        conn.execute("DELETE FROM ops WHERE op_id = 'old-op-0005'")
    result = run("audit", "verify", "--data", data)
    assert result.exit_code == 1
    assert "op old-op-0003 (seq 3) was changed in the log" in result.output
    assert "op old-op-0005 (seq 5) is missing from the log: deleted" in result.output
    assert run("rebuild", "--data", data).exit_code == 1


def test_the_log_is_sealed_once(tmp_path):
    data = old_data_folder(tmp_path / "old", ops=3)
    connect(database_path(data)).conn.close()
    db = connect(database_path(data))
    with transaction(db):
        chain.seal_op_log(db)  # the seal step run again (as a migration retried would)
    assert db.conn.execute("SELECT count(*) FROM audit WHERE action = ?", [chain.SEAL]).fetchone()[0] == 1
    assert audit.verify_ops(db).intact


def test_every_column_of_the_log_but_its_arrival_time_is_in_the_hash(db):
    """A column added to the log later must be hashed too, or be named here as left out."""
    columns = {r["name"] for r in db.conn.execute("PRAGMA table_info(ops)")}
    assert columns - {"received_at"} == set(chain.OP_COLUMNS)


def test_a_superseded_op_made_applied_is_named(as_user, db, demo_inspection, device):
    from tests.helpers import push
    late = device.op(demo_inspection, "B2.3", "verdict", "compliant")
    early = device.op(demo_inspection, "B2.3", "verdict", "not_applicable", at_ms=1_000_000_000_000)
    assert [r["status"] for r in push(as_user("inspector1"), [late, early]).json["results"]] == \
        ["applied", "superseded"]
    assert audit.verify_ops(db).intact
    db.conn.execute("DROP TRIGGER ops_no_update")
    db.conn.execute("UPDATE ops SET status = 'applied' WHERE op_id = ?", [early["op_id"]])
    problems = audit.verify_ops(db).problems
    assert [(p.op_id, p.kind) for p in problems] == [(early["op_id"], "changed")]


def test_a_backup_whose_log_was_changed_is_not_restored(seeded_db, tmp_path):
    backup = copy_data_dir(seeded_db, tmp_path / "backup")
    with behind_the_back(backup) as conn:
        op = standing_note(conn)
        change_value(conn, op)
    result = run("restore", "--data", tmp_path / "data", backup)
    assert result.exit_code != 0
    assert f"the op log does not match the audit trail: op {op['op_id']} (seq {op['seq']}) was changed" \
        in result.output
    assert not database_path(tmp_path / "data").exists()


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=2 ** 53 - 1), st.one_of(st.none(), st.integers(1, 2 ** 31)))
def test_an_ops_hash_is_sha256_of_its_columns_as_compact_json(text, number, user_id):
    """Anyone can recompute it with any JSON library: the columns as a compact JSON array, unescaped Unicode."""
    row = {"op_id": text, "user_id": user_id, "link_id": None, "device_id": text, "device_seq": number, "hlc": text,
           "inspection_id": number, "standard_code": text, "field": "note", "value": json.dumps(text)}
    items = ["op", number, *(row[c] for c in chain.OP_COLUMNS[1:-1]), "applied"]
    expected = hashlib.sha256(json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    assert chain.op_hash(number, row, "applied") == expected.hexdigest()
