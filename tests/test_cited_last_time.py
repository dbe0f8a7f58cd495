"""Cited last time: a renewal of the demo's JACIE centre (whose inspection is
in its corrections: B2.3 confirmed, B4.5 amended, D8.2 withdrawn by the
committee) shows each earlier citation on its standard, filters the merge
screen by them and says in the report what became of each; across a change
of checklist edition, through an edition map."""
import re
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from inspector.app import demo
from inspector.app.cli import main
from inspector.domain import catalog, cited_last_time, edition_maps, inspections, programs, team, users
from tests.helpers import Device, committee_decides, push

NEXT_YEAR = (date.today() + timedelta(days=300)).isoformat()


def uid(db, username):
    return users.by_username(db, username)["id"]


@pytest.fixture
def jacie(db):
    return inspections.by_site(db, demo.JACIE_SITE)["id"]


def follow_up(db, of, kind="renewal", catalog_id=None, starts_on=NEXT_YEAR):
    """A new inspection of the program of inspection ``of``, led by the demo's lead, inspector1 on it."""
    earlier = inspections.plain(db, of)
    new = inspections.create(db, earlier["site_name"], catalog_id or earlier["catalog_id"], starts_on, starts_on,
                             uid(db, "admin"), body=earlier["body"], program_id=earlier["program_id"], kind=kind,
                             state=inspections.first_state(starts_on))
    team.add_member(db, new, uid(db, "lead"), "lead")
    team.add_member(db, new, uid(db, "inspector1"), "inspector")
    return new


def last_time_section(html):
    found = re.search(r'<section class="cited-last-time".*?</section>', html, re.S)
    return found.group(0) if found else None


def test_each_standard_of_a_renewal_shows_what_was_cited_last_time(as_user, db, jacie):
    renewal = follow_up(db, jacie)
    inspector = as_user("inspector1")
    page = last_time_section(inspector.get(f"/inspections/{renewal}/standards/B2.3").get_data(as_text=True))
    assert "There is no written agreement for transfer to intensive care." in page
    due = committee_decisions_due(db, jacie)["B2.3"]
    assert re.search(r"<dt>Committee.s decision</dt><dd>Confirmed</dd>", page)
    assert f"<dt>Correction due</dt><dd>{due}</dd>" in page
    assert "<dt>Correction accepted</dt><dd>No</dd>" in page

    # The committee's amended text, not the lead's draft.
    amended = last_time_section(inspector.get(f"/inspections/{renewal}/standards/B4.5").get_data(as_text=True))
    assert "One deviation of two was closed without an investigation of its root cause." in amended
    assert "Deviations are closed without an investigation" not in amended and "<dd>Amended</dd>" in amended
    # Withdrawn by the committee, or never cited: nothing carried.
    for code, draft in (("D8.2", "Dewar alarm tests"), ("B3.1", "toxicity training")):
        section = last_time_section(inspector.get(f"/inspections/{renewal}/standards/{code}").get_data(as_text=True))
        assert "Not cited last time." in section and draft not in section


def committee_decisions_due(db, inspection_id):
    from inspector.domain import committee
    return {code: d["due_on"] for code, d in committee.decisions(db, inspection_id).items()}


def test_an_accepted_correction_shows_as_accepted(as_user, db, jacie):
    renewal = follow_up(db, jacie, kind="interim")
    # The demo centre submitted round 1 of B2.3; the lead of the earlier inspection accepts it.
    assert as_user("lead").post(f"/inspections/{jacie}/responses/B2.3/review",
                                data={"round": "1", "outcome": "accepted"}).status_code in (302, 303)
    page = as_user("inspector1").get(f"/inspections/{renewal}/standards/B2.3").get_data(as_text=True)
    assert "<dt>Correction accepted</dt><dd>Yes</dd>" in last_time_section(page)


