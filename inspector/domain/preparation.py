"""Before the visit: the program's self-assessment, its documents and the
crosswalk of document to standard, and the inspectors' requests for
information with the program's answers.

The self-assessment, the crosswalk, the requests and the answers are
registers the sync protocol writes (sync/registers.py); a document's title
and version are stored when it is uploaded (``add_document``). This module
reads them for the pages, each query scoped to one inspection, and holds
the rules the program's writes are checked by (the fields' prechecks).
"""
from datetime import datetime, timezone

from . import access, audit
from .access import Refusal
from .db import joined_transaction
from .documents import quota_refusal


def self_assessment(db, inspection_id):
    """{standard code: row (verdict, how)} of the program's self-assessment."""
    return {r["standard_code"]: r for r in db.conn.execute(
        "SELECT standard_code, verdict, how FROM self_assessments WHERE inspection_id = ?", [inspection_id])}


def add_document(db, inspection_id, sha256, title, version, link_id):
    """Record a document the program uploaded (stored by documents.store) with
    its title and version; the same file uploaded again keeps one row, its
    title and version updated. In the audit trail, as the link's."""
    with joined_transaction(db):
        before = db.conn.execute("SELECT title, version FROM program_documents WHERE inspection_id = ? "
                                 "AND sha256 = ?", [inspection_id, sha256]).fetchone()
        db["program_documents"].upsert({"inspection_id": inspection_id, "sha256": sha256, "title": title,
                                        "version": version, "link_id": link_id},
                                       pk=("inspection_id", "sha256"))
        audit.record(db, "document.described", inspection_id=inspection_id, link_id=link_id, device="link",
                     subject=sha256, before=dict(before) if before else None,
                     after={"title": title, "version": version})


def documents(db, inspection_id):
    """The program's documents, by title, each with the standards it is linked to (``standards``, in catalog order)."""
    rows = [dict(r) for r in db.conn.execute(
        "SELECT p.sha256, p.title, p.version, p.uploaded_at, d.kind, d.bytes, d.filename "
        "FROM program_documents p JOIN documents d ON d.sha256 = p.sha256 "
        "WHERE p.inspection_id = ? ORDER BY p.title COLLATE NOCASE, p.version", [inspection_id])]
    linked = {}
    for r in db.conn.execute(
            "SELECT x.sha256, x.standard_code FROM crosswalk x JOIN inspections i ON i.id = x.inspection_id "
            "LEFT JOIN standards s ON s.catalog_id = i.catalog_id AND s.code = x.standard_code "
            "WHERE x.inspection_id = ? AND x.linked = 1 ORDER BY s.position", [inspection_id]):
        linked.setdefault(r[0], []).append(r[1])
    for row in rows:
        row["standards"] = linked.get(row["sha256"], [])
    return rows


def documents_by_standard(db, inspection_id):
    """{standard code: [document rows]} from the crosswalk."""
    out = {}
    for doc in documents(db, inspection_id):
        for code in doc["standards"]:
            out.setdefault(code, []).append(doc)
    return out


def requests(db, inspection_id, standard_code=None):
    """Requests for information (not withdrawn text-less ones), oldest first,
    each with who raised it, the program's answer and the documents it attached."""
    scope, params = ("AND q.standard_code = ? ", [inspection_id, inspection_id, standard_code]) if standard_code \
        else ("", [inspection_id, inspection_id])
    # Closing is written on the closer's own row (the raiser's, or a team
    # leader's: preparation.request_refusal checks who), so a request is as
    # its newest closing, on whichever row, says (SQLite's max() takes the
    # other columns from the row it picks).
    rows = [dict(r) for r in db.conn.execute(
        "SELECT q.standard_code, q.raised_by, q.request_id, q.text, q.text_hlc, "
        "coalesce(c.closed, 0) AS closed, coalesce(c.closed_hlc, '') AS closed_hlc, "
        "u.display_name AS raised_by_name, coalesce(a.answer, '') AS answer "
        "FROM requests q JOIN users u ON u.id = q.raised_by "
        "LEFT JOIN (SELECT request_id, closed, max(closed_hlc) AS closed_hlc FROM requests "
        "WHERE inspection_id = ? AND closed_hlc != '' GROUP BY request_id) c ON c.request_id = q.request_id "
        "LEFT JOIN request_answers a ON a.inspection_id = q.inspection_id AND a.request_id = q.request_id "
        f"WHERE q.inspection_id = ? AND q.text != '' {scope}ORDER BY q.text_hlc", params)]
    attached = {}
    for r in db.conn.execute(
            "SELECT r.request_id, d.sha256, d.filename, d.kind, d.bytes FROM request_documents r "
            "JOIN documents d ON d.sha256 = r.sha256 WHERE r.inspection_id = ? AND r.attached = 1 "
            "ORDER BY d.filename", [inspection_id]):
        attached.setdefault(r[0], []).append(dict(r))
    for row in rows:
        row["documents"] = attached.get(row["request_id"], [])
        row["answered"] = bool(row["answer"] or row["documents"])
    return rows


