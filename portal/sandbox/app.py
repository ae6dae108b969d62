"""The sandbox WSGI app: Kombo routes under /v1, the resources host under /resources, and the
test-control API under /_sandbox (see portal/sandbox/__init__.py for the contract)."""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import handlers
from .catalog import DEFAULT_API_KEY
from .context import Call, Sandbox
from .data import Application, Dataset
from .errors import ApiError, envelope, error_response, json_response
from .faults import FaultSpecError, ResetMiddleware
from .ids import iso_ms, make_id, now_ms
from .inject import apply_fault, drain
from .settings import Settings, SettingsError, SettingsStore
from .state import SandboxState

log = logging.getLogger(__name__)

Handler = Callable[..., Response]
# (rule, operation, methods, scope, is_action). Scope: general = needs the API key;
# ats = API key + X-Integration-Id; resource = no auth at all, like resources.kombo.dev.
ROUTES: tuple[tuple[str, str, tuple[str, ...], str, bool], ...] = (
    ("/v1/check-api-key", "check_api_key", ("GET",), "general", False),
    ("/v1/integrations/<integration_id>", "get_integration", ("GET",), "general", False),
    (
        "/v1/ats/actions/ats_add_application_attachment",
        "get_upload_restrictions",
        ("GET",),
        "ats",
        False,
    ),
    ("/v1/ats/applications", "list_applications", ("GET",), "ats", False),
    ("/v1/ats/candidates", "list_candidates", ("GET",), "ats", False),
    ("/v1/ats/jobs", "list_jobs", ("GET",), "ats", False),
    (
        "/v1/ats/candidates/<candidate_id>/attachments",
        "get_candidate_attachments",
        ("GET",),
        "ats",
        True,
    ),
    (
        "/v1/ats/applications/<application_id>/attachments",
        "get_application_attachments",
        ("GET",),
        "ats",
        True,
    ),
    (
        "/v1/ats/applications/<application_id>/attachments",
        "add_application_attachment",
        ("POST",),
        "ats",
        True,
    ),
    ("/resources/<attachment_id>", "download", ("GET",), "resource", False),
    # The second host behind a redirecting data_url (settings.file_host), like signed storage.
    ("/files/<attachment_id>", "download_file", ("GET",), "resource", False),
)
DRAIN_LIMIT = 128 * 1024 * 1024
EDGE_413_PAGE = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _check_auth(sb: Sandbox) -> None:
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(
            "PLATFORM.AUTHENTICATION_INVALID",
            "Missing Authorization header; send 'Authorization: Bearer <API key>'.",
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), sb.api_key.encode()):
        raise ApiError(
            "PLATFORM.AUTHENTICATION_INVALID", "The API key in the Authorization header is invalid."
        )


def _resolve_integration(sb: Sandbox, call: Call) -> None:
    # A missing header is a malformed request (400), an unknown ID a lookup miss (404).
    iid = request.headers.get("X-Integration-Id", "").strip()
    if not iid:
        raise ApiError(
            "PLATFORM.INPUT_INVALID", "The X-Integration-Id header is required for /ats endpoints."
        )
    if iid not in sb.dataset.behaviour_by_id:
        raise ApiError(
            "PLATFORM.INTEGRATION_NOT_FOUND",
            f"No integration with ID {iid!r} exists in this environment.",
        )
    call.integration = sb.dataset.get(iid)


def _guard_invalid(call: Call, run: Callable[[], Response]) -> Callable[[], Response]:
    def guarded() -> Response:
        """Refuse every call of an integration whose credentials broke (status INVALID)."""
        integ = call.integration
        if integ is not None and integ.behaviour.status == "INVALID":
            raise ApiError(
                "INTEGRATION.AUTHENTICATION_INVALID",
                f"The credentials of {integ.behaviour.label} integration {integ.id} are no "
                "longer valid; the customer has to reconnect it.",
            )
        return run()

    return guarded


def _with_fault(sb: Sandbox, call: Call, run: Callable[[], Response]) -> Response:
    integ_id = call.integration.id if call.integration else call.owner_id
    fault = sb.state.faults.take(call.op, integ_id)
    call.fault = fault
    if fault is None:
        return run()
    resp, read = apply_fault(fault, call.op, run, request, call.interaction_id, sb.state.stopping)
    call.body_bytes = max(call.body_bytes, read)
    call.reset = fault.kind == "reset"
    return resp


