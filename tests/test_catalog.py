"""Catalog import: an admin loads a checklist edition from CSV or JSON, all or
nothing, and a bad file says where and what is wrong."""
import io
import json
from pathlib import Path

import pytest

from inspector.domain import catalog
from inspector.domain.catalog import CatalogError
from inspector.domain.db import connect, database_path

FIXTURES = Path(__file__).parent / "fixtures" / "catalogs"
HEADER = "code,parent,title,text,guidance,roles"
SECTION = "B1,,Governance,Who leads.,Ask for the chart.,clinical"


@pytest.fixture
def empty_db(tmp_path):
    db = connect(database_path(tmp_path))
    yield db
    db.conn.close()


def counts(db):
    return [db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("catalogs", "standards")]


def csv_bytes(*lines):
    return ("\n".join(lines) + "\n").encode()


def row(code="B1.1", parent="B1", title="Director", roles="clinical"):
    return {"code": code, "parent": parent, "title": title, "text": "A text.", "guidance": "Ask.", "roles": roles}


@pytest.mark.parametrize("raw, where, problem", [
    (csv_bytes(HEADER, SECTION, ",B1,Director,,,clinical"), "line 3", "missing code"),
    (csv_bytes(HEADER, SECTION, "B1.1,B1,Director,,,", "B1.1,B1,Again,,,"), "line 4", "duplicate code B1.1"),
    (csv_bytes(HEADER, SECTION, "B1.1,B9,Director,,,"), "line 3", "unknown parent B9"),
    (csv_bytes(HEADER, "B1.1,B1,Director,,,", SECTION), "line 2", "unknown parent B1"),
    (csv_bytes(HEADER, SECTION, "B1.1,B1,Director,,,clinical;nursing"), "line 3", "unknown role 'nursing'"),
    (csv_bytes(HEADER, SECTION, "B1.1,B1,Director,,"), "line 3", "expected 6 columns, found 5"),
    (csv_bytes(HEADER, SECTION, "B1.1,B1,Director,,,,extra"), "line 3", "expected 6 columns, found 7"),
    (csv_bytes("code,title,roles", "B1,Governance,clinical"), "line 1", "the header must be"),
    (csv_bytes(HEADER, SECTION, "B1.1,B1,Caf\u00e9 staff,,,").replace("\u00e9".encode(), b"\xe9"),
     "line 3", "bad encoding"),
    # A quoted text over lines 3 and 4: the record is named by its first line.
    (csv_bytes(HEADER, SECTION, 'B1.1,B7,Director,"Two\nlines",,', "B1.2,B1,Deputy,,,"),
     "line 3", "unknown parent B7"),
    (csv_bytes(HEADER, SECTION, 'B1.1,B1,Director,"Two\nlines",,', "", "B1.2,B7,Deputy,,,"),
     "line 6", "unknown parent B7"),
], ids=["missing code", "duplicate code", "unknown parent", "parent after child", "unknown role",
        "too few columns", "too many columns", "wrong header", "latin-1 bytes", "multi-line record",
        "after a multi-line record and a blank line"])
def test_bad_csv_names_the_line_and_the_problem(raw, where, problem):
    with pytest.raises(CatalogError) as caught:
        catalog.parse(raw, name="checklist.csv")
    message = str(caught.value)
    assert message.startswith(f"checklist.csv: {where}:"), message
    assert problem in message


def json_bytes(items):
    return json.dumps(items, ensure_ascii=False).encode()


@pytest.mark.parametrize("raw, where, problem", [
    (json_bytes([row("B1", ""), row(code="")]), "index 1", "missing code"),
    (json_bytes([row("B1", ""), {k: v for k, v in row().items() if k != "code"}]), "index 1", "missing code"),
    (json_bytes([row("B1", ""), row(), row()]), "index 2", "duplicate code B1.1"),
    (json_bytes([row("B1", ""), row(parent="B9")]), "index 1", "unknown parent B9"),
    (json_bytes([row(), row("B1", "")]), "index 0", "unknown parent B1"),
    (json_bytes([row("B1", ""), row(roles="clinical;nursing")]), "index 1", "unknown role 'nursing'"),
    (json_bytes([row("B1", ""), row(roles=["quality", "nursing"])]), "index 1", "unknown role 'nursing'"),
    (json_bytes([row("B1", ""), {**row(), "owner": "me"}]), "index 1", "unknown key(s) owner"),
    (json_bytes([row("B1", ""), "B1.1"]), "index 1", "expected an object"),
    (json_bytes([row("B1", ""), row(), row("B1.2", title="Caf\u00e9")]).replace("\u00e9".encode(), b"\xe9"),
     "index 2", "bad encoding"),
], ids=["empty code", "no code key", "duplicate code", "unknown parent", "parent after child",
        "unknown role", "unknown role in a list", "unknown key", "not an object", "latin-1 bytes"])
