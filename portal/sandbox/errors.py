"""Kombo's error envelope and the HTTP statuses the sandbox uses for each error code."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

LOG_URL = "https://app.kombo.dev/sandbox/logs?interactionId={}"

# Static titles, as Kombo moves static descriptions into `title` (docs: guides/errors).
TITLES = {
    "PLATFORM.AUTHENTICATION_INVALID": "The provided API key is invalid.",
    "PLATFORM.INTEGRATION_NOT_FOUND": "The integration could not be found.",
    "PLATFORM.INPUT_INVALID": "The request input is invalid.",
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": "Too many concurrent requests for this integration.",
    "PLATFORM.RATE_LIMIT_EXCEEDED": "The rate limit was exceeded.",
    "PLATFORM.TASK_TIMED_OUT": "The task timed out.",
    "PLATFORM.UNKNOWN_ERROR": "An unknown error occurred.",
    "INTEGRATION.AUTHENTICATION_INVALID": "The integration's credentials are invalid.",
    "INTEGRATION.ACTION_NOT_AVAILABLE": "This action isn't available for the selected integration.",
    "REMOTE.INPUT_INVALID": "The remote system rejected the input.",
    "REMOTE.SERVICE_UNAVAILABLE": "The remote system is unavailable.",
}

# The HTTP status the sandbox answers with for each code. Kombo documents none of these
# except 429 (concurrency) and 409 (setup errors); clients must branch on `code`, not status.
STATUSES = {
    "PLATFORM.AUTHENTICATION_INVALID": 401,
    "PLATFORM.INTEGRATION_NOT_FOUND": 404,
    "PLATFORM.INPUT_INVALID": 400,
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": 429,
    "PLATFORM.TASK_TIMED_OUT": 504,
    "PLATFORM.UNKNOWN_ERROR": 500,
    # 403, not 401: the caller's API key is fine; the customer's ATS credentials are not.
    "INTEGRATION.AUTHENTICATION_INVALID": 403,
    "INTEGRATION.ACTION_NOT_AVAILABLE": 400,
    "REMOTE.INPUT_INVALID": 400,
}


class ApiError(Exception):
    """An error the sandbox answers with Kombo's error envelope."""

    def __init__(
        self,
        code: str | None,
        message: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUSES.get(code or "", 400)
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialize a body as compact UTF-8 JSON with `application/json`."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status=status, headers=headers, mimetype="application/json")


def envelope(
    code: str | None, message: str, interaction_id: str | None, title: str | None = None
) -> dict[str, Any]:
    """Kombo's error body. All four keys are always present; a null code means minimal form."""
    if code is None:
        return {
            "status": "error",
            "error": {"code": None, "title": title, "message": message, "log_url": None},
        }
    return {
        "status": "error",
        "error": {
            "code": code,
            "title": title or TITLES.get(code),
            "message": message,
            "log_url": LOG_URL.format(interaction_id) if interaction_id else None,
        },
    }


def error_response(err: ApiError, interaction_id: str | None) -> Response:
    """Render an ApiError as an HTTP response."""
    body = envelope(err.code, err.message, interaction_id)
    return json_response(body, err.status, err.headers)
