"""Edition maps: where each standard of an earlier checklist edition sits in
a later one (old code -> new code), so what an earlier inspection cited is
found again when the renewal uses the new edition.

A map is imported from a CSV with the header ``old_code,new_code``, all or
nothing: every problem is reported with its line number before anything is
stored. A second import for the same pair of editions replaces the first
(the audit trail keeps how many codes it held): a corrected map is simply
imported again.
"""
import csv
import io

from . import catalog, chain
from .db import transaction

HEADER = ("old_code", "new_code")


class MapError(ValueError):
    """A map that cannot be imported: ``problems`` lists each, with its line."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = problems


def read(raw, name="map"):
    """[(line number, old code, new code)] from a map's bytes; MapError with
    every problem of its form (encoding, header, columns) found."""
    problems = []
    text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = next(reader, None)
        if header is None:
            raise MapError([f"{name}: the file is empty"])
        if _undecodable(header) or tuple(h.strip() for h in header) != HEADER:
            problems.append(f"{name}: line 1: the header must be {','.join(HEADER)}"
                            + ("" if _undecodable(header) else f" (found {','.join(header)})"))
        end = reader.line_num
        for values in reader:
            # A quoted value may span lines: name the line the record starts on.
            line, end = end + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if _undecodable(values):
                problems.append(f"{name}: line {line}: bad encoding, the file must be UTF-8")
            elif len(values) != len(HEADER):
                problems.append(f"{name}: line {line}: expected 2 columns (old_code,new_code), found {len(values)}")
            else:
                rows.append((line, values[0].strip(), values[1].strip()))
    except csv.Error as exc:
        problems.append(f"{name}: line {reader.line_num}: {exc}")
    if problems:
        raise MapError(problems)
    if not rows:
        raise MapError([f"{name}: no codes in the file"])
    return rows


def _undecodable(values):
    return any("\udc80" <= c <= "\udcff" for v in values for c in v)


def check(db, old, new, rows, name="map"):
    """The problems of mapping ``rows`` from edition row ``old`` to ``new``:
    codes that are not standards of their edition, an old code given twice."""
    problems = []
    old_codes = catalog.standard_codes(db, old["id"], {r[1] for r in rows})
    new_codes = catalog.standard_codes(db, new["id"], {r[2] for r in rows})
    first = {}
    for line, old_code, new_code in rows:
        if old_code in first:
            problems.append(f"{name}: line {line}: duplicate old code {old_code} (first at line {first[old_code]})")
            continue
        first[old_code] = line
        if old_code not in old_codes:
            problems.append(f"{name}: line {line}: unknown old code {old_code!r}: not a standard of {old['edition']!r}")
        if new_code not in new_codes:
            problems.append(f"{name}: line {line}: unknown new code {new_code!r}: not a standard of {new['edition']!r}")
    return problems


def import_file(db, old_edition, new_edition, path, device="cli"):
    """Check the map in ``path`` from edition ``old_edition`` to ``new_edition``
    (names) and store it in place of any earlier one; (codes stored, codes the
    replaced map held or None). MapError, nothing stored, on any problem."""
    old, new = catalog.edition_by_name(db, old_edition), catalog.edition_by_name(db, new_edition)
    problems = [f"no edition named {n!r} (see `inspector catalog list`)"
                for n, row in ((old_edition, old), (new_edition, new)) if row is None]
    if not problems and old["id"] == new["id"]:
        problems.append("the old and the new edition are the same: a map goes from one edition to another")
    if problems:
        raise MapError(problems)
    name = str(path).rsplit("/", 1)[-1]
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise MapError([f"{name}: cannot read the file ({exc.strerror})"]) from exc
    rows = read(raw, name)
    problems = check(db, old, new, rows, name)
    if problems:
        raise MapError(problems)
    with transaction(db):
        replaced = db.conn.execute("SELECT count(*) FROM edition_maps WHERE from_catalog = ? AND to_catalog = ?",
                                   [old["id"], new["id"]]).fetchone()[0]
        db.conn.execute("DELETE FROM edition_maps WHERE from_catalog = ? AND to_catalog = ?", [old["id"], new["id"]])
        db["edition_maps"].insert_all({"from_catalog": old["id"], "to_catalog": new["id"], "old_code": o,
                                       "new_code": n} for _, o, n in rows)
        chain.record(db, "catalog.mapped", device=device, subject=f"{old['edition']} -> {new['edition']}",
                     before={"codes": replaced} if replaced else None,
                     after={"from_catalog": old["id"], "to_catalog": new["id"], "codes": len(rows), "source": name})
    return len(rows), replaced or None


def of(db, from_catalog, to_catalog):
    """{old code: new code} of the map between two editions (ids), or None when none was imported."""
    found = {r[0]: r[1] for r in db.conn.execute(
        "SELECT old_code, new_code FROM edition_maps WHERE from_catalog = ? AND to_catalog = ?",
        [from_catalog, to_catalog])}
    return found or None
