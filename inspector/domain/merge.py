"""The lead's consolidation: every inspector's finding per standard side by
side, the state of each standard, and the lead's decisions.

The decisions and photo releases are last-writer-wins registers written by
ops (sync/fields.py), like findings: the lead consolidates offline on the
last evening too. A finding that changes after the lead decided is
flagged, never applied over the decision.
"""
import json
from collections import defaultdict

from . import preparation
from .catalog import DEFICIENT
from .programs import FOLLOW_UP_KINDS
from .team import members
STATES = {
    "agreed": "Agreed",
    "disagreement": "Disagreement",
    "one": "One inspector only",
    "not_assessed": "Not assessed",
}
FILTERS = {"needs_decision": "Needs decision", "all": "All standards",
           "disagreements": "Disagreements only", "not_compliant": "Not compliant only",
           "differs": "Differs from self-assessment", "cited_last_time": "Cited last time"}
# The screen opens on what the lead still has to settle, not on every
# standard (239 in the demo: 166,000 px of tablet and 446 KB of HTML).
DEFAULT_FILTER = "needs_decision"


def filters(inspection):
    """The filters the merge screen offers: `Cited last time` only where there
    can be a last time (a renewal, interim audit or focused inspection)."""
    return {k: v for k, v in FILTERS.items() if k != "cited_last_time" or inspection["kind"] in FOLLOW_UP_KINDS}


def needs_decision(row):
    """Whether the lead still has to settle a standard: a finding changed
    since they decided, or, with no consolidated verdict yet, the inspectors
    disagree or one of them found a deficiency. A disagreement the lead has
    decided is settled (until a finding changes)."""
    if row["changed"]:
        return True
    undecided = not (row["decision"] and row["decision"]["verdict"])
    return undecided and (row["state"] == "disagreement" or any(f["verdict"] in DEFICIENT for f in row["findings"]))


def matches(row, only):
    """Whether a board row is shown under the filter ``only`` (a FILTERS key, or None for every row)."""
    return {None: True, "all": True, "needs_decision": row["needs_decision"],
            "disagreements": row["state"] == "disagreement", "not_compliant": row["deficient"],
            "differs": row["differs"], "cited_last_time": row["cited_last_time"]}[only]


def select(rows, only=None, section=None):
    """The board's rows under a filter and in a section (None: every one)."""
    return [r for r in rows if matches(r, only) and (not section or r["section"] == section)]


def standard_state(verdicts):
    """agreed, disagreement, one (inspector only) or not_assessed, from the
    verdicts the inspectors gave (None for none)."""
    given = [v for v in verdicts if v]
    if not given:
        return "not_assessed"
    if len(given) == 1:
        return "one"
    return "agreed" if len(set(given)) == 1 else "disagreement"


def suggested_citation(findings):
    """The citation prefilled for the lead: the notes of the inspectors who
    found a deficiency, each on its own paragraph."""
    return "\n\n".join(f["note"].strip() for f in findings
                       if f["verdict"] in DEFICIENT and f["note"].strip())


def differs_from_self(self_verdict, decision, findings):
    """Whether the team's verdict differs from the program's own: the lead's
    decision once made, else any inspector's verdict. Nothing to compare
    (no self-assessed verdict, or no verdict of the team) is no difference."""
    if not self_verdict:
        return False
    if decision and decision["verdict"]:
        return decision["verdict"] != self_verdict
    return any(f["verdict"] and f["verdict"] != self_verdict for f in findings)