@pytest.mark.parametrize("kind", ["initial", "internal"])
def test_an_initial_inspection_or_internal_audit_starts_from_nothing(as_user, db, jacie, kind):
    earlier = inspections.plain(db, jacie)
    new = inspections.create(db, earlier["site_name"], earlier["catalog_id"], NEXT_YEAR, NEXT_YEAR,
                             uid(db, "admin"), body="internal" if kind == "internal" else "jacie",
                             program_id=earlier["program_id"], kind=kind)
    team.add_member(db, new, uid(db, "lead"), "lead")
    lead = as_user("lead")
    assert last_time_section(lead.get(f"/inspections/{new}/standards/B2.3").get_data(as_text=True)) is None
    merge = lead.get(f"/inspections/{new}/merge").get_data(as_text=True)
    assert "Cited last time" not in merge
    assert lead.get(f"/inspections/{new}/merge?only=cited_last_time").status_code == 404
    assert 'id="last-time-h"' not in lead.get(f"/inspections/{new}/report").get_data(as_text=True)


def test_the_earlier_inspection_is_the_newest_before_this_one_that_reached_the_committee(db, jacie):
    renewal = follow_up(db, jacie)
    jacie_row = inspections.plain(db, jacie)
    # Still on site, then past the committee with nothing cited: only the second takes over.
    between = inspections.create(db, jacie_row["site_name"], jacie_row["catalog_id"],
                                 (date.today() - timedelta(days=10)).isoformat(), date.today().isoformat(),
                                 uid(db, "admin"), body="jacie", program_id=jacie_row["program_id"])
    later = follow_up(db, jacie, kind="focused", starts_on=(date.today() + timedelta(days=400)).isoformat())
    inspections.set_state(db, later, "closed")  # begins after the renewal: never its "last time"
    assert cited_last_time.earlier_inspection(db, inspections.plain(db, renewal))["id"] == jacie
    inspections.set_state(db, between, "closed")
    found = cited_last_time.carried(db, inspections.plain(db, renewal))
    assert (found.earlier["id"], found.citations) == (between, [])


def test_the_merge_screen_filters_the_standards_cited_last_time(as_user, db, jacie):
    renewal = follow_up(db, jacie)
    lead = as_user("lead")
    page = lead.get(f"/inspections/{renewal}/merge").get_data(as_text=True)
    assert f'href="/inspections/{renewal}/merge?only=cited_last_time"' in page
    filtered = lead.get(f"/inspections/{renewal}/merge?only=cited_last_time").get_data(as_text=True)
    assert re.findall(r'<article class="merge-row" id="std-([^"]+)"', filtered) == ["B2.3", "B4.5"]
    assert filtered.count('<span class="badge cited-last-time">Cited last time</span>') == 2


def test_the_report_says_what_became_of_each_earlier_citation(as_user, db, jacie):
    renewal = follow_up(db, jacie)
    lead = as_user("lead")

    def now():
        html = lead.get(f"/inspections/{renewal}/report").get_data(as_text=True)
        section = re.search(r'<section class="report-section" aria-labelledby="last-time-h">.*?</section>', html,
                            re.S).group(0)
        return dict(re.findall(r'<tr data-code="([^"]*)">.*?<td class="now">([^<]+)</td>', section, re.S))

    assert now() == {"B2.3": "Not decided yet", "B4.5": "Not decided yet"}
    device = Device()
    answer = push(lead, [device.op(renewal, "B2.3", "decision_verdict", "compliant"),
                         device.op(renewal, "B4.5", "decision_verdict", "not_compliant")]).json
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]
    assert now() == {"B2.3": "Now compliant", "B4.5": "Cited again"}


# --- across a change of edition ------------------------------------------------------------

OLD_EDITION = "Old edition (test)"
OLD_STANDARDS = [("B2", "", "Clinical unit"), ("B2.3", "B2", "Intensive care"), ("B8", "", "Ordering"),
                 ("B8.1", "B8", "Ordering the product"), ("B8.2", "B8", "Receipt of the product")]


@pytest.fixture
def old_edition(db):
    rows = catalog.check([(f"line {n}", {"code": c, "parent": p, "title": t, "text": "", "guidance": "",
                                         "roles": "clinical"}) for n, (c, p, t) in enumerate(OLD_STANDARDS, 2)])
    return catalog.import_rows(db, rows, OLD_EDITION, "test")


