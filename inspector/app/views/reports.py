"""The draft report, for the team leader (admins read it too): as a page
with a print stylesheet, and as PDF, CSV and XLSX downloads."""
import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request

from inspector.domain import access, audit, photos, reports, review
from inspector.domain.db import get_db
from inspector.app.views import inspection_or_404

bp = Blueprint("reports", __name__)


def _report_inspection(inspection_id):
    return inspection_or_404(inspection_id, access.can_view_report)


@bp.route("/inspections/<int:inspection_id>/report")
@access.login_required
def draft_report(inspection_id):
    ins = _report_inspection(inspection_id)
    report = reports.draft(get_db(), ins)
    return render_template("reports/report.html", inspection=ins, report=report, audit_head=_head_after(),
                           taken_at=now())


def now():
    """When the page is made: the copy stored for offline use is this moment's (its stamp says so)."""
    return datetime.now(timezone.utc)


@bp.route("/inspections/<int:inspection_id>/report.pdf")
@access.login_required
def report_pdf(inspection_id):
    """The same page rendered to PDF on the server (WeasyPrint): images and
    styles are read from this server's own files, never fetched."""
    from PIL import ImageFile
    from weasyprint import HTML
    # Importing WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES for the
    # whole process, after which photos.clean would accept a truncated upload;
    # the report draws only photos already checked, so it needs no such leniency.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    ins = _report_inspection(inspection_id)
    report = reports.draft(get_db(), ins)
    html = render_template("reports/report_pdf.html", inspection=ins, report=report, audit_head=_head_after())
    pdf = HTML(string=html, base_url=request.host_url, url_fetcher=_local_fetcher(ins)).write_pdf()
    return _download(pdf, "application/pdf", ins, "pdf")


@bp.route("/inspections/<int:inspection_id>/report.csv")
@access.login_required
def report_csv(inspection_id):
    ins = _report_inspection(inspection_id)
    header, rows = reports.table(get_db(), ins)
    return _download(reports.as_csv(header, rows, reports.mark(ins)).encode("utf-8"), "text/csv", ins, "csv")


@bp.route("/inspections/<int:inspection_id>/report.xlsx")
@access.login_required
def report_xlsx(inspection_id):
    ins = _report_inspection(inspection_id)
    header, rows = reports.table(get_db(), ins)
    marked = f" ({reports.mark(ins)})" if reports.mark(ins) else ""
    body = reports.as_xlsx(header, rows, f"{reports.reference(ins)}: {ins['site_name']}{marked}")
    return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ins, "xlsx")


def _head_after():
    # Read after the report's content, so the head covers every write the
    # report shows: `inspector audit verify --head` then proves that history.
    return audit.head(get_db())


def _download(body, mimetype, inspection, suffix):
    name = re.sub(r"[^A-Za-z0-9]+", "-", inspection["site_name"]).strip("-")[:60] or "inspection"
    response = Response(body, mimetype=mimetype)
    kind = "draft-report" if inspection["state"] not in reports.DECIDED_STATES else "inspection-report"
    response.headers["Content-Disposition"] = f'attachment; filename="{kind}-{name}.{suffix}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _local_fetcher(inspection):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    static = Path(current_app.static_folder)
    data_dir = current_app.config["DATA_DIR"]
    released = review.photos_shown(get_db(), inspection)

    class Fetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            path = parts.path
            if path.startswith("/static/"):
                target = (static / path.removeprefix("/static/")).resolve()
                if static.resolve() in target.parents and target.is_file():
                    kind = "text/css" if target.suffix == ".css" else "image/png"
                    return URLFetcherResponse(url, body=target.read_bytes(), headers={"Content-Type": kind})
            match = re.fullmatch(r"/photos/([0-9a-f]{64})", path)
            if match and match.group(1) in released:  # only photos the report shows
                blob = photos.blob_path(data_dir, match.group(1), thumb="size=thumb" in parts.query)
                if blob.is_file():
                    return URLFetcherResponse(url, body=blob.read_bytes(), headers={"Content-Type": "image/jpeg"})
            raise ValueError(f"not a file of this report: {path}")

    return Fetcher()
