"""Injected faults: parsing `POST /_sandbox/faults` specs, queueing them, and the raw
connection reset used to simulate a dropped TCP connection."""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

OPERATIONS = (
    "check_api_key",
    "get_integration",
    "get_upload_restrictions",
    "list_applications",
    "list_candidates",
    "list_jobs",
    "get_candidate_attachments",
    "get_application_attachments",
    "add_application_attachment",
    "download",
    "download_file",
)
UPLOAD_OP = "add_application_attachment"
BODY_KINDS = ("html", "malformed", "truncated")
RESET_KINDS = ("before_body", "after_body")
_KIND_KEYS = ("body", "delay", "reset", "redirect", "respond")
RESPOND_KEYS = {"status", "headers", "body"}
_ALLOWED_KEYS = {
    "endpoint",
    "count",
    "integration_id",
    "status",
    "code",
    "title",
    "message",
    "retry_after",
    "apply",
    *_KIND_KEYS,
}
MAX_DELAY_SECONDS = 600.0

# WSGI environ flag: the app asks the outer middleware to reset this connection.
RESET_ENVIRON_KEY = "kombo_sandbox.reset"


class FaultSpecError(ValueError):
    """A fault spec that the sandbox refuses (answered with HTTP 400)."""


@dataclass
class Fault:
    """One queued fault; `remaining` counts the calls it still applies to."""

    id: int
    endpoint: str
    remaining: int
    integration_id: str | None
    kind: str  # error | body | delay | reset | redirect
    status: int | None = None
    code: str | None = None
    title: str | None = None
    message: str | None = None
    retry_after: str | None = None
    body: str | None = None
    delay: float | None = None
    reset: str | None = None
    redirect: str | None = None
    respond: dict[str, Any] | None = None
    apply: bool = False

    def describe(self) -> dict[str, Any]:
        """The fault as JSON, without unset options."""
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        if self.endpoint != UPLOAD_OP:
            out.pop("apply", None)
        return out

    def label(self) -> str:
        """A short description for the request log, e.g. 'status:503' or 'reset:after_body'."""
        detail = {
            "error": self.status,
            "body": self.body,
            "delay": self.delay,
            "reset": self.reset,
            "redirect": self.redirect,
            "respond": (self.respond or {}).get("status"),
        }[self.kind]
        return f"{'status' if self.kind == 'error' else self.kind}:{detail}"


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise FaultSpecError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_kind(spec: dict[str, Any]) -> str:
    kinds = [k for k in _KIND_KEYS if k in spec]
    _require(len(kinds) <= 1, f"Give one fault kind per fault, not {kinds}.")
    if kinds:
        return kinds[0]  # the kind is named after its key
    _require(
        "status" in spec,
        "A fault needs one of 'status' (an error envelope), 'body', "
        "'delay', 'reset', 'redirect' or 'respond'.",
    )
    return "error"


def _check_status(spec: dict[str, Any], kind: str) -> int | None:
    status = spec.get("status")
    if status is None:
        return {"error": None, "body": 200, "redirect": 302}.get(kind)
    _require(_is_int(status), "'status' must be an integer HTTP status.")
    if kind == "error":
        _require(400 <= status <= 599, "An error fault's 'status' must be 400-599.")
    elif kind == "redirect":
        _require(status in (301, 302, 303, 307, 308), "A redirect 'status' must be a 3xx.")
    else:
        _require(kind == "body", f"'status' can't be combined with a '{kind}' fault.")
        _require(200 <= status <= 599, "A body fault's 'status' must be 200-599.")
    return status


def _check_options(spec: dict[str, Any], kind: str) -> None:
    for key in ("code", "title", "message"):
        if key in spec:
            _require(kind == "error", f"'{key}' only goes with an error fault ('status' alone).")
            _require(
                spec[key] is None or isinstance(spec[key], str),
                f"'{key}' must be a string or null.",
            )
    _require(
        spec.get("message", "") is not None,
        "'message' must be a string (Kombo always "
        "sends one); use 'code': null for the minimal envelope.",
    )
    if "retry_after" in spec:
        _require(kind in ("error", "body"), "'retry_after' only goes with error or body faults.")
        value = spec["retry_after"]
        _require(
            isinstance(value, str | int | float) and not isinstance(value, bool),
            "'retry_after' must be a string (seconds or an HTTP date) or a number.",
        )
    if kind == "body":
        _require(spec["body"] in BODY_KINDS, f"'body' must be one of {', '.join(BODY_KINDS)}.")
    if kind == "delay":
        delay = spec["delay"]
        _require(
            isinstance(delay, int | float)
            and not isinstance(delay, bool)
            and 0 < delay <= MAX_DELAY_SECONDS,
            f"'delay' must be a number of seconds in (0, {MAX_DELAY_SECONDS:g}].",
        )
    if kind == "reset":
        _require(spec["reset"] in RESET_KINDS, f"'reset' must be one of {', '.join(RESET_KINDS)}.")
    if kind == "respond":
        _check_respond(spec["respond"])
    if kind == "redirect":
        target = spec["redirect"]
        _require(
            isinstance(target, str)
            and urlsplit(target).scheme in ("http", "https")
            and bool(urlsplit(target).netloc),
            "'redirect' must be an http(s) URL.",
        )


