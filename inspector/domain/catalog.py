"""Catalogs: an edition of the standards, imported from CSV or JSON.

The import is all or nothing: every row is checked first, and a single bad
row fails the whole file. Every problem is named, each with its line (CSV)
or index (JSON), so a file is fixed in one pass rather than one line an upload.
"""
import csv
import functools
import hashlib
import io
import json
import re
from importlib import resources
from pathlib import Path

# chain, not audit: the audit trail reads the scales defined here.
from . import chain
from .db import transaction

FIELDS = ("code", "parent", "title", "text", "guidance", "roles")
INSPECTOR_ROLES = ("clinical", "collection", "processing", "quality")
ILLUSTRATIVE_EDITION = "IEC 3rd edition (illustrative v2, not the official text)"
# The bundled catalog's earlier editions. The first reused published section
# numbers past section 5 for other topics (B7 was the manufacturer, not
# therapy administration): an install that holds it gets the current one as
# a new edition, and its inspections keep the edition they were created on.
EARLIER_ILLUSTRATIVE_EDITIONS = ("IEC 3rd edition (illustrative, not the official text)",)
# Each edition carries its verdict scale: FACT's checklist has three
# verdicts (partial compliance counts as not compliant, with a comment);
# JACIE's has four. The codes are shared so counts and reports read alike;
# JACIE's label for not_compliant is its own word, "Uncompliant".
SCALES = {
    "fact": {"compliant": "Compliant", "not_compliant": "Not compliant", "not_applicable": "Not applicable"},
    "jacie": {"compliant": "Compliant", "partially_compliant": "Partially compliant",
              "not_compliant": "Uncompliant", "not_applicable": "Not applicable"},
}
SCALE_NAMES = {"fact": "FACT (Compliant / Not compliant / Not applicable)",
               "jacie": "JACIE (Compliant / Partially compliant / Uncompliant / Not applicable)"}
# A deficiency: the standard yields a citation.
DEFICIENT = ("partially_compliant", "not_compliant")
ALL_VERDICTS = tuple(dict.fromkeys(code for scale in SCALES.values() for code in scale))


CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")


class CatalogError(ValueError):
    """A catalog file that cannot be imported: ``problems``, each saying where
    and why (the message is all of them, a line each)."""

    def __init__(self, *problems):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def bundled_catalog_path(name="iec3_illustrative.csv"):
    return Path(str(resources.files("inspector.domain.catalogs") / name))


# The files of the earlier bundled editions, kept as they were (the demo's
# inspection of two years ago was made on the first), and the map from each
# to the current one.
EARLIER_FILES = {"IEC 3rd edition (illustrative, not the official text)": ("iec3_illustrative_v1.csv",
                                                                           "iec3_illustrative_v1_to_v2.csv")}


def read_file(path):
    """Parse and check a CSV or JSON catalog file; returns the checked rows."""
    path = Path(path)
    return parse(_read_bytes(path), json_format=path.suffix.lower() == ".json", name=path.name)


def _read_bytes(path):
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the file ({exc.strerror})") from exc


