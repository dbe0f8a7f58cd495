"""Who may do what: the one place that decides.

Every route, query and the sync protocol asks these named capabilities
instead of checking roles itself, so a rule changes in one place and a
table-driven test can cover every route. Functions take the asking user
(a ``users`` row) and, where it matters, the inspection as the data layer
returns it for that user (``inspections.for_user``): a row that carries the
user's ``team_role`` on it (None when they are not on the team) and its
``state``. Nothing here touches the database.
"""
import functools
from typing import NamedTuple

from flask import abort, g, jsonify, redirect, request, url_for

# The cycle as FACT and JACIE run it: an inspection moves forward through
# these states. An internal audit (the program auditing itself) has no
# factual accuracy review by a site and no committee: it skips them.
STATES = ("preparing", "on_site", "merging", "factual_accuracy", "committee", "corrections", "closed")
STATE_LABELS = {
    "preparing": "Preparing",
    "on_site": "On site",
    "merging": "Merging findings",
    "factual_accuracy": "Factual accuracy review",
    "committee": "Committee review",
    "corrections": "Corrections",
    "closed": "Closed",
}
SKIPPED = {"internal": ("factual_accuracy", "committee")}
# Inspectors' findings are frozen once the draft citations leave the team:
# a finding sent after that is refused with its reason, and the tablet keeps it.
FINDING_STATES = ("preparing", "on_site", "merging")
# The lead's decisions (verdict, citation, suggestion, photos) may change
# until the inspection goes to the committee, which may amend them itself.
DECISION_STATES = ("preparing", "on_site", "merging", "factual_accuracy")


class Refusal(NamedTuple):
    """Why a write is refused: a stable code for clients, words for people."""
    code: str
    reason: str


# --- who is asking -------------------------------------------------------------

def login_required(view):
    """Pages: someone must be logged in, else off to the login page and back."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def api_login_required(view):
    """JSON endpoints: a 401 the client can act on, never a redirect to a login
    page that would swallow the request."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            response = jsonify(error="login_required", message="Your session has ended: log in again to sync.")
            response.status_code = 401
            return response
        return view(**kwargs)
    return wrapped


def capability_required(capability):
    """A page only for users with ``capability(user)``; others get 403."""
    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(**kwargs):
            if not capability(g.user):
                abort(403, description="Your role does not allow this.")
            return view(**kwargs)
        return wrapped
    return decorator


# --- users ------------------------------------------------------------------------

def sees_every_inspection(user):
    """Admins list every inspection, to manage them."""
    return user["role"] == "admin"


def can_read_mail(user):
    """The outbox (who was sent what, and what is stuck): the admins, who run the office."""
    return user["role"] == "admin"


def can_manage_checklists(user):
    """The checklist editions (list, import): the admins. An edition is the
    text every verdict is given against: a lead sets up inspections on one."""
    return user["role"] == "admin"


def can_manage_users(user):
    """The Users page: add users, disable and enable them, send a password reset."""
    return user["role"] == "admin"


def can_set_up_inspections(user):
    return user["role"] in ("admin", "lead")


def can_join_teams(user):
    """Admins manage inspections and coordinators record committees: neither is ever on a team."""
    return user["role"] not in ("admin", "coordinator")


def can_lead_teams(user):
    """Only lead accounts can lead a team: the team leader sees every
    inspector's findings and manages the team."""
    return user["role"] == "lead"


# --- programs ------------------------------------------------------------------------

def can_list_programs(user):
    """The list of every program: those who set up inspections."""
    return can_set_up_inspections(user)


def can_view_program(user, on_its_teams):
    """A program's page: admins and leads, and whoever is on the team of one
    of its inspections (``on_its_teams``); others get a 404."""
    return can_list_programs(user) or bool(on_its_teams)


# --- one inspection ----------------------------------------------------------------

def can_view_inspection(user, inspection):
    """On its team: works in it (its offline copy, writes through push).
    Others get a 404, never learning that it exists."""
    return inspection is not None and inspection["team_role"] is not None


