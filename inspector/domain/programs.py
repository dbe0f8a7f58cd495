"""Programs: the inspected organisation, with its facilities, and its
inspections over the years (initial, renewal, interim audit, ...)."""
from . import audit
from .db import joined_transaction

FACILITY_KINDS = {"clinical": "Clinical unit", "collection": "Collection facility",
                  "processing": "Processing facility"}
INSPECTION_KINDS = {"initial": "Initial", "renewal": "Renewal", "interim": "Interim audit", "focused": "Focused",
                    "internal": "Internal audit"}


def create(db, name, by, city="", country="", facilities=(), device="web"):
    """A new program with its facilities ([(kind, name)]), in the audit trail as made by ``by``."""
    with joined_transaction(db):
        program_id = db["programs"].insert({"name": name, "city": city, "country": country}).last_pk
        for kind, facility in facilities:
            db["facilities"].insert({"program_id": program_id, "kind": kind, "name": facility})
        audit.record(db, "program.created", user_id=by, device=device, subject=name,
                     after={"city": city, "country": country, "facilities": [list(f) for f in facilities]})
    return program_id


def by_name(db, name):
    return db.conn.execute("SELECT * FROM programs WHERE name = ?", [name]).fetchone()


def get(db, program_id):
    return db.conn.execute("SELECT * FROM programs WHERE id = ?", [program_id]).fetchone()


def named_or_new(db, name, by, device="web"):
    """The program of that name, made (with no facilities yet) if there is none: its id."""
    found = by_name(db, name)
    return found["id"] if found else create(db, name, by, device=device)


def every(db):
    return db.conn.execute("SELECT * FROM programs ORDER BY name COLLATE NOCASE").fetchall()


def facilities(db, program_id):
    return db.conn.execute("SELECT * FROM facilities WHERE program_id = ? ORDER BY kind, name",
                           [program_id]).fetchall()


def inspections_of(db, program_id):
    """The program's inspections, newest first."""
    return db.conn.execute("SELECT * FROM inspections WHERE program_id = ? ORDER BY starts_on DESC, id DESC",
                           [program_id]).fetchall()


# The kinds of inspection that start from what the earlier one cited.
FOLLOW_UP_KINDS = ("renewal", "interim", "focused")


def kind_refusal(kind, body):
    """Why an inspection of ``kind`` cannot be run by ``body``, or None: an
    internal audit is the program auditing itself, and nothing else is."""
    if kind not in INSPECTION_KINDS:
        return "Choose the inspection type."
    if (kind == "internal") != (body == "internal"):
        return ("An internal audit goes with the accrediting body Internal audit, and only it: "
                "choose both, or neither.")
    return None


def is_internal_audit(inspection):
    """Run by the program's own staff: not an accreditation inspection (its
    type and its body say so together: kind_refusal keeps them agreeing)."""
    return inspection["kind"] == "internal" or inspection["body"] == "internal"


def listing(db):
    """Every program with how many inspections it had and the first day of its latest, by name."""
    return db.conn.execute(
        "SELECT p.*, count(i.id) AS inspections, max(i.starts_on) AS latest FROM programs p "
        "LEFT JOIN inspections i ON i.program_id = p.id GROUP BY p.id ORDER BY p.name COLLATE NOCASE").fetchall()


def on_a_team_of(db, user_id, program_id):
    """Whether the user is on the team of any of the program's inspections."""
    return db.conn.execute(
        "SELECT 1 FROM members m JOIN inspections i ON i.id = m.inspection_id "
        "WHERE i.program_id = ? AND m.user_id = ? LIMIT 1", [program_id, user_id]).fetchone() is not None
