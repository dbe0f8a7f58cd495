"""Checklists in the browser: an admin lists the editions, uploads a file,
sees a preview (or every problem with its line) before anything is stored,
then imports it all or nothing, audited. The bundled illustrative file stays
illustrative however it is imported."""
import io
import json
import re
from pathlib import Path

import pytest

from inspector.domain import catalog, checklist_uploads, users
from inspector.domain.db import connect, database_path
from tests.helpers import log_in_test_client

HEADER = "code,parent,title,text,guidance,roles"
GOOD = "\n".join([HEADER, "A1,,Scope,,,clinical", "A1.1,A1,Director,The director leads.,,clinical",
                  "A1.2,A1,Deputy,,,quality", "B1,,Quality,,,quality", "B1.1,B1,Manual,,,quality"]) + "\n"
# Bad on lines 3, 5 and 6 (line 4 is fine; line 7 is a child of a bad row, not reported again).
BAD = "\n".join([HEADER, "A1,,Scope,,,clinical", "A1.1,A9,Director,,,clinical", "A1.2,A1,Deputy,,,quality",
                 "A1.3,A1,,,,quality", "A1 4,A1,Spaced,,,nursing", "A1.4.1,A1 4,Child,,,quality"]) + "\n"


def counts(db):
    return [db.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("catalogs", "standards", "audit")]


def upload(client, raw, filename="iec.csv", edition="FACT-JACIE 8th edition", scale="jacie"):
    return client.post("/checklists/import", data={"file": (io.BytesIO(raw), filename), "edition": edition,
                                                   "scale": scale}, content_type="multipart/form-data")


def confirm_fields(html):
    """The hidden fields of the preview's Import form."""
    return {name: value for name, value in re.findall(r'<input type="hidden" name="(upload|filename)" value="([^"]*)"',
                                                     html)}


def test_the_list_shows_each_edition_with_its_text_scale_standards_and_inspections(as_user, db):
    html = as_user("admin").get("/checklists").get_data(as_text=True)
    row = html.split(f"<th scope=\"row\">{catalog.ILLUSTRATIVE_EDITION}</th>")[1].split("</tr>")[0]
    standards = catalog.count_standards(db, catalog.edition_by_name(db, catalog.ILLUSTRATIVE_EDITION)["id"])
    used = db.conn.execute("SELECT count(*) FROM inspections i JOIN catalogs c ON c.id = i.catalog_id "
                           "WHERE c.edition = ?", [catalog.ILLUSTRATIVE_EDITION]).fetchone()[0]
    assert used >= 1
    assert re.findall(r"<td>([^<]*)</td>", row) == [
        "Illustrative (not the official text: reports say so)", "FACT", str(standards), str(used)]
    assert 'href="/checklists/import"' in html


@pytest.mark.parametrize("username", ["lead", "inspector1"])
def test_only_admins_manage_checklists(as_user, db, username):
    before = counts(db)
    client = as_user(username)
    assert client.get("/checklists").status_code == 403
    assert client.get("/checklists/import").status_code == 403
    assert upload(client, GOOD.encode()).status_code == 403
    assert 'href="/checklists"' not in client.get("/").get_data(as_text=True)
    assert counts(db) == before


