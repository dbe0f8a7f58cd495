"""No typing lost to a dying browser (issue 24 item 6): text typed into a
standard, the whole browser killed (SIGKILL to its process group) 300 ms
after the last key, is all there when the browser is started again on the
same profile. Its own Chromium, not the session's: this one is killed."""
import os
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TABLET, demo_inspection_id, wait_for_worker

TEXT = ("Cold-chain log for the apheresis product kept on paper only, unsigned on 3 of 7 days. "
        "The night courier hands the shipper to whoever is on the ward; no receipt time is written down.")


def browser_pid(profile):
    """The browser process started on ``profile`` (not its renderers or helpers)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"--user-data-dir={profile}".encode() in args and not any(a.startswith(b"--type=") for a in args):
            return int(proc.name)
    raise LookupError(f"no browser runs on {profile}")


def launch(chromium, profile, server):
    context = chromium.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=TABLET, timeout=30_000)
    context.add_cookies([server.session_cookie("inspector1")])  # a session cookie dies with the browser
    return context


@pytest.mark.parametrize("run", [1, 2])
def test_text_typed_300_ms_before_the_browser_is_killed_is_kept(live_server, chromium, tmp_path, run):
    profile = tmp_path / "profile"
    inspection = demo_inspection_id(live_server.data_dir)
    url = f"{live_server.url}/inspections/{inspection}/standards"
    context = launch(chromium, profile, live_server)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{url}/B6.2")
    wait_for_worker(page)
    page.get_by_label("Note").fill("First standard's note.")
    expect(page.locator("[data-save-state]")).to_contain_text("Saved on this tablet")
    page.goto(f"{url}/B6.3")  # the second standard, as in the report
    page.get_by_label("Note").click()
    page.keyboard.type(TEXT)  # as fast as keys come: the worst case
    time.sleep(0.3)
    pid = browser_pid(profile)
    os.killpg(os.getpgid(pid), signal.SIGKILL)  # Playwright starts the browser in a process group of its own
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        context.close()
    except Exception:  # noqa: BLE001 - it is dead: Playwright may say so
        pass

    context = launch(chromium, profile, live_server)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{url}/B6.3")
        expect(page.get_by_label("Note")).to_have_value(TEXT, timeout=10_000)
        page.goto(f"{url}/B6.2")
        expect(page.get_by_label("Note")).to_have_value("First standard's note.")
    finally:
        context.close()
