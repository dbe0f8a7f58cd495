"""The audit trail: every write, who made it (a user or a review link), when,
from which device or link, and what it changed, in an append-only table
where each row holds the hash of the one before it.

``record`` is called by the data layer and the protocol inside the write's
own transaction, so a write and its record commit together or not at all.
``verify`` walks the chain; ``history`` tells one inspection's trail in
plain words.
"""
import json
from typing import NamedTuple

import orjson

from .access import PRIVATE_FIELDS, STATE_LABELS
from . import chain
from .catalog import SCALES
# The chain's primitives live in chain.py (a module that imports nothing of
# ours); they are re-exported here, where the rest of the app calls them.
from .chain import (_CANONICAL, _HASHED, FIELDS, GENESIS,  # noqa: F401
                    event, head, record, record_many, row_hash)


# --- verifying the chain ---------------------------------------------------------------

class Verification(NamedTuple):
    """What ``verify`` found: how many rows, the head, the first bad row and
    why (None when the chain is intact), and which row holds the head asked
    about (0 for GENESIS, None when no row holds it)."""
    rows: int
    head: str
    broken_at: int = None
    reason: str = None
    head_row: int = None

    @property
    def intact(self):
        return self.broken_at is None

    @property
    def head_intact(self):
        """The history up to the head asked about is unchanged: a row holds
        that hash and no row up to it is bad (rows after it may exist)."""
        return self.head_row is not None and (self.broken_at is None or self.broken_at > self.head_row)


def verify(db, head=None):
    """Walk the chain in id order: recompute each row's hash, check that ids
    run on without a gap and that each row holds its predecessor's hash.
    Names the first bad row: altered (its hash does not match its content),
    deleted (a gap in ids) or inserted out of place (it does not follow the
    row before it). With ``head``, also find the row holding that hash."""
    rows, previous, broken, head_row = 0, None, None, (0 if head == GENESIS else None)
    for row in db.conn.execute(f"SELECT {', '.join(FIELDS)}, hash FROM audit ORDER BY id"):
        rows += 1
        if head is not None and row["hash"] == head and head_row is None:
            head_row = row["id"]
        if broken is None:
            broken = _fault(db, previous, row)
        previous = row
    return Verification(rows, previous["hash"] if previous else GENESIS, *(broken or (None, None)), head_row)


def _fault(db, previous, row):
    """(row number, why) if ``row`` does not hold up after ``previous``, else None."""
    expected_id = previous["id"] + 1 if previous else 1
    expected_prev = previous["hash"] if previous else GENESIS
    if row["id"] != expected_id:
        missing = (f"rows {expected_id} to {row['id'] - 1} were" if row["id"] - expected_id > 1
                   else f"row {expected_id} was")
        after = f"row {previous['id']} is followed by row {row['id']}" if previous else \
            f"the trail starts at row {row['id']}"
        return expected_id, f"{missing} deleted ({after})"
    if row["prev_hash"] != expected_prev:
        linked = db.conn.execute("SELECT id FROM audit WHERE hash = ?", [row["prev_hash"]]).fetchone()
        if linked is not None and linked[0] < row["id"] - 1:
            # It links to an older row: the rows between were put in out of place.
            return linked[0] + 1, (f"row {linked[0] + 1} was inserted out of place "
                                   f"(row {row['id']} holds the hash of row {linked[0]})")
        if row_hash(row) != row["hash"]:
            return row["id"], "row altered: its hash does not match its content"
        what = f"row {previous['id']}'s hash" if previous else "the start of the chain"
        return row["id"], (f"inserted out of place: its previous hash is not {what} "
                           f"(or row {expected_id - 1} was rewritten with a new hash)")
    if row_hash(row) != row["hash"]:
        return row["id"], "row altered: its hash does not match its content"
    return None


# --- the op log checked against the trail ----------------------------------------------------

class OpProblem(NamedTuple):
    """Where the op log and the trail disagree: the op (its id and log
    position, as the log or its record names them), the audit row recording it
    (None when no row does), what kind of fault (changed, missing, added,
    forged) and a sentence saying so."""
    op_id: str
    seq: int
    row: int
    kind: str
    what: str

    def __str__(self):
        return self.what


