"""The field table: every kind of write an op can make, in one place.

Each entry says what the field writes (a register and its column), the key
of the row it writes, who may write it (a capability from inspector.access,
which also says in which inspection states), how its value is checked, and
what is stored. Push, pull and rebuild read only this table, so a new kind of
write (the lead's decisions, the site's responses) is one entry here.
"""
from typing import Callable, NamedTuple

from inspector.domain import access, review
from inspector.domain.catalog import ALL_VERDICTS, SCALES
from inspector.domain.findings import FINDING_PHOTOS, FINDINGS, FLAGS, Register
from inspector.domain.merge import DECISIONS, PHOTO_RELEASES
from inspector.domain.photos import SHA256
from inspector.domain.review import RESPONSE_DOCUMENTS, RESPONSES, REVIEWS

MAX_NOTE = 20_000
MAX_CAPTION = 500


class Field(NamedTuple):
    register: Register
    column: str
    key: Callable        # (op, actor) -> the register row's key
    refusal: Callable    # (actor, inspection) -> access.Refusal or None: who may write it, and when
    check: Callable      # value -> None, or what is wrong with it
    stored: Callable = lambda value: value          # value -> what the column holds
    needs_photo: Callable = lambda value: None      # value -> sha256 that must be uploaded first, or None
    fits: Callable = lambda value, inspection: None  # what is wrong with the value for this inspection, or None
    precheck: Callable = lambda db, op, inspection: None  # a rule that reads the registers: Refusal or None


def by_user(capability):
    """A user's capability (inspector.access) as a field's refusal: review links never write these."""
    def refusal(actor, inspection):
        if actor.user is None:
            return access.Refusal("not_a_user", "Only the inspection team writes this.")
        return capability(actor.user, inspection)
    return refusal


def by_link(actor, inspection):
    """The site's fields: written through its review link only."""
    return access.respond_refusal(actor.link, inspection)


def _is_unicode(text):
    # JSON may carry a lone surrogate ("\ud800"), which SQLite cannot store as text.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(name, limit):
    def check(value):
        if not isinstance(value, str):
            return f"{name} must be a string"
        if len(value) > limit:
            return f"{name} is longer than {limit} characters"
        if not _is_unicode(value):
            return f"{name} must be valid Unicode text"
        return None
    return check


def _verdict(value):
    if value is not None and (not isinstance(value, str) or value not in ALL_VERDICTS):
        return f"verdict must be one of {', '.join(ALL_VERDICTS)} or null"
    return None


def _on_scale(value, inspection):
    """A verdict must be on the scale of the inspection's checklist edition."""
    scale = SCALES[inspection["scale"]]
    if value is not None and value not in scale:
        return f"{value} is not a verdict of this checklist (use {', '.join(scale)})"
    return None


