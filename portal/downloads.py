"""Downloads: find the attachment in a fresh listing, open it upstream, and stream it safely."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context

from portal.attachments import fetch
from portal.errors import PortalError
from portal.integrations import get_kombo
from portal.names import disposition

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
        raise PortalError(404, "not_found", "That attachment is no longer in the ATS.")
    return found, get_kombo().open_download(found["data_url"])


def download_headers(attachment: dict[str, Any], upstream_length: str | None) -> dict[str, str]:
    """Headers that make the browser save the file, never render it."""
    content_type = str(attachment.get("content_type") or "").split(";")[0].strip().lower()
    headers = {
        "Content-Type": content_type
        if content_type in SAFE_DOWNLOAD_TYPES
        else "application/octet-stream",
        "Content-Disposition": disposition(str(attachment.get("file_name") or "attachment")),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "no-store",
    }
    if upstream_length and upstream_length.isdigit():
        headers["Content-Length"] = upstream_length
    return headers


def stream(
    integration_id: str,
    candidate_id: str,
    attachment_id: str,
    only_application: str | None = None,
) -> Response:
    """The attachment as a streamed response with headers that make the browser save it."""
    meta, upstream = open_download(integration_id, candidate_id, attachment_id, only_application)
    headers = download_headers(meta, upstream.headers.get("Content-Length"))

    def body() -> Any:
        try:
            yield from upstream.iter_content(chunk_size=1024 * 1024)  # fewer, larger writes
        finally:
            upstream.close()

    return Response(stream_with_context(body()), headers=headers, direct_passthrough=True)
