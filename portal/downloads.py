"""Downloads: find the attachment in a fresh listing, open it upstream, check it, and send it.

The portal decides who may download (the signed link) and what the browser is told (the
headers). It opens the file host itself (allowlisted hosts at every redirect hop), reads the first
bytes and checks them against the type the listing gave: an HTML error page where a PDF
was listed is a clear 502 `download_failed`, before a byte goes out. Then either:

- behind the shipped nginx (PORTAL_ACCEL_REDIRECT=true): it answers with X-Accel-Redirect
  to nginx's internal location and the file's URL in X-Portal-Upstream; nginx fetches and
  sends the body. Never when the file host needed the API key (nginx never holds it).
- otherwise it streams the body itself, straight from the socket (one copy per byte).

Either way a body shorter than its Content-Length is cut, not finished: the browser sees a
failed download, and the log says why. A flag, not a header sniffed from the request,
chooses the first path: a client could send any header, but not change our configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import requests
from flask import Response, current_app, stream_with_context
from flask_babel import lazy_gettext as _l
from urllib3.exceptions import HTTPError as Urllib3Error

from portal import metrics
from portal.attachments import fetch
from portal.errors import PortalError
from portal.kombo_app import get_kombo
from portal.names import disposition
from portal.numbers import parse_count

log = logging.getLogger(__name__)

# Types we let a browser receive as themselves; anything else is sent as octet-stream.
SAFE_DOWNLOAD_TYPES = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/rtf",
    "text/plain",
    "image/png",
    "image/jpeg",
}
# What the first bytes of a file of each listed type start with (where the format says so).
_ZIP = (b"PK\x03\x04",)
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/zip": _ZIP,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _ZIP,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _ZIP,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _ZIP,
    "application/vnd.oasis.opendocument.text": _ZIP,
    "application/msword": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "application/rtf": (b"{\\rtf",),
}
# Readers tolerate junk before a PDF header (see filetype.py); so do we, this far in.
PDF_SLACK = 1024
CHUNK = 1024 * 1024  # fewer, larger writes
HEAD = 8 * 1024  # enough to recognise any of the above, and an HTML page


class DownloadCut(Exception):
    """The file host's body ended before its Content-Length: the response must not finish."""


def open_download(
    integration_id: str,
    candidate_id: str,
    attachment_id: str,
    only_application: str | None = None,
) -> tuple[dict[str, Any], Any]:
    """Find the attachment in a fresh listing (never trust a URL from the client) and open it.

    `only_application`: a locked session's link opens that application's files and the
    candidate profile's, never another application's."""
    items, _ = fetch(integration_id, candidate_id)
    found = next((a for a in items if a.get("id") == attachment_id), None)
    if found is not None and only_application is not None:
        found = found if found.get("application_id") in (None, only_application) else None
    if found is None or not isinstance(found.get("data_url"), str):
        raise PortalError(404, "not_found", _l("That attachment is no longer in the ATS."))
    return found, get_kombo().open_download(found["data_url"])


def listed_type(attachment: dict[str, Any]) -> str:
    """The content type the listing gave, bare and lower-case."""
    return str(attachment.get("content_type") or "").split(";")[0].strip().lower()


def download_headers(attachment: dict[str, Any], upstream_length: str | None) -> dict[str, str]:
    """Headers that make the browser save the file, never render it."""
    content_type = listed_type(attachment)
    headers = {
        "Content-Type": content_type
        if content_type in SAFE_DOWNLOAD_TYPES
        else "application/octet-stream",
        "Content-Disposition": disposition(str(attachment.get("file_name") or "attachment")),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "no-store",
    }
    length = parse_count(upstream_length)
    if length is not None:
        headers["Content-Length"] = str(length)
    return headers


