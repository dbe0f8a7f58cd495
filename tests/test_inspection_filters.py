"""The inspection page's filters: under a filter it lists the standards of
my sections grouped by section, each row carrying what the filter rule
(static/js/progress.js matches) reads and the marks a section page shows;
unfiltered it lists sections only, each counting my marks (the browser
test applies the rule and recounts with the tablet's edits)."""
import re

import pytest

from inspector.domain import findings
from tests.helpers import push


def inspection_page(client, inspection, only=None):
    return client.get(f"/inspections/{inspection}", query_string={"only": only} if only else {}).get_data(as_text=True)


def groups(html):
    """{section code: [standard codes]} of the page's standards list."""
    listed = html.split('data-filtered-only')[1].split("<h2>Team</h2>")[0]
    found = {}
    for part in re.split(r'<div class="standard-group" data-group="[^"]+">', listed)[1:]:
        section = re.search(r'<h3><a href="[^"]+/sections/([^"]+)">', part).group(1)
        found[section] = re.findall(r'<li class="standard-row[^"]*" data-standard="([^"]+)"', part)
    return found


def test_the_standards_list_is_of_my_sections_grouped_by_section(as_user, db, demo_inspection):
    html = inspection_page(as_user("inspector1"), demo_inspection, "not_assessed")
    listed = groups(html)
    assert list(listed) == ["B1", "B2", "B3", "B6", "B7", "B8"]  # her sections, in catalog order
    for section, codes in listed.items():
        expected = [r[0] for r in db.conn.execute(
            "SELECT code FROM standards WHERE section_code = ? AND depth > 0 AND catalog_id = (SELECT catalog_id FROM inspections ORDER BY id LIMIT 1) "
            "ORDER BY position", [section])]
        assert codes == expected, section


def test_an_inspector_without_sections_gets_every_section(as_user, db, demo_inspection):
    listed = groups(inspection_page(as_user("lead"), demo_inspection, "flagged"))
    assert len(listed) == db.conn.execute("SELECT count(*) FROM standards WHERE depth = 0 AND catalog_id = (SELECT catalog_id FROM inspections ORDER BY id LIMIT 1)").fetchone()[0]


def test_unfiltered_the_page_lists_sections_without_the_standards(as_user, demo_inspection):
    # Every standard's row was most of the page's time and bytes (5.4 vs 1.8 ms at 6 x 150).
    html = inspection_page(as_user("inspector1"), demo_inspection)
    assert re.search(r"<div data-sections-list>", html)
    assert "data-filtered-only" not in html and 'class="standard-row' not in html
    assert 'href="/inspections/%d" aria-current="page">All</a>' % demo_inspection in html


def test_a_tablet_takes_the_filtered_addresses_offline_too(as_user, demo_inspection):
    package = as_user("inspector1").get(f"/inspections/{demo_inspection}/offline-manifest").get_json()
    assert {f"/inspections/{demo_inspection}?only={key}" for key in findings.FILTERS} <= set(package["pages"])


@pytest.mark.parametrize("only", ["not_assessed", "not_compliant", "evidence", "flagged"])
def test_a_filter_shows_the_standards_and_says_which_filter_is_on(as_user, demo_inspection, only):
    html = inspection_page(as_user("inspector1"), demo_inspection, only)
    assert "<div data-sections-list hidden>" in html
    assert f'data-only="{only}">' in html
    assert re.search(rf'href="/inspections/{demo_inspection}\?only={only}" data-filter="{only}" data-empty="[^"]+" '
                     rf'aria-current="page"', html)


def test_an_unknown_filter_is_no_filter(as_user, demo_inspection):
    html = inspection_page(as_user("inspector1"), demo_inspection, "everything")
    assert "<div data-sections-list>" in html


def row(html, code):
    return re.search(rf'<li class="standard-row[^"]*" data-standard="{re.escape(code)}".*?</li>', html, re.S).group(0)


def test_rows_carry_my_verdict_note_photos_and_flag_with_their_marks(as_user, demo_inspection, device):
    client = as_user("inspector1")
    push(client, [device.op(demo_inspection, "B6.2", "flag", True)])
    html = inspection_page(client, demo_inspection, "flagged")
    flagged = row(html, "B6.2")
    assert 'data-flagged="1"' in flagged
    assert '<span class="mark" data-mark="flagged">Flagged</span>' in flagged
    b23 = row(html, "B2.3")  # not compliant, with a note (the demo's)
    assert 'data-verdict="not_compliant"' in b23 and 'data-note="1"' in b23
    assert '<span class="mark" data-mark="note">Note</span>' in b23
    assert '<span class="mark" data-mark="flagged" hidden>' in b23
    b12 = row(html, "B1.2")  # nothing recorded: no data (the rule reads it as empty)
    tag = b12.split(">")[0]
    assert "data-verdict" not in tag and "data-note" not in tag and "data-photos" not in tag
    assert '<span class="verdict-badge" data-verdict="">Not assessed</span>' in b12


def test_another_inspectors_findings_are_not_on_my_rows(as_user, demo_inspection):
    """Rows are the asking inspector's own findings: on B1.3 inspector1 said
    compliant, inspector3 not compliant (notes are private to each)."""
    mine = row(inspection_page(as_user("inspector1"), demo_inspection, "evidence"), "B1.3")
    theirs = row(inspection_page(as_user("inspector3"), demo_inspection, "evidence"), "B1.3")
    assert 'data-verdict="compliant"' in mine and 'data-verdict="not_compliant"' in theirs


def section_marks(html, section):
    row = re.search(rf'<li class="section-row" data-section="{section}".*?</li>', html, re.S).group(0)
    return {key: (int(n), hidden == " hidden") for key, hidden, n in re.findall(
        r'data-mark-count="(\w+)"( hidden)?><span data-n>(\d+)</span>', row)}


def test_section_rows_count_my_marks(as_user, demo_inspection, device):
    client = as_user("inspector1")
    push(client, [device.op(demo_inspection, "B2.1", "flag", True), device.op(demo_inspection, "B2.2", "flag", True)])
    html = inspection_page(client, demo_inspection)
    # B2: B2.3's note and photo (the demo's), B2.1 and B2.2 flagged now.
    assert section_marks(html, "B2") == {"flagged": (2, False), "note": (1, False), "photos": (1, False)}
    assert section_marks(html, "B3") == {"flagged": (0, True), "note": (0, True), "photos": (0, True)}
    assert section_marks(inspection_page(as_user("inspector3"), demo_inspection), "B1")["flagged"] == (0, True)
    assert section_marks(html, "C6") == {}  # not her section: its standards are not on her page
