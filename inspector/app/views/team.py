"""Setting up an inspection: an admin or lead creates it, picks the team and
assigns sections to inspectors."""
import uuid
from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from inspector.domain import access, bodies, catalog, inspections, programs, team as team_data, users
from inspector.domain.db import get_db, transaction
from inspector.app.views import inspection_or_404

bp = Blueprint("team", __name__)


# Empty rows for the facilities of a new program: a program may have several
# clinical units, and the form adds none by script.
FACILITY_ROWS = {"clinical": 3, "collection": 1, "processing": 1}


@bp.route("/inspections/new", methods=("GET", "POST"))
@access.capability_required(access.can_set_up_inspections)
def new_inspection():
    db = get_db()
    editions = catalog.editions(db)
    every_program = programs.every(db)
    errors = {}  # form field -> what is wrong there, shown beside it
    form = request.form
    request_id = form.get("request_id") or None
    done = inspections.by_request(db, request_id) if request_id and request.method == "POST" else None
    if done:  # the same form sent again (a double tap, a resend): nothing new to create
        return redirect(url_for(".team", inspection_id=done["id"]))
    if request.method == "POST":
        program, new_program = _program_of(db, form, errors)
        starts, ends = form.get("starts_on", ""), form.get("ends_on", "")
        if form.get("catalog_id") not in {str(c["id"]) for c in editions}:
            errors["catalog_id"] = "Choose a checklist edition."
        body, kind = form.get("body", ""), form.get("kind", "")
        scale = bodies.scale_for(body, form.get("scale")) if body in bodies.BODIES else None
        if body not in bodies.BODIES:
            errors["body"] = "Choose the accrediting body: FACT, JACIE or Internal audit."
        elif scale not in catalog.SCALES:
            errors["scale"] = "Choose the verdict scale of the internal audit."
        if kind not in programs.INSPECTION_KINDS:
            errors["kind"] = "Choose the inspection type."
        elif body in bodies.BODIES and programs.kind_refusal(kind, body):
            errors["kind"] = programs.kind_refusal(kind, body)
        try:
            if date.fromisoformat(ends) < date.fromisoformat(starts):
                errors["ends_on"] = "The last day comes before the first."
        except ValueError:
            errors["starts_on"] = "Give the first and last day as dates."
        if not errors:
            with transaction(db):
                done = inspections.by_request(db, request_id) if request_id else None
                if done:  # sent twice at the same moment
                    inspection_id = done["id"]
                else:
                    program = program or programs.get(db, programs.create(db, by=g.user["id"], **new_program))
                    inspection_id = inspections.create(
                        db, program["name"], int(form["catalog_id"]), starts, ends, g.user["id"], request_id,
                        body=body, scale=scale, program_id=program["id"], kind=kind,
                        state=inspections.first_state(starts))
                    if access.can_lead_teams(g.user):
                        team_data.save(db, inspection_id, {g.user["id"]: ("lead", set())}, g.user["id"])
            return redirect(url_for(".team", inspection_id=inspection_id))
    return render_template("team/new_inspection.html", catalogs=editions, errors=errors, form=form,
                           bodies=bodies.BODIES, scale_names=catalog.SCALE_NAMES, programs=every_program,
                           kinds=programs.INSPECTION_KINDS, facility_kinds=programs.FACILITY_KINDS,
                           facility_rows=FACILITY_ROWS,
                           earlier_illustrative=catalog.EARLIER_ILLUSTRATIVE_EDITIONS,
                           default_catalog_id=catalog.default_edition_id(editions),
                           request_id=form.get("request_id") or uuid.uuid4().hex), (400 if errors else 200)


def _program_of(db, form, errors):
    """(the program chosen in the list, or None; the facts of the new program
    to create, or None), with what is wrong put in ``errors``."""
    chosen = form.get("program_id", "new")
    if chosen != "new":
        program = programs.get(db, int(chosen)) if chosen.isdigit() else None
        if program is None:
            errors["program_id"] = "Choose a program from the list, or a new program."
        return program, None
    name = form.get("program_name", "").strip()
    if not name:
        errors["program_name"] = "Give the program's name."
    elif programs.by_name(db, name):
        errors["program_name"] = f"There is a program named {name} already: choose it in the list."
    facilities = [(kind, n.strip()) for kind in programs.FACILITY_KINDS for n in form.getlist(f"facility-{kind}")
                  if n.strip()]
    return None, {"name": name, "city": form.get("city", "").strip(), "country": form.get("country", "").strip(),
                  "facilities": facilities}


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
