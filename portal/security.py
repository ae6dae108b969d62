"""Security headers on every response.

A strict Content-Security-Policy (scripts and styles only from our own files,
no inline script), framing refused everywhere except the embed page, which may
be framed by exactly its partner's origins. Built as a dict of lists and set in
one response hook, as Warehouse does.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, g, request
from flask_babel import lazy_gettext as _l
from flask_compress import Compress
from werkzeug.routing import RequestRedirect

from portal.errors import PortalError
from portal.i18n import lazy_size

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


def _relative_redirect(resp: Response) -> Response:
    """Werkzeug's routing redirects (`/i//x` to `/i/x`, a missing trailing slash) are absolute
    URLs built from the client's Host header: `Host: evil.example` would send the browser
    there. Ours name the path only, whatever the Host and whether or not TRUSTED_HOSTS is set
    (a relative Location is resolved by the browser against the URL it asked for)."""
    if isinstance(request.routing_exception, RequestRedirect) and "Location" in resp.headers:
        parts = urlsplit(resp.headers["Location"])
        path = "/" + parts.path.lstrip("/")  # never `//host`: that is an absolute URL too
        resp.headers["Location"] = urlunsplit(("", "", path, parts.query, ""))
    return resp


def init_app(app: Flask) -> None:
    """Set the headers on every response, and compress our static assets."""
    app.after_request(_headers)
    app.after_request(_relative_redirect)
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


# -- bounded JSON --------------------------------------------------------------------

MAX_JSON_BYTES = 16 * 1024
MAX_JSON_DEPTH = 8


def json_body(max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The request's JSON body, refused (400/413 with a code) if too deep, too large or broken.

    At most `max_bytes` + 1 bytes are read. Depth is measured by one linear pass before
    parsing: Python's parser recurses, so a body nested 50,000 deep would otherwise end in a
    RecursionError. The outcome (value or refusal) is kept for the request."""
    if "json_body" not in g:
        try:
            g.json_body = _parse(request.stream.read(max_bytes + 1), max_bytes, max_depth)
        except PortalError as refused:
            g.json_body = refused
    if isinstance(g.json_body, PortalError):
        raise g.json_body
    return g.json_body


def _parse(data: bytes, max_bytes: int, max_depth: int) -> Any:
    if _depth(data, max_depth) > max_depth:
        raise PortalError(
            400, "json_too_deep", _l("The JSON is nested deeper than %(depth)s.", depth=max_depth)
        )
    if len(data) > max_bytes:
        raise PortalError(
            413, "body_too_large", _l("Send at most %(size)s of JSON.", size=lazy_size(max_bytes))
        )
    try:
        return json.loads(data)
    except ValueError:
        raise PortalError(400, "json_invalid", _l("The body is not valid JSON.")) from None


def _depth(data: bytes, limit: int) -> int:
    """The deepest nesting of [ and { outside strings, up to limit + 1 (one pass)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest
