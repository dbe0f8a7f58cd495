"""The inspector's pages: their inspections, sections, and standard by standard.

Pages only read. Every edit an inspector makes goes through the device's
outbox and the sync API (sync/api.py), online or not: one write path.
"""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from . import queries
from .auth import login_required
from .db import get_db

bp = Blueprint("inspections", __name__)


def _inspection_or_404(inspection_id):
    # 404, not 403: an inspector must not learn which other inspections exist.
    inspection = queries.inspection_for(get_db(), g.user, inspection_id)
    if inspection is None:
        abort(404)
    return inspection


@bp.route("/")
@login_required
def home():
    db = get_db()
    return render_template("inspections/home.html", inspections=queries.inspections_for(db, g.user))


@bp.route("/inspections/<int:inspection_id>")
@login_required
def inspection(inspection_id):
    db = get_db()
    ins = _inspection_or_404(inspection_id)
    sections = queries.section_progress(db, g.user, ins)
    mine = [s for s in sections if s["assigned"]]
    others = [s for s in sections if not s["assigned"]]
    return render_template("inspections/inspection.html", inspection=ins, mine=mine, others=others,
                           team=queries.team(db, inspection_id), my_verdicts=queries.my_verdict_stamps(db, g.user, ins))


@bp.route("/inspections/<int:inspection_id>/sections/<code>")
@login_required
def section(inspection_id, code):
    db = get_db()
    ins = _inspection_or_404(inspection_id)
    sec = queries.section(db, ins["catalog_id"], code)
    if sec is None:
        abort(404)
    rows = queries.standards_with_my_findings(db, g.user, ins, code)
    return render_template("inspections/section.html", inspection=ins, section=sec, standards=rows,
                           verdicts=queries.VERDICTS)


@bp.route("/inspections/<int:inspection_id>/standards/<code>")
@login_required
def standard(inspection_id, code):
    db = get_db()
    ins = _inspection_or_404(inspection_id)
    std = queries.standard(db, ins["catalog_id"], code)
    if std is None:
        abort(404)
    sec = queries.section(db, ins["catalog_id"], std["section_code"])
    prev, nxt = queries.neighbours(db, ins["catalog_id"], std["position"])
    finding = queries.my_finding(db, g.user, inspection_id, code)
    photos = queries.my_photos(db, g.user, inspection_id, code)
    return render_template("inspections/standard.html", inspection=ins, standard=std, section=sec,
                           prev=prev, next=nxt, finding=finding, photos=photos, verdicts=queries.VERDICTS)


@bp.route("/inspections/<int:inspection_id>/jump")
@login_required
def jump(inspection_id):
    """Go to a standard (or a section) by the code typed in the jump box."""
    db = get_db()
    ins = _inspection_or_404(inspection_id)
    code = request.args.get("code", "").strip()
    std = queries.standard_by_loose_code(db, ins["catalog_id"], code) if code else None
    if std is not None:
        return redirect(url_for(".standard", inspection_id=inspection_id, code=std["code"]))
    sec = queries.section(db, ins["catalog_id"], "".join(code.split()).upper()) if code else None
    if sec is not None:
        return redirect(url_for(".section", inspection_id=inspection_id, code=sec["code"]))
    flash(f"No standard with the code “{code}” in this checklist." if code else "Type a standard's code, e.g. B4.2.")
    return redirect(request.referrer if _same_site(request.referrer) else
                    url_for(".inspection", inspection_id=inspection_id))


def _same_site(url):
    return bool(url) and url.startswith(request.host_url)
