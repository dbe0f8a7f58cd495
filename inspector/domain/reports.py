"""The inspection report: one template for the page and the PDF, and the
same consolidation as CSV and XLSX.

A draft until the committee decides (a DRAFT mark, the title "Draft
report"), then the inspection report: a reference and version, the team,
an executive summary, compliance per section, each citation with the
photos the lead released (with their captions), the committee's decision,
its due date and the site's correction; the suggestions, the outcome, a
sign-off and how to verify it. Only the lead's decisions, their text and
the photos the lead released go into a report: an inspector's note is
private to the team and is never read here.
"""
import csv
import io
from collections import Counter, defaultdict

from . import bodies, cited_last_time, committee, preparation, programs, review, team
from .catalog import SCALES

# From the committee's decision on, the report is no longer a draft.
DECIDED_STATES = ("corrections", "closed")
# The states in which a report is issued (a new version each time one is entered).
ISSUED_STATES = ("factual_accuracy", "committee", "corrections", "closed")
# The mark on every form of an internal audit's report: the page, the PDF,
# and the first line of the CSV and the title of the XLSX.
INTERNAL_AUDIT = "Internal audit: not an accreditation inspection"


def mark(inspection):
    """The report's mark: INTERNAL_AUDIT for an internal audit, else None."""
    return INTERNAL_AUDIT if programs.is_internal_audit(inspection) else None


def reference(inspection):
    """The report's reference: <body>-<year of the visit>-<inspection id>."""
    return f"{bodies.of(inspection).name.split()[0].upper()}-{inspection['starts_on'][:4]}-{inspection['id']}"


def issues(db, inspection_id):
    """(version, date issued) of the report: one version each time the
    inspection entered a state in which it is issued; (0, None) before."""
    marks = ",".join("?" * len(ISSUED_STATES))
    rows = db.conn.execute(
        f"SELECT at FROM audit WHERE inspection_id = ? AND action = 'state.moved' AND subject IN ({marks}) "
        f"ORDER BY id", [inspection_id, *ISSUED_STATES]).fetchall()
    return (len(rows), rows[-1][0][:10]) if rows else (0, None)


def _captions(db, inspection_id):
    """{(code, sha256): caption} of the photos on the team's findings: a photo
    the lead releases goes out with its caption (the first one written)."""
    out = {}
    for r in db.conn.execute("SELECT standard_code, sha256, caption FROM finding_photos WHERE inspection_id = ? "
                             "AND attached = 1 AND caption != '' ORDER BY caption_hlc", [inspection_id]):
        out.setdefault((r[0], r[1]), r[2])
    return out


