"""An inspection taken offline: the list of what one user may open in it, and
that list as one compressed bundle of the pages themselves.

The pages of an inspection are nearly all repetition (head, header, form,
navigation): sent one by one, 108 pages cost 108 requests and about 585 KB;
compressed as one stream, about 22 KB. So the bundle renders every page of
the list through the app itself, as a request of the asking user (same
session cookie, so the same views, access checks, templates and headers as
a page fetched on its own: one source of markup), frames the answers one
after another and compresses the whole stream at once. The service worker
(sync/static/sw.js) unpacks it into its page cache under the same URLs.

The bundle's framing (``application/vnd.inspector.offline-bundle``):

    INSPECTOR-OFFLINE-BUNDLE 1\\n
    <the package as JSON, one line>\\n
    then per entry: <{"url", "status", "headers": [[name, value], ...], "length"} as JSON, one line>\\n
                    <exactly ``length`` bytes of body>

JSON on one line never holds a raw newline, so a reader splits at the first.
"""
import gzip
import json

from flask import current_app, session, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.test import EnvironBuilder, run_wsgi_app

from inspector.domain import access, catalog, findings, team
from inspector.domain.merge import DEFAULT_FILTER as MERGE_DEFAULT, filters as merge_filters

MAGIC = b"INSPECTOR-OFFLINE-BUNDLE 1\n"
MIMETYPE = "application/vnd.inspector.offline-bundle"
# Headers of a page that say something about the connection or the session,
# not the page: the cache entry is made without them.
NOT_STORED_HEADERS = {"content-length", "set-cookie", "vary", "date", "server", "connection",
                      "transfer-encoding", "content-encoding", "keep-alive"}
# The whole stream at once, so the markup repeated on every page is sent
# once. Brotli quality 9 is within 10% of quality 11 on these bundles at a
# thirtieth of the time (the lead's bundle: 58 KB in 0.03 s against 53 KB
# in 1.1 s of a server thread); gzip's 32 KB window still reaches the
# previous pages.
BROTLI_QUALITY, BROTLI_WINDOW = 9, 22
GZIP_LEVEL = 9


def package(db, user, inspection):
    """Every URL ``user`` may open for this inspection, to store for offline
    use: the sections assigned to them (every section if none is) and their
    standards; the lead's merge screen, its filters and the draft report;
    the thumbnails of the photos they may see; and the jump box's map."""
    inspection_id = inspection["id"]
    assigned = team.sections_of(db, inspection_id, user["id"])
    codes = catalog.standards_in_sections(db, inspection["catalog_id"], assigned or None)
    sections = {s: url_for("inspections.section", inspection_id=inspection_id, code=s)
                for s in dict.fromkeys(section for _, section in codes)}
    standards = {c: url_for("inspections.standard", inspection_id=inspection_id, code=c) for c, _ in codes}
    here = url_for("inspections.inspection", inspection_id=inspection_id)
    # The inspection page's filters list standards: each filtered address is a page of its own.
    # The program's documents page too (the documents themselves are stored
    # section by section, on request: sync/static/sw.js storeDocuments).
    pages = [url_for("inspections.home"), url_for("shell.sent"), here, *(f"{here}?only={key}" for key in findings.FILTERS),
             *sections.values(), *standards.values(),
             url_for("program_documents.documents_page", inspection_id=inspection_id)]
    if access.can_see_team_findings(user, inspection):
        # The lead consolidates offline too: the merge screen (its bare
        # address is its default filter, Needs decision), its other filters
        # (All standards included) and the draft report.
        merge = url_for("merge.merge_screen", inspection_id=inspection_id)
        pages += [merge, *(f"{merge}?only={key}" for key in merge_filters(inspection) if key != MERGE_DEFAULT),
                  url_for("reports.draft_report", inspection_id=inspection_id),
                  url_for("merge.arrival_board", inspection_id=inspection_id)]
    # Data the pages read offline: the jump box's word search (static/js/search.js).
    pages.append(url_for("shell.search_index", inspection_id=inspection_id))
    thumbs = [url_for("photos.photo", sha256=sha, size="thumb") for sha in dict.fromkeys(
        p["sha256"] for p in findings.photos_of(db, inspection_id, access.findings_scope(user, inspection)))]
    # The jump box offline: the server's own rule (catalog.jump_key) made the
    # keys, so the service worker only looks up what was typed, keyed the same
    # way, when the jump box's own URL (jump_url) finds no network.
    jump = {catalog.jump_key(code): url for code, url in {**sections, **standards}.items()}
    return {"inspection_id": inspection_id, "user_id": user["id"], "pages": pages, "photos": thumbs,
            "jump": jump, "jump_url": url_for("inspections.jump", inspection_id=inspection_id)}