def _check_respond(value: Any) -> None:
    """A raw answer: {"status": int, "headers": {name: value}, "body": str | any JSON}."""
    _require(isinstance(value, dict), "'respond' must be an object with status, headers, body.")
    unknown = sorted(set(value) - RESPOND_KEYS)
    _require(not unknown, f"Unknown 'respond' field(s) {unknown}; allowed: status, headers, body.")
    status = value.get("status", 200)
    _require(_is_int(status) and 100 <= status <= 599, "'respond.status' must be 100-599.")
    headers = value.get("headers", {})
    _require(isinstance(headers, dict), "'respond.headers' must be an object.")
    for name, text in headers.items():
        _require(
            isinstance(text, str) and name.isascii() and not any(c in name + text for c in "\r\n"),
            "'respond.headers' must map names to one-line string values.",
        )


def _default_apply(kind: str, spec: dict[str, Any]) -> bool:
    # The ambiguous cases (the client can't tell whether the ATS got the file) default to
    # "applied": a slow answer, or a connection dropped after the body was read.
    return kind == "delay" or (kind == "reset" and spec["reset"] == "after_body")


def parse_fault(spec: Any, fault_id: int, integrations: set[str]) -> Fault:
    """Validate one fault spec (the format is described in portal/sandbox/__init__.py)."""
    _require(isinstance(spec, dict), "A fault must be a JSON object.")
    unknown = sorted(set(spec) - _ALLOWED_KEYS)
    _require(not unknown, f"Unknown fault field(s) {unknown}; allowed: {sorted(_ALLOWED_KEYS)}.")
    endpoint = spec.get("endpoint")
    _require(endpoint in OPERATIONS, f"'endpoint' must be one of {', '.join(OPERATIONS)}.")
    count = spec.get("count", 1)
    _require(_is_int(count) and 1 <= count <= 100_000, "'count' must be an integer >= 1.")
    integration_id = spec.get("integration_id")
    _require(
        integration_id is None or integration_id in integrations,
        f"Unknown 'integration_id' {integration_id!r}.",
    )
    kind = _parse_kind(spec)
    status = _check_status(spec, kind)
    _check_options(spec, kind)
    apply = spec.get("apply", _default_apply(kind, spec))
    _require(isinstance(apply, bool), "'apply' must be true or false.")
    if "apply" in spec:
        _require(endpoint == UPLOAD_OP, f"'apply' only applies to {UPLOAD_OP}.")
        _require(
            not (apply and kind == "reset" and spec["reset"] == "before_body"),
            "A reset before the body is read can't apply the upload ('apply': true).",
        )
    retry_after = spec.get("retry_after")
    return Fault(
        id=fault_id,
        endpoint=endpoint,
        remaining=count,
        integration_id=integration_id,
        kind=kind,
        status=status,
        code=spec.get("code"),
        title=spec.get("title"),
        message=spec.get("message"),
        retry_after=None if retry_after is None else str(retry_after),
        body=spec.get("body"),
        delay=float(spec["delay"]) if kind == "delay" else None,
        reset=spec.get("reset"),
        redirect=spec.get("redirect"),
        respond=spec.get("respond"),
        apply=apply if endpoint == UPLOAD_OP else False,
    )


class FaultQueue:
    """Pending faults, consumed in the order they were added (thread-safe)."""

    def __init__(self, integrations: set[str]) -> None:
        self._integrations = integrations
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, specs: list[Any]) -> list[Fault]:
        """Validate and queue fault specs, all or none; raises FaultSpecError."""
        with self._lock:
            faults = [parse_fault(s, next(self._ids), self._integrations) for s in specs]
            self._faults.extend(faults)
            return faults

    def take(self, endpoint: str, integration_id: str | None) -> Fault | None:
        """Consume one call of the first fault matching this call, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint != endpoint:
                    continue
                if fault.integration_id not in (None, integration_id):
                    continue
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        """Queued faults as JSON."""
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()


def kill_connection(environ: dict[str, Any]) -> None:
    """Abort the request's TCP connection with an RST (SO_LINGER 0, then close).

    The TCP descriptor is closed by dup2-ing a socketpair end over it: that close is the
    last reference, so the kernel sends RST; and the server's socket object now holds a
    live descriptor whose peer is gone, so its next read sees EOF and it ends the
    connection quietly (no traceback, no response, no chance of closing a reused fd number).
    """
    sock: socket.socket = environ["werkzeug.socket"]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    placeholder, peer = socket.socketpair()
    peer.close()
    try:
        os.dup2(placeholder.fileno(), sock.fileno())
    finally:
        placeholder.close()


class ResetMiddleware:
    """Outer WSGI layer: when a view flagged a reset, kill the socket and raise instead of
    letting the server write a response. Werkzeug treats ConnectionError from the app as a
    dropped connection (no traceback, no 500)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Run the app; reset the connection if it asked for it."""
        result = self.app(environ, start_response)
        if not environ.get(RESET_ENVIRON_KEY):
            return result
        if hasattr(result, "close"):
            result.close()
        kill_connection(environ)
        raise ConnectionResetError("kombo sandbox fault: connection reset")
