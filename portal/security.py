"""Security headers on every response.

A strict Content-Security-Policy (scripts and styles only from our own files,
no inline script), framing refused everywhere except the embed page, which may
be framed by exactly its partner's origins. Built as a dict of lists and set in
one response hook, as Warehouse does.
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_compress import Compress

SELF, NONE = "'self'", "'none'"

BASE_CSP: dict[str, list[str]] = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [NONE],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
PERMISSIONS_POLICY = (
    # Only features Chromium knows (unknown ones log a console error on every page).
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), "
    "display-capture=(), fullscreen=(self)"
)


def csp(frame_ancestors: list[str] | None = None) -> str:
    """Serialize the policy; `frame_ancestors` replaces 'none' (an empty list keeps 'none')."""
    policy = dict(BASE_CSP)
    if frame_ancestors:
        policy["frame-ancestors"] = list(frame_ancestors)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


def _headers(resp: Response) -> Response:
    h = resp.headers
    framing = g.get("frame_ancestors")
    if "Content-Security-Policy" not in h:  # downloads set their own sandbox policy
        h["Content-Security-Policy"] = csp(framing)
    if not framing:
        h["X-Frame-Options"] = "DENY"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"  # not no-referrer: CSRF's referrer check needs it on HTTPS
    h["Permissions-Policy"] = PERMISSIONS_POLICY
    h["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.is_secure:
        h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.path.startswith(("/api/", "/download/")) or resp.mimetype == "text/html":
        h["Cache-Control"] = "no-store"
    h.pop("Server", None)
    return resp


def init_app(app: Flask) -> None:
    """Set the headers on every response, and compress our static assets."""
    app.after_request(_headers)
    # Only CSS and JS: compressing HTML or JSON that holds a CSRF or session token next to
    # reflected input (a search term) would open the door to BREACH-style attacks.
    app.config.setdefault(
        "COMPRESS_MIMETYPES", ["text/css", "text/javascript", "application/javascript"]
    )
    Compress(app)
    # Registered after Compress, so it runs before it: our static files are small, and a
    # buffered response can be gzipped (Flask-Compress only streams zstd, br and deflate).
    app.after_request(_buffer_static)


def _buffer_static(resp: Response) -> Response:
    if request.endpoint == "static" and resp.status_code == 200:
        resp.direct_passthrough = False
        resp.make_sequence()
    return resp
