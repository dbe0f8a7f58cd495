"""Every role has a home: admins read any inspection (never write to it: the
authorisation matrix refuses their pushes), the home card and the lead's
inspection page show the team's progress, and the team page is one
sections x people grid."""
import re

from inspector.domain import users


def test_an_admin_reads_an_inspection_and_its_standards_read_only(as_user, demo_inspection):
    admin = as_user("admin")
    html = admin.get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert "Read only" in html and "assessed by the team" in html and "assessed by me" not in html
    assert "data-offline-panel" not in html and 'id="my-standards"' not in html
    std = admin.get(f"/inspections/{demo_inspection}/standards/B1.5").get_data(as_text=True)
    assert re.search(r'<fieldset class="read-only" disabled', std) and "data-finding" not in std
    assert "data-add-photo" not in std and "Nothing recorded yet" not in std


def test_the_lead_sees_the_teams_progress_not_their_own(as_user, demo_inspection):
    html = as_user("lead").get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert "assessed by the team" in html and "assessed by me" not in html
    assert "data-offline-panel" in html  # the lead is on the team: they still work offline
    inspector = as_user("inspector1").get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert "assessed by me" in inspector


def test_the_home_card_shows_progress_and_my_assigned_sections(as_user, db, demo_inspection):
    assigned = db.conn.execute("SELECT count(*) FROM assignments WHERE inspection_id = ? AND user_id = ?",
                               [demo_inspection, users.by_username(db, "inspector1")["id"]]).fetchone()[0]
    assessed = db.conn.execute("SELECT count(DISTINCT standard_code) FROM findings WHERE inspection_id = ? "
                               "AND verdict IS NOT NULL", [demo_inspection]).fetchone()[0]
    html = as_user("inspector1").get("/").get_data(as_text=True)
    assert re.search(rf"{assessed} / \d+ standards assessed by the team · {assigned} sections? assigned to me", html)
    admin = as_user("admin").get("/").get_data(as_text=True)
    assert f'href="/inspections/{demo_inspection}"' in admin and "assigned to me" not in admin


def test_the_team_page_is_one_grid_of_sections_by_people(as_user, db, demo_inspection):
    html = as_user("lead").get(f"/inspections/{demo_inspection}/team").get_data(as_text=True)
    people = len(re.findall(r'<select id="member-', html))
    sections = len(re.findall(r'<th scope="row"', html))
    boxes = re.findall(r'<input type="checkbox" name="assign-[^"]+" value="1"\s+aria-label="([^"]+)"', html)
    assert people > 1 and sections > 1 and len(boxes) == people * sections
    assert len(re.findall(r'<table class="assign-grid">', html)) == 1
    assert all(": " in label for label in boxes)  # each box says which section and whom