def looks_like(listed: str, head: bytes) -> bool:
    """Whether the first bytes can be a file of the listed type (False: it is something else)."""
    start = head.lstrip()[:512].lower()
    html = start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))
    if html and listed not in ("text/html", "application/xhtml+xml"):
        return False  # an error page or a login page, not the file
    if listed == "application/pdf":
        return b"%PDF-" in head[: PDF_SLACK + 5]
    expected = SIGNATURES.get(listed)
    return expected is None or not head or head.startswith(expected)


def _read_head(raw: Any) -> bytes:
    """Up to HEAD bytes from the start of the body (less only at its end)."""
    head = b""
    while len(head) < HEAD:
        piece = raw.read(HEAD - len(head), decode_content=True)
        if not piece:
            break
        head += piece
    return head


def _refuse(meta: dict[str, Any], why: str) -> PortalError:
    metrics.count(metrics.DOWNLOADS, "refused_mismatch")
    log.warning(
        "download refused: %s (attachment %s, listed as %s)", why, meta.get("id"), listed_type(meta)
    )
    return PortalError(
        502,
        "download_failed",
        _l(
            "The ATS sent something other than this file. Try again in a moment; "
            "if it keeps happening, tell support."
        ),
    )


def _body(meta: dict[str, Any], upstream: requests.Response, head: bytes) -> Iterator[bytes]:
    """The body, straight from the file host's socket; cut (raise) if it ends short."""
    raw = upstream.raw
    encoded = upstream.headers.get("Content-Encoding", "identity").lower() != "identity"
    length = parse_count(upstream.headers.get("Content-Length"))
    expected = length if not encoded else None
    sent = len(head)
    try:
        if head:
            yield head
        while True:
            try:
                piece = raw.read(CHUNK, decode_content=encoded)
            except (Urllib3Error, requests.RequestException, OSError) as exc:
                raise DownloadCut(
                    f"the file host's connection broke ({type(exc).__name__})"
                ) from None
            if not piece:
                break
            sent += len(piece)
            yield piece
        if expected is not None and sent != expected:
            raise DownloadCut(f"the file host sent {sent} of {expected} bytes")
        metrics.count(metrics.DOWNLOADS, "streamed")
    except DownloadCut as cut:
        metrics.count(metrics.DOWNLOADS, "aborted_short")
        log.error(
            "download cut: %s (attachment %s); the browser sees a failed download",
            cut,
            meta.get("id"),
        )
        raise
    finally:
        upstream.close()


def stream(
    integration_id: str,
    candidate_id: str,
    attachment_id: str,
    only_application: str | None = None,
) -> Response:
    """The attachment, checked, with headers that make the browser save it."""
    meta, upstream = open_download(integration_id, candidate_id, attachment_id, only_application)
    try:
        head = _read_head(upstream.raw)
    except (Urllib3Error, requests.RequestException, OSError):
        upstream.close()
        metrics.count(metrics.DOWNLOADS, "aborted_short")
        log.warning("download failed before the first byte (attachment %s)", attachment_id)
        raise PortalError(
            502,
            "download_failed",
            _l("We could not fetch this file from the ATS. Try again in a moment."),
        ) from None
    if not looks_like(listed_type(meta), head):
        upstream.close()
        raise _refuse(meta, f"the first bytes are not a {listed_type(meta)}")
    encoded = upstream.headers.get("Content-Encoding", "identity").lower() != "identity"
    headers = download_headers(meta, None if encoded else upstream.headers.get("Content-Length"))
    if current_app.config.get("ACCEL_REDIRECT") and "Authorization" not in upstream.request.headers:
        upstream.close()  # nginx fetches it again, and sends it at nginx's speed
        headers.pop("Content-Length", None)
        headers["X-Accel-Redirect"] = "/_portal_download"
        headers["X-Portal-Upstream"] = upstream.url
        metrics.count(metrics.DOWNLOADS, "offloaded")
        return Response(b"", headers=headers)
    return Response(
        stream_with_context(_body(meta, upstream, head)), headers=headers, direct_passthrough=True
    )