def parse(raw, json_format=False, name="catalog"):
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Locate the bad byte as a line number (and, for JSON, the index of
        # the object that holds it) so the user can find it.
        line = raw[:exc.start].count(b"\n") + 1
        where = f"line {line}"
        index = _json_index_of_bad_bytes(raw) if json_format else None
        if index is not None:
            where = f"index {index} ({where})"
        raise CatalogError(f"{name}: {where}: bad encoding, the file must be UTF-8 "
                           f"(byte 0x{raw[exc.start]:02x} cannot be decoded)") from exc
    rows, problems, refused = _json_rows(content, name) if json_format else _csv_rows(content, name)
    return check(rows, name, problems, refused)


def _json_index_of_bad_bytes(raw):
    """The index of the first JSON object holding undecodable bytes, or None."""
    try:
        data = json.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape"))
    except ValueError:
        return None

    def bad(value):
        if isinstance(value, str):
            return any("\udc80" <= c <= "\udcff" for c in value)
        if isinstance(value, dict):
            return any(bad(k) or bad(v) for k, v in value.items())
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return False

    if isinstance(data, list):
        return next((index for index, item in enumerate(data) if bad(item)), None)
    return None


def _csv_rows(content, name):
    """(rows, problems, refused): the records as (where, row); the problems of
    the records that are not rows (a wrong number of columns); the places of
    those records, which check() passes over (their code, if any, still
    counts as known, so their children are not reported again)."""
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogError(f"{name}: the file is empty") from None
    header = [h.strip() for h in header]
    if tuple(header) != FIELDS:
        raise CatalogError(f"{name}: line 1: the header must be {','.join(FIELDS)} (found {','.join(header)})")
    rows, problems, refused = [], [], set()
    try:
        end = reader.line_num
        for values in reader:
            # A quoted value may span lines: name the line the record starts on.
            start, end = end + 1, reader.line_num
            where = f"line {start}"
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(FIELDS):
                problems.append(f"{name}: {where}: expected {len(FIELDS)} columns, found {len(values)}")
                refused.add(where)
                values = (values + [""] * len(FIELDS))[:len(FIELDS)]
            rows.append((where, dict(zip(FIELDS, values))))
    except csv.Error as exc:
        # The rest of the file cannot be read as records: what was found so far, and this.
        raise CatalogError(*problems, f"{name}: line {reader.line_num}: {exc}") from exc
    return rows, problems, refused


def _json_rows(content, name):
    """As _csv_rows, for a JSON list of objects (places are indexes)."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{name}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, or nesting thousands deep
        raise CatalogError(f"{name}: not a catalog: the JSON is nested too deep or holds a number too long") from exc
    if not isinstance(data, list):
        raise CatalogError(f"{name}: the JSON must be a list of objects with keys {', '.join(FIELDS)}")
    rows, problems, refused = [], [], set()
    for index, item in enumerate(data):
        where = f"index {index}"
        if not isinstance(item, dict):
            problems.append(f"{name}: {where}: expected an object, found {type(item).__name__}")
            continue
        row, wrong = {}, []
        unknown = set(item) - set(FIELDS)
        if unknown:
            wrong.append(f"{name}: {where}: unknown key(s) {', '.join(sorted(unknown))}")
        for field in FIELDS:
            value = item.get(field, "")
            if isinstance(value, list) and field == "roles":
                value = ";".join(map(str, value))
            if value is None:
                value = ""
            if not isinstance(value, str):
                wrong.append(f"{name}: {where}: {field} must be a string")
                value = ""
            row[field] = value
        if wrong:
            problems += wrong
            refused.add(where)
        rows.append((where, row))
    return rows, problems, refused


def check(rows, name="catalog", problems=(), refused=()):
    """Check codes, parents and roles; return rows with depth, section and
    position. Raises CatalogError naming every problem: those found here and
    ``problems`` found before (in the records at the places ``refused``)."""
    problems = list(problems)
    if not rows and not problems:
        raise CatalogError(f"{name}: no standards in the file")
    seen = {}
    checked = []
    for position, (where, row) in enumerate(rows):
        row = {k: v.strip() for k, v in row.items()}
        code, parent = row["code"], row["parent"]
        if where in refused:  # already reported: its code is known, so its children are not reported again
            seen.setdefault(code, (where, None))
            continue
        found = _row_problems(row, where, seen, name)
        problems += found
        if found or (parent and seen[parent][1] is None):  # a bad row, or under one (said once, at the parent)
            seen.setdefault(code, (where, None))
            continue
        if parent:
            parent_row = seen[parent][1]
            depth, section_code = parent_row["depth"] + 1, parent_row["section_code"]
        else:
            depth, section_code = 0, code
        entry = {**row, "roles": ";".join(r.strip() for r in row["roles"].split(";") if r.strip()),
                 "depth": depth, "section_code": section_code, "position": position}
        seen[code] = (where, entry)
        checked.append(entry)
    if problems:
        raise CatalogError(*problems)
    if not any(entry["depth"] > 0 for entry in checked):
        raise CatalogError(f"{name}: only sections, no standards: each section needs standards under it")
    return checked


def _row_problems(row, where, seen, name):
    """Every problem of one row, given the rows ``seen`` before it."""
    code, parent = row["code"], row["parent"]
    if not code:
        return [f"{name}: {where}: missing code"]
    found = []
    if any(c.isspace() for c in code) or "/" in code:
        found.append(f"{name}: {where}: code {code!r} may not contain spaces or '/'")
    elif not CODE.match(code) or ".." in code:
        found.append(f"{name}: {where}: code {code!r} must be letters, digits, '.', '-' or '_' "
                     f"(at most 32, starting with a letter or digit)")
    bad = next((f for f in FIELDS if not _plain_text(row[f])), None)
    if bad:
        found.append(f"{name}: {where}: {bad} of {code} holds a control character or invalid text")
    if code in seen:
        found.append(f"{name}: {where}: duplicate code {code} (first at {seen[code][0]})")
    if parent and parent not in seen:
        found.append(f"{name}: {where}: unknown parent {parent} for {code} "
                     f"(a parent must appear before its children)")
    if not row["title"]:
        found.append(f"{name}: {where}: missing title for {code}")
    roles = [r.strip() for r in row["roles"].split(";") if r.strip()]
    unknown = [r for r in roles if r not in INSPECTOR_ROLES]
    if unknown:
        found.append(f"{name}: {where}: unknown role {unknown[0]!r} for {code} "
                     f"(use {';'.join(INSPECTOR_ROLES)})")
    return found


def _plain_text(text):
    """Printable Unicode, newlines and tabs allowed: no NUL, no lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return all(c.isprintable() or c in "\n\r\t" for c in text)


def import_rows(db, rows, edition, source, illustrative=False, scale="fact", by=None, device="cli"):
    """Store checked rows as a new edition with its verdict scale, recorded in
    the audit trail as imported by the user ``by`` (None at the command line).
    Refuses an edition that exists."""
    rows, edition = list(rows), (edition or "").strip()
    if not edition:
        raise CatalogError("an edition name is required")
    if scale not in SCALES:
        raise CatalogError(f"unknown verdict scale {scale!r}: use {' or '.join(SCALES)}")
    with transaction(db):
        if db.conn.execute("SELECT 1 FROM catalogs WHERE edition = ?", [edition]).fetchone():
            raise CatalogError(f"edition {edition!r} is already imported; give the new one another name")
        catalog_id = db["catalogs"].insert(
            {"edition": edition, "source": source, "illustrative": int(illustrative), "scale": scale}).last_pk
        db["standards"].insert_all(
            ({"catalog_id": catalog_id, **row} for row in rows), batch_size=500)
        # The edition's text is what every verdict is given against: its
        # import is a write like any other, and commits with its record.
        chain.record(db, "catalog.imported", user_id=by, device=device, subject=edition,
                     after={"catalog_id": catalog_id, "source": source, "scale": scale,
                            "illustrative": bool(illustrative), "rows": len(rows)})
    return catalog_id


def import_file(db, path, edition=None, illustrative=None, scale="fact"):
    """Import a file as an edition (named after the file when not given);
    illustrative when told, else when it is one of the bundled files or named as one (is_illustrative)."""
    path = Path(path)
    raw = _read_bytes(path)
    rows = parse(raw, json_format=path.suffix.lower() == ".json", name=path.name)
    edition = edition or path.stem
    if illustrative is None:
        illustrative = is_illustrative(raw, edition)
    return import_rows(db, rows, edition, source=path.name, illustrative=illustrative, scale=scale)


def is_illustrative(raw, edition):
    """Whether a file imported as ``edition`` is the illustrative text, not the
    official one: its bytes are a bundled edition's, or it takes a bundled
    edition's name. Either way its inspections' reports carry the disclaimer
    (the flag is what prints it): marking a file illustrative only adds a
    warning, while dropping the mark from ours would pass it off as official."""
    return (hashlib.sha256(raw).hexdigest() in _bundled_digests()
            or (edition or "").strip() in (ILLUSTRATIVE_EDITION, *EARLIER_ILLUSTRATIVE_EDITIONS))


@functools.cache
def _bundled_digests():
    files = ["iec3_illustrative.csv", *(pair[0] for pair in EARLIER_FILES.values())]
    return frozenset(hashlib.sha256(bundled_catalog_path(name).read_bytes()).hexdigest() for name in files)


def summary(rows, first=8):
    """What a preview shows of checked rows: each section (code, title, its
    standards), the number of standards, and the ``first`` rows."""
    sections, counts = [], {}
    for row in rows:
        if row["depth"] == 0:
            sections.append(row)
        else:
            counts[row["section_code"]] = counts.get(row["section_code"], 0) + 1
    return {"sections": [{"code": s["code"], "title": s["title"], "standards": counts.get(s["code"], 0)}
                         for s in sections],
            "standards": sum(counts.values()), "first": rows[:first], "rows": len(rows)}


def import_bundled(db):
    """Import the illustrative catalog that ships with the app (once)."""
    existing = db.conn.execute("SELECT id FROM catalogs WHERE edition = ?", [ILLUSTRATIVE_EDITION]).fetchone()
    if existing:
        return existing[0]
    return import_file(db, bundled_catalog_path(), ILLUSTRATIVE_EDITION, illustrative=True)


def import_earlier(db, edition):
    """Import an earlier bundled edition by its name (once); its id."""
    existing = edition_by_name(db, edition)
    if existing:
        return existing["id"]
    return import_file(db, bundled_catalog_path(EARLIER_FILES[edition][0]), edition, illustrative=True)


def upgrade_illustrative(db):
    """Import the current bundled edition where an earlier one is held (an
    install that ran an older release's demo); otherwise change nothing.
    Returns the new edition's id, or None."""
    held = db.conn.execute(
        f"SELECT 1 FROM catalogs WHERE illustrative = 1 AND edition IN "
        f"({','.join('?' * len(EARLIER_ILLUSTRATIVE_EDITIONS))})", EARLIER_ILLUSTRATIVE_EDITIONS).fetchone()
    if not held or edition_by_name(db, ILLUSTRATIVE_EDITION):
        return None
    try:
        return import_bundled(db)
    except CatalogError:  # another process starting at the same moment imported it first
        return None


def synthetic_rows(sections=12, per_section=15, children=3):
    """A made-up catalog of any size, for benchmarks: ``sections`` top-level
    rows, each with ``per_section`` standards, every third with ``children``
    sub-standards."""
    roles = INSPECTOR_ROLES
    out = []
    for s in range(1, sections + 1):
        sec = f"S{s}"
        out.append({"code": sec, "parent": "", "title": f"Synthetic section {s}",
                    "text": f"Synthetic scope {s}.", "guidance": "", "roles": roles[s % 4]})
        for n in range(1, per_section + 1):
            code = f"{sec}.{n}"
            out.append({"code": code, "parent": sec, "title": f"Synthetic standard {code}",
                        "text": f"Requirement {code}, written for load tests.",
                        "guidance": f"Look for the record that shows {code} is met.", "roles": roles[s % 4]})
            if n % 3 == 0:
                for c in range(1, children + 1):
                    out.append({"code": f"{code}.{c}", "parent": code, "title": f"Sub-standard {code}.{c}",
                                "text": "A detail.", "guidance": "Ask for the evidence.", "roles": roles[s % 4]})
    return out


def write_csv(rows, stream):
    writer = csv.DictWriter(stream, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row[k] for k in FIELDS})


