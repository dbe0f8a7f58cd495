"""The op log: every accepted op as received, append only (the schema's
triggers refuse UPDATE and DELETE). ``seq`` is the server's cursor for pull;
``op_id`` is the client's idempotency key."""
import json
from json.encoder import encode_basestring_ascii

COLUMNS = ("op_id", "user_id", "link_id", "device_id", "device_seq", "hlc", "inspection_id", "standard_code",
           "field", "value")


_VALUE_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode  # made once, not per op


def value_json(value):
    """An op's value as stored: canonical JSON, so a resent op compares equal."""
    # Most values are text: json's own C escaper, the same bytes without the encoder around it.
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    return _VALUE_JSON(value)


def as_row(op, actor):
    """The log row (without status) for an op sent by ``actor``."""
    return {"op_id": op["op_id"], "user_id": actor.user["id"] if actor.user else None,
            "link_id": actor.link["id"] if actor.link else None, "device_id": op["device_id"],
            "device_seq": op["seq"], "hlc": op["hlc"], "inspection_id": op["inspection_id"],
            "standard_code": op["standard"], "field": op["field"], "value": value_json(op["value"])}


def existing(db, op_ids):
    """{op_id: logged row} for those of ``op_ids`` already in the log: one query per batch."""
    op_ids = sorted(set(op_ids))
    found = {}
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM ops WHERE op_id IN ({marks})", chunk):
            found[row["op_id"]] = dict(row)
    return found


def next_seq(db):
    """The seq the next op will be logged at (AUTOINCREMENT never reuses one)."""
    return db.conn.execute("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ops'), 0), "
                           "coalesce((SELECT max(seq) FROM ops), 0)) + 1").fetchone()[0]


def append_many(db, logged):
    """Write many ops, each (seq, row, status), with one statement. Written once, never updated."""
    # executemany, not sqlite-utils' insert_all: 1.1 against 4.0 ms per batch of 200 ops, on every push.
    names = ["seq", *COLUMNS, "status"]
    db.conn.executemany(f"INSERT INTO ops ({', '.join(names)}) VALUES ({','.join('?' * len(names))})",
                        [[seq, *(row[c] for c in COLUMNS), status] for seq, row, status in logged])


def newest_seq_of(db, op_ids):
    """The log position of the newest of these ops (0 if none is logged)."""
    return max([row["seq"] for row in _seqs(db, op_ids)] + [0])


def _seqs(db, op_ids):
    op_ids = sorted(set(op_ids))
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start:start + 500]
        yield from db.conn.execute(f"SELECT seq FROM ops WHERE op_id IN ({','.join('?' * len(chunk))})", chunk)


def sent_by(db, op_ids, user_id, device_id):
    """Those of ``op_ids`` that ``user_id`` sent from ``device_id``."""
    op_ids = sorted(set(op_ids))
    found = set()
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start:start + 500]
        found.update(row[0] for row in db.conn.execute(
            f"SELECT op_id FROM ops WHERE op_id IN ({','.join('?' * len(chunk))}) AND user_id = ? AND device_id = ?",
            [*chunk, user_id, device_id]))
    return found


def last_seq(db):
    return db.conn.execute("SELECT coalesce(max(seq), 0) FROM ops").fetchone()[0]


def newest_stamp(db, inspection_ids):
    """The newest stamp among the ops of these inspections, as ``wall:counter``
    only, so a client can move its clock past what it has seen without
    learning whose device made it or what happens in other inspections."""
    newest = ""
    for inspection_id in inspection_ids:
        row = db.conn.execute("SELECT max(hlc) FROM ops WHERE inspection_id = ?", [inspection_id]).fetchone()
        newest = max(newest, row[0] or "")
    return ":".join(newest.split(":")[:2])


def replay(db):
    """Every logged op in log order, for rebuilding state."""
    return db.conn.execute(f"SELECT seq, {', '.join(COLUMNS)} FROM ops ORDER BY seq")


def count(db):
    return db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
