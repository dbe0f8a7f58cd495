"""Each inspection shows its next deadline and who owes it, in its body's
timeline (FACT: findings 3 days after the visit, the lead's consolidation in
2 weeks; JACIE: 2 weeks for both), and the home cards flag what is overdue."""
import re
from datetime import date, timedelta

import pytest

from inspector.domain import deadlines, inspections, team, users
from tests.helpers import coordinator_id


@pytest.mark.parametrize("body, findings_days", [("fact", 3), ("jacie", 14)])
def test_the_bodys_timeline_sets_the_next_deadline_and_its_debtor(db, body, findings_days):
    admin = users.by_username(db, "admin")["id"]
    ends = date.today() - timedelta(days=30)
    i = inspections.create(db, "Westfield", 1, (ends - timedelta(days=1)).isoformat(), ends.isoformat(), admin,
                           body=body)
    due = deadlines.next_due(db, inspections.plain(db, i))
    assert (due.what, due.due, due.owed_by) == ("Inspectors' findings complete",
                                                ends + timedelta(days=findings_days), "inspectors")
    assert due.overdue(date.today())
    inspections.set_state(db, i, "merging")
    nxt = deadlines.next_due(db, inspections.plain(db, i))
    assert (nxt.due, nxt.owed_by) == (ends + timedelta(days=14), "lead") and "consolidation" in nxt.what


def card_of(html, site):
    """The text of one home card, tags dropped."""
    card = html[html.index(site):]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", card[:card.index("</li>")])).replace("&#39;", "'")


@pytest.mark.parametrize("body, username, lines", [
    # Both deadlines of an inspection on site are past: each shows, in the reader's words.
    ("fact", "inspector1", ["Overdue Your findings complete, due 2020-01-05 (owed by you)",
                            "Overdue The lead's consolidation (draft citations to the program), due 2020-01-16 "
                            "(owed by the team leader)"]),
    ("fact", "lead", ["Overdue Inspectors' findings complete, due 2020-01-05 (owed by the inspectors)",
                      "Overdue Your consolidation: draft citations to the program, due 2020-01-16 (owed by you)"]),
    ("jacie", "lead", ["Overdue Inspectors' findings complete, due 2020-01-16 (owed by the inspectors)",
                       "Overdue Your consolidation: draft deficiencies to the centre, due 2020-01-16 (owed by you)"]),
])
def test_the_home_card_lists_what_is_overdue_in_the_readers_own_words(as_user, db, body, username, lines):
    admin = users.by_username(db, "admin")["id"]
    i = inspections.create(db, "Late Hospital", 1, "2020-01-01", "2020-01-02", admin, body=body)
    team.add_member(db, i, users.by_username(db, "inspector1")["id"], "inspector")
    team.add_member(db, i, users.by_username(db, "lead")["id"], "lead")
    card = card_of(as_user(username).get("/").get_data(as_text=True), "Late Hospital")
    assert [line for line in lines if line in card] == lines
    page = as_user(username).get(f"/inspections/{i}").get_data(as_text=True).replace("&#39;", "'")
    assert f"Next deadline: {lines[0].removeprefix('Overdue ').split(', due')[0]}," in page


def test_the_coordinator_is_asked_to_record_the_decision(db, as_user):
    admin = users.by_username(db, "admin")["id"]
    i = inspections.create(db, "Committee Hospital", 1, "2020-01-01", "2020-01-02", admin)
    db.conn.execute("UPDATE inspections SET state = 'committee', committee_date = '2020-02-01' WHERE id = ?", [i])
    coordinator_id(db)
    card = card_of(as_user("cora").get("/").get_data(as_text=True), "Committee Hospital")
    assert "Overdue Record the Accreditation Committee's decision, due 2020-02-01 (owed by you)" in card
    admin_card = card_of(as_user("admin").get("/").get_data(as_text=True), "Committee Hospital")
    assert "Record the Accreditation Committee's decision" in admin_card  # an admin may act as the coordinator


def test_a_closed_inspection_owes_nothing(db, demo_inspection):
    inspections.set_state(db, demo_inspection, "closed")
    assert deadlines.next_due(db, inspections.plain(db, demo_inspection)) is None


def test_a_personal_calendar_feed_lists_the_deadlines_and_stops_when_asked(app, as_user, db):
    admin = users.by_username(db, "admin")["id"]
    i = inspections.create(db, "Late Hospital", 1, "2020-01-01", "2020-01-02", admin)
    team.add_member(db, i, users.by_username(db, "inspector1")["id"], "inspector")
    me = as_user("inspector1")
    assert me.post("/calendar", data={"action": "new"}).status_code == 302
    home = me.get("/").get_data(as_text=True)
    url = re.search(r'id="calendar-url" value="([^"]+)"', home).group(1).replace("&amp;", "&")
    feed = app.test_client().get(url)  # a phone's calendar: no session
    body = feed.get_data(as_text=True)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert body.startswith("BEGIN:VCALENDAR\r\n") and "DTSTART;VALUE=DATE:20200105" in body
    assert "SUMMARY:Late Hospital: Your findings complete" in body  # her feed, in her words
    assert "DESCRIPTION:Owed by you." in body
    # Another user's token, a forged one: nothing.
    assert app.test_client().get(url[:-3] + "abc").status_code == 404
    # A new address stops the old one; stopping stops the new one.
    me.post("/calendar", data={"action": "new"})
    assert app.test_client().get(url).status_code == 404
    new = re.search(r'id="calendar-url" value="([^"]+)"', me.get("/").get_data(as_text=True)).group(1)
    new = new.replace("&amp;", "&")
    assert app.test_client().get(new).status_code == 200
    me.post("/calendar", data={"action": "stop"})
    assert app.test_client().get(new).status_code == 404
    actions = [r[0] for r in db.conn.execute("SELECT action FROM audit WHERE action LIKE 'calendar.%' ORDER BY id")]
    assert actions == ["calendar.issued", "calendar.issued", "calendar.stopped"]
