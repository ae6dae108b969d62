"""A candidate's attachments: list them, stream one down, and add one to an application.

Adding is the delicate part. Kombo's add-attachment call has no idempotency key
and returns no id, so a timeout or a reset after the body was sent leaves us
not knowing whether the ATS has the file. We never resend blindly: we compare
the candidate's attachments with a snapshot taken before the upload and tell the
user what happened. The same file sent twice at once to one application is
refused by a lock, so it is sent once.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, Any

from flask import Flask, Request, current_app, url_for
from werkzeug.datastructures import FileStorage

from portal import access, filetype, guard, integrations, previews
from portal.access import Principal
from portal.applications import Application, other_applications
from portal.errors import PortalError, from_kombo
from portal.integrations import get_kombo
from portal.kombo import KomboError
from portal.names import display_name
from portal.state import get_store

log = logging.getLogger(__name__)

# Kombo codes meaning "this ATS cannot list attachments" (not a failure of the moment).
NOT_LISTABLE = {
    "INTEGRATION.ACTION_NOT_AVAILABLE",
    "INTEGRATION.ACTION_DISABLED",
    "INTEGRATION.MODEL_NOT_AVAILABLE",
    "INTEGRATION.MODEL_DISABLED",
    "INTEGRATION.PERMISSION_MISSING",
}


@dataclass
class AttachmentList:
    """The candidate's attachments, or why they cannot be shown."""

    available: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    warnings: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The JSON form (download links work for `download_expires_in` seconds)."""
        return {
            "download_expires_in": int(current_app.config["DOWNLOAD_URL_TTL"]),
            "available": self.available,
            "attachments": self.items,
            "message": self.message,
            "warnings": self.warnings,
        }


class UploadRequest(Request):
    """Multipart file parts always go to an unnamed temp file on disk.

    Memory stays flat whatever the size, and libmagic gets a real descriptor
    to read the whole file from (Office formats need the whole file).
    """

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return tempfile.TemporaryFile("w+b")  # noqa: SIM115 - werkzeug owns and closes it


def init_app(app: Flask) -> None:
    """Stream uploads to disk."""
    app.request_class = UploadRequest


# -- listing -----------------------------------------------------------------


def fetch(
    integration_id: str, candidate_id: str, *, guarded: bool = True
) -> tuple[list[dict[str, Any]], list[str]]:
    """The candidate's attachments (live from the ATS) and Kombo's warnings.

    `guarded=False` skips the in-flight limit and breaker: reconciliation must try to learn
    the truth even while the breaker is open.
    """
    kombo = get_kombo()
    if guarded:
        result = guard.call(
            integration_id, kombo.get_candidate_attachments, integration_id, candidate_id
        )
    else:
        result = kombo.get_candidate_attachments(integration_id, candidate_id)
    items = [a for a in (result.data or {}).get("results", []) if isinstance(a, dict)]
    return items, result.warnings


def list_for(principal: Principal, integration_id: str, app: Application) -> AttachmentList:
    """The candidate's attachments with where each belongs, and download links."""
    tool = integrations.get(integration_id).tool
    if not app.candidate_id:
        return AttachmentList(False, message="This application has no candidate in the ATS.")
    try:
        raw, warnings = fetch(integration_id, app.candidate_id)
    except KomboError as err:
        if err.code in NOT_LISTABLE:
            return AttachmentList(
                False,
                message=f"{tool} does not let the portal list attachments. Uploads still work: "
                f"check {tool} to see the files.",
            )
        raise
    jobs = _other_jobs(integration_id, app, raw)
    items = [_item(principal, integration_id, app, a, jobs) for a in raw]
    return AttachmentList(True, items=items, warnings=warnings)


def _other_jobs(integration_id: str, app: Application, raw: list[dict[str, Any]]) -> dict[str, str]:
    if not any(a.get("application_id") not in (None, app.id) for a in raw):
        return {}
    try:
        return other_applications(integration_id, app.candidate_id or "")
    except KomboError:
        return {}  # only labels; the list is still right without them


def _item(
    principal: Principal,
    integration_id: str,
    app: Application,
    a: dict[str, Any],
    jobs: dict[str, str],
) -> dict[str, Any]:
    owner = a.get("application_id")
    if owner == app.id:
        belongs, label = "this_application", "This application"
    elif owner is None:
        belongs, label = "candidate", "Candidate profile"
    else:
        belongs, label = "other_application", f"{jobs.get(owner, 'Another')} application"
    item = {
        "id": a.get("id"),
        "name": display_name(str(a.get("file_name") or "attachment")),
        "type": a.get("type"),
        "type_label": integrations.TYPE_LABELS.get(str(a.get("type")), "Other"),
        "content_type": a.get("content_type"),
        "format_label": filetype.format_label(a.get("content_type")),
        "application_id": owner,
        "belongs_to": belongs,
        "belongs_label": label,
        "created_at": a.get("remote_created_at"),
        "download_url": None,
        "preview_url": None,
        "preview_page_url": None,
    }
    if "download" in principal.scopes and app.candidate_id and isinstance(a.get("id"), str):
        token = access.download_token(integration_id, app.candidate_id, a["id"])
        item["download_url"] = url_for("api.download", token=token)
        if previews.can_preview(a):  # a preview shows what a download would: same scope
            seen = previews.preview_token(
                integration_id, app.candidate_id, a["id"], principal.partner
            )
            item["preview_url"] = url_for("previews.thumbnail", token=seen)
            item["preview_page_url"] = url_for("previews.view", token=seen)
    return item


