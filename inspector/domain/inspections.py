"""Inspections: creating them, finding them for the user who asks, and
their state."""
from datetime import date

from . import access, audit, bodies, programs
from .db import joined_transaction


def create(db, site_name, catalog_id, starts_on, ends_on, created_by, request_id=None, device="web", body=None,
           scale=None, program_id=None, kind=None, state=None):
    """A new inspection by ``body`` (bodies.BODIES: FACT's when not given) on
    its verdict ``scale`` (when not given: the body's, else the checklist
    edition's default), of ``program_id`` (else the program named
    ``site_name``, made if new) and ``kind`` (programs.INSPECTION_KINDS: an
    internal audit's for that body, else initial), recorded in the audit
    trail as made by ``created_by``."""
    body = body or bodies.DEFAULT
    scale = bodies.scale_for(body, scale) or db.conn.execute(
        "SELECT scale FROM catalogs WHERE id = ?", [catalog_id]).fetchone()[0]
    kind = kind or ("internal" if body == "internal" else "initial")
    refused = programs.kind_refusal(kind, body)
    if refused:
        raise ValueError(refused)
    facts = {"site_name": site_name, "catalog_id": catalog_id, "starts_on": starts_on, "ends_on": ends_on,
             "body": body, "scale": scale, "kind": kind, **({"state": state} if state else {})}
    with joined_transaction(db):
        facts["program_id"] = program_id or programs.named_or_new(db, site_name, created_by, device=device)
        inspection_id = db["inspections"].insert({**facts, "created_by": created_by,
                                                  "request_id": request_id}).last_pk
        audit.record(db, "inspection.created", inspection_id=inspection_id, user_id=created_by, device=device,
                     subject=site_name, after=facts)
    return inspection_id


def first_state(starts_on, today=None):
    """Where a new inspection starts: preparing when its first day is still
    ahead (the program's self-assessment, requests for information), else
    on site."""
    return "preparing" if starts_on > (today or date.today()).isoformat() else "on_site"


def by_request(db, request_id):
    """The inspection a new-inspection form (by its request id) already created, if any."""
    return db.conn.execute("SELECT id FROM inspections WHERE request_id = ?", [request_id]).fetchone()


def by_site(db, site_name):
    return db.conn.execute("SELECT id FROM inspections WHERE site_name = ?", [site_name]).fetchone()


# member_id: the asking user's id when they are on the team (rules that
# read the registers ask whose a row is: sync/fields.py prechecks).
_WITH_ROLE = ("SELECT i.*, c.edition, c.illustrative, m.team_role, m.reviews_corrections, m.user_id AS member_id "
              "FROM inspections i "
              "JOIN catalogs c ON c.id = i.catalog_id "
              "LEFT JOIN members m ON m.inspection_id = i.id AND m.user_id = :u ")


# What the home list's search reads: an inspection's own name (the
# program's at the time, the site's), its program's name and city.
_SEARCHED = ("i.site_name", "p.name", "p.city")
MAX_WORDS = 6


def listed_for(db, user, words="", stage="", year="", archived=False, limit=None, offset=0):
    """Inspections the user is on, newest first (an admin sees all, to manage
    them; a coordinator those that reached the committee), in one query:
    those with every one of ``words`` in the program's or site's name or
    city, in ``stage`` (access.STATES), whose first day is in ``year``; the
    archived ones only when ``archived``, and then only those. ``limit``
    rows from ``offset`` (all when None); each row's ``listed_total`` counts
    them all."""
    clauses, params = _scope(user), {"u": user["id"], "archived": int(bool(archived))}
    clauses.append("i.archived = :archived")
    for n, word in enumerate(words.split()[:MAX_WORDS]):
        params[f"w{n}"] = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(" + " OR ".join(f"{column} LIKE :w{n} ESCAPE '\\'" for column in _SEARCHED) + ")")
    if stage:
        clauses.append("i.state = :stage")
        params["stage"] = stage
    if year:
        clauses.append("substr(i.starts_on, 1, 4) = :year")
        params["year"] = str(year)
    params.update(limit=-1 if limit is None else limit, offset=offset)
    return db.conn.execute(
        _WITH_ROLE.replace("SELECT i.*,", "SELECT i.*, count(*) OVER () AS listed_total,")
        + "LEFT JOIN programs p ON p.id = i.program_id WHERE " + " AND ".join(clauses)
        + " ORDER BY i.starts_on DESC, i.id DESC LIMIT :limit OFFSET :offset", params).fetchall()


def years_for(db, user):
    """The years (newest first) in which the inspections the user may list began: the year filter's choices."""
    clauses = _scope(user)
    return [r[0] for r in db.conn.execute(
        "SELECT DISTINCT substr(i.starts_on, 1, 4) AS year FROM inspections i "
        "LEFT JOIN members m ON m.inspection_id = i.id AND m.user_id = :u "
        "WHERE " + " AND ".join(clauses) + " ORDER BY year DESC", {"u": user["id"]})]


def _scope(user):
    """The WHERE clauses of the inspections ``user`` is listed (``m``: their membership)."""
    if access.sees_every_inspection(user):
        return ["1"]
    if user["role"] == "coordinator":
        return ["i.state IN ('committee', 'corrections', 'closed')"]
    return ["m.user_id IS NOT NULL"]


def set_archived(db, inspection, archived, by, device="web"):
    """Archive (or bring back) a closed inspection, recorded in the audit trail."""
    archived = bool(archived)
    with joined_transaction(db):
        db.conn.execute("UPDATE inspections SET archived = ? WHERE id = ?", [int(archived), inspection["id"]])
        audit.record(db, "inspection.archived" if archived else "inspection.unarchived",
                     inspection_id=inspection["id"], user_id=by, device=device, subject=inspection["site_name"],
                     before={"archived": bool(inspection["archived"])}, after={"archived": archived})


def for_user(db, user, inspection_id):
    """The inspection with the asking user's ``team_role`` on it (None when
    they are not on its team), or None if there is no such inspection.
    Whether the user may see it is access's to decide."""
    return db.conn.execute(_WITH_ROLE + "WHERE i.id = :i", {"u": user["id"], "i": inspection_id}).fetchone()


def for_user_many(db, user, inspection_ids):
    """{id: inspection row as for_user} for the ids that exist."""
    ids = sorted(set(inspection_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = db.conn.execute(_WITH_ROLE.replace(":u", "?") + f"WHERE i.id IN ({marks})", [user["id"], *ids])
    return {r["id"]: r for r in rows}


def under_way(db):
    """Every inspection not closed, as ``plain`` reads it (for the deadline reminders)."""
    return db.conn.execute(_WITH_ROLE + "WHERE i.state != 'closed' ORDER BY i.id", {"u": None}).fetchall()


def plain(db, inspection_id):
    """The inspection with no user's role on it (for the site, by its link)."""
    return for_user(db, {"id": None}, inspection_id)


def move(db, inspection, to_state, *, user_id=None, link_id=None, reason=""):
    """Move the inspection to another state, recorded in the audit trail."""
    from . import audit
    set_state(db, inspection["id"], to_state)
    audit.record(db, "state.moved", inspection_id=inspection["id"], user_id=user_id, link_id=link_id,
                 subject=to_state, before={"state": inspection["state"]},
                 after={"state": to_state, **({"reason": reason} if reason else {})})


def set_state(db, inspection_id, state):
    if state not in access.STATES:
        raise ValueError(f"unknown state {state!r}")
    db.conn.execute("UPDATE inspections SET state = ? WHERE id = ?", [state, inspection_id])
