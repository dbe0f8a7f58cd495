"""Queries, named for what they return. Every read of inspection data takes
the asking user and is scoped by their membership of the inspection."""
import time

from werkzeug.security import generate_password_hash

ROLES = ("admin", "lead", "inspector")
VERDICTS = {
    "compliant": "Compliant",
    "not_compliant": "Not compliant",
    "not_applicable": "Not applicable",
}


# --- users -------------------------------------------------------------------

def create_user(db, username, role, password, display_name=None):
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not username or not username.strip():
        raise ValueError("a username is required")
    if not password:
        raise ValueError("a password is required")
    if db["users"].count_where("username = ?", [username]):
        raise ValueError(f"user {username!r} exists already")
    return db["users"].insert({
        "username": username.strip(),
        "display_name": display_name or username.strip(),
        "role": role,
        "password_hash": generate_password_hash(password),
    }).last_pk


def set_password(db, username, password):
    db.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                    [generate_password_hash(password), username])


def recent_login_failures(db, username, window_s):
    return db.conn.execute("SELECT count(*) FROM login_failures WHERE username = ? AND at > ?",
                           [username, time.time() - window_s]).fetchone()[0]


def record_login_failure(db, username):
    db.conn.execute("INSERT INTO login_failures (username, at) VALUES (?, ?)", [username, time.time()])


def clear_login_failures(db, username):
    db.conn.execute("DELETE FROM login_failures WHERE username = ?", [username])


def user_by_username(db, username):
    return db.conn.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()


def user_by_id(db, user_id):
    return db.conn.execute("SELECT * FROM users WHERE id = ?", [user_id]).fetchone()


def all_users(db):
    return db.conn.execute("SELECT id, username, display_name, role FROM users ORDER BY username").fetchall()


# --- catalogs ----------------------------------------------------------------

def catalogs(db):
    return db.conn.execute(
        "SELECT c.*, (SELECT count(*) FROM standards s WHERE s.catalog_id = c.id AND s.depth > 0) AS standards "
        "FROM catalogs c ORDER BY c.id").fetchall()


def catalog_by_edition(db, edition):
    return db.conn.execute("SELECT * FROM catalogs WHERE edition = ?", [edition]).fetchone()


# --- inspections -------------------------------------------------------------

def create_inspection(db, site_name, catalog_id, starts_on, ends_on, created_by, request_id=None):
    return db["inspections"].insert({
        "site_name": site_name, "catalog_id": catalog_id, "starts_on": starts_on,
        "ends_on": ends_on, "created_by": created_by, "request_id": request_id,
    }).last_pk


def inspection_by_request(db, request_id):
    return db.conn.execute("SELECT id FROM inspections WHERE request_id = ?", [request_id]).fetchone()


def add_member(db, inspection_id, user_id, team_role):
    db["members"].upsert({"inspection_id": inspection_id, "user_id": user_id, "team_role": team_role},
                         pk=("inspection_id", "user_id"))


def assign_section(db, inspection_id, section_code, user_id):
    db["assignments"].upsert({"inspection_id": inspection_id, "section_code": section_code, "user_id": user_id},
                             pk=("inspection_id", "section_code", "user_id"))


def unassign_section(db, inspection_id, section_code, user_id):
    db.conn.execute("DELETE FROM assignments WHERE inspection_id = ? AND section_code = ? AND user_id = ?",
                    [inspection_id, section_code, user_id])


def inspections_for(db, user):
    """Inspections the user is on (an admin sees all, to manage them)."""
    if user["role"] == "admin":
        return db.conn.execute(
            "SELECT i.*, c.edition, NULL AS team_role FROM inspections i JOIN catalogs c ON c.id = i.catalog_id "
            "ORDER BY i.starts_on DESC, i.id DESC").fetchall()
    return db.conn.execute(
        "SELECT i.*, c.edition, m.team_role FROM inspections i JOIN catalogs c ON c.id = i.catalog_id "
        "JOIN members m ON m.inspection_id = i.id AND m.user_id = ? "
        "ORDER BY i.starts_on DESC, i.id DESC", [user["id"]]).fetchall()


