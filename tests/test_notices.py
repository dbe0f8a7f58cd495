"""The mail the cycle sends, received by a real SMTP server: a link goes to
the one person it is for (and the link in it opens), the lead hears when the
site submits (which citations, never what the site wrote), the site when
more information is needed, and whoever owes a deadline three days before
and on the day, once."""
import re
from datetime import date, timedelta

import pytest

from inspector.app import mailer, notices
from inspector.domain import deadlines, inspections, team, users
from tests.test_mail import conf
from test_site_review import save, send_to_site

LEAD_EMAIL = "lena.lead@inspector.example"


@pytest.fixture
def lead(db, as_user):
    db.conn.execute("UPDATE users SET email = ? WHERE username = 'lead'", [LEAD_EMAIL])
    return as_user("lead")


def delivered(db, smtp):
    """Send the outbox to the test's server; what it received: [(to, message)]."""
    inbox, port = smtp
    mailer.deliver_due(db, conf(port))
    received, inbox.messages[:] = list(inbox.messages), []
    return received


def text_of(message):
    return message.get_body(("plain",)).get_content()


def test_a_self_assessment_link_is_mailed_to_its_person_and_opens(db, lead, app, smtp):
    renewal = db.conn.execute("SELECT id FROM inspections WHERE kind = 'renewal'").fetchone()[0]
    lead.post(f"/inspections/{renewal}/links", data={"issued_to": "Paul Program", "email": "paul@lakeside.example",
                                                     "days": "14", "purpose": "self_assessment"})
    [(to, message)] = delivered(db, smtp)
    assert to == ["paul@lakeside.example"] and "your self-assessment before the inspection" in message["Subject"]
    url = re.search(r"http://localhost(/prepare/\S+)", text_of(message)).group(1)
    assert 'href="http://localhost/prepare/' in message.get_body(("html",)).get_content()
    page = app.test_client().get(url)                               # the program, with no account
    assert page.status_code == 200 and "<h1>Self-assessment</h1>" in page.get_data(as_text=True)


def test_the_lead_hears_which_citations_the_site_sent_never_what_it_wrote(db, lead, app, smtp, demo_inspection):
    send_to_site(lead, demo_inspection)
    lead.post(f"/inspections/{demo_inspection}/links", data={"issued_to": "Sam Site", "email": "sam@example.org",
                                                             "days": "7"})
    [(to, link_mail)] = delivered(db, smtp)
    link = re.search(r"http://localhost(/review/\S+)", text_of(link_mail)).group(1)
    site = app.test_client()
    save(site, link, {"factual_comment-B1.5": "The renewal was signed in April, a private detail."}, action="submit")
    [(to, message)] = delivered(db, smtp)
    assert to == [LEAD_EMAIL] and "sent its factual accuracy comments" in message["Subject"]
    assert "B1.5" in text_of(message) and "private detail" not in message.as_string()


def test_more_information_goes_to_the_site_with_its_own_link(db, lead, app, smtp, demo_inspection):
    from test_site_review import to_corrections
    send_to_site(lead, demo_inspection)
    lead.post(f"/inspections/{demo_inspection}/links", data={"issued_to": "Sam Site", "email": "sam@example.org",
                                                             "days": "30"})
    link = re.search(r"http://localhost(/review/\S+)", text_of(delivered(db, smtp)[0][1])).group(1)
    to_corrections(lead, db, demo_inspection)
    save(app.test_client(), link, {"corrective_action-B1.5": "Renewed."}, action="submit_anyway")
    delivered(db, smtp)                                                   # the lead's notice
    lead.post(f"/inspections/{demo_inspection}/responses/B1.5/review",
              data={"round": "1", "outcome": "more_info", "comment": "Attach the signed copy."})
    # Every live link's person (the demo has one for its quality manager), each with their own link only.
    received = {tuple(to): text_of(message) for to, message in delivered(db, smtp)
                if "more information needed on B1.5" in message["Subject"]}
    assert set(received) == {("sam@example.org",), ("quality@northbridge.example",)}
    assert f"http://localhost{link}" in received[("sam@example.org",)]
    assert link not in received[("quality@northbridge.example",)] and "/review/" in received[
        ("quality@northbridge.example",)]


