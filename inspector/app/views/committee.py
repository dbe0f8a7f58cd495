"""The committee's decision, recorded by the accrediting body's coordinator
(an admin may act as one): per draft citation Confirmed, Amended (with the
new text) or Withdrawn and the date its correction is due; the date the
committee met and its outcome. Recording it opens the site's corrections."""
from datetime import date, timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from inspector.domain import access, bodies, committee, inspections, review
from inspector.domain.db import get_db, transaction
from inspector.app.views import inspection_or_404

bp = Blueprint("committee", __name__)

# The due date the form proposes: the body's usual time to correct.
DEFAULT_DAYS_TO_CORRECT = 90


@bp.route("/inspections/<int:inspection_id>/committee", methods=("GET", "POST"))
@access.login_required
def decision(inspection_id):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_read_for_committee)
    cited, _ = review.citations(db, ins)
    errors, form = {}, request.form
    if request.method == "POST":
        refusal = access.committee_refusal(g.user, ins)
        if refusal:
            errors["form"] = refusal.reason
        else:
            decided, errors = committee.check(ins, cited, form)
            if form.get("confirm") != "yes":
                errors["confirm"] = "Tick the box to confirm these are the committee's decisions."
            if not errors:
                with transaction(db):
                    fresh = inspections.for_user(db, g.user, inspection_id)
                    if access.committee_refusal(g.user, fresh) is None:
                        committee.record(db, fresh, g.user["id"], decided)
                        flash("The committee's decision is recorded: the site now sees what is due when.")
                        return redirect(url_for(".decision", inspection_id=inspection_id))
                errors["form"] = "The inspection moved on meanwhile: nothing was recorded."
    today = date.today()
    return render_template("committee/decision.html", inspection=ins, citations=cited, errors=errors, form=form,
                           decided=committee.decisions(db, inspection_id), labels=committee.DECISIONS,
                           outcomes=bodies.of(ins).outcomes, editable=access.committee_refusal(g.user, ins) is None,
                           today=today.isoformat(),
                           due_default=(today + timedelta(days=DEFAULT_DAYS_TO_CORRECT)).isoformat()), \
        (400 if errors else 200)
