"""The admins' checklists: the editions held, and importing one from the
browser (a preview of the file, every problem with its line, then all or
nothing). The CLI's `inspector catalog import` does the same from a terminal.

The forms are plain (not boosted): htmx swaps no 400 answer, and a refused
file's problems are in one.
"""
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from inspector.domain import access, catalog, checklist_uploads
from inspector.domain.db import get_db

bp = Blueprint("checklists", __name__)

FORMATS = (".csv", ".json")
EDITION_MAX = 200  # characters of an edition's name: it heads every report


@bp.route("/checklists")
@access.capability_required(access.can_manage_checklists)
def listing():
    return render_template("checklists/checklists.html", editions=catalog.editions(get_db()),
                           scale_names=catalog.SCALE_NAMES)


@bp.route("/checklists/import", methods=["GET", "POST"])
@access.capability_required(access.can_manage_checklists)
def upload():
    """The file, its edition name and scale; posted, the preview (or every problem)."""
    form, errors = request.form, {}
    if request.method == "GET":
        return _page(form, errors)
    _check_edition(get_db(), form, errors)
    raw, filename = _uploaded(request.files.get("file"), errors)
    if raw is None:
        return _page(form, errors)
    try:
        rows = catalog.parse(raw, json_format=filename.lower().endswith(".json"), name=filename)
    except catalog.CatalogError as exc:
        errors["file"] = (f"Nothing was stored: the file has {len(exc.problems)} problem"
                          f"{'' if len(exc.problems) == 1 else 's'}. Fix {'it' if len(exc.problems) == 1 else 'them'}"
                          f" and choose the file again.")
        return _page(form, errors, problems=exc.problems)
    digest = checklist_uploads.keep(current_app.config["DATA_DIR"], raw)
    return _page(form, errors, preview=catalog.summary(rows), upload=digest, filename=filename,
                 illustrative=catalog.is_illustrative(raw, form.get("edition", "")))


@bp.route("/checklists/import/confirm", methods=["POST"])
@access.capability_required(access.can_manage_checklists)
def confirm():
    """Import the previewed file (read again by its hash, checked again) as the named edition."""
    db, form, errors = get_db(), request.form, {}
    digest, filename = form.get("upload", ""), _file_name(form.get("filename", ""))
    raw = checklist_uploads.read(current_app.config["DATA_DIR"], digest)
    if raw is None or not filename.lower().endswith(FORMATS):
        errors["file"] = "The previewed file is no longer on the server (it is kept a day): choose it again."
        return _page(form, errors)
    try:
        rows = catalog.parse(raw, json_format=filename.lower().endswith(".json"), name=filename)
    except catalog.CatalogError as exc:  # not what was previewed (a rule changed in between): as a refused file
        errors["file"] = "Nothing was stored: the file has problems. Fix them and choose the file again."
        return _page(form, errors, problems=exc.problems)
    edition = _check_edition(db, form, errors)
    illustrative = catalog.is_illustrative(raw, edition)
    preview = dict(preview=catalog.summary(rows), upload=digest, filename=filename, illustrative=illustrative)
    if errors:
        return _page(form, errors, **preview)
    try:
        catalog.import_rows(db, rows, edition, source=filename, illustrative=illustrative, scale=form["scale"],
                            by=g.user["id"], device="web")
    except catalog.CatalogError as exc:  # the name was taken a moment ago, by another admin
        errors["edition"] = str(exc)
        return _page(form, errors, **preview)
    checklist_uploads.discard(current_app.config["DATA_DIR"], digest)
    count = catalog.summary(rows)["standards"]
    flash(f"Imported {count} standard{'' if count == 1 else 's'} as the edition “{edition}”"
          f"{' (illustrative)' if illustrative else ''}.")
    return redirect(url_for(".listing"))


def _page(form, errors, problems=(), preview=None, upload=None, filename=None, illustrative=False):
    return render_template("checklists/import.html", form=form, errors=errors, problems=problems, preview=preview,
                           upload=upload, filename=filename, illustrative=illustrative,
                           scale_names=catalog.SCALE_NAMES, max_kb=current_app.config["CHECKLIST_MAX_BYTES"] // 1024,
                           ), 400 if errors else 200


def _check_edition(db, form, errors):
    """The edition's name as typed (stripped), its problems and the scale's put in ``errors``."""
    edition = form.get("edition", "").strip()
    if not edition:
        errors["edition"] = "Give the edition a name, e.g. “FACT-JACIE 8th edition”."
    elif len(edition) > EDITION_MAX:
        errors["edition"] = f"At most {EDITION_MAX} characters."
    elif not all(c.isprintable() for c in edition):
        errors["edition"] = "The name may not hold control characters."
    elif catalog.edition_by_name(db, edition):
        errors["edition"] = f"An edition named “{edition}” is already imported: give this one another name."
    if form.get("scale") not in catalog.SCALES:
        errors["scale"] = "Choose the default verdict scale: FACT's or JACIE's."
    return edition


def _uploaded(file, errors):
    """(bytes, file name) of the chosen file, or (None, None) with why in ``errors``."""
    if file is None or not file.filename:
        errors["file"] = "Choose the checklist's file (CSV or JSON)."
        return None, None
    filename = _file_name(file.filename)
    if not filename.lower().endswith(FORMATS):
        errors["file"] = (f"“{filename}” is not a CSV or JSON file: export the checklist as .csv "
                          f"(code,parent,title,text,guidance,roles) or .json.")
        return None, None
    limit = current_app.config["CHECKLIST_MAX_BYTES"]
    raw = file.stream.read(limit + 1)  # no more than one byte past the limit is read
    if len(raw) > limit:
        errors["file"] = (f"The file is larger than {limit // 1024} KB: a checklist is far smaller. "
                          f"Is it the right file?")
        return None, None
    return raw, filename


def _file_name(name):
    """The last part of a file's name as the browser sent it, printable, as the edition's source."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name  # some browsers send the whole path
    name = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable())
    return name[-120:]