class OpCheck(NamedTuple):
    """What ``verify_ops`` found: how many ops the log holds, the first
    problems (at most PROBLEMS_KEPT) and how many there are in all."""
    ops: int
    problems: list
    total: int

    @property
    def intact(self):
        return self.total == 0


PROBLEMS_KEPT = 100  # a log emptied by someone must not fill the memory with a million sentences

class _Vouched(NamedTuple):
    seq: int
    op_id: str
    op_hash: str
    row: int
    known: dict  # columns of the op the record names besides the hash


class _Found:
    def __init__(self):
        self.kept, self.total = [], 0

    def add(self, op_id, seq, row, kind, what):
        self.total += 1
        if len(self.kept) < PROBLEMS_KEPT:
            self.kept.append(OpProblem(op_id, seq, row, kind, what))


def verify_ops(db):
    """Check every op in the log against the hash its audit record holds, and
    every op record against an op: names each op changed, removed or added
    behind the server's back, and each record no server wrote (one after the
    log was sealed without its op's hash, one naming an op the log never
    held). Meaningful on an intact chain (``verify``): the records are the
    reference."""
    found = _Found()
    ops = db.conn.execute(f"SELECT {', '.join(chain.OP_COLUMNS)} FROM ops ORDER BY seq")
    if not db.conn.execute("SELECT 1 FROM audit WHERE action = ? LIMIT 1", [chain.SEAL]).fetchone():
        found.add(None, None, None, "forged", "the audit trail holds no seal of the op log: its ops cannot be "
                                              "checked (the seal was removed, or the trail replaced)")
        return OpCheck(sum(1 for _ in ops), found.kept, found.total)
    # The log's high-water mark: AUTOINCREMENT records the largest seq ever
    # logged, so a record naming a seq past it names an op that never was.
    reached = db.conn.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'ops'").fetchone()[0]
    records = _vouched(db, found)
    record, op, count, last = next(records, None), ops.fetchone(), 0, 0
    # Both come in log order (a batch writes its ops and their records in the
    # same order): one walk down both, never the whole log in memory.
    while record is not None or op is not None:
        if record is not None and record.seq <= last:
            found.add(record.op_id, record.seq, record.row, "forged",
                      f"audit row {record.row} records op {record.op_id} at seq {record.seq}, out of order "
                      f"(after seq {last}): not written by this server (forged or moved)")
            record = next(records, None)
        elif op is not None and (record is None or op["seq"] < record.seq):
            found.add(op["op_id"], op["seq"], None, "added",
                      f"op {op['op_id']} (seq {op['seq']}) has no audit record: added to the log behind the "
                      f"server's back")
            count, op = count + 1, ops.fetchone()
        elif op is None or record.seq < op["seq"]:
            if record.seq > reached:
                found.add(record.op_id, record.seq, record.row, "forged",
                          f"audit row {record.row} records op {record.op_id} at seq {record.seq}, which the log "
                          f"never reached: a forged record")
            else:
                found.add(record.op_id, record.seq, record.row, "missing",
                          f"op {record.op_id} (seq {record.seq}) is missing from the log: deleted (audit row "
                          f"{record.row} records it)")
            last, record = record.seq, next(records, None)
        else:
            if chain.op_hash(op["seq"], op, op["status"]) != record.op_hash:
                found.add(op["op_id"], op["seq"], record.row, "changed", _changed(op, record))
            count, last, op, record = count + 1, record.seq, ops.fetchone(), next(records, None)
    return OpCheck(count, found.kept, found.total)


def _changed(op, record):
    named = [f"{name} was {was!r}, is {op[name]!r}" for name, was in record.known.items() if op[name] != was]
    what = "; ".join(named) if named else (
        "its value, stamp (hlc), device seq or status: the columns its record holds only in the hash")
    return (f"op {op['op_id']} (seq {op['seq']}) was changed in the log: it no longer matches the hash audit row "
            f"{record.row} holds ({what})")


_OP_RECORDS = ("SELECT id, action, inspection_id, user_id, link_id, device, subject, after FROM audit "
               "WHERE action LIKE 'op.%' OR action = ? ORDER BY id")


