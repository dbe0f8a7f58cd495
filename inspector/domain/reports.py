"""The draft report: a cover, the draft citations numbered in catalog order,
then suggestions; and the same consolidation as CSV, XLSX and PDF.

Only the lead's decisions, citation and suggestion text and the photos the
lead released go into a report: an inspector's note is private to the team
and is never read here.
"""
import csv
import io
from collections import Counter

from .catalog import DEFICIENT, SCALES

HEADER = ["Code", "Standard", "Consolidated verdict", "Citation", "Suggestion"]


def draft(db, inspection):
    """Everything the draft report shows, in catalog order."""
    i, c = inspection["id"], inspection["catalog_id"]
    labels = SCALES[inspection["scale"]]
    standards = db.conn.execute(
        "SELECT s.code, s.title, s.text, s.section_code, d.verdict, d.citation, d.suggestion "
        "FROM standards s LEFT JOIN decisions d ON d.inspection_id = ? AND d.standard_code = s.code "
        "WHERE s.catalog_id = ? AND s.depth > 0 ORDER BY s.position", [i, c]).fetchall()
    sections = {r["code"]: r["title"] for r in db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth = 0", [c])}
    # Released photos only, without their captions: a caption is an inspector's
    # own words, private to the team like the note.
    released = {}
    for r in db.conn.execute("SELECT standard_code, sha256 FROM photo_releases WHERE inspection_id = ? "
                             "AND released = 1 ORDER BY standard_code, sha256", [i]):
        released.setdefault(r["standard_code"], []).append({"sha256": r["sha256"]})
    team = db.conn.execute(
        "SELECT u.id, u.display_name, m.team_role FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.inspection_id = ? ORDER BY m.team_role DESC, u.display_name", [i]).fetchall()
    citations, suggestions = [], []
    for s in standards:
        if s["verdict"] in DEFICIENT:
            citations.append({"number": len(citations) + 1, "code": s["code"], "title": s["title"],
                              "text": s["text"], "section": sections.get(s["section_code"], ""),
                              "verdict": labels.get(s["verdict"], s["verdict"]), "citation": s["citation"] or "",
                              "photos": released.get(s["code"], [])})
        if (s["suggestion"] or "").strip():
            suggestions.append({"code": s["code"], "title": s["title"], "suggestion": s["suggestion"]})
    decided = Counter(s["verdict"] for s in standards if s["verdict"])
    return {
        "team": team, "citations": citations, "suggestions": suggestions,
        "counts": [(labels[code], decided.get(code, 0)) for code in labels],
        "undecided": sum(1 for s in standards if not s["verdict"]), "total": len(standards),
        # The official text is shown only from a licensed catalog the organisation loaded.
        "show_text": not inspection["illustrative"],
    }


def table(db, inspection):
    """(header, rows): one row per standard in catalog order with the
    consolidated verdict, citation, suggestion and each inspector's verdict."""
    i, c = inspection["id"], inspection["catalog_id"]
    labels = SCALES[inspection["scale"]]
    # A column for each member who gave verdicts (the lead too, if they assessed).
    inspectors = db.conn.execute(
        "SELECT u.id, u.display_name FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.inspection_id = ? AND EXISTS (SELECT 1 FROM findings f WHERE f.inspection_id = m.inspection_id "
        "AND f.inspector_id = m.user_id AND f.verdict IS NOT NULL) ORDER BY u.display_name", [i]).fetchall()
    verdicts = {(r[0], r[1]): r[2] for r in db.conn.execute(
        "SELECT standard_code, inspector_id, verdict FROM findings WHERE inspection_id = ? AND verdict IS NOT NULL",
        [i])}
    rows = []
    for s in db.conn.execute(
            "SELECT s.code, s.title, d.verdict, d.citation, d.suggestion FROM standards s "
            "LEFT JOIN decisions d ON d.inspection_id = ? AND d.standard_code = s.code "
            "WHERE s.catalog_id = ? AND s.depth > 0 ORDER BY s.position", [i, c]):
        rows.append([s["code"], s["title"], labels.get(s["verdict"], ""), s["citation"] or "", s["suggestion"] or "",
                     *(labels.get(verdicts.get((s["code"], p["id"])), "") for p in inspectors)])
    return HEADER + [f"Verdict: {p['display_name']}" for p in inspectors], rows


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
