"""Staying under Kombo's limits as one fleet, and not hammering an ATS that keeps failing.

Kombo refuses more than 30 in-flight action calls per integration with a 429, counted
per API key: every worker of every instance shares that budget. So the in-flight limit
lives in the shared store (`take_slot`: a counting semaphore whose slots expire, so a
killed worker's slots come back), PORTAL_KOMBO_MAX_INFLIGHT (24) for the whole fleet,
lowered to what Kombo's `Concurrency-Limit` header says when an integration has less.

Waiting is bounded (PORTAL_KOMBO_SLOT_WAIT), then the user is told "busy" (503
`ats_busy`) instead of feeding a 429 storm. Waiters poll the store with jitter, and the
longer one has waited the more often it looks: a slot that frees is most likely taken
by the oldest waiter, nobody starves past the bound, and no queue record can be left
behind by a waiter that gave up or was killed (a strict ticket queue stalls on those).

The circuit breaker is shared the same way: a failures counter and an open-until record
per integration. It counts only failures that mean the ATS or Kombo is down
(`_means_down`), never a refusal of our input: a 413 from an edge must not pause anyone.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from flask import Flask, current_app, has_app_context
from flask_babel import lazy_gettext as _l

from portal import metrics
from portal.errors import PortalError
from portal.kombo import KomboError
from portal.numbers import parse_count
from portal.state import get_store

T = TypeVar("T")
FAILURES_TO_OPEN = 5
OPEN_SECONDS = 30.0
# Consecutive failures are counted within this window (a success clears the count).
FAILURE_WINDOW = 120.0
# What Kombo allows per integration unless its Concurrency-Limit header says otherwise.
KOMBO_LIMIT = 30
# A learned lower limit is remembered this long (the header comes with every action call).
LEARNED_LIMIT_TTL = 3600.0
_attempts = threading.local()


def _means_down(err: BaseException) -> bool:
    """True when a failure says the ATS or Kombo is down (the breaker counts these only)."""
    return isinstance(err, KomboError) and err.means_down


# -- keys in the shared store ----------------------------------------------------------------


def _slots(iid: str) -> str:
    return f"kombo:inflight:{iid}"


def _learned(iid: str) -> str:
    return f"kombo:limit:{iid}"


def _fails(iid: str) -> str:
    return f"breaker:fails:{iid}"


def _open(iid: str) -> str:
    return f"breaker:open:{iid}"


def _trial(iid: str) -> str:
    return f"breaker:trial:{iid}"


# -- the budget ------------------------------------------------------------------------------


def limit(iid: str) -> int:
    """The fleet's in-flight limit for an integration: ours, or less if Kombo said so."""
    configured = int(current_app.config["KOMBO_MAX_INFLIGHT"])
    learned = parse_count(get_store().get(_learned(iid)))
    return max(1, min(configured, learned)) if learned is not None else configured


def _slot_ttl(write: bool) -> float:
    """How long a slot may be held: the call's own deadline and its last attempt, plus margin."""
    c = current_app.config
    if write:  # _request: attempts start within the write deadline, each may last that long
        return 2 * float(c["KOMBO_WRITE_TIMEOUT"]) + 30
    return 30.0 + float(c["KOMBO_READ_TIMEOUT"]) + 30  # read deadline + last attempt + margin


def _take(iid: str, write: bool) -> str:
    """A slot of the fleet's budget, waiting (bounded) for one; 503 ats_busy past the bound."""
    store, wait = get_store(), float(current_app.config["KOMBO_SLOT_WAIT"])
    ttl = _slot_ttl(write)
    started = time.monotonic()
    token = store.take_slot(_slots(iid), limit(iid), ttl)
    if token is not None:
        return token
    while (waited := time.monotonic() - started) < wait:
        # The longer we have waited, the sooner we look again: the oldest waiter most
        # likely gets the next free slot (first come, first served, approximately).
        pause = 0.1 / (1.0 + 2.0 * waited) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter  # nosec B311
        time.sleep(max(0.005, min(pause, wait - waited)))
        token = store.take_slot(_slots(iid), limit(iid), ttl)
        if token is not None:
            metrics.count(metrics.BUDGET_WAITS, "got")
            return token
    metrics.count(metrics.BUDGET_WAITS, "busy")
    raise PortalError(
        503,
        "ats_busy",
        _l("Many requests are going to this ATS right now. Try again in a moment."),
        retry_after=5,
    )


