"""The sync protocol, server side: check ops, apply a batch, answer a pull.

An op sets one field (sync/fields.py) for one actor from one device. It is
applied last-writer-wins per field, ordered by its hybrid logical clock stamp
(then its op id, so the order is total and every server reaches the same
state whatever order ops arrive in). See docs/sync-protocol.md.
"""
import json
import re
import time
import zlib
from typing import NamedTuple

import orjson

from inspector.domain import access, audit, catalog, chain, inspections, photos
from inspector.domain.db import transaction

from . import oplog, shapes
from .fields import FIELDS, PULLED, Field

MAX_BATCH = 500
# Tablets make time-ordered UUIDv7 ids (outbox.js timeOrderedId); tablets
# from before them still send random UUIDv4 ids: both have this shape.
OP_ID = re.compile(r"^[A-Za-z0-9-]{8,64}\Z")
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
# [0-9], not \d: a str pattern's \d also matches other scripts' digits, and a
# stamp of fullwidth digits would sort after every real stamp and win for ever.
HLC = re.compile(r"^([0-9]{15}):([0-9]{5}):([A-Za-z0-9_-]{1,64})\Z")
MAX_CLOCK_AHEAD_MS = 24 * 3_600_000  # how far ahead of the server's clock a stamp may be
MAX_INT = 2 ** 53 - 1  # the largest integer a JavaScript client counts exactly; SQLite holds it too


class Actor(NamedTuple):
    """Who sends ops: a logged-in user, or (for the site) an issued review link."""
    user: object = None
    link: object = None


class BatchError(ValueError):
    """The batch as a whole is malformed: nothing is applied."""


class BodyTooLarge(ValueError):
    """The push body is larger than the server takes (once decompressed)."""


class UnsupportedEncoding(ValueError):
    """The push body is sent in a Content-Encoding the server does not read."""


class Forbidden(PermissionError):
    """The batch names an inspection the user is not on: nothing is applied."""

    def __init__(self, op_ids):
        super().__init__("not a member of the inspection")
        self.op_ids = op_ids


_SHALLOW = 200  # far less than json's limit, far more than an op needs


def _floatless_within(value, limit):
    """Whether ``value`` (parsed JSON) holds no float and no container
    nested more than ``limit`` deep (a container alone is 1 deep). One walk,
    a list of containers to visit and no recursion: a push body is 200 ops."""
    kind = type(value)
    if kind is float:
        return False
    if kind is not dict and kind is not list:
        return True
    if limit < 1:
        return False
    todo = [(value, 1)]
    while todo:
        container, depth = todo.pop()
        for item in (container.values() if type(container) is dict else container):
            kind = type(item)
            if kind is dict or kind is list:
                if depth + 1 > limit:
                    return False
                todo.append((item, depth + 1))
            elif kind is float:
                return False
    return True


_GZIP = zlib.MAX_WBITS | 16  # a gzip header and trailer, not zlib's or a raw deflate stream
# The browser writes one gzip member; a few more are read (RFC 1952 allows
# several), but not thousands: each member costs a new inflater.
MAX_GZIP_MEMBERS = 64
# The body is fed to the inflater this many bytes at a time. At a member's
# end zlib copies whatever input it was given past it (unused_data): fed the
# whole rest of the body, a body of many empty members was copied once per
# member (4 MB: 22 s); fed a piece, at most a piece is (16 MB of empty
# members, were there no limit on them: 1 s).
_GZIP_PIECE = 4096


class TooManyMembers(BatchError):
    """A gzip body of more members than MAX_GZIP_MEMBERS."""


