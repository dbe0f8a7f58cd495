"""Setting up an inspection: an admin or lead creates it, picks the team and
assigns sections to inspectors."""
import uuid
from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from . import queries
from .auth import role_required
from .db import get_db, transaction

bp = Blueprint("admin", __name__)


@bp.route("/inspections/new", methods=("GET", "POST"))
@role_required("admin", "lead")
def new_inspection():
    db = get_db()
    catalogs = queries.catalogs(db)
    errors = []
    form = request.form
    if request.method == "POST":
        site = form.get("site_name", "").strip()
        starts, ends = form.get("starts_on", ""), form.get("ends_on", "")
        catalog_ids = {str(c["id"]) for c in catalogs}
        if not site:
            errors.append("Give the site's name.")
        if form.get("catalog_id") not in catalog_ids:
            errors.append("Choose a checklist edition.")
        try:
            if date.fromisoformat(ends) < date.fromisoformat(starts):
                errors.append("The last day comes before the first.")
        except ValueError:
            errors.append("Give the first and last day as dates.")
        request_id = form.get("request_id") or None
        if not errors:
            with transaction(db):
                done = queries.inspection_by_request(db, request_id) if request_id else None
                if done:  # the same form sent again: nothing new to create
                    inspection_id = done["id"]
                else:
                    inspection_id = queries.create_inspection(db, site, int(form["catalog_id"]), starts, ends,
                                                              g.user["id"], request_id)
                    if g.user["role"] == "lead":
                        queries.add_member(db, inspection_id, g.user["id"], "lead")
            return redirect(url_for(".team", inspection_id=inspection_id))
    return render_template("admin/new_inspection.html", catalogs=catalogs, errors=errors, form=form,
                           request_id=form.get("request_id") or uuid.uuid4().hex), (400 if errors else 200)


@bp.route("/inspections/<int:inspection_id>/team", methods=("GET", "POST"))
@role_required("admin", "lead")
def team(inspection_id):
    db = get_db()
    ins = queries.inspection_to_manage(db, g.user, inspection_id)
    if ins is None:
        abort(404)
    users = {u["id"]: u for u in queries.all_users(db)}
    sections = queries.sections(db, ins["catalog_id"])
    if request.method == "POST":
        with transaction(db):
            db.conn.execute("DELETE FROM assignments WHERE inspection_id = ?", [inspection_id])
            db.conn.execute("DELETE FROM members WHERE inspection_id = ?", [inspection_id])
            for user_id, user in users.items():
                team_role = request.form.get(f"member-{user_id}", "")
                # Only lead accounts can lead a team: the team leader sees every
                # inspector's findings and manages the team.
                if team_role == "lead" and user["role"] != "lead":
                    team_role = "inspector"
                if team_role in ("lead", "inspector") and user["role"] != "admin":
                    queries.add_member(db, inspection_id, user_id, team_role)
                    for sec in sections:
                        if request.form.get(f"assign-{user_id}-{sec['code']}"):
                            queries.assign_section(db, inspection_id, sec["code"], user_id)
        flash("Team and sections saved.")
        return redirect(url_for(".team", inspection_id=inspection_id))
    members = {m["id"]: m["team_role"] for m in queries.team(db, inspection_id)}
    assigned = queries.assignments(db, inspection_id)
    return render_template("admin/team.html", inspection=ins, users=[u for u in users.values() if u["role"] != "admin"],
                           members=members, sections=sections, assigned=assigned)