def _basis(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2 ** 53 - 1
    return None if ok else "basis must be the log position of the findings seen (an integer)"


def _flag(value):
    return None if isinstance(value, bool) else "flag must be true or false"


def _released(value):
    return None if isinstance(value.get("released"), bool) else "release value must say released: true or false"


def _photo_ref(field, then=None):
    def check(value):
        if not isinstance(value, dict) or not isinstance(value.get("sha256"), str) or not SHA256.match(value["sha256"]):
            return f"{field} value must carry a sha256 (64 lowercase hex digits)"
        return then(value) if then else None
    return check


def _attached(value):
    return None if isinstance(value.get("attached"), bool) else "photo value must say attached: true or false"


def _caption_text(value):
    text = value.get("text")
    if not isinstance(text, str) or len(text) > MAX_CAPTION:
        return f"caption text must be a string of at most {MAX_CAPTION} characters"
    return None if _is_unicode(text) else "caption text must be valid Unicode text"


def _round(then):
    """A value about one round of a citation's response: {"round": n, ...}."""
    def check(value):
        if not isinstance(value, dict) or not isinstance(value.get("round"), int) or isinstance(
                value.get("round"), bool) or not 1 <= value["round"] <= 1000:
            return "the value must say which round it answers: {\"round\": 1, ...}"
        return then(value)
    return check


def _round_text(name, limit):
    text = _text(name, limit)
    return _round(lambda v: text(v.get("text")))


def _date(value):
    text = value.get("text")
    if text == "":
        return None
    try:
        from datetime import date
        date.fromisoformat(text)
    except (TypeError, ValueError):
        return "target date must be a date (YYYY-MM-DD) or empty"
    return None if len(text) == 10 else "target date must be a date (YYYY-MM-DD) or empty"


def _true(name):
    return lambda value: None if value.get(name) is True else f"{name} must be true"


def _outcome(value):
    return None if value.get("outcome") in review.OUTCOMES else f"outcome must be one of {', '.join(review.OUTCOMES)}"


def _document(value):
    if not isinstance(value.get("sha256"), str) or not SHA256.match(value["sha256"]):
        return "the document must be named by its sha256"
    return None if isinstance(value.get("attached"), bool) else "say attached: true or false"


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


def _site_writes(db, op, inspection):
    return review.response_refusal(db, op, inspection)


FIELDS = {
    # An inspector's own finding: keyed on (inspection, standard, the sender).
    "verdict": Field(FINDINGS, "verdict", _my_finding, by_user(access.edit_finding_refusal), _verdict,
                     fits=_on_scale),
    "note": Field(FINDINGS, "note", _my_finding, by_user(access.edit_finding_refusal), _text("note", MAX_NOTE)),
    "photo": Field(FINDING_PHOTOS, "attached", _my_photo, by_user(access.edit_finding_refusal),
                   _photo_ref("photo", _attached), stored=lambda v: int(v["attached"]),
                   needs_photo=lambda v: v["sha256"] if v["attached"] else None),
    "caption": Field(FINDING_PHOTOS, "caption", _my_photo, by_user(access.edit_finding_refusal),
                     _photo_ref("caption", _caption_text), stored=lambda v: v["text"]),
    # The inspector's own "come back to this" flag: its own register (finding_flags).
    "flag": Field(FLAGS, "flagged", _my_finding, by_user(access.edit_finding_refusal), _flag, stored=int),
    # The team leader's decision on a standard: keyed on (inspection, standard),
    # whoever of the team's leaders sends it. ``decision_basis`` goes with every
    # decision: the newest log position of the standard's findings the lead saw.
    "decision_verdict": Field(DECISIONS, "verdict", _standard, by_user(access.merge_refusal), _verdict,
                              fits=_on_scale),
    "citation": Field(DECISIONS, "citation", _standard, by_user(access.merge_refusal), _text("citation", MAX_NOTE)),
    "suggestion": Field(DECISIONS, "suggestion", _standard, by_user(access.merge_refusal),
                        _text("suggestion", MAX_NOTE)),
    "decision_basis": Field(DECISIONS, "basis", _standard, by_user(access.merge_refusal), _basis),
    # Whether the site may see one photo of a standard (private until released).
    "release_photo": Field(PHOTO_RELEASES, "released", _standard_photo, by_user(access.merge_refusal),
                           _photo_ref("release_photo", _released), stored=lambda v: int(v["released"])),
    # The site's response to a citation, round by round, written by its review link.
    "factual_comment": Field(RESPONSES, "factual_comment", _response_round, by_link,
                             _round_text("factual accuracy comment", MAX_NOTE), stored=lambda v: v["text"],
                             precheck=_site_writes),
    "corrective_action": Field(RESPONSES, "corrective_action", _response_round, by_link,
                               _round_text("corrective action plan", MAX_NOTE), stored=lambda v: v["text"],
                               precheck=_site_writes),
    "target_date": Field(RESPONSES, "target_date", _response_round, by_link, _round(_date),
                         stored=lambda v: v["text"], precheck=_site_writes),
    "evidence": Field(RESPONSE_DOCUMENTS, "attached", _response_document, by_link, _round(_document),
                      stored=lambda v: int(v["attached"]), precheck=_site_writes),
    "submitted": Field(RESPONSES, "submitted", _response_round, by_link, _round(_true("submitted")),
                       stored=lambda v: 1, precheck=_site_writes),
    # The lead's review of a submitted round: accepted, or more information needed.
    "review_outcome": Field(REVIEWS, "outcome", _response_round, by_user(access.review_refusal), _round(_outcome),
                            stored=lambda v: v["outcome"], precheck=lambda db, op, ins: review.review_precheck(
                                db, op, ins)),
    "review_comment": Field(REVIEWS, "comment", _response_round, by_user(access.review_refusal),
                            _round_text("review comment", MAX_NOTE), stored=lambda v: v["text"],
                            precheck=lambda db, op, ins: review.review_precheck(db, op, ins)),
}

class Pulled(NamedTuple):
    register: Register
    owner_column: str = None   # whose row it is: scoped by access.findings_scope
    visible: Callable = lambda user, inspection: True


# What a pull returns, by the name the client reads it under.
PULLED = {
    "findings": Pulled(FINDINGS, "inspector_id"),
    "photos": Pulled(FINDING_PHOTOS, "inspector_id"),
    "flags": Pulled(FLAGS, "inspector_id"),
    "decisions": Pulled(DECISIONS, visible=access.can_see_team_findings),
    "releases": Pulled(PHOTO_RELEASES, visible=access.can_see_team_findings),
    "responses": Pulled(RESPONSES, visible=access.can_see_team_findings),
    "reviews": Pulled(REVIEWS, visible=access.can_see_team_findings),
}
