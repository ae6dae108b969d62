"""The Kombo endpoints. Each handler gets the sandbox, the call record and path params, and
returns a Response or raises ApiError; auth, integration lookup, concurrency slots and faults
are handled around it by the dispatcher in app.py."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from werkzeug.wsgi import wrap_file

from . import queries, render
from .catalog import ENVIRONMENT_ID
from .context import Call, Sandbox
from .data import INTEGRATION_CREATED_MS, Application, Attachment, Candidate, Integration
from .errors import ApiError, json_response
from .ids import is_kombo_id
from .uploads import (
    check_restrictions,
    decode_data_to,
    fetch_data_url,
    parse_upload,
    read_body,
)

_DOWNLOAD_CHUNK = 256 * 1024


def success(data: Any, warnings: list[str] | None = None) -> Response:
    """Kombo's success envelope; `warnings` is always present."""
    return json_response(
        {
            "status": "success",
            "data": data,
            "warnings": [{"message": m} for m in warnings or []],
        }
    )


def _integration(call: Call) -> Integration:
    if call.integration is None:  # the dispatcher resolves it for every /ats route
        raise ApiError("PLATFORM.UNKNOWN_ERROR", "No integration resolved.", status=500)
    return call.integration


def _not_found(kind: str, object_id: str, integ: Integration) -> ApiError:
    return ApiError(
        "PLATFORM.INPUT_INVALID",
        f"No {kind} with ID {object_id!r} exists in integration {integ.id}.",
        status=404,
    )


def _application(integ: Integration, application_id: str) -> Application:
    app = integ.application_by_id.get(application_id) if is_kombo_id(application_id) else None
    if app is None or app.visible_ms > time.time() * 1000:  # not synced into Kombo yet
        raise _not_found("application", application_id, integ)
    return app


def _candidate(integ: Integration, candidate_id: str) -> Candidate:
    cand = integ.candidate_by_id.get(candidate_id) if is_kombo_id(candidate_id) else None
    if cand is None:
        raise _not_found("candidate", candidate_id, integ)
    return cand


def _not_available(integ: Integration, what: str) -> ApiError:
    return ApiError(
        "INTEGRATION.ACTION_NOT_AVAILABLE",
        f"{what} is not available for {integ.behaviour.label} ({integ.id}).",
    )


# -- general -----------------------------------------------------------------------------------
def check_api_key(sb: Sandbox, call: Call) -> Response:
    """GET /check-api-key."""
    # customer_id is the deprecated name of environment_id; Kombo still sends both.
    return success({"environment_id": ENVIRONMENT_ID, "customer_id": ENVIRONMENT_ID})


def get_integration(sb: Sandbox, call: Call, integration_id: str) -> Response:
    """GET /integrations/{integration_id} (works for INVALID integrations too)."""
    behaviour = sb.dataset.behaviour_by_id.get(integration_id)
    if behaviour is None:
        raise ApiError(
            "PLATFORM.INTEGRATION_NOT_FOUND",
            f"No integration with ID {integration_id!r} exists in this environment.",
        )
    return success(render.integration(integration_id, behaviour, INTEGRATION_CREATED_MS))


# -- ATS read models -----------------------------------------------------------------------
def get_upload_restrictions(sb: Sandbox, call: Call) -> Response:
    """GET /ats/actions/ats_add_application_attachment."""
    return success(render.upload_restrictions(_integration(call).behaviour))


def _list(call: Call, op: str) -> tuple[Integration, queries.Page]:
    integ = _integration(call)
    values, warnings = queries.parse_params(op, request.args)
    lister = {
        "list_applications": queries.list_applications,
        "list_candidates": queries.list_candidates,
        "list_jobs": queries.list_jobs,
    }[op]
    return integ, lister(integ, values, warnings)


def list_applications(sb: Sandbox, call: Call) -> Response:
    """GET /ats/applications."""
    integ, page = _list(call, "list_applications")
    results = [render.application(integ, a) for a in page.items]
    return success({"next": page.next, "results": results}, page.warnings)


def list_candidates(sb: Sandbox, call: Call) -> Response:
    """GET /ats/candidates."""
    integ, page = _list(call, "list_candidates")
    include_deleted = request.args.get("include_deleted") == "true"
    results = [render.candidate(integ, c, include_deleted) for c in page.items]
    return success({"next": page.next, "results": results}, page.warnings)


def list_jobs(sb: Sandbox, call: Call) -> Response:
    """GET /ats/jobs."""
    integ, page = _list(call, "list_jobs")
    return success(
        {"next": page.next, "results": [render.job(integ, j) for j in page.items]}, page.warnings
    )


# -- attachments (actions) -----------------------------------------------------------------
def get_candidate_attachments(sb: Sandbox, call: Call, candidate_id: str) -> Response:
    """GET /ats/candidates/{id}/attachments: every file of the candidate, newest last."""
    integ = _integration(call)
    if not integ.behaviour.can_list:
        raise _not_available(integ, "Reading attachments")
    cand = _candidate(integ, candidate_id)
    host = request.host_url
    results = [
        render.candidate_attachment(a, host) for a in sb.state.attachments_of(integ, cand.id)
    ]
    warnings = []
    if cand.id == integ.warning_candidate_id:
        warnings.append(
            f"{integ.behaviour.label} returned 1 more attachment for this candidate "
            "without a downloadable file; it was skipped."
        )
    return success({"results": results}, warnings)


