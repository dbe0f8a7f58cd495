"""Each inspection shows its next deadline and who owes it, in its body's
timeline (FACT: findings 3 days after the visit, the lead's consolidation in
2 weeks; JACIE: 2 weeks for both), and the home cards flag what is overdue."""
import re
from datetime import date, timedelta

import pytest

from inspector.domain import deadlines, inspections, team, users


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


def test_the_home_card_and_the_inspection_page_say_what_is_overdue_and_who_owes_it(as_user, db):
    admin = users.by_username(db, "admin")["id"]
    i = inspections.create(db, "Late Hospital", 1, "2020-01-01", "2020-01-02", admin)
    team.add_member(db, i, users.by_username(db, "inspector1")["id"], "inspector")
    home = as_user("inspector1").get("/").get_data(as_text=True)
    card = home[home.index("Late Hospital"):]
    card = card[:card.index("</li>")]
    assert "Overdue" in card and re.search(r"Inspectors&#39; findings complete, due .*2020-01-05.*the inspectors", card,
                                           re.S)
    page = as_user("inspector1").get(f"/inspections/{i}").get_data(as_text=True)
    assert "Next deadline: Inspectors&#39; findings complete" in page and "Overdue" in page


def test_a_closed_inspection_owes_nothing(db, demo_inspection):
    inspections.set_state(db, demo_inspection, "closed")
    assert deadlines.next_due(db, inspections.plain(db, demo_inspection)) is None