def _serve(
    sb: Sandbox, call: Call, scope: str, action: bool, run: Callable[[], Response]
) -> Response:
    if scope != "resource":
        _check_auth(sb)
    if scope == "ats":
        _resolve_integration(sb, call)
        run = _guard_invalid(call, run)
    if not action or call.integration is None:
        return _with_fault(sb, call, run)
    iid = call.integration.id
    remaining = sb.state.acquire_slot(iid)
    if remaining is None:
        raise ApiError(
            "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
            f"More than {sb.state.concurrency_limit} concurrent action requests for "
            f"integration {iid}; retry with exponential backoff.",
            status=429,
        )
    call.slot_remaining = remaining
    try:
        return _with_fault(sb, call, run)
    finally:
        sb.state.release_slot(iid)


def _too_large(sb: Sandbox, call: Call) -> Response | None:
    """Like an edge in front of Kombo: refuse a body over the limit (read and dropped first,
    so the client sees the answer rather than a broken pipe)."""
    settings = sb.state.settings.current
    declared = request.content_length
    if declared is None or declared <= settings.max_body_bytes:
        return None
    if declared <= DRAIN_LIMIT:  # a huge body is refused unread, and the connection closed
        call.body_bytes = drain(request)
    if settings.too_large == "html":
        return Response(EDGE_413_PAGE, status=413, content_type="text/html")
    err = ApiError(
        "PLATFORM.INPUT_INVALID",
        f"Request body exceeds the limit of {settings.max_body_bytes} bytes.",
        status=413,
    )
    return error_response(err, call.interaction_id)


def _rate_limited(sb: Sandbox) -> tuple[dict[str, str], ApiError | None]:
    """Count the call in the rate-limit window: its ratelimit-* headers, and the 429 if over."""
    limit, remaining, reset = sb.state.settings.count_request()
    wait = str(max(1, math.ceil(reset)))
    headers = {
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": str(max(remaining, 0)),
        "ratelimit-reset": wait,
    }
    if remaining >= 0:
        return headers, None
    return headers, ApiError(
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        f"More than {limit} requests in {sb.state.settings.current.rate_window:g} s; "
        f"retry in {wait} s.",
        status=429,
        headers={"Retry-After": wait},
    )


def _kombo_view(sb: Sandbox, op: str, scope: str, action: bool, handler: Handler) -> Handler:
    def view(**params: str) -> Response:
        """One Kombo call: edge checks, dispatch, then the rate-limit and concurrency headers."""
        call = Call(op)
        g.kombo_call = call
        if "attachment_id" in params:
            found = sb.state.find_attachment(params["attachment_id"])
            call.owner_id = found.integration_id if found else None
        limits: dict[str, str] = {}
        try:
            refused = _too_large(sb, call) if request.method == "POST" else None
            if refused is not None:
                return refused
            if scope != "resource":
                limits, over = _rate_limited(sb)
                if over is not None:
                    raise over
            resp = _serve(sb, call, scope, action, lambda: handler(sb, call, **params))
        except ApiError as err:
            resp = error_response(err, call.interaction_id)
        for name, value in limits.items():  # a `respond` fault's own headers win
            resp.headers.setdefault(name, value)
        if action:  # documented: every action response carries both headers
            resp.headers.update(_concurrency_headers(sb, call))
        return resp

    return view


def _concurrency_headers(sb: Sandbox, call: Call) -> dict[str, str]:
    limit = sb.state.concurrency_limit
    if call.slot_remaining is not None:  # this call held a slot
        remaining = call.slot_remaining
    elif call.integration is not None:  # refused (429) or failed before taking one
        remaining = limit - sb.state.in_flight(call.integration.id)
    else:
        remaining = limit
    return {"Concurrency-Limit": str(limit), "Concurrency-Remaining": str(max(remaining, 0))}


