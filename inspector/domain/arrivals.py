"""The arrival board: has each inspector's work reached the server? Per
inspector and section, standards assessed of those assigned, deficiencies
found, and each device's last sync."""
from collections import defaultdict

from . import team
from .catalog import DEFICIENT


def board(db, inspection):
    """[{inspector, sections: [{code, title, assessed, total, deficient}], devices: [{device_id, last_sync, ops}]}]"""
    i, c = inspection["id"], inspection["catalog_id"]
    totals = {r["code"]: r for r in db.conn.execute(
        "SELECT s.code, s.title, (SELECT count(*) FROM standards x WHERE x.catalog_id = s.catalog_id "
        "AND x.section_code = s.code AND x.depth > 0) AS total FROM standards s "
        "WHERE s.catalog_id = ? AND s.depth = 0 ORDER BY s.position", [c])}
    assigned = defaultdict(list)
    for r in db.conn.execute("SELECT user_id, section_code FROM assignments WHERE inspection_id = ?", [i]):
        assigned[r[0]].append(r[1])
    marks = ",".join("?" * len(DEFICIENT))
    done = {(r[0], r[1]): (r[2], r[3]) for r in db.conn.execute(
        f"SELECT f.inspector_id, s.section_code, count(f.verdict), "
        f"sum(f.verdict IN ({marks})) FROM findings f "
        f"JOIN standards s ON s.catalog_id = ? AND s.code = f.standard_code "
        f"WHERE f.inspection_id = ? GROUP BY f.inspector_id, s.section_code", [*DEFICIENT, c, i])}
    devices = defaultdict(list)
    for r in db.conn.execute(
            "SELECT user_id, device_id, max(received_at) AS last_sync, count(*) AS ops FROM ops "
            "WHERE inspection_id = ? AND user_id IS NOT NULL GROUP BY user_id, device_id "
            "ORDER BY last_sync DESC", [i]):
        devices[r["user_id"]].append(dict(r))
    out = []
    for m in team.members(db, i):
        codes = [code for code in totals if code in assigned.get(m["id"], [])]
        if not codes:  # nothing assigned: what they assessed anywhere
            codes = [code for code in totals if (m["id"], code) in done]
        sections = [{"code": code, "title": totals[code]["title"], "total": totals[code]["total"],
                     "assessed": done.get((m["id"], code), (0, 0))[0],
                     "deficient": done.get((m["id"], code), (0, 0))[1] or 0} for code in codes]
        out.append({"id": m["id"], "name": m["display_name"], "team_role": m["team_role"], "sections": sections,
                    "devices": devices.get(m["id"], [])})
    return out