def draft(db, inspection):
    """Everything the report shows, in catalog order."""
    i, c = inspection["id"], inspection["catalog_id"]
    labels = SCALES[inspection["scale"]]
    standards = db.conn.execute(
        "SELECT s.code, s.title, s.section_code, d.verdict FROM standards s "
        "LEFT JOIN decisions d ON d.inspection_id = ? AND d.standard_code = s.code "
        "WHERE s.catalog_id = ? AND s.depth > 0 ORDER BY s.position", [i, c]).fetchall()
    sections = {r["code"]: r["title"] for r in db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth = 0 ORDER BY position", [c])}
    cited, suggestions = review.citations(db, inspection)
    captions = _captions(db, i)
    decided_by_committee = committee.decisions(db, i)
    due = committee.corrections(db, inspection)
    rounds = review.rounds(db, i)
    citations = []
    for cit in cited:
        decision = decided_by_committee.get(cit["code"])
        history = [r for r in rounds.get(cit["code"], []) if r["round"] > 0]
        last = history[-1] if history else None
        submitted = last and last["response"] and last["response"]["submitted"]
        citations.append({
            **cit, "verdict": labels.get(cit["verdict"], cit["verdict"]), "citation": cit["citation"] or "",
            "section": sections.get(cit["section_code"], ""),
            "photos": [{"sha256": sha, "caption": captions.get((cit["code"], sha), "")} for sha in cit["photos"]],
            "committee": decision, "committee_label": committee.DECISIONS.get(decision["decision"]) if decision else "",
            "overdue": bool(due.get(cit["code"], {}).get("overdue")),
            "correction": {"explanation": last["response"]["corrective_action"] or "",
                           "target_date": last["response"]["target_date"] or "",
                           "documents": [d["filename"] for d in last["documents"]],
                           "review": review.OUTCOMES.get(last["review"]["outcome"]) if last["review"] else "",
                           "round": last["round"]} if submitted else None,
        })
    decided = Counter(s["verdict"] for s in standards if s["verdict"])
    by_part, by_section = defaultdict(Counter), defaultdict(Counter)
    for s in standards:
        by_part[s["section_code"][:1]][s["verdict"] or "undecided"] += 1
        by_section[s["section_code"]][s["verdict"] or "undecided"] += 1
    # Where the team's consolidated verdict differs from the program's own.
    self_assessed = preparation.self_assessment(db, i)
    differs = [{"code": s["code"], "title": s["title"], "team": labels.get(s["verdict"], s["verdict"]),
                "program": labels.get(self_assessed[s["code"]]["verdict"], self_assessed[s["code"]]["verdict"])}
               for s in standards if s["verdict"] and s["code"] in self_assessed
               and self_assessed[s["code"]]["verdict"] and self_assessed[s["code"]]["verdict"] != s["verdict"]]
    version, issued_on = issues(db, i)
    last_time = cited_last_time.carried(db, inspection)
    verdicts = {s["code"]: s["verdict"] for s in standards}
    members = team.members(db, i)
    lead = next((m["display_name"] for m in members if m["team_role"] == "lead"), "")
    coordinator = db.conn.execute("SELECT display_name FROM users WHERE id = ?",
                                  [inspection["decided_by"]]).fetchone() if inspection["decided_by"] else None
    return {
        "team": members, "citations": citations, "suggestions": suggestions,
        "counts": [(labels[code], decided.get(code, 0)) for code in labels],
        "undecided": sum(1 for s in standards if not s["verdict"]), "total": len(standards),
        "not_decided": [s["code"] for s in standards if not s["verdict"]],
        # Counts per part (B, C, D) and per section: verdict code -> n, "undecided" too.
        "parts": sorted(by_part.items()), "sections": [(code, title, by_section[code]) for code, title in sections.items()
                                                       if code in by_section],
        "scale": labels, "is_draft": inspection["state"] not in DECIDED_STATES,
        "reference": reference(inspection), "version": version, "issued_on": issued_on,
        "lead": lead, "coordinator": coordinator[0] if coordinator else "",
        "outcome": bodies.of(inspection).outcomes.get(inspection["outcome"]) if inspection["outcome"] else "",
        "committee_date": inspection["committee_date"],
        # The official text is shown only from a licensed catalog the organisation loaded.
        "show_text": not inspection["illustrative"],
        "self_assessed": bool(self_assessed), "differs": differs,
        # Requests for information still open: neither requests nor answers
        # change after the visit (access.REQUEST_STATES, PROGRAM_STATES), so
        # those open now are those open when the findings were merged.
        "missing_documents": preparation.open_requests(db, i),
        "mark": mark(inspection),
        # Per citation of the program's earlier inspection: what became of it (None: no earlier inspection).
        "last_time": last_time and {
            "earlier": last_time.earlier, "other_edition": last_time.other_edition, "mapped": last_time.mapped,
            "citations": [{**c, "now": cited_last_time.now(c, verdicts)} for c in last_time.citations]},
    }


def table(db, inspection):
    """(header, rows): one row per standard in catalog order with the
    consolidated verdict, citation, suggestion and each inspector's verdict."""
    i, c = inspection["id"], inspection["catalog_id"]
    labels = SCALES[inspection["scale"]]
    verdicts = {(r[0], r[1]): r[2] for r in db.conn.execute(
        "SELECT standard_code, inspector_id, verdict FROM findings WHERE inspection_id = ? AND verdict IS NOT NULL",
        [i])}
    # A column for each member who gave verdicts (the lead too, if they assessed), by name.
    gave = {inspector for _, inspector in verdicts}
    inspectors = sorted((m for m in team.members(db, i) if m["id"] in gave), key=lambda m: m["display_name"])
    by_committee, due = committee.decisions(db, i), committee.corrections(db, inspection)
    rows = []
    for s in db.conn.execute(
            "SELECT s.code, s.title, d.verdict, d.citation, d.suggestion FROM standards s "
            "LEFT JOIN decisions d ON d.inspection_id = ? AND d.standard_code = s.code "
            "WHERE s.catalog_id = ? AND s.depth > 0 ORDER BY s.position", [i, c]):
        rows.append([s["code"], s["title"], labels.get(s["verdict"], "Not decided"), s["citation"] or "",
                     s["suggestion"] or "", *_due_and_status(by_committee.get(s["code"]), due.get(s["code"])),
                     *(labels.get(verdicts.get((s["code"], p["id"])), "") for p in inspectors)])
    words = bodies.words(inspection)
    header = ["Code", "Standard", "Consolidated verdict", words["Citation"], words["Suggestion"], "Due date", "Status"]
    return header + [f"Verdict: {p['display_name']}" for p in inspectors], rows


def _due_and_status(decision, due):
    """The due date and status columns of a standard's row."""
    if decision is None:
        return ["", ""]
    if decision["decision"] == "withdrawn":
        return ["", "Withdrawn by the committee"]
    status = "Accepted" if due and due["accepted"] else "Overdue" if due and due["overdue"] else "Open"
    return [decision["due_on"] or "", status]


def as_csv(header, rows, first_line=None):
    """The table as CSV; ``first_line`` (the report's mark) goes above the header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if first_line:
        writer.writerow([first_line])
    writer.writerow(header)
    writer.writerows([[_safe_cell(v) for v in row] for row in rows])
    # A byte-order mark so spreadsheet programs read the file as UTF-8.
    return "\ufeff" + out.getvalue()


def as_xlsx(header, rows, title):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Consolidated findings"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe_cell(v) for v in row])
    for column, width in zip("ABCDE", (10, 40, 18, 60, 40)):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _safe_cell(value):
    # Text a spreadsheet would run as a formula ("=HYPERLINK(...)") starts with a quote instead.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
