"""The hybrid logical clock (sync/static/clock.js) in real Chromium: the pure
functions every stamp on a tablet comes from. No server is needed: the
module is served to the page from the checkout."""
from pathlib import Path

import pytest



pytestmark = pytest.mark.browser
CLOCK_JS = Path(__file__).resolve().parents[2] / "sync" / "static" / "clock.js"
ORIGIN = "http://tablet.test"


@pytest.fixture(scope="module")
def page(chromium):
    context = chromium.new_context()
    context.route(ORIGIN + "/", lambda route: route.fulfill(content_type="text/html", body="<!doctype html><title>clock</title>"))
    context.route(ORIGIN + "/clock.js", lambda route: route.fulfill(content_type="text/javascript", body=CLOCK_JS.read_text()))
    page = context.new_page()
    page.goto(ORIGIN + "/")
    yield page
    context.close()


def run(page, body, arg=None):
    """Run `body` (a function body using `c`, the clock module, and `arg`) in the page."""
    return page.evaluate(f"async (arg) => {{ const c = await import('/clock.js'); {body} }}", arg)


def test_stamps_keep_going_forward_when_the_tablet_clock_goes_backwards(page):
    # The tablet's clock is set back by a minute mid-shift, then catches up.
    states = run(page, """
        let s = c.ZERO; const out = [];
        for (const now of arg) { s = c.tick(s, now); out.push([s, c.format(s, 'dTablet')]); }
        return out;""", [1_764_100_060_000, 1_764_100_000_000, 1_764_100_000_000, 1_764_100_060_000, 1_764_100_061_000])
    assert [s for s, _ in states] == [
        {"wall": 1_764_100_060_000, "counter": 0},
        {"wall": 1_764_100_060_000, "counter": 1},  # the clock went back: the counter counts on
        {"wall": 1_764_100_060_000, "counter": 2},
        {"wall": 1_764_100_060_000, "counter": 3},  # not later than the wall yet
        {"wall": 1_764_100_061_000, "counter": 0},
    ]
    stamps = [stamp for _, stamp in states]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_the_counter_carries_into_the_wall_time_past_99999(page):
    states = run(page, """
        let s = {wall: arg, counter: 99998}; const out = [];
        for (let i = 0; i < 3; i++) { s = c.tick(s, arg - 5000); out.push(c.format(s, 'dTablet')); }
        return out;""", 1_764_100_000_000)
    assert states == ["001764100000000:99999:dTablet",
                      "001764100000001:00000:dTablet",  # five digits, never six
                      "001764100000001:00001:dTablet"]
    assert states == sorted(states)


def test_observe_moves_the_clock_past_every_stamp_seen(page):
    seen_elsewhere = "001764100009000:00007:dOtherTablet 3b0d3a3e-7c1c-4d8e-9d4e-2f0f3b8d9c11"
    result = run(page, """
        const mine = {wall: 1764100000000, counter: 3};
        const moved = c.observe(mine, arg.elsewhere, arg.server, '', null, 'not a stamp');
        const kept = c.observe(mine, '001764099999999:00042');  // older than ours
        const next = c.format(c.tick(moved, 1764100001000), 'dTablet');
        return {moved, kept, next};""", {"elsewhere": seen_elsewhere, "server": "001764100008000:00099"})
    assert result["moved"] == {"wall": 1_764_100_009_000, "counter": 7}
    assert result["kept"] == {"wall": 1_764_100_000_000, "counter": 3}
    # This tablet's clock is behind, yet its next edit sorts after what it saw.
    assert result["next"] == "001764100009000:00008:dTablet"
    assert result["next"] > seen_elsewhere


def test_stamps_are_written_and_read_as_the_protocol_says(page):
    result = run(page, """return {
        full: c.format({wall: 1764100000123, counter: 3}, 'd4f1c2a9b8e7d6c5b4a39'),
        server: c.format({wall: 1764100000999, counter: 0}),
        early: c.format({wall: 5, counter: 0}, 'd1'),
        parsed: c.parse('001764100000123:00003:d4f1c2a9b8e7d6c5b4a39 3b0d3a3e-op'),
        bare: c.parse('001764100000999:00000'),
        junk: [c.parse('1764100000123:3:d1'), c.parse(''), c.parse(undefined)],
    };""")
    assert result["full"] == "001764100000123:00003:d4f1c2a9b8e7d6c5b4a39"
    assert result["server"] == "001764100000999:00000"
    assert result["early"] == "000000000000005:00000:d1"
    assert result["parsed"] == {"wall": 1_764_100_000_123, "counter": 3, "device": "d4f1c2a9b8e7d6c5b4a39"}
    assert result["bare"] == {"wall": 1_764_100_000_999, "counter": 0, "device": None}
    assert result["junk"] == [None, None, None]