def test_whoever_owes_a_deadline_is_reminded_three_days_before_and_on_the_day_once(db, app, smtp):
    db.conn.execute("UPDATE users SET email = username || '@inspector.example'")
    admin = users.by_username(db, "admin")["id"]
    ends = date.today() - timedelta(days=11)               # FACT: the lead's consolidation is due 14 days on
    i = inspections.create(db, "Reminder Hospital", 1, (ends - timedelta(days=1)).isoformat(), ends.isoformat(),
                           admin, state="merging")
    team.add_member(db, i, users.by_username(db, "lead")["id"], "lead")
    team.add_member(db, i, users.by_username(db, "inspector1")["id"], "inspector")
    due = deadlines.next_due(db, inspections.plain(db, i))
    assert (due.owed_by, (due.due - date.today()).days) == ("lead", 3)
    with app.app_context():
        notices.remind_deadlines(db, date.today())
        notices.remind_deadlines(db, date.today())                    # a second server process, the same day
    received = [(to, m["Subject"]) for to, m in delivered(db, smtp) if "Reminder Hospital" in m["Subject"]]
    assert received == [(["lead@inspector.example"], "Reminder Hospital: The lead's consolidation (draft citations "
                                                     "to the program) due in 3 days")]
    with app.app_context():
        notices.remind_deadlines(db, date.today() + timedelta(days=1))  # two days before: nothing
        notices.remind_deadlines(db, due.due)                           # on the day
    assert [m["Subject"] for _, m in delivered(db, smtp) if "Reminder Hospital" in m["Subject"]] == [
        "Reminder Hospital: The lead's consolidation (draft citations to the program) due today"]


def test_no_address_no_mail_and_the_admins_see_what_waits(db, lead, as_user, demo_inspection):
    """The lead has an address and gets the site's notice; a link's person always has one."""
    send_to_site(lead, demo_inspection)
    lead.post(f"/inspections/{demo_inspection}/links", data={"issued_to": "Sam Site", "email": "sam@example.org",
                                                             "days": "7"})
    html = as_user("admin").get("/emails").get_data(as_text=True)
    assert "sam@example.org" in html and "the inspection team&#39;s draft citations" in html
    assert "/review/" not in html                                          # never the link itself


def test_without_a_mail_server_the_reminders_still_wait_in_the_outbox(data_dir, new_app):
    """The server's daily job runs whether or not mail can go: what it
    writes waits in the outbox for the admins to see, never unwritten."""
    import time
    from inspector.domain import mail
    app = new_app(data_dir, TESTING=False, MAIL_EVERY=0.2)
    db = app.extensions["inspector_db_keeper"]
    db.conn.execute("UPDATE users SET email = username || '@inspector.example'")
    ends = date.today() - timedelta(days=11)
    i = inspections.create(db, "Quiet Hospital", 1, (ends - timedelta(days=1)).isoformat(), ends.isoformat(),
                           users.by_username(db, "admin")["id"], state="merging")
    team.add_member(db, i, users.by_username(db, "lead")["id"], "lead")
    sender = app.extensions["inspector_mail_sender"]
    sender.last_day = None                      # its first pass may have run before the inspection existed
    from inspector.app import mailer as mailer_module
    mailer_module.nudge(app)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("Quiet Hospital" in m["subject"] for m in mail.listing(db)):
        time.sleep(0.1)
    sender.stop()
    assert [(m["to_addr"], m["status"]) for m in mail.listing(db) if "Quiet Hospital" in m["subject"]] == [
        ("lead@inspector.example", "queued")]