def inspection_for(db, user, inspection_id):
    """The inspection if the user is a member of it, else None."""
    return db.conn.execute(
        "SELECT i.*, c.edition, c.illustrative, m.team_role FROM inspections i "
        "JOIN catalogs c ON c.id = i.catalog_id "
        "JOIN members m ON m.inspection_id = i.id AND m.user_id = ? WHERE i.id = ?",
        [user["id"], inspection_id]).fetchone()


def inspection_to_manage(db, user, inspection_id):
    """The inspection if the user may manage its team: an admin, or its team leader."""
    row = db.conn.execute(
        "SELECT i.*, c.edition, m.team_role FROM inspections i JOIN catalogs c ON c.id = i.catalog_id "
        "LEFT JOIN members m ON m.inspection_id = i.id AND m.user_id = ? WHERE i.id = ?",
        [user["id"], inspection_id]).fetchone()
    if row and (user["role"] == "admin" or row["team_role"] == "lead"):
        return row
    return None


def member_inspection_ids(db, user_id):
    return {r[0] for r in db.conn.execute("SELECT inspection_id FROM members WHERE user_id = ?", [user_id])}


def team(db, inspection_id):
    return db.conn.execute(
        "SELECT u.id, u.username, u.display_name, m.team_role FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.inspection_id = ? ORDER BY m.team_role, u.username", [inspection_id]).fetchall()


def assignments(db, inspection_id):
    """{section_code: [username, ...]} for the inspection."""
    out = {}
    for row in db.conn.execute(
            "SELECT a.section_code, u.username FROM assignments a JOIN users u ON u.id = a.user_id "
            "WHERE a.inspection_id = ? ORDER BY u.username", [inspection_id]):
        out.setdefault(row[0], []).append(row[1])
    return out


# --- sections and standards --------------------------------------------------

def sections(db, catalog_id):
    return db.conn.execute(
        "SELECT s.*, (SELECT count(*) FROM standards x WHERE x.catalog_id = s.catalog_id "
        "AND x.section_code = s.code AND x.depth > 0) AS total "
        "FROM standards s WHERE s.catalog_id = ? AND s.depth = 0 ORDER BY s.position", [catalog_id]).fetchall()


def section_progress(db, user, inspection):
    """Sections of the inspection with assessed/total counts for the user and the team.

    Each row says whether the section is assigned to the user; the team count is
    standards assessed by anyone on the team.
    """
    rows = db.conn.execute(
        """
        SELECT s.code, s.title, s.roles, s.position,
          (SELECT count(*) FROM standards x WHERE x.catalog_id = s.catalog_id
             AND x.section_code = s.code AND x.depth > 0) AS total,
          (SELECT count(*) FROM findings f JOIN standards x ON x.catalog_id = s.catalog_id AND x.code = f.standard_code
             WHERE f.inspection_id = :i AND f.inspector_id = :u AND f.verdict IS NOT NULL
             AND x.section_code = s.code) AS mine,
          (SELECT count(DISTINCT f.standard_code) FROM findings f
             JOIN standards x ON x.catalog_id = s.catalog_id AND x.code = f.standard_code
             WHERE f.inspection_id = :i AND f.verdict IS NOT NULL AND x.section_code = s.code) AS team,
          EXISTS (SELECT 1 FROM assignments a WHERE a.inspection_id = :i AND a.section_code = s.code
             AND a.user_id = :u) AS assigned
        FROM standards s WHERE s.catalog_id = :c AND s.depth = 0 ORDER BY s.position
        """, {"i": inspection["id"], "u": user["id"], "c": inspection["catalog_id"]}).fetchall()
    return rows


def section(db, catalog_id, code):
    return db.conn.execute("SELECT * FROM standards WHERE catalog_id = ? AND code = ? AND depth = 0",
                           [catalog_id, code]).fetchone()


def standards_with_my_findings(db, user, inspection, section_code):
    """The section's standards in order, each with the user's verdict (or None)."""
    return db.conn.execute(
        "SELECT s.code, s.title, s.depth, f.verdict, f.verdict_hlc, f.note != '' AS has_note FROM standards s "
        "LEFT JOIN findings f ON f.inspection_id = ? AND f.standard_code = s.code AND f.inspector_id = ? "
        "WHERE s.catalog_id = ? AND s.section_code = ? AND s.depth > 0 ORDER BY s.position",
        [inspection["id"], user["id"], inspection["catalog_id"], section_code]).fetchall()


