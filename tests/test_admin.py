"""Setting up an inspection: an admin or a lead creates it, picks the team and
assigns sections; the inspectors then find it on their home page."""
import re

import pytest

from inspector.domain import inspections, team, users

SITE = "Eastgate Medical Centre, cell therapy unit"


def new_inspection(client, **form):
    data = {"program_name": SITE, "catalog_id": "1", "starts_on": "2026-05-04", "ends_on": "2026-05-06", "body": "fact",
            "kind": "internal" if form.get("body") == "internal" else "initial"}
    return client.post("/inspections/new", data={**data, **form})


def user_id(db, username):
    return users.by_username(db, username)["id"]


def my_sections(html):
    mine = html.split("<summary>Other sections</summary>")[0]
    return re.findall(r'<li class="section-row" data-section="([^"]+)"', mine)


def test_admin_creates_an_inspection_and_sets_its_team(as_user, db):
    admin = as_user("admin")
    response = new_inspection(admin)
    assert response.status_code == 302
    inspection_id = int(re.fullmatch(r"/inspections/(\d+)/team", response.location).group(1))

    i1, i2, lead = user_id(db, "inspector1"), user_id(db, "inspector2"), user_id(db, "lead")
    response = admin.post(f"/inspections/{inspection_id}/team", data={
        f"member-{lead}": "lead",
        f"member-{i1}": "inspector", f"assign-{i1}-B3": "1", f"assign-{i1}-C1": "1",
        f"member-{i2}": "", f"assign-{i2}-D1": "1",  # not on the team: the ticked box is ignored
    })
    assert response.status_code == 302
    assert "Team and sections saved." in admin.get(response.location).get_data(as_text=True)
    assert team.assignments(db, inspection_id) == {"B3": ["inspector1"], "C1": ["inspector1"]}

    inspector1 = as_user("inspector1")
    assert SITE in inspector1.get("/").get_data(as_text=True)
    page = inspector1.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    assert my_sections(page) == ["B3", "C1"]
    assert as_user("inspector2").get(f"/inspections/{inspection_id}").status_code == 404
    assert as_user("lead").get(f"/inspections/{inspection_id}/team").status_code == 200


def test_the_team_page_shows_who_is_on_the_team_and_what_they_cover(as_user, db, demo_inspection):
    html = as_user("admin").get(f"/inspections/{demo_inspection}/team").get_data(as_text=True)
    i2 = user_id(db, "inspector2")
    selected = re.search(rf'<select id="member-{i2}".*?</select>', html, re.S).group(0)
    assert re.search(r'<option value="inspector" selected>', selected)
    ticked = set(re.findall(rf'name="assign-{i2}-([^"]+)"[^>]*\schecked>', html))
    assert ticked == {"C6", "C7", "C8", "C9", "D6", "D7", "D8", "D9"}
    assert f'name="member-{user_id(db, "admin")}"' not in html


def test_a_lead_who_creates_an_inspection_leads_its_team(as_user, db):
    lead = as_user("lead")
    response = new_inspection(lead)
    assert response.status_code == 302
    inspection_id = int(response.location.split("/")[2])
    assert lead.get(response.location).status_code == 200
    assert [(m["username"], m["team_role"]) for m in team.members(db, inspection_id)] == [("lead", "lead")]
    assert SITE in lead.get("/").get_data(as_text=True)


def test_taking_an_inspector_off_the_team_takes_away_the_inspection(as_user, db, demo_inspection):
    form = {f"member-{m['id']}": m["team_role"] for m in team.members(db, demo_inspection)}
    form[f"member-{user_id(db, 'inspector1')}"] = ""
    assert as_user("lead").post(f"/inspections/{demo_inspection}/team", data=form).status_code == 302
    assert as_user("inspector1").get(f"/inspections/{demo_inspection}").status_code == 404
    assert as_user("lead").get(f"/inspections/{demo_inspection}/team").status_code == 200


@pytest.mark.parametrize("form, message", [
    ({"program_name": ""}, "Give the program&#39;s name."),
    ({"program_name": "   "}, "Give the program&#39;s name."),
    ({"starts_on": "2026-13-01"}, "Give the first and last day as dates."),
    ({"ends_on": ""}, "Give the first and last day as dates."),
    ({"starts_on": "next monday"}, "Give the first and last day as dates."),
    ({"starts_on": "2026-05-06", "ends_on": "2026-05-04"}, "The last day comes before the first."),
    ({"catalog_id": "999"}, "Choose a checklist edition."),
])
def test_bad_input_is_refused_with_a_message(as_user, db, form, message):
    before = db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
    response = new_inspection(as_user("admin"), **form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0] == before


def test_bad_input_keeps_what_was_typed(as_user):
    html = new_inspection(as_user("admin"), ends_on="2026-01-01").get_data(as_text=True)
    assert f'value="{SITE}"' in html and 'value="2026-05-04"' in html


def test_every_link_on_the_admins_home_page_works(as_user, demo_inspection):
    admin = as_user("admin")
    html = admin.get("/").get_data(as_text=True)
    links = set(re.findall(r'href="(/[^"]*)"', html)) - {"/"}
    assert f"/inspections/{demo_inspection}/team" in links
    for link in links:
        if not link.startswith(("/static/", "/manifest")):
            assert admin.get(link).status_code == 200, link


def test_the_new_inspection_form_sent_twice_creates_one_inspection(as_user, db):
    admin = as_user("admin")
    form = admin.get("/inspections/new").get_data(as_text=True)
    request_id = re.search(r'name="request_id" value="([0-9a-f]{32})"', form).group(1)
    before = db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
    first = new_inspection(admin, request_id=request_id)
    again = new_inspection(admin, request_id=request_id)  # a double tap, or a resend after a lost answer
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    assert db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0] == before + 1


@pytest.mark.parametrize("body, scale, expected_scale", [
    ("fact", "jacie", "fact"),        # FACT's three verdicts, whatever the scale field says
    ("jacie", "fact", "jacie"),       # JACIE's four
    ("internal", "jacie", "jacie"),   # an internal audit chooses
    ("internal", "fact", "fact"),
])
def test_the_accrediting_body_sets_the_scale_and_the_words(as_user, db, body, scale, expected_scale):
    admin = as_user("admin")
    response = new_inspection(admin, body=body, scale=scale)
    inspection_id = int(re.fullmatch(r"/inspections/(\d+)/team", response.location).group(1))
    row = inspections.plain(db, inspection_id)
    assert (row["body"], row["scale"]) == (body, expected_scale)
    # The new inspection's pages speak its body's words and offer its scale.
    lead = as_user("admin")
    html = lead.get(f"/inspections/{inspection_id}/standards/B1.1").get_data(as_text=True)
    labels = {"fact": "Not compliant", "jacie": "Partially compliant"}
    assert labels[expected_scale] in html
    if expected_scale == "fact":
        assert "Partially compliant" not in html


@pytest.mark.parametrize("form, message", [
    ({"body": ""}, "Choose the accrediting body"),
    ({"body": "iso"}, "Choose the accrediting body"),
    ({"body": "internal", "scale": "other"}, "Choose the verdict scale of the internal audit"),
])
def test_a_missing_body_or_scale_is_said_next_to_the_form(as_user, db, form, message):
    before = db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
    response = new_inspection(as_user("admin"), **form)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.conn.execute("SELECT count(*) FROM inspections").fetchone()[0] == before


def test_existing_inspections_keep_facts_words_and_their_editions_scale(db, demo_inspection):
    row = inspections.plain(db, demo_inspection)
    assert (row["body"], row["scale"]) == ("fact", "fact")