def test_bad_json_names_the_index_and_the_problem(raw, where, problem):
    with pytest.raises(CatalogError) as caught:
        catalog.parse(raw, json_format=True, name="checklist.json")
    message = str(caught.value)
    assert message.startswith(f"checklist.json: {where}"), message
    assert problem in message


@pytest.mark.parametrize("raw, problem", [
    (b"{\"code\": \"B1\"}", "must be a list"),
    (b"[{\"code\": \"B1\",", "not valid JSON"),
    (b"", "the file is empty"),
    (csv_bytes(HEADER), "no standards"),
])
def test_files_that_are_not_catalogs_are_refused(raw, problem):
    with pytest.raises(CatalogError, match=problem):
        catalog.parse(raw, json_format=raw.startswith((b"[", b"{")))


@pytest.mark.parametrize("fixture", ["unknown_parent.csv"])
def test_a_failed_import_leaves_nothing_behind(empty_db, fixture):
    with pytest.raises(CatalogError, match="line 4: unknown parent T2"):
        catalog.import_file(empty_db, FIXTURES / fixture)
    assert counts(empty_db) == [0, 0]


def test_an_edition_imported_twice_is_refused_and_the_first_kept(empty_db):
    catalog.import_file(empty_db, FIXTURES / "good.csv", edition="IEC 3")
    with pytest.raises(CatalogError, match="already imported"):
        catalog.import_file(empty_db, FIXTURES / "good.json", edition="IEC 3")
    assert counts(empty_db) == [1, 5]


@pytest.mark.parametrize("fixture, rows", [("good.csv", 5), ("good.json", 4)])
def test_a_good_file_imports_as_an_edition_with_its_tree(empty_db, fixture, rows):
    catalog_id = catalog.import_file(empty_db, FIXTURES / fixture)
    edition = empty_db.conn.execute("SELECT * FROM catalogs WHERE id = ?", [catalog_id]).fetchone()
    assert (edition["edition"], edition["source"], edition["illustrative"]) == ("good", fixture, 0)
    standards = {r["code"]: r for r in empty_db.conn.execute(
        "SELECT * FROM standards WHERE catalog_id = ?", [catalog_id])}
    assert len(standards) == rows
    bedside = standards["T1.1"]
    assert (bedside["section_code"], bedside["depth"], bedside["roles"]) == ("T1", 1, "clinical;quality")
    assert standards["T2"]["parent"] == "" and standards["T2"]["depth"] == 0


def test_a_quoted_text_may_span_lines(empty_db):
    catalog.import_file(empty_db, FIXTURES / "good.csv")
    text = empty_db.conn.execute("SELECT text FROM standards WHERE code = 'T1.1'").fetchone()[0]
    assert "identity\nbefore" in text


def test_the_bundled_catalog_is_big_enough_and_has_guidance():
    rows = catalog.read_file(catalog.bundled_catalog_path())
    sections = [r for r in rows if not r["parent"]]
    standards = [r for r in rows if r["parent"]]
    assert len(sections) >= 10
    assert len(standards) >= 150
    assert [r["code"] for r in standards if not r["guidance"]] == []
    assert all(r["roles"] for r in rows)


def test_the_bundled_catalog_is_marked_illustrative_and_imported_once(empty_db):
    catalog_id = catalog.import_bundled(empty_db)
    assert catalog.import_bundled(empty_db) == catalog_id
    edition = empty_db.conn.execute("SELECT * FROM catalogs").fetchall()
    assert len(edition) == 1
    assert edition[0]["illustrative"] == 1
    assert "illustrative" in edition[0]["edition"]


@pytest.mark.parametrize("sections, per_section, children, expected", [
    (1, 1, 3, 2),          # a section and one standard
    (3, 4, 2, 3 + 12 + 3 * 1 * 2),
    (12, 15, 3, 12 + 180 + 12 * 5 * 3),
    (2, 6, 0, 2 + 12),
])
def test_a_synthetic_catalog_has_the_size_asked_for_and_round_trips(sections, per_section, children, expected):
    rows = catalog.synthetic_rows(sections, per_section, children)
    assert len(rows) == expected
    out = io.StringIO()
    catalog.write_csv(rows, out)
    parsed = catalog.parse(out.getvalue().encode(), name="synthetic.csv")
    assert [{k: r[k] for k in catalog.FIELDS} for r in parsed] == rows
    assert sum(1 for r in parsed if r["depth"] == 0) == sections


def test_no_field_of_the_bundled_catalog_ends_in_a_stray_separator():
    # 236 guidance texts ended in " |", shown on every standard page.
    rows = catalog.read_file(catalog.bundled_catalog_path())
    assert [(r["code"], field) for r in rows for field in catalog.FIELDS if r[field].rstrip().endswith("|")] == []
