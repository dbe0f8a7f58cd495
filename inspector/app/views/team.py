"""Setting up an inspection: an admin or lead creates it, picks the team and
assigns sections to inspectors."""
import uuid
from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from inspector.domain import access, bodies, catalog, inspections, team as team_data, users
from inspector.domain.db import get_db, transaction
from inspector.app.views import inspection_or_404

bp = Blueprint("team", __name__)


@bp.route("/inspections/new", methods=("GET", "POST"))
@access.capability_required(access.can_set_up_inspections)
def new_inspection():
    db = get_db()
    editions = catalog.editions(db)
    errors = []
    form = request.form
    if request.method == "POST":
        site = form.get("site_name", "").strip()
        starts, ends = form.get("starts_on", ""), form.get("ends_on", "")
        if not site:
            errors.append("Give the site's name.")
        if form.get("catalog_id") not in {str(c["id"]) for c in editions}:
            errors.append("Choose a checklist edition.")
        body = form.get("body", "")
        scale = bodies.scale_for(body, form.get("scale")) if body in bodies.BODIES else None
        if body not in bodies.BODIES:
            errors.append("Choose the accrediting body: FACT, JACIE or Internal audit.")
        elif scale not in catalog.SCALES:
            errors.append("Choose the verdict scale of the internal audit.")
        try:
            if date.fromisoformat(ends) < date.fromisoformat(starts):
                errors.append("The last day comes before the first.")
        except ValueError:
            errors.append("Give the first and last day as dates.")
        request_id = form.get("request_id") or None
        if not errors:
            with transaction(db):
                done = inspections.by_request(db, request_id) if request_id else None
                if done:  # the same form sent again: nothing new to create
                    inspection_id = done["id"]
                else:
                    inspection_id = inspections.create(db, site, int(form["catalog_id"]), starts, ends,
                                                       g.user["id"], request_id, body=body, scale=scale)
                    if access.can_lead_teams(g.user):
                        team_data.save(db, inspection_id, {g.user["id"]: ("lead", set())}, g.user["id"])
            return redirect(url_for(".team", inspection_id=inspection_id))
    return render_template("team/new_inspection.html", catalogs=editions, errors=errors, form=form,
                           bodies=bodies.BODIES, scale_names=catalog.SCALE_NAMES,
                           earlier_illustrative=catalog.EARLIER_ILLUSTRATIVE_EDITIONS,
                           default_catalog_id=catalog.default_edition_id(editions),
                           request_id=form.get("request_id") or uuid.uuid4().hex), (400 if errors else 200)


@bp.route("/inspections/<int:inspection_id>/team", methods=("GET", "POST"))
@access.capability_required(access.can_set_up_inspections)
def team(inspection_id):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_manage_team)
    candidates = [u for u in users.everyone(db) if access.can_join_teams(u)]
    sections = catalog.sections(db, ins["catalog_id"])
    if request.method == "POST":
        wanted = {}
        for user in candidates:
            team_role = request.form.get(f"member-{user['id']}", "")
            if team_role == "lead" and not access.can_lead_teams(user):
                team_role = "inspector"
            if team_role in ("lead", "inspector"):
                wanted[user["id"]] = (team_role, {s["code"] for s in sections
                                                  if request.form.get(f"assign-{user['id']}-{s['code']}")})
        reviewers = {uid for uid, (team_role, _) in wanted.items()
                     if team_role == "inspector" and request.form.get(f"reviewer-{uid}")}
        with transaction(db):
            team_data.save(db, inspection_id, wanted, g.user["id"])
            team_data.name_reviewers(db, inspection_id, reviewers, g.user["id"])
        flash("Team and sections saved.")
        return redirect(url_for(".team", inspection_id=inspection_id))
    members = team_data.members(db, inspection_id)
    return render_template("team/team.html", inspection=ins, users=candidates,
                           members={m["id"]: m["team_role"] for m in members},
                           reviewers={m["id"] for m in members if m["reviews_corrections"]},
                           sections=sections, assigned=team_data.assignments(db, inspection_id))
