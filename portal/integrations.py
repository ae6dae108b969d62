"""The integrations this portal serves: each ATS's details and limits.

Kombo has no "list integrations" endpoint, so the deployment names its
integrations (PORTAL_INTEGRATIONS) and we ask Kombo for each one's label,
status and upload restrictions. Those change rarely and are asked for on every
page, so they are cached briefly per process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from portal import filetype
from portal.errors import from_kombo
from portal.kombo import KomboError
from portal.kombo_app import get_kombo

log = logging.getLogger(__name__)

UPLOAD_ACTION = "ats_add_application_attachment"
# Kombo's statuses other than ACTIVE, as the sentence about reconnecting says them.
_STATUS_WORDS = {"INACTIVE": _l("inactive"), "INVALID": _l("invalid")}
TYPE_LABELS = {"CV": _l("CV"), "COVER_LETTER": _l("Cover letter"), "OTHER": _l("Other")}


@dataclass(frozen=True)
class Integration:
    """What the pages need to know about one ATS connection."""

    id: str
    tool: str
    organization: str
    status: str
    upload_available: bool
    reason: str | None  # why uploads are not possible, in plain words
    restrictions: dict[str, Any] | None = None
    types: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The JSON form of this integration."""
        return {
            "id": self.id,
            "tool": self.tool,
            "organization": self.organization,
            "status": self.status,
            "upload": {"available": self.upload_available, "reason": self.reason},
            "types": self.types,
        }


class TTLCache:
    """A tiny thread-safe cache with expiry, per process."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, compute: Callable[[], Any], keep: Callable[[Any], bool] = bool) -> Any:
        """The cached value for key, computed (outside the lock) when missing or stale."""
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = compute()
        if keep(value):
            with self._lock:
                self._items[key] = (now + self.seconds, value)
        return value


def init_app(app: Flask) -> None:
    """Build the cache from configuration (the Kombo client is portal/kombo_app.py's)."""
    cache = TTLCache(float(app.config["INTEGRATION_CACHE_SECONDS"]))
    app.extensions["portal.integration_cache"] = cache


def _cache() -> TTLCache:
    return current_app.extensions["portal.integration_cache"]


def get(integration_id: str) -> Integration:
    """One integration's details and upload limits (cached)."""
    # A failed lookup is not kept: the next page view asks Kombo again.
    return _cache().get(
        ("integration", integration_id),
        lambda: _load(integration_id),
        lambda i: i.status != "UNKNOWN",
    )


def all_for(integration_ids: frozenset[str] | list[str]) -> list[Integration]:
    """Every integration of a principal, in configuration order."""
    return [get(iid) for iid in current_app.config["INTEGRATIONS"] if iid in integration_ids]


def _load(integration_id: str) -> Integration:
    try:
        return _read(integration_id)
    except (AttributeError, TypeError, ValueError):
        # An answer off Kombo's spec must not break the home page of every integration.
        log.warning(
            "kombo details of %s are off-spec; shown as unknown", integration_id, exc_info=True
        )
        return Integration(
            integration_id,
            integration_id.split(":")[0],
            "",
            "UNKNOWN",
            False,
            _l(
                "Kombo sent details of this ATS connection that the portal cannot read. Try again later."
            ),
        )


def _read(integration_id: str) -> Integration:
    kombo = get_kombo()
    try:
        data = kombo.get_integration(integration_id).data or {}
    except KomboError as err:
        return Integration(
            integration_id, integration_id.split(":")[0], "", "UNKNOWN", False, _why(err)
        )
    tool = (data.get("tool") or {}).get("label") or integration_id.split(":")[0]
    org = (data.get("end_user") or {}).get("organization_name") or ""
    status = data.get("status") or "UNKNOWN"
    base: dict[str, Any] = {
        "id": integration_id,
        "tool": tool,
        "organization": org,
        "status": status,
    }
    if status != "ACTIVE":
        reason = _l(
            "The connection to %(tool)s is %(status)s: the customer must reconnect it in Kombo.",
            tool=tool,
            status=_STATUS_WORDS.get(status, status.lower()),
        )
        return Integration(**base, upload_available=False, reason=reason)
    action = next(
        (a for a in data.get("write_actions") or [] if a.get("id") == UPLOAD_ACTION), None
    )
    if action is not None and not action.get("is_available", True):
        reason = _l("%(tool)s does not accept attachments through Kombo.", tool=tool)
        return Integration(**base, upload_available=False, reason=reason)
    try:
        restrictions = normalise_restrictions(
            integration_id, kombo.get_upload_restrictions(integration_id).data
        )
    except KomboError as err:
        if err.not_available:
            return Integration(
                **base,
                upload_available=False,
                reason=_l("%(tool)s does not accept attachments through Kombo.", tool=tool),
            )
        restrictions = None  # unknown limits: the ATS will tell us on upload
    types = _types(restrictions)
    if not any(t["supported"] for t in types):
        return Integration(
            **base,
            upload_available=False,
            reason=_l("%(tool)s accepts no attachment types.", tool=tool),
            restrictions=restrictions,
            types=types,
        )
    return Integration(
        **base, upload_available=True, reason=None, restrictions=restrictions, types=types
    )


def normalise_restrictions(integration_id: str, data: Any) -> dict[str, Any] | None:
    """Kombo's upload restrictions, tolerating what the spec allows and what it does not.

    `max_file_size_bytes` is a number (a double) in the spec, so 5242880.0 is 5 MiB; a
    null or malformed `types` (off-spec) means "no information", with a warning in the log.
    """
    outer = data.get("attachment_restrictions") if isinstance(data, dict) else None
    if outer is None:
        return None  # documented: "we don't have information which types are supported"
    types = outer.get("types") if isinstance(outer, dict) else None
    if not isinstance(types, dict):
        log.warning(
            "kombo restrictions of %s: attachment_restrictions.types is %s; read as no information",
            integration_id,
            type(types).__name__,
        )
        return None
    clean: dict[str, Any] = {}
    for name, rule in types.items():
        if not isinstance(rule, dict):
            log.warning("kombo restrictions of %s: %s is %r; ignored", integration_id, name, rule)
            continue
        rule = dict(rule)
        size = rule.get("max_file_size_bytes")
        if isinstance(size, float):  # whole bytes; NaN, infinities and < 1 are no information
            rule["max_file_size_bytes"] = int(size) if math.isfinite(size) and size >= 1 else None
        clean[name] = rule
    return {"attachment_restrictions": {"types": clean}}


def _types(restrictions: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per attachment type: supported?, the formats and the size limit, as the UI states them."""
    max_upload = current_app.config["MAX_UPLOAD_BYTES"]
    out = []
    for type_ in filetype.ATTACHMENT_TYPES:
        formats = filetype.allowed_types(type_, restrictions)
        outer = (restrictions or {}).get("attachment_restrictions") or {}
        spec = (outer.get("types") or {}).get(type_) or {}
        supported = spec.get("is_supported", True) is not False and bool(formats)
        out.append(
            {
                "type": type_,
                "label": TYPE_LABELS[type_],
                # The plural the page's sentences use ("up to 10 MB for CVs"): one home, here.
                "noun": str(filetype.SLOT_NOUNS[type_][1]),
                "supported": supported,
                "formats": formats,
                "max_bytes": filetype.max_size_for(type_, restrictions, max_upload),
            }
        )
    return out


def _why(err: KomboError) -> str:
    return from_kombo(err).message