def get_application_attachments(sb: Sandbox, call: Call, application_id: str) -> Response:
    """GET /ats/applications/{id}/attachments; candidate-level ATSs return the candidate's."""
    integ = _integration(call)
    b = integ.behaviour
    if not b.can_list:
        raise _not_available(integ, "Reading attachments")
    app = _application(integ, application_id)
    atts = sb.state.attachments_of(integ, app.candidate.id)
    warnings = []
    if b.candidate_level:
        warnings.append(
            f"{b.label} stores attachments on the candidate; these are all "
            f"attachments of candidate {app.candidate.id}."
        )
    else:
        atts = [a for a in atts if a.application_id == app.id]
    host = request.host_url
    return success({"results": [render.application_attachment(a, host) for a in atts]}, warnings)


def add_application_attachment(sb: Sandbox, call: Call, application_id: str) -> Response:
    """POST /ats/applications/{id}/attachments: validate, fetch/decode, restrict, store."""
    integ = _integration(call)
    b = integ.behaviour
    if not b.can_upload:
        raise _not_available(integ, "Adding attachments")
    app = _application(integ, application_id)
    raw = read_body(request)
    call.body_bytes = len(raw)
    upload = parse_upload(raw, application_id)  # empties raw once decoded
    temp = sb.state.temp_path()
    if upload.data is not None:
        size, digest = decode_data_to(upload.data, temp)
        upload.data = None  # drop the base64 text now that the file is on disk
        content_type = upload.content_type or ""
    else:
        size, digest, content_type = fetch_data_url(
            upload.data_url or "", temp, upload.content_type
        )
    try:
        check_restrictions(b, upload.type, size, content_type)
    except ApiError:
        temp.unlink(missing_ok=True)
        raise
    sb.state.store_upload(
        integ,
        app,
        name=upload.name,
        kind=upload.type,
        content_type=content_type,
        temp=temp,
        size=size,
        sha256=digest,
    )
    return success({}, _upload_warnings(integ, app, upload.remote_fields))


def _upload_warnings(
    integ: Integration, app: Application, remote_fields: dict[str, Any] | None
) -> list[str]:
    b = integ.behaviour
    warnings = []
    if b.candidate_level:
        warnings.append(
            f"{b.label} does not support attachments on applications; the file was "
            f"added to candidate {app.candidate.id} instead."
        )
    for key in sorted(remote_fields or {}):
        if key != b.tool:
            warnings.append(
                f"remote_fields.{key} was ignored: this integration is {b.label} ({b.tool})."
            )
    return warnings


# -- resources host ------------------------------------------------------------------------
FILE_LINK_SECONDS = 300


def _file_signature(sb: Sandbox, attachment_id: str, expires: str) -> str:
    key = sb.api_key.encode()
    return hmac.new(key, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def download(sb: Sandbox, call: Call, attachment_id: str) -> Response:
    """GET /resources/{id}: the exact bytes, or (settings.file_host) a 302 to a signed link
    on a second host, like a storage URL; with settings.resources_need_key, the key first."""
    settings = sb.state.settings.current
    if settings.resources_need_key:
        header = request.headers.get("Authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {sb.api_key}".encode()):
            raise ApiError(None, "This resource needs the API key.", status=401)
    att = _stored(sb, attachment_id)
    if settings.file_host:
        expires = str(int(time.time()) + FILE_LINK_SECONDS)
        port = request.host.rsplit(":", 1)[-1] if ":" in request.host else "80"
        query = urlencode({"expires": expires, "signature": _file_signature(sb, att.id, expires)})
        target = f"http://{settings.file_host}:{port}/files/{att.id}?{query}"
        return Response(b"", status=302, headers={"Location": target})
    return _file(att)


def download_file(sb: Sandbox, call: Call, attachment_id: str) -> Response:
    """GET /files/{id}?expires=&signature=: the second host; needs a valid, fresh signature."""
    expires = request.args.get("expires", "")
    signature = request.args.get("signature", "")
    good = _file_signature(sb, attachment_id, expires)
    if not expires.isdigit() or int(expires) < time.time():
        raise ApiError(None, "This link has expired.", status=403)
    if not hmac.compare_digest(signature.encode(), good.encode()):
        raise ApiError(None, "The signature does not match.", status=403)
    return _file(_stored(sb, attachment_id))


def _stored(sb: Sandbox, attachment_id: str) -> Attachment:
    att = sb.state.find_attachment(attachment_id) if is_kombo_id(attachment_id) else None
    if att is None:
        raise ApiError(None, f"No resource with ID {attachment_id!r}.", status=404)
    return att


def _file(att: Attachment) -> Response:
    """The exact bytes, with the stored Content-Type and length."""
    if att.path is None:
        data = att.seed_bytes()
        return Response(data, content_type=att.content_type)
    try:
        handle = att.path.open("rb")
    except FileNotFoundError:  # dropped by /_sandbox/reset meanwhile
        raise ApiError(None, f"No resource with ID {att.id!r}.", status=404) from None
    headers = {"Content-Length": str(att.size), "Content-Type": att.content_type}
    body = wrap_file(request.environ, handle, _DOWNLOAD_CHUNK)
    return Response(body, headers=headers, direct_passthrough=True)
