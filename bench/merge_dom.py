"""How big the lead's merge screen is on the demo, as the lead opens it: its
HTML bytes, its element count, and (in Chromium at tablet size, 768x1024)
its DOM nodes and its height in pixels. Also `All standards`, the whole
list, for comparison. Sizes, not times: no baseline needed.

    .venv/bin/python -m bench merge_dom [--no-browser]
"""
import argparse
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import PASSWORD, seeded_data_dir  # noqa: E402
from tests import helpers as testing  # noqa: E402


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag, attrs):
        self.count += 1


def elements(html):
    """The number of elements in a page's HTML (start tags)."""
    parser = _Elements()
    parser.feed(html)
    return parser.count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-browser", action="store_true", help="HTML only, without Chromium")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        data, _ = seeded_data_dir(tmp)
        server = testing.LiveServer(data).start()
        try:
            inspection = testing.demo_inspection_id(data)
            pages = {"opens on": f"/inspections/{inspection}/merge",
                     "All standards": f"/inspections/{inspection}/merge?only=all"}
            opener = testing.http_login(server.url, "lead", PASSWORD)
            browser = None if args.no_browser else _browser()
            counted = {}
            for name, path in pages.items():
                html = opener.open(server.url + path).read().decode()
                rows = counted[name] = html.count('class="merge-row"')
                # The lead's merge screen, not a login page or an error: a size of anything else misleads.
                assert "<h1>Merge findings</h1>" in html or 'id="merge-list"' in html, (name, html[:200])
                line = (f"merge screen, {name} ({path.split('/')[-1]}): {len(html.encode()):,} bytes of HTML, "
                        f"{elements(html):,} elements, {rows} standards")
                if browser:
                    nodes, height = _measure(browser, server, path)
                    line += f"; Chromium 768x1024: {nodes:,} DOM elements, {height:,} px tall"
                print(line)
            assert 0 < counted["opens on"] < counted["All standards"], counted
            if browser:
                browser[1].close()
                browser[0].stop()
        finally:
            server.stop()
    return 0


def _browser():
    from playwright.sync_api import sync_playwright
    playwright = sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path=testing.CHROMIUM, args=testing.CHROMIUM_ARGS)


def _measure(browser, server, path):
    context = browser[1].new_context(viewport=testing.TABLET)
    try:
        page = context.new_page()
        testing.log_in_by_cookie(page, server, "lead")
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        return page.evaluate("() => [document.getElementsByTagName('*').length, "
                             "document.documentElement.scrollHeight]")
    finally:
        context.close()


if __name__ == "__main__":
    sys.exit(main())
