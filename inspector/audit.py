"""The audit trail: every write, who made it (a user or a review link), when,
from which device or link, and what it changed, in an append-only table
where each row holds the hash of the one before it.

``record`` is called by the data layer and the protocol inside the write's
own transaction, so a write and its record commit together or not at all.
"""
import hashlib
import json
from datetime import datetime, timezone

GENESIS = "0" * 64
FIELDS = ("id", "at", "inspection_id", "user_id", "link_id", "device", "action", "subject", "before", "after",
          "prev_hash")


def _json(value):
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(row):
    """The hash of one audit row: every field but the hash itself, the
    previous row's hash included, in a fixed canonical form."""
    body = json.dumps([row[f] for f in FIELDS], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def head(db):
    """The hash of the newest row: the chain's head (GENESIS when empty)."""
    row = db.conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else GENESIS


def record(db, action, *, inspection_id=None, user_id=None, link_id=None, device="", subject="",
           before=None, after=None):
    """Append one event to the chain; call inside the write's transaction."""
    last = db.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row = {"id": (last[0] + 1) if last else 1,
           "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
           "inspection_id": inspection_id, "user_id": user_id, "link_id": link_id, "device": device or "",
           "action": action, "subject": subject or "", "before": _json(before), "after": _json(after),
           "prev_hash": last[1] if last else GENESIS}
    row["hash"] = row_hash(row)
    db.conn.execute(f"INSERT INTO audit ({', '.join([*FIELDS, 'hash'])}) VALUES ({','.join('?' * (len(FIELDS) + 1))})",
                    [row[f] for f in (*FIELDS, "hash")])
    return row["hash"]