def test_a_good_file_is_previewed_then_imported_with_its_audit_record(as_user, db, app):
    admin = as_user("admin")
    before = counts(db)
    response = upload(admin, GOOD.encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # The preview: sections with their standards, the count, the first rows; nothing stored yet.
    assert "<strong>3 standards</strong> in 2 sections" in html
    assert re.findall(r'<tr><th scope="row">(\w+)</th><td>(\w+)</td><td>(\d+)</td></tr>', html) == [
        ("A1", "Scope", "2"), ("B1", "Quality", "1")]
    assert "The first 5 of 5 rows" in html and "The director leads" not in html  # the text is not the preview's
    assert counts(db) == before
    fields = confirm_fields(html)
    assert fields["filename"] == "iec.csv"
    # The file waits in the data folder under its hash (another server process reads it there).
    assert checklist_uploads.read(app.config["DATA_DIR"], fields["upload"]) == GOOD.encode()

    done = admin.post("/checklists/import/confirm", data={**fields, "edition": "FACT-JACIE 8th edition",
                                                          "scale": "jacie"})
    assert done.status_code == 302 and done.location.endswith("/checklists")
    edition = catalog.edition_by_name(db, "FACT-JACIE 8th edition")
    assert (edition["scale"], edition["illustrative"], edition["source"]) == ("jacie", 0, "iec.csv")
    assert catalog.count_standards(db, edition["id"]) == 3
    record = db.conn.execute("SELECT * FROM audit WHERE action = 'catalog.imported' ORDER BY id DESC").fetchone()
    admin_id = users.by_username(db, "admin")["id"]
    assert (record["user_id"], record["device"], record["subject"]) == (admin_id, "web", "FACT-JACIE 8th edition")
    assert json.loads(record["after"])["rows"] == 5
    assert checklist_uploads.read(app.config["DATA_DIR"], fields["upload"]) is None  # done with
    listed = admin.get("/checklists").get_data(as_text=True)
    assert "Imported 3 standards as the edition “FACT-JACIE 8th edition”." in listed
    assert '<th scope="row">FACT-JACIE 8th edition</th>' in listed


def test_a_file_with_several_bad_lines_names_every_line_beside_the_file_and_stores_nothing(as_user, db, app):
    before = counts(db)
    response = upload(as_user("admin"), BAD.encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    listed = html.split('id="file-problems"')[1].split("</ol>")[0]
    problems = re.findall(r"<li>(iec\.csv: line \d+: [^<]*)</li>", listed)
    assert [p.split(": ")[1] for p in problems] == ["line 3", "line 5", "line 6", "line 6"]
    assert "unknown parent A9 for A1.1" in problems[0] and "missing title for A1.3" in problems[1]
    assert "may not contain spaces" in problems[2] and "unknown role &#39;nursing&#39;" in problems[3]
    assert "Nothing was stored: the file has 4 problems" in html
    # Beside the file control, which names them for a screen reader.
    assert 'aria-describedby="file-error file-problems"' in html.split('id="file"')[1].split(">")[0]
    assert "Import " not in html.split('id="file"')[1]  # no import button: there is nothing to import
    assert counts(db) == before
    kept = Path(app.config["DATA_DIR"]) / checklist_uploads.FOLDER
    assert not kept.exists() or not any(kept.iterdir())  # a refused file is not kept either


def test_every_problem_is_reported_not_only_the_first():
    raw = (BAD + "A1.2,A1,Again,,,clinical\n").encode()
    with pytest.raises(catalog.CatalogError) as caught:
        catalog.parse(raw, name="x.csv")
    assert [p.split(": ")[1] for p in caught.value.problems] == ["line 3", "line 5", "line 6", "line 6", "line 8"]
    assert "duplicate code A1.2 (first at line 4)" in caught.value.problems[-1]
    # A JSON file: its indexes, a wrong object and a wrong row both.
    items = [{"code": "A1", "title": "Scope"}, "A1.1", {"code": "A1.2", "parent": "A1", "title": "", "owner": "me"}]
    with pytest.raises(catalog.CatalogError) as caught:
        catalog.parse(json.dumps(items).encode(), json_format=True, name="x.json")
    assert caught.value.problems == ["x.json: index 1: expected an object, found str",
                                     "x.json: index 2: unknown key(s) owner"]


@pytest.mark.parametrize("raw, filename, problem", [
    (b"%PDF-1.7 not a checklist", "checklist.pdf", "“checklist.pdf” is not a CSV or JSON file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.csv", "line 1: bad encoding"),
    (b"[{\"code\": ", "checklist.json", "line 1: not valid JSON"),
    (b"", "empty.csv", "the file is empty"),
], ids=["not csv or json", "binary named csv", "broken json", "empty"])
def test_a_file_that_is_not_a_checklist_is_refused_beside_the_file_control(as_user, db, raw, filename, problem):
    before = counts(db)
    response = upload(as_user("admin"), raw, filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    beside = html.split('id="file"')[1].split('for="edition"')[0]
    assert problem in beside, beside
    assert counts(db) == before


def test_an_oversize_file_is_refused_unread(new_app, tmp_path):
    app = new_app(tmp_path / "data", CHECKLIST_MAX_BYTES=1024)
    db = connect(database_path(app.config["DATA_DIR"]))
    client = log_in_test_client(app.test_client(), users.by_username(db, "admin")["id"])
    before = counts(db)
    big = (GOOD + "".join(f"B1.{n},B1,Standard {n},,,quality\n" for n in range(2, 60))).encode()
    assert len(big) > 1024
    response = upload(client, big)
    assert response.status_code == 400
    assert "The file is larger than 1 KB" in response.get_data(as_text=True).split('id="file"')[1]
    assert counts(db) == before
    assert upload(client, GOOD.encode()).status_code == 200  # under the limit: previewed


def test_a_taken_name_is_refused_beside_its_field_at_preview_and_at_import(as_user, db):
    admin = as_user("admin")
    taken = catalog.ILLUSTRATIVE_EDITION
    response = upload(admin, GOOD.encode(), edition=taken)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    beside = html.split('id="edition"')[1].split('for="scale"')[0]
    assert f"An edition named “{taken}” is already imported" in beside
    assert 'aria-describedby="edition-error edition-hint"' in html.split('id="edition"')[1].split(">")[0]
    # The file itself was fine: its preview is there, and a new name imports it.
    fields = confirm_fields(html)
    before = counts(db)
    again = admin.post("/checklists/import/confirm", data={**fields, "edition": taken, "scale": "fact"})
    assert again.status_code == 400 and "is already imported" in again.get_data(as_text=True)
    assert counts(db) == before
    assert admin.post("/checklists/import/confirm", data={**fields, "edition": "Ours", "scale": "fact"}
                      ).status_code == 302
    assert catalog.edition_by_name(db, "Ours")["scale"] == "fact"


def test_an_import_of_a_file_no_longer_kept_asks_for_the_file_again(as_user, db):
    before = counts(db)
    response = as_user("admin").post("/checklists/import/confirm", data={
        "upload": "0" * 64, "filename": "iec.csv", "edition": "X", "scale": "fact"})
    assert response.status_code == 400
    assert "no longer on the server" in response.get_data(as_text=True).split('id="file"')[1]
    assert counts(db) == before


@pytest.fixture
def bare(app_on, tmp_path):
    """An install with no checklist yet and one admin: (client, db)."""
    app = app_on(tmp_path / "bare")
    db = connect(database_path(app.config["DATA_DIR"]))
    admin = users.create(db, "ada", "admin", "a-long-enough-password", "Ada Admin")
    yield log_in_test_client(app.test_client(), admin), db
    db.conn.close()


@pytest.mark.parametrize("edition", [catalog.ILLUSTRATIVE_EDITION, "Our copy of the bundled checklist"])
def test_the_bundled_file_stays_illustrative_however_it_is_named(bare, edition):
    client, db = bare
    raw = catalog.bundled_catalog_path().read_bytes()
    html = upload(client, raw, "iec3_illustrative.csv", edition=edition, scale="fact").get_data(as_text=True)
    assert "the illustrative checklist that ships with the app" in html
    assert client.post("/checklists/import/confirm", data={**confirm_fields(html), "edition": edition,
                                                          "scale": "fact"}).status_code == 302
    assert catalog.edition_by_name(db, edition)["illustrative"] == 1
    # The report's disclaimer is read from the flag.
    assert "Illustrative (not the official text" in client.get("/checklists").get_data(as_text=True)


def test_another_file_under_the_illustrative_name_is_marked_illustrative_and_ours_is_not(bare):
    client, db = bare
    for edition, filename in ((catalog.ILLUSTRATIVE_EDITION, "theirs.csv"), ("Licensed edition", "licensed.csv")):
        html = upload(client, GOOD.encode(), filename, edition=edition).get_data(as_text=True)
        client.post("/checklists/import/confirm", data={**confirm_fields(html), "edition": edition, "scale": "fact"})
    assert catalog.edition_by_name(db, catalog.ILLUSTRATIVE_EDITION)["illustrative"] == 1
    assert catalog.edition_by_name(db, "Licensed edition")["illustrative"] == 0


def test_the_command_line_keeps_the_bundled_files_illustrative_flag(tmp_path):
    db = connect(database_path(tmp_path))
    catalog.import_file(db, catalog.bundled_catalog_path(), catalog.ILLUSTRATIVE_EDITION)
    catalog.import_file(db, catalog.bundled_catalog_path(), "renamed")
    assert [(r["edition"], r["illustrative"]) for r in catalog.editions(db)] == [
        (catalog.ILLUSTRATIVE_EDITION, 1), ("renamed", 1)]