# --- reads ---------------------------------------------------------------------

def editions(db):
    """Every edition, oldest first, with its number of standards and of inspections made on it."""
    return db.conn.execute(
        "SELECT c.*, (SELECT count(*) FROM standards s WHERE s.catalog_id = c.id AND s.depth > 0) AS standards, "
        "(SELECT count(*) FROM inspections i WHERE i.catalog_id = c.id) AS inspections "
        "FROM catalogs c ORDER BY c.id").fetchall()


def default_edition_id(editions):
    """What a new inspection is offered first: the newest edition that no
    bundled edition replaces (an earlier illustrative one stays, for the
    inspections made on it)."""
    current = [e["id"] for e in editions if e["edition"] not in EARLIER_ILLUSTRATIVE_EDITIONS]
    return current[-1] if current else (editions[-1]["id"] if editions else None)


def edition_by_name(db, edition):
    return db.conn.execute("SELECT * FROM catalogs WHERE edition = ?", [edition]).fetchone()


def count_standards(db, catalog_id):
    return db.conn.execute("SELECT count(*) FROM standards WHERE catalog_id = ? AND depth > 0",
                           [catalog_id]).fetchone()[0]


def sections(db, catalog_id):
    return db.conn.execute(
        "SELECT s.*, (SELECT count(*) FROM standards x WHERE x.catalog_id = s.catalog_id "
        "AND x.section_code = s.code AND x.depth > 0) AS total "
        "FROM standards s WHERE s.catalog_id = ? AND s.depth = 0 ORDER BY s.position", [catalog_id]).fetchall()


