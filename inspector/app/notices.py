"""The messages the app sends: each rendered from templates/mail/<name>.txt
and .html (plain text, and HTML as its alternative), in the inspection's
words when it has one, and queued in the outbox (inspector/domain/mail.py)
in the caller's transaction; the sender is nudged to go now. A message never
holds a private note, and a link goes only to the person it is for."""
from flask import current_app, render_template, url_for

from inspector.app import mailer
from inspector.domain import bodies, deadlines, inspections, mail, password_links, review, team, users
from inspector.domain.db import joined_transaction


def send(db, name, to_addr, subject, *, inspection=None, dedupe=None, **context):
    """Queue the message ``name`` for ``to_addr`` (no address: nothing, None);
    its outbox id, or None when ``dedupe`` says it was queued before."""
    if not to_addr or "@" not in to_addr:
        return None
    context.update(inspection=inspection, words=bodies.words(inspection))
    message_id = mail.queue(db, to_addr, subject, render_template(f"mail/{name}.txt", **context),
                            render_template(f"mail/{name}.html", **context), kind=name,
                            inspection_id=inspection["id"] if inspection else None, dedupe=dedupe)
    if message_id:
        mailer.nudge(current_app)
    return message_id


# --- what is sent, and to whom ----------------------------------------------------------

LINK_SUBJECTS = {"site_review": "{site}: the inspection team's draft {citations}",
                 "self_assessment": "{site}: your self-assessment before the inspection"}


def link_issued(db, inspection, link, url):
    """The link, to the one person it is for (and to no one else)."""
    subject = LINK_SUBJECTS[link["purpose"]].format(site=inspection["site_name"], **bodies.words(inspection))
    return send(db, f"link_{link['purpose']}", link["email"], subject, inspection=inspection, link=link, url=url)


def leads_of(db, inspection_id):
    return [m for m in team.members(db, inspection_id) if m["team_role"] == "lead"]


def site_submitted(db, inspection, codes, comments):
    """The site has sent its factual accuracy comments (``comments``) or its
    corrections: the team leader is told which citations, never their text."""
    words = bodies.words(inspection)
    what = "factual accuracy comments" if comments else "corrections"
    subject = f"{inspection['site_name']}: the {words['program']} sent its {what}"
    return [send(db, "site_submitted", lead["email"], subject, inspection=inspection, lead=lead, codes=codes,
                 what=what) for lead in leads_of(db, inspection["id"])]


def more_information(db, inspection, code, url_of):
    """The lead asked for more information on ``code``: each live site link's
    person, with their own link (``url_of(link)``)."""
    subject = f"{inspection['site_name']}: more information needed on {code}"
    return [send(db, "more_information", link["email"], subject, inspection=inspection, code=code,
                 url=url_of(link))
            for link in review.live_links(db, inspection["id"])]


REMIND_DAYS = (3, 0)  # three days before a deadline, and on the day


def remind_deadlines(db, today):
    """Everyone who owes a deadline due in 3 days or today, once each (the
    outbox's dedupe key names the deadline, the day and the person)."""
    queued = []
    for ins in inspections.under_way(db):
        for deadline in deadlines.of(db, ins):
            days = (deadline.due - today).days
            if days not in REMIND_DAYS:
                continue
            for who, address in _owing(db, ins, deadline.owed_by):
                key = f"deadline/{ins['id']}/{deadline.owed_by}/{deadline.code or deadline.what}/" \
                      f"{deadline.due.isoformat()}/{days}/{address}"
                subject = (f"{ins['site_name']}: {deadline.what} due "
                           f"{'today' if days == 0 else 'in ' + str(days) + ' days'}")
                queued.append(send(db, "deadline", address, subject, inspection=ins, deadline=deadline,
                                   days=days, who=who, dedupe=key))
    return [q for q in queued if q]


def _owing(db, inspection, owed_by):
    """(name, address) of those who owe a deadline: the team's inspectors or
    leads, the site's live review links, or the body's coordinators."""
    if owed_by in ("inspectors", "lead"):
        role = "inspector" if owed_by == "inspectors" else "lead"
        return [(m["display_name"], m["email"]) for m in team.members(db, inspection["id"])
                if m["team_role"] == role and m["email"]]
    if owed_by == "site":
        return [(link["issued_to"], link["email"]) for link in review.live_links(db, inspection["id"])]
    return [(u["display_name"], u["email"]) for u in users.everyone(db)
            if u["role"] == "coordinator" and u["email"] and not u["disabled_at"]]


# The two password mails: a new user's first password, and a reset.
PASSWORD_MAILS = {"set_password": "Set your password for inspector",
                  "reset_password": "Reset your password for inspector"}


def password_link(db, user, purpose, by=None, device="web"):
    """Issue a set-password or reset link for ``user`` and mail it to their
    own address, in one transaction: a link is never issued without its
    mail, nor mailed without being issued. The outbox id, or None for a
    user with no address (nothing issued). The token is in the mail only."""
    if not user["email"]:
        return None
    with joined_transaction(db):
        token = password_links.issue(db, user, purpose, by=by, device=device)
        link = url_for("account.choose_password", token=token, _external=True)
        return send(db, purpose, user["email"], PASSWORD_MAILS[purpose], user=user, link=link,
                    hours=int(password_links.LIFETIME.total_seconds() // 3600))