def _vouched(db, found):
    """The ops the trail vouches for, in trail order: the sealed ones from the
    sealing records, then one per op record after the seal. Records written
    before the seal without a hash are the chain's alone (their ops are in
    the sealing records); a record no server could have written is named."""
    sealed = None
    for record in db.conn.execute(_OP_RECORDS, [chain.SEAL]):
        number, action = record["id"], record["action"]
        if action == chain.SEAL:
            if sealed is not None:
                found.add(None, None, number, "forged", f"audit row {number} seals the op log a second time "
                                                        f"(row {sealed} did): only the migration writes a seal")
            sealed = number
            continue
        if sealed is None and action != chain.SEALED:
            continue
        after = _readable(record["after"])
        if action == chain.SEALED:
            entries = after.get("ops") if isinstance(after, dict) else None
            if sealed is not None or not isinstance(entries, list):
                found.add(None, None, number, "forged", f"audit row {number} is a sealing record the migration "
                                                        f"did not write (forged)")
                continue
            for entry in entries:
                if isinstance(entry, list) and len(entry) == 3 and _is_seq(entry[0]) and all(
                        isinstance(part, str) for part in entry[1:]):
                    yield _Vouched(entry[0], entry[1], entry[2], number, {"op_id": entry[1]})
                else:
                    found.add(None, None, number, "forged", f"audit row {number} seals an op it cannot name (forged)")
            continue
        if not (isinstance(after, dict) and _is_seq(after.get("seq")) and isinstance(after.get("op_id"), str)
                and isinstance(after.get("op_hash"), str)):
            found.add(after.get("op_id") if isinstance(after, dict) else None, None, number, "forged",
                      f"audit row {number} is an op record without its op's hash, written after the log was "
                      f"sealed: not written by this server (forged)")
            continue
        # What the record names outside the hash, to say what changed.
        known = {"op_id": after["op_id"], "field": after.get("field"), "inspection_id": record["inspection_id"],
                 "standard_code": record["subject"], "user_id": record["user_id"], "link_id": record["link_id"],
                 "device_id": record["device"]}
        yield _Vouched(after["seq"], after["op_id"], after["op_hash"], number, known)


def _readable(text):
    try:
        return None if text is None else orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _is_seq(value):
    return type(value) is int and value > 0


# --- one inspection's trail in plain words -------------------------------------------------

SHORT = 80  # longer texts are cut to this many characters on the History page
HIDDEN = "private to the inspection team"  # shown for a value the reader may not read


class Event(NamedTuple):
    id: int
    at: str
    action: str
    who: str
    description: str
    before: str
    after: str


def history(db, inspection_id, read_private=False):
    """The trail of one inspection, oldest first, each row told in plain words.
    Unless the reader may ``read_private`` (access.can_read_private_notes),
    the values of the team's private fields (access.PRIVATE_FIELDS) are left
    out: the reader learns that a note changed, by whom and when, not what it says."""
    people = {r["id"]: r for r in db.conn.execute("SELECT id, username, display_name, role FROM users")}
    by_username = {r["username"]: r["display_name"] for r in people.values()}
    links = {r["id"]: r for r in db.conn.execute(
        "SELECT id, issued_to, email, purpose FROM review_links WHERE inspection_id = ?", [inspection_id])}
    scale_row = db.conn.execute("SELECT i.scale FROM inspections i "
                                "WHERE i.id = ?", [inspection_id]).fetchone()
    words = _Words(people, by_username, links, SCALES[scale_row[0]] if scale_row else SCALES["fact"], read_private)
    return [words.event(row) for row in db.conn.execute(
        "SELECT * FROM audit WHERE inspection_id = ? ORDER BY id", [inspection_id])]


def shorten(text, limit=SHORT):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _loads(text):
    return None if text is None else json.loads(text)


