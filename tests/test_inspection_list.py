"""The home list at an office's size: search by program or site, filter by
stage and year through the address (a plain form, no script), archived
inspections out of the way, and the same few queries however many cards."""
import re

import pytest

from inspector.domain import access, inspections, users
from tests.helpers import app_connection, many_inspections, statements_run


@pytest.fixture
def office(db):
    """14 inspections (each stage twice, over three years) led by the demo's
    lead with inspector1 on each: {"ids", "lead", "inspector"}."""
    lead, inspector = (users.by_username(db, u)["id"] for u in ("lead", "inspector1"))
    admin = users.by_username(db, "admin")["id"]
    return {"ids": many_inspections(db, 14, admin, lead, inspector), "lead": lead, "inspector": inspector}


def listed(client, **query):
    """The site names of the home cards, in order."""
    html = client.get("/", query_string=query).get_data(as_text=True)
    return re.findall(r'<a class="card-link" href="[^"]+">([^<]+)</a>', html)


def test_search_finds_by_program_name_city_or_site_name_every_word(as_user, db, office):
    lead = as_user("lead")
    assert listed(lead, q="program 007") == ["Program 007 Hospital"]
    assert listed(lead, q="City 12") == ["Program 012 Hospital"]  # the program's city
    # Renamed program: its inspection is found by the program's new name and its own.
    db.conn.execute("UPDATE programs SET name = 'Northfield BMT' WHERE name = 'Program 003 Hospital'")
    assert listed(lead, q="northfield") == ["Program 003 Hospital"]
    assert listed(lead, q="003 hospital") == ["Program 003 Hospital"]
    assert listed(lead, q="northfield 004") == []  # every word must match
    assert listed(lead, q="50%") == [] and listed(lead, q="_") == []  # LIKE's wildcards are searched as typed


def test_filters_by_stage_and_year_ride_in_the_address(as_user, office):
    lead = as_user("lead")
    in_corrections = listed(lead, stage="corrections", q="Program")  # the demo's own is in its corrections too
    assert sorted(in_corrections) == ["Program 005 Hospital", "Program 012 Hospital"]
    assert listed(lead, stage="corrections", year="2026", q="Program") == ["Program 005 Hospital"]
    assert listed(lead, stage="corrections", year="2026", q="012") == []
    html = lead.get("/?stage=corrections&year=2026&q=Program").get_data(as_text=True)
    # The form shows what the address asked: a reload or a shared link lists the same.
    assert '<option value="corrections" selected>' in html and '<option value="2026" selected>' in html
    assert 'name="q" type="search" value="Program"' in html and 'method="get"' in html
    # Unknown values are ignored, not an error.
    assert len(listed(lead, stage="nonsense", year="20x6")) == len(listed(lead))


def test_each_card_shows_its_stage_next_deadline_and_my_sections(as_user, office):
    html = as_user("inspector1").get("/", query_string={"q": "Program 001"}).get_data(as_text=True)
    card = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split('class="card"')[1].split("</li>")[0]))
    assert "On site" in card
    assert "Your findings complete, due" in card and "(owed by you)" in card  # the role's own words
    assert "2 sections assigned to me" in card


def test_a_closed_inspection_is_archived_out_of_the_list_and_brought_back(as_user, db, office):
    lead = as_user("lead")
    closed = [i for i in office["ids"] if inspections.plain(db, i)["state"] == "closed"][0]
    name = inspections.plain(db, closed)["site_name"]
    assert name in listed(lead) and name not in listed(lead, stage="archived")
    response = lead.post(f"/inspections/{closed}/archive", data={"archived": "1", "q": "Hospital"})
    assert response.status_code == 302 and response.location == "/?q=Hospital"
    assert name not in listed(lead) and name not in listed(lead, stage="closed")
    assert listed(lead, stage="archived") == [name]
    assert name not in listed(as_user("admin")) and name in listed(as_user("admin"), stage="archived")
    html = lead.get("/?stage=archived").get_data(as_text=True)
    assert "Bring back to the list" in html and '<span class="badge">Archived</span>' in html
    assert lead.post(f"/inspections/{closed}/archive", data={"archived": "0", "stage": "archived"}
                     ).location == "/?stage=archived"
    assert name in listed(lead)
    trail = db.conn.execute("SELECT action, user_id FROM audit WHERE inspection_id = ? AND action LIKE "
                            "'inspection.%archived' ORDER BY id", [closed]).fetchall()
    assert [tuple(r) for r in trail] == [("inspection.archived", office["lead"]),
                                         ("inspection.unarchived", office["lead"])]
    history = lead.get(f"/inspections/{closed}/history").get_data(as_text=True)
    assert "archived the inspection" in history and "brought the inspection back from the archive" in history


def test_only_a_closed_inspection_is_archived_and_only_by_its_lead_or_an_admin(as_user, db, office):
    open_one = [i for i in office["ids"] if inspections.plain(db, i)["state"] == "on_site"][0]
    closed = [i for i in office["ids"] if inspections.plain(db, i)["state"] == "closed"][0]
    response = as_user("lead").post(f"/inspections/{open_one}/archive", data={"archived": "1"}, follow_redirects=True)
    assert "is not closed: only a closed inspection is archived" in response.get_data(as_text=True)
    assert inspections.plain(db, open_one)["archived"] == 0
    assert as_user("inspector1").post(f"/inspections/{closed}/archive", data={"archived": "1"}).status_code == 403
    assert inspections.plain(db, closed)["archived"] == 0
    # The card offers it only where it is allowed.
    assert "Archive Program" not in as_user("inspector1").get("/").get_data(as_text=True)
    assert f'aria-label="Archive {inspections.plain(db, closed)["site_name"]}"' in \
        as_user("lead").get("/").get_data(as_text=True)
    assert access.can_archive({"role": "admin"}, {"team_role": None, "state": "closed"})


def home_statements(client, app):
    with statements_run(app_connection(app)) as statements:
        assert client.get("/").status_code == 200
    return statements


@pytest.mark.parametrize("username", ["lead", "admin", "inspector1"])
def test_the_home_page_runs_the_same_queries_for_7_or_21_inspections(as_user, app, db, username):
    """No query per card: 14 more inspections, in every stage (live links,
    corrections awaiting review), add no statement to the home page."""
    lead, inspector, admin = (users.by_username(db, u)["id"] for u in ("lead", "inspector1", "admin"))
    client = as_user(username)
    many_inspections(db, 7, admin, lead, inspector)
    few = home_statements(client, app)
    many_inspections(db, 14, admin, lead, inspector, first=7)
    more = home_statements(client, app)
    assert len(listed(client)) >= 21
    assert len(more) == len(few), [s for s in more if s not in few][:5]
    assert len(few) <= 16, few


def test_the_list_is_paged_and_the_pages_keep_the_filters(as_user, office, monkeypatch):
    from inspector.app.views import inspections as view
    monkeypatch.setattr(view, "PAGE_SIZE", 5)
    lead = as_user("lead")
    every = listed(lead, q="Program 0")
    assert len(every) == 5
    html = lead.get("/?q=Program+0").get_data(as_text=True)
    assert "1–5 of 14 inspections" in html and "Page 1 of 3" in html
    assert 'rel="next" href="/?page=2&amp;q=Program+0"' in html and 'rel="prev"' not in html
    pages = [listed(lead, q="Program 0", page=str(n)) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [5, 5, 4]
    assert sorted(sum(pages, [])) == sorted(f"Program {n:03d} Hospital" for n in range(14))
    assert "No inspection matches these filters" in lead.get("/?q=Program+0&page=4").get_data(as_text=True)
