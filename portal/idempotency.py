"""Idempotency keys for uploads, the way Stripe and the IETF `Idempotency-Key` draft do them.

A caller sends `Idempotency-Key: <1-255 printable ASCII>` (or the draft's quoted form) with an
upload. The shared store keeps, per key and for 24 h, the request's fingerprint (integration,
application, type, sha256 of the file) and its outcome. A repeat with the same key gets the
recorded outcome (header `Idempotent-Replayed: true`); the same key with another fingerprint is
a 422; a repeat while the first is in flight waits for it. Keys are namespaced by the caller's
principal, so one tenant's key never touches another's record.

Without a key, one is derived from (principal, fingerprint) for a short window (10 minutes), so a
double click or a lagging resubmit is answered "already uploaded a moment ago" instead of being
stored twice. A fresh key uploads the same file again on purpose.

Only a success is recorded as final. An attempt whose outcome stayed unknown (the portal could not
confirm, or the worker died) leaves an "attempted" record with the snapshot taken before it was
sent: whoever retries with the key must look for the file by content before sending it again. An
attempt that certainly did not reach the ATS leaves no record, so a retry simply sends.

The record lives under one key; who is working on it right now is a separate *lease* (a claim
with a short time to live, renewed by a heartbeat while its holder works), so a SIGKILLed worker
frees the key within one lease time and never leaves the record itself unreadable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.access import Principal
from portal.errors import PortalError
from portal.state import Store, get_store

log = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_POLL_SECONDS = 0.1


def parse_key(values: list[str]) -> str | None:
    """The caller's key from the header's values, or None; 400 if it is not a valid key."""
    if not values:
        return None
    value = values[0].strip() if len(values) == 1 else ""
    if len(value) >= 2 and value[0] == value[-1] == '"':  # the draft's structured-field string
        value = value[1:-1]
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in value):
        raise PortalError(
            400,
            "idempotency_key_invalid",
            _l(
                "The %(header)s header must be one value of 1 to %(max)s printable "
                "ASCII characters (a UUID is a good choice).",
                header=KEY_HEADER,
                max=MAX_KEY_LENGTH,
            ),
        )
    return value


def fingerprint(integration_id: str, application_id: str, type_: str, sha256: str) -> str:
    """What must be the same for a repeat under the same key: the target and the file."""
    return _digest(["upload", integration_id, application_id, type_, sha256])


def _digest(parts: list[str | None]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _owner(principal: Principal) -> str:
    """The key's namespace: who the caller is (kind, partner, subject), never a request field."""
    return _digest([principal.kind, principal.partner, principal.subject])[:32]


@dataclass
class Answer:
    """What the view sends back: status, JSON body, and whether it is a replayed outcome."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass
class Record:
    """What the store keeps under a key."""

    state: str  # "attempted" (sent, outcome not final) or "done" (a success)
    fingerprint: str
    at: float = field(default_factory=time.time)
    snapshot: list[str] | None = None  # attachment ids before the attempt; None: not listable
    status: int | None = None
    body: dict[str, Any] | None = None

    def dumps(self) -> str:
        """JSON for the store."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | None) -> Record | None:
        """From the store's JSON; None when absent or unreadable (then treated as absent)."""
        if raw is None:
            return None
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError):
            log.warning("unreadable idempotency record ignored")
            return None


