"""The lead consolidates the team's findings: the state of each standard,
decisions as ops in the same log, late findings flagged and never applied
over a decision, filters, the arrival board, and verdict scales per edition."""
import re

import pytest

from inspector.domain import catalog, inspections, merge, users
from tests.helpers import T0, Device, push

DEMO_NOTES = [  # inspectors' private notes in the demo: never in anything the site or a report sees
    "the renewal is still with the legal team",
    "The chart in the quality manual is two versions behind",
    "Two-person check observed at receipt and at thaw",
    "The ICU manager says a draft exists",
    "Second verifier's signature missing on two of ten thaw records",
]


def merge_page(client, inspection, query=""):
    response = client.get(f"/inspections/{inspection}/merge{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def shown_codes(html):
    return re.findall(r'<article class="merge-row" id="std-([^"]+)"', html)


def row_of(html, code):
    start = html.index(f'id="std-{code}"')
    return html[start:html.find("</article>", start)]


@pytest.mark.parametrize("verdicts, state", [
    ([], "not_assessed"), ([None, None], "not_assessed"), (["compliant"], "one"),
    (["compliant", None], "one"), (["not_compliant", "not_compliant"], "agreed"),
    (["compliant", "not_compliant"], "disagreement"), (["compliant", "partially_compliant"], "disagreement"),
])
def test_the_state_of_a_standard_follows_the_inspectors_verdicts(verdicts, state):
    assert merge.standard_state(verdicts) == state


def test_the_merge_screen_shows_every_standard_in_catalog_order_with_its_state(as_user, db, demo_inspection):
    html = merge_page(as_user("lead"), demo_inspection, "?only=all")
    codes = [s[0] for s in catalog.standards_in_sections(db, 1)]
    assert shown_codes(html) == codes
    assert 'data-state="agreed"' in row_of(html, "B1.1")
    assert 'data-state="disagreement"' in row_of(html, "B1.3")
    assert 'data-state="one"' in row_of(html, "B4.5")
    assert 'data-state="not_assessed"' in row_of(html, "B1.2")
    both = row_of(html, "B1.3")
    assert "Iris Clinical" in both and "Ines Quality" in both          # side by side
    assert "two versions behind" in both                               # the lead reads the team's notes


def test_filters_work_as_plain_links_and_as_htmx_partials(as_user, demo_inspection):
    lead = as_user("lead")
    assert shown_codes(merge_page(lead, demo_inspection, "?only=disagreements")) == ["B1.3", "D7.4.1"]
    deficient = shown_codes(merge_page(lead, demo_inspection, "?only=not_compliant"))
    assert {"B1.3", "B1.5", "B2.3", "B7.2.10", "B7.3.3", "B4.5", "D8.2", "D7.4.1"} == set(deficient)
    assert set(shown_codes(merge_page(lead, demo_inspection, "?only=all&section=D7"))) == {
        c for c in shown_codes(merge_page(lead, demo_inspection, "?only=all")) if c.startswith("D7.")}
    answer = lead.get(f"/inspections/{demo_inspection}/merge?only=disagreements",
                      headers={"HX-Request": "true", "HX-Target": "merge-list"})
    assert answer.headers["X-Inspector-Fragment"] == "1"  # the service worker never stores it as the page
    partial = answer.get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="merge-list">') and "<html" not in partial
    assert shown_codes(partial) == ["B1.3", "D7.4.1"]
    # The filters come with the list: the one asked for is the current one (issue 24 item 11).
    assert re.findall(r'aria-current="page">([^<]+)</a>', partial) == ["Disagreements only"]
    page = merge_page(lead, demo_inspection, "?only=all")
    for label in ("Disagreements only", "Not compliant only"):
        assert label in page
    assert lead.get(f"/inspections/{demo_inspection}/merge?only=nonsense").status_code == 404


def test_the_inspection_page_links_the_lead_to_merge_findings(as_user, demo_inspection):
    html = as_user("lead").get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert f'href="/inspections/{demo_inspection}/merge">Merge findings</a>' in html
    assert "Merge findings" not in as_user("inspector1").get(f"/inspections/{demo_inspection}").get_data(as_text=True)


def test_a_decision_is_an_op_in_the_same_log_by_the_lead(as_user, db, demo_inspection):
    lead = as_user("lead")
    tablet = Device("leadtablet")
    ops = [tablet.op(demo_inspection, "B1.3", "decision_verdict", "not_compliant"),
           tablet.op(demo_inspection, "B1.3", "decision_basis", 10_000),
           tablet.op(demo_inspection, "B1.3", "citation", "The organisational chart is not controlled.")]
    assert [r["status"] for r in push(lead, ops).json["results"]] == ["applied"] * 3
    logged = db.conn.execute("SELECT user_id, field, status FROM ops WHERE device_id = 'leadtablet' ORDER BY seq")
    assert [tuple(r) for r in logged] == [(users.by_username(db, "lead")["id"], f, "applied")
                                         for f in ("decision_verdict", "decision_basis", "citation")]
    row = row_of(merge_page(lead, demo_inspection, "?only=all"), "B1.3")
    assert 'value="not_compliant" checked' in row and "The organisational chart is not controlled." in row
    pulled = lead.get(f"/sync/pull?inspection={demo_inspection}&cursor=0", headers={"X-Inspector-Sync": "1"}).json
    assert {"standard": "B1.3", "verdict": "not_compliant"}.items() <= next(
        d for d in pulled["decisions"] if d["standard"] == "B1.3").items()


@pytest.mark.parametrize("field, value", [("decision_verdict", "compliant"), ("citation", "mine"),
                                          ("release_photo", {"sha256": "a" * 64, "released": True})])
def test_an_inspector_cannot_write_the_leads_decisions(as_user, db, demo_inspection, device, field, value):
    result = push(as_user("inspector1"), [device.op(demo_inspection, "B1.3", field, value)]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "not_team_leader")


def test_an_inspectors_pull_holds_no_decisions(as_user, demo_inspection):
    pulled = as_user("inspector1").get(f"/sync/pull?inspection={demo_inspection}&cursor=0",
                                       headers={"X-Inspector-Sync": "1"}).json
    assert "decisions" not in pulled and "releases" not in pulled


def test_a_final_report_takes_no_more_decisions(as_user, db, demo_inspection):
    inspections.set_state(db, demo_inspection, "closed")
    op = Device().op(demo_inspection, "B1.3", "citation", "too late")
    result = push(as_user("lead"), [op]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "inspection_state")


def test_a_finding_that_arrives_after_the_decision_is_flagged_and_never_overwrites_it(as_user, db, demo_inspection):
    lead = as_user("lead")
    before = row_of(merge_page(lead, demo_inspection, "?only=all"), "B7.2.10")
    assert "Changed since you decided" not in before and 'value="not_compliant" checked' in before
    # Iris, back online, changes her verdict and note on a standard the lead already settled.
    late = Device("iris-late", clock_ms=T0 + 3_600_000)
    push(as_user("inspector1"), [late.op(demo_inspection, "B7.2.10", "verdict", "compliant"),
                                 late.op(demo_inspection, "B7.2.10", "note", "Ampoule replaced while we were there.")])
    after = row_of(merge_page(lead, demo_inspection, "?only=all"), "B7.2.10")
    assert "Changed since you decided" in after
    assert "Ampoule replaced" in after                                  # kept and shown
    decision = db.conn.execute("SELECT verdict, citation FROM decisions WHERE standard_code = 'B7.2.10'").fetchone()
    assert tuple(decision) == ("not_compliant", "The emergency box on ward 7 held an expired adrenaline ampoule.")
    # The lead looks again and confirms: the basis moves past the late finding, the flag goes.
    basis = int(re.search(r'data-basis="(\d+)"', after).group(1))
    push(lead, [Device("leadtab").op(demo_inspection, "B7.2.10", "decision_basis", basis)])
    assert "Changed since you decided" not in row_of(merge_page(lead, demo_inspection, "?only=all"), "B7.2.10")


def test_the_demo_shows_a_finding_changed_after_the_leads_decision(as_user, demo_inspection):
    assert "Changed since you decided" in row_of(merge_page(as_user("lead"), demo_inspection, "?only=all"), "B2.3")


def test_the_citation_starts_empty_and_the_notes_are_offered_not_written(as_user, demo_inspection):
    """Choosing a verdict once saved the notes (private to the team) as the
    site-visible citation: now the lead starts from them only by asking."""
    row = row_of(merge_page(as_user("lead"), demo_inspection, "?only=all"), "D8.2")  # undecided, one inspector found it
    assert re.search(r'<textarea id="citation-D8.2"[^>]*></textarea>', row)
    offered = re.search(r"<template data-notes>([^<]*)</template>", row).group(1)
    assert offered == "Alarm test of dewar 3 not recorded since August."
    assert "Start from the inspectors&#39; notes" in row or "Start from the inspectors' notes" in row
    compliant = row_of(merge_page(as_user("lead"), demo_inspection, "?only=all"), "D7.2.2")
    assert re.search(r'<textarea id="citation-D7.2.2"[^>]*></textarea>', compliant) and "data-notes" not in compliant


def test_the_note_field_says_notes_are_private_to_the_team(as_user, demo_inspection):
    html = as_user("inspector1").get(f"/inspections/{demo_inspection}/standards/B1.1").get_data(as_text=True)
    assert "Private to the inspection team" in html and 'aria-describedby="note-private"' in html


# --- the arrival board ----------------------------------------------------------------

def test_the_arrival_board_counts_per_inspector_and_section(as_user, demo_inspection):
    html = as_user("lead").get(f"/inspections/{demo_inspection}/arrivals").get_data(as_text=True)
    ines = html[html.index("Ines Quality"):]
    ines = ines[:ines.index("</section>")]
    b4 = re.search(r'B4</span>[^<]*</th>\s*<td>(\d+) / (\d+)</td><td>(\d+)</td>', ines)
    assert b4 and (int(b4.group(1)), int(b4.group(3))) == (2, 1)   # B4.3 compliant, B4.5 not compliant
    assert "Device demo-ins" in ines and "last synced" in ines


# --- verdict scales ---------------------------------------------------------------------

@pytest.fixture
def jacie_inspection(db):
    catalog_id = catalog.import_file(db, catalog.bundled_catalog_path(), "JACIE checklist (ours)", scale="jacie")
    admin = users.by_username(db, "admin")["id"]
    inspection_id = inspections.create(db, "JACIE site", catalog_id, "2026-06-01", "2026-06-02", admin, body="jacie")
    from inspector.domain import team
    team.save(db, inspection_id, {users.by_username(db, "lead")["id"]: ("lead", set()),
                                  users.by_username(db, "inspector1")["id"]: ("inspector", {"B1"})}, admin)
    return inspection_id


def test_a_jacie_inspection_speaks_jacies_words_on_the_merge_screen_and_the_report(as_user, jacie_inspection,
                                                                                  demo_inspection, device):
    lead = as_user("lead")
    push(lead, [device.op(jacie_inspection, "B1.2", "decision_verdict", "partially_compliant"),
                device.op(jacie_inspection, "B1.2", "citation", "Governance minutes are incomplete."),
                device.op(jacie_inspection, "B1.2", "suggestion", "Minute every meeting.")])
    merge = lead.get(f"/inspections/{jacie_inspection}/merge?only=all").get_data(as_text=True)
    assert ">Deficiency</label>" in merge and ">Recommendation</label>" in merge and ">Citation</label>" not in merge
    report = lead.get(f"/inspections/{jacie_inspection}/report").get_data(as_text=True)
    assert "Deficiency 1:" in report and "Recommendations" in report and "Citation 1:" not in report
    csv_text = lead.get(f"/inspections/{jacie_inspection}/report.csv").get_data(as_text=True)
    assert csv_text.lstrip("\ufeff").splitlines()[0].startswith("Code,Standard,Consolidated verdict,Deficiency,Recommendation")
    # The FACT inspection beside it keeps FACT's words.
    fact = lead.get(f"/inspections/{demo_inspection}/report").get_data(as_text=True)
    assert "Citation 1:" in fact and "Deficiency" not in fact


def test_a_jacie_edition_offers_four_verdicts_on_the_form(as_user, jacie_inspection):
    html = as_user("inspector1").get(f"/inspections/{jacie_inspection}/standards/B1.1").get_data(as_text=True)
    assert re.findall(r'name="verdict" value="([a-z_]+)"', html) == [
        "compliant", "partially_compliant", "not_compliant", "not_applicable"]
    assert "Partially compliant" in html and "Uncompliant" in html


def test_verdicts_must_be_on_the_editions_scale(as_user, demo_inspection, jacie_inspection, device):
    one = as_user("inspector1")
    fact = push(one, [device.op(demo_inspection, "B1.1", "verdict", "partially_compliant")]).json["results"][0]
    assert (fact["status"], fact["code"]) == ("rejected", "not_on_scale")
    jacie = push(one, [device.op(jacie_inspection, "B1.1", "verdict", "partially_compliant")]).json["results"][0]
    assert jacie["status"] == "applied"


def test_partially_compliant_is_a_deficiency_that_yields_a_citation(as_user, jacie_inspection, device):
    lead = as_user("lead")
    push(lead, [device.op(jacie_inspection, "B1.2", "decision_verdict", "partially_compliant"),
                device.op(jacie_inspection, "B1.2", "citation", "Governance minutes are incomplete.")])
    html = lead.get(f"/inspections/{jacie_inspection}/report").get_data(as_text=True)
    assert "Deficiency 1:" in html and "Governance minutes are incomplete." in html and "Partially compliant" in html
    assert lead.get(f"/inspections/{jacie_inspection}/merge?only=not_compliant").status_code == 200


# --- Needs decision (issue 24 item 10) ------------------------------------------------------

NEEDS_DECISION = ["B1.3", "B2.3", "B4.5", "B7.3.3", "D7.4.1", "D8.2"]  # the demo: see needs_decision


def test_the_merge_screen_opens_on_what_needs_deciding_and_all_standards_stays_a_click_away(as_user, demo_inspection):
    lead = as_user("lead")
    base = f"/inspections/{demo_inspection}/merge"
    opened = merge_page(lead, demo_inspection)
    # Disagreements (B1.3, D7.4.1) and deficiencies (B4.5, B7.3.3, D8.2) without a
    # consolidated verdict, and B2.3 changed since decided; not the decided B1.5,
    # B7.2.10, nor the compliant B1.1.
    assert shown_codes(opened) == NEEDS_DECISION
    assert "Needs decision: 6" in opened
    assert re.search(rf'href="{base}"\s+data-hx-get="{base}"\s+aria-current="page">Needs decision</a>', opened)
    assert re.search(rf'href="{base}\?only=all"\s+data-hx-get="{base}\?only=all"\s*>All standards</a>', opened)
    assert shown_codes(merge_page(lead, demo_inspection, "?only=needs_decision")) == NEEDS_DECISION
    everything = merge_page(lead, demo_inspection, "?only=all")
    assert len(shown_codes(everything)) == 258
    assert re.search(r'aria-current="page">All standards</a>', everything)
    # The section filter keeps the choice, in the address.
    assert shown_codes(merge_page(lead, demo_inspection, "?section=D7")) == ["D7.4.1"]
    assert 'name="only" value="all"' in everything and 'name="only"' not in opened
    # A fraction of the page it replaces (docs/performance.md: bench merge_dom).
    assert len(opened) < len(everything) / 10


def test_a_decided_disagreement_no_longer_needs_deciding_until_a_finding_changes(as_user, demo_inspection):
    lead, tablet = as_user("lead"), Device("leadtablet")
    basis = int(re.search(r'data-basis="(\d+)"', row_of(merge_page(lead, demo_inspection), "B1.3")).group(1))
    push(lead, [tablet.op(demo_inspection, "B1.3", "decision_verdict", "not_compliant"),
                tablet.op(demo_inspection, "B1.3", "decision_basis", basis)])
    assert "B1.3" not in shown_codes(merge_page(lead, demo_inspection))
    late = Device("iris-late", clock_ms=T0 + 3_600_000)
    push(as_user("inspector1"), [late.op(demo_inspection, "B1.3", "note", "The chart was replaced this morning.")])
    assert "B1.3" in shown_codes(merge_page(lead, demo_inspection))


def test_nothing_to_decide_says_so_and_links_to_every_standard(as_user, demo_inspection):
    lead = as_user("lead")
    html = merge_page(lead, demo_inspection, "?section=B3")
    assert shown_codes(html) == [] and "Nothing needs deciding in this section" in html
    assert f'href="/inspections/{demo_inspection}/merge?only=all&amp;section=B3">All standards</a>' in html


def test_the_leads_offline_bundle_holds_needs_decision_and_all_standards(as_user, demo_inspection):
    manifest = as_user("lead").get(f"/inspections/{demo_inspection}/offline-manifest").json
    base = f"/inspections/{demo_inspection}/merge"
    merge_pages = [p for p in manifest["pages"] if p.startswith(base)]
    assert merge_pages[:2] == [base, f"{base}?only=all"]           # the default, then every standard
    assert f"{base}?only=needs_decision" not in merge_pages       # the bare address is that page already


# --- What changed since the lead decided, contradictions, captions (issue 24 items 12, 13) ---

def changes_of(row):
    """The items of a row's `what changed` list, as text."""
    listed = re.search(r'<ul class="what-changed">(.*?)</ul>', row, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip()
            for li in re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)] if listed else None


