"""The field table: every kind of write an op can make, in one place.

Each entry says what the field writes (a register and its column), the key
of the row it writes, who may write it (a capability from
inspector.domain.access, which also says in which inspection states), the
exact shape of its value (sync/shapes.py), what is stored, and how a tablet
reads the column back from a pull (``client_table``, shipped to the pages).
Push, pull and rebuild read only this table, and the tablets its client
part, so a new kind of write is one entry here.
"""
import re
from typing import Callable, NamedTuple

from inspector.domain import access, preparation, review
from inspector.domain.catalog import ALL_VERDICTS, SCALES

from . import shapes
from .registers import (CROSSWALK, DECISIONS, FINDING_PHOTOS, FINDINGS, FLAGS, PHOTO_RELEASES, REQUEST_ANSWERS,
                        REQUEST_DOCUMENTS, REQUESTS, RESPONSE_DOCUMENTS, RESPONSES, REVIEWS, SELF_ASSESSMENTS,
                        Register)

MAX_NOTE = 20_000
MAX_CAPTION = 500


class Field(NamedTuple):
    register: Register
    column: str
    key: Callable        # (op, actor) -> the register row's key
    refusal: Callable    # (actor, inspection) -> access.Refusal or None: who may write it, and when
    shape: shapes.Shape  # exactly the value it takes (sync/shapes.py)
    stored: Callable = lambda value: value          # value -> what the column holds
    needs_photo: Callable = lambda value: None      # value -> sha256 that must be uploaded first, or None
    fits: Callable = lambda value, inspection: None  # what is wrong with the value for this inspection, or None
    precheck: Callable = lambda db, op, inspection: None  # a rule that reads the registers: Refusal or None
    # How a tablet reads the column back from a pull (client_table): as it
    # is ("plain") or as true/false ("bool"); with a client_key, wrapped with
    # the row's photo hash: {"sha256": ..., client_key: the column}.
    client: str = "plain"
    client_key: str = None
    # With a client_key, the row's column naming what the value is about and
    # its key in the value: the photo's hash, or a request's id.
    client_id: tuple = ("sha256", "sha256")


def by_user(capability):
    """A user's capability (inspector.domain.access) as a field's refusal: review links never write these."""
    def refusal(actor, inspection):
        if actor.user is None:
            return access.Refusal("not_a_user", "Only the inspection team writes this.")
        return capability(actor.user, inspection)
    return refusal


def by_link(field):
    """A site's field: written through its review link only, in the state that takes it."""
    def refusal(actor, inspection):
        return access.respond_refusal(actor.link, inspection, field)
    return refusal


def _on_scale(value, inspection):
    """A verdict must be on the scale of the inspection's checklist edition."""
    scale = SCALES[inspection["scale"]]
    if value is not None and value not in scale:
        return f"{value} is not a verdict of this checklist (use {', '.join(scale)})"
    return None


VERDICT = shapes.choice("verdict", ALL_VERDICTS, nullable=True)
PHOTO = shapes.sha256("the photo")
# Round 0 is the factual accuracy review's; corrections answer rounds 1, 2, ...
ROUND = shapes.integer("round", 0, 1000, "the value must say which round it answers: {\"round\": 1, ...}")


def _round_text(name, limit):
    return shapes.record(name, round=ROUND, text=shapes.text(name, limit))


def _my_finding(op, actor):
    return (op["inspection_id"], op["standard"], actor.user["id"])


def _my_photo(op, actor):
    return (*_my_finding(op, actor), op["value"]["sha256"])


def _standard(op, actor):
    return (op["inspection_id"], op["standard"])


def _standard_photo(op, actor):
    return (op["inspection_id"], op["standard"], op["value"]["sha256"])


def _response_round(op, actor):
    return (op["inspection_id"], op["standard"], op["value"]["round"])


def _response_document(op, actor):
    return (*_response_round(op, actor), op["value"]["sha256"])


# A request for information is named by the id its tablet made (a UUID).
REQUEST_ID = shapes.text("request id", 36, re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"),
                         "the request's id must be a UUID in lower case: {\"id\": \"...\", ...}")


def _my_request(op, actor):
    return (op["inspection_id"], op["standard"], actor.user["id"], op["value"]["id"])


def _request(op, actor):
    return (op["inspection_id"], op["value"]["id"])


def _request_document(op, actor):
    return (op["inspection_id"], op["value"]["id"], op["value"]["sha256"])


