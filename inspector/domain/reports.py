"""The draft report: a cover, the draft citations numbered in catalog order,
then suggestions; and the same consolidation as CSV, XLSX and PDF.

Only the lead's decisions, citation and suggestion text and the photos the
lead released go into a report: an inspector's note is private to the team
and is never read here.
"""
import csv
import io
from collections import Counter

from . import bodies, review, team
from .catalog import SCALES



def draft(db, inspection):
    """Everything the draft report shows, in catalog order."""
    i, c = inspection["id"], inspection["catalog_id"]
    labels = SCALES[inspection["scale"]]
    verdicts = [r[0] for r in db.conn.execute(
        "SELECT d.verdict FROM standards s LEFT JOIN decisions d ON d.inspection_id = ? AND d.standard_code = s.code "
        "WHERE s.catalog_id = ? AND s.depth > 0", [i, c])]
    sections = {r["code"]: r["title"] for r in db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth = 0", [c])}
    cited, suggestions = review.citations(db, inspection)
    citations = [{**cit, "verdict": labels.get(cit["verdict"], cit["verdict"]), "citation": cit["citation"] or "",
                  "section": sections.get(cit["section_code"], "")} for cit in cited]
    decided = Counter(v for v in verdicts if v)
    return {
        "team": team.members(db, i), "citations": citations, "suggestions": suggestions,
        "counts": [(labels[code], decided.get(code, 0)) for code in labels],
        "undecided": sum(1 for v in verdicts if not v), "total": len(verdicts),
        # The official text is shown only from a licensed catalog the organisation loaded.
        "show_text": not inspection["illustrative"],
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
    rows = []
    for s in db.conn.execute(
            "SELECT s.code, s.title, d.verdict, d.citation, d.suggestion FROM standards s "
            "LEFT JOIN decisions d ON d.inspection_id = ? AND d.standard_code = s.code "
            "WHERE s.catalog_id = ? AND s.depth > 0 ORDER BY s.position", [i, c]):
        rows.append([s["code"], s["title"], labels.get(s["verdict"], ""), s["citation"] or "", s["suggestion"] or "",
                     *(labels.get(verdicts.get((s["code"], p["id"])), "") for p in inspectors)])
    words = bodies.words(inspection)
    header = ["Code", "Standard", "Consolidated verdict", words["Citation"], words["Suggestion"]]
    return header + [f"Verdict: {p['display_name']}" for p in inspectors], rows


def as_csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
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