def open_requests(db, inspection_id):
    """Requests neither closed nor answered: the report's missing documents."""
    return [r for r in requests(db, inspection_id) if not r["closed"] and not r["answered"]]


def request_refusal(db, op, inspection):
    """The rule of a request for information that reads the registers: an
    ``rfi`` may not take the id of a request someone else raised, or of one
    on another standard; ``rfi_closed`` names a request raised on this
    standard, closed by its raiser or a team leader."""
    from .access import Refusal
    rows = db.conn.execute("SELECT standard_code, raised_by FROM requests WHERE inspection_id = ? "
                           "AND request_id = ? AND text_hlc != ''", [inspection["id"], op["value"]["id"]]).fetchall()
    mine = inspection["member_id"]
    if op["field"] == "rfi":
        if any(r["standard_code"] != op["standard"] or r["raised_by"] != mine for r in rows):
            return Refusal("request_taken", "This request's id is another request's: the tablet makes a new one.")
        return None
    raised = [r for r in rows if r["standard_code"] == op["standard"]]
    if not raised:
        return Refusal("unknown_request", "There is no such request for information on this standard.")
    if inspection["team_role"] != "lead" and all(r["raised_by"] != mine for r in raised):
        return Refusal("not_raiser", "Only who raised a request for information, or the team leader, closes it.")
    return None


def document(db, inspection_id, sha256):
    """The stored row (sha256, kind, bytes, filename) of a document of this
    inspection, the program's or attached to an answer to a request; None
    for any other, whoever else's it is."""
    return db.conn.execute(
        "SELECT d.* FROM documents d WHERE d.sha256 = :s AND ("
        "EXISTS (SELECT 1 FROM program_documents p WHERE p.inspection_id = :i AND p.sha256 = :s) OR "
        "EXISTS (SELECT 1 FROM request_documents r WHERE r.inspection_id = :i AND r.sha256 = :s AND r.attached = 1))",
        {"i": inspection_id, "s": sha256}).fetchone()


def documents_by_section(db, inspection, sections=None):
    """{section code: {"documents": [sha256, ...], "bytes": total}}: the
    program's documents linked to standards of each section (``sections``:
    only those), and the documents attached to answers to requests raised
    there, each counted once a section: what an inspector stores to read
    that section offline."""
    out = {}
    standards = {r[0]: r[1] for r in db.conn.execute(
        "SELECT code, section_code FROM standards WHERE catalog_id = ? AND depth > 0", [inspection["catalog_id"]])}
    sized = [(code, doc["sha256"], doc["bytes"])
             for code, docs in documents_by_standard(db, inspection["id"]).items() for doc in docs]
    sized += [(r["standard_code"], d["sha256"], d["bytes"])
              for r in requests(db, inspection["id"]) for d in r["documents"]]
    for code, sha256, size in sized:
        section = standards.get(code)
        if section is None or (sections is not None and section not in sections):
            continue
        entry = out.setdefault(section, {"documents": [], "bytes": 0})
        if sha256 not in entry["documents"]:
            entry["documents"].append(sha256)
            entry["bytes"] += size
    return out


# --- the program's self-assessment -------------------------------------------------

