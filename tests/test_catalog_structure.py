"""The illustrative catalog reads as the published structure does, says
exactly how far it follows it, and replaces its first edition without
moving an inspection off the edition it was created on."""
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from inspector.domain import catalog, inspections, users
from inspector.domain.db import connect, database_path, transaction

REPO = Path(__file__).resolve().parents[1]
ROWS = catalog.read_file(catalog.bundled_catalog_path())
BY_CODE = {r["code"]: r for r in ROWS}
SECTIONS = {r["code"]: r["title"] for r in ROWS if not r["parent"]}
CODE_MAP = json.loads((REPO / "inspector/domain/catalogs/iec3_illustrative_v1_to_v2.json").read_text())


@pytest.mark.parametrize("code, title", [
    # The published pattern past section 5 (../shared/DOMAIN.md, "Structure of the standards").
    ("B6", "Patient evaluation, selection and consent"), ("B7", "Therapy administration"),
    ("B8", "Clinical research"), ("B9", "Data management"), ("B10", "Records"),
    ("C6", "Coding and labelling"), ("C7", "Process controls"), ("C8", "Storage"),
    ("C9", "Transport and shipping"), ("C10", "Records"),
    ("D6", "Coding and labelling"), ("D7", "Process controls"), ("D8", "Storage"),
    ("D9", "Transport and shipping"), ("D10", "Records"),
])
def test_sections_past_five_carry_the_published_topics(code, title):
    assert SECTIONS[code] == title


def test_no_section_is_numbered_past_the_published_pattern():
    assert sorted(SECTIONS, key=lambda c: (c[0], int(c[1:]))) == [
        f"{part}{n}" for part in "BCD" for n in range(1, 11)]


@pytest.mark.parametrize("code, topic", [
    ("B7.1", "Ordering the product from the manufacturer"), ("B7.2", "Lymphodepletion and infusion"),
    ("B7.3", "Toxicity management (CRS and ICANS)"), ("B7.4", "Monitoring and follow-up"),
    ("C7.3", "Starting material not collected by apheresis"),
    ("D7.4", "Chain of identity and chain of custody"),
])
def test_the_journeys_views_are_standards_under_a_published_section(code, topic):
    assert BY_CODE[code]["title"] == topic and BY_CODE[code]["parent"] == code.rsplit(".", 1)[0]


def all_text():
    return "\n".join(r[f] for r in ROWS for f in ("title", "text", "guidance"))


def test_the_slips_found_in_the_first_edition_are_gone():
    text = all_text()
    assert "marketing authorisation" not in text            # EU wording
    assert "licensed or authorised" in BY_CODE["B5.4"]["text"]
    tocilizumab = [r for r in ROWS if "tocilizumab" in r["text"].lower()]
    assert tocilizumab and not [r["code"] for r in tocilizumab if "on site" in r["text"]]
    assert "within the time the program's procedure sets" in BY_CODE["B7.2.11"]["text"]
    assert "requires can be given" not in text               # the garbled sentence
    assert "so that a dose can be given without delay" in BY_CODE["B7.3.4"]["text"]
    for code in ("C6.4", "D6.4"):
        assert "ISBT 128" in BY_CODE[code]["text"] and "Eurocode" in BY_CODE[code]["text"]
    assert "qualified person" not in text.lower()


def test_the_scope_covers_products_that_do_not_start_with_apheresis():
    assert "tumour tissue" in BY_CODE["B1.1"]["text"]
    assert "otherwise" in BY_CODE["C1.1"]["text"]
    assert "tumour-infiltrating lymphocytes" in BY_CODE["C7.3"]["text"]


def test_every_standard_of_the_first_edition_has_one_place_in_this_one():
    codes = CODE_MAP["codes"]
    assert CODE_MAP["to"] == catalog.ILLUSTRATIVE_EDITION
    assert CODE_MAP["from"] in catalog.EARLIER_ILLUSTRATIVE_EDITIONS
    assert len(codes) == 239 and len(set(codes.values())) == 239
    assert [new for new in codes.values() if new not in BY_CODE or not BY_CODE[new]["parent"]] == []
    # What is new in this edition: the views under the published sections, the
    # published sections with no counterpart before, and their standards.
    added = {r["code"] for r in ROWS if r["parent"]} - set(codes.values())
    assert added == {"B7.1", "B7.2", "B7.3", "B7.4", "B8.1", "B8.2", "B8.3", "B8.4", "B8.5", "B8.6",
                     "C6.4", "C7.1", "C7.2", "C7.3", "C8.1", "D7.1", "D7.2", "D7.3", "D7.4"}


