"""The portal's own errors, Kombo's error codes in a recruiter's words, and the error pages.

Every error reaching a user has a stable code, a plain message and a reference
that is also in the log. Staff additionally see Kombo's log_url. JSON for the API
and XHR, an HTML page otherwise; never a stack trace.
"""

from __future__ import annotations

import logging
import math
import secrets
import sqlite3
import unicodedata
from html.parser import HTMLParser
from typing import Any

import redis
from flask import Flask, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError

from portal.kombo import KomboBadResponse, KomboConnectionError, KomboError

log = logging.getLogger(__name__)


class PortalError(Exception):
    """An error with an HTTP status, a stable code and a message a recruiter understands."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        log_url: str | None = None,
        retry_after: float | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.log_url, self.retry_after, self.extra = log_url, retry_after, extra


# Kombo error code -> (HTTP status we answer, our code, what the recruiter reads).
_KOMBO_CODES: dict[str, tuple[int, str, str]] = {
    "PLATFORM.RATE_LIMIT_EXCEEDED": (
        429,
        "ats_busy",
        "Kombo is busy right now. Try again in a moment.",
    ),
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": (
        429,
        "ats_busy",
        "Too many requests are going to this ATS at once. Try again in a moment.",
    ),
    "REMOTE.RATE_LIMIT_EXCEEDED": (
        429,
        "ats_busy",
        "The ATS is busy right now. Try again in a moment.",
    ),
    "REMOTE.SERVICE_UNAVAILABLE": (
        503,
        "ats_unavailable",
        "The ATS is not responding right now. Try again in a few minutes.",
    ),
    "PLATFORM.TASK_TIMED_OUT": (504, "ats_timeout", "The ATS took too long to answer."),
    "INTEGRATION.ACTION_NOT_AVAILABLE": (
        409,
        "not_available_for_ats",
        "This ATS does not support this through Kombo.",
    ),
    "INTEGRATION.ACTION_DISABLED": (
        409,
        "not_available_for_ats",
        "This has been switched off for this ATS connection.",
    ),
    "INTEGRATION.PERMISSION_MISSING": (
        409,
        "permission_missing",
        "The ATS connection is not allowed to do this. The customer's ATS admin must grant the permission.",
    ),
    "INTEGRATION.AUTHENTICATION_INVALID": (
        409,
        "integration_needs_reconnect",
        "The connection to this ATS has stopped working and must be reconnected by the customer.",
    ),
    "INTEGRATION.INACTIVE": (
        409,
        "integration_needs_reconnect",
        "This ATS connection is inactive and must be reactivated by the customer.",
    ),
    "INTEGRATION.SETUP_SYNC_PENDING": (
        409,
        "integration_not_ready",
        "This ATS is still being set up (its first sync is running). Try again later.",
    ),
    "INTEGRATION.SETUP_INCOMPLETE": (
        409,
        "integration_not_ready",
        "The connection to this ATS is not fully set up yet.",
    ),
    "INTEGRATION.QA_FAILED": (
        409,
        "integration_not_ready",
        "The connection to this ATS is not fully set up yet.",
    ),
    "INTEGRATION.MODEL_NOT_AVAILABLE": (
        409,
        "not_available_for_ats",
        "This ATS does not provide that information through Kombo.",
    ),
    "INTEGRATION.MODEL_DISABLED": (
        409,
        "not_available_for_ats",
        "This information has been switched off for this ATS connection.",
    ),
    "PLATFORM.INTEGRATION_NOT_FOUND": (
        404,
        "integration_not_found",
        "This ATS connection no longer exists.",
    ),
    "PLATFORM.AUTHENTICATION_INVALID": (
        502,
        "portal_misconfigured",
        "The portal's connection to Kombo is misconfigured. Please tell support.",
    ),
    "PLATFORM.IP_NOT_WHITELISTED": (
        502,
        "portal_misconfigured",
        "The portal's connection to Kombo is misconfigured. Please tell support.",
    ),
    "ATS.JOB_CLOSED": (409, "job_closed", "The job is closed in the ATS."),
    # Our own codes for fetching an attachment's file.
    "PORTAL.DOWNLOAD_FAILED": (
        502,
        "download_failed",
        "We could not fetch this file from the ATS. Try again in a moment.",
    ),
    "PORTAL.DOWNLOAD_REDIRECT": (
        502,
        "download_failed",
        "The ATS sent this file from somewhere the portal does not download from.",
    ),
    "PORTAL.DOWNLOAD_HOST_REFUSED": (
        502,
        "download_failed",
        "The ATS stores this file somewhere the portal does not download from.",
    ),
    "ATS.APPLICATION_ALREADY_EXISTS": (
        409,
        "application_exists",
        "This application already exists in the ATS.",
    ),
}
# Codes whose message is the ATS's own explanation, worth showing (sanitised).
_SHOW_KOMBO_MESSAGE = {"PLATFORM.INPUT_INVALID", "REMOTE.INPUT_INVALID"}
KOMBO_MESSAGE_LIMIT = 300
# Kombo's advice (implementation guide): keep attachments under 10 MB for most ATSs.
KOMBO_ADVISED_BYTES = 10 * 1024 * 1024


class _TextOnly(HTMLParser):
    """Collects the text of a message, dropping any markup (an edge's HTML page, tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "title", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def kombo_words(message: str | None, limit: int = KOMBO_MESSAGE_LIMIT) -> str:
    """Kombo's (or the ATS's) message made safe to show: text only, no control or bidi
    characters, whitespace collapsed, at most `limit` characters."""
    if not message:
        return ""
    parser = _TextOnly()
    parser.feed(message[: limit * 20])  # bounded work, whatever Kombo sends
    parser.close()
    text = "".join(parser.parts)
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "Try again in a moment."
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"Try again in {seconds} seconds."
    return f"Try again in {math.ceil(seconds / 60)} minutes."


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def from_kombo(err: KomboError) -> PortalError:
    """Translate a KomboError into what the user is told."""
    kw: dict[str, Any] = {"log_url": err.log_url, "retry_after": err.retry_after}
    said = kombo_words(err.message) if not isinstance(err, KomboBadResponse) else ""
    if err.too_large:
        limit = f" It said: “{said}”" if said else ""
        return PortalError(
            413,
            "file_too_large_for_ats",
            "This file is too large for this ATS: Kombo refused it before the ATS saw it."
            f"{limit} Kombo advises keeping attachments under {_megabytes(KOMBO_ADVISED_BYTES)}; "
            "make it smaller (for example save a compressed PDF) and try again.",
            **kw,
        )
    portal_code = (err.code or "PORTAL.").startswith("PORTAL.")
    if err.rate_limited and (portal_code or err.code not in _KOMBO_CODES):
        return PortalError(
            429, "ats_busy", f"Kombo is busy right now. {_when(err.retry_after)}", **kw
        )
    if err.code in _KOMBO_CODES:
        status, code, message = _KOMBO_CODES[err.code]
        if status == 429:
            message = message.replace("Try again in a moment.", _when(err.retry_after))
        return PortalError(status, code, message, **kw)
    if err.code in _SHOW_KOMBO_MESSAGE:
        return PortalError(422, "ats_refused", f"The ATS refused this: {said}", **kw)
    if isinstance(err, KomboConnectionError):
        return PortalError(503, "kombo_unreachable", f"{err.message} Try again in a moment.", **kw)
    if isinstance(err, KomboBadResponse) and not (err.status and 400 <= err.status < 500):
        return PortalError(
            502,
            "kombo_bad_response",
            "Kombo sent an answer we could not read. Try again in a moment.",
            **kw,
        )
    if err.status == 404:
        return PortalError(404, "not_found", "That was not found in the ATS.", **kw)
    if err.status is not None and 400 <= err.status < 500:
        # A refusal with a code we do not know (or none, the minimal envelope): still a
        # refusal of this request, not an outage; Kombo's own words say why.
        why = f" Kombo says: “{said}”" if said else ""
        return PortalError(
            422 if err.status not in (403, 409) else err.status,
            "ats_refused",
            f"The ATS or Kombo refused this request.{why} "
            "If you cannot tell what to change, tell support.",
            **kw,
        )
    # PLATFORM.UNKNOWN_ERROR, REMOTE.UNKNOWN_HTTP_ERROR, and codes Kombo adds later.
    return PortalError(
        502,
        "ats_error",
        "Something went wrong between the ATS and us. Try again; if it keeps failing, tell support.",
        **kw,
    )


def reference() -> str:
    """This request's reference, shown to the user and written to the log."""
    if "reference" not in g:
        g.reference = secrets.token_hex(6)
    return g.reference


def wants_json() -> bool:
    """API, download and XHR callers get JSON errors; browsers navigating get a page."""
    if request.path.startswith(("/api/", "/download/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_body(err: PortalError) -> dict[str, Any]:
    """The JSON error object; log_url only for staff."""
    body: dict[str, Any] = {"code": err.code, "message": err.message, "reference": reference()}
    # Only a principal resolved before the error: resolving here could fail again (bad token, 413).
    principal = g.get("principal")
    if err.log_url and principal is not None and principal.is_staff:
        body["log_url"] = err.log_url
    if err.retry_after is not None:
        body["retry_after"] = round(err.retry_after)
    body.update(err.extra)
    return body


def render_error(err: PortalError) -> Any:
    """Answer with the error as JSON or as a page."""
    body = error_body(err)
    if wants_json():
        resp = jsonify(error=body)
    else:
        resp = make_response(render_template("errors/error.html", error=body, status=err.status))
    resp.status_code = err.status
    if err.retry_after is not None and err.status in (429, 503):
        resp.headers["Retry-After"] = str(max(1, math.ceil(err.retry_after)))
    return resp


# The shared store failing (Redis down, SQLite locked for too long): the answer is "try again".
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, redis.RedisError)


def store_unavailable() -> PortalError:
    """What a user is told when the shared state (sessions, used tokens, throttles) is unreachable."""
    return PortalError(
        503,
        "state_unavailable",
        "The portal cannot reach its shared state right now. Try again in a moment.",
        retry_after=5,
    )


def _store_error(exc: Exception) -> Any:
    log.error("shared store error ref=%s %r", reference(), exc)
    return render_error(store_unavailable())


HOST_NOT_SERVED = "This portal is not served under that address."
_HTTP_MESSAGES = {
    400: ("bad_request", "The request was not understood."),
    403: ("forbidden", "You are not allowed to do that."),
    404: ("not_found", "That page or item does not exist, or you have no access to it."),
    405: ("method_not_allowed", "That is not allowed here."),
    413: ("file_too_large", "This file is too large for the portal."),
    429: ("too_many_requests", "Too many requests in a short time. Wait a minute and try again."),
}


def _http_error(exc: HTTPException) -> Any:
    if isinstance(exc, SecurityError):  # a Host not in TRUSTED_HOSTS: no URL can be built
        return jsonify(error={"code": "host_not_served", "message": HOST_NOT_SERVED}), 400
    code, message = _HTTP_MESSAGES.get(exc.code or 500, ("error", exc.description or "Error."))
    if exc.code == 413:
        from flask import current_app

        limit = current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024)
        message = f"This file is larger than the {limit} MB the portal accepts."
    return render_error(PortalError(exc.code or 500, code, message))


def _kombo_error(err: KomboError) -> Any:
    log.warning("kombo error ref=%s %r log_url=%s", reference(), err, err.log_url)
    return render_error(from_kombo(err))


def _unexpected(exc: Exception) -> Any:
    log.exception("unexpected error ref=%s", reference())
    return render_error(
        PortalError(500, "internal_error", "Something went wrong on our side. Please try again.")
    )


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(PortalError, render_error)
    app.register_error_handler(KomboError, _kombo_error)
    for error in STORE_ERRORS:
        app.register_error_handler(error, _store_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
