"""What was cited last time: a renewal, interim audit or focused inspection
starts from the citations of the program's earlier inspection.

The earlier inspection is the newest one of the same program, begun before
this one, that reached the committee or went beyond it (an internal audit,
which has no committee, from its corrections on). Its citations are read as
the site's page and the report read them (review.citations), with the
committee's decisions and the corrections (committee.decisions,
committee.corrections): one query per fact, here only joined. A citation the
committee withdrew is not carried. When the earlier inspection used another
checklist edition, its codes go across through the edition map imported
for that pair (edition_maps); without one, only identical codes match.
"""
from typing import NamedTuple

from . import catalog, committee, edition_maps, programs, review
from .catalog import DEFICIENT

# An inspection whose citations count as "last time": it reached the committee (or beyond).
REACHED = ("committee", "corrections", "closed")
# What became of an earlier citation, by the standard's consolidated verdict now.
NOW = {"compliant": "Now compliant", "not_applicable": "Not applicable now", None: "Not decided yet"}
CITED_AGAIN = "Cited again"
NOT_IN_EDITION = "Not in this edition"


class Carried(NamedTuple):
    earlier: object      # the earlier inspection's row (with its ``edition``)
    other_edition: bool  # it used another checklist edition
    mapped: bool         # ... and an edition map carried its codes across
    citations: list      # the earlier citations, each with ``code`` in this edition (None if it has none)


def earlier_inspection(db, inspection):
    """The inspection whose citations this one starts from, or None (an
    initial inspection or an internal audit starts from none)."""
    if inspection["kind"] not in programs.FOLLOW_UP_KINDS or inspection["program_id"] is None:
        return None
    marks = ",".join("?" * len(REACHED))
    return db.conn.execute(
        f"SELECT i.*, c.edition FROM inspections i JOIN catalogs c ON c.id = i.catalog_id "
        f"WHERE i.program_id = ? AND i.id != ? AND i.state IN ({marks}) "
        f"AND (i.starts_on < ? OR (i.starts_on = ? AND i.id < ?)) ORDER BY i.starts_on DESC, i.id DESC LIMIT 1",
        [inspection["program_id"], inspection["id"], *REACHED, inspection["starts_on"], inspection["starts_on"],
         inspection["id"]]).fetchone()


def carried(db, inspection):
    """The earlier inspection's citations as they reach this one (Carried), or None without one."""
    earlier = earlier_inspection(db, inspection)
    if earlier is None:
        return None
    cited, _ = review.citations(db, earlier)
    decided = committee.decisions(db, earlier["id"])
    corrected = committee.corrections(db, earlier)
    other_edition = earlier["catalog_id"] != inspection["catalog_id"]
    code_map = edition_maps.of(db, earlier["catalog_id"], inspection["catalog_id"]) if other_edition else None
    # Through the map where it names the code; else the same code, if this edition has it.
    wanted = {(code_map or {}).get(c["code"], c["code"]) for c in cited}
    present = catalog.standard_codes(db, inspection["catalog_id"], wanted)
    citations = []
    for c in cited:
        decision = decided.get(c["code"])
        if decision and decision["decision"] == "withdrawn":
            continue
        code = (code_map or {}).get(c["code"], c["code"])
        citations.append({
            "code": code if code in present else None, "old_code": c["code"], "title": c["title"],
            "citation": decision["text"] if decision and decision["decision"] == "amended" else c["citation"] or "",
            "decision": committee.DECISIONS[decision["decision"]] if decision else None,
            "due_on": decision["due_on"] if decision else None,
            "accepted": bool(corrected.get(c["code"], {}).get("accepted")),
        })
    return Carried(earlier, other_edition, code_map is not None, citations)


def on_standard(found, code):
    """The earlier citations carried onto the standard ``code`` (from ``carried``)."""
    return [c for c in found.citations if c["code"] == code] if found else []


def codes(found):
    """The codes of this edition cited last time (from ``carried``)."""
    return {c["code"] for c in found.citations if c["code"]} if found else set()


def now(citation, verdicts):
    """What became of an earlier citation, by ``verdicts`` ({code: the team's
    consolidated verdict now}): compliant, not decided, cited again..."""
    if citation["code"] is None:
        return NOT_IN_EDITION
    verdict = verdicts.get(citation["code"])
    return CITED_AGAIN if verdict in DEFICIENT else NOW.get(verdict, NOW[None])
