"""A candidate's attachments: list them, stream one down, and add one to an application.

Adding is the delicate part. Kombo's add-attachment call has no idempotency key
and returns no id, so a timeout or a reset after the body was sent leaves us
not knowing whether the ATS has the file. We never resend blindly: we read back
the attachments that are new since a snapshot taken before the upload, compare
their bytes with ours, and tell the user what happened. Repeats are answered
from an idempotency record (portal/idempotency.py), and uploads to one
application go one at a time, so two of ours are never confused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

import requests
from flask import Flask, Request, current_app, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from portal import filetype, guard, idempotency, integrations, metrics, previews, tokens
from portal.access import Principal, link_holder, link_lifetime, shown_principal
from portal.applications import Application, other_applications
from portal.errors import PortalError, from_kombo
from portal.i18n import lazy_join
from portal.kombo import KomboError
from portal.kombo_app import get_kombo
from portal.names import display_name
from portal.numbers import parse_count
from portal.state import get_store

log = logging.getLogger(__name__)


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
            "download_expires_in": link_lifetime(shown_principal()),
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
        if err.not_available:
            return AttachmentList(
                False,
                message=f"{tool} does not let the portal list attachments. Uploads still work: "
                f"check {tool} to see the files.",
            )
        raise
    # A session locked to one application sees its files and the candidate profile's only.
    raw = [a for a in raw if principal.may_see_file_of(a.get("application_id"))]
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
        belongs, label = "this_application", _l("This application")
    elif owner is None:
        belongs, label = "candidate", _l("Candidate profile")
    elif owner in jobs:
        belongs, label = "other_application", _l("%(job)s application", job=jobs[owner])
    else:
        belongs, label = "other_application", _l("Another application")
    item = {
        "id": a.get("id"),
        "name": display_name(str(a.get("file_name") or "attachment")),
        "type": a.get("type"),
        "type_label": integrations.TYPE_LABELS.get(str(a.get("type")), _l("Other")),
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
        holder = link_holder(principal)  # the links end with this session
        token = tokens.download_token(
            integration_id, app.candidate_id, a["id"], principal.application_id, holder
        )
        item["download_url"] = url_for("api.download", token=token)
        if previews.can_preview(a):  # a preview shows what a download would: same scope
            seen = previews.preview_token(
                integration_id,
                app.candidate_id,
                a["id"],
                principal.application_id,
                principal.partner,
                holder,
            )
            item["preview_url"] = url_for("previews.thumbnail", token=seen)
            item["preview_page_url"] = url_for("previews.view", token=seen)
    return item


# -- uploading ----------------------------------------------------------------

# Reading a candidate back in slices: memory stays flat whatever its size.
_HASH_CHUNK = 256 * 1024


def upload(
    principal: Principal,
    integration_id: str,
    app: Application,
    file: FileStorage | None,
    type_: str | None,
    key: str | None = None,
) -> idempotency.Answer:
    """Check the file's real type, send it to the ATS once per key, and say what happened."""
    if type_ not in filetype.ATTACHMENT_TYPES:
        raise PortalError(
            400, "type_invalid", _l("Choose what the file is: CV, Cover letter or Other.")
        )
    if file is None or file.stream is None:
        raise PortalError(400, "file_missing", _l("Choose a file to upload."))
    integration = integrations.get(integration_id)
    if not integration.upload_available:
        raise PortalError(
            409, "uploads_not_available", integration.reason or _l("Uploads are not available.")
        )
    try:
        accepted = filetype.check_upload(
            cast(BinaryIO, file.stream),  # Werkzeug types it IO[bytes]: a spooled file or BytesIO
            filename=file.filename or "",
            attachment_type=type_,
            restrictions=integration.restrictions,
            max_size=current_app.config["MAX_UPLOAD_BYTES"],
        )
    except filetype.FileRefused as refused:
        metrics.record_refusal(refused.code)
        raise PortalError(
            refused.status, refused.code, refused.message, file=file.filename
        ) from None
    fp = idempotency.fingerprint(integration_id, app.id, type_, accepted.sha256)
    claim = idempotency.begin(principal, key, fp)
    if isinstance(claim, idempotency.Answer):
        log.info("upload to %s/%s answered from its idempotency record", integration_id, app.id)
        return claim
    try:
        with claim, _one_at_a_time(integration, app):
            answer = _send_once(claim, integration, app, accepted, file.stream, type_)
    except PortalError as err:
        metrics.record_upload(integration_id, err.code)
        raise
    metrics.record_upload(integration_id, "uploaded")
    return answer


@contextmanager
def _one_at_a_time(integration: integrations.Integration, app: Application) -> Iterator[None]:
    """Uploads from this portal to one application go one after the other (across workers), so a
    file that appears during our reconciliation can only be ours or someone else's, never a
    concurrent upload of ours."""
    busy = PortalError(
        409,
        "upload_in_progress",
        _l("Another file is still being sent to this application. Try again in a minute."),
        retryable=True,
    )
    lease = idempotency.hold(f"upload-app:{integration.id}:{app.id}", busy)
    try:
        yield
    finally:
        lease.release()


