"""The JSON API (/api/v1): what the page's script and partner backends call.

Staff authenticate with their session cookie (plus the CSRF header on writes),
embed sessions with `Authorization: Bearer <session_token>`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from portal import access, applications, attachments, downloads, idempotency, integrations
from portal.access import current_principal, integration_for, require
from portal.errors import PortalError

bp = Blueprint("api", __name__)


def _principal() -> access.Principal:
    principal = current_principal()
    if principal is None:  # @require already refused; this keeps type checkers and -O honest
        raise PortalError(401, "sign_in_required", "Please sign in.")
    return principal


def _integration(iid: str) -> str:
    return integration_for(_principal(), iid)


@bp.get("/api/v1/me")
@require()
def me() -> Any:
    """Who the caller is and what it may do."""
    p = _principal()
    return {
        "kind": p.kind,
        "subject": p.subject,
        "integrations": sorted(p.integrations),
        "application_id": p.application_id,
        "scope": sorted(p.scopes),
        "expires_at": p.expires_at,
    }


@bp.get("/api/v1/integrations")
@require()
def list_integrations() -> Any:
    """The integrations the caller may use, with status and upload limits."""
    return {"integrations": [i.public() for i in integrations.all_for(_principal().integrations)]}


@bp.get("/api/v1/integrations/<iid>")
@require()
def get_integration(iid: str) -> Any:
    """One integration, with the formats and size limit per attachment type."""
    return integrations.get(_integration(iid)).public()


@bp.get("/api/v1/integrations/<iid>/jobs")
@require("list")
def list_jobs(iid: str) -> Any:
    """Open jobs whose name contains ?q= (Kombo searches job names only)."""
    found, nxt = applications.jobs(
        _integration(iid), request.args.get("q", ""), request.args.get("cursor")
    )
    return {"jobs": found, "next": nxt}


@bp.get("/api/v1/integrations/<iid>/applications")
@require("list")
def list_applications(iid: str) -> Any:
    """Applications by ?email= (exact), by ?job_id=, or the most recent; paged by ?cursor=."""
    p, iid = _principal(), _integration(iid)
    email, job_id, cursor = (
        request.args.get("email"),
        request.args.get("job_id"),
        request.args.get("cursor"),
    )
    if email:
        found, nxt, mode = applications.by_email(p, iid, email), None, "email"
    elif job_id:
        (found, nxt), mode = applications.by_job(p, iid, job_id, cursor), "job"
    else:
        (found, nxt), mode = applications.recent(p, iid, cursor), "recent"
    return {
        "applications": [a.public() for a in found],
        "next": nxt,
        "searched_by": mode,
        "help": applications.SEARCH_HELP,
    }


@bp.get("/api/v1/integrations/<iid>/applications/<aid>")
@require()
def get_application(iid: str, aid: str) -> Any:
    """One application (checked to belong to the integration)."""
    return applications.get(_principal(), _integration(iid), aid).public()


@bp.get("/api/v1/integrations/<iid>/applications/<aid>/attachments")
@require("list")
def list_attachments(iid: str, aid: str) -> Any:
    """The candidate's attachments, each with where it belongs and a download_url."""
    p, iid = _principal(), _integration(iid)
    app = applications.get(p, iid, aid)
    return attachments.list_for(p, iid, app).public()


@bp.post("/api/v1/integrations/<iid>/applications/<aid>/attachments")
@require("upload")
def add_attachment(iid: str, aid: str) -> Any:
    """Upload multipart `file` with `type` (CV, COVER_LETTER, OTHER); 201 when the ATS has it.

    An `Idempotency-Key` header makes retries safe: a repeat gets the first outcome (marked
    `Idempotent-Replayed: true`); without one, the same file again within 10 minutes is
    answered 200 `already_uploaded`.
    """
    key = idempotency.parse_key(request.headers.getlist(idempotency.KEY_HEADER))
    p, iid = _principal(), _integration(iid)
    _one_field("file", request.files)
    _one_field("type", request.form)
    app = applications.get(p, iid, aid)
    answer = attachments.upload(
        p, iid, app, request.files.get("file"), request.form.get("type"), key
    )
    resp = jsonify(answer.body)
    resp.status_code = answer.status
    if answer.replayed:
        resp.headers[idempotency.REPLAYED_HEADER] = "true"
    return resp


def _one_field(name: str, fields: Any) -> None:
    if len(fields.getlist(name)) > 1:
        raise PortalError(400, "field_repeated", f"Send one `{name}` per request.")


@bp.get("/download/<token>")
def download(token: str) -> Response:
    """Stream one attachment from the ATS; the signed link is the grant (links carry no header)."""
    iid, cid, att_id = access.read_download_token(token)
    return downloads.stream(iid, cid, att_id)


@bp.post("/api/v1/embed/session")
def embed_session() -> Any:
    """Exchange a partner's embed token (once) for a session token."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("token"), str):
        raise PortalError(400, "token_missing", 'Send {"token": "<embed token>"} as JSON.')
    partner = payload.get("partner")
    return access.exchange_embed_token(
        payload["token"], partner if isinstance(partner, str) else None
    )
