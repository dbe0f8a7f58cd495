"""Behind HTTPS (here `inspector serve --cert --key` with a self-signed
certificate), the service worker, photo hashing and the offline journey work
as on localhost: a tablet reaching the server by name gets all of it."""
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import (CHROMIUM, CHROMIUM_ARGS, TABLET, LiveServer, copy_data_dir, log_in_through_form,
                               make_available_offline)


@pytest.fixture
def https_server(tmp_path, seeded_db):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = LiveServer(copy_data_dir(seeded_db, tmp_path / "data"), tls=(cert, key)).start()
    yield server
    server.stop()


def test_offline_journey_over_https(https_server, chromium):
    # The test certificate is self-signed: Chromium is told to accept it, as a
    # tablet would accept a real certificate from the organisation's proxy.
    browser = chromium.browser_type.launch(executable_path=CHROMIUM,
                                           args=CHROMIUM_ARGS + ["--ignore-certificate-errors"])
    context = browser.new_context(viewport=TABLET, ignore_https_errors=True)
    page = context.new_page()
    assert https_server.url.startswith("https://")
    # Through the form: here the real login's cookie (Secure over https) is part of what is tested.
    log_in_through_form(page, https_server.url, "inspector2")
    with https_server.db() as db:
        inspection = db.execute("SELECT id FROM inspections").fetchone()[0]
    page.goto(f"{https_server.url}/inspections/{inspection}")
    make_available_offline(page)

    context.set_offline(True)
    page.goto(f"{https_server.url}/inspections/{inspection}/standards/D8.3")
    page.get_by_label("Not applicable", exact=True).check()
    page.get_by_label("Choose photos").set_input_files(str(Path(__file__).parent.parent / "fixtures" / "photos" / "gps_upright.jpg"))
    expect(page.locator("[data-photo-list] img")).to_have_count(1)
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    page.reload()
    expect(page.get_by_label("Not applicable", exact=True)).to_be_checked()
    context.set_offline(False)
    expect(page.get_by_role("status")).to_have_text("All synced", timeout=30_000)
    with https_server.db() as db:
        assert db.execute("SELECT verdict FROM findings WHERE standard_code = 'D8.3'").fetchone()[0] == "not_applicable"
        assert db.execute("SELECT count(*) FROM finding_photos WHERE standard_code = 'D8.3' AND attached = 1"
                          ).fetchone()[0] == 1
    browser.close()
