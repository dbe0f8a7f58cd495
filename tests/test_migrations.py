"""Migrations carry a database made by an earlier release forward: each test
builds the schema as it stood before a migration (the list's own earlier
entries), puts in rows as that release wrote them, opens it with today's
code and reads what became of them (sqlite-utils for the schema)."""
import json
import re
import sqlite3

import pytest
import sqlite_utils

from inspector.domain import db as db_module
from inspector.domain.db import connect, statements
from sync import protocol


def database_before(path, migration_text):
    """A database at the schema just before the migration holding ``migration_text``
    (a migration that is a function, not a script, is run as migrate runs it)."""
    index = next(i for i, m in enumerate(db_module.MIGRATIONS) if isinstance(m, str) and migration_text in m)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for script in db_module.MIGRATIONS[:index]:
        if callable(script):
            script(sqlite_utils.Database(conn))
            continue
        for statement in statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={index}")
    return conn


def test_inspections_made_before_the_body_was_chosen_keep_facts_words_and_their_editions_scale(tmp_path):
    conn = database_before(tmp_path / "old.sqlite3", "ADD COLUMN body")
    conn.execute("INSERT INTO users (id, username, display_name, role, password_hash) "
                 "VALUES (1, 'iris', 'Iris', 'admin', 'x')")
    conn.execute("INSERT INTO catalogs (id, edition, source, scale) VALUES (1, 'FACT ed.', 's', 'fact'), "
                 "(2, 'JACIE ed.', 's', 'jacie')")
    conn.execute("INSERT INTO inspections (id, site_name, catalog_id, starts_on, ends_on, created_by) "
                 "VALUES (1, 'On FACT', 1, '2026-01-01', '2026-01-02', 1), "
                 "(2, 'On JACIE', 2, '2026-01-01', '2026-01-02', 1)")
    conn.close()

    db = connect(tmp_path / "old.sqlite3")
    assert {"body", "scale"} <= set(db["inspections"].columns_dict)
    assert [(r["site_name"], r["body"], r["scale"]) for r in db["inspections"].rows_where(order_by="id")] == [
        ("On FACT", "fact", "fact"), ("On JACIE", "fact", "jacie")]
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(db_module.MIGRATIONS)


def test_the_schema_check_refuses_an_unknown_body(tmp_path):
    db = connect(tmp_path / "new.sqlite3")
    db.conn.execute("INSERT INTO users (id, username, display_name, role, password_hash) "
                    "VALUES (1, 'iris', 'Iris', 'admin', 'x')")
    db.conn.execute("INSERT INTO catalogs (id, edition, source) VALUES (1, 'e', 's')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.conn.execute("INSERT INTO inspections (site_name, catalog_id, starts_on, ends_on, created_by, body) "
                        "VALUES ('x', 1, '2026-01-01', '2026-01-02', 1, 'iso')")


def test_a_log_from_before_the_site_could_write_keeps_every_op_and_stays_rebuildable(tmp_path):
    """Before review links (ops.user_id NOT NULL, no inspection state), every
    op and finding is kept: the log is copied into a table whose rows name
    exactly one actor, append only."""
    old = sqlite_utils.Database(database_before(tmp_path / "old.sqlite3", "CREATE TABLE ops_v2"))
    assert old["ops"].columns_dict.keys() >= {"user_id"} and "link_id" not in old["ops"].columns_dict
    old["users"].insert({"id": 1, "username": "iris", "display_name": "Iris", "role": "inspector",
                         "password_hash": "x"})
    old["catalogs"].insert({"id": 1, "edition": "e", "source": "s"})
    old["inspections"].insert({"id": 1, "site_name": "Site", "catalog_id": 1, "starts_on": "2026-01-01",
                               "ends_on": "2026-01-02", "created_by": 1})
    old["ops"].insert({"op_id": "op-old-0001", "user_id": 1, "device_id": "d1", "device_seq": 1,
                       "hlc": "001700000000000:00000:d1", "inspection_id": 1, "standard_code": "B1.1",
                       "field": "note", "value": json.dumps("kept"), "status": "applied"})
    old["findings"].insert({"inspection_id": 1, "standard_code": "B1.1", "inspector_id": 1, "note": "kept",
                            "note_hlc": "001700000000000:00000:d1 op-old-0001", "last_seq": 1})
    old.conn.close()

    db = connect(tmp_path / "old.sqlite3")
    ops = {column.name: column for column in db["ops"].columns}
    assert not ops["user_id"].notnull and not ops["link_id"].notnull
    assert {trigger.name for trigger in db["ops"].triggers} == {"ops_no_update", "ops_no_delete"}
    [row] = db["ops"].rows
    assert (row["seq"], row["op_id"], row["user_id"], row["link_id"], row["status"]) == (
        1, "op-old-0001", 1, None, "applied")
    assert [r["state"] for r in db["inspections"].rows] == ["on_site"]
    protocol.rebuild(db)
    assert [r["note"] for r in db["findings"].rows] == ["kept"]


