"""Registers: the tables ops write, last writer wins per column.

A register is a table of last-writer-wins fields: its key columns, the
columns ops write, and what a new row holds before its first op. Every
written column has a ``<column>_hlc`` beside it holding the stamp of the op
that set it, and ``last_seq`` the log position that last wrote the row, so
pull can answer "what changed after this cursor". Only the protocol writes
them (sync/protocol.py decides which op wins; these functions write what it
decided); the domain's modules read the same tables for the pages.
"""
import json
from typing import NamedTuple


class Register(NamedTuple):
    """A table of last-writer-wins fields: its key columns, the columns ops
    write, and what a new row holds before its first op."""
    table: str
    key: tuple
    columns: tuple
    new_row: dict

    def current(self, db, key, column):
        """(value, stamp) of ``column`` of the row at ``key``: (None, '') when
        there is no row. One query gives the audit trail its "before" too."""
        where = " AND ".join(f"{k} = ?" for k in self.key)
        row = db.conn.execute(f"SELECT {column}, {column}_hlc FROM {self.table} WHERE {where}", list(key)).fetchone()
        return (row[0], row[1]) if row else (None, "")

    def current_many(self, db, keys):
        """{key: {column: (value, stamp)}} of the rows at ``keys`` that exist,
        every column of the register: one query (a batch of ops reads its
        rows so, not one query per op)."""
        keys = list(keys)
        if not keys:
            return {}
        names = ", ".join(f"t.{c}" for c in self.key)
        cells = ", ".join(f"t.{c}, t.{c}_hlc" for c in self.columns)
        match = " AND ".join(f"t.{c} = json_extract(k.value, '$[{i}]')" for i, c in enumerate(self.key))
        found = {}
        for start in range(0, len(keys), 500):
            rows = db.conn.execute(f"SELECT {names}, {cells} FROM json_each(?) k JOIN {self.table} t ON {match}",
                                   [json.dumps(keys[start:start + 500])])
            width = len(self.key)
            for row in rows:
                found[tuple(row[:width])] = {c: (row[width + 2 * i], row[width + 2 * i + 1])
                                             for i, c in enumerate(self.columns)}
        return found

    def write_many(self, db, column, writes):
        """Set ``column`` of many rows (each made if missing) with its stamp and
        the log position that set it, in one statement: ``writes`` holds (key,
        value, stamp, seq), one per key, each stamp checked newer by the caller."""
        # Raw SQL: sqlite-utils' upsert_all cannot keep the later of two log
        # positions (max below), and this runs on every push.
        new_row = {name: default for name, default in self.new_row.items() if name != column}
        names = [*self.key, *new_row, column, f"{column}_hlc", "last_seq"]
        # max(): two columns of one row written in one batch leave the row at
        # the later of their log positions, in whichever order they are written.
        db.conn.executemany(
            f"INSERT INTO {self.table} ({', '.join(names)}) VALUES ({','.join('?' * len(names))}) "
            f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {column} = excluded.{column}, "
            f"{column}_hlc = excluded.{column}_hlc, last_seq = max(last_seq, excluded.last_seq)",
            [[*key, *new_row.values(), value, stamp, seq] for key, value, stamp, seq in writes])

    def changes(self, db, inspection_id, cursor, owner_column=None, owner=None):
        """Rows of one inspection changed after log position ``cursor``, oldest
        first; only ``owner``'s when given."""
        scope = f"AND {owner_column} = :o" if owner is not None else ""
        # The client reads the standard's code as "standard".
        columns = ", ".join("standard_code AS standard" if c == "standard_code" else c for c in self.key[1:])
        columns += ", " + ", ".join(
            f"{c}, {c}_hlc" for c in self.columns)
        return [dict(r) for r in db.conn.execute(
            f"SELECT {columns}, last_seq FROM {self.table} WHERE inspection_id = :i AND last_seq > :c {scope} "
            f"ORDER BY last_seq", {"i": inspection_id, "c": cursor, "o": owner})]

    def clear(self, db):
        db.conn.execute(f"DELETE FROM {self.table}")


# An inspector's own finding and the photos on it (inspector/domain/findings.py reads them).
FINDINGS = Register("findings", ("inspection_id", "standard_code", "inspector_id"), ("verdict", "note"), {})
# "Flag for follow-up": the inspector's own reminder, never shown to the lead or the site.
FLAGS = Register("finding_flags", ("inspection_id", "standard_code", "inspector_id"), ("flagged",), {"flagged": 0})
FINDING_PHOTOS = Register("finding_photos", ("inspection_id", "standard_code", "inspector_id", "sha256"),
                          ("attached", "caption"), {"attached": 0})
# The team leader's decisions (inspector/domain/merge.py reads them).
DECISIONS = Register("decisions", ("inspection_id", "standard_code"),
                     ("verdict", "citation", "suggestion", "basis"), {})
PHOTO_RELEASES = Register("photo_releases", ("inspection_id", "standard_code", "sha256"), ("released",), {})
# The site's responses, round by round, and the lead's reviews of them (inspector/domain/review.py).
RESPONSES = Register("responses", ("inspection_id", "standard_code", "round"),
                     ("factual_comment", "corrective_action", "target_date", "submitted"), {})
REVIEWS = Register("reviews", ("inspection_id", "standard_code", "round"), ("outcome", "comment"), {})
RESPONSE_DOCUMENTS = Register("response_documents", ("inspection_id", "standard_code", "round", "sha256"),
                              ("attached",), {})
# Before the visit (inspector/domain/preparation.py reads them): the
# program's self-assessment per standard and the crosswalk of its documents
# to standards, written through its self-assessment link; the inspectors'
# requests for information (each its raiser's, keyed by the id the tablet
# made), the program's answer to each, and the documents it attached.
SELF_ASSESSMENTS = Register("self_assessments", ("inspection_id", "standard_code"), ("verdict", "how"), {})
CROSSWALK = Register("crosswalk", ("inspection_id", "standard_code", "sha256"), ("linked",), {"linked": 0})
REQUESTS = Register("requests", ("inspection_id", "standard_code", "raised_by", "request_id"), ("text", "closed"),
                    {"closed": 0})
REQUEST_ANSWERS = Register("request_answers", ("inspection_id", "request_id"), ("answer",), {})
REQUEST_DOCUMENTS = Register("request_documents", ("inspection_id", "request_id", "sha256"), ("attached",),
                             {"attached": 0})
