"""Staying under Kombo's limits and not hammering an ATS that keeps failing.

Kombo refuses more than 30 in-flight action calls per integration with a 429.
Each worker process keeps at most KOMBO_MAX_INFLIGHT in flight per integration
(set it so workers x limit stays under 30); callers beyond that wait briefly,
then get a clear "busy" instead of feeding a 429 storm. A circuit breaker per
integration stops calls for a while after repeated failures that mean the ATS
or Kombo is down (not after refusals of bad input).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app

from portal.errors import PortalError
from portal.kombo import KomboBadResponse, KomboConnectionError, KomboError

T = TypeVar("T")
FAILURES_TO_OPEN = 5
OPEN_SECONDS = 30.0
_DOWN_CODES = {"REMOTE.SERVICE_UNAVAILABLE", "PLATFORM.UNKNOWN_ERROR", "PLATFORM.TASK_TIMED_OUT"}


class Breaker:
    """Counts consecutive 'down' failures of one integration; opens for a while after too many."""

    def __init__(self) -> None:
        self.failures = 0
        self.open_until = 0.0
        self._lock = threading.Lock()

    def before(self) -> None:
        """Refuse the call while open; after the pause one trial call goes through."""
        with self._lock:
            wait = self.open_until - time.monotonic()
            if wait > 0:
                raise PortalError(
                    503,
                    "ats_paused",
                    "This ATS has failed several times in a row, so the portal paused requests to it. "
                    f"Try again in {int(wait) + 1} seconds.",
                    retry_after=wait,
                )
            if self.failures >= FAILURES_TO_OPEN:
                self.open_until = (
                    time.monotonic() + OPEN_SECONDS
                )  # half-open: only this call passes

    def after(self, err: BaseException | None) -> None:
        """Record the outcome of a call."""
        down = isinstance(err, KomboConnectionError | KomboBadResponse) or (
            isinstance(err, KomboError)
            and (err.code in _DOWN_CODES or (err.code is None and (err.status or 0) >= 500))
        )
        with self._lock:
            if down:
                self.failures += 1
                if self.failures >= FAILURES_TO_OPEN:
                    self.open_until = time.monotonic() + OPEN_SECONDS
            else:
                self.failures, self.open_until = 0, 0.0


class Guards:
    """The gates and breakers of one app (per process: each worker guards its own calls)."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit, self.wait = limit, wait
        self._lock = threading.Lock()
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._breakers: dict[str, Breaker] = {}

    def gate(self, integration_id: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._gates.setdefault(integration_id, threading.BoundedSemaphore(self.limit))

    def breaker(self, integration_id: str) -> Breaker:
        with self._lock:
            return self._breakers.setdefault(integration_id, Breaker())


def init_app(app: Flask) -> None:
    """One set of guards per app."""
    app.extensions["portal.guards"] = Guards(
        int(app.config["KOMBO_MAX_INFLIGHT"]), float(app.config["KOMBO_SLOT_WAIT"])
    )


def call(integration_id: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one Kombo action call for an integration under the in-flight limit and its breaker."""
    guards: Guards = current_app.extensions["portal.guards"]
    brk = guards.breaker(integration_id)
    brk.before()
    gate = guards.gate(integration_id)
    if not gate.acquire(timeout=guards.wait):
        raise PortalError(
            503,
            "ats_busy",
            "Many requests are going to this ATS right now. Try again in a moment.",
            retry_after=5,
        )
    try:
        result = fn(*args, **kwargs)
    except KomboError as err:
        brk.after(err)
        raise
    finally:
        gate.release()
    brk.after(None)
    return result
