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
from flask_babel import LazyString, lazy_ngettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, SecurityError

from portal.i18n import lazy_join, lazy_size
from portal.kombo import KomboBadResponse, KomboConnectionError, KomboError

log = logging.getLogger(__name__)


class PortalError(Exception):
    """An error with an HTTP status, a stable code and a message a recruiter understands."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | LazyString,
        *,
        log_url: str | None = None,
        retry_after: float | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        # Lazy (translated when shown): a message made once, e.g. kept in a cache, is then read
        # in each reader's language.
        self.status, self.code, self.message = status, code, message
        self.log_url, self.retry_after, self.extra = log_url, retry_after, extra


# Kombo error code -> (HTTP status we answer, our code, what the recruiter reads).
_KOMBO_CODES: dict[str, tuple[int, str, LazyString]] = {
    "PLATFORM.RATE_LIMIT_EXCEEDED": (
        429,
        "ats_busy",
        _l("Kombo is busy right now."),
    ),
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": (
        429,
        "ats_busy",
        _l("Too many requests are going to this ATS at once."),
    ),
    "REMOTE.RATE_LIMIT_EXCEEDED": (
        429,
        "ats_busy",
        _l("The ATS is busy right now."),
    ),
    "REMOTE.SERVICE_UNAVAILABLE": (
        503,
        "ats_unavailable",
        _l("The ATS is not responding right now. Try again in a few minutes."),
    ),
    "PLATFORM.TASK_TIMED_OUT": (504, "ats_timeout", _l("The ATS took too long to answer.")),
    "INTEGRATION.ACTION_NOT_AVAILABLE": (
        409,
        "not_available_for_ats",
        _l("This ATS does not support this through Kombo."),
    ),
    "INTEGRATION.ACTION_DISABLED": (
        409,
        "not_available_for_ats",
        _l("This has been switched off for this ATS connection."),
    ),
    "INTEGRATION.PERMISSION_MISSING": (
        409,
        "permission_missing",
        _l(
            "The ATS connection is not allowed to do this. The customer's ATS admin must grant the permission."
        ),
    ),
    "INTEGRATION.AUTHENTICATION_INVALID": (
        409,
        "integration_needs_reconnect",
        _l(
            "The connection to this ATS has stopped working and must be reconnected by the customer."
        ),
    ),
    "INTEGRATION.INACTIVE": (
        409,
        "integration_needs_reconnect",
        _l("This ATS connection is inactive and must be reactivated by the customer."),
    ),
    "INTEGRATION.SETUP_SYNC_PENDING": (
        409,
        "integration_not_ready",
        _l("This ATS is still being set up (its first sync is running). Try again later."),
    ),
    "INTEGRATION.SETUP_INCOMPLETE": (
        409,
        "integration_not_ready",
        _l("The connection to this ATS is not fully set up yet."),
    ),
    "INTEGRATION.QA_FAILED": (
        409,
        "integration_not_ready",
        _l("The connection to this ATS is not fully set up yet."),
    ),
    "INTEGRATION.MODEL_NOT_AVAILABLE": (
        409,
        "not_available_for_ats",
        _l("This ATS does not provide that information through Kombo."),
    ),
    "INTEGRATION.MODEL_DISABLED": (
        409,
        "not_available_for_ats",
        _l("This information has been switched off for this ATS connection."),
    ),
    "PLATFORM.INTEGRATION_NOT_FOUND": (
        404,
        "integration_not_found",
        _l("This ATS connection no longer exists."),
    ),
    "PLATFORM.AUTHENTICATION_INVALID": (
        502,
        "portal_misconfigured",
        _l("The portal's connection to Kombo is misconfigured. Please tell support."),
    ),
    "PLATFORM.IP_NOT_WHITELISTED": (
        502,
        "portal_misconfigured",
        _l("The portal's connection to Kombo is misconfigured. Please tell support."),
    ),
    "ATS.JOB_CLOSED": (409, "job_closed", _l("The job is closed in the ATS.")),
    # Our own codes for fetching an attachment's file.
    "PORTAL.DOWNLOAD_FAILED": (
        502,
        "download_failed",
        _l("We could not fetch this file from the ATS. Try again in a moment."),
    ),
    "PORTAL.DOWNLOAD_REDIRECT": (
        502,
        "download_failed",
        _l("The ATS sent this file from somewhere the portal does not download from."),
    ),
    "PORTAL.DOWNLOAD_HOST_REFUSED": (
        502,
        "download_failed",
        _l("The ATS stores this file somewhere the portal does not download from."),
    ),
    "ATS.APPLICATION_ALREADY_EXISTS": (
        409,
        "application_exists",
        _l("This application already exists in the ATS."),
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


def _when(seconds: float | None) -> LazyString:
    if seconds is None:
        return _l("Try again in a moment.")
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return lazy_ngettext(
            "Try again in %(num)d second.", "Try again in %(num)d seconds.", seconds
        )
    minutes = math.ceil(seconds / 60)
    return lazy_ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes)


# kombo.py's words for a connection that failed (English, also in the log), for the user.
_CONNECTION_WORDS = {
    "Kombo did not answer in time.": _l("Kombo did not answer in time."),
    "Kombo could not be reached.": _l("Kombo could not be reached."),
    "The connection to Kombo broke.": _l("The connection to Kombo broke."),
}


def _connection_words(message: str) -> str | LazyString:
    return _CONNECTION_WORDS.get(message, message)


def from_kombo(err: KomboError) -> PortalError:
    """Translate a KomboError into what the user is told."""
    kw: dict[str, Any] = {"log_url": err.log_url, "retry_after": err.retry_after}
    said = kombo_words(err.message) if not isinstance(err, KomboBadResponse) else ""
    if err.too_large:
        return PortalError(
            413,
            "file_too_large_for_ats",
            lazy_join(
                _l("This file is too large for this ATS: Kombo refused it before the ATS saw it."),
                _l("It said: “%(said)s”", said=said) if said else "",
                _l(
                    "Kombo advises keeping attachments under %(size)s; make it smaller (for example save a compressed PDF) and try again.",
                    size=lazy_size(KOMBO_ADVISED_BYTES),
                ),
            ),
            **kw,
        )
    portal_code = (err.code or "PORTAL.").startswith("PORTAL.")
    if err.rate_limited and (portal_code or err.code not in _KOMBO_CODES):
        return PortalError(
            429,
            "ats_busy",
            lazy_join(_l("Kombo is busy right now."), _when(err.retry_after)),
            **kw,
        )
    if err.code in _KOMBO_CODES:
        status, code, message = _KOMBO_CODES[err.code]
        if status == 429:
            return PortalError(status, code, lazy_join(message, _when(err.retry_after)), **kw)
        return PortalError(status, code, message, **kw)
    if err.code in _SHOW_KOMBO_MESSAGE:
        return PortalError(
            422, "ats_refused", _l("The ATS refused this: %(said)s", said=said), **kw
        )
    if isinstance(err, KomboConnectionError):
        return PortalError(
            503,
            "kombo_unreachable",
            lazy_join(_connection_words(err.message), _l("Try again in a moment.")),
            **kw,
        )
    if isinstance(err, KomboBadResponse) and not (err.status and 400 <= err.status < 500):
        return PortalError(
            502,
            "kombo_bad_response",
            _l("Kombo sent an answer we could not read. Try again in a moment."),
            **kw,
        )
    if err.status == 404:
        return PortalError(404, "not_found", _l("That was not found in the ATS."), **kw)
    if err.status is not None and 400 <= err.status < 500:
        # A refusal with a code we do not know (or none, the minimal envelope): still a
        # refusal of this request, not an outage; Kombo's own words say why.
        return PortalError(
            422 if err.status not in (403, 409) else err.status,
            "ats_refused",
            lazy_join(
                _l("The ATS or Kombo refused this request."),
                _l("Kombo says: “%(said)s”", said=said) if said else "",
                _l("If you cannot tell what to change, tell support."),
            ),
            **kw,
        )
    # PLATFORM.UNKNOWN_ERROR, REMOTE.UNKNOWN_HTTP_ERROR, and codes Kombo adds later.
    return PortalError(
        502,
        "ats_error",
        _l(
            "Something went wrong between the ATS and us. Try again; if it keeps failing, tell support."
        ),
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
    # str(): the message may be lazy; JSON and the page get it in this request's language.
    body: dict[str, Any] = {"code": err.code, "message": str(err.message), "reference": reference()}
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
        _l("The portal cannot reach its shared state right now. Try again in a moment."),
        retry_after=5,
    )


def _store_error(exc: Exception) -> Any:
    log.error("shared store error ref=%s %r", reference(), exc)
    return render_error(store_unavailable())


HOST_NOT_SERVED = _l("This portal is not served under that address.")
_HTTP_MESSAGES = {
    400: ("bad_request", _l("The request was not understood.")),
    403: ("forbidden", _l("You are not allowed to do that.")),
    404: ("not_found", _l("That page or item does not exist, or you have no access to it.")),
    405: ("method_not_allowed", _l("That is not allowed here.")),
    413: ("file_too_large", _l("This file is too large for the portal.")),
    429: (
        "too_many_requests",
        _l("Too many requests in a short time. Wait a minute and try again."),
    ),
}


def _http_error(exc: HTTPException) -> Any:
    if isinstance(exc, SecurityError):  # a Host not in TRUSTED_HOSTS: no URL can be built
        return jsonify(error={"code": "host_not_served", "message": str(HOST_NOT_SERVED)}), 400
    code, message = _HTTP_MESSAGES.get(exc.code or 500, ("error", _l("That did not work.")))
    if exc.code == 413:
        from flask import current_app

        message = _l(
            "This file is larger than the %(size)s the portal accepts.",
            size=lazy_size(current_app.config["MAX_UPLOAD_BYTES"]),
        )
    return render_error(PortalError(exc.code or 500, code, message))


def _kombo_error(err: KomboError) -> Any:
    log.warning("kombo error ref=%s %r log_url=%s", reference(), err, err.log_url)
    return render_error(from_kombo(err))


def _unexpected(exc: Exception) -> Any:
    log.exception("unexpected error ref=%s", reference())
    return render_error(
        PortalError(
            500, "internal_error", _l("Something went wrong on our side. Please try again.")
        )
    )


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(PortalError, render_error)
    app.register_error_handler(KomboError, _kombo_error)
    for error in STORE_ERRORS:
        app.register_error_handler(error, _store_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
