"""Prometheus metrics: what operations watches, served at /metrics to a bearer token only.

Under gunicorn every worker is its own process, so prometheus-client runs in its
multi-process mode (portal/gunicorn_conf.py sets PROMETHEUS_MULTIPROC_DIR before any
worker starts): each worker writes its samples to files there and a scrape adds them
up. What is fleet-wide (the Kombo budget in use, the breaker) is read from the shared
store at scrape time instead, so every instance reports the same truth.

Not public by default: /metrics answers 404 unless PORTAL_METRICS_TOKEN is set (32+
characters), and then only to `Authorization: Bearer <token>`. The shipped nginx also
refuses /metrics from outside; Prometheus scrapes the instances directly.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)
MIN_TOKEN_LENGTH = 32

UPLOADS = Counter(
    "portal_uploads", "Uploads by outcome (uploaded or the error code)", ["integration", "outcome"]
)
FILE_REFUSALS = Counter("portal_file_refusals", "Files refused before Kombo, by reason", ["reason"])
KOMBO_CALLS = Counter(
    "portal_kombo_calls",
    "Kombo calls by endpoint and error code ('ok' on success)",
    ["endpoint", "code"],
)
KOMBO_SECONDS = Histogram(
    "portal_kombo_call_seconds",
    "Kombo call latency, retries included",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
KOMBO_RETRIES = Counter("portal_kombo_retries", "HTTP attempts beyond the first", ["endpoint"])
BUDGET_WAITS = Counter(
    "portal_kombo_budget_waits", "Calls that waited for the fleet's Kombo budget", ["outcome"]
)
DOWNLOADS = Counter(
    "portal_downloads", "Downloads by how they ended (streamed, offloaded, aborted_*)", ["outcome"]
)


def count(metric: Counter, *labels: str, amount: float = 1) -> None:
    """Add to a counter, best effort: a metric that cannot be written (its multi-process folder
    gone, e.g. a tmp cleaner) is logged, never turned into the user's error."""
    try:
        metric.labels(*labels).inc(amount)
    except OSError as exc:
        _lost(metric, exc)


def observe(metric: Histogram, value: float, *labels: str) -> None:
    """Record one observation, best effort (as `count`)."""
    try:
        metric.labels(*labels).observe(value)
    except OSError as exc:
        _lost(metric, exc)


def _lost(metric: Any, exc: OSError) -> None:
    log.warning("metric %s not recorded: %r", getattr(metric, "_name", metric), exc)


def record_upload(integration_id: str, outcome: str) -> None:
    """One upload ended: `outcome` is 'uploaded' or the error code the user was given."""
    count(UPLOADS, integration_id, outcome)


def record_refusal(reason: str) -> None:
    """A file was refused by our checks (`reason` is the refusal's code)."""
    count(FILE_REFUSALS, reason)


class FleetCollector(Collector):
    """Fleet-wide gauges read from the shared store at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from portal import guard

        in_use = GaugeMetricFamily(
            "portal_kombo_budget_in_use",
            "Kombo calls in flight, fleet-wide",
            labels=["integration"],
        )
        limit = GaugeMetricFamily(
            "portal_kombo_budget_limit", "The fleet's in-flight budget", labels=["integration"]
        )
        breaker = GaugeMetricFamily(
            "portal_breaker_open",
            "1 while the breaker pauses the integration",
            labels=["integration"],
        )
        with self.app.app_context():
            for iid in self.app.config["INTEGRATIONS"]:
                state = guard.state(iid)
                in_use.add_metric([iid], state["in_flight"])
                limit.add_metric([iid], state["limit"])
                breaker.add_metric([iid], 1.0 if state["paused"] else 0.0)
        yield from (in_use, limit, breaker)


def _registry(app: Flask) -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:  # one process (dev server, tests): the default registry holds everything
        registry = CollectorRegistry()
        registry.register(_Default())
    registry.register(FleetCollector(app))
    return registry


class _Default(Collector):
    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format, to the bearer of PORTAL_METRICS_TOKEN only."""
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        # Not 401: nothing tells a prober that metrics exist here. A plain body, not the error
        # page: that page reads the bearer as a session token and fails on ours.
        return Response("Not found\n", status=404, mimetype="text/plain")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(generate_latest(_registry(app)), content_type=CONTENT_TYPE_LATEST)


def _multiprocess_values() -> None:
    """prometheus-client picks its value store when first imported; `portal serve` imports it
    in gunicorn's master (the config check) before gunicorn_conf sets the folder. Our metrics
    all have labels, so their values are made at first use, in the worker: pick again here."""
    from prometheus_client import values

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()


def init_app(app: Flask) -> None:
    """Register /metrics; a short token would make it guessable, so startup refuses it."""
    _multiprocess_values()
    token = app.config.get("METRICS_TOKEN")
    if token and len(str(token)) < MIN_TOKEN_LENGTH:
        raise RuntimeError(
            f"The portal cannot start: PORTAL_METRICS_TOKEN must be {MIN_TOKEN_LENGTH}+ characters."
        )
    app.register_blueprint(bp)