def test_changed_since_you_decided_says_who_changed_what_and_offers_keep_my_decision(as_user, demo_inspection):
    lead = as_user("lead")
    b23 = row_of(merge_page(lead, demo_inspection), "B2.3")          # the demo: Iris added to her note
    assert changes_of(b23) == ["Iris Clinical changed the note"]
    assert ">Keep my decision</button>" in b23
    late = Device("iris-late", clock_ms=T0 + 3_600_000)
    push(as_user("inspector1"), [late.op(demo_inspection, "B7.2.10", "verdict", "compliant"),
                                 late.op(demo_inspection, "B7.2.10", "note", "Ampoule replaced while we were there."),
                                 late.op(demo_inspection, "B7.2.10", "verdict", "compliant")])
    b7 = row_of(merge_page(lead, demo_inspection), "B7.2.10")
    assert changes_of(b7) == ["Iris Clinical: Not compliant → Compliant; changed the note"]
    # The note itself is in the inspector's finding below, never in the list of changes.
    assert "Ampoule" not in re.search(r'<ul class="what-changed">(.*?)</ul>', b7, re.S).group(1)
    # Undecided or unchanged rows have no list; an inspector reading the screen has no button.
    assert changes_of(row_of(merge_page(lead, demo_inspection), "B1.3")) is None
    assert changes_of(row_of(merge_page(lead, demo_inspection, "?only=all"), "B1.5")) is None