def _send_once(
    claim: idempotency.Claim,
    integration: integrations.Integration,
    app: Application,
    accepted: filetype.Accepted,
    stream: IO[bytes],
    type_: str,
) -> idempotency.Answer:
    outcome: dict[str, Any] = {
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
    snapshot: set[str] | None
    if claim.previous is not None:
        # An earlier attempt with this key may have reached the ATS: look before sending again.
        look = _look(integration, app, claim.previous.snapshot, accepted, [0.0])
        if look.found is not None:
            return _confirmed(claim, outcome, integration, app, look)
        if look.doubtful or look.ids is None:
            raise _unconfirmed(integration, accepted.name, look, None)
        snapshot = look.ids
    else:
        snapshot = _snapshot(integration.id, app)
    claim.attempted(None if snapshot is None else sorted(snapshot))
    _note_sent(integration.id, app.id, accepted.sha256)
    started = time.time()
    try:
        result = guard.call(
            integration.id,
            get_kombo().add_application_attachment,
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
            claim.forget()
            raise from_kombo(err) from None
        log.warning(
            "upload outcome unknown (%r) after %.1fs; reconciling", err, time.time() - started
        )
        return _reconcile(claim, outcome, integration, app, snapshot, accepted, err)
    except PortalError:  # busy or paused before anything was sent
        claim.forget()
        raise
    outcome["warnings"] = result.warnings
    log.info(
        "uploaded %s bytes to %s/%s as %s",
        accepted.size,
        integration.id,
        app.id,
        accepted.content_type,
    )
    claim.done(201, outcome)
    return idempotency.Answer(201, outcome)


def _snapshot(integration_id: str, app: Application) -> set[str] | None:
    """Attachment ids before the upload, or None if this ATS cannot list them."""
    if not app.candidate_id:
        return None
    try:
        items, _ = fetch(integration_id, app.candidate_id)
    except KomboError as err:
        log.info("no snapshot before upload: %r", err)
        return None
    return {a["id"] for a in items if isinstance(a.get("id"), str)}


def _reconcile(
    claim: idempotency.Claim,
    outcome: dict[str, Any],
    integration: integrations.Integration,
    app: Application,
    snapshot: set[str] | None,
    accepted: filetype.Accepted,
    err: KomboError,
) -> idempotency.Answer:
    """After an unknown outcome: "uploaded" only if a new attachment has our exact bytes.

    Without a snapshot every attachment of the application is compared: our bytes are either
    among them or not there, whatever was there before.
    """
    look = _look(integration, app, snapshot, accepted, current_app.config["RECONCILE_WAITS"])
    if look.found is not None:
        return _confirmed(claim, outcome, integration, app, look)
    if look.doubtful or look.ids is None:
        raise _unconfirmed(integration, accepted.name, look, err)
    # Not there. The "attempted" record stays: a retry with this key looks once more first.
    raise PortalError(
        502,
        "upload_failed",
        _l(
            "“%(name)s” did not reach %(tool)s; nothing was saved. You can try again.",
            name=accepted.name,
            tool=integration.tool,
        ),
        log_url=err.log_url,
        retryable=True,
    )


def _confirmed(
    claim: idempotency.Claim,
    outcome: dict[str, Any],
    integration: integrations.Integration,
    app: Application,
    look: Look,
) -> idempotency.Answer:
    found = look.found or {}
    log.info("reconciled: the file is in %s/%s as %s", integration.id, app.id, found.get("id"))
    outcome["confirmed_by"] = "listing"
    claim.done(201, outcome)
    return idempotency.Answer(201, outcome)


def _unconfirmed(
    integration: integrations.Integration, name: str, look: Look, err: KomboError | None
) -> PortalError:
    words = {"name": name, "tool": integration.tool}
    if look.ids is None and look.not_listable:
        why = _l(
            "We could not confirm whether “%(name)s” reached %(tool)s, because %(tool)s does not let the portal list attachments.",
            **words,
        )
    elif look.ids is None:
        why = _l(
            "We could not confirm whether “%(name)s” reached %(tool)s, because %(tool)s is not answering.",
            **words,
        )
    elif look.other_bytes:
        why = _l(
            "We could not confirm whether “%(name)s” reached %(tool)s: %(tool)s has a new “%(name)s” on this application, but not with your file's content.",
            **words,
        )
    else:
        why = _l(
            "We could not confirm whether “%(name)s” reached %(tool)s: a new file on this application could not be read back from %(tool)s.",
            **words,
        )
    check = _l("Check the application in %(tool)s before uploading it again.", **words)
    return PortalError(
        502,
        "upload_unconfirmed",
        lazy_join(why, check),
        log_url=None if err is None else err.log_url,
    )


@dataclass
class Look:
    """What looking for our file among the candidate's new attachments found."""

    found: dict[str, Any] | None = None  # the new attachment with our exact bytes
    ids: set[str] | None = None  # ids of the last listing (None: never listed)
    unreadable: bool = False  # a new attachment could not be read back
    other_bytes: bool = False  # a new attachment of our name has other bytes
    not_listable: bool = False  # this ATS does not list attachments at all

    @property
    def doubtful(self) -> bool:
        """True when "not there" cannot be said honestly."""
        return self.unreadable or self.other_bytes


def _look(
    integration: integrations.Integration,
    app: Application,
    snapshot: list[str] | set[str] | None,
    accepted: filetype.Accepted,
    waits: list[float],
) -> Look:
    """List the candidate after each wait and compare each new attachment's bytes with ours.

    New means: not in the snapshot (all of the application's, when there was none), and on
    this application or on the candidate (where candidate-level ATSs put it). A new file of
    our name with other bytes is a doubt, unless it is another file this portal sent there.
    """
    look = Look()
    if not app.candidate_id:  # nothing to list the attachments of
        look.not_listable = True
        return look
    before = set(snapshot or ())
    sent_here = _sent_here(integration.id, app.id)
    verdicts: dict[str, str] = {}  # id -> same / other / foreign / unreadable
    for wait in waits:
        time.sleep(wait)
        try:
            items, _ = fetch(integration.id, app.candidate_id, guarded=False)
        except KomboError as err:
            log.warning("reconcile: listing failed: %r", err)
            if err.not_available:
                look.not_listable = True
                break  # waiting will not change it
            continue
        look.ids = {a["id"] for a in items if isinstance(a.get("id"), str)}
        for item in items:
            att_id = item.get("id")
            if not isinstance(att_id, str) or att_id in before:
                continue
            if item.get("application_id") not in (None, app.id):
                continue
            if verdicts.get(att_id) not in (None, "unreadable"):
                continue  # read once already
            our_name = str(item.get("file_name") or "") == accepted.name
            verdict, sha = _compare(item, accepted, whole=our_name)
            if verdict == "other" and our_name and sha not in sent_here:
                verdict = "foreign"  # our name, bytes nobody here sent: changed by the ATS?
            verdicts[att_id] = verdict
            if verdict == "same":
                look.found = item
                return look
    look.unreadable = "unreadable" in verdicts.values()
    look.other_bytes = "foreign" in verdicts.values()
    log.warning("reconcile: not found; new attachments read back: %s", verdicts)
    return look


def _sent_key(integration_id: str, application_id: str) -> str:
    return f"upload-app-sent:{integration_id}:{application_id}"


def _sent_here(integration_id: str, application_id: str) -> set[str]:
    """sha256 of the files this portal sent to this application lately (any user)."""
    return set(_recent_sent(integration_id, application_id))


def _note_sent(integration_id: str, application_id: str, sha256: str) -> None:
    """Remember that we send this file here (we hold the application's lease: one writer)."""
    sent = [s for s in _recent_sent(integration_id, application_id) if s != sha256][-199:]
    get_store().put(
        _sent_key(integration_id, application_id),
        json.dumps([*sent, sha256]),
        float(current_app.config["IDEMPOTENCY_TTL"]),
    )


def _recent_sent(integration_id: str, application_id: str) -> list[str]:
    raw = get_store().get(_sent_key(integration_id, application_id))
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


def _compare(
    item: dict[str, Any], accepted: filetype.Accepted, *, whole: bool
) -> tuple[str, str | None]:
    """Whether an attachment's bytes are ours ("same", "other" or "unreadable"), and its sha256
    when it was read to the end.

    Streamed and hashed slice by slice (never held whole). A body that cannot be ours stops
    early, unless `whole` asks for its hash anyway (up to the portal's size limit).
    """
    url = item.get("data_url")
    if not isinstance(url, str):
        return "unreadable", None
    limit = int(current_app.config["MAX_UPLOAD_BYTES"]) if whole else accepted.size
    try:
        resp = get_kombo().open_download(url)
    except KomboError as err:
        log.warning("reconcile: could not open %s: %r", item.get("id"), err)
        return "unreadable", None
    with closing(resp):
        declared = parse_count(resp.headers.get("Content-Length"))
        if declared is not None and declared != accepted.size and not whole:
            return "other", None
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in resp.iter_content(_HASH_CHUNK):
                size += len(chunk)
                if size > limit:
                    return "other", None
                digest.update(chunk)
        except requests.RequestException as exc:  # cut short, reset, too slow
            log.warning("reconcile: reading %s broke: %r", item.get("id"), exc)
            return "unreadable", None
    if declared is not None and size != declared:
        return "unreadable", None  # shorter than announced
    sha = digest.hexdigest()
    return ("same" if size == accepted.size and sha == accepted.sha256 else "other"), sha