def can_read_inspection(user, inspection):
    """Its pages and its pull: the team, and admins, read only (an admin is
    never on a team, so every write of theirs is still refused)."""
    return inspection is not None and (inspection["team_role"] is not None or user["role"] == "admin")


def can_see_team_progress(user, inspection):
    """How far the whole team has got, section by section: the team leader and admins."""
    return inspection is not None and (inspection["team_role"] == "lead" or user["role"] == "admin")


def can_manage_team(user, inspection):
    return inspection is not None and (user["role"] == "admin" or inspection["team_role"] == "lead")


def can_archive(user, inspection):
    """Put a closed inspection out of the home list's way, or bring it back:
    the admins, and its team leader."""
    return can_manage_team(user, inspection) and inspection["state"] == "closed"


def can_see_team_findings(user, inspection):
    """The team leader sees every inspector's findings; an inspector only their own."""
    return inspection is not None and inspection["team_role"] == "lead"


def findings_scope(user, inspection):
    """Whose findings a query returns for this user: None for everyone's, else
    the user's own id."""
    return None if can_see_team_findings(user, inspection) else user["id"]


def edit_finding_refusal(user, inspection):
    """None if the user may record their own finding on this inspection now,
    else why not."""
    if not can_view_inspection(user, inspection):
        return Refusal("not_a_member", "You are not on the team of this inspection.")
    if inspection["state"] not in FINDING_STATES:
        return Refusal("inspection_state", f"The inspection is {STATE_LABELS[inspection['state']].lower()}: "
                                           f"findings can no longer change.")
    return None


def can_edit_finding(user, inspection):
    return edit_finding_refusal(user, inspection) is None


def merge_refusal(user, inspection):
    """None if the user may record the lead's decisions now, else why not.
    Consolidating the team's findings is the team leader's, until the
    inspection goes to the committee (which may amend them itself)."""
    if not can_see_team_findings(user, inspection):
        return Refusal("not_team_leader", "Only the team leader consolidates the team's findings.")
    if inspection["state"] not in DECISION_STATES:
        return Refusal("inspection_state", f"The inspection is in {STATE_LABELS[inspection['state']].lower()}: "
                                           f"decisions can no longer change.")
    return None


def can_merge(user, inspection):
    return merge_refusal(user, inspection) is None


def can_view_arrivals(user, inspection):
    """The arrival board: the team leader, and admins (read only)."""
    return inspection is not None and (user["role"] == "admin" or inspection["team_role"] == "lead")


def can_view_history(user, inspection):
    """An inspection's audit trail in plain words: the team leader, and admins."""
    return inspection is not None and (user["role"] == "admin" or inspection["team_role"] == "lead")


# What an inspector writes for the team alone: their working notes, their
# photos' captions and their come-back-to-this flags (op fields).
PRIVATE_FIELDS = frozenset({"note", "caption", "flag"})


def can_read_private_notes(user, inspection):
    """The text of inspectors' notes and captions, and their flags: the
    inspection's team. Admins (and any role never on a team) see that one
    changed, by whom and when, not what it says."""
    return inspection is not None and inspection["team_role"] is not None


def can_view_report(user, inspection):
    """The report: the team leader, admins (read only), and the accrediting
    body's coordinator once the inspection is with the committee."""
    return can_view_arrivals(user, inspection) or can_read_for_committee(user, inspection)


# --- the lifecycle -----------------------------------------------------------------

# What the lead's button says to move an inspection forward from each state.
# The committee's step is not the lead's: recording the committee's decision
# (the coordinator) moves the inspection on to its corrections.
FORWARD = {"preparing": "Start the visit", "on_site": "Start merging findings",
           "merging": "Send draft citations to site", "factual_accuracy": "Send to committee",
           "corrections": "Close inspection"}
# Irreversible steps: the lead is shown what is still open and asked first.
CONFIRMED = ("merging", "factual_accuracy", "corrections")


def path(inspection):
    """The states this inspection goes through, in order (its body may skip some)."""
    skipped = SKIPPED.get(inspection["body"] if "body" in inspection.keys() else "fact", ())
    return [s for s in STATES if s not in skipped]


