"""The site's review of the draft citations: the links issued to it, its
responses round by round, the evidence it attaches, and the lead's review.

Responses and reviews are last-writer-wins registers written by ops, like
findings (sync/fields.py); the site's ops are written by its review link.
Each field is its own register, so two people from the site, on two links,
each saving only the fields they changed, never overwrite each other's
fields; on the same field the later save wins and the earlier stays in the
log and the audit trail.
"""
import hmac
import secrets
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from . import access, documents
from .access import Refusal
from .catalog import DEFICIENT
from .merge import released_photos

OUTCOMES = {"accepted": "Accepted", "more_info": "More information needed"}
MAX_DAYS = 90


# --- links ------------------------------------------------------------------------

def _now():
    return datetime.now(timezone.utc)


def _stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_link(db, inspection_id, issued_to, email, days, issued_by, purpose="site_review"):
    """A new link row for ``purpose`` (access.LINK_PURPOSES), valid ``days``
    from now; returns its id. Its random nonce goes into the signed token:
    the token opens this row and no other that may later take the same id
    (after a restore)."""
    return db["review_links"].insert({
        "inspection_id": inspection_id, "issued_to": issued_to, "email": email, "issued_by": issued_by,
        "expires_at": _stamp(_now() + timedelta(days=days)), "nonce": secrets.token_hex(16), "purpose": purpose,
    }).last_pk


def link(db, link_id):
    return db.conn.execute("SELECT * FROM review_links WHERE id = ?", [link_id]).fetchone()


def links_of(db, inspection_id, purpose="site_review"):
    """The inspection's links for ``purpose``, newest first."""
    return db.conn.execute(
        "SELECT l.*, u.display_name AS issued_by_name FROM review_links l JOIN users u ON u.id = l.issued_by "
        "WHERE l.inspection_id = ? AND l.purpose = ? ORDER BY l.id DESC", [inspection_id, purpose]).fetchall()


def live_links(db, inspection_id, purpose="site_review"):
    return [row for row in links_of(db, inspection_id, purpose) if is_live(row)]


def live_links_many(db, inspection_ids, purpose="site_review"):
    """{inspection id: its live links for ``purpose``} for each id, in one query."""
    ids = sorted(set(inspection_ids))
    out = {i: [] for i in ids}
    if ids:
        for row in db.conn.execute(f"SELECT * FROM review_links WHERE purpose = ? AND inspection_id IN "
                                   f"({','.join('?' * len(ids))}) ORDER BY id DESC", [purpose, *ids]):
            if is_live(row):
                out[row["inspection_id"]].append(row)
    return out


def is_live(row):
    """Issued, not revoked, not expired."""
    return row is not None and row["revoked_at"] is None and row["expires_at"] > _stamp(_now())


def is_issued_as(row, nonce):
    """Whether a token carrying ``nonce`` was issued for this very row."""
    return (row is not None and isinstance(row["nonce"], str) and isinstance(nonce, str) and nonce.isascii()
            and hmac.compare_digest(row["nonce"], nonce))


