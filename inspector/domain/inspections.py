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


def listed_for(db, user):
    """Inspections the user is on, newest first (an admin sees all, to manage
    them; a coordinator those that reached the committee)."""
    if access.sees_every_inspection(user):
        scope = ""
    elif user["role"] == "coordinator":
        scope = "WHERE i.state IN ('committee', 'corrections', 'closed') "
    else:
        scope = "WHERE m.user_id IS NOT NULL "
    return db.conn.execute(_WITH_ROLE + scope + "ORDER BY i.starts_on DESC, i.id DESC", {"u": user["id"]}).fetchall()


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
