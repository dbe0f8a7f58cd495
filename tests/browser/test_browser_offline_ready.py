"""`Ready to use offline` only when it is true: a service worker controls the
page and the pages are in its cache. Otherwise the panel says why offline
use is unavailable and what to do; `/login` offline is the app's own page."""
from playwright.sync_api import expect

from tests.helpers import demo_inspection_id, log_in_by_cookie, make_available_offline

# What Chromium does over https with a certificate the tablet does not trust
# (the user clicked through the warning): the page loads, the worker does not.
REFUSE_WORKER = """
navigator.serviceWorker.register = () => Promise.reject(new DOMException(
  "Failed to register a ServiceWorker for scope ('/'): An SSL certificate error occurred when fetching the script.",
  "SecurityError"));
"""


def test_untrusted_certificate_is_not_ready(live_server, tablet):
    tablet.add_init_script(REFUSE_WORKER)
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}")
    state = page.locator("[data-offline-state]")
    expect(state).to_contain_text("Offline use is unavailable")  # said before any click
    page.get_by_role("button", name="Make available offline").click()
    expect(state).to_contain_text("does not trust the server's certificate")
    expect(state).to_contain_text("install the organisation's certificate")
    expect(state).not_to_contain_text("Ready")


def test_ready_only_with_a_controlling_worker(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.goto(f"{live_server.url}/inspections/{demo_inspection_id(live_server.data_dir)}")
    # Once the worker has taken the page (a first visit's worker stores the
    # whole shell first: on a loaded CI machine that once took over 30 s).
    make_available_offline(page)
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    stored = page.evaluate("""async () => {
      const names = await caches.keys();
      const pages = names.find((n) => n.startsWith('pages-u'));
      return (await (await caches.open(pages)).keys()).length;
    }""")
    assert stored > 50


def test_login_offline_is_the_apps_page(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    page.evaluate("""() => navigator.serviceWorker.controller || new Promise((resolve) =>
      navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }))""")
    tablet.clear_cookies()  # logged out: the next person at the tablet
    tablet.set_offline(True)
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(page.get_by_text("Logging in needs the network")).to_be_visible()
    tablet.set_offline(False)
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_label("Username")).to_be_visible()