def can_move_state(user, inspection):
    """The team leader moves the inspection forward, or back one step with a reason."""
    return can_see_team_findings(user, inspection)


def next_state(inspection):
    """The state the lead's forward button leads to, or None."""
    states, state = path(inspection), inspection["state"]
    if state not in FORWARD or state not in states or state == states[-1]:
        return None
    return states[states.index(state) + 1]


def forward_label(inspection):
    """What the lead's forward button says (an internal audit has no site to send to)."""
    if inspection["state"] == "merging" and next_state(inspection) == "corrections":
        return "Freeze findings and start corrections"
    return FORWARD.get(inspection["state"])


def previous_state(inspection):
    states, state = path(inspection), inspection["state"]
    index = states.index(state) if state in states else 0
    return states[index - 1] if index else None


# --- the committee -------------------------------------------------------------------

def is_coordinator(user):
    """The accrediting body's office: records the committee's decisions. Admins may act as one."""
    return user is not None and user["role"] in ("coordinator", "admin")


def committee_refusal(user, inspection):
    """None if the user may record the committee's decision on this inspection now."""
    if not is_coordinator(user):
        return Refusal("not_coordinator", "Only the accrediting body's coordinator records the committee's decision.")
    if inspection is None or inspection["state"] != "committee":
        return Refusal("inspection_state", "The inspection is not with the committee.")
    return None


def can_read_for_committee(user, inspection):
    """The coordinator reads the report of an inspection from the committee's step on."""
    return (inspection is not None and is_coordinator(user)
            and inspection["state"] in ("committee", "corrections", "closed"))


# --- the site's review, by signed link --------------------------------------------

def can_manage_links(user, inspection):
    """Issuing and revoking the site's review links, and reading its responses: the lead."""
    return can_see_team_findings(user, inspection)


def has_site_review(inspection):
    """An internal audit (the program auditing itself) has no site review of
    its draft: no review link is issued for it."""
    return "factual_accuracy" in path(inspection)


# What the site writes in each state: factual accuracy comments on the draft
# citations (and nothing else: "make no changes until the committee's
# decision"), then its corrections with evidence, round by round.
SITE_STATES = {"factual_accuracy": ("factual_comment", "submitted"),
               "corrections": ("corrective_action", "target_date", "evidence", "submitted")}


# A signed link has a purpose (review_links.purpose): the site's review of
# the draft citations, or the program's self-assessment before the visit.
LINK_PURPOSES = {"site_review": "Site review", "self_assessment": "Self-assessment"}


def _link_refusal(link, inspection, purpose):
    if link is None or inspection is None or link["inspection_id"] != inspection["id"]:
        return Refusal("not_this_inspection", "This link is not for this inspection.")
    if link["purpose"] != purpose:
        return Refusal("wrong_link", f"This link is for the {LINK_PURPOSES[link['purpose']].lower()}, "
                                     f"not for the {LINK_PURPOSES[purpose].lower()}.")
    return None


def respond_refusal(link, inspection, field=None):
    """None if the site, by this link, may write (``field``, or anything) now, else why not."""
    refused = _link_refusal(link, inspection, "site_review")
    if refused:
        return refused
    open_fields = SITE_STATES.get(inspection["state"], ())
    if not open_fields or (field is not None and field not in open_fields):
        what = {"factual_accuracy": "factual accuracy comments only",
                "corrections": "corrections"}.get(inspection["state"])
        return Refusal("inspection_state", f"The site's {what} are open now." if what
                       else "The draft citations are not open for a response now.")
    return None


# What the program writes by its self-assessment link in each state: its
# self-assessment and crosswalk while preparing; answers to requests for
# information (and documents, linked to standards) until the visit ends.
PROGRAM_STATES = {"preparing": ("self_verdict", "self_how", "crosswalk", "rfi_answer", "rfi_document"),
                  "on_site": ("crosswalk", "rfi_answer", "rfi_document")}
