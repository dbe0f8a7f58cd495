"""A year of inspections (bench/year.py) in small: the generator stores what
the app would hold, and the queries behind the pages, the pulls and a push
never read a whole table that grows with the year (their cost would then
grow every week the server runs)."""
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import year_data  # noqa: E402
from inspector.domain import audit, photos
from inspector.app import create_app
from tests import helpers as testing
from inspector.domain.db import connect, database_path  # noqa: E402
from sync import protocol  # noqa: E402

STANDARDS = year_data.SECTIONS * year_data.PER_SECTION


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """Three inspections of a year of four, built in two steps (2, then 3), as the benchmark builds its points."""
    folder = tmp_path_factory.mktemp("year") / "data"
    year_data.build(folder, 2, total=4, log=lambda _: None)
    year_data.build(folder, 3, total=4, log=lambda _: None)
    return folder


def test_the_generator_stores_a_year_as_the_app_would(year, tmp_path):
    assert year_data.built(year) == 3
    db = connect(database_path(year))
    try:
        q = db.conn.execute
        per_inspector = 2 * STANDARDS + 2 * year_data.PHOTOS
        for (inspection_id,) in q("SELECT id FROM inspections ORDER BY id"):
            by_user = dict(q("SELECT m.team_role, count(*) FROM ops o JOIN members m ON m.user_id = o.user_id "
                             "AND m.inspection_id = o.inspection_id WHERE o.inspection_id = ? "
                             "GROUP BY m.team_role", [inspection_id]).fetchall())
            assert by_user["inspector"] == year_data.TEAM * per_inspector
            assert by_user["lead"] >= STANDARDS  # a verdict and a basis on half the standards, some citations
            assert q("SELECT count(*) FROM findings WHERE inspection_id = ? AND verdict IS NOT NULL AND note != ''",
                     [inspection_id]).fetchone()[0] == year_data.TEAM * STANDARDS
            assert q("SELECT count(*) FROM decisions WHERE inspection_id = ?", [inspection_id]).fetchone()[0] \
                == STANDARDS // 2
            assert q("SELECT state FROM inspections WHERE id = ?", [inspection_id]).fetchone()[0] == "merging"
        assert q("SELECT count(*) FROM ops WHERE status != 'applied'").fetchone()[0] == 0
        # Photos: cleaned and stored by the hash they were sent under, each with its thumbnail.
        hashes = [r[0] for r in q("SELECT sha256 FROM finding_photos WHERE attached = 1")]
        assert len(set(hashes)) == 3 * year_data.TEAM * year_data.PHOTOS
        assert all(photos.blob_path(year, h).is_file() and photos.blob_path(year, h, thumb=True).is_file()
                   for h in hashes)
        assert q("SELECT count(*) FROM photos").fetchone()[0] == len(hashes)
        assert audit.verify(db).intact
        registers = {t: q(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall()
                     for t in ("findings", "finding_photos", "decisions", "photo_releases")}
    finally:
        db.conn.close()
    # State rebuilt from the log alone is the state the generator left.
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copyfile(database_path(year), database_path(copy))
    db = connect(database_path(copy))
    try:
        protocol.rebuild(db)
        assert {t: db.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in registers} \
            == registers
    finally:
        db.conn.close()


def test_the_scan_check_finds_a_scan(year):
    db = connect(database_path(year))
    try:
        assert testing.scans_of_big_tables(db.conn, "SELECT * FROM findings f WHERE f.note = 'x'") == ["SCAN f"]
        assert testing.scans_of_big_tables(db.conn, "SELECT * FROM audit ORDER BY id DESC LIMIT 1") == ["SCAN audit"]
        assert testing.scans_of_big_tables(db.conn, "SELECT * FROM findings WHERE inspection_id = 1") == []
        assert testing.scans_of_big_tables(db.conn, "SELECT * FROM standards WHERE text = 'x'") == []  # the catalog
    finally:
        db.conn.close()


def test_pages_pulls_and_pushes_read_no_whole_growing_table(year, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(year, data)
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})
    db = connect(database_path(data))
    try:
        inspection_id = db.conn.execute("SELECT id FROM inspections WHERE site_name = ?",
                                        [year_data.SITE.format(2)]).fetchone()[0]
        team = db.conn.execute("SELECT user_id, team_role FROM members WHERE inspection_id = ? ORDER BY user_id",
                               [inspection_id]).fetchall()
        inspector_id = next(r[0] for r in team if r[1] == "inspector")
        lead_id = next(r[0] for r in team if r[1] == "lead")
        sha = db.conn.execute("SELECT sha256 FROM finding_photos WHERE inspection_id = ? AND inspector_id = ? "
                              "AND attached = 1 LIMIT 1", [inspection_id, inspector_id]).fetchone()[0]
    finally:
        db.conn.close()
    inspector = testing.log_in_test_client(app.test_client(), inspector_id)
    lead = testing.log_in_test_client(app.test_client(), lead_id)
    i = inspection_id
    visits = [(inspector, f"/inspections/{i}"), (inspector, f"/inspections/{i}/sections/S5"),
              (inspector, f"/inspections/{i}/standards/S5.8"), (inspector, "/"), (lead, "/"),
              (inspector, f"/photos/{sha}?size=thumb"), (inspector, f"/inspections/{i}/offline-manifest"),
              (lead, f"/inspections/{i}/merge"), (lead, f"/inspections/{i}/merge?section=S3&only=disagreements"),
              (lead, f"/inspections/{i}/arrivals"), (lead, f"/inspections/{i}/history"),
              (lead, f"/inspections/{i}/review"), (lead, f"/inspections/{i}/report")]
    device = testing.seeded_device(1)
    ops = [device.op(i, f"S{n % 10 + 1}.{n % 15 + 1}", "verdict", "compliant") for n in range(30)]
    conn = testing.app_connection(app)
    with testing.statements_run(conn) as statements:
        for client, url in visits:
            assert client.get(url).status_code == 200, url
        for client in (inspector, lead):
            assert client.get(f"/sync/pull?inspection={i}&cursor=0", headers=testing.SYNC).status_code == 200
        answer = testing.push(inspector, ops).get_json()
    assert {r["status"] for r in answer["results"]} == {"applied"}
    assert len(statements) > 40
    scans = {sql: found for sql in statements if (found := testing.scans_of_big_tables(conn, sql))}
    assert scans == {}
