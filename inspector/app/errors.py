"""Error pages in the app's own layout, saying what happened and what to do,
with a way back. The JSON API (and any request that asks for JSON) gets
JSON in the sync API's shape, ``{"error": code, "message": ...}``: the sync
client reads it and keeps its ops."""
from urllib.parse import urlsplit

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

# code: (title, what happened, what to do, the JSON error's name)
PAGES = {
    400: ("That request could not be handled", "The server could not use what this page sent.",
          "Reload the page and try again. If it keeps happening, log out and in again.", "bad_request"),
    401: ("Please log in", "This page is only for people who are logged in.",
          "Log in, then open the page again. Changes made on this device are kept meanwhile.", "login_required"),
    403: ("You cannot open this page", "Your account is not allowed to see or do this.",
          "If you need it, ask the team leader of the inspection or an administrator.", "forbidden"),
    404: ("Page not found", "There is no page at this address, or it is not one you may see.",
          "Check the address, or start again from your inspections.", "not_found"),
    405: ("That action is not possible here", "This address does not accept what was sent to it.",
          "Go back, reload the page and use its own buttons and links.", "method_not_allowed"),
    413: ("The file is too large", "The upload is larger than the server accepts (16 MB).",
          "Make the file smaller (for a PDF, save it again at a lower resolution) and send it again.",
          "too_large"),
    429: ("Too many attempts", "Too many requests came from here in a short time.",
          "Wait a few minutes, then try again.", "too_many_requests"),
    500: ("Something went wrong on the server", "The server failed to answer this request; it has been logged.",
          "Try again in a minute. If it happens again, tell your administrator what you were doing and when.",
          "server_error"),
}


def wants_json():
    return (request.path.startswith("/sync/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def handle(exc):
    code = exc.code if isinstance(exc, HTTPException) else 500
    title, message, advice, name = PAGES[code]
    # A description given where the error was raised (abort(403, description=...))
    # says more than the general message; Werkzeug's own default does not.
    detail = exc.description if isinstance(exc, HTTPException) and exc.description != type(exc).description \
        else None
    if wants_json():
        response = jsonify(error=name, message=detail or f"{message} {advice}")
    else:
        response = make_response(render_template(
            "errors/error.html", code=code, title=title, message=message, advice=advice, detail=detail,
            back=_back(), site_review=request.blueprint == "review"))
    response.status_code = code
    if isinstance(exc, HTTPException):
        for key, value in exc.get_headers():  # Allow (405), Retry-After (429)
            if key.lower() != "content-type":
                response.headers[key] = value
    return response


def _back():
    """The page the user came from, when it is one of ours and not this one."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host or parts.path == request.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def init_app(app):
    for code in PAGES:
        app.register_error_handler(code, handle)
    app.register_error_handler(InternalServerError, handle)