# Inspectors raise requests for information before and during the visit.
REQUEST_STATES = ("preparing", "on_site")


def prepare_refusal(link, inspection, field=None):
    """None if the program, by its self-assessment link, may write (``field``, or anything) now."""
    refused = _link_refusal(link, inspection, "self_assessment")
    if refused:
        return refused
    open_fields = PROGRAM_STATES.get(inspection["state"], ())
    if not open_fields or (field is not None and field not in open_fields):
        return Refusal("inspection_state", "The self-assessment is open while the inspection is being prepared; "
                                           "answers to requests for information until the visit ends."
                       if open_fields else "The self-assessment link no longer takes changes: the visit is over.")
    return None


def prepare_view_ok(link, inspection):
    """The program reads its self-assessment by its link from preparing to the end of the visit."""
    return _link_refusal(link, inspection, "self_assessment") is None and inspection["state"] in PROGRAM_STATES


def issue_link_refusal(user, inspection, purpose):
    """None if the user may issue a link of ``purpose`` now: the lead; a
    self-assessment link while the program writes by it (preparing, on site)."""
    if not can_manage_links(user, inspection):
        return Refusal("not_team_leader", "Only the team leader issues links.")
    if purpose not in LINK_PURPOSES:
        return Refusal("unknown_purpose", "There is no such kind of link.")
    if purpose == "site_review" and not has_site_review(inspection):
        return Refusal("no_site_review", "An internal audit has no site review: no review link is issued for it.")
    if purpose == "self_assessment" and inspection["state"] not in PROGRAM_STATES:
        return Refusal("inspection_state", "Self-assessment links are issued while the inspection is being "
                                           "prepared, and on site for requests for information.")
    return None


def request_refusal(user, inspection):
    """None if the user may raise (or close) a request for information now: the team, before and during the visit."""
    if not can_view_inspection(user, inspection):
        return Refusal("not_this_inspection", "Only the inspection's team raises requests for information.")
    if inspection["state"] not in REQUEST_STATES:
        return Refusal("inspection_state", "Requests for information are raised before and during the visit.")
    return None


def can_review_corrections(user, inspection):
    """The team leader, or an inspector the team leader names, marks the site's corrections."""
    return inspection is not None and (inspection["team_role"] == "lead" or (
        inspection["team_role"] == "inspector" and bool(inspection["reviews_corrections"])))


def can_open_review_page(user, inspection):
    """The page of the site's responses: the lead (who also manages its links
    and the lifecycle there) and the inspectors the lead named to review."""
    return can_manage_links(user, inspection) or can_review_corrections(user, inspection)


def review_refusal(user, inspection):
    """None if the user may mark the site's corrections (accepted, more information needed)."""
    if not can_review_corrections(user, inspection):
        return Refusal("not_reviewer", "Only the team leader, or an inspector the team leader names, "
                                       "reviews the site's corrections.")
    if inspection["state"] != "corrections":
        return Refusal("inspection_state", "Corrections are reviewed once the committee has decided.")
    return None


def respond_view_ok(link, inspection):
    """The site may read its draft citations once they are sent to it, and after."""
    return (_link_refusal(link, inspection, "site_review") is None
            and inspection["state"] in ("factual_accuracy", "committee", "corrections", "closed"))


def link_waits(link, inspection):
    """A valid link of an inspection whose draft citations are not sent yet:
    it says so (and opens when they are) instead of looking dead."""
    return (_link_refusal(link, inspection, "site_review") is None
            and STATES.index(inspection["state"]) < STATES.index("factual_accuracy"))


# --- photos ------------------------------------------------------------------------


def can_view_photo(user, uploaded_by_user, attachments):
    """A photo is readable by whoever uploaded it, and, while a finding holds
    it, by that finding's inspector and by whoever sees that inspection's
    team findings. ``attachments`` are the findings holding it, each with
    ``inspector_id`` and the asking user's ``team_role`` on its inspection."""
    return uploaded_by_user or any(
        a["inspector_id"] == user["id"] or can_see_team_findings(user, a) for a in attachments)
