"""Mutable runtime state: stored uploads (files on disk), the request log, concurrency slots.

Everything here is shared between the server's request threads, so every method takes
`self.lock`; the seeded data (data.py) is immutable after seeding and needs no lock.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import uuid
import weakref
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .data import Application, Attachment, Dataset, Integration
from .faults import FaultQueue
from .ids import iso_ms, make_id, now_ms
from .settings import SettingsStore

# The request log is for tests and debugging; cap it so a long load test can't eat memory.
REQUEST_LOG_LIMIT = 100_000


@dataclass
class UploadRecord:
    """One upload the sandbox applied (stored), as /_sandbox/uploads lists it."""

    seq: int
    integration_id: str
    application_id: str
    candidate_id: str
    attachment_id: str
    name: str
    type: str
    content_type: str
    size: int
    sha256: str
    received_at: str


class SandboxState:
    """Uploads, request log, faults and in-flight counters of one sandbox app."""

    def __init__(self, dataset: Dataset, concurrency_limit: int) -> None:
        self.dataset = dataset
        self.concurrency_limit = concurrency_limit
        self.faults = FaultQueue(set(dataset.behaviour_by_id))
        self.settings = SettingsStore()
        self.lock = threading.Lock()
        # Wakes sleeping delay faults when the server stops, so no thread lingers.
        self.stopping = threading.Event()
        self.upload_dir = Path(tempfile.mkdtemp(prefix="kombo-sandbox-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.upload_dir, True)
        self._uploaded: dict[str, list[Attachment]] = {}  # candidate id -> uploads, in order
        self._uploaded_by_id: dict[str, Attachment] = {}
        self._uploads: list[UploadRecord] = []
        self._requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._request_seq = 0
        self._in_flight: dict[str, int] = {}
        self._peaks: dict[str, int] = {}  # the most in flight at once, per integration
        self._remote_ids = itertools.count(800_000)  # never reset: remote IDs stay unique

    # -- attachments -------------------------------------------------------------------------
    def attachments_of(self, integ: Integration, candidate_id: str) -> list[Attachment]:
        """Seeded then uploaded attachments of a candidate, oldest first (newest last)."""
        with self.lock:
            uploaded = list(self._uploaded.get(candidate_id, ()))
        return list(integ.seeded_attachments.get(candidate_id, ())) + uploaded

    def find_attachment(self, attachment_id: str) -> Attachment | None:
        """Any attachment (uploaded or seeded, any integration) by ID, for downloads."""
        with self.lock:
            found = self._uploaded_by_id.get(attachment_id)
        return found or self.dataset.seeded_attachment(attachment_id)

    def temp_path(self) -> Path:
        """A fresh path in the upload directory to write an incoming file to."""
        return self.upload_dir / f"incoming-{uuid.uuid4().hex}"

    def store_upload(
        self,
        integ: Integration,
        app: Application,
        *,
        name: str,
        kind: str,
        content_type: str,
        temp: Path,
        size: int,
        sha256: str,
    ) -> UploadRecord:
        """Keep an accepted upload: move its file into place and list it on the candidate."""
        created = now_ms()
        att_id = make_id(integ.id, "upload", uuid.uuid4().hex)
        path = self.upload_dir / att_id
        temp.replace(path)
        att = Attachment(
            id=att_id,
            remote_id=str(next(self._remote_ids)),  # like an ATS's own document number
            integration_id=integ.id,
            candidate_id=app.candidate.id,
            # A candidate-level ATS files the upload on the candidate, not the application.
            application_id=None if integ.behaviour.candidate_level else app.id,
            type=kind,
            file_name=name,
            content_type=content_type,
            created_ms=created,
            updated_ms=created,
            size=size,
            path=path,
        )
        with self.lock:
            self._uploaded.setdefault(app.candidate.id, []).append(att)
            self._uploaded_by_id[att_id] = att
            record = UploadRecord(
                seq=len(self._uploads) + 1,
                integration_id=integ.id,
                application_id=app.id,
                candidate_id=app.candidate.id,
                attachment_id=att_id,
                name=name,
                type=kind,
                content_type=content_type,
                size=size,
                sha256=sha256,
                received_at=iso_ms(created) or "",
            )
            self._uploads.append(record)
        return record

    def uploads(self) -> list[dict[str, Any]]:
        """Every applied upload, in order."""
        with self.lock:
            return [asdict(u) for u in self._uploads]

    # -- request log -------------------------------------------------------------------------
    def log_request(self, entry: dict[str, Any]) -> None:
        """Append one Kombo-path request to the log."""
        with self.lock:
            self._request_seq += 1
            self._requests.append({"seq": self._request_seq, **entry})

    def requests(self) -> list[dict[str, Any]]:
        """The logged requests, oldest first."""
        with self.lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self.lock:
            self._requests.clear()

    # -- concurrency -------------------------------------------------------------------------
    def acquire_slot(self, integration_id: str) -> int | None:
        """Take an in-flight action slot; returns the slots remaining, or None if full."""
        with self.lock:
            used = self._in_flight.get(integration_id, 0)
            if used >= self.concurrency_limit:
                return None
            self._in_flight[integration_id] = used + 1
            self._note_peak(integration_id, used + 1)
            return self.concurrency_limit - used - 1

    def release_slot(self, integration_id: str) -> None:
        """Give an action slot back."""
        with self.lock:
            self._in_flight[integration_id] -= 1

    def _note_peak(self, integration_id: str, now_in_flight: int) -> None:
        """Remember the most action calls an integration had in flight at once (lock held)."""
        peaks = self._peaks
        peaks[integration_id] = max(peaks.get(integration_id, 0), now_in_flight)

    def concurrency(self, reset: bool = False) -> dict[str, dict[str, int]]:
        """Per integration: action calls in flight now and the peak since the last reset."""
        with self.lock:
            peaks = self._peaks
            out = {
                iid: {"in_flight": self._in_flight.get(iid, 0), "peak": peak}
                for iid, peak in peaks.items()
            }
            if reset:
                peaks.clear()
            return out

    def in_flight(self, integration_id: str) -> int:
        """How many action requests of an integration are being served right now."""
        with self.lock:
            return self._in_flight.get(integration_id, 0)

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop uploads (and their files), faults and the request log; seeds stay."""
        self.faults.clear()
        with self.lock:
            paths = [a.path for a in self._uploaded_by_id.values() if a.path is not None]
            self._uploaded.clear()
            self._uploaded_by_id.clear()
            self._uploads.clear()
            self._requests.clear()
            self._request_seq = 0
        for path in paths:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Wake sleeping faults and delete the upload directory."""
        self.stopping.set()
        self._cleanup()
