"""The office runs it from the browser, with mail that arrives (issue 23,
"Done when"), in Chromium against a real SMTP server (aiosmtpd): an admin
adds an inspector, whose set-password mail arrives and whose link is
followed; the new inspector changes their password in My account; the admin
imports a checklist with a mistake (refused with its line, nothing stored),
fixes it, imports it and creates an inspection on it; the lead issues a
review link, whose mail arrives with the link; the site, by that link,
submits its comments, and the lead's notification arrives."""
import contextlib
import re
import time

from playwright.sync_api import expect

from tests.helpers import (PHONE, TABLET, LiveServer, copy_data_dir, demo_inspection_id, log_in_by_cookie,
                           log_in_through_form, read_only_db)
from tests.test_mail import FROM
from tests.test_users_admin import GOOD, link_in

CHECKLIST = ("code,parent,title,text,guidance,roles\n"
             "S1,,Governance,What the program is.,Read its description.,quality\n"
             "S1.1,S1,Named director,A director is named.,See the letter.,quality\n"
             "S1.2,{parent},Written scope,The scope is written.,Read it.,quality\n")


def wait_for_mail(inbox, subject, seconds=20):
    """The first received message whose subject holds ``subject``: (to, message)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [(to, m) for to, m in inbox.messages if subject in m["Subject"]]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no mail about {subject!r}; received: {[m['Subject'] for _, m in inbox.messages]}")


def test_the_office_from_users_to_the_sites_notification(chromium, tmp_path, seeded_db, smtp, monkeypatch):
    inbox, port = smtp
    monkeypatch.setenv("INSPECTOR_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("INSPECTOR_MAIL_FROM", FROM)
    server = LiveServer(copy_data_dir(seeded_db, tmp_path / "data")).start()
    contexts = [chromium.new_context(viewport=TABLET) for _ in range(3)] + [chromium.new_context(viewport=PHONE)]
    office, newcomer, lead_tablet, site_phone = contexts
    try:
        # The admin adds an inspector; the set-password mail arrives and its link is followed.
        admin = office.new_page()
        log_in_through_form(admin, server.url, "admin")
        admin.get_by_role("link", name="Users", exact=True).click()
        admin.get_by_role("link", name="Add user").click()
        admin.get_by_label("Username", exact=True).fill("olga")
        admin.get_by_label("Full name").fill("Olga Office")
        admin.get_by_label("Email").fill("olga@northbridge.example")
        admin.get_by_label("Inspector: records findings on a team").check()
        admin.get_by_role("button", name="Add user and send the link").click()
        expect(admin.locator(".flash")).to_contain_text("Added olga")
        to, message = wait_for_mail(inbox, "Set your password")
        assert to == ["olga@northbridge.example"]
        olga = newcomer.new_page()
        olga.goto(server.url + link_in(message))
        olga.get_by_label("New password", exact=True).fill(GOOD)
        olga.get_by_label("New password again").fill(GOOD)
        olga.get_by_role("button", name="Set password").click()
        expect(olga.locator(".who")).to_contain_text("Olga Office")
        # ... and changes it in My account.
        olga.locator("a.who").click()
        expect(olga.get_by_role("heading", level=1)).to_have_text("My account")
        olga.get_by_label("Current password").fill(GOOD)
        olga.get_by_label("New password", exact=True).fill("a river of slow brown water")
        olga.get_by_label("New password again").fill("a river of slow brown water")
        olga.get_by_role("button", name="Change password").click()
        expect(olga.locator(".flash")).to_contain_text("password")

        # A checklist with a mistake is refused with its line, nothing stored; fixed, it imports.
        bad, good = tmp_path / "office-checklist.csv", tmp_path / "office-checklist-fixed.csv"
        bad.write_text(CHECKLIST.format(parent="S9"))
        good.write_text(CHECKLIST.format(parent="S1"))
        admin.goto(server.url + "/")
        admin.get_by_role("link", name="Checklists", exact=True).click()
        admin.get_by_role("link", name=re.compile("Import checklist")).click()
        admin.get_by_label(re.compile("^Checklist file")).set_input_files(str(bad))
        admin.get_by_label("Edition name").fill("Office checklist 1")
        admin.get_by_role("button", name="Preview").click()
        expect(admin.locator("#file-problems")).to_contain_text("line 4")
        with contextlib.closing(read_only_db(server.data_dir)) as db:
            assert db.execute("SELECT count(*) FROM catalogs WHERE edition = 'Office checklist 1'").fetchone()[0] == 0
        admin.get_by_label(re.compile("^Checklist file")).set_input_files(str(good))
        admin.get_by_label("Edition name").fill("Office checklist 1")
        admin.get_by_role("button", name="Preview").click()
        admin.get_by_role("button", name="Import 2 standards").click()
        expect(admin.get_by_text("Office checklist 1")).not_to_have_count(0)

        # An inspection on it.
        admin.goto(server.url + "/inspections/new")
        admin.get_by_label("Program name").fill("Office Test Program")
        admin.get_by_label("Checklist edition").select_option(label="Office checklist 1 (2 standards)")
        admin.get_by_label("First day").fill("2027-03-01")
        admin.get_by_label("Last day").fill("2027-03-02")
        admin.get_by_role("button", name="Create inspection").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text("Team and sections")
        with contextlib.closing(read_only_db(server.data_dir)) as db:
            assert db.execute("SELECT c.edition FROM inspections i JOIN catalogs c ON c.id = i.catalog_id "
                              "WHERE i.site_name = 'Office Test Program'").fetchone()[0] == "Office checklist 1"

        # The lead sends the draft citations and issues a review link: its mail arrives with the link.
        inspection = demo_inspection_id(server.data_dir)
        lead = lead_tablet.new_page()
        log_in_by_cookie(lead, server, "lead")
        lead.goto(f"{server.url}/inspections/{inspection}/review")
        lead.get_by_role("button", name="Send draft citations to site").click()
        expect(lead.get_by_role("heading", level=1)).to_have_text("Send draft citations to site?")
        lead.get_by_role("button", name=re.compile(r"^Yes, ")).click()
        expect(lead.locator(".stage.current")).to_have_text("Factual accuracy review")
        lead.get_by_label("Who it is for").fill("Sam Site")
        lead.get_by_label("Their email").fill("sam@northbridge.example")
        lead.get_by_role("button", name="Issue review link").click()
        expect(lead.get_by_role("button", name="Copy link").first).to_be_visible()
        to, link_mail = wait_for_mail(inbox, "draft citations")
        assert to == ["sam@northbridge.example"]
        link = re.search(r"https?://\S+/review/\S+", link_mail.get_body(("plain",)).get_content()).group(0)

        # The site submits by that link; the lead's notification arrives.
        site = site_phone.new_page()
        site.goto(server.url + "/review/" + link.split("/review/", 1)[1])
        site.get_by_label("Factual accuracy comment").first.fill("The agreement was renewed in April.")
        site.get_by_role("button", name=re.compile("Send comments")).click()
        to, notice = wait_for_mail(inbox, "sent its factual accuracy comments")
        assert to == ["lead@inspector.example"]
        assert "renewed in April" not in notice.as_string()  # which citations, never what the site wrote
    finally:
        for context in contexts:
            context.close()
        server.stop()
