"""Programs in the app: `New inspection` picks a program or makes one (its
city, country and facilities) and an inspection type; the program's page
lists its inspections over the years, for those who may see it."""
import re
from datetime import date, timedelta

import pytest

from inspector.domain import inspections, programs, team, users

PROGRAM = "Harbourside Children's Hospital, cell therapy program"


def new_inspection(client, **form):
    data = {"program_id": "new", "program_name": PROGRAM, "city": "Porto", "country": "Portugal",
            "facility-clinical": ["Ward 5 (adults)", "", "Ward 9 (children)"],
            "facility-collection": ["Apheresis unit"], "facility-processing": [""],
            "kind": "initial", "catalog_id": "1", "starts_on": "2026-05-04", "ends_on": "2026-05-06", "body": "fact"}
    return client.post("/inspections/new", data={**data, **form})


def created(response):
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.fullmatch(r"/inspections/(\d+)/team", response.location).group(1))


def test_a_new_program_is_made_with_its_facilities_and_names_the_inspection(as_user, db):
    inspection_id = created(new_inspection(as_user("admin")))
    ins = inspections.plain(db, inspection_id)
    program = programs.get(db, ins["program_id"])
    assert (ins["site_name"], ins["kind"]) == (PROGRAM, "initial")
    assert (program["name"], program["city"], program["country"]) == (PROGRAM, "Porto", "Portugal")
    # Empty rows are rows the program does not have.
    assert [(f["kind"], f["name"]) for f in programs.facilities(db, program["id"])] == [
        ("clinical", "Ward 5 (adults)"), ("clinical", "Ward 9 (children)"), ("collection", "Apheresis unit")]
    assert db.conn.execute("SELECT count(*) FROM audit WHERE action = 'program.created' AND subject = ?",
                           [PROGRAM]).fetchone()[0] == 1


def test_the_form_offers_facility_rows_of_every_kind_and_several_clinical_units(as_user):
    html = as_user("lead").get("/inspections/new").get_data(as_text=True)
    for kind, rows in (("clinical", 3), ("collection", 1), ("processing", 1)):
        assert len(re.findall(rf'<input id="facility-{kind}-\d" name="facility-{kind}"', html)) == rows
    kinds = re.search(r'<select id="kind".*?</select>', html, re.S).group(0)
    assert re.findall(r">([^<]+)</option>", kinds) == ["Initial", "Renewal", "Interim audit", "Focused",
                                                        "Internal audit"]


def test_a_renewal_of_an_existing_program_joins_its_history(as_user, db, demo_inspection):
    admin = as_user("admin")
    demo = inspections.plain(db, demo_inspection)
    renewal = created(new_inspection(admin, program_id=str(demo["program_id"]), program_name="", kind="renewal",
                                     starts_on="2029-03-01", ends_on="2029-03-02"))
    ins = inspections.plain(db, renewal)
    assert (ins["program_id"], ins["site_name"], ins["kind"]) == (demo["program_id"], demo["site_name"], "renewal")
    page = admin.get(f"/programs/{demo['program_id']}").get_data(as_text=True)
    rows = re.findall(r'<tr data-inspection="(\d+)">(.*?)</tr>', page, re.S)
    assert [int(i) for i, _ in rows] == [renewal, demo_inspection]  # newest first
    assert "Renewal" in rows[0][1] and "Preparing" in rows[0][1] and "2029-03-01 to 2029-03-02" in rows[0][1]
    assert f'href="/inspections/{renewal}"' in rows[0][1]
    assert "Initial" in rows[1][1] and "Merging findings" in rows[1][1]


@pytest.mark.parametrize("days, state", [(1, "preparing"), (30, "preparing"), (0, "on_site"), (-3, "on_site")])
def test_an_inspection_whose_first_day_is_ahead_starts_in_preparing(as_user, db, days, state):
    first = date.today() + timedelta(days=days)
    inspection_id = created(new_inspection(as_user("lead"), starts_on=first.isoformat(),
                                           ends_on=(first + timedelta(days=2)).isoformat()))
    assert inspections.plain(db, inspection_id)["state"] == state


@pytest.mark.parametrize("kind, body", [("internal", "fact"), ("internal", "jacie"), ("renewal", "internal"),
                                        ("initial", "internal")])