def _log_request(sb: Sandbox, resp: Response) -> Response:
    path = request.path
    if not path.startswith(("/v1/", "/resources/", "/files/")):
        return resp
    call: Call | None = g.get("kombo_call")
    sb.state.log_request(
        {
            "method": request.method,
            "path": path,
            "query": request.query_string.decode("latin-1"),
            "operation": call.op if call else None,
            "integration_id": request.headers.get("X-Integration-Id"),
            "status": None if call and call.reset else resp.status_code,
            "body_bytes": call.body_bytes if call else 0,
            "content_length": request.content_length,
            "fault": call.fault.label() if call and call.fault else None,
            "fault_id": call.fault.id if call and call.fault else None,
            # Whether an Authorization header came (never its value): who gets the key.
            "authorized": bool(request.headers.get("Authorization")),
            "interaction_id": call.interaction_id if call else None,
            "at": time.time(),
        }
    )
    return resp


def _register_kombo(app: Flask, sb: Sandbox) -> None:
    for rule, op, methods, scope, action in ROUTES:
        handler = getattr(handlers, op)
        app.add_url_rule(
            rule,
            endpoint=op,
            view_func=_kombo_view(sb, op, scope, action, handler),
            methods=list(methods),
        )

    @app.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def kombo_unknown(rest: str) -> Response:
        """Any other /v1 path: a minimal-envelope 404."""
        body = envelope(
            None, f"No endpoint {request.method} /v1/{rest} in the Kombo sandbox.", None
        )
        return json_response(body, 404)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """405 and friends, as minimal envelopes."""
        message = f"{exc.code} {exc.name}: {request.method} {request.path}"
        return json_response(envelope(None, message, None), exc.code or 500)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        """A bug in the sandbox: log it and answer PLATFORM.UNKNOWN_ERROR."""
        log.exception("kombo sandbox crashed on %s %s", request.method, request.path)
        err = ApiError(
            "PLATFORM.UNKNOWN_ERROR", f"Sandbox error: {type(exc).__name__}: {exc}", status=500
        )
        call: Call | None = g.get("kombo_call")
        return error_response(err, call.interaction_id if call else None)

    app.after_request(lambda resp: _log_request(sb, resp))


def _register_control(app: Flask, sb: Sandbox) -> None:
    state = sb.state

    @app.get("/_sandbox/integrations")
    def sandbox_integrations() -> Response:
        """The seeded integrations and their behaviours."""
        return json_response(
            [
                {
                    "id": iid,
                    "behaviour": b.name,
                    "tool": b.tool,
                    "organization": b.organization,
                    "status": b.status,
                }
                for iid, b in sb.dataset.behaviour_by_id.items()
            ]
        )

    @app.get("/_sandbox/uploads")
    def sandbox_uploads() -> Response:
        """Every upload the sandbox applied, in order."""
        return json_response(state.uploads())

    @app.get("/_sandbox/requests")
    def sandbox_requests() -> Response:
        """The log of Kombo-path requests."""
        return json_response(state.requests())

    @app.delete("/_sandbox/requests")
    def sandbox_clear_requests() -> Response:
        """Empty the request log."""
        state.clear_requests()
        return json_response({"cleared": True})

    @app.get("/_sandbox/faults")
    def sandbox_faults() -> Response:
        """Pending faults."""
        return json_response(state.faults.pending())

    @app.post("/_sandbox/faults")
    def sandbox_add_fault() -> Response:
        """Queue a fault (or a list of faults) for upcoming calls."""
        return _add_faults(sb)

    @app.delete("/_sandbox/faults")
    def sandbox_clear_faults() -> Response:
        """Drop every pending fault."""
        state.faults.clear()
        return json_response({"cleared": True})

    @app.get("/_sandbox/settings")
    def sandbox_settings() -> Response:
        """The current runtime settings."""
        return json_response(asdict(state.settings.current))

    @app.post("/_sandbox/settings")
    def sandbox_change_settings() -> Response:
        """Change some settings (a JSON object of them); all or nothing."""
        try:
            changed = state.settings.update(request.get_json(silent=True))
        except SettingsError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(asdict(changed))

    @app.delete("/_sandbox/settings")
    def sandbox_restore_settings() -> Response:
        """Back to the settings the sandbox started with."""
        return json_response(asdict(state.settings.restore()))

    @app.post("/_sandbox/applications")
    def sandbox_create_application() -> Response:
        """An application created in the ATS just now: Kombo lists it after the sync delay."""
        try:
            created = _create_application(sb, request.get_json(silent=True))
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(created, 201)

    @app.post("/_sandbox/sync")
    def sandbox_sync() -> Response:
        """Kombo's sync runs now: every application created so far is listed."""
        for iid in sb.dataset.behaviour_by_id:
            integ = sb.dataset.get(iid)
            if integ is not None and integ.pending_until:
                for created in integ.applications:
                    created.visible_ms = min(created.visible_ms, now_ms())
                integ.pending_until = 0
        return json_response({"synced": True})

    @app.get("/_sandbox/concurrency")
    def sandbox_concurrency() -> Response:
        """Action calls in flight and the peak per integration (?reset=1 starts a new peak)."""
        return json_response(state.concurrency(reset=request.args.get("reset") == "1"))

    @app.post("/_sandbox/reset")
    def sandbox_reset() -> Response:
        """Drop uploads, faults and the request log (seeded data stays)."""
        state.reset()
        return json_response({"reset": True})