# -- uploading ----------------------------------------------------------------


def upload(
    principal: Principal,
    integration_id: str,
    app: Application,
    file: FileStorage | None,
    type_: str | None,
) -> dict[str, Any]:
    """Check the file's real type, send it to the ATS once, and say what happened."""
    if type_ not in filetype.ATTACHMENT_TYPES:
        raise PortalError(
            400, "type_invalid", "Choose what the file is: CV, Cover letter or Other."
        )
    if file is None or file.stream is None:
        raise PortalError(400, "file_missing", "Choose a file to upload.")
    integration = integrations.get(integration_id)
    if not integration.upload_available:
        raise PortalError(
            409, "uploads_not_available", integration.reason or "Uploads are not available."
        )
    try:
        accepted = filetype.check_upload(
            file.stream,
            filename=file.filename or "",
            attachment_type=type_,
            restrictions=integration.restrictions,
            max_size=current_app.config["MAX_UPLOAD_BYTES"],
        )
    except filetype.FileRefused as refused:
        raise PortalError(
            refused.status, refused.code, refused.message, file=file.filename
        ) from None
    lock = f"upload:{integration_id}:{app.id}:{accepted.sha256}"
    if not get_store().claim(lock, current_app.config["KOMBO_WRITE_TIMEOUT"] + 60):
        raise PortalError(
            409,
            "upload_in_progress",
            f"“{accepted.name}” is already being sent to this application. Wait for it to finish.",
        )
    try:
        return _send(integration, app, accepted, file.stream, type_)
    finally:
        get_store().release(lock)


def _send(
    integration: integrations.Integration,
    app: Application,
    accepted: filetype.Accepted,
    stream: IO[bytes],
    type_: str,
) -> dict[str, Any]:
    snapshot = _snapshot(integration.id, app)
    kombo = get_kombo()
    outcome = {
        "attachment": {
            "name": accepted.name,
            "type": type_,
            "content_type": accepted.content_type,
            "size": accepted.size,
            "sha256": accepted.sha256,
        },
        "application_id": app.id,
        "warnings": [],
        "confirmed_by": "kombo",
    }
    started = time.time()
    try:
        result = guard.call(
            integration.id,
            kombo.add_application_attachment,
            integration.id,
            app.id,
            name=accepted.name,
            type=type_,
            content_type=accepted.content_type,
            fileobj=stream,
            size=accepted.size,
        )
    except KomboError as err:
        if not err.maybe_applied:
            raise from_kombo(err) from None
        log.warning(
            "upload outcome unknown (%r) after %.1fs; reconciling", err, time.time() - started
        )
        _reconcile(integration, app, snapshot, accepted.name, err)
        outcome["confirmed_by"] = "listing"
        return outcome
    outcome["warnings"] = result.warnings
    log.info(
        "uploaded %s bytes to %s/%s as %s",
        accepted.size,
        integration.id,
        app.id,
        accepted.content_type,
    )
    return outcome


def _snapshot(integration_id: str, app: Application) -> set[str] | None:
    """Attachment ids before the upload, or None if this ATS cannot list them."""
    if not app.candidate_id:
        return None
    try:
        items, _ = fetch(integration_id, app.candidate_id)
    except KomboError as err:
        log.info("no snapshot before upload: %r", err)
        return None
    return {a.get("id") for a in items}


def _reconcile(
    integration: integrations.Integration,
    app: Application,
    snapshot: set[str] | None,
    name: str,
    err: KomboError,
) -> None:
    """Look for the file in the list; return if it arrived, raise what the user must know if not."""
    if snapshot is None:
        raise PortalError(
            502,
            "upload_unconfirmed",
            f"We could not confirm whether “{name}” reached {integration.tool}. "
            f"Check the application in {integration.tool} before uploading it again.",
            log_url=err.log_url,
        )
    looked = False
    for wait in current_app.config["RECONCILE_WAITS"]:
        time.sleep(wait)
        try:
            items, _ = fetch(integration.id, app.candidate_id or "", guarded=False)
        except KomboError:
            continue
        looked = True
        new = [a for a in items if a.get("id") not in snapshot and a.get("file_name") == name]
        if new:
            log.info("reconciled: %s arrived as %s", name, new[0].get("id"))
            return
    if not looked:
        raise PortalError(
            502,
            "upload_unconfirmed",
            f"We could not confirm whether “{name}” reached {integration.tool}, because it is not "
            f"answering. Check the application in {integration.tool} before uploading it again.",
            log_url=err.log_url,
        )
    raise PortalError(
        502,
        "upload_failed",
        f"“{name}” did not reach {integration.tool}; nothing was saved. You can try again.",
        log_url=err.log_url,
        retryable=True,
    )
