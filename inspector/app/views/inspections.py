"""The inspector's pages: their inspections, sections, and standard by standard.

Pages only read. Every edit an inspector makes goes through the device's
outbox and the sync API (sync/api.py), online or not: one write path.
"""
from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from inspector.domain import (access, catalog, cited_last_time, deadlines, findings, inspections, preparation, review,
                              search, team, users)
from inspector.domain.db import get_db
from inspector.app.extensions import htmx
from inspector.domain.findings import FILTER_EMPTY, FILTERS
from inspector.app.views import calendar, found_or_404, inspection_or_404

bp = Blueprint("inspections", __name__)
# Cards on one page of the home list: an office lists hundreds, a tablet
# on a slow line should not fetch them all (300 cards are about 0.5 MB).
PAGE_SIZE = 50


@bp.route("/")
@access.login_required
def home():
    db = get_db()
    filters = _home_filters()
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
    listed = inspections.listed_for(db, g.user, filters["q"], "" if filters["archived"] else filters["stage"],
                                    filters["year"], archived=filters["archived"], limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE)
    ids = [i["id"] for i in listed]
    # Each inspection still under way: its overdue deadlines and the next
    # one, and the corrections waiting for this user's review. A few queries
    # for the whole list, none per card: an office lists hundreds.
    reviewing = [i["id"] for i in listed if i["state"] == "corrections" and access.can_review_corrections(g.user, i)]
    to_review = {i: codes for i, codes in review.unreviewed_many(db, reviewing).items() if codes}
    return render_template("inspections/home.html", inspections=listed, due=deadlines.on_cards(db, listed),
                           today=date.today(), to_review=to_review,
                           calendar_url=calendar.feed_url(users.by_id(db, g.user["id"])),
                           progress=findings.progress_by_inspection(db, g.user, ids),
                           years=inspections.years_for(db, g.user), filters=filters,
                           filtering=any(filters[k] for k in ("q", "stage", "year")), page=page,
                           page_size=PAGE_SIZE, total=listed[0]["listed_total"] if listed else 0,
                           kept={k: filters[k] for k in ("q", "stage", "year") if filters[k]})


def _home_filters(given=None):
    """The home list's filters from the address (or ``given``; unknown values
    ignored): words to search, a stage (or "archived"), a year."""
    given = request.args if given is None else given
    stage, year = given.get("stage", ""), given.get("year", "")
    words = given.get("q", "").encode("utf-8", "ignore").decode("utf-8")  # no lone surrogate reaches SQLite
    return {"q": " ".join(words.split())[:200],
            "stage": stage if stage in access.STATES or stage == "archived" else "",
            "year": year if len(year) == 4 and year.isascii() and year.isdigit() else "",
            "archived": stage == "archived"}


@bp.route("/inspections/<int:inspection_id>/archive", methods=["POST"])
@access.login_required
def archive(inspection_id):
    """Archive a closed inspection (or bring it back), then back to the list as it was filtered."""
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    if not access.can_manage_team(g.user, ins):
        abort(403, description="Only the team leader or an admin archives an inspection.")
    archived = request.form.get("archived") == "1"
    if not access.can_archive(g.user, ins):
        flash(f"{ins['site_name']} is not closed: only a closed inspection is archived.")
    elif bool(ins["archived"]) != archived:
        inspections.set_archived(get_db(), ins, archived, g.user["id"])
        flash(f"{ins['site_name']} {'archived: it is listed under Archived' if archived else 'is back in the list'}.")
    back = _home_filters(request.form)
    return redirect(url_for(".home", **{k: back[k] for k in ("q", "stage", "year") if back[k]}))


@bp.route("/inspections/<int:inspection_id>")
@access.login_required
def inspection(inspection_id):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    sections = findings.section_progress(db, g.user, ins)
    mine = [s for s in sections if s["assigned"]]
    others = [s for s in sections if not s["assigned"]]
    filtering = _filtering()
    only = filtering["only"]
    # My sections when I have some (the work, and what I take offline), else all.
    scope = [s["code"] for s in mine] if mine else None
    # Each of my section rows counts my flagged standards, notes and photos;
    # the data goes with the page (progress.js recounts progress and marks
    # with this device's edits).
    my_standards = findings.my_standards(db, g.user, ins)
    marks = {code: {"flagged": 0, "note": 0, "photos": 0} for code in scope or [s["code"] for s in sections]}
    for section_code, _, _, has_note, _, flagged, _, photos in my_standards.values():
        if section_code in marks:
            marks[section_code]["flagged"] += bool(flagged)
            marks[section_code]["note"] += bool(has_note)
            marks[section_code]["photos"] += bool(photos)
    # Under a filter the page lists standards, not sections: the inspector
    # wants the standards still to assess (or flagged...) and to open one at
    # once, grouped by section to know where they are. Only then: every
    # standard's row is most of the page's time and bytes (5.4 vs 1.8 ms at
    # 6 x 150; 70 vs 19 KB for the demo's inspector1), and offline the
    # filtered addresses are stored as pages of their own.
    groups = []
    if only:
        by_section = {}
        for r in findings.standards_with_my_verdicts(db, g.user, ins, scope):
            by_section.setdefault(r["section_code"], []).append(r)
        groups = [(s, by_section[s["code"]]) for s in (mine or sections) if s["code"] in by_section]
    # The program's documents to store on the tablet, section by section (those taken offline).
    stored = preparation.documents_by_section(db, ins, set(scope) if scope else None)
    section_documents = [(s, stored[s["code"]]) for s in (mine or sections) if s["code"] in stored]
    return render_template("inspections/inspection.html", inspection=ins, mine=mine, others=others,
                           next_due=deadlines.next_due(db, ins), today=date.today(),
                           team=team.members(db, inspection_id),
                           my_standards=my_standards, section_documents=section_documents,
                           groups=groups, marks=marks, **filtering)


