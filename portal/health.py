"""Readiness: /readyz says whether this instance can do its work (the store and Kombo answer).

/healthz (pages.py) is liveness: it answers without touching anything, so a slow Kombo
never gets an instance restarted. /readyz is for the load balancer: it checks the shared
store and Kombo's check-api-key, cached briefly so probes never add load to Kombo.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, Flask, current_app

from portal.kombo import KomboError
from portal.kombo_app import get_kombo
from portal.state import get_store

bp = Blueprint("health", __name__)
CACHE_SECONDS = 10.0
_lock = threading.Lock()


def _store_ok() -> bool:
    try:
        get_store().put("readyz", str(time.time()), 60)
        return get_store().get("readyz") is not None
    except Exception:  # any failure of the store means not ready; never a 500
        return False


def _kombo_ok() -> bool:
    cache: dict[str, float] = current_app.extensions.setdefault("portal.readyz", {})
    now = time.monotonic()
    with _lock:
        if cache.get("until", 0.0) > now:
            return bool(cache["ok"])
    try:
        get_kombo().check_api_key()
        ok = True
    except KomboError:
        ok = False
    with _lock:
        cache.update(ok=float(ok), until=now + CACHE_SECONDS)
    return ok


@bp.get("/readyz")
def readyz() -> Any:
    """Ready when the shared store and Kombo both answer (Kombo's answer cached for 10 s)."""
    checks = {"store": _store_ok(), "kombo": _kombo_ok()}
    body = {"status": "ready" if all(checks.values()) else "not_ready"}
    body.update({k: "ok" if v else "failing" for k, v in checks.items()})
    return body, 200 if all(checks.values()) else 503


def init_app(app: Flask) -> None:
    """Register /readyz."""
    app.register_blueprint(bp)