def section(db, catalog_id, code):
    return db.conn.execute("SELECT * FROM standards WHERE catalog_id = ? AND code = ? AND depth = 0",
                           [catalog_id, code]).fetchone()


def standard(db, catalog_id, code):
    return db.conn.execute("SELECT * FROM standards WHERE catalog_id = ? AND code = ? AND depth > 0",
                           [catalog_id, code]).fetchone()


def standard_codes(db, catalog_id, among):
    """Those of the codes ``among`` that are standards (sections excluded) of
    an edition, as a set: a push asks for the few its ops name, not all 239."""
    found = set()
    among = sorted(among)
    for start in range(0, len(among), 500):
        chunk = among[start:start + 500]
        found.update(r[0] for r in db.conn.execute(
            f"SELECT code FROM standards WHERE catalog_id = ? AND depth > 0 AND code IN ({','.join('?' * len(chunk))})",
            [catalog_id, *chunk]))
    return found


# The rule the jump box matches codes by (case and spaces do not matter), as
# data: the pages (the jump form's data-jump-key) and the service worker
# (sw.js, filled in when served) apply this one rule rather than a copy.
JUMP_KEY = {"drop": r"\s+", "upper": True}


def jump_key(typed):
    """``typed`` keyed by JUMP_KEY: what the jump box compares codes by."""
    key = re.sub(JUMP_KEY["drop"], "", typed)
    return key.upper() if JUMP_KEY["upper"] else key