def test_keep_my_decision_is_the_decisions_basis_and_clears_the_change(as_user, demo_inspection):
    lead = as_user("lead")
    before = row_of(merge_page(lead, demo_inspection), "B2.3")
    assert ">Keep my decision</button>" in before
    basis = int(re.search(r'data-basis="(\d+)"', before).group(1))
    push(lead, [Device("leadtab").op(demo_inspection, "B2.3", "decision_basis", basis)])  # what the button sends
    after = row_of(merge_page(lead, demo_inspection, "?only=all"), "B2.3")
    assert changes_of(after) is None and "Keep my decision" not in after
    assert "B2.3" not in shown_codes(merge_page(lead, demo_inspection))  # no longer needs deciding


def test_a_verdict_no_inspector_gave_is_pointed_out(as_user, demo_inspection):
    lead = as_user("lead")
    contradiction = re.compile(r'<p class="contradicts" data-contradicts data-verdicts="([^"]*)"( hidden)?>')
    agreed = contradiction.search(row_of(merge_page(lead, demo_inspection, "?only=all"), "B1.5"))
    assert agreed.groups() == ("not_compliant", " hidden")           # the lead agreed with both inspectors
    push(lead, [Device("leadtab").op(demo_inspection, "B1.5", "decision_verdict", "compliant")])
    row = row_of(merge_page(lead, demo_inspection, "?only=all"), "B1.5")
    assert contradiction.search(row).groups() == ("not_compliant", None)
    assert "Your verdict is none of the inspectors'" in row
    assert 'data-contradicts' not in row_of(merge_page(lead, demo_inspection, "?only=all"), "B1.2")  # nobody assessed


def test_each_photo_on_the_merge_screen_shows_its_caption(as_user, demo_inspection):
    row = row_of(merge_page(as_user("lead"), demo_inspection), "B2.3")
    caption = re.search(r'<p class="photo-caption" id="(cap-B2\.3-[0-9a-f]{12})">ICU transfer email</p>', row)
    assert caption and f'aria-describedby="{caption.group(1)}"' in row
