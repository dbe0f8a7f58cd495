"""The app shell for offline use: the service worker, the web manifest, and
what one user takes offline of one inspection: the list of its pages, and
those pages themselves in one compressed bundle (inspector/app/offline.py)."""
import hashlib
import json
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for

from inspector.domain import access, catalog, team

from inspector.app import offline
from inspector.app.assets import static_url
from inspector.domain.db import close_db, get_db
from inspector.app.views import inspection_or_404

bp = Blueprint("shell", __name__)
# sync/ sits beside inspector/, in a checkout and in site-packages alike.
SYNC_STATIC = Path(__file__).resolve().parents[3] / "sync" / "static"
# The folders of the app shell the service worker stores at install:
# everything a cached page needs to run offline, found on disk so a new
# module or vendored file joins the shell without being listed here.
SHELL_DIRS = [("static", "css"), ("static", "js"), ("static", "vendor"), ("static", "icons"), ("sync.static", "")]
SHELL_SUFFIXES = (".css", ".js", ".png", ".svg", ".woff2")


@bp.route("/inspections/<int:inspection_id>/offline-manifest")
@access.login_required
def offline_manifest(inspection_id):
    """Every URL the user may open for this inspection (offline.package)."""
    return jsonify(offline.package(get_db(), g.user, inspection_or_404(inspection_id)))


@bp.route("/inspections/<int:inspection_id>/offline-bundle")
@access.login_required
def offline_bundle(inspection_id):
    """The package and every page and photo of it, as the user would GET
    each, in one compressed answer (see inspector/app/offline.py)."""
    manifest = offline.package(get_db(), g.user, inspection_or_404(inspection_id))
    # Nothing of this request's own database work may stay open while the
    # pages are rendered, each in its own context on this thread's connection.
    close_db()
    entries = [entry for entry in offline.render(request, manifest["pages"] + manifest["photos"])
               if entry[1] == 200]  # anything else is left out: the worker reports it missing
    raw = offline.frame(manifest, entries)
    encoding, body = offline.compress(raw, request.accept_encodings)
    response = current_app.response_class(body, mimetype=offline.MIMETYPE)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    # The worker shows progress against this (the browser hands it the bytes decoded).
    response.headers["X-Inspector-Bundle-Size"] = str(len(raw))
    response.headers["X-Inspector-User"] = str(g.user["id"])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/inspections/<int:inspection_id>/search-index")
@access.login_required
def search_index(inspection_id):
    """The jump box's word search offline (static/js/search.js runs the rule of
    inspector/domain/search.py over it): [code, title, text, page URL] of the sections
    and standards whose pages the user takes offline (see offline_manifest)."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_read_inspection)
    assigned = team.sections_of(db, inspection_id, g.user["id"])
    entries = [[e["code"], e["title"], e["text"],
                url_for("inspections.standard" if e["depth"] > 0 else "inspections.section",
                        inspection_id=inspection_id, code=e["code"])]
               for e in catalog.search_entries(db, ins["catalog_id"], assigned or None)]
    return jsonify(entries=entries)


@bp.route("/sent")
@access.login_required
def sent():
    """Sent from this device: the page is a frame the device fills from its
    own store (static/js/sent.js), so it is the same for every device and
    the service worker serves it offline."""
    return render_template("device/sent.html")


@bp.route("/sw.js")
def service_worker():
    # Browsers ask for the worker on every navigation: build it once per process
    # (a deploy restarts the process, which gives the new version).
    body = current_app.extensions.get("inspector_sw")
    if body is None:
        urls, digest = shell_files()
        body = (SYNC_STATIC / "sw.js").read_text().replace("__VERSION__", digest).replace(
            "__SHELL__", json.dumps(urls)).replace("__JUMP_KEY__", json.dumps(catalog.JUMP_KEY))
        current_app.extensions["inspector_sw"] = body
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def shell_files():
    """Shell URLs and a hash of their contents: the service worker's version."""
    h = hashlib.sha256((SYNC_STATIC / "sw.js").read_bytes())
    urls = []
    for endpoint, folder in SHELL_DIRS:
        root = Path(current_app.static_folder) if endpoint == "static" else SYNC_STATIC
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in SHELL_SUFFIXES and path.name != "sw.js":
                h.update(path.relative_to(root).as_posix().encode())
                h.update(path.read_bytes())
                # The versioned URLs pages ask for (assets.static_url).
                urls.append(static_url(path.relative_to(root).as_posix(), endpoint))
    return urls + [url_for("shell.web_manifest")], h.hexdigest()[:16]


@bp.route("/manifest.webmanifest")
def web_manifest():
    icon = lambda name, size, purpose: {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}-{size}.png"), "sizes": f"{size}x{size}",
        "type": "image/png", "purpose": purpose}
    response = jsonify(id="/", name="inspector: IEC inspections", short_name="inspector", start_url="/",
                       description="Record accreditation inspection findings on a tablet, "
                                   "online or offline, and consolidate them into the report.",
                       display="standalone", background_color="#ffffff", theme_color="#0b5394",
                       icons=[icon("icon", 192, "any"), icon("icon", 512, "any"),
                              icon("icon-maskable", 192, "maskable"), icon("icon-maskable", 512, "maskable")],
                       # Browsers show these in a richer install dialog: a finding on a tablet, the merge screen.
                       screenshots=[
                           {"src": url_for("static", filename="icons/screenshot-narrow.png"), "sizes": "768x1024",
                            "type": "image/png", "form_factor": "narrow", "label": "Recording a finding on a tablet"},
                           {"src": url_for("static", filename="icons/screenshot-wide.png"), "sizes": "1280x800",
                            "type": "image/png", "form_factor": "wide", "label": "The team leader merging findings"}])
    response.mimetype = "application/manifest+json"
    return response
