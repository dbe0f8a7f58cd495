"""The shape of an op's value: exactly what each field of the field table
(sync/fields.py) takes, and nothing more.

A shape checks a value and says what is wrong with it as a reason code and a
sentence: ``wrong_type`` (not the kind of value the field takes, or not one of
its choices), ``unknown_key`` (an object carrying a key the field does not
have: it would be stored in the append-only log for good), ``too_long``
(text over the field's limit). A value that passes is exactly its schema, so
the log stores it as it is; ``bound`` is the longest its canonical JSON can
be (tests/test_op_values.py holds every accepted value to it).
"""
from datetime import date
from typing import Callable, NamedTuple

from inspector.domain.photos import SHA256


class Problem(NamedTuple):
    code: str     # wrong_type, unknown_key or too_long
    reason: str   # for the person whose change was refused


class Shape(NamedTuple):
    check: Callable  # value -> None, or the Problem with it
    bound: int       # the longest the value's canonical JSON (oplog.value_json) can be


# A character costs at most 12 bytes of ASCII-escaped JSON (a surrogate pair
# written as two \uXXXX escapes); the quotes add 2.
_PER_CHAR = 12


def _unicode(text):
    # JSON may carry a lone surrogate ("\ud800"), which SQLite cannot store as text.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(name, limit, pattern=None, hint=None):
    """A string of at most ``limit`` characters (and matching ``pattern``, if given)."""
    def check(value):
        if not isinstance(value, str):
            return Problem("wrong_type", hint or f"{name} must be a string")
        if pattern is not None and not pattern.match(value):
            return Problem("wrong_type", hint or f"{name} is not in the expected form")
        if len(value) > limit:
            return Problem("too_long", f"{name} is longer than {limit} characters")
        if not _unicode(value):
            return Problem("wrong_type", f"{name} must be valid Unicode text")
        return None
    return Shape(check, 2 + _PER_CHAR * limit)


def boolean(name):
    def check(value):
        return None if isinstance(value, bool) else Problem("wrong_type", f"{name} must be true or false")
    return Shape(check, len("false"))


def true(name):
    def check(value):
        return None if value is True else Problem("wrong_type", f"{name} must be true")
    return Shape(check, len("true"))


def integer(name, low, high, hint=None):
    def check(value):
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return None
        return Problem("wrong_type", hint or f"{name} must be an integer from {low} to {high}")
    return Shape(check, max(len(str(low)), len(str(high))))


def choice(name, options, nullable=False):
    """One of ``options`` (strings), or null when ``nullable``."""
    options = tuple(options)

    def check(value):
        if value is None and nullable:
            return None
        if isinstance(value, str) and value in options:
            return None
        return Problem("wrong_type", f"{name} must be one of {', '.join(options)}" + (" or null" if nullable else ""))
    return Shape(check, max([len("null")] + [2 + _PER_CHAR * len(o) for o in options]))


def iso_date_or_empty(name):
    def check(value):
        if value == "":
            return None
        try:
            ok = isinstance(value, str) and len(value) == 10 and date.fromisoformat(value) is not None
        except ValueError:
            ok = False
        return None if ok else Problem("wrong_type", f"{name} must be a date (YYYY-MM-DD) or empty")
    return Shape(check, 12)


def record(name, **members):
    """An object with exactly these keys, each of its shape."""
    def check(value):
        if not isinstance(value, dict):
            return Problem("wrong_type", f"{name} must be an object with {', '.join(members)}")
        extra = sorted(set(value) - set(members))
        if extra:
            # Named by count, not echoed: the key itself may be anything.
            return Problem("unknown_key", f"{name} takes only {', '.join(members)} ({len(extra)} other key"
                                          f"{'s' if len(extra) > 1 else ''} sent)")
        for key, shape in members.items():
            if key not in value:
                return Problem("wrong_type", f"{name} must say {key}")
            problem = shape.check(value[key])
            if problem:
                return problem
        return None
    # {"key":value,...}: braces, quotes, colons and commas around the members.
    return Shape(check, 2 + sum(len(k) + 3 + s.bound + 1 for k, s in members.items()))



def sha256(name):
    return text(name, 64, SHA256, f"{name} must carry a sha256 (64 lowercase hex digits)")