def observe(iid: str | None, resp: requests.Response | None) -> None:
    """Kombo client hook after each HTTP attempt: count it, learn a lower Concurrency-Limit."""
    _attempts.count = getattr(_attempts, "count", 0) + 1
    if resp is None or not iid or not has_app_context():
        return
    said = parse_count(resp.headers.get("Concurrency-Limit", "").strip())
    if said is None:
        return
    now = time.monotonic()
    seen: dict[str, tuple[int, float]] = current_app.extensions["portal.guard.seen_limits"]
    last = seen.get(iid)
    if last is not None and last[0] == said and now - last[1] < LEARNED_LIMIT_TTL / 2:
        return  # the store knows (and still will); the header comes with every action call
    seen[iid] = (said, now)
    if said < KOMBO_LIMIT:
        get_store().put(_learned(iid), str(said), LEARNED_LIMIT_TTL)
    else:
        get_store().release(_learned(iid))


# -- the breaker -----------------------------------------------------------------------------


def _paused(wait: float) -> PortalError:
    return PortalError(
        503,
        "ats_paused",
        _l(
            "This ATS has failed several times in a row, so the portal paused requests to it. "
            "Try again in %(seconds)s seconds.",
            seconds=int(wait) + 1,
        ),
        retry_after=wait,
    )


def _open_until(iid: str) -> float:
    raw = get_store().get(_open(iid))
    try:
        return float(json.loads(raw)["until"]) if raw else 0.0
    except (ValueError, KeyError, TypeError):
        return 0.0


def _before(iid: str) -> bool:
    """Refuse while open; after the pause one trial call (fleet-wide) goes through. True: trial."""
    store = get_store()
    wait = _open_until(iid) - time.time()
    if wait > 0:
        raise _paused(wait)
    fails = store.get(_fails(iid))
    if fails is None or int(fails) < FAILURES_TO_OPEN:
        return False
    # A trial that dies (its worker killed) frees the integration after a read's worst case.
    if not store.claim(_trial(iid), _slot_ttl(False)):
        raise _paused(OPEN_SECONDS / 10)  # another instance is trying the ATS right now
    return True


def _after(iid: str, err: BaseException | None, trial: bool) -> None:
    """Record the outcome of a call in the shared breaker."""
    store = get_store()
    if err is not None and _means_down(err):
        if store.incr(_fails(iid), FAILURE_WINDOW) >= FAILURES_TO_OPEN:
            until = time.time() + OPEN_SECONDS
            store.put(_open(iid), json.dumps({"until": until}), OPEN_SECONDS)
            store.put(_fails(iid), str(FAILURES_TO_OPEN), FAILURE_WINDOW + OPEN_SECONDS)
        if trial:
            store.release(_trial(iid))
        return
    if trial or store.get(_fails(iid)) is not None:  # one read per call when all is well
        store.release(_fails(iid))
        store.release(_open(iid))
        store.release(_trial(iid))


def state(iid: str) -> dict[str, Any]:
    """The fleet's view of one integration: calls in flight, the limit, and whether paused."""
    store = get_store()
    return {
        "in_flight": store.slots_in_use(_slots(iid)),
        "limit": limit(iid),
        "paused": _open_until(iid) > time.time(),
        "failures": int(store.get(_fails(iid)) or 0),
    }


# -- the one entry point ---------------------------------------------------------------------


def call(integration_id: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one Kombo action call for an integration under the fleet's budget and breaker."""
    endpoint = getattr(fn, "__name__", "call")
    write = endpoint.startswith("add_")
    trial = _before(integration_id)
    try:
        token = _take(integration_id, write)
    except BaseException:
        if trial:
            get_store().release(_trial(integration_id))
        raise
    _attempts.count = 0
    started = time.perf_counter()
    code = "ok"
    try:
        result = fn(*args, **kwargs)
    except KomboError as err:
        code = err.code or (f"HTTP_{err.status}" if err.status else type(err).__name__)
        _after(integration_id, err, trial)
        raise
    except BaseException as err:
        code = type(err).__name__  # ours, not the ATS's: the breaker learns nothing
        if trial:
            get_store().release(_trial(integration_id))
        raise
    finally:
        get_store().give_slot(_slots(integration_id), token)
        metrics.observe(metrics.KOMBO_SECONDS, time.perf_counter() - started, endpoint)
        metrics.count(metrics.KOMBO_CALLS, endpoint, code)
        retries = getattr(_attempts, "count", 0) - 1
        if retries > 0:
            metrics.count(metrics.KOMBO_RETRIES, endpoint, amount=retries)
    _after(integration_id, None, trial)
    return result


def init_app(app: Flask) -> None:
    """Hook the Kombo client so every attempt is counted and the header is heard."""
    app.extensions["portal.guard.seen_limits"] = {}
    app.extensions["portal.kombo"].on_attempt = observe
