"""The team leader's pages: the arrival board (has everyone's work come in?)
and the merge screen, where the lead settles each standard.

The merge screen only reads, like every page: the lead's decisions are ops
sent through the device's outbox (static/js/merge.js), so consolidating
works offline on the last evening on site.
"""
from flask import Blueprint, abort, g, render_template, request, url_for

from inspector.domain import access, arrivals, catalog, cited_last_time, merge
from inspector.domain.db import get_db
from inspector.app.extensions import htmx
from inspector.app.views import inspection_or_404

bp = Blueprint("merge", __name__)


@bp.route("/inspections/<int:inspection_id>/merge")
@access.login_required
def merge_screen(inspection_id):
    """The inspectors' findings side by side, standard by standard: what
    needs deciding unless the address asks for another filter (`?only=all`
    for every standard). Filters are plain links; an htmx request for the
    list gets only the list back."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_see_team_findings)
    only = request.args.get("only") or merge.DEFAULT_FILTER
    section = request.args.get("section") or None
    filters = merge.filters(ins)
    if only not in filters or (section and catalog.section(db, ins["catalog_id"], section) is None):
        abort(404)
    cited_before = cited_last_time.codes(cited_last_time.carried(db, ins))
    # One board of the whole inspection: the counts are of all of it.
    everything = merge.board(db, ins, cited_before=cited_before)
    rows = merge.select(everything, only, section)
    context = dict(inspection=ins, rows=rows, only=only, section=section, filters=filters,
                   states=merge.STATES, sections=catalog.sections(db, ins["catalog_id"]),
                   counts=merge.counts(everything), to_decide=len(merge.select(everything, "needs_decision")),
                   default_filter=merge.DEFAULT_FILTER, changes=merge.what_changed(db, ins["id"], rows),
                   editable=access.can_merge(g.user, ins))
    if htmx and not htmx.boosted and htmx.target == "merge-list":
        # Marked, so the service worker never stores it in place of the whole page.
        return render_template("merge/_list.html", **context), {"X-Inspector-Fragment": "1"}
    return render_template("merge/merge.html", **context)


def filter_url(inspection_id, only=None, section=None):
    """The merge screen's address under a filter: the default filter is the bare address."""
    args = {k: v for k, v in (("only", only), ("section", section)) if v and v != merge.DEFAULT_FILTER}
    return url_for("merge.merge_screen", inspection_id=inspection_id, **args)


@bp.app_template_global()
def merge_filter_url(inspection_id, only=None, section=None):
    return filter_url(inspection_id, only, section)


@bp.route("/inspections/<int:inspection_id>/arrivals")
@access.login_required
def arrival_board(inspection_id):
    """Per inspector and section: assessed / assigned, not-compliant counts,
    and when each of their devices last synced."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_view_arrivals)
    return render_template("merge/arrivals.html", inspection=ins, board=arrivals.board(db, ins))
