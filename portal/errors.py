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
from typing import Any

import redis
from flask import Flask, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

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
# Codes whose message is the ATS's own explanation, worth showing verbatim (escaped).
_SHOW_KOMBO_MESSAGE = {"PLATFORM.INPUT_INVALID", "REMOTE.INPUT_INVALID"}


def from_kombo(err: KomboError) -> PortalError:
    """Translate a KomboError into what the user is told."""
    kw: dict[str, Any] = {"log_url": err.log_url, "retry_after": err.retry_after}
    if err.code in _KOMBO_CODES:
        status, code, message = _KOMBO_CODES[err.code]
        return PortalError(status, code, message, **kw)
    if err.code in _SHOW_KOMBO_MESSAGE:
        return PortalError(422, "ats_refused", f"The ATS refused this: {err.message}", **kw)
    if isinstance(err, KomboConnectionError):
        return PortalError(503, "kombo_unreachable", f"{err.message} Try again in a moment.", **kw)
    if isinstance(err, KomboBadResponse):
        return PortalError(
            502,
            "kombo_bad_response",
            "Kombo sent an answer we could not read. Try again in a moment.",
            **kw,
        )
    if err.status == 404:
        return PortalError(404, "not_found", "That was not found in the ATS.", **kw)
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
    if err.retry_after is not None:
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


_HTTP_MESSAGES = {
    400: ("bad_request", "The request was not understood."),
    403: ("forbidden", "You are not allowed to do that."),
    404: ("not_found", "That page or item does not exist, or you have no access to it."),
    405: ("method_not_allowed", "That is not allowed here."),
    413: ("file_too_large", "This file is too large for the portal."),
    429: ("too_many_requests", "Too many requests in a short time. Wait a minute and try again."),
}


def _http_error(exc: HTTPException) -> Any:
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
