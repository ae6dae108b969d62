"""The JSON API (/api/v1): what the page's script and partner backends call.

Staff authenticate with their session cookie (plus the CSRF header on writes),
embed sessions with `Authorization: Bearer <session_token>`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import lazy_gettext as _l

from portal import access, applications, attachments, downloads, idempotency, integrations, tokens
from portal.access import Principal, require
from portal.errors import PortalError
from portal.security import json_body

bp = Blueprint("api", __name__)


@bp.get("/api/v1/me")
@require()
def me(p: Principal) -> Any:
    """Who the caller is and what it may do."""
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
def list_integrations(p: Principal) -> Any:
    """The integrations the caller may use, with status and upload limits."""
    return {"integrations": [i.public() for i in integrations.all_for(p.integrations)]}


@bp.get("/api/v1/integrations/<iid>")
@require()
def get_integration(p: Principal, iid: str) -> Any:
    """One integration, with the formats and size limit per attachment type."""
    return integrations.get(iid).public()


@bp.get("/api/v1/integrations/<iid>/jobs")
@require("list")
def list_jobs(p: Principal, iid: str) -> Any:
    """Open jobs whose name contains ?q= (Kombo searches job names only); not for a session
    locked to one application, which has no job to choose."""
    if p.application_id is not None:
        raise PortalError(
            403, "locked_to_application", _l("This session is for one application only.")
        )
    found, nxt = applications.jobs(iid, request.args.get("q", ""), request.args.get("cursor"))
    return {"jobs": found, "next": nxt}


@bp.get("/api/v1/integrations/<iid>/applications")
@require("list")
def list_applications(p: Principal, iid: str) -> Any:
    """Applications by ?email= (exact), by ?job_id=, or the most recent; paged by ?cursor=."""
    args = request.args
    found = applications.search(
        p, iid, email=args.get("email"), job_id=args.get("job_id"), cursor=args.get("cursor")
    )
    return {
        "applications": [a.public() for a in found.applications],
        "next": found.next,
        "searched_by": found.mode,
        "help": applications.SEARCH_HELP,
    }


@bp.get("/api/v1/integrations/<iid>/applications/<aid>")
@require()
def get_application(p: Principal, iid: str, aid: str) -> Any:
    """One application (checked to belong to the integration)."""
    return applications.get(p, iid, aid).public()


@bp.get("/api/v1/integrations/<iid>/applications/<aid>/attachments")
@require("list")
def list_attachments(p: Principal, iid: str, aid: str) -> Any:
    """The candidate's attachments, each with where it belongs and a download_url."""
    app = applications.get(p, iid, aid)
    return attachments.list_for(p, iid, app).public()


@bp.post("/api/v1/integrations/<iid>/applications/<aid>/attachments")
@require("upload")
def add_attachment(p: Principal, iid: str, aid: str) -> Any:
    """Upload multipart `file` with `type` (CV, COVER_LETTER, OTHER); 201 when the ATS has it.

    An `Idempotency-Key` header makes retries safe: a repeat gets the first outcome (marked
    `Idempotent-Replayed: true`); without one, the same file again within 10 minutes is
    answered 200 `already_uploaded`.
    """
    key = idempotency.parse_key(request.headers.getlist(idempotency.KEY_HEADER))
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
        raise PortalError(400, "field_repeated", _l("Send one `%(name)s` per request.", name=name))


@bp.get("/download/<token>")
def download(token: str) -> Response:
    """Stream one attachment from the ATS; the signed link is the grant (links carry no header)."""
    iid, cid, att_id, lock, holder = tokens.read_download_token(token)
    access.check_link_holder(holder)
    return downloads.stream(iid, cid, att_id, only_application=lock)


def _token_field() -> tuple[str, dict[str, Any]]:
    payload = json_body()
    if not isinstance(payload, dict) or not isinstance(payload.get("token"), str):
        raise PortalError(400, "token_missing", _l('Send {"token": "<embed token>"} as JSON.'))
    return payload["token"], payload


@bp.post("/api/v1/embed/session")
def embed_session() -> Any:
    """Exchange a partner's embed token (once) for a session token."""
    token, payload = _token_field()
    partner = payload.get("partner")
    return tokens.exchange_embed_token(token, partner if isinstance(partner, str) else None)


@bp.post("/api/v1/embed/session/revoke")
@require()
def revoke_embed_session(p: Principal) -> Any:
    """The partner user signed out: end this embed session (its bearer) everywhere."""
    if p.embed is None:
        raise PortalError(400, "not_an_embed_session", _l("Staff sign out at /signout."))
    tokens.revoke_session(p.embed)
    return {"revoked": "session"}


@bp.post("/api/v1/embed/revoke")
def revoke_embed_sessions() -> Any:
    """A partner's backend ends all its sessions (or one user's) with a signed revocation token."""
    token, _ = _token_field()
    return tokens.revoke_all(token)