def structure_table(path):
    return re.findall(r"^\| ([BCD]\d+) \| ([^|]+) \| ([^|]+) \| (\d+) \|$", path.read_text(), re.M)


def test_the_structure_doc_and_the_catalog_readme_say_what_the_file_holds():
    counts = Counter(r["code"].split(".")[0] for r in ROWS if r["parent"])
    expected = [(r["code"], r["title"], r["roles"].replace(";", ", "), str(counts[r["code"]]))
                for r in ROWS if not r["parent"]]
    assert structure_table(REPO / "docs/catalog-structure.md") == expected
    per_part = Counter()
    for code, n in counts.items():
        per_part[code[0]] += n
    total = (f"Total: {len(SECTIONS)} sections (B 10, C 10, D 10), {sum(counts.values())} standards "
             f"(B {per_part['B']}, C {per_part['C']}, D {per_part['D']}).")
    assert total in (REPO / "docs/catalog-structure.md").read_text()
    readme = (REPO / "inspector/domain/catalogs/README.md").read_text()
    for part, name in (("B", "clinical program"), ("C", "collection facility"), ("D", "processing facility")):
        assert f"{name}** (10 sections, {per_part[part]} standards)" in readme
    assert f"{len(SECTIONS)} sections and {sum(counts.values())} standards" in readme


# --- an install that holds the first edition ------------------------------------

FIRST_EDITION = catalog.EARLIER_ILLUSTRATIVE_EDITIONS[0]


def hold_the_first_edition(db):
    rows = catalog.parse(b"code,parent,title,text,guidance,roles\n"
                         b"B7,,Coordination with the manufacturer,,,clinical\n"
                         b"B7.1,B7,Written ordering procedure,Text.,Guidance.,clinical\n", name="v1.csv")
    old_id = catalog.import_rows(db, rows, FIRST_EDITION, "iec3_illustrative.csv", illustrative=True)
    admin = users.by_username(db, "admin")
    admin = admin["id"] if admin else users.create(db, "admin", "admin", "a long passphrase for the test")
    with transaction(db):
        inspection_id = inspections.create(db, "Old site", old_id, "2026-01-05", "2026-01-06", admin,
                                           device="cli", body="fact")
    return old_id, inspection_id


@pytest.fixture
def empty_db(data_dir):
    data_dir.mkdir(mode=0o700)
    db = connect(database_path(data_dir))
    yield db
    db.conn.close()


def test_an_install_holding_the_first_edition_gets_this_one_and_keeps_its_inspections(data_dir, empty_db, app_on):
    old_id, inspection_id = hold_the_first_edition(empty_db)
    db = app_on(data_dir).extensions["inspector_db_keeper"]
    editions = {e["edition"]: e for e in catalog.editions(db)}
    assert set(editions) == {FIRST_EDITION, catalog.ILLUSTRATIVE_EDITION}
    assert editions[catalog.ILLUSTRATIVE_EDITION]["standards"] == len([r for r in ROWS if r["parent"]])
    assert editions[catalog.ILLUSTRATIVE_EDITION]["illustrative"] == 1
    assert inspections.plain(db, inspection_id)["catalog_id"] == old_id  # the inspection keeps its edition
    app_on(data_dir)                                                       # a restart imports nothing more
    assert len(catalog.editions(db)) == 2
    imported = db.conn.execute("SELECT count(*) FROM audit WHERE action = 'catalog.imported'").fetchone()[0]
    assert imported == 2


def test_an_install_without_the_first_edition_gets_nothing_it_did_not_ask_for(data_dir, empty_db, app_on):
    app_on(data_dir)
    assert catalog.editions(empty_db) == []


def test_new_inspection_offers_this_edition_first_and_marks_the_first_superseded(db, as_user):
    # The demo holds the first edition (its program's earlier inspection), imported
    # after this one: the newest, yet not the one offered.
    assert catalog.edition_by_name(db, FIRST_EDITION)["id"] > catalog.edition_by_name(db, catalog.ILLUSTRATIVE_EDITION)["id"]
    html = as_user("admin").get("/inspections/new").get_data(as_text=True)
    options = re.findall(r'<option value="\d+"( selected)?>([^<]*)</option>', html)
    assert [label for selected, label in options if selected] == [
        f"{catalog.ILLUSTRATIVE_EDITION} ({len([r for r in ROWS if r['parent']])} standards)"]
    assert f"{FIRST_EDITION} (239 standards), superseded" in [label for _, label in options]
