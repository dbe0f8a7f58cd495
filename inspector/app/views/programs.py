"""Programs: the inspected organisations, each with its facilities and its
inspections over the years. Admins and leads see every program; a team
member the programs of the inspections they are on."""
from flask import Blueprint, abort, g, render_template

from inspector.domain import access, bodies, inspections, programs
from inspector.domain.db import get_db

bp = Blueprint("programs", __name__)


@bp.route("/programs")
@access.capability_required(access.can_list_programs)
def listing():
    return render_template("programs/programs.html", programs=programs.listing(get_db()))


@bp.route("/programs/<int:program_id>")
@access.login_required
def program(program_id):
    """The program's facts, facilities and inspections, newest first; each
    inspection links to its page where the reader may open it."""
    db = get_db()
    found = programs.get(db, program_id)
    if found is None or not access.can_view_program(g.user, programs.on_a_team_of(db, g.user["id"], program_id)):
        abort(404)  # as for an inspection: nobody learns which other programs exist
    held = programs.inspections_of(db, program_id)
    readable = inspections.for_user_many(db, g.user, [i["id"] for i in held])
    return render_template(
        "programs/program.html", program=found, facilities=programs.facilities(db, program_id),
        facility_kinds=programs.FACILITY_KINDS, kinds=programs.INSPECTION_KINDS,
        inspections=[{**i, "body_name": bodies.of(i).name,
                      "outcome_label": bodies.of(i).outcomes.get(i["outcome"], "") if i["outcome"] else "",
                      "readable": access.can_read_inspection(g.user, readable[i["id"]])} for i in held])
