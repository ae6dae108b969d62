"""Logs as JSON lines, each with the request id that the user also sees as the error reference.

The request id is `errors.reference()`: made here for each request, or taken from the
X-Request-Id that the shipped nginx sets (only when PORTAL_ACCEL_REDIRECT says nginx is in
front, so a client cannot choose its own), returned in the X-Request-Id header and, on
errors, as `reference` in the JSON or on the error page.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from portal.errors import reference

_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
# Signed links are credentials while they live: their token never reaches a log line.
_LINK_TOKEN = re.compile(r"^/(download|preview)/[^/]+")
_MARK = "_portal_json_handler"


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            out["request_id"] = reference()
            # Never the query string (it may hold an e-mail), nor a link's token.
            out["path"] = _LINK_TOKEN.sub(r"/\1/[redacted]", request.path)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def _take_request_id() -> None:
    given = request.headers.get("X-Request-Id", "")
    if g.get("trust_proxy") and _REQUEST_ID.fullmatch(given):
        g.reference = given


def _give_request_id(resp: Response) -> Response:
    resp.headers["X-Request-Id"] = reference()
    return resp


def init_app(app: Flask) -> None:
    """Request ids on every request and response; the portal's log lines as JSON."""
    trust = bool(app.config.get("ACCEL_REDIRECT"))

    @app.before_request
    def _mark() -> None:
        g.trust_proxy = trust

    app.before_request(_take_request_id)
    app.after_request(_give_request_id)
    if str(app.config.get("LOG_FORMAT", "json")) != "json":
        return
    logger = logging.getLogger("portal")
    if not any(getattr(h, _MARK, False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