def decoded_body(raw, encoding, limit):
    """The push body's bytes as the client wrote them, at most ``limit`` of them.

    ``encoding`` is the request's Content-Encoding: none (or ``identity``), or
    ``gzip`` (what the browser's CompressionStream writes). A gzip body is
    inflated a chunk at a time and never past ``limit``, so a small body that
    would inflate to gigabytes (a "gzip bomb") costs no more than ``limit``
    bytes of memory: BodyTooLarge. Its time is linear in its size, and it
    holds at most MAX_GZIP_MEMBERS members: TooManyMembers. A gzip body that
    is damaged or cut short is a BatchError; another encoding is
    UnsupportedEncoding.
    """
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        if len(raw) > limit:
            raise BodyTooLarge(limit)
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedEncoding(encoding)
    out, size, members = [], 0, 1
    body, read = memoryview(raw), 0
    inflater, data = zlib.decompressobj(_GZIP), b""
    try:
        while True:
            if not data:
                if read >= len(body):
                    break
                data, read = body[read:read + _GZIP_PIECE], read + _GZIP_PIECE
            # max_length: never inflate more than the limit leaves room for
            # (one byte over says "too large"); input not yet read waits in
            # unconsumed_tail.
            piece = inflater.decompress(data, limit - size + 1)
            size += len(piece)
            if size > limit:
                raise BodyTooLarge(limit)
            out.append(piece)
            data = inflater.unconsumed_tail
            if inflater.eof and (inflater.unused_data or read < len(body)):
                # Another gzip member follows: go on with it.
                members += 1
                if members > MAX_GZIP_MEMBERS:
                    raise TooManyMembers(MAX_GZIP_MEMBERS)
                inflater, data = zlib.decompressobj(_GZIP), inflater.unused_data
    except zlib.error as exc:
        raise BatchError("the body is not valid gzip") from exc
    if not inflater.eof:
        raise BatchError("the gzip body is cut short")
    return b"".join(out)


def parse_body(raw):
    """The request body as JSON; BatchError for anything else (nesting too deep included)."""
    # orjson refuses some of what json takes (a lone surrogate, NaN, UTF-16):
    # those bodies go to json, so every body gets the answer it got before.
    # It also reads an integer of 2**64 or more as a float, and nests 1024
    # deep where json stops at the recursion limit: a body with a float (no
    # field takes one) or nested past _SHALLOW is read again by json too.
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if _floatless_within(body, _SHALLOW):
            return body
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: a body nested thousands deep
        raise BatchError('the body must be JSON: {"ops": [...]}') from exc


