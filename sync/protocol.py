"""The sync protocol, server side: check ops, apply a batch, answer a pull.

An op is one field of one finding set by one inspector on one device. It is
applied last-writer-wins per field, ordered by its hybrid logical clock stamp
(then its op id, so the order is total and every server reaches the same
state whatever order ops arrive in). See docs/sync-protocol.md.
"""
import json
import os
import re
import time

from inspector.db import transaction
from inspector.queries import VERDICTS

MAX_BATCH = 500
MAX_NOTE = 20_000
MAX_CAPTION = 500
FIELDS = ("verdict", "note", "photo", "caption")

OP_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HLC = re.compile(r"^(\d{15}):(\d{5}):([A-Za-z0-9_-]{1,64})$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_CLOCK_AHEAD_MS = 24 * 3_600_000  # how far ahead of the server's clock a stamp may be
MAX_INT = 2 ** 53 - 1  # the largest integer a JavaScript client counts exactly; SQLite holds it too


class BatchError(ValueError):
    """The batch as a whole is malformed: nothing is applied."""


class Forbidden(PermissionError):
    """The batch names an inspection the user is not on: nothing is applied."""

    def __init__(self, op_ids):
        super().__init__("not a member of the inspection")
        self.op_ids = op_ids


def check_op(op):
    """Return None if the op is well formed, else the reason it is not."""
    if not isinstance(op, dict):
        return "an op must be an object"
    for key, kind in (("op_id", str), ("device_id", str), ("hlc", str), ("standard", str), ("field", str)):
        if not isinstance(op.get(key), kind):
            return f"{key} is missing or not a string"
    if not OP_ID.match(op["op_id"]):
        return "op_id must be 8-64 letters, digits or '-'"
    if not DEVICE_ID.match(op["device_id"]):
        return "device_id must be 1-64 letters, digits, '_' or '-'"
    seq = op.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_INT:
        return f"seq must be an integer from 0 to {MAX_INT}"
    inspection = op.get("inspection_id")
    if not isinstance(inspection, int) or isinstance(inspection, bool) or not 0 < inspection <= MAX_INT:
        return "inspection_id must be a positive integer"
    stamp = HLC.match(op["hlc"])
    if not stamp:
        return "hlc must look like 001732573200000:00000:<device_id> (ms since 1970 in 15 digits, a 5-digit counter)"
    if stamp.group(3) != op["device_id"]:
        return "hlc must end with the op's device_id"
    if not op["standard"] or len(op["standard"]) > 64:
        return "standard must be a code"
    if "value" not in op:
        return "value is missing"
    field, value = op["field"], op["value"]
    if field == "verdict":
        if value is not None and (not isinstance(value, str) or value not in VERDICTS):
            return f"verdict must be one of {', '.join(VERDICTS)} or null"
    elif field == "note":
        if not isinstance(value, str):
            return "note must be a string"
        if len(value) > MAX_NOTE:
            return f"note is longer than {MAX_NOTE} characters"
        if not _is_unicode(value):
            return "note must be valid Unicode text"
    elif field in ("photo", "caption"):
        if not isinstance(value, dict) or not isinstance(value.get("sha256"), str) or not SHA256.match(value["sha256"]):
            return f"{field} value must carry a sha256 (64 lowercase hex digits)"
        if field == "photo" and not isinstance(value.get("attached"), bool):
            return "photo value must say attached: true or false"
        if field == "caption":
            text = value.get("text")
            if not isinstance(text, str) or len(text) > MAX_CAPTION:
                return f"caption text must be a string of at most {MAX_CAPTION} characters"
            if not _is_unicode(text):
                return "caption text must be valid Unicode text"
    else:
        return f"unknown field {field!r} (use {', '.join(FIELDS)})"
    return None


def _is_unicode(text):
    # JSON may carry a lone surrogate ("\ud800"), which SQLite cannot store as text.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stamp(op):
    # hlc strings are fixed width up to the device id; the op id breaks ties.
    return f"{op['hlc']} {op['op_id']}"


def apply_to_state(db, op, user_id, seq):
    """Write one op's value into the findings tables if it is the newest for
    its field. Returns 'applied' or 'superseded'. Used by push and rebuild."""
    conn = db.conn
    key = (op["inspection_id"], op["standard"], user_id)
    stamp = _stamp(op)
    field, value = op["field"], op["value"]
    if field in ("verdict", "note"):
        conn.execute(
            "INSERT INTO findings (inspection_id, standard_code, inspector_id, last_seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", [*key, seq])
        cur = conn.execute(
            f"UPDATE findings SET {field} = ?, {field}_hlc = ?, last_seq = ? "
            f"WHERE inspection_id = ? AND standard_code = ? AND inspector_id = ? AND {field}_hlc < ?",
            [value, stamp, seq, *key, stamp])
    else:
        sha = value["sha256"]
        conn.execute(
            "INSERT INTO finding_photos (inspection_id, standard_code, inspector_id, sha256, attached, last_seq) "
            "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING", [*key, sha, seq])
        column, new = ("attached", int(value["attached"])) if field == "photo" else ("caption", value["text"])
        cur = conn.execute(
            f"UPDATE finding_photos SET {column} = ?, {column}_hlc = ?, last_seq = ? "
            f"WHERE inspection_id = ? AND standard_code = ? AND inspector_id = ? AND sha256 = ? "
            f"AND {column}_hlc < ?", [new, stamp, seq, *key, sha, stamp])
    return "applied" if cur.rowcount else "superseded"


def _catalog_codes(db, inspection_ids):
    codes = {}
    for inspection_id in inspection_ids:
        codes[inspection_id] = {r[0] for r in db.conn.execute(
            "SELECT s.code FROM standards s JOIN inspections i ON i.catalog_id = s.catalog_id "
            "WHERE i.id = ? AND s.depth > 0", [inspection_id])}
    return codes


def push(db, user, batch, crash_after=None):
    """Apply a batch of ops in one transaction; return the per-op results.

    Raises BatchError for a batch that is not a list of ops, and Forbidden if
    any op names an inspection the user is not on (nothing is written then).
    ``crash_after`` kills the process after that many ops of the batch are
    written: the crash test uses it to prove a batch is all or nothing.
    """
    if not isinstance(batch, dict) or not isinstance(batch.get("ops"), list):
        raise BatchError('the body must be a JSON object {"ops": [...]}')
    ops = batch["ops"]
    if len(ops) > MAX_BATCH:
        raise BatchError(f"a batch holds at most {MAX_BATCH} ops; split it")
    problems = [check_op(op) for op in ops]
    results = []
    with transaction(db):
        # Membership and catalog are read in the batch's own transaction, so a
        # team change committed meanwhile cannot slip between check and write.
        member_of = {r[0] for r in db.conn.execute("SELECT inspection_id FROM members WHERE user_id = ?",
                                                   [user["id"]])}
        forbidden = [op["op_id"] for op, problem in zip(ops, problems)
                     if problem is None and op["inspection_id"] not in member_of]
        if forbidden:
            raise Forbidden(forbidden)
        codes = _catalog_codes(db, {op["inspection_id"] for op, p in zip(ops, problems) if p is None})
        verified = _verified_photos(db, user, ops, problems)
        for n, (op, problem) in enumerate(zip(ops, problems)):
            if crash_after is not None and n == crash_after:
                os._exit(70)
            if problem:
                op_id = op.get("op_id") if isinstance(op, dict) and isinstance(op.get("op_id"), str) else None
                results.append({"op_id": op_id, "status": "rejected", "code": "malformed", "reason": problem})
                continue
            results.append(_push_one(db, user, op, codes, verified))
        cursor = db.conn.execute("SELECT coalesce(max(seq), 0) FROM ops").fetchone()[0]
        hlc = max_hlc(db, codes)
    return {"results": results, "cursor": cursor, "hlc": hlc, "server_time": now_ms()}


def _verified_photos(db, user, ops, problems):
    shas = {op["value"]["sha256"] for op, p in zip(ops, problems)
            if p is None and op["field"] == "photo" and op["value"]["attached"]}
    if not shas:
        return set()
    marks = ",".join("?" * len(shas))
    return {r[0] for r in db.conn.execute(
        f"SELECT sha256 FROM photo_uploads WHERE user_id = ? AND sha256 IN ({marks})", [user["id"], *shas])}


def _push_one(db, user, op, codes, verified):
    op_id = op["op_id"]
    seen = db.conn.execute("SELECT user_id, hlc, field, value FROM ops WHERE op_id = ?", [op_id]).fetchone()
    value_json = json.dumps(op["value"], sort_keys=True, separators=(",", ":"))
    if seen:
        if (seen["user_id"], seen["hlc"], seen["field"], seen["value"]) != (user["id"], op["hlc"], op["field"],
                                                                             value_json):
            return {"op_id": op_id, "status": "rejected", "code": "op_id_reused",
                    "reason": "this op_id was already used for a different op"}
        return {"op_id": op_id, "status": "duplicate"}
    if int(op["hlc"][:15]) > now_ms() + MAX_CLOCK_AHEAD_MS:
        # Accepted, such a stamp would beat every real edit for years to come.
        return {"op_id": op_id, "status": "rejected", "code": "clock_ahead",
                "reason": "this device's clock is more than a day ahead of the server's: "
                          "the change is kept and will be sent again with a corrected time"}
    if op["standard"] not in codes[op["inspection_id"]]:
        return {"op_id": op_id, "status": "rejected", "code": "unknown_standard",
                "reason": f"standard {op['standard']} is not in this inspection's catalog"}
    if op["field"] == "photo" and op["value"]["attached"] and op["value"]["sha256"] not in verified:
        return {"op_id": op_id, "status": "rejected", "code": "missing_photo",
                "reason": "the photo was not uploaded yet: upload it by its sha256, then send the op again"}
    seq = db.conn.execute(
        "INSERT INTO ops (op_id, user_id, device_id, device_seq, hlc, inspection_id, standard_code, field, value, "
        "status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'applied')",
        [op_id, user["id"], op["device_id"], op["seq"], op["hlc"], op["inspection_id"], op["standard"],
         op["field"], value_json]).lastrowid
    status = apply_to_state(db, op, user["id"], seq)
    if status != "applied":
        db.conn.execute("UPDATE ops SET status = ? WHERE seq = ?", [status, seq])
    return {"op_id": op_id, "status": status}


def now_ms():
    return int(time.time() * 1000)


def max_hlc(db, inspection_ids):
    """The newest stamp among the ops of these inspections, as ``wall:counter``
    only, so a client can move its clock past what it has seen without
    learning whose device made it or what happens in other inspections."""
    newest = ""
    for inspection_id in inspection_ids:
        row = db.conn.execute("SELECT max(hlc) FROM ops WHERE inspection_id = ?", [inspection_id]).fetchone()
        newest = max(newest, row[0] or "")
    return ":".join(newest.split(":")[:2])


def pull(db, user, inspection, cursor):
    """Changes to findings of one inspection after ``cursor``, scoped to the user:
    an inspector gets their own findings, the team leader everyone's."""
    is_lead = inspection["team_role"] == "lead"
    scope = "" if is_lead else "AND inspector_id = :u"
    params = {"i": inspection["id"], "c": cursor, "u": user["id"]}
    with transaction(db, "DEFERRED"):
        # One read transaction: a push committed between these reads must not
        # lift the cursor past a change this answer does not hold.
        findings, photos, hlc = _pull_rows(db, scope, params)
    newest = max([cursor] + [r["last_seq"] for r in findings] + [r["last_seq"] for r in photos])
    return {"cursor": newest, "findings": findings, "photos": photos, "hlc": hlc, "server_time": now_ms()}


def _pull_rows(db, scope, params):
    findings = [dict(r) for r in db.conn.execute(
        f"SELECT standard_code AS standard, inspector_id, verdict, verdict_hlc, note, note_hlc, last_seq FROM findings "
        f"WHERE inspection_id = :i AND last_seq > :c {scope} ORDER BY last_seq", params)]
    photos = [dict(r) for r in db.conn.execute(
        f"SELECT standard_code AS standard, inspector_id, sha256, attached, attached_hlc, caption, caption_hlc, last_seq "
        f"FROM finding_photos "
        f"WHERE inspection_id = :i AND last_seq > :c {scope} ORDER BY last_seq", params)]
    return findings, photos, max_hlc(db, [params["i"]])


def rebuild(db):
    """Rebuild findings and their photos from the op log alone."""
    with transaction(db):
        db.conn.execute("DELETE FROM findings")
        db.conn.execute("DELETE FROM finding_photos")
        for row in db.conn.execute("SELECT * FROM ops ORDER BY seq").fetchall():
            op = {"op_id": row["op_id"], "hlc": row["hlc"], "inspection_id": row["inspection_id"],
                  "standard": row["standard_code"], "field": row["field"], "value": json.loads(row["value"])}
            apply_to_state(db, op, row["user_id"], row["seq"])
