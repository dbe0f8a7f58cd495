"""The messages the app sends: each rendered from templates/mail/<name>.txt
and .html (plain text, and HTML as its alternative), in the inspection's
words when it has one, and queued in the outbox (inspector/domain/mail.py)
in the caller's transaction; the sender is nudged to go now. A message never
holds a private note, and a link goes only to the person it is for."""
from flask import current_app, render_template

from inspector.app import mailer
from inspector.domain import bodies, mail


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
