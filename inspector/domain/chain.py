"""The chain's bytes: how audit rows and logged ops are hashed, and how rows
are appended to the hash chain. Nothing here imports another module of the
app, so the schema's migrations (inspector/domain/db.py) and the data
modules below the audit trail (a catalog import) can write to the chain
without an import cycle; ``inspector.domain.audit`` re-exports what they use
and holds the checks and the plain-words History.
"""
import hashlib
from datetime import datetime, timezone

import orjson

GENESIS = "0" * 64
FIELDS = ("id", "at", "inspection_id", "user_id", "link_id", "device", "action", "subject", "before", "after",
          "prev_hash")


# The chain's canonical JSON comes from one encoder, orjson: compact, UTF-8
# as it is, object keys sorted in a record's values. For what records hold
# (text, integers, booleans, None, lists, objects) it writes the bytes json
# wrote before orjson came (tests/test_audit.py holds the two together), so
# chains written then verify now. What it refuses (an integer past 64 bits, a
# lone surrogate, a key that is not text) never reaches a record: op values
# are exactly their schema (sync/shapes.py), and the rest is the server's own;
# should one ever come, the write fails and its transaction is rolled back.
def _CANONICAL(value):
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _HASHED(items):
    return orjson.dumps(items).decode()


_INSERT = f"INSERT INTO audit ({', '.join([*FIELDS, 'hash'])}) VALUES ({','.join('?' * (len(FIELDS) + 1))})"


def _json(value):
    return None if value is None else _CANONICAL(value)


def row_hash(row):
    """The hash of one audit row: every field but the hash itself, the
    previous row's hash included, in a fixed canonical form."""
    body = _HASHED([row[f] for f in FIELDS])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# max(id) is one step down the rowid tree, and the plan says so (SEARCH);
# ORDER BY id DESC LIMIT 1 reads one row too but its plan says SCAN, which
# tests/test_year_scale.py refuses for tables that grow with the year.
_NEWEST = "SELECT id, hash FROM audit WHERE id = (SELECT max(id) FROM audit)"


def head(db):
    """The hash of the newest row: the chain's head (GENESIS when empty)."""
    row = db.conn.execute(_NEWEST).fetchone()
    return row[1] if row else GENESIS


def record(db, action, *, inspection_id=None, user_id=None, link_id=None, device="", subject="",
           before=None, after=None):
    """Append one event to the chain; call inside the write's transaction."""
    return record_many(db, [event(action, inspection_id=inspection_id, user_id=user_id, link_id=link_id,
                                  device=device, subject=subject, before=before, after=after)])


def event(action, *, inspection_id=None, user_id=None, link_id=None, device="", subject="", before=None,
          after=None):
    """One event to record later with ``record_many`` (the arguments of ``record``)."""
    return {"inspection_id": inspection_id, "user_id": user_id, "link_id": link_id, "device": device or "",
            "action": action, "subject": subject or "", "before": _json(before), "after": _json(after)}


def record_many(db, events):
    """Append events (from ``event``) to the chain in order, reading the head
    once and writing them in one statement: a push records a batch of ops so.
    Call inside the writes' transaction. Returns the new head."""
    last = db.conn.execute(_NEWEST).fetchone()
    number, prev = (last[0], last[1]) if last else (0, GENESIS)
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = []
    for number, item in enumerate(events, start=number + 1):
        row = {"id": number, "at": at, **item, "prev_hash": prev}
        prev = row_hash(row)
        rows.append([*(row[f] for f in FIELDS), prev])
    db.conn.executemany(_INSERT, rows)
    return prev


# --- the op log inside the chain ------------------------------------------------------------

# The op log's columns an op's hash covers, in this order: all but
# received_at, which SQLite stamps as the row goes in, after the audit record
# is made (the record's own "at" is the time the trail vouches for).
OP_COLUMNS = ("seq", "op_id", "user_id", "link_id", "device_id", "device_seq", "hlc", "inspection_id",
              "standard_code", "field", "value", "status")
_OP_ROW = OP_COLUMNS[1:-1]  # those an op's log row (sync.oplog.as_row) holds before it has a seq and status


def op_hash(seq, row, status):
    """The hash of one logged op: its log position, every column of its log
    row as stored (the value as its JSON text) and its status. Each op's audit
    record holds it, so an op changed, removed or added in the log behind the
    server's back no longer matches the trail (``audit.verify_ops``)."""
    items = ["op", seq, *[row[c] for c in _OP_ROW], status]
    # A log row holds only text and integers (SQLite gives back what push
    # wrote, each within the schema's bounds): orjson's bytes straight into
    # the hash, on every op of every push.
    return hashlib.sha256(orjson.dumps(items)).hexdigest()


SEAL = "oplog.sealed"   # one record: op records after it carry their op's hash
SEALED = "op.sealed"    # the hashes of ops logged before op records carried them
SEAL_BLOCK = 1000       # ops per sealing record: a year's log (a million ops) in a thousand records


def seal_op_log(db):
    """Schema migration: hash every op already in the log into the chain, in
    "op.sealed" records of [seq, op_id, op hash] for up to SEAL_BLOCK ops
    each, then write the SEAL marker from which every op record holds its
    op's hash. Sealed once: a later edit to an old op is found like any other."""
    if db.conn.execute("SELECT 1 FROM audit WHERE action = ? LIMIT 1", [SEAL]).fetchone():
        return
    count, last, block, events = 0, 0, [], []
    for row in db.conn.execute(f"SELECT {', '.join(OP_COLUMNS)} FROM ops ORDER BY seq"):
        block.append([row["seq"], row["op_id"], op_hash(row["seq"], row, row["status"])])
        count, last = count + 1, row["seq"]
        if len(block) == SEAL_BLOCK:
            events.append(event(SEALED, after={"ops": block}))
            block = []
        if len(events) == 50:  # written as it goes, not a year's hashes held in memory at once
            record_many(db, events)
            events = []
    if block:
        events.append(event(SEALED, after={"ops": block}))
    record_many(db, [*events, event(SEAL, after={"ops": count, "last_seq": last})])