def board(db, inspection, section=None, only=None, cited_before=frozenset()):
    """Per standard in catalog order: the inspectors' findings (verdict, note,
    photos), the standard's state, the lead's decision and released photos,
    and whether a finding changed since the lead decided.

    ``only`` is None (every standard) or a FILTERS key (``matches``):
    'not_compliant' is any deficiency found by an inspector or decided by
    the lead, 'differs' from the program's self-assessment,
    'cited_last_time' cited by the program's earlier inspection (the codes
    ``cited_before``, from cited_last_time); ``section`` a section code.
    """
    i, c = inspection["id"], inspection["catalog_id"]
    scope = "AND s.section_code = :sec " if section else ""
    standards = db.conn.execute(
        "SELECT s.code, s.title, s.section_code, s.depth FROM standards s "
        "WHERE s.catalog_id = :c AND s.depth > 0 " + scope + "ORDER BY s.position",
        {"c": c, "sec": section}).fetchall()
    team = {m["id"]: m for m in members(db, i)}
    found = defaultdict(list)
    for f in db.conn.execute(
            "SELECT standard_code, inspector_id, verdict, verdict_hlc, note, note_hlc, last_seq FROM findings "
            "WHERE inspection_id = ? ORDER BY inspector_id", [i]):
        found[f["standard_code"]].append(dict(f))
    pictures = defaultdict(list)
    for p in db.conn.execute(
            "SELECT standard_code, inspector_id, sha256, caption, last_seq FROM finding_photos "
            "WHERE inspection_id = ? AND attached = 1 ORDER BY attached_hlc", [i]):
        pictures[(p["standard_code"], p["inspector_id"])].append(dict(p))
    decided = {d["standard_code"]: dict(d) for d in db.conn.execute(
        "SELECT * FROM decisions WHERE inspection_id = ?", [i])}
    released = {(code, sha) for code, shas in released_photos(db, i).items() for sha in shas}
    self_assessed = preparation.self_assessment(db, i)

    rows = []
    for std in standards:
        code = std["code"]
        findings = [f for f in found.get(code, []) if f["verdict"] or f["note"]
                    or pictures.get((code, f["inspector_id"]))]
        for f in findings:
            f["inspector"] = team.get(f["inspector_id"], {"display_name": "former team member"})["display_name"]
            f["photos"] = [{**p, "released": (code, p["sha256"]) in released}
                           for p in pictures.get((code, f["inspector_id"]), [])]
        state = standard_state([f["verdict"] for f in findings])
        decision = decided.get(code)
        newest = max([f["last_seq"] for f in found.get(code, [])] +
                     [p["last_seq"] for f in findings for p in f["photos"]] + [0])
        deficient = any(f["verdict"] in DEFICIENT for f in findings) or bool(
            decision and decision["verdict"] in DEFICIENT)
        self_verdict = self_assessed[code]["verdict"] if code in self_assessed else None
        row = {
            "code": code, "title": std["title"], "section": std["section_code"], "findings": findings,
            "state": state, "decision": decision, "deficient": deficient, "basis": newest,
            # The basis is written with every decision: set means the lead decided.
            "changed": bool(decision and decision["basis_hlc"] and newest > decision["basis"]),
            "suggested_citation": suggested_citation(findings), "cited_last_time": code in cited_before,
            "self_verdict": self_verdict, "differs": differs_from_self(self_verdict, decision, findings),
            "contradicts": contradicts_everyone(decision, findings),
        }
        row["needs_decision"] = needs_decision(row)
        if matches(row, only):
            rows.append(row)
    return rows


def contradicts_everyone(decision, findings):
    """Whether the lead's consolidated verdict is none of the verdicts the
    inspectors gave (at least one gave one): worth a second look, not wrong."""
    given = {f["verdict"] for f in findings if f["verdict"]}
    return bool(decision and decision["verdict"] and given and decision["verdict"] not in given)


# The ops that change a finding, as the lead sees it on this screen (never
# the site's answers, requests or anything else logged on the standard).
FINDING_FIELDS = ("verdict", "note", "photo", "caption")


def what_changed(db, inspection_id, rows):
    """{code: [change, ...]} for the rows flagged `changed`, from the op log:
    per team member who changed their finding after the lead's decision (the
    decision's basis), ``{"who", "verdict": (old, new) or None, "note",
    "photos", "captions"}``, the last three True if changed. Only what the
    merge screen shows already (the inspectors' verdicts, that a note or a
    photo changed): never a note's text, nor an op of another kind."""
    changed = {r["code"]: r for r in rows if r["changed"]}
    if not changed:
        return {}
    marks = ",".join("?" * len(changed))
    team = {m["id"]: m["display_name"] for m in members(db, inspection_id)}
    # Every applied finding op of those standards, in log order: the verdict
    # at the basis is the last one at or before it.
    ops = db.conn.execute(
        f"SELECT seq, user_id, standard_code, field, value FROM ops WHERE inspection_id = ? "
        f"AND standard_code IN ({marks}) AND status = 'applied' AND field IN ({','.join('?' * len(FINDING_FIELDS))}) "
        f"AND user_id IS NOT NULL ORDER BY seq", [inspection_id, *changed, *FINDING_FIELDS])
    before, after = {}, defaultdict(dict)
    for op in ops:
        code, who = op["standard_code"], op["user_id"]
        basis = changed[code]["decision"]["basis"]
        if op["seq"] <= basis:
            if op["field"] == "verdict":
                before[(code, who)] = json.loads(op["value"])
            continue
        seen = after[code].setdefault(who, {"verdict": None, "note": False, "photos": False, "captions": False})
        if op["field"] == "verdict":
            seen["verdict"] = json.loads(op["value"])
            seen["verdict_set"] = True
        else:
            seen[{"note": "note", "photo": "photos", "caption": "captions"}[op["field"]]] = True
    out = {}
    for code, people in after.items():
        out[code] = []
        for who, seen in people.items():
            old = before.get((code, who))
            verdict = (old, seen["verdict"]) if seen.pop("verdict_set", False) and seen["verdict"] != old else None
            if verdict or seen["note"] or seen["photos"] or seen["captions"]:
                out[code].append({**seen, "verdict": verdict,
                                  "who": team.get(who, "former team member")})
    return out


def counts(rows):
    """{state: n} over the board's rows, every state present."""
    out = dict.fromkeys(STATES, 0)
    for row in rows:
        out[row["state"]] += 1
    return out


def released_photos(db, inspection_id):
    """{standard code: [sha256, ...]} of the photos the lead released to the
    site, in a stable order: the one answer the merge screen, the site's page
    and the report all read."""
    released = defaultdict(list)
    for r in db.conn.execute("SELECT standard_code, sha256 FROM photo_releases WHERE inspection_id = ? "
                             "AND released = 1 ORDER BY standard_code, sha256", [inspection_id]):
        released[r[0]].append(r[1])
    return dict(released)
