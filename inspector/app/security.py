"""Response headers that hold for every page: no inline script, no framing,
no sniffing, no powerful browser features, HTTPS kept once used, and private
pages kept out of the browser's HTTP cache (the service worker keeps its own
per-user copy of what is taken offline)."""
from flask import g, request

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
# Nothing here uses them. Photos come through a file input (capture=
# "environment"), which needs no camera permission.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb", "serial", "display-capture",
    "midi", "accelerometer", "gyroscope", "magnetometer"))
HSTS = "max-age=31536000"
# Strict-Transport-Security names a host, not a port: sent to localhost it
# would turn every local development server on the machine to https.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def set_headers(response):
    # Which user a page was rendered for: the service worker stores a page
    # only in that user's cache, and learns who is logged in from it.
    if response.mimetype == "text/html":
        user = g.get("user")
        response.headers["X-Inspector-User"] = str(user["id"]) if user else ""
    # A policy for documents; JSON is never rendered as one (nosniff below),
    # so the sync answers do not carry 300 bytes of it each.
    if response.mimetype != "application/json":
        response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    # Served over https (directly, or behind a proxy that says so): browsers
    # never try plain http for this host again.
    if request.is_secure and request.host.rsplit(":", 1)[0] not in LOCAL_HOSTS:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype in ("text/html", "application/json"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.after_request(set_headers)