def test_installs_that_imported_the_stray_separator_are_cleaned_and_licensed_text_is_not(tmp_path):
    """236 guidance texts of the bundled (illustrative) checklist ended in " |";
    an edition an accrediting body licensed is kept as it was imported."""
    old = sqlite_utils.Database(database_before(tmp_path / "old.sqlite3", "length(guidance) - 2"))
    old["catalogs"].insert_all([{"id": 1, "edition": "ill", "source": "t.json", "illustrative": 1},
                                {"id": 2, "edition": "lic", "source": "t.json", "illustrative": 0}])
    old["standards"].insert_all({"catalog_id": catalog_id, "code": code, "parent": parent, "section_code": "B1",
                                 "position": position, "depth": position, "title": "General", "text": "t",
                                 "guidance": "Look at the file. |", "roles": ""}
                                for catalog_id in (1, 2) for position, (code, parent) in enumerate(
                                    [("B1", ""), ("B1.1", "B1")]))
    old.conn.close()

    db = connect(tmp_path / "old.sqlite3")
    guidance = {(r["catalog_id"], r["code"]): r["guidance"] for r in db["standards"].rows}
    assert guidance == {(1, "B1"): "Look at the file.", (1, "B1.1"): "Look at the file.",
                        (2, "B1"): "Look at the file. |", (2, "B1.1"): "Look at the file. |"}


def test_links_issued_before_nonces_get_one_each_and_nothing_counted_against_their_quota(tmp_path):
    """Their old tokens carry no nonce, so they stop opening: the lead's page
    shows each live link's new address (test_site_review.py tries an old token)."""
    conn = database_before(tmp_path / "old.sqlite3", "ADD COLUMN nonce")
    conn.execute("INSERT INTO users (id, username, display_name, role, password_hash) "
                 "VALUES (1, 'lena', 'Lena', 'lead', 'x')")
    conn.execute("INSERT INTO catalogs (id, edition, source) VALUES (1, 'e', 's')")
    conn.execute("INSERT INTO inspections (id, site_name, catalog_id, starts_on, ends_on, created_by) "
                 "VALUES (1, 'Northbridge', 1, '2026-01-01', '2026-01-02', 1)")
    conn.execute("INSERT INTO review_links (inspection_id, issued_to, email, issued_by, expires_at) "
                 "VALUES (1, 'Sam', 'sam@x.example', 1, '2099-01-01T00:00:00Z'), "
                 "(1, 'Omar', 'omar@x.example', 1, '2099-01-01T00:00:00Z')")
    conn.close()

    db = connect(tmp_path / "old.sqlite3")
    rows = list(db["review_links"].rows_where(order_by="id"))
    nonces = {r["nonce"] for r in rows}
    assert len(nonces) == 2 and all(re.fullmatch("[0-9a-f]{32}", n) for n in nonces)
    assert [(r["documents_uploaded"], r["document_bytes"]) for r in rows] == [(0, 0), (0, 0)]


