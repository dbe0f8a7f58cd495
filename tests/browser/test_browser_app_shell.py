"""The installable app: a manifest with icons, and a service worker whose
shell cache is versioned by the shell's contents, with old versions removed
when a new worker takes over."""
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import LiveServer, log_in_by_cookie


def test_manifest_and_icons_make_it_installable(live_server, tablet):
    page = tablet.new_page()
    page.goto(live_server.url + "/login")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.request.get(live_server.url + href).json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert page.request.get(live_server.url + icon["src"]).headers["content-type"] == "image/png"


def test_a_new_deploy_installs_a_new_shell_and_removes_the_old_one(live_server, tablet, tmp_path):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    expect(page.get_by_role("status")).to_have_text("All synced")
    old = wait_for_shell(page, lambda shells: len(shells) == 1)

    # Deploy a new version: the same server address and data, the CSS changed.
    repo = Path(__file__).resolve().parents[2]
    deploy = tmp_path / "deploy"
    for name in ("inspector", "sync", "templates", "static"):
        shutil.copytree(repo / name, deploy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo / "pyproject.toml", deploy / "pyproject.toml")
    with open(deploy / "static" / "css" / "app.css", "a") as css:
        css.write("\n/* next release */\n")
    live_server.stop()
    new_server = LiveServer(live_server.data_dir, port=live_server.port, code_dir=deploy).start()
    try:
        page.reload()  # the browser checks /sw.js on navigation and finds a new version
        shells = wait_for_shell(page, lambda shells: len(shells) == 1 and shells != old)
        assert len(shells) == 1 and shells != old, shells  # installed, activated, the old one deleted
        # Stored under its versioned URL (/static/css/app.css?v=<hash>), as pages ask for it.
        css = page.evaluate("caches.open(%r).then((c) => c.match('/static/css/app.css', {ignoreSearch: true}))"
                            ".then((r) => r.text())" % shells[0])
        assert "next release" in css
    finally:
        new_server.stop()


def wait_for_shell(page, done):
    # Playwright's wait_for_function evaluates strings, which the app's CSP forbids: poll.
    for _ in range(150):
        shells = [n for n in page.evaluate("caches.keys()") if n.startswith("shell-")]
        if done(shells):
            break
        page.wait_for_timeout(100)
    return shells
