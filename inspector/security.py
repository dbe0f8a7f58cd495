"""Response headers that hold for every page: no inline script, no framing,
no sniffing, and private pages kept out of the browser's HTTP cache (the
service worker keeps its own per-user copy of what is taken offline)."""
from flask import g

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def set_headers(response):
    # Which user a page was rendered for: the service worker stores a page
    # only in that user's cache, and learns who is logged in from it.
    if response.mimetype == "text/html":
        user = g.get("user")
        response.headers["X-Inspector-User"] = str(user["id"]) if user else ""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype in ("text/html", "application/json"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.after_request(set_headers)