class Lease:
    """A claim on a store key, renewed by a heartbeat thread until released.

    Its time to live is short, so a holder that dies (SIGKILL, a lost machine) frees the key
    within one lease time, while a live holder keeps it for as long as its upload takes.
    """

    def __init__(self, store: Store, key: str, ttl: float) -> None:
        self.store, self.key, self.ttl = store, key, ttl
        self.holder = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> bool:
        """Claim the key now; start the heartbeat if we got it."""
        self.holder, self._stop = secrets.token_hex(8), threading.Event()  # a lease may be retaken
        if not self.store.claim(self.key, self.ttl, self.holder):
            return False
        self._thread = threading.Thread(target=self._beat, name=f"lease {self.key}", daemon=True)
        self._thread.start()
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if self.store.get(self.key) != self.holder:
                    log.warning("lease %s was lost (expired while held)", self.key)
                    return
                self.store.put(self.key, self.holder, self.ttl)
            except Exception:  # a store hiccup: try again at the next beat, the lease still runs
                log.exception("lease %s: heartbeat failed", self.key)

    def release(self) -> None:
        """Stop the heartbeat and give the key back (only if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.store.get(self.key) == self.holder:
            self.store.release(self.key)


def lease_ttl() -> float:
    """Seconds a lease lives without a heartbeat (how long a dead worker blocks a key)."""
    return float(current_app.config["UPLOAD_LEASE_SECONDS"])


def wait_limit() -> float:
    """Seconds a request waits for another one holding its key or its application."""
    configured = current_app.config.get("UPLOAD_WAIT_SECONDS")
    if configured:
        return float(configured)
    return float(current_app.config["KOMBO_WRITE_TIMEOUT"]) + 60.0


def hold(key: str, busy: PortalError) -> Lease:
    """Take the lease on `key`, waiting (bounded) while someone else holds it; `busy` if too long."""
    lease = Lease(get_store(), key, lease_ttl())
    deadline = time.monotonic() + wait_limit()
    while not lease.take():
        if time.monotonic() > deadline:
            raise busy
        time.sleep(_POLL_SECONDS)
    return lease


class Claim:
    """The right to act on one key (we hold its lease) and what an earlier attempt left."""

    def __init__(
        self, record_key: str, ttl: float, fp: str, lease: Lease, previous: Record | None
    ) -> None:
        self.record_key, self.ttl, self.fingerprint = record_key, ttl, fp
        self.lease, self.previous = lease, previous

    def attempted(self, snapshot: list[str] | None) -> None:
        """About to send: from now on a retry must look for the file before sending it again."""
        record = Record("attempted", self.fingerprint, snapshot=snapshot)
        get_store().put(self.record_key, record.dumps(), self.ttl)

    def done(self, status: int, body: dict[str, Any]) -> None:
        """The final outcome: repeats with this key get exactly this."""
        record = Record("done", self.fingerprint, status=status, body=body)
        get_store().put(self.record_key, record.dumps(), self.ttl)

    def forget(self) -> None:
        """Certainly not sent: leave nothing, so a retry sends."""
        get_store().release(self.record_key)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lease.release()


def begin(principal: Principal, key: str | None, fp: str) -> Answer | Claim:
    """The recorded answer for this key, or the claim to go ahead (after waiting for one in flight)."""
    config = current_app.config
    derived = key is None
    if derived:
        record_key = f"idem:{_owner(principal)}:auto:{fp}"
        ttl = float(config["IDEMPOTENCY_AUTO_WINDOW"])
    else:
        record_key = f"idem:{_owner(principal)}:key:{_digest([key])}"
        ttl = float(config["IDEMPOTENCY_TTL"])
    store = get_store()
    lease = Lease(store, record_key + ":lease", lease_ttl())
    deadline = time.monotonic() + wait_limit()
    while True:
        record = Record.loads(store.get(record_key))
        _check(record, fp)
        if record is not None and record.state == "done":
            return _replay(record, derived, ttl)
        if lease.take():
            record = Record.loads(store.get(record_key))  # it may have ended just before we took it
            if record is not None and (record.state == "done" or record.fingerprint != fp):
                lease.release()
                continue
            return Claim(record_key, ttl, fp, lease, record)
        if time.monotonic() > deadline:  # only if a live holder outlasts every timeout we set
            raise PortalError(
                409,
                "upload_in_progress",
                _l(
                    "This file is still being sent from an earlier request. "
                    "Wait a minute, then look at the application before trying again."
                ),
            )
        time.sleep(_POLL_SECONDS)


def _check(record: Record | None, fp: str) -> None:
    if record is not None and record.fingerprint != fp:
        raise PortalError(
            422,
            "idempotency_key_reused",
            _l(
                "This %(header)s was already used for another file, type or application. "
                "Use a new key for each file you add.",
                header=KEY_HEADER,
            ),
        )


def _replay(record: Record, derived: bool, window: float) -> Answer:
    body = dict(record.body or {})
    if not derived:
        return Answer(record.status or 201, body, replayed=True)
    name = (body.get("attachment") or {}).get("name") or "This file"
    minutes = max(1, round(window / 60))
    body.update(
        code="already_uploaded",
        already_uploaded=True,
        uploaded_at=round(record.at),
        message=f"“{name}” was already added to this application a moment ago, so it was not "
        f"added a second time. To add the same file again on purpose, upload it again after "
        f"{minutes} minutes, or send it with a new {KEY_HEADER} header (a new upload).",
    )
    return Answer(200, body, replayed=True)