def revoke_link(db, link_id):
    db.conn.execute("UPDATE review_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    [_stamp(_now()), link_id])


def note_opened(db, link_id, every=timedelta(hours=1)):
    """Remember when the link was last opened; True when that is worth a line
    in the audit trail (at most one an hour, not one per page view)."""
    row = link(db, link_id)
    now = _now()
    if row["last_opened_at"] and row["last_opened_at"] > _stamp(now - every):
        return False
    db.conn.execute("UPDATE review_links SET last_opened_at = ? WHERE id = ?", [_stamp(now), link_id])
    return True


# --- citations, responses and reviews ------------------------------------------------

def citations(db, inspection):
    """The draft citations (the lead's deficient decisions) in catalog order,
    numbered (the one numbering the site's page and the report share), with
    the photos the lead released; then the suggestions."""
    i = inspection["id"]
    marks = ",".join("?" * len(DEFICIENT))
    rows = db.conn.execute(
        f"SELECT s.code, s.title, s.text, s.section_code, d.verdict, d.citation, d.suggestion FROM decisions d "
        f"JOIN standards s ON s.catalog_id = ? AND s.code = d.standard_code "
        f"WHERE d.inspection_id = ? AND (d.verdict IN ({marks}) OR d.suggestion != '') ORDER BY s.position",
        [inspection["catalog_id"], i, *DEFICIENT]).fetchall()
    released = released_photos(db, i)
    cited, suggested = [], []
    for r in rows:
        if r["verdict"] in DEFICIENT:
            cited.append({"number": len(cited) + 1, "code": r["code"], "title": r["title"], "text": r["text"],
                          "section_code": r["section_code"], "verdict": r["verdict"], "citation": r["citation"],
                          "photos": released.get(r["code"], [])})
        if r["suggestion"].strip():
            suggested.append({"code": r["code"], "title": r["title"], "suggestion": r["suggestion"]})
    return cited, suggested


def photos_shown(db, inspection):
    """The photos the site's page and the report show: those the lead released
    on a draft citation (a release on a standard no longer cited shows nowhere)."""
    return {sha for c in citations(db, inspection)[0] for sha in c["photos"]}


def citation_codes(db, inspection_id):
    marks = ",".join("?" * len(DEFICIENT))
    return {r[0] for r in db.conn.execute(
        f"SELECT standard_code FROM decisions WHERE inspection_id = ? AND verdict IN ({marks})",
        [inspection_id, *DEFICIENT])}


def current_round(db, inspection_id, code):
    """The round the site answers now: one more than the rounds the lead sent back."""
    return 1 + db.conn.execute(
        "SELECT count(*) FROM reviews WHERE inspection_id = ? AND standard_code = ? AND outcome = 'more_info'",
        [inspection_id, code]).fetchone()[0]


def rounds(db, inspection_id):
    """{code: [round, ...]} oldest first: each round's response, its documents and the lead's review."""
    out = defaultdict(dict)
    for r in db.conn.execute("SELECT * FROM responses WHERE inspection_id = ?", [inspection_id]):
        out[r["standard_code"]][r["round"]] = {"round": r["round"], "response": dict(r), "documents": [],
                                               "review": None}
    for r in db.conn.execute("SELECT * FROM reviews WHERE inspection_id = ?", [inspection_id]):
        out[r["standard_code"]].setdefault(r["round"], {"round": r["round"], "response": None, "documents": [],
                                                        "review": None})["review"] = dict(r)
    for r in db.conn.execute(
            "SELECT rd.standard_code, rd.round, d.sha256, d.kind, d.bytes, d.filename FROM response_documents rd "
            "JOIN documents d ON d.sha256 = rd.sha256 WHERE rd.inspection_id = ? AND rd.attached = 1 "
            "ORDER BY d.filename", [inspection_id]):
        out[r["standard_code"]].setdefault(r["round"], {"round": r["round"], "response": None, "documents": [],
                                                        "review": None})["documents"].append(dict(r))
    return {code: [by_round[n] for n in sorted(by_round)] for code, by_round in out.items()}


def unreviewed(db, inspection_id):
    """Codes of citations whose submitted round of corrections the lead has not reviewed."""
    return unreviewed_many(db, [inspection_id])[inspection_id]


def unreviewed_many(db, inspection_ids):
    """{inspection id: its unreviewed codes, as ``unreviewed``} for each id, in one query."""
    ids = sorted(set(inspection_ids))
    out = {i: set() for i in ids}
    if ids:
        for inspection_id, code in db.conn.execute(
                "SELECT r.inspection_id, r.standard_code FROM responses r LEFT JOIN reviews v "
                "ON v.inspection_id = r.inspection_id AND v.standard_code = r.standard_code AND v.round = r.round "
                f"WHERE r.inspection_id IN ({','.join('?' * len(ids))}) AND r.round > 0 AND r.submitted = 1 "
                "AND v.outcome IS NULL", ids):
            out[inspection_id].add(code)
    return {i: sorted(codes) for i, codes in out.items()}


def open_round(db, inspection, code):
    """The round the site answers now: 0 in the factual accuracy review (its
    comments on the draft), then 1, 2, ... for its corrections."""
    return 0 if inspection["state"] == "factual_accuracy" else current_round(db, inspection["id"], code)


def answerable_codes(db, inspection):
    """The citations the site answers now: every draft citation in the factual
    accuracy review; then those the committee confirmed or amended."""
    if inspection["state"] == "factual_accuracy":
        return citation_codes(db, inspection["id"])
    return {r[0] for r in db.conn.execute(
        "SELECT standard_code FROM committee_decisions WHERE inspection_id = ? AND decision != 'withdrawn'",
        [inspection["id"]])}


def unanswered(db, inspection):
    """Codes of the citations whose open round the site has not submitted."""
    sent = {r[0]: r[1] for r in db.conn.execute(
        "SELECT standard_code, max(round) FROM responses WHERE inspection_id = ? AND submitted = 1 "
        "GROUP BY standard_code", [inspection["id"]])}
    return sorted(code for code in answerable_codes(db, inspection)
                  if sent.get(code, -1) < open_round(db, inspection, code))


def round_refusal(db, inspection, code, round_):
    """Why the site may not answer this round of this citation, or None: only
    a citation it answers now, only its open round, and not once that round
    is submitted."""
    if code not in answerable_codes(db, inspection):
        return Refusal("not_a_citation", "That is not one of the citations to answer.")
    if round_ != open_round(db, inspection, code):
        return Refusal("round_closed", "This round of the response is closed: answer the current one.")
    submitted = db.conn.execute("SELECT submitted FROM responses WHERE inspection_id = ? AND standard_code = ? "
                                "AND round = ?", [inspection["id"], code, round_]).fetchone()
    if submitted and submitted[0]:
        return Refusal("submitted", "This response was submitted: it can no longer change.")
    return None


def response_refusal(db, op, inspection):
    """Why the site may not write this op's response field, or None."""
    refusal = round_refusal(db, inspection, op["standard"], op["value"]["round"])
    if refusal:
        return refusal
    # Detached too: the row would name a document the server never had.
    if op["field"] == "evidence" and not db.conn.execute(
            "SELECT 1 FROM documents WHERE sha256 = ?", [op["value"]["sha256"]]).fetchone():
        return Refusal("missing_document", "The document was not uploaded yet: upload it, then attach it.")
    return None


def upload_refusal(db, link, inspection, code, round_, kept_bytes, quota):
    """Why the site may not store an evidence document for this round of this
    citation now, or None; asked before anything is written. The same rules
    as its writes through the log (the link's state rule, the citation, its
    open round), then the link's ``quota`` (documents, bytes kept): every
    document it stored counts, by the size kept."""
    refusal = access.respond_refusal(link, inspection, "evidence") or round_refusal(db, inspection, code, round_)
    return refusal or documents.quota_refusal(link, kept_bytes, quota)


def count_upload(db, link_id, kept_bytes):
    """Count a stored document against its link's quota."""
    db.conn.execute("UPDATE review_links SET documents_uploaded = documents_uploaded + 1, "
                    "document_bytes = document_bytes + ? WHERE id = ?", [kept_bytes, link_id])


def review_precheck(db, op, inspection):
    """The lead reviews a submitted round of corrections only (round 0 holds
    the site's factual accuracy comments: read, never accepted or sent back)."""
    code, round_ = op["standard"], op["value"]["round"]
    if round_ < 1:
        return Refusal("not_submitted", "Factual accuracy comments are read, not reviewed: review a correction.")
    submitted = db.conn.execute("SELECT submitted FROM responses WHERE inspection_id = ? AND standard_code = ? "
                                "AND round = ?", [inspection["id"], code, round_]).fetchone()
    if not (submitted and submitted[0]):
        return Refusal("not_submitted", "The site has not submitted this round yet.")
    return None
