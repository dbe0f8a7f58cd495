"""Deadlines: what is due when in an inspection's cycle, and who owes it.

From the body's defaults (bodies.py: FACT wants each inspector's findings 3
days after the visit and the lead's consolidation in 2 weeks; JACIE 2 weeks
for both), the site's review link (its factual accuracy comments are due
when it expires), the committee's date and each correction's due date.
"""
from datetime import date, timedelta
from typing import NamedTuple

from . import bodies, committee, review


class Deadline(NamedTuple):
    what: str       # in the body's words
    due: date
    owed_by: str    # "inspectors", "lead", "site", "committee"
    code: str = ""  # the citation, for a correction

    def overdue(self, today):
        return self.due < today


def _day(text):
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def of(db, inspection):
    """The deadlines of the inspection's current stage, soonest first."""
    return of_many(db, [inspection])[inspection["id"]]


def of_many(db, listed):
    """{inspection id: its deadlines, as ``of``} for each inspection ``listed``,
    in two queries however many there are (the home page's cards, the
    calendar feed)."""
    expiries = review.live_links_many(db, [i["id"] for i in listed if i["state"] == "factual_accuracy"])
    corrections = committee.corrections_many(db, [i["id"] for i in listed if i["state"] == "corrections"])
    return {i["id"]: _of(i, expiries.get(i["id"], []), corrections.get(i["id"], {})) for i in listed}


def _of(inspection, live_links, corrections):
    body, words = bodies.of(inspection), bodies.words(inspection)
    ends = _day(inspection["ends_on"])
    state, out = inspection["state"], []
    if state in ("on_site", "merging") and ends:
        if state == "on_site":
            out.append(Deadline("Inspectors' findings complete", ends + timedelta(days=body.deadlines["findings"]),
                                "inspectors"))
        out.append(Deadline(f"The lead's consolidation (draft {words['citations']} to the {words['program']})",
                            ends + timedelta(days=body.deadlines["consolidation"]), "lead"))
    elif state == "factual_accuracy":
        expiries = [_day(link["expires_at"]) for link in live_links]
        if expiries:
            out.append(Deadline("The site's factual accuracy comments", max(expiries), "site"))
    elif state == "committee":
        held = _day(inspection["committee_date"])
        if held:
            out.append(Deadline(f"The {words['committee']}'s decision", held, "committee"))
    elif state == "corrections":
        for code, c in sorted(corrections.items()):
            due = _day(c["due_on"])
            if due and not c["accepted"]:
                out.append(Deadline(f"Correction of {code}", due, "site", code))
    return sorted(out, key=lambda d: d.due)


# Who owes a deadline, as anyone reads it; and, for the one who owes it,
# what it is in their own words ({...}: the inspection's body's words).
OWED_BY = {"inspectors": "the inspectors", "lead": "the team leader", "site": "the {program}",
           "committee": "the {committee}"}
YOURS = {"inspectors": ("inspector", "Your findings complete"),
         "lead": ("lead", "Your consolidation: draft {citations} to the {program}"),
         "committee": ("coordinator", "Record the {committee}'s decision")}


def worded(deadline, user, inspection):
    """(what, owed by) as ``user`` reads the deadline: an inspector sees "Your
    findings complete ... owed by you", the lead "Inspectors' findings complete
    ... owed by the inspectors", the coordinator "Record the Accreditation
    Committee's decision"."""
    words = bodies.words(inspection)
    reader = inspection["team_role"] if "team_role" in inspection.keys() and inspection["team_role"] else user["role"]
    owner, yours = YOURS.get(deadline.owed_by, (None, None))
    if owner == reader or (owner == "coordinator" and reader == "admin"):
        return yours.format(**words), "you"
    return deadline.what, OWED_BY[deadline.owed_by].format(**words)


def on_card(db, inspection):
    """What an inspection's card shows: every deadline already passed, then
    the next one still ahead (if any)."""
    return on_cards(db, [inspection])[inspection["id"]]


def on_cards(db, listed):
    """{inspection id: what its card shows, as ``on_card``} for those still under way."""
    today = date.today()
    found = of_many(db, [i for i in listed if i["state"] != "closed"])
    return {i: [d for d in due if d.overdue(today)] + [d for d in due if not d.overdue(today)][:1]
            for i, due in found.items()}


def next_due(db, inspection):
    """The soonest deadline, or None."""
    found = of(db, inspection)
    return found[0] if found else None


def for_user(db, user, listed):
    """[(inspection, deadline)] of the inspections ``listed`` for the user,
    those still under way, soonest first."""
    under_way = [ins for ins in listed if ins["state"] != "closed"]
    found = of_many(db, under_way)
    return sorted(((ins, d) for ins in under_way for d in found[ins["id"]]), key=lambda pair: pair[1].due)


def _ical_text(text):
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ical(pairs, stamp, user):
    """An iCalendar (RFC 5545) of all-day events, one per deadline, in the
    words of ``user`` (whose feed it is); ``stamp`` is when it was made (UTC,
    20261207T190600Z)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//inspector//deadlines//EN", "CALSCALE:GREGORIAN",
             "X-WR-CALNAME:Inspection deadlines"]
    for ins, d in pairs:
        day = d.due.strftime("%Y%m%d")
        uid = f"{ins['id']}-{d.owed_by}-{d.code or d.what.split()[0].lower()}-{day}@inspector"
        what, owed = worded(d, user, ins)
        summary = _ical_text(ins["site_name"] + ": " + what)
        lines += ["BEGIN:VEVENT", f"UID:{_ical_text(uid)}", f"DTSTAMP:{stamp}", f"DTSTART;VALUE=DATE:{day}",
                  f"SUMMARY:{summary}", f"DESCRIPTION:{_ical_text('Owed by ' + owed + '.')}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