def _is_int(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_op(op):
    """None if the op is well formed, else the Problem with it (sync/shapes.py):
    ``malformed`` for the op itself, its field's reason code for its value."""
    problem = _check_envelope(op)
    if problem:
        return shapes.Problem("malformed", problem)
    return FIELDS[op["field"]].shape.check(op["value"])


_STANDARD = shapes.text("standard", 64)  # at most 64 characters of Unicode, as SQLite stores it


def _check_envelope(op):
    if not isinstance(op, dict):
        return "an op must be an object"
    for key in ("op_id", "device_id", "hlc", "standard", "field"):
        if not isinstance(op.get(key), str):
            return f"{key} is missing or not a string"
    if not OP_ID.match(op["op_id"]):
        return "op_id must be 8-64 letters, digits or '-'"
    if not DEVICE_ID.match(op["device_id"]):
        return "device_id must be 1-64 letters, digits, '_' or '-'"
    if not _is_int(op.get("seq"), 0, MAX_INT):
        return f"seq must be an integer from 0 to {MAX_INT}"
    if not _is_int(op.get("inspection_id"), 1, MAX_INT):
        return "inspection_id must be a positive integer"
    stamp = HLC.match(op["hlc"])
    if not stamp:
        return "hlc must look like 001732573200000:00000:<device_id> (ms since 1970 in 15 digits, a 5-digit counter)"
    if stamp.group(3) != op["device_id"]:
        return "hlc must end with the op's device_id"
    if not op["standard"] or _STANDARD.check(op["standard"]):
        return "standard must be a code"  # a lone surrogate (JSON's "\ud800") is no code SQLite can look up
    if "value" not in op:
        return "value is missing"
    if op["field"] not in FIELDS:
        return f"unknown field (use {', '.join(FIELDS)})"
    return None


def stamp_of(op):
    # hlc strings are fixed width up to the device id; the op id breaks ties.
    return f"{op['hlc']} {op['op_id']}"


def _rejected(op_id, code, reason):
    return {"op_id": op_id, "status": "rejected", "code": code, "reason": reason}


def push(db, user, batch):
    """Apply a batch of ops from a logged-in user in one transaction; return the per-op results.

    Raises BatchError for a batch that is not a list of ops, and Forbidden if
    any op names an inspection the user may not see (nothing is written then).
    """
    if not isinstance(batch, dict) or not isinstance(batch.get("ops"), list):
        raise BatchError('the body must be a JSON object {"ops": [...]}')
    if len(batch["ops"]) > MAX_BATCH:
        raise BatchError(f"a batch holds at most {MAX_BATCH} ops; split it")
    return apply_batch(db, Actor(user=user), batch["ops"])


def apply_batch(db, actor, ops):
    """Apply well-formed or not ops from ``actor`` (a user, or a site's review
    link) in one transaction; Forbidden if an op names an inspection the actor
    may not write to."""
    problems = [check_op(op) for op in ops]
    valid = [op for op, problem in zip(ops, problems) if problem is None]
    with transaction(db):
        # Membership, state and catalog are read in the batch's own transaction,
        # so a change committed meanwhile cannot slip between check and write.
        wanted = {op["inspection_id"] for op in valid}
        if actor.user is not None:
            seen = inspections.for_user_many(db, actor.user, wanted)
            allowed = {i for i, ins in seen.items() if access.can_view_inspection(actor.user, ins)}
        else:
            seen = inspections.for_user_many(db, {"id": None}, wanted & {actor.link["inspection_id"]})
            allowed = set(seen)
        forbidden = [op["op_id"] for op in valid if op["inspection_id"] not in allowed]
        if forbidden:
            raise Forbidden(forbidden)
        named = {}
        for op in valid:
            named.setdefault(seen[op["inspection_id"]]["catalog_id"], set()).add(op["standard"])
        codes = {catalog_id: catalog.standard_codes(db, catalog_id, among) for catalog_id, among in named.items()}
        needed = {FIELDS[op["field"]].needs_photo(op["value"]) for op in valid} - {None}
        context = {
            "inspections": seen, "codes": codes,
            "uploaded": photos.uploaded_among(db, actor.user["id"], needed) if actor.user else set(),
            "logged": oplog.existing(db, [op["op_id"] for op in valid]),
            "trail": [],  # the batch's audit records, written together before it commits
            "writes": _Writes(db, _rows_wanted(actor, valid, seen)),
        }
        results = []
        for op, problem in zip(ops, problems):
            if problem:
                results.append(_rejected(_echoed_id(op), problem.code, problem.reason))
            else:
                results.append(_push_one(db, actor, op, context))
        context["writes"].flush()
        audit.record_many(db, context["trail"])
        cursor = oplog.last_seq(db)
        hlc = oplog.newest_stamp(db, seen)
    return {"results": results, "cursor": cursor, "hlc": hlc, "server_time": now_ms()}


def _echoed_id(op):
    """A malformed op's op_id, to answer with: the client finds the op by it.
    Not one the answer cannot carry (a lone surrogate, JSON's "\ud800")."""
    op_id = op.get("op_id") if isinstance(op, dict) else None
    if not isinstance(op_id, str):
        return None
    try:
        orjson.dumps(op_id)
    except orjson.JSONEncodeError:
        return None
    return op_id


def _rows_wanted(actor, ops, inspections_seen):
    """{register table: (register, {keys})} of the rows the ops may write:
    those of ops the actor may send (a refused op has no row to read)."""
    wanted = {}
    for op in ops:
        field = FIELDS[op["field"]]
        if field.refusal(actor, inspections_seen[op["inspection_id"]]) is None:
            wanted.setdefault(field.register.table, (field.register, set()))[1].add(field.key(op, actor))
    return wanted


def _push_one(db, actor, op, context):
    op_id = op["op_id"]
    row = oplog.as_row(op, actor)
    logged = context["logged"].get(op_id)
    if logged:
        # The whole op must match, its inspection and standard included: an
        # op id reused for another op must not be answered as if it were saved.
        if logged != row:
            return _rejected(op_id, "op_id_reused", "this op_id was already used for a different op")
        return {"op_id": op_id, "status": "duplicate"}
    if int(op["hlc"][:15]) > now_ms() + MAX_CLOCK_AHEAD_MS:
        # Accepted, such a stamp would beat every real edit for years to come.
        return _rejected(op_id, "clock_ahead", "this device's clock is more than a day ahead of the server's: "
                                               "the change is kept and will be sent again with a corrected time")
    inspection = context["inspections"][op["inspection_id"]]
    if op["standard"] not in context["codes"][inspection["catalog_id"]]:
        return _rejected(op_id, "unknown_standard", f"standard {op['standard']} is not in this inspection's catalog")
    field = FIELDS[op["field"]]
    if field.precheck is not _NO_PRECHECK:
        context["writes"].flush()  # the rule reads the registers: the batch's earlier writes first
    refusal = field.refusal(actor, inspection) or field.precheck(db, op, inspection)
    if refusal:
        return _rejected(op_id, refusal.code, refusal.reason)
    unfit = field.fits(op["value"], inspection)
    if unfit:
        return _rejected(op_id, "not_on_scale", unfit)
    needed = field.needs_photo(op["value"])
    if needed and needed not in context["uploaded"]:
        return _rejected(op_id, "missing_photo",
                         "the photo was not uploaded yet: upload it by its sha256, then send the op again")
    status = context["writes"].apply(field, field.key(op, actor), op, row=row, trail=context["trail"])
    context["logged"][op_id] = row
    return {"op_id": op_id, "status": status}


_NO_PRECHECK = Field._field_defaults["precheck"]


class _Writes:
    """A batch's accepted ops, decided one by one as ``apply`` decides them,
    written together: the log rows with one statement, each register column
    with one statement holding only the newest value per row (an older op on
    the same field in the batch is superseded and logged, never written)."""

    def __init__(self, db, wanted=None):
        self.db = db
        self.seq = None
        self.logged = []    # (seq, row, status)
        self.cells = {}     # (table, key, column) -> (value, stamp) written by this batch
        self.writes = {}    # (register table, column) -> (register, {key: (key, value, stamp, seq)})
        self.rows = set()   # (table, key) of rows this batch writes
        # The rows the batch's ops will write, read in one query per register
        # the first time one of them is needed: {table: (register, {keys})}.
        self.wanted = wanted or {}
        self.read = {}      # (table, key) -> {column: (value, stamp)}, or None: no such row

    def _current(self, register, key, column):
        """(value, stamp) of the cell as the database holds it, before this batch's pending writes."""
        pending = self.wanted.pop(register.table, None)
        if pending:
            found = register.current_many(self.db, pending[1])
            self.read.update({(register.table, k): found.get(k) for k in pending[1]})
        if (register.table, key) in self.read:
            row = self.read[(register.table, key)]
            return row[column] if row else (None, "")
        return register.current(self.db, key, column)

    def apply(self, field, key, op, row=None, trail=None, seq=None):
        """Decide the op: the newest stamp per field wins (the one place that
        decides it, for a push and for a rebuild). A new op (``row``) is
        logged with its status and its audit record added to ``trail``; an op
        replayed from the log (rebuild) comes with its ``seq`` and is neither.
        Returns 'applied' or 'superseded'."""
        register, column = field.register, field.column
        cell = (register.table, key, column)
        if cell not in self.cells and (register.table, key) in self.rows:
            self.flush()  # the row may be new: its other columns' defaults are the "before"
        before, current = self.cells.get(cell) or self._current(register, key, column)
        stamp = stamp_of(op)
        status = "applied" if stamp > current else "superseded"
        value = field.stored(op["value"])
        if seq is None:
            if self.seq is None:
                self.seq = oplog.next_seq(self.db)
            seq, self.seq = self.seq, self.seq + 1
            self.logged.append((seq, row, status))
            trail.append(_audit_event(field, key, row, seq, status, before, value))
        if status == "applied":
            self.cells[cell] = (value, stamp)
            self.rows.add((register.table, key))
            self.writes.setdefault((register.table, column), (register, {}))[1][key] = (key, value, stamp, seq)
        return status

    def flush(self):
        if self.logged:
            oplog.append_many(self.db, self.logged)
        for (_, column), (register, writes) in self.writes.items():
            register.write_many(self.db, column, list(writes.values()))
        for written in self.rows:
            self.read.pop(written, None)  # read before the write: ask the database again
        self.logged, self.cells, self.writes, self.rows = [], {}, {}, set()


# Columns of a register's key that the audit record already names elsewhere
# (the inspection, the standard as its subject, the sender as its actor).
_NAMED = {"inspection_id", "standard_code", "inspector_id"}


def _audit_event(field, key, row, seq, status, before, after):
    """The op's audit record: who, from which device, the column's value before
    and after, and the logged op's position and hash (the trail vouches for the log)."""
    where = {name: part for name, part in zip(field.register.key, key) if name not in _NAMED}
    return audit.event(f"op.{status}", inspection_id=row["inspection_id"], user_id=row["user_id"],
                       link_id=row["link_id"], device=row["device_id"], subject=row["standard_code"],
                       before={"field": row["field"], **where, "value": before},
                       after={"field": row["field"], **where, "value": after, "op_id": row["op_id"], "seq": seq,
                              "op_hash": chain.op_hash(seq, row, status)})


def now_ms():
    return int(time.time() * 1000)


def pull(db, user, inspection, cursor, device=None):
    """Changes of one inspection after ``cursor``, scoped to what the user may see.

    Given ``device`` (the asking device's id), a changed row whose every field
    now holds a value this user wrote from that device is left out: the
    device holds those values already (it made them), so the pull after a
    push does not send the device's own edits back. The cursor still moves
    past such rows. A row with any field from elsewhere (another device,
    another user, a later edit that beat this device's) comes whole as before.
    """
    owner = access.findings_scope(user, inspection)
    with transaction(db, "DEFERRED"):
        # One read transaction: a push committed between these reads must not
        # lift the cursor past a change this answer does not hold.
        answer = {name: pulled.register.changes(db, inspection["id"], cursor, pulled.owner_column,
                                                owner if pulled.owner_column else None)
                  for name, pulled in PULLED.items() if pulled.visible(user, inspection)}
        hlc = oplog.newest_stamp(db, [inspection["id"]])
        newest = max([cursor] + [r["last_seq"] for rows in answer.values() for r in rows])
        if device is not None:
            answer = _without_own_rows(db, answer, user["id"], device)
    return {"cursor": newest, **answer, "hlc": hlc, "server_time": now_ms()}


def _field_stamps(name, row):
    """The stamps (``hlc op_id``) of the fields the row holds a value for."""
    return [row[f"{column}_hlc"] for column in PULLED[name].register.columns if row[f"{column}_hlc"]]


def _device_of(stamp):
    return stamp.split(" ", 1)[0].rsplit(":", 1)[-1]


def _without_own_rows(db, answer, user_id, device):
    """``answer`` without the rows whose every stamped field was written by
    ``user_id`` from ``device``. The stamp names the device; the log says
    which user sent the op (one tablet is shared by several inspectors, each
    with their own store, and a lead's decision made by another lead on this
    tablet is not in this user's store)."""
    candidates = {}
    for name, rows in answer.items():
        for row in rows:
            stamps = _field_stamps(name, row)
            if stamps and all(_device_of(stamp) == device for stamp in stamps):
                candidates[id(row)] = [stamp.split(" ", 1)[1] for stamp in stamps]
    if not candidates:
        return answer
    mine = oplog.sent_by(db, [op_id for op_ids in candidates.values() for op_id in op_ids], user_id, device)
    return {name: [row for row in rows if not (id(row) in candidates and mine.issuperset(candidates[id(row)]))]
            for name, rows in answer.items()}


def rebuild(db):
    """Rebuild every register from the op log alone, replaying each op
    through the batch writer that decided it when it came (``_Writes.apply``)."""
    with transaction(db):
        for register in {field.register.table: field.register for field in FIELDS.values()}.values():
            register.clear(db)
        writes = _Writes(db)
        for count, row in enumerate(oplog.replay(db), 1):
            op = {"op_id": row["op_id"], "hlc": row["hlc"], "inspection_id": row["inspection_id"],
                  "standard": row["standard_code"], "field": row["field"], "value": json.loads(row["value"])}
            actor = Actor(user={"id": row["user_id"]} if row["user_id"] is not None else None,
                          link={"id": row["link_id"]} if row["link_id"] is not None else None)
            field = FIELDS[row["field"]]
            writes.apply(field, field.key(op, actor), op, seq=row["seq"])
            if count % 10_000 == 0:
                writes.flush()  # bounded memory over a year of ops
        writes.flush()