def render(request, urls):
    """Yield (url, status, headers, body) for each URL, as the app answers a
    GET of it by the user of ``request``: a navigation carrying the same
    session cookie, without compression (the bundle is compressed whole).

    Each runs in an application context of its own (its own ``g``: the user,
    the inspection of the page), exactly as a separate request would."""
    app = current_app._get_current_object()
    cookie = _session_cookie(app)
    root = request.script_root  # url_for's URLs start with it; the builder puts it back from base_url
    for url in urls:
        path, _, query = url.partition("?")
        if root and path.startswith(root):
            path = path[len(root):]
        environ = EnvironBuilder(
            path=path, query_string=query, method="GET", base_url=request.url_root,
            headers={"Cookie": cookie, "Accept": "text/html,*/*", "User-Agent": request.user_agent.string},
            environ_base={"REMOTE_ADDR": request.remote_addr or "127.0.0.1"}).get_environ()
        environ["wsgi.url_scheme"] = request.scheme
        with app.app_context():
            body, status, headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
            try:
                data = b"".join(body)
            finally:
                getattr(body, "close", lambda: None)()
        yield url, int(status.split()[0]), [(k, v) for k, v in headers.items()
                                            if k.lower() not in NOT_STORED_HEADERS], data


def _session_cookie(app):
    """The asker's session as its cookie, after making sure it holds a CSRF
    secret: a page rendered in the bundle signs its forms' token with it,
    and that token must be valid when the page is used from the cache for
    the rest of the session (the bundle's own answer carries the cookie if
    this added the secret)."""
    generate_csrf()
    value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def frame(manifest, entries):
    """The bundle's bytes, uncompressed: the package, then each entry."""
    parts = [MAGIC, json.dumps(manifest, separators=(",", ":")).encode(), b"\n"]
    for url, status, headers, body in entries:
        head = {"url": url, "status": status, "headers": headers, "length": len(body)}
        parts += [json.dumps(head, separators=(",", ":")).encode(), b"\n", body]
    return b"".join(parts)


def unframe(data):
    """(package, [entries]) from a bundle's uncompressed bytes: the reader
    the tests and the benchmark use (the service worker has its own)."""
    if not data.startswith(MAGIC):
        raise ValueError("not an offline bundle")
    at = len(MAGIC)
    end = data.index(b"\n", at)
    manifest, at = json.loads(data[at:end]), end + 1
    entries = []
    while at < len(data):
        end = data.index(b"\n", at)
        head = json.loads(data[at:end])
        body = data[end + 1:end + 1 + head["length"]]
        if len(body) != head["length"]:
            raise ValueError(f"the bundle ends inside {head['url']}")
        entries.append({**head, "body": body})
        at = end + 1 + head["length"]
    return manifest, entries


def compress(data, accept_encodings):
    """(encoding, bytes): brotli if the client takes it and the library is
    there, else gzip at level 9, else the bytes as they are."""
    if accept_encodings["br"]:
        try:
            import brotli
        except ImportError:
            pass
        else:
            return "br", brotli.compress(data, quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW)
    if accept_encodings["gzip"]:
        return "gzip", gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return None, data