def by_program(field):
    """The program's field: written through its self-assessment link only, while it is open."""
    def refusal(actor, inspection):
        return access.prepare_refusal(actor.link, inspection, field)
    return refusal


def _site_writes(db, op, inspection):
    return review.response_refusal(db, op, inspection)


FIELDS = {
    # An inspector's own finding: keyed on (inspection, standard, the sender).
    "verdict": Field(FINDINGS, "verdict", _my_finding, by_user(access.edit_finding_refusal), VERDICT,
                     fits=_on_scale),
    "note": Field(FINDINGS, "note", _my_finding, by_user(access.edit_finding_refusal),
                  shapes.text("note", MAX_NOTE)),
    "photo": Field(FINDING_PHOTOS, "attached", _my_photo, by_user(access.edit_finding_refusal),
                   shapes.record("photo", sha256=PHOTO, attached=shapes.boolean("attached")),
                   stored=lambda v: int(v["attached"]), needs_photo=lambda v: v["sha256"] if v["attached"] else None,
                   client="bool", client_key="attached"),
    "caption": Field(FINDING_PHOTOS, "caption", _my_photo, by_user(access.edit_finding_refusal),
                     shapes.record("caption", sha256=PHOTO, text=shapes.text("caption text", MAX_CAPTION)),
                     stored=lambda v: v["text"], client_key="text"),
    # The inspector's own "come back to this" flag: its own register (finding_flags).
    "flag": Field(FLAGS, "flagged", _my_finding, by_user(access.edit_finding_refusal), shapes.boolean("flag"),
                  stored=int, client="bool"),
    # The team leader's decision on a standard: keyed on (inspection, standard),
    # whoever of the team's leaders sends it. ``decision_basis`` goes with every
    # decision: the newest log position of the standard's findings the lead saw.
    "decision_verdict": Field(DECISIONS, "verdict", _standard, by_user(access.merge_refusal), VERDICT,
                              fits=_on_scale),
    "citation": Field(DECISIONS, "citation", _standard, by_user(access.merge_refusal),
                      shapes.text("citation", MAX_NOTE)),
    "suggestion": Field(DECISIONS, "suggestion", _standard, by_user(access.merge_refusal),
                        shapes.text("suggestion", MAX_NOTE)),
    "decision_basis": Field(DECISIONS, "basis", _standard, by_user(access.merge_refusal),
                            shapes.integer("basis", 0, 2 ** 53 - 1,
                                           "basis must be the log position of the findings seen (an integer)")),
    # Whether the site may see one photo of a standard (private until released).
    "release_photo": Field(PHOTO_RELEASES, "released", _standard_photo, by_user(access.merge_refusal),
                           shapes.record("release_photo", sha256=PHOTO, released=shapes.boolean("released")),
                           stored=lambda v: int(v["released"]), client="bool", client_key="released"),
    # The site's response to a citation, round by round, written by its review link.
    "factual_comment": Field(RESPONSES, "factual_comment", _response_round, by_link("factual_comment"),
                             _round_text("factual accuracy comment", MAX_NOTE), stored=lambda v: v["text"],
                             precheck=_site_writes),
    "corrective_action": Field(RESPONSES, "corrective_action", _response_round, by_link("corrective_action"),
                               _round_text("explanation of correction", MAX_NOTE), stored=lambda v: v["text"],
                               precheck=_site_writes),
    "target_date": Field(RESPONSES, "target_date", _response_round, by_link("target_date"),
                         shapes.record("target_date", round=ROUND, text=shapes.iso_date_or_empty("target date")),
                         stored=lambda v: v["text"], precheck=_site_writes),
    "evidence": Field(RESPONSE_DOCUMENTS, "attached", _response_document, by_link("evidence"),
                      shapes.record("evidence", round=ROUND, sha256=shapes.sha256("the document"),
                                    attached=shapes.boolean("attached")),
                      stored=lambda v: int(v["attached"]), precheck=_site_writes),
    "submitted": Field(RESPONSES, "submitted", _response_round, by_link("submitted"),
                       shapes.record("submitted", round=ROUND, submitted=shapes.true("submitted")),
                       stored=lambda v: 1, precheck=_site_writes),
    # The lead's review of a submitted round: accepted, or more information needed.
    "review_outcome": Field(REVIEWS, "outcome", _response_round, by_user(access.review_refusal),
                            shapes.record("review_outcome", round=ROUND,
                                          outcome=shapes.choice("outcome", review.OUTCOMES)),
                            stored=lambda v: v["outcome"], precheck=lambda db, op, ins: review.review_precheck(
                                db, op, ins)),
    "review_comment": Field(REVIEWS, "comment", _response_round, by_user(access.review_refusal),
                            _round_text("review comment", MAX_NOTE), stored=lambda v: v["text"],
                            precheck=lambda db, op, ins: review.review_precheck(db, op, ins)),
    # Before the visit: the program's self-assessment of a standard and the
    # crosswalk of its documents to standards, by its self-assessment link.
    # Read only once the program has submitted it.
    "self_verdict": Field(SELF_ASSESSMENTS, "verdict", _standard, by_program("self_verdict"), VERDICT,
                          fits=_on_scale, precheck=preparation.self_assessment_precheck),
    "self_how": Field(SELF_ASSESSMENTS, "how", _standard, by_program("self_how"),
                      shapes.text("how we comply", MAX_NOTE), precheck=preparation.self_assessment_precheck),
    "crosswalk": Field(CROSSWALK, "linked", _standard_photo, by_program("crosswalk"),
                       shapes.record("crosswalk", sha256=shapes.sha256("the document"),
                                     linked=shapes.boolean("linked")),
                       stored=lambda v: int(v["linked"]), precheck=preparation.crosswalk_precheck),
    # A request for information an inspector raises on a standard (offline
    # too), and its closing; the program's answer and documents by its link.
    "rfi": Field(REQUESTS, "text", _my_request, by_user(access.request_refusal),
                 shapes.record("rfi", id=REQUEST_ID, text=shapes.text("request", MAX_NOTE)),
                 stored=lambda v: v["text"], client_key="text", client_id=("request_id", "id"),
                 precheck=preparation.request_refusal),
    # Written on the closer's own row: the raiser's, or a team leader's.
    "rfi_closed": Field(REQUESTS, "closed", _my_request, by_user(access.request_refusal),
                        shapes.record("rfi_closed", id=REQUEST_ID, closed=shapes.boolean("closed")),
                        stored=lambda v: int(v["closed"]), client="bool", client_key="closed",
                        client_id=("request_id", "id"), precheck=preparation.request_refusal),
    "rfi_answer": Field(REQUEST_ANSWERS, "answer", _request, by_program("rfi_answer"),
                        shapes.record("rfi_answer", id=REQUEST_ID, text=shapes.text("answer", MAX_NOTE)),
                        stored=lambda v: v["text"], precheck=preparation.request_precheck),
    "rfi_document": Field(REQUEST_DOCUMENTS, "attached", _request_document, by_program("rfi_document"),
                          shapes.record("rfi_document", id=REQUEST_ID, sha256=shapes.sha256("the document"),
                                        attached=shapes.boolean("attached")),
                          stored=lambda v: int(v["attached"]), precheck=preparation.request_precheck),
}


