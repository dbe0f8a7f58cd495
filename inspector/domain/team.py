"""Who is on an inspection's team, as what, and which sections each covers.

Changes go through ``save``, which writes only what changed, one function
call per change (join, leave, change of team role, assign, unassign), and
records each one in the audit trail.
"""
from . import audit
from .db import joined_transaction


def members(db, inspection_id):
    """The inspection's team, the one query every page and report asks: the
    team leader first, then by name."""
    return db.conn.execute(
        "SELECT u.id, u.username, u.display_name, u.email, m.team_role, m.reviews_corrections "
        "FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.inspection_id = ? ORDER BY m.team_role = 'lead' DESC, u.display_name, u.username",
        [inspection_id]).fetchall()


def assignments(db, inspection_id):
    """{section_code: [username, ...]} for the inspection."""
    out = {}
    for row in db.conn.execute(
            "SELECT a.section_code, u.username FROM assignments a JOIN users u ON u.id = a.user_id "
            "WHERE a.inspection_id = ? ORDER BY u.username", [inspection_id]):
        out.setdefault(row[0], []).append(row[1])
    return out


def sections_of(db, inspection_id, user_id):
    """Codes of the sections assigned to one member."""
    return [r[0] for r in db.conn.execute(
        "SELECT section_code FROM assignments WHERE inspection_id = ? AND user_id = ?", [inspection_id, user_id])]


def add_member(db, inspection_id, user_id, team_role):
    db["members"].upsert({"inspection_id": inspection_id, "user_id": user_id, "team_role": team_role},
                         pk=("inspection_id", "user_id"))


def remove_member(db, inspection_id, user_id):
    db.conn.execute("DELETE FROM assignments WHERE inspection_id = ? AND user_id = ?", [inspection_id, user_id])
    db.conn.execute("DELETE FROM members WHERE inspection_id = ? AND user_id = ?", [inspection_id, user_id])


def assign_section(db, inspection_id, section_code, user_id):
    db["assignments"].upsert({"inspection_id": inspection_id, "section_code": section_code, "user_id": user_id},
                             pk=("inspection_id", "section_code", "user_id"))


def unassign_section(db, inspection_id, section_code, user_id):
    db.conn.execute("DELETE FROM assignments WHERE inspection_id = ? AND section_code = ? AND user_id = ?",
                    [inspection_id, section_code, user_id])


def save(db, inspection_id, wanted, by, device="web"):
    """Make the team ``wanted`` ({user_id: (team_role, {section codes})}), writing
    only the differences, each recorded in the audit trail, in the same
    transaction, as made by the user ``by`` (an id). Returns the changes made,
    as (what, user_id, detail)."""
    with joined_transaction(db):
        now = {m["id"]: m for m in members(db, inspection_id)}
        covered = {}
        for row in db.conn.execute("SELECT user_id, section_code FROM assignments WHERE inspection_id = ?",
                                   [inspection_id]):
            covered.setdefault(row[0], set()).add(row[1])
        changes = []

        def change(what, user_id, detail, before=None, after=None):
            changes.append((what, user_id, detail))
            audit.record(db, f"team.{what}", inspection_id=inspection_id, user_id=by, device=device,
                         subject=_username(db, user_id), before=before, after=after)

        for user_id in now.keys() - wanted.keys():
            remove_member(db, inspection_id, user_id)
            change("left", user_id, now[user_id]["team_role"], before={"team_role": now[user_id]["team_role"]})
        for user_id, (team_role, sections) in wanted.items():
            had_role = now[user_id]["team_role"] if user_id in now else None
            if had_role != team_role:
                add_member(db, inspection_id, user_id, team_role)
                change("joined" if had_role is None else "role", user_id, team_role,
                       before=had_role and {"team_role": had_role}, after={"team_role": team_role})
            had = covered.get(user_id, set()) if user_id in now else set()
            for code in sorted(sections - had):
                assign_section(db, inspection_id, code, user_id)
                change("assigned", user_id, code, after={"section": code})
            for code in sorted(had - sections):
                unassign_section(db, inspection_id, code, user_id)
                change("unassigned", user_id, code, before={"section": code})
    return changes


def name_reviewers(db, inspection_id, user_ids, by, device="web"):
    """Make exactly ``user_ids`` (inspectors on the team) the ones who review
    the site's corrections beside the lead; each change in the audit trail.
    Returns the changes, as (what, user_id)."""
    changes = []
    with joined_transaction(db):
        for m in members(db, inspection_id):
            wanted = m["team_role"] == "inspector" and m["id"] in user_ids
            if wanted != bool(m["reviews_corrections"]):
                db.conn.execute("UPDATE members SET reviews_corrections = ? WHERE inspection_id = ? AND user_id = ?",
                                [int(wanted), inspection_id, m["id"]])
                what = "reviewer_named" if wanted else "reviewer_unnamed"
                changes.append((what, m["id"]))
                audit.record(db, f"team.{what}", inspection_id=inspection_id, user_id=by, device=device,
                             subject=m["username"], before={"reviews_corrections": not wanted},
                             after={"reviews_corrections": wanted})
    return changes


def _username(db, user_id):
    # The record names a member by username: stable, and told by name on the History page.
    return db.conn.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()[0]
