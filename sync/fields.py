"""The field table: every kind of write an op can make, in one place.

Each entry says what the field writes (a register and its column), the key
of the row it writes, who may write it (a capability from inspector.access,
which also says in which inspection states), how its value is checked, and
what is stored. Push, pull and rebuild read only this table, so a new kind of
write (the lead's decisions, the site's responses) is one entry here.
"""
from typing import Callable, NamedTuple

from inspector import access
from inspector.catalog import ALL_VERDICTS, SCALES
from inspector.findings import FINDING_PHOTOS, FINDINGS, Register
from inspector.merge import DECISIONS, PHOTO_RELEASES
from inspector.photos import SHA256

MAX_NOTE = 20_000
MAX_CAPTION = 500


class Field(NamedTuple):
    register: Register
    column: str
    key: Callable        # (op, actor) -> the register row's key
    refusal: Callable    # (actor's user, inspection) -> access.Refusal or None
    check: Callable      # value -> None, or what is wrong with it
    stored: Callable = lambda value: value          # value -> what the column holds
    needs_photo: Callable = lambda value: None      # value -> sha256 that must be uploaded first, or None
    fits: Callable = lambda value, inspection: None  # what is wrong with the value for this inspection, or None


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


def _my_finding(op, actor):
    return (op["inspection_id"], op["standard"], actor.user["id"])


def _my_photo(op, actor):
    return (*_my_finding(op, actor), op["value"]["sha256"])


def _standard(op, actor):
    return (op["inspection_id"], op["standard"])


def _standard_photo(op, actor):
    return (op["inspection_id"], op["standard"], op["value"]["sha256"])


FIELDS = {
    # An inspector's own finding: keyed on (inspection, standard, the sender).
    "verdict": Field(FINDINGS, "verdict", _my_finding, access.edit_finding_refusal, _verdict, fits=_on_scale),
    "note": Field(FINDINGS, "note", _my_finding, access.edit_finding_refusal, _text("note", MAX_NOTE)),
    "photo": Field(FINDING_PHOTOS, "attached", _my_photo, access.edit_finding_refusal,
                   _photo_ref("photo", _attached), stored=lambda v: int(v["attached"]),
                   needs_photo=lambda v: v["sha256"] if v["attached"] else None),
    "caption": Field(FINDING_PHOTOS, "caption", _my_photo, access.edit_finding_refusal,
                     _photo_ref("caption", _caption_text), stored=lambda v: v["text"]),
    # The team leader's decision on a standard: keyed on (inspection, standard),
    # whoever of the team's leaders sends it. ``decision_basis`` goes with every
    # decision: the newest log position of the standard's findings the lead saw.
    "decision_verdict": Field(DECISIONS, "verdict", _standard, access.merge_refusal, _verdict, fits=_on_scale),
    "citation": Field(DECISIONS, "citation", _standard, access.merge_refusal, _text("citation", MAX_NOTE)),
    "suggestion": Field(DECISIONS, "suggestion", _standard, access.merge_refusal, _text("suggestion", MAX_NOTE)),
    "decision_basis": Field(DECISIONS, "basis", _standard, access.merge_refusal, _basis),
    # Whether the site may see one photo of a standard (private until released).
    "release_photo": Field(PHOTO_RELEASES, "released", _standard_photo, access.merge_refusal,
                           _photo_ref("release_photo", _released), stored=lambda v: int(v["released"])),
}

class Pulled(NamedTuple):
    register: Register
    owner_column: str = None   # whose row it is: scoped by access.findings_scope
    visible: Callable = lambda user, inspection: True


# What a pull returns, by the name the client reads it under.
PULLED = {
    "findings": Pulled(FINDINGS, "inspector_id"),
    "photos": Pulled(FINDING_PHOTOS, "inspector_id"),
    "decisions": Pulled(DECISIONS, visible=access.can_see_team_findings),
    "releases": Pulled(PHOTO_RELEASES, visible=access.can_see_team_findings),
}