def find_by_typed_code(db, catalog_id, typed):
    """A standard, else a section, whose code matches what was typed in the jump box."""
    return db.conn.execute(
        "SELECT * FROM standards WHERE catalog_id = ? AND upper(code) = ? ORDER BY depth = 0 LIMIT 1",
        [catalog_id, jump_key(typed)]).fetchone()


def search_entries(db, catalog_id, section_codes=None):
    """Sections and standards (code, title, text, depth) in catalog order, for
    the jump box's word search: of these sections only, or every one when None."""
    if section_codes is None:
        return db.conn.execute("SELECT code, title, text, depth FROM standards WHERE catalog_id = ? "
                               "ORDER BY position", [catalog_id]).fetchall()
    marks = ",".join("?" * len(section_codes))
    return db.conn.execute(
        f"SELECT code, title, text, depth FROM standards WHERE catalog_id = ? "
        f"AND section_code IN ({marks}) ORDER BY position", [catalog_id, *section_codes]).fetchall()


def neighbours(db, catalog_id, position):
    """(previous, next) standards in catalog order, across sections."""
    prev = db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth > 0 AND position < ? "
        "ORDER BY position DESC LIMIT 1", [catalog_id, position]).fetchone()
    nxt = db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth > 0 AND position > ? "
        "ORDER BY position LIMIT 1", [catalog_id, position]).fetchone()
    return prev, nxt


def standards_in_sections(db, catalog_id, section_codes=None):
    """(code, section_code) of the standards in these sections (every section
    when None), in catalog order."""
    if section_codes is None:
        return [tuple(r) for r in db.conn.execute(
            "SELECT code, section_code FROM standards WHERE catalog_id = ? AND depth > 0 ORDER BY position",
            [catalog_id])]
    marks = ",".join("?" * len(section_codes))
    return [tuple(r) for r in db.conn.execute(
        f"SELECT code, section_code FROM standards WHERE catalog_id = ? AND depth > 0 "
        f"AND section_code IN ({marks}) ORDER BY position", [catalog_id, *section_codes])]
