"""The field table: every kind of write an op can make, in one place.

Each entry says what the field writes (a register and its column), the key
of the row it writes, who may write it (a capability from inspector.access,
which also says in which inspection states), how its value is checked, and
what is stored. Push, pull and rebuild read only this table, so a new kind of
write (the lead's decisions, the site's responses) is one entry here.
"""
from typing import Callable, NamedTuple

from inspector import access
from inspector.findings import FINDING_PHOTOS, FINDINGS, VERDICTS, Register
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
    if value is not None and (not isinstance(value, str) or value not in VERDICTS):
        return f"verdict must be one of {', '.join(VERDICTS)} or null"
    return None


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


FIELDS = {
    # An inspector's own finding: keyed on (inspection, standard, the sender).
    "verdict": Field(FINDINGS, "verdict", _my_finding, access.edit_finding_refusal, _verdict),
    "note": Field(FINDINGS, "note", _my_finding, access.edit_finding_refusal, _text("note", MAX_NOTE)),
    "photo": Field(FINDING_PHOTOS, "attached", _my_photo, access.edit_finding_refusal,
                   _photo_ref("photo", _attached), stored=lambda v: int(v["attached"]),
                   needs_photo=lambda v: v["sha256"] if v["attached"] else None),
    "caption": Field(FINDING_PHOTOS, "caption", _my_photo, access.edit_finding_refusal,
                     _photo_ref("caption", _caption_text), stored=lambda v: v["text"]),
}

# What a pull returns, by the name the client reads it under: each register,
# and the column that says whose row it is (scoped by access.findings_scope).
PULLED = {"findings": (FINDINGS, "inspector_id"), "photos": (FINDING_PHOTOS, "inspector_id")}