def progress(db, inspection):
    """Per section of the inspection's catalog, in order: its code, title,
    ``total`` standards and how many the program has ``assessed`` (given a
    self-assessed verdict)."""
    return [dict(r) for r in db.conn.execute(
        "SELECT s.code, s.title, count(x.code) AS total, count(a.verdict) AS assessed "
        "FROM standards s JOIN standards x ON x.catalog_id = s.catalog_id AND x.section_code = s.code "
        "AND x.depth > 0 "
        "LEFT JOIN self_assessments a ON a.inspection_id = ? AND a.standard_code = x.code "
        "WHERE s.catalog_id = ? AND s.depth = 0 GROUP BY s.code ORDER BY s.position",
        [inspection["id"], inspection["catalog_id"]])]


def section_standards(db, inspection, section_code):
    """The standards of one section in catalog order, each with the program's
    ``verdict`` and ``how`` (None and '' before its first answer)."""
    return [dict(r) for r in db.conn.execute(
        "SELECT s.code, s.title, s.text, s.depth, a.verdict, coalesce(a.how, '') AS how FROM standards s "
        "LEFT JOIN self_assessments a ON a.inspection_id = ? AND a.standard_code = s.code "
        "WHERE s.catalog_id = ? AND s.section_code = ? AND s.depth > 0 ORDER BY s.position",
        [inspection["id"], inspection["catalog_id"], section_code])]


def submit(db, inspection, link_id):
    """Record the program's submission of its self-assessment (once), in the
    audit trail as the link's. From then on it is read only (``read_only``)."""
    with joined_transaction(db):
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = db.conn.execute("UPDATE inspections SET self_assessment_submitted_at = ? WHERE id = ? "
                                  "AND self_assessment_submitted_at IS NULL", [stamp, inspection["id"]]).rowcount
        if changed:
            audit.record(db, "self_assessment.submitted", inspection_id=inspection["id"], link_id=link_id,
                         device=f"link{link_id}", subject=str(inspection["id"]), after={"submitted_at": stamp})
    return bool(changed)


def submit_refusal(link, inspection):
    """Why the program may not submit its self-assessment now, or None."""
    return access.prepare_refusal(link, inspection, "self_verdict") or read_only(inspection)


def read_only(inspection):
    """The self-assessment is read only once submitted."""
    if inspection["self_assessment_submitted_at"]:
        return Refusal("submitted", f"The self-assessment was submitted on "
                                    f"{inspection['self_assessment_submitted_at'][:10]}: it can no longer change.")
    return None


def has_document(db, inspection_id, sha256):
    """Whether the program uploaded this document for this inspection."""
    return db.conn.execute("SELECT 1 FROM program_documents WHERE inspection_id = ? AND sha256 = ?",
                           [inspection_id, sha256]).fetchone() is not None


def upload_refusal(link, inspection, field, kept_bytes, quota):
    """Why the program, by this link, may not store a document now, or None:
    the state rule of the field the document is for (``crosswalk`` or
    ``rfi_document``), then the link's quota (as the site's evidence)."""
    return access.prepare_refusal(link, inspection, field) or quota_refusal(link, kept_bytes, quota)


# --- prechecks of the program's writes (sync/fields.py) -------------------------------

def self_assessment_precheck(db, op, inspection):
    return read_only(inspection)


def crosswalk_precheck(db, op, inspection):
    """A crosswalk names a document the program uploaded for this inspection."""
    if not has_document(db, inspection["id"], op["value"]["sha256"]):
        return Refusal("unknown_document", "That document was not uploaded for this inspection: upload it first.")
    return None


def request_precheck(db, op, inspection):
    """An answer (or a document) goes to an open request for information of
    this inspection, on the standard it was raised on (open as ``requests``
    reads it: its newest closing, by whoever closed it); a document must be
    one the program uploaded for this inspection."""
    found = [r for r in requests(db, inspection["id"], op["standard"]) if r["request_id"] == op["value"]["id"]]
    if not found:
        return Refusal("unknown_request", "There is no such request for information on this standard.")
    if found[0]["closed"]:
        return Refusal("request_closed", "The inspectors closed this request for information: it takes no answer.")
    if op["field"] == "rfi_document":
        return crosswalk_precheck(db, op, inspection)
    return None