@bp.route("/inspections/<int:inspection_id>/sections/<code>")
@access.login_required
def section(inspection_id, code):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    sec = found_or_404(catalog.section(db, ins["catalog_id"], code))
    rows = findings.section_with_my_verdicts(db, g.user, ins, code)
    return render_template("inspections/section.html", inspection=ins, section=sec, standards=rows, **_filtering())


def _filtering():
    """The filters of a list of standards (findings.FILTERS) for its template,
    and the one in the address (None for none, or one we do not know)."""
    only = request.args.get("only")
    return {"filters": FILTERS, "filter_empty": FILTER_EMPTY, "only": only if only in FILTERS else None}


@bp.route("/inspections/<int:inspection_id>/standards/<code>")
@access.login_required
def standard(inspection_id, code):
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    std = found_or_404(catalog.standard(db, ins["catalog_id"], code))
    sec = catalog.section(db, ins["catalog_id"], std["section_code"])
    prev, nxt = catalog.neighbours(db, ins["catalog_id"], std["position"])
    finding = findings.my_finding(db, g.user, inspection_id, code)
    photos = findings.my_photos(db, g.user, inspection_id, code)
    flagged, flag_hlc = findings.my_flag(db, g.user, inspection_id, code)
    # The rule push applies: a page never offers an edit the server would refuse.
    frozen = access.edit_finding_refusal(g.user, ins)
    last_time = cited_last_time.carried(db, ins)
    return render_template("inspections/standard.html", inspection=ins, standard=std, section=sec,
                           prev=prev, next=nxt, finding=finding, photos=photos, last_time=last_time,
                           cited_before=cited_last_time.on_standard(last_time, code),
                           flagged=bool(flagged), flag_hlc=flag_hlc, editable=frozen is None,
                           read_only_why=frozen.reason if frozen else "", **_prepared(db, ins, code))


def _prepared(db, ins, code):
    """What the program prepared on a standard (its self-assessment and
    documents) and the team's requests for information on it, with whether
    this user may raise one now (the rule push applies)."""
    asking = access.request_refusal(g.user, ins)
    return {"self_assessed": preparation.self_assessment(db, ins["id"]).get(code),
            "program_documents": preparation.documents_by_standard(db, ins["id"]).get(code, []),
            "requests": preparation.requests(db, ins["id"], code),
            "may_ask": asking is None, "may_close_any": access.can_see_team_findings(g.user, ins)}


@bp.route("/inspections/<int:inspection_id>/jump")
@access.login_required
def jump(inspection_id):
    """Go to a standard (or a section) by the code typed in the jump box."""
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    code = request.args.get("code", "").strip()
    found = catalog.find_by_typed_code(get_db(), ins["catalog_id"], code) if code else None
    if found is not None:
        return redirect(_entry_url(inspection_id, found))
    # Not a code: words, answered by the search page when any standard holds them.
    if search.rank(code, catalog.search_entries(get_db(), ins["catalog_id"])):
        return redirect(url_for(".find", inspection_id=inspection_id, q=code))
    flash(f"No standard with the code “{code}” in this checklist." if code else "Type a standard's code, e.g. B4.2.")
    return redirect(request.referrer if _same_site(request.referrer) else
                    url_for(".inspection", inspection_id=inspection_id))


@bp.route("/inspections/<int:inspection_id>/search")
@access.login_required
def find(inspection_id):
    """Standards with the typed words in their code, title or text (search.rank):
    a fragment for the jump box's results, else a page of its own."""
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    query = request.args.get("q", "")
    found = search.rank(query, catalog.search_entries(get_db(), ins["catalog_id"]))
    context = dict(inspection=ins, query=query, total=len(found),
                   found=[{"code": e["code"], "title": e["title"], "href": _entry_url(inspection_id, e)}
                          for e in found[:search.LIMIT]])
    if htmx and not htmx.boosted:
        return render_template("inspections/_search_results.html", **context), {"X-Inspector-Fragment": "1"}
    return render_template("inspections/search.html", **context)


def _entry_url(inspection_id, entry):
    """The page of a standard, or of a section (depth 0)."""
    endpoint = ".standard" if entry["depth"] > 0 else ".section"
    return url_for(endpoint, inspection_id=inspection_id, code=entry["code"])


def _same_site(url):
    return bool(url) and url.startswith(request.host_url)
