"""Who sees what: an inspector sees only the inspections they are on and only
their own findings; team setup is for admins and the inspection's leader."""
import hashlib
import io

import pytest
from PIL import Image

from inspector.domain import inspections, team, users
from tests.helpers import SYNC, push

OTHER_SITE = "Southfield Children's Hospital (other)"


@pytest.fixture
def make_inspection(db, demo_inspection):
    """make_inspection(site, {username: (team_role, [sections])}) -> its id."""
    catalog_id = db.conn.execute("SELECT catalog_id FROM inspections WHERE id = ?", [demo_inspection]).fetchone()[0]

    def make(site, members):
        admin = users.by_username(db, "admin")["id"]
        inspection_id = inspections.create(db, site, catalog_id, "2026-03-02", "2026-03-04", admin)
        for username, (team_role, sections) in members.items():
            user_id = users.by_username(db, username)["id"]
            team.add_member(db, inspection_id, user_id, team_role)
            for code in sections:
                team.assign_section(db, inspection_id, code, user_id)
        return inspection_id
    return make


@pytest.fixture
def other(make_inspection):
    """An inspection inspector1 is not on; the demo lead is on it, but not as its leader."""
    return make_inspection(OTHER_SITE, {"inspector2": ("inspector", ["B1", "D3"]),
                                        "inspector3": ("lead", []),
                                        "lead": ("inspector", ["B2"])})


def photo_of(color):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "JPEG")
    raw = out.getvalue()
    return raw, hashlib.sha256(raw).hexdigest()


def counts(db):
    return [db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("ops", "findings", "finding_photos")]


# --- inspections you are not on do not exist for you -------------------------------

@pytest.mark.parametrize("username, sees_other", [("inspector1", False), ("inspector2", True), ("lead", True)])
def test_home_lists_only_my_inspections(as_user, other, username, sees_other):
    html = as_user(username).get("/").get_data(as_text=True)
    assert "Northbridge University Hospital" in html
    assert (OTHER_SITE.replace("'", "&#39;") in html) is sees_other


@pytest.mark.parametrize("path", ["", "/sections/B1", "/standards/B1.3", "/offline-manifest", "/jump?code=B1.3"])
def test_another_inspection_is_404_for_an_inspector_not_on_it(as_user, other, path):
    client = as_user("inspector1")
    assert client.get(f"/inspections/{other}{path}").status_code == 404
    assert client.get(f"/inspections/9999{path}").status_code == 404
    assert as_user("inspector2").get(f"/inspections/{other}{path}").status_code in (200, 302)


def test_pull_for_another_inspection_is_404(as_user, other):
    response = as_user("inspector1").get("/sync/pull", query_string={"inspection": other}, headers=SYNC)
    assert response.status_code == 404
    assert response.json["error"] == "no_such_inspection"


@pytest.mark.parametrize("mine_too", [False, True])
def test_pushing_to_another_inspection_is_403_and_writes_nothing(as_user, db, demo_inspection, other, device,
                                                                 mine_too):
    before = counts(db)
    ops = [device.op(other, "B1.1", "note", "Written where I am not on the team.")]
    if mine_too:
        ops.insert(0, device.op(demo_inspection, "B2.1", "verdict", "compliant"))
    response = push(as_user("inspector1"), ops)
    assert response.status_code == 403
    assert response.json["op_ids"] == [ops[-1]["op_id"]]
    assert counts(db) == before


def test_a_photo_on_another_inspection_is_404(as_user, other, device):
    owner = as_user("inspector2")
    raw, sha = photo_of("green")
    assert owner.put(f"/sync/photos/{sha}", data=raw, headers=SYNC).status_code == 201
    op = device.op(other, "D3.1", "photo", {"sha256": sha, "attached": True})
    assert push(owner, [op]).json["results"][0]["status"] == "applied"
    for query in ("", "?size=thumb"):
        assert owner.get(f"/photos/{sha}{query}").status_code == 200
        assert as_user("inspector3").get(f"/photos/{sha}{query}").status_code == 200  # its team leader
        assert as_user("inspector1").get(f"/photos/{sha}{query}").status_code == 404
        assert as_user("lead").get(f"/photos/{sha}{query}").status_code == 404  # on the team, not leader


# --- your findings are yours ------------------------------------------------------

@pytest.mark.parametrize("username, mine, theirs", [
    ("inspector1", "Organisational chart on the intranet names the director",
     "The chart in the quality manual is two versions behind"),
    ("inspector3", "The chart in the quality manual is two versions behind",
     "Organisational chart on the intranet names the director"),
])
def test_an_inspector_never_sees_another_inspectors_note(as_user, db, demo_inspection, username, mine, theirs):
    client = as_user(username)
    standard = client.get(f"/inspections/{demo_inspection}/standards/B1.3").get_data(as_text=True)
    assert mine in standard and theirs not in standard
    for path in ("", "/sections/B1", "/offline-manifest"):
        assert theirs not in client.get(f"/inspections/{demo_inspection}{path}").get_data(as_text=True)
    pulled = client.get("/sync/pull", query_string={"inspection": demo_inspection}, headers=SYNC).json
    assert theirs not in str(pulled)
    assert {f["inspector_id"] for f in pulled["findings"]} == {users.by_username(db, username)["id"]}


# --- team setup is for admins and the team leader -------------------------------------

@pytest.mark.parametrize("path", ["/inspections/new", "/inspections/{i}/team"])
def test_inspectors_may_not_set_up_inspections(as_user, db, demo_inspection, path):
    before = [tuple(r) for r in db.conn.execute("SELECT * FROM members ORDER BY 1, 2")]
    inspections_before = db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
    response = as_user("inspector1").post(
        path.format(i=demo_inspection),
        data={"site_name": "Mine now", "catalog_id": "1", "starts_on": "2026-01-01", "ends_on": "2026-01-02"})
    assert response.status_code == 403
    assert [tuple(r) for r in db.conn.execute("SELECT * FROM members ORDER BY 1, 2")] == before
    assert db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0] == inspections_before


def test_a_lead_manages_only_the_teams_they_lead(as_user, db, make_inspection, demo_inspection, other):
    elsewhere = make_inspection("Not on it at all", {"inspector1": ("inspector", ["B1"])})
    lead = as_user("lead")
    assert lead.get(f"/inspections/{demo_inspection}/team").status_code == 200
    before = [tuple(r) for r in db.conn.execute("SELECT * FROM members ORDER BY 1, 2")]
    for inspection_id in (other, elsewhere):
        assert lead.get(f"/inspections/{inspection_id}/team").status_code == 404
        lead_id = users.by_username(db, "lead")["id"]
        assert lead.post(f"/inspections/{inspection_id}/team",
                         data={f"member-{lead_id}": "lead"}).status_code == 404
    assert [tuple(r) for r in db.conn.execute("SELECT * FROM members ORDER BY 1, 2")] == before