def standard(db, catalog_id, code):
    return db.conn.execute("SELECT * FROM standards WHERE catalog_id = ? AND code = ? AND depth > 0",
                           [catalog_id, code]).fetchone()


def standard_by_loose_code(db, catalog_id, code):
    """Find a standard by a code typed by hand: case and spaces do not matter."""
    cleaned = "".join(code.split()).upper()
    return db.conn.execute(
        "SELECT * FROM standards WHERE catalog_id = ? AND upper(code) = ? AND depth > 0",
        [catalog_id, cleaned]).fetchone()


def neighbours(db, catalog_id, position):
    """(previous, next) standards in catalog order, across sections."""
    prev = db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth > 0 AND position < ? "
        "ORDER BY position DESC LIMIT 1", [catalog_id, position]).fetchone()
    nxt = db.conn.execute(
        "SELECT code, title FROM standards WHERE catalog_id = ? AND depth > 0 AND position > ? "
        "ORDER BY position LIMIT 1", [catalog_id, position]).fetchone()
    return prev, nxt


def standard_codes_for(db, user, inspection):
    """Codes of every standard the user may open offline: the sections assigned
    to them, or every section if none is."""
    assigned = [r[0] for r in db.conn.execute(
        "SELECT section_code FROM assignments WHERE inspection_id = ? AND user_id = ?",
        [inspection["id"], user["id"]])]
    if assigned:
        marks = ",".join("?" * len(assigned))
        rows = db.conn.execute(
            f"SELECT code, section_code FROM standards WHERE catalog_id = ? AND depth > 0 "
            f"AND section_code IN ({marks}) ORDER BY position", [inspection["catalog_id"], *assigned])
    else:
        rows = db.conn.execute("SELECT code, section_code FROM standards WHERE catalog_id = ? AND depth > 0 "
                               "ORDER BY position", [inspection["catalog_id"]])
    return [tuple(r) for r in rows]


# --- findings ----------------------------------------------------------------

def my_verdict_stamps(db, user, inspection):
    """{standard code: [section code, verdict, verdict stamp]} of the user's
    findings, for the page to recount progress with this device's newer edits."""
    return {r[0]: [r[1], r[2], r[3]] for r in db.conn.execute(
        "SELECT f.standard_code, s.section_code, f.verdict, f.verdict_hlc FROM findings f "
        "JOIN standards s ON s.catalog_id = ? AND s.code = f.standard_code "
        "WHERE f.inspection_id = ? AND f.inspector_id = ?",
        [inspection["catalog_id"], inspection["id"], user["id"]])}


def my_finding(db, user, inspection_id, code):
    return db.conn.execute(
        "SELECT * FROM findings WHERE inspection_id = ? AND standard_code = ? AND inspector_id = ?",
        [inspection_id, code, user["id"]]).fetchone()


def my_photos(db, user, inspection_id, code):
    return db.conn.execute(
        "SELECT fp.sha256, fp.caption, fp.attached_hlc, fp.caption_hlc, p.width, p.height FROM finding_photos fp "
        "LEFT JOIN photos p ON p.sha256 = fp.sha256 "
        "WHERE fp.inspection_id = ? AND fp.standard_code = ? AND fp.inspector_id = ? AND fp.attached = 1 "
        "ORDER BY fp.attached_hlc", [inspection_id, code, user["id"]]).fetchall()


def may_read_photo(db, user, sha256):
    """A photo is readable by whoever uploaded it, and, while a finding holds
    it, by that finding's inspector and the inspection's team leader. (A row
    with attached = 0 can be made by a caption or detach op for any hash, so
    it grants nothing; attaching needs a verified upload by the sender.)"""
    return db.conn.execute(
        """
        SELECT 1 FROM photo_uploads WHERE sha256 = :h AND user_id = :u
        UNION ALL
        SELECT 1 FROM finding_photos fp WHERE fp.sha256 = :h AND fp.attached = 1 AND (fp.inspector_id = :u OR EXISTS (
            SELECT 1 FROM members m WHERE m.inspection_id = fp.inspection_id AND m.user_id = :u
            AND m.team_role = 'lead'))
        LIMIT 1
        """, {"h": sha256, "u": user["id"]}).fetchone() is not None