def test_a_type_that_does_not_go_with_the_body_is_refused_beside_the_type(as_user, db, kind, body):
    before = db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
    response = new_inspection(as_user("admin"), kind=kind, body=body)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    control = re.search(r'<select id="kind"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and "kind-error" in control
    assert re.search(r'<p class="error" id="kind-error">An internal audit goes with the accrediting body '
                     r'Internal audit', html)
    assert db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0] == before
    assert programs.by_name(db, PROGRAM) is None  # nor the program


def test_an_internal_audit_with_the_internal_body_is_made(as_user, db):
    inspection_id = created(new_inspection(as_user("admin"), kind="internal", body="internal", scale="jacie"))
    assert (inspections.plain(db, inspection_id)["kind"], inspections.plain(db, inspection_id)["body"]) == (
        "internal", "internal")


def test_the_data_layer_refuses_a_mismatch_too(db):
    admin = users.by_username(db, "admin")["id"]
    with pytest.raises(ValueError, match="internal audit"):
        inspections.create(db, "Anywhere", 1, "2026-01-01", "2026-01-02", admin, kind="internal", body="fact")


@pytest.mark.parametrize("form, field, message", [
    ({"program_name": ""}, "program_name", "Give the program&#39;s name."),
    ({"program_id": "99999"}, "program_id", "Choose a program from the list, or a new program."),
    ({"program_id": "first"}, "program_id", "Choose a program from the list, or a new program."),
    ({"kind": "yearly"}, "kind", "Choose the inspection type."),
])
def test_bad_program_input_is_refused_beside_its_field(as_user, db, form, field, message):
    response = new_inspection(as_user("admin"), **form)
    assert response.status_code == 400
    assert f'<p class="error" id="{field}-error">{message}</p>' in response.get_data(as_text=True)


def test_a_new_program_may_not_take_the_name_of_one_that_exists(as_user, db, demo_inspection):
    name = inspections.plain(db, demo_inspection)["site_name"]
    before = db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
    response = new_inspection(as_user("admin"), program_name=name)
    assert response.status_code == 400
    assert "choose it in the list" in response.get_data(as_text=True)
    assert db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0] == before


def test_the_program_page_shows_its_facts_and_the_inspection_links_to_it(as_user, db):
    lead = as_user("lead")
    inspection_id = created(new_inspection(lead))
    program_id = inspections.plain(db, inspection_id)["program_id"]
    assert f'href="/programs/{program_id}"' in lead.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    page = lead.get(f"/programs/{program_id}").get_data(as_text=True)
    for fact in ("Porto", "Portugal", "Clinical unit: Ward 5 (adults)", "Clinical unit: Ward 9 (children)",
                 "Collection facility: Apheresis unit"):
        assert fact in page
    assert "Processing facility" not in page


def test_a_team_member_sees_the_program_of_their_inspection_and_an_outsider_gets_404(as_user, db, demo_inspection):
    program_id = inspections.plain(db, demo_inspection)["program_id"]
    assert as_user("inspector1").get(f"/programs/{program_id}").status_code == 200
    admin = users.by_username(db, "admin")["id"]
    outsider = users.create(db, "inspector9", "inspector", "x-long-password", "Otto Outside")
    elsewhere = inspections.create(db, "Elsewhere", 1, "2026-01-01", "2026-01-02", admin)
    team.add_member(db, elsewhere, outsider, "inspector")
    client = as_user("inspector9")
    assert client.get(f"/programs/{program_id}").status_code == 404
    assert client.get(f"/programs/{inspections.plain(db, elsewhere)['program_id']}").status_code == 200
    assert client.get("/programs").status_code == 403
    assert as_user("admin").get("/programs/99999").status_code == 404


def test_the_programs_list_names_every_program_for_admins_and_leads(as_user, db, demo_inspection):
    created(new_inspection(as_user("admin")))
    for who in ("admin", "lead"):
        page = as_user(who).get("/programs").get_data(as_text=True)
        names = re.findall(r'<th scope="row"><a href="/programs/\d+">([^<]+)</a>', page)
        assert PROGRAM.replace("'", "&#39;") in names
        assert inspections.plain(db, demo_inspection)["site_name"] in names
