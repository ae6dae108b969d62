"""Applying a queued fault to one call: error envelopes, broken bodies, delays, redirects
and connection resets, with the `apply` semantics for uploads."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from flask import Request, Response

from .errors import ApiError, envelope, error_response, json_response
from .faults import RESET_ENVIRON_KEY, UPLOAD_OP, Fault

HTML_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# What an upload would have answered; body faults mangle this when the upload isn't run.
UPLOAD_SUCCESS = {"status": "success", "data": {}, "warnings": []}
_PEEK_LIMIT = 1024 * 1024


def _run_quietly(run: Callable[[], Response], interaction_id: str) -> Response:
    try:
        return run()
    except ApiError as err:
        return error_response(err, interaction_id)


def drain(request: Request) -> int:
    """Read and discard the request body; returns how many bytes were read."""
    total = 0
    while chunk := request.stream.read(1024 * 1024):
        total += len(chunk)
    return total


def _error(fault: Fault, interaction_id: str) -> Response:
    status = fault.status or 500
    message = fault.message or f"Sandbox fault: HTTP {status}."
    resp = json_response(envelope(fault.code, message, interaction_id, fault.title), status)
    return resp


def _body_bytes(resp: Response) -> tuple[int, Iterator[bytes]]:
    """Total length and chunks of a response, without loading a streamed file into memory."""
    if resp.is_streamed:  # our streamed bodies (file downloads) are always bytes
        length = resp.content_length or 0
        return length, (c if isinstance(c, bytes) else c.encode() for c in resp.response)
    data = resp.get_data()
    return len(data), iter([data])


def _truncated(resp: Response, status: int) -> Response:
    length, chunks = _body_bytes(resp)
    half = length // 2

    def first_half() -> Iterator[bytes]:
        """Yield the first half of the body, then stop (and close the original)."""
        sent = 0
        try:
            for chunk in chunks:
                if sent >= half:
                    break
                piece = chunk[: half - sent]
                sent += len(piece)
                yield piece
        finally:
            resp.close()

    # Content-Length promises the full body; the connection then closes after half of it.
    headers = {"Content-Length": str(length), "Content-Type": resp.content_type or ""}
    return Response(first_half(), status=status, headers=headers, direct_passthrough=True)


def _malformed(resp: Response, status: int) -> Response:
    _, chunks = _body_bytes(resp)
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= _PEEK_LIMIT:
            break
    resp.close()
    # Half of a JSON document is never valid JSON ('{' alone for tiny bodies).
    broken = head[: len(head) // 2] or b"{"
    return Response(broken, status=status, content_type="application/json")


def _mangle_body(resp: Response, fault: Fault) -> Response:
    status = fault.status or 200
    if fault.body == "html":
        resp.close()
        page = HTML_PAGE.format(status=status)
        return Response(page, status=status, content_type="text/html; charset=utf-8")
    if fault.body == "malformed":
        return _malformed(resp, status)
    return _truncated(resp, status)


def apply_fault(
    fault: Fault,
    op: str,
    run: Callable[[], Response],
    request: Request,
    interaction_id: str,
    stopping: threading.Event,
) -> tuple[Response, int]:
    """Answer a call with a fault; returns (response, request body bytes read here).

    For uploads, `fault.apply` decides whether the real handler runs (and stores the file)
    before the fault hides its answer. Read-only calls run for real where the fault needs a
    real body (body / delay faults) and are skipped otherwise.
    """
    upload = op == UPLOAD_OP
    real = fault.apply if upload else fault.kind in ("body", "delay")
    resp = _run_quietly(run, interaction_id) if real else None
    read = 0
    if fault.kind == "error":
        out = _error(fault, interaction_id)
    elif fault.kind == "delay":
        stopping.wait(fault.delay)
        timed_out = ApiError(
            "PLATFORM.TASK_TIMED_OUT",
            "The ATS did not answer in time; the attachment was not added.",
            status=504,
        )
        out = resp if resp is not None else error_response(timed_out, interaction_id)
    elif fault.kind == "body":
        out = _mangle_body(resp if resp is not None else json_response(UPLOAD_SUCCESS), fault)
    elif fault.kind == "respond":
        out = _respond(fault.respond or {})
    elif fault.kind == "redirect":
        out = Response(b"", status=fault.status or 302, headers={"Location": fault.redirect or ""})
    else:
        out, read = _reset(fault, request)
    if fault.retry_after is not None and fault.kind in ("error", "body"):
        out.headers["Retry-After"] = fault.retry_after
    return out, read


def _respond(spec: dict[str, Any]) -> Response:
    """Exactly the status, headers and body a test asked for (a string body is sent as is,
    anything else as JSON), so tests can feed what a proxy or an ATS might send."""
    body = spec.get("body", "")
    headers = dict(spec.get("headers", {}))
    if isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    resp = Response(data, status=spec.get("status", 200))
    resp.headers.pop("Content-Type", None)
    resp.headers.update(headers)
    return resp


def _reset(fault: Fault, request: Request) -> tuple[Response, int]:
    environ: dict[str, Any] = request.environ
    if "werkzeug.socket" not in environ:
        raise ApiError(
            "PLATFORM.UNKNOWN_ERROR",
            "Reset faults need the sandbox's own server "
            "(SandboxServer or `portal sandbox`); this WSGI server has no raw socket.",
            status=500,
        )
    read = drain(request) if fault.reset == "after_body" else 0
    environ[RESET_ENVIRON_KEY] = True  # ResetMiddleware kills the socket once we return
    return Response(b"", status=204), read