class _Words:
    """Turns audit rows into sentences. An action it does not know is still
    told, in general words, so a new kind of record needs no change here."""

    def __init__(self, people, by_username, links, verdicts, read_private=False):
        self.people, self.by_username, self.links, self.verdicts = people, by_username, links, verdicts
        self.read_private = read_private

    def event(self, row):
        before, after = _loads(row["before"]), _loads(row["after"])
        who = self.who(row)
        family, _, verb = row["action"].partition(".")
        tell = getattr(self, f"_{family}", None)
        text = tell(verb, row, before, after) if tell else None
        if text is None:
            text, shown = self._generic(row), (self.value(before), self.value(after))
        else:
            shown = self.shown(family, before, after)
        return Event(row["id"], row["at"], row["action"], who, f"{who} {text}", *shown)

    # who and how ----------------------------------------------------------------

    def who(self, row):
        if row["user_id"] is not None:
            person = self.people.get(row["user_id"])
            return person["display_name"] if person else f"User {row['user_id']}"
        if row["link_id"] is not None:
            link = self.links.get(row["link_id"])
            return f"{link['issued_to']} ({self.kind_of(link)})" if link else f"Review link {row['link_id']}"
        return "Someone at the server's command line" if row["device"] == "cli" else "The system"

    def device(self, row):
        if row["link_id"] is not None:
            return f" through their {self.kind_of(self.links.get(row['link_id']))}"
        return f" from device {row['device'][:6]}…" if row["device"] and row["device"] not in ("web", "cli") else ""

    def name(self, username):
        return self.by_username.get(username, username)

    def verdict(self, code):
        return "no verdict" if code is None else self.verdicts.get(code, code)

    # what the History page shows in its Before and After columns --------------------

    def shown(self, family, before, after):
        if family == "op":
            field = (after or before or {}).get("field")
            if self.withheld(field):
                return HIDDEN, HIDDEN
            return tuple(self.op_value(field, side.get("value") if side else None) for side in (before, after))
        return self.value(before), self.value(after)

    def withheld(self, field):
        """Whether this reader sees only that ``field`` changed (access.can_read_private_notes)."""
        return not self.read_private and field in PRIVATE_FIELDS

    def op_value(self, field, value):
        if value is None:
            return ""
        if field in ("verdict", "decision_verdict"):
            return self.verdict(value)
        if field == "photo":
            return "attached" if value else "not attached"
        if field == "release_photo":
            return "released to the site" if value else "not released"
        if field == "flag":
            return "flagged" if value else "not flagged"
        return shorten(value)

    def value(self, value):
        if value is None:
            return ""
        if isinstance(value, dict):
            parts = [f"{k.replace('_', ' ')}: {self.value(v)}" for k, v in value.items() if k != "op_id"]
            return shorten("; ".join(parts))
        if isinstance(value, str):
            return shorten(STATE_LABELS.get(value, value))
        return shorten(json.dumps(value, ensure_ascii=False))

    # the families of actions ----------------------------------------------------

    def _op(self, verb, row, before, after):
        field, code, value = after.get("field"), row["subject"], after.get("value")
        done = {
            "verdict": lambda: (f"set the verdict of {code} to {self.verdict(value)}" if value
                                else f"cleared the verdict of {code}"),
            "note": lambda: f"changed the note on {code}" if value else f"cleared the note on {code}",
            "photo": lambda: f"attached a photo to {code}" if value else f"removed a photo from {code}",
            "caption": lambda: f"captioned a photo on {code}",
            "flag": lambda: f"flagged {code} for follow-up" if value else f"cleared the follow-up flag on {code}",
            "decision_verdict": lambda: (f"decided the team's verdict on {code}: {self.verdict(value)}" if value
                                         else f"withdrew the team's verdict on {code}"),
            "citation": lambda: f"wrote the citation for {code}" if value else f"cleared the citation for {code}",
            "suggestion": lambda: (f"wrote a suggestion for {code}" if value
                                   else f"cleared the suggestion for {code}"),
            "decision_basis": lambda: f"noted which findings on {code} they had seen when deciding",
            "release_photo": lambda: (f"released a photo of {code} to the site" if value
                                      else f"withheld a photo of {code} from the site"),
            "factual_comment": lambda: f"wrote a factual accuracy comment on citation {code}",
            "corrective_action": lambda: f"wrote the explanation of correction for citation {code}",
            "target_date": lambda: f"set the target date for citation {code}",
            "evidence": lambda: (f"attached evidence to citation {code}" if value
                                 else f"removed evidence from citation {code}"),
            "submitted": lambda: f"submitted the response to citation {code}",
            "review_outcome": lambda: f"reviewed the response to citation {code}",
            "review_comment": lambda: f"commented on the response to citation {code}",
        }.get(field, lambda: f"changed {str(field).replace('_', ' ')} of {code}")()
        if self.withheld(field):
            # That it changed, not to what: even "cleared" or "flagged" tells the value.
            done = {"note": f"changed the note on {code}", "caption": f"changed a photo's caption on {code}",
                    "flag": f"changed the follow-up flag on {code}"}.get(field, f"changed {field} of {code}")
        if verb == "superseded":
            return done + self.device(row) + " (kept in the log, not applied: a newer change already stood)"
        return done + self.device(row) if verb == "applied" else None

    def _team(self, verb, row, before, after):
        name = self.name(row["subject"])
        role = (after or {}).get("team_role")
        section = (after or before or {}).get("section")
        return {
            "joined": f"added {name} to the team" + (" as team leader" if role == "lead" else ""),
            "left": f"removed {name} from the team",
            "role": f"made {name} the team leader" if role == "lead" else f"made {name} an inspector on the team",
            "assigned": f"assigned section {section} to {name}",
            "unassigned": f"took section {section} off {name}",
            "reviewer_named": f"named {name} to review the site's corrections",
            "reviewer_unnamed": f"stopped {name} reviewing the site's corrections",
        }.get(verb)

    def _user(self, verb, row, before, after):
        name = self.name(row["subject"])
        return {"created": f"created the user {name}" + (f" ({after['role']})" if after and "role" in after else ""),
                "password_changed": f"changed the password of {name}"}.get(verb)

    def _inspection(self, verb, row, before, after):
        if verb == "created":
            return f"created the inspection of {(after or {}).get('site_name', row['subject'])}"
        if verb in ("archived", "unarchived"):
            return "archived the inspection" if verb == "archived" else "brought the inspection back from the archive"
        return None

    def _state(self, verb, row, before, after):
        old, new = (self._state_of(v) for v in (before, after))
        if verb == "moved" and new:
            return f"moved the inspection from {old} to {new}" if old else f"moved the inspection to {new}"
        return None

    def _state_of(self, value):
        if isinstance(value, dict):
            value = value.get("state")
        return STATE_LABELS.get(value, value) if isinstance(value, str) else None

    def _link(self, verb, row, before, after):
        about = after if isinstance(after, dict) else before if isinstance(before, dict) else {}
        to, email = about.get("issued_to"), about.get("email")
        if not to:
            link = self.links.get(about.get("link_id") or (int(row["subject"]) if row["subject"].isdigit() else None))
            to, email = (link["issued_to"], link["email"]) if link else (None, None)
        whom = f"{to} ({email})" if to and email else to or "the site"
        kind = self.kind_of(about if "purpose" in about else self.links.get(
            row["link_id"] or (int(row["subject"]) if row["subject"].isdigit() else None)))
        opened = f"opened the {kind}" if row["link_id"] is not None else f"opened the {kind} of {whom}"
        return {"issued": f"issued a {kind} to {whom}", "opened": opened,
                "revoked": f"revoked the {kind} of {whom}"}.get(verb)

    @staticmethod
    def kind_of(link):
        """What a link is called: a review link, or a self-assessment link."""
        return "self-assessment link" if link and link["purpose"] == "self_assessment" else "review link"

    def _committee(self, verb, row, before, after):
        after = after if isinstance(after, dict) else {}
        if verb == "citation":
            due = f", correction due {after['due_on']}" if after.get("due_on") else ""
            return f"recorded the committee's decision on {row['subject']}: {after.get('decision', '')}{due}"
        if verb == "decided":
            return f"recorded the committee of {after.get('committee_date', '')}: outcome {row['subject']}"
        return None

    def _calendar(self, verb, row, before, after):
        return {"issued": "made a new calendar feed address", "stopped": "stopped their calendar feed"}.get(verb)

    def _photo(self, verb, row, before, after):
        return "uploaded an evidence photo" + self.device(row) if verb == "uploaded" else None

    def _document(self, verb, row, before, after):
        name = (after or {}).get("filename", "a document")
        return f"uploaded the evidence document {name}" + self.device(row) if verb == "uploaded" else None

    def _generic(self, row):
        what = row["action"].replace(".", " ").replace("_", " ")
        return f"recorded {what}" + (f" ({row['subject']})" if row["subject"] else "") + self.device(row)
