"""Fixtures for the browser tests: headless Debian Chromium driven by
Playwright, a tablet-sized context, and the real server on a copy of the
seeded demo. Every test in this folder is marked `browser`."""
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TABLET, LiveServer, copy_data_dir

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    """One browser for the whole run; each test opens its own contexts."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command, which installs Debian's chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path, seeded_db):
    """The real server on its own copy of the seeded demo."""
    server = LiveServer(copy_data_dir(seeded_db, tmp_path / "data")).start()
    yield server
    server.stop()


@pytest.fixture
def tablet(chromium):
    context = chromium.new_context(viewport=TABLET)
    yield context
    context.close()
