"""Static files under content-hashed URLs, and compressed responses.

Pages ask for ``static_url('css/app.css')``, which is
``/static/css/app.css?v=<hash of the file>``: a browser may keep such a file
for a year without asking again (``immutable``), and a new deploy changes the
URL of every file that changed. The service worker's shell lists the same
URLs (views/shell.py). Modules imported by other modules keep their plain
URLs (``import ... from "/static/js/finding.js"``: no build step rewrites
them); they are revalidated, and served from the shell cache offline.
"""
import hashlib
from pathlib import Path

from flask import current_app, request, url_for
from inspector.app.extensions import compress

IMMUTABLE = "public, max-age=31536000, immutable"
STATIC_ENDPOINTS = ("static", "sync.static")
# Text is compressed: pages, fragments, JSON, scripts, styles, the manifest.
COMPRESSED = ["text/html", "text/css", "text/javascript", "application/javascript", "application/json",
              "application/manifest+json", "image/svg+xml", "text/csv", "text/plain"]


def file_hash(endpoint, filename):
    """The first 12 hex digits of the file's SHA-256, computed once per process
    (a deploy restarts the processes)."""
    hashes = current_app.extensions.setdefault("inspector_static_hashes", {})
    key = (endpoint, filename)
    if key not in hashes:
        folder = (current_app.static_folder if endpoint == "static"
                  else current_app.blueprints[endpoint.split(".")[0]].static_folder)
        hashes[key] = hashlib.sha256((Path(folder) / filename).read_bytes()).hexdigest()[:12]
    return hashes[key]


def static_url(filename, endpoint="static"):
    """The versioned URL of a static file: ``/static/<filename>?v=<hash>``."""
    return url_for(endpoint, filename=filename, v=file_hash(endpoint, filename))


def static_headers(response):
    """A static file asked for under its current hash is cached for good; any
    other (an old hash after a deploy, or none) is revalidated each time."""
    if request.endpoint not in STATIC_ENDPOINTS or response.status_code != 200:
        return response
    version = request.args.get("v")
    filename = (request.view_args or {}).get("filename", "")
    try:
        current = version is not None and version == file_hash(request.endpoint, filename)
    except OSError:
        current = False
    response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
    # Read the file into the response so the compressor answers with a length
    # and an ETag of the compressed body (a streamed file gets neither, and a
    # revalidation would then always send the whole file again).
    response.direct_passthrough = False
    response.set_data(response.get_data())
    return response


def init_app(app):
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED)
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress.init_app(app)
    # Registered after the compressor, so it runs before it (Flask calls
    # after_request functions last registered first).
    app.after_request(static_headers)
    app.jinja_env.globals["static_url"] = static_url
