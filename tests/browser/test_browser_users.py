"""An admin adds a user in Chromium; the set-password mail arrives at a real
SMTP server (aiosmtpd), and its link, followed in a fresh browser on a
phone, sets the password and logs the new user in."""
import time

from playwright.sync_api import expect

from tests.helpers import PHONE, TABLET, LiveServer, copy_data_dir, log_in_through_form
from tests.test_mail import FROM
from tests.test_users_admin import GOOD, link_in


def test_an_admin_adds_a_user_who_sets_their_password_from_the_mail(chromium, tmp_path, seeded_db, smtp,  # noqa: F811
                                                                    monkeypatch):
    inbox, port = smtp
    monkeypatch.setenv("INSPECTOR_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("INSPECTOR_MAIL_FROM", FROM)
    server = LiveServer(copy_data_dir(seeded_db, tmp_path / "data")).start()
    admin, newcomer = chromium.new_context(viewport=TABLET), chromium.new_context(viewport=PHONE)
    try:
        page = admin.new_page()
        log_in_through_form(page, server.url, "admin")
        page.get_by_role("link", name="Users", exact=True).click()
        page.get_by_role("link", name="Add user").click()
        page.wait_for_url(server.url + "/users/new")
        page.get_by_label("Username", exact=True).fill("nina")
        page.get_by_label("Full name").fill("Nina New")
        page.get_by_label("Email").fill("nina@northbridge.example")
        page.get_by_label("Inspector: records findings on a team").check()
        page.get_by_role("button", name="Add user and send the link").click()
        expect(page.locator(".flash")).to_contain_text("Added nina")
        expect(page.locator("tr", has_text="Nina New")).to_contain_text("No password yet")

        deadline = time.monotonic() + 15
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [(to, message)] = inbox.messages
        assert to == ["nina@northbridge.example"]

        phone = newcomer.new_page()
        phone.goto(server.url + link_in(message))
        expect(phone.get_by_role("heading", name="Set your password")).to_be_visible()
        phone.get_by_label("New password", exact=True).fill(GOOD)
        phone.get_by_label("New password again").fill(GOOD)
        phone.get_by_role("button", name="Set password").click()
        expect(phone.locator(".who")).to_contain_text("Nina New")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page.reload()
        expect(page.locator("tr", has_text="Nina New")).to_contain_text("Active")
    finally:
        admin.close()
        newcomer.close()
        server.stop()