def test_inspections_from_before_the_cycle_take_its_states_and_users_keep_their_roles(tmp_path):
    """With the site and Site responded become the factual accuracy review,
    Final becomes Closed, the other states stay; every user keeps their role
    (the column is made anew to widen its CHECK) and a coordinator can be added."""
    conn = database_before(tmp_path / "old.sqlite3", "ADD COLUMN stage")
    conn.execute("INSERT INTO users (id, username, display_name, role, password_hash, disabled_at) VALUES "
                 "(1, 'ada', 'Ada', 'admin', 'h1', NULL), (2, 'lena', 'Lena', 'lead', 'h2', NULL), "
                 "(3, 'iris', 'Iris', 'inspector', 'h3', '2026-05-01T00:00:00Z')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # the role the old schema did not know
        conn.execute("INSERT INTO users (username, display_name, role, password_hash) "
                     "VALUES ('cora', 'Cora', 'coordinator', 'h4')")
    conn.execute("INSERT INTO catalogs (id, edition, source) VALUES (1, 'e', 's')")
    old_states = ["merging", "with_site", "site_responded", "final"]
    for n, state in enumerate(old_states, 1):
        conn.execute("INSERT INTO inspections (id, site_name, catalog_id, starts_on, ends_on, created_by, state) "
                     "VALUES (?, ?, 1, '2026-01-01', '2026-01-02', 2, ?)", [n, f"Site {n}", state])
    conn.close()

    db = connect(tmp_path / "old.sqlite3")
    assert [(r["site_name"], r["state"]) for r in db["inspections"].rows_where(order_by="id")] == [
        ("Site 1", "merging"), ("Site 2", "factual_accuracy"), ("Site 3", "factual_accuracy"), ("Site 4", "closed")]
    assert [(r["id"], r["username"], r["role"], r["password_hash"], r["disabled_at"])
            for r in db["users"].rows_where(order_by="id")] == [
        (1, "ada", "admin", "h1", None), (2, "lena", "lead", "h2", None),
        (3, "iris", "inspector", "h3", "2026-05-01T00:00:00Z")]
    db.conn.execute("INSERT INTO users (username, display_name, role, password_hash) "
                    "VALUES ('cora', 'Cora', 'coordinator', 'h4')")
    assert {"committee_date", "outcome", "decided_by"} <= set(db["inspections"].columns_dict)
    assert db["committee_decisions"].exists()
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(db_module.MIGRATIONS)


def test_inspections_from_before_programs_get_one_program_per_site_name_and_a_type(tmp_path):
    """Two inspections of the same site share one program (named as the site);
    each becomes an initial inspection, an internal audit's an internal one."""
    old = sqlite_utils.Database(database_before(tmp_path / "old.sqlite3", "CREATE TABLE programs"))
    assert "programs" not in old.table_names() and "kind" not in old["inspections"].columns_dict
    old["users"].insert({"id": 1, "username": "iris", "display_name": "Iris", "role": "admin", "password_hash": "x"})
    old["catalogs"].insert({"id": 1, "edition": "e", "source": "s"})
    for i, (site, body, starts) in enumerate([("Northbridge", "fact", "2024-03-01"), ("Riverside", "jacie", "2025-01-10"),
                                              ("Northbridge", "fact", "2026-03-01"),
                                              ("Northbridge", "internal", "2025-09-01")], start=1):
        old["inspections"].insert({"id": i, "site_name": site, "catalog_id": 1, "starts_on": starts,
                                   "ends_on": starts, "created_by": 1, "body": body})
    old.conn.close()

    db = connect(tmp_path / "old.sqlite3")
    rows = {r["id"]: r for r in db["inspections"].rows}
    assert rows[1]["program_id"] == rows[3]["program_id"] == rows[4]["program_id"] != rows[2]["program_id"]
    assert {p["id"]: p["name"] for p in db["programs"].rows} == {
        rows[1]["program_id"]: "Northbridge", rows[2]["program_id"]: "Riverside"}
    assert {i: r["kind"] for i, r in rows.items()} == {1: "initial", 2: "initial", 3: "initial", 4: "internal"}
