"""The accrediting bodies: who runs an inspection, and what follows from it.

The same IEC edition is inspected by FACT or by JACIE, or by the program
itself as an internal audit. The body of an inspection (not its checklist
edition) sets the verdict scale, the words every page and the report use,
the outcome labels and the default deadlines. This table is the one place
those live: templates read ``words`` (the app puts the inspection's body's
vocabulary in every page), never a hard-coded "citation".
"""
from typing import NamedTuple


class Body(NamedTuple):
    name: str          # as shown: "FACT", "JACIE", "Internal audit"
    scale: str         # the verdict scale (catalog.SCALES); None: chosen per inspection
    words: dict        # the vocabulary of its pages and report
    outcomes: dict     # the committee's outcome: code -> label
    deadlines: dict    # default days after the visit's last day, by what is due


# The words that differ between bodies; a page asks words.citation, never "citation".
FACT_WORDS = {
    "citation": "citation", "citations": "citations", "Citation": "Citation", "Citations": "Citations",
    "suggestion": "suggestion", "suggestions": "suggestions", "Suggestion": "Suggestion",
    "Suggestions": "Suggestions", "accreditation": "accreditation", "Accreditation": "Accreditation",
    "exit_interview": "exit interview", "Exit_interview": "Exit interview", "program": "program",
    "Program": "Program", "committee": "Accreditation Committee",
}
JACIE_WORDS = {
    "citation": "deficiency", "citations": "deficiencies", "Citation": "Deficiency", "Citations": "Deficiencies",
    "suggestion": "recommendation", "suggestions": "recommendations", "Suggestion": "Recommendation",
    "Suggestions": "Recommendations", "accreditation": "certification", "Accreditation": "Certification",
    "exit_interview": "closing meeting", "Exit_interview": "Closing meeting", "program": "centre",
    "Program": "Centre", "committee": "JACIE Accreditation Committee",
}
INTERNAL_WORDS = {**FACT_WORDS, "accreditation": "internal audit", "Accreditation": "Internal audit",
                  "committee": "quality committee"}

BODIES = {
    "fact": Body("FACT", "fact", FACT_WORDS,
                 {"accredited": "Accredited", "deferred": "Accreditation deferred",
                  "not_accredited": "Not accredited"},
                 # Each inspector's report within 3 days of the visit; the
                 # team leader's review of the whole report within 2 weeks.
                 {"findings": 3, "consolidation": 14}),
    "jacie": Body("JACIE", "jacie", JACIE_WORDS,
                  {"accredited": "Certified", "deferred": "Certification deferred",
                   "not_accredited": "Not certified"},
                  # Checklists and the summary report to the team leader within 2 weeks.
                  {"findings": 14, "consolidation": 14}),
    "internal": Body("Internal audit", None, INTERNAL_WORDS,
                     {"accredited": "Satisfactory", "deferred": "Follow-up needed",
                      "not_accredited": "Unsatisfactory"},
                     {"findings": 7, "consolidation": 14}),
}
DEFAULT = "fact"  # inspections made before there was a choice were FACT's


def of(inspection):
    """The body of an inspection (a row with ``body``), FACT's for none."""
    code = inspection["body"] if inspection is not None and "body" in inspection.keys() else DEFAULT
    return BODIES.get(code, BODIES[DEFAULT])


def words(inspection):
    return of(inspection).words


def scale_for(body, chosen=None):
    """The verdict scale an inspection of ``body`` uses: the body's own, or
    (an internal audit) the one chosen; None if the choice is missing."""
    fixed = BODIES[body].scale
    return fixed if fixed else chosen