@pytest.fixture
def earlier_on_old_edition(app, db, old_edition, as_user):
    """A FACT inspection of a new program on the old edition, through the
    committee: B8.1 (now B7.2.1) and B2.3 (the same code now) cited."""
    program = programs.create(db, "Lakeside Hospital", uid(db, "admin"))
    earlier = inspections.create(db, "Lakeside Hospital", old_edition, "2024-05-01", "2024-05-02",
                                 uid(db, "admin"), program_id=program)
    team.add_member(db, earlier, uid(db, "lead"), "lead")
    device = Device()
    answer = push(as_user("lead"), [
        device.op(earlier, "B8.1", "decision_verdict", "not_compliant"),
        device.op(earlier, "B8.1", "citation", "Orders are placed by telephone without a written record."),
        device.op(earlier, "B2.3", "decision_verdict", "not_compliant"),
        device.op(earlier, "B2.3", "citation", "No written agreement with intensive care.")]).json
    assert {r["status"] for r in answer["results"]} == {"applied"}
    inspections.set_state(db, earlier, "committee")
    committee_decides(db, earlier, uid(db, "admin"))
    return earlier


def write_map(tmp_path, text, name="map.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def import_map(app, path, old=OLD_EDITION, new=catalog.ILLUSTRATIVE_EDITION):
    return CliRunner().invoke(main, ["catalog", "map", "--data", app.config["DATA_DIR"], old, new, str(path)])


def test_without_a_map_only_identical_codes_match_and_the_page_says_so(as_user, db, earlier_on_old_edition):
    renewal = follow_up(db, earlier_on_old_edition, catalog_id=1)
    inspector = as_user("inspector1")
    moved = last_time_section(inspector.get(f"/inspections/{renewal}/standards/B7.2.1").get_data(as_text=True))
    assert (f"The earlier inspection used edition {OLD_EDITION}; without an edition map only identical codes "
            f"are matched.") in moved
    assert "Not cited last time." in moved
    same = last_time_section(inspector.get(f"/inspections/{renewal}/standards/B2.3").get_data(as_text=True))
    assert "No written agreement with intensive care." in same


def test_an_edition_map_carries_the_earlier_citations_across(app, as_user, db, tmp_path, earlier_on_old_edition):
    renewal = follow_up(db, earlier_on_old_edition, catalog_id=1)
    result = import_map(app, write_map(tmp_path, "old_code,new_code\nB8.1,B7.2.1\nB8.2,B7.2.2\nB2.3,B2.3\n"))
    assert result.exit_code == 0, result.output
    assert "Imported the map of 3 codes" in result.output
    inspector = as_user("inspector1")
    page = last_time_section(inspector.get(f"/inspections/{renewal}/standards/B7.2.1").get_data(as_text=True))
    assert "Orders are placed by telephone without a written record." in page
    assert '<span class="code">B8.1</span> (that edition\'s code)' in page
    assert "without an edition map" not in page
    report = as_user("lead").get(f"/inspections/{renewal}/report").get_data(as_text=True)
    assert re.search(r'<tr data-code="B7.2.1"><th scope="row"><span class="code">B7.2.1</span> \(was B8.1\)', report)


def test_a_second_map_for_the_same_editions_replaces_the_first(app, db, tmp_path, old_edition):
    assert import_map(app, write_map(tmp_path, "old_code,new_code\nB8.1,B7.2.1\nB8.2,B7.2.2\n")).exit_code == 0
    again = import_map(app, write_map(tmp_path, "old_code,new_code\nB8.1,B7.2.2\n", "fixed.csv"))
    assert again.exit_code == 0 and "in place of the earlier map of 2 codes" in again.output
    assert [tuple(r) for r in db.conn.execute("SELECT old_code, new_code FROM edition_maps WHERE from_catalog = ?",
                                              [old_edition])] == [("B8.1", "B7.2.2")]
    assert [r[0] for r in db.conn.execute("SELECT before FROM audit WHERE action = 'catalog.mapped' "
                                          "AND subject LIKE ? ORDER BY id", [OLD_EDITION + "%"])] \
        == [None, '{"codes":2}']


@pytest.mark.parametrize("content, problems", [
    ("old_code,new_code\nB8.1,B7.2.1\nB9.9,B7.2.2\nB8.2,B99.1\nB8.1,B7.2.3\n",
     ["line 3: unknown old code 'B9.9': not a standard of 'Old edition (test)'",
      "line 4: unknown new code 'B99.1': not a standard of 'IEC 3rd edition (illustrative v2",
      "line 5: duplicate old code B8.1 (first at line 2)"]),
    ("old,new\nB8.1,B7.2.1\nB8.2\n", ["line 1: the header must be old_code,new_code (found old,new)",
                                       "line 3: expected 2 columns (old_code,new_code), found 1"]),
    (b"old_code,new_code\nB8.1,B7.2.1\nB8.2,B7.2.\xe9\n", ["line 3: bad encoding, the file must be UTF-8"]),
    ("old_code,new_code\n", ["no codes in the file"]),
    ("old_code,new_code\nB8,B7\n", ["line 2: unknown old code 'B8'", "line 2: unknown new code 'B7'"]),
])
def test_a_bad_map_is_refused_whole_with_every_problem_and_its_line(app, db, tmp_path, old_edition, content,
                                                                    problems):
    result = import_map(app, write_map(tmp_path, content))
    assert result.exit_code == 1
    for problem in problems:
        assert f"Error: map.csv: {problem}" in result.output
    assert "Nothing was imported." in result.output
    assert db.conn.execute("SELECT count(*) FROM edition_maps WHERE from_catalog = ?", [old_edition]).fetchone()[0] == 0
    assert db.conn.execute("SELECT count(*) FROM audit WHERE action = 'catalog.mapped' AND subject LIKE ?",
                           [OLD_EDITION + "%"]).fetchone()[0] == 0


@pytest.mark.parametrize("old, new, message", [
    ("No such edition", catalog.ILLUSTRATIVE_EDITION, "no edition named 'No such edition'"),
    (OLD_EDITION, OLD_EDITION, "the old and the new edition are the same"),
])
def test_a_map_between_editions_that_are_not_there_is_refused(app, tmp_path, old_edition, old, new, message):
    result = import_map(app, write_map(tmp_path, "old_code,new_code\nB8.1,B7.2.1\n"), old, new)
    assert result.exit_code == 1 and message in result.output


# --- the map shipped for the illustrative editions ----------------------------------------

SHIPPED = catalog.bundled_catalog_path().parent


def test_the_shipped_csv_map_says_what_the_json_map_says():
    import csv
    import json
    codes = json.loads((SHIPPED / "iec3_illustrative_v1_to_v2.json").read_text())["codes"]
    with open(SHIPPED / "iec3_illustrative_v1_to_v2.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["old_code", "new_code"]
    assert dict(rows[1:]) == codes and len(rows) - 1 == len(codes)


def test_the_shipped_first_edition_holds_exactly_the_codes_its_map_names():
    import json
    first = json.loads((SHIPPED / "iec3_illustrative_v1_to_v2.json").read_text())
    standards = [r["code"] for r in catalog.read_file(SHIPPED / "iec3_illustrative_v1.csv") if r["parent"]]
    assert sorted(standards) == sorted(first["codes"]) and len(standards) == 239


def test_the_shipped_map_imports_into_an_install_holding_both_illustrative_editions(app, db):
    """The demo holds both (its program's earlier inspection is on the first)
    and the shipped map; importing it again replaces it, code for code."""
    import json
    first = json.loads((SHIPPED / "iec3_illustrative_v1_to_v2.json").read_text())
    result = import_map(app, SHIPPED / "iec3_illustrative_v1_to_v2.csv", first["from"], first["to"])
    assert result.exit_code == 0, result.output
    assert "in place of the earlier map of 239 codes" in result.output
    old, new = (catalog.edition_by_name(db, first[k])["id"] for k in ("from", "to"))
    assert edition_maps.of(db, old, new) == first["codes"]