class Pulled(NamedTuple):
    register: Register
    owner_column: str = None   # whose row it is: scoped by access.findings_scope
    visible: Callable = lambda user, inspection: True
    on_tablet: bool = True     # merged into the tablet's store (the site's answers are read on pages only)


# What a pull returns, by the name the client reads it under.
PULLED = {
    "findings": Pulled(FINDINGS, "inspector_id"),
    "photos": Pulled(FINDING_PHOTOS, "inspector_id"),
    "flags": Pulled(FLAGS, "inspector_id"),
    "decisions": Pulled(DECISIONS, visible=access.can_see_team_findings),
    "releases": Pulled(PHOTO_RELEASES, visible=access.can_see_team_findings),
    "responses": Pulled(RESPONSES, visible=access.can_see_team_findings, on_tablet=False),
    "reviews": Pulled(REVIEWS, visible=access.can_see_team_findings, on_tablet=False),
    # The team's requests for information, every member's: a tablet shows
    # them on its stored standard pages (static/js/requests.js), so nobody
    # asks twice offline. The program's answers come with the pages.
    "requests": Pulled(REQUESTS),
}


def client_table():
    """The field table's part the tablets need, shipped in every page
    (templates/base.html) so sync.js merges a pull without a map of its own:
    per pulled set, the owner column (the tablet keeps only its user's rows
    of those) and, per column, the field an op on it names and how the value
    is read back."""
    return {name: {"owner": pulled.owner_column,
                   "columns": [{"column": f.column, "field": field, "as": f.client, "key": f.client_key,
                                "id": list(f.client_id) if f.client_key else None}
                               for field, f in FIELDS.items() if f.register is pulled.register]}
            for name, pulled in PULLED.items() if pulled.on_tablet}