def _create_application(sb: Sandbox, spec: Any) -> dict[str, Any]:
    """{"integration_id", "email" (an existing candidate), "job_id"?, "sync_delay"? (seconds;
    default: the sync_delay setting)} -> {"id", "visible_at"}."""
    if not isinstance(spec, dict) or not isinstance(spec.get("email"), str):
        raise ValueError('Send {"integration_id": ..., "email": ..., "job_id"?, "sync_delay"?}.')
    integ = sb.dataset.get(str(spec.get("integration_id")))
    if integ is None:
        raise ValueError(f"Unknown integration_id {spec.get('integration_id')!r}.")
    cand = integ.candidate_by_email.get(spec["email"].lower())
    if cand is None:
        raise ValueError(f"No candidate with e-mail {spec['email']!r} in {integ.id}.")
    job = integ.job_by_id.get(str(spec.get("job_id"))) or cand.applications[0].job
    delay = spec.get("sync_delay", sb.state.settings.current.sync_delay)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600:
        raise ValueError("'sync_delay' must be 0-3600 seconds.")
    created = now_ms()
    app = Application(
        make_id(integ.id, "created", uuid.uuid4().hex),
        str(900_000 + len(integ.applications_all)),
        cand,
        job,
        job.stages[0],
        "PENDING",
        None,
        created,
        created,
        None,
        visible_ms=created + int(delay * 1000),
    )
    integ.add_application(app)
    return {"id": app.id, "visible_at": iso_ms(app.visible_ms)}


def _add_faults(sb: Sandbox) -> Response:
    spec: Any = request.get_json(silent=True)
    if spec is None:
        return json_response({"error": "Send a JSON fault object (or a list of them)."}, 400)
    specs = spec if isinstance(spec, list) else [spec]
    try:
        added = [f.describe() for f in sb.state.faults.add(specs)]
    except FaultSpecError as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(added if isinstance(spec, list) else added[0], 201)


def create_app(
    api_key: str = DEFAULT_API_KEY,
    applications: int = 200,
    concurrency_limit: int = 30,
    warm: bool = True,
    settings: Settings | None = None,
    variants: bool = False,
) -> Flask:
    """Build the sandbox WSGI app (Flask). `warm` seeds in a background thread right away."""
    if concurrency_limit < 1:
        raise ValueError("concurrency_limit must be >= 1")
    dataset = Dataset(applications, variants=variants)
    sb = Sandbox(api_key=api_key, dataset=dataset, state=SandboxState(dataset, concurrency_limit))
    if settings is not None:
        sb.state.settings = SettingsStore(settings)
    app = Flask(__name__)
    app.extensions["kombo_sandbox"] = sb
    _register_kombo(app, sb)
    _register_control(app, sb)
    # Outermost layer, so a requested reset happens after Flask has finished with the call.
    app.wsgi_app = ResetMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    if warm:
        threading.Thread(target=dataset.warm, name="kombo-sandbox-seed", daemon=True).start()
    return app
