"""Configuration: safe defaults, then PORTAL_* environment variables, then a test mapping.

Kombo's own two settings also keep Kombo's names (KOMBO_API_KEY, KOMBO_BASE_URL),
so a key exported for Kombo's SDK works here too; PORTAL_KOMBO_* wins if both are set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from limits import parse_many

from portal.kombo import BASE_URLS

MIB = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    # Secrets have no default: startup refuses without them.
    **dict.fromkeys(("SECRET_KEY", "KOMBO_API_KEY")),
    "KOMBO_BASE_URL": "eu",
    # Hosts (besides Kombo's) that attachment data_urls may point at; the sandbox adds itself.
    "KOMBO_DOWNLOAD_HOSTS": [],
    "KOMBO_READ_TIMEOUT": 20.0,
    "KOMBO_WRITE_TIMEOUT": 300.0,
    # Integrations this deployment serves (ids); labels and status come from Kombo.
    "INTEGRATIONS": [],
    "SANDBOX": False,
    # Largest file we take. Kombo suggests ATSs handle ~10 MB; integrations may say less.
    "MAX_UPLOAD_BYTES": 64 * MIB,
    # Staff accounts: {"email": "<werkzeug password hash>"}.
    "STAFF_ACCOUNTS": {},
    # Partners: {"id": {"secrets": [..], "origins": [..], "integrations": [..]}}.
    "PARTNERS": {},
    "EMBED_SESSION_TTL": 900,
    "DOWNLOAD_URL_TTL": 300,
    "STAFF_IDLE_TIMEOUT": 30 * 60,
    "STAFF_ABSOLUTE_TIMEOUT": 9 * 3600,
    # Throttles (Flask-Limiter notation), counted in the shared store across every worker.
    # Failed sign-ins per account, and per client address (an office's NAT shares one): then
    # 429 with Retry-After.
    "SIGNIN_FAILURE_LIMIT": "5 per minute",
    "SIGNIN_ADDRESS_LIMIT": "20 per minute",
    # Embed exchanges per partner (tokens its secret signed; unsigned ones per address).
    "EMBED_EXCHANGE_LIMIT": "300 per minute",
    # JSON API calls per session (staff cookie or embed bearer).
    "API_LIMIT": "600 per minute",
    # Reverse proxies in front that append the client to X-Forwarded-For (nginx: 1). 0 = none:
    # the socket's peer is the client, and X-Forwarded-For is ignored.
    "PROXY_HOPS": 0,
    # Shared state (used tokens, sessions, throttles, upload locks) for several worker
    # processes; empty = in memory (one process only: gunicorn refuses more workers).
    "STATE_PATH": "",
    # Redis for several instances (machines); wins over STATE_PATH.
    "REDIS_URL": "",
    # Host names this deployment answers to (Flask's TRUSTED_HOSTS; a request naming another
    # Host is a 400): e.g. "portal.example.com". Empty = any (sandbox, development). Routing
    # redirects are relative either way (security._relative_redirect); nginx's server_name does
    # the same job in front.
    "TRUSTED_HOSTS": [],
    # ClamAV daemon every accepted file is scanned by: "unix:/path" or "tcp:host:port"; empty = none.
    "CLAMD": "",
    # Kombo action calls in flight per integration for the whole fleet (every worker of every
    # instance, counted in the shared store); Kombo allows 30, its header may say less.
    "KOMBO_MAX_INFLIGHT": 24,
    # Seconds a request waits for one of those slots before the user is told "busy".
    "KOMBO_SLOT_WAIT": 10.0,
    "INTEGRATION_CACHE_SECONDS": 60,
    # Finding the newest applications: page size and most pages read per date window.
    "KOMBO_SCAN_PAGE_SIZE": 250,
    "KOMBO_SCAN_PAGES": 8,
    # Pauses between looks at the candidate's attachments after an upload of unknown outcome.
    "RECONCILE_WAITS": [0.5, 1.5, 3.0],
    # Idempotency records: 24 h for a caller's Idempotency-Key, 10 min for one derived from the file.
    "IDEMPOTENCY_TTL": 24 * 3600,
    "IDEMPOTENCY_AUTO_WINDOW": 600,
    # An upload's lease on its key and its application, renewed while it runs: a killed worker
    # frees them within this many seconds.
    "UPLOAD_LEASE_SECONDS": 15.0,
    # How long a request waits for another holding its key or application (0: write timeout + 60).
    "UPLOAD_WAIT_SECONDS": 0,
    "SESSION_COOKIE_NAME": "portal_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token is bound to the session, which has its own limits
}


def load(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill app.config and refuse to start with a configuration that cannot be safe."""
    app.config.from_mapping(DEFAULTS)
    for name in ("KOMBO_API_KEY", "KOMBO_BASE_URL"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.from_prefixed_env("PORTAL")
    if test_config is not None:
        app.config.update(test_config)
    c = app.config
    c["KOMBO_BASE_URL"] = BASE_URLS.get(c["KOMBO_BASE_URL"], c["KOMBO_BASE_URL"])
    c["INTEGRATIONS"] = _as_list(c["INTEGRATIONS"])
    c["KOMBO_DOWNLOAD_HOSTS"] = _as_list(c["KOMBO_DOWNLOAD_HOSTS"])
    c["TRUSTED_HOSTS"] = _as_list(c["TRUSTED_HOSTS"]) or None  # None: Flask checks nothing
    c["STAFF_ACCOUNTS"] = _as_mapping(c["STAFF_ACCOUNTS"], "STAFF_ACCOUNTS")
    c["PARTNERS"] = _as_mapping(c["PARTNERS"], "PARTNERS")
    c["MAX_UPLOAD_BYTES"] = int(c["MAX_UPLOAD_BYTES"])
    # Room for the multipart envelope and the type field around the file.
    c["MAX_CONTENT_LENGTH"] = c["MAX_UPLOAD_BYTES"] + MIB
    c["PERMANENT_SESSION_LIFETIME"] = int(c["STAFF_ABSOLUTE_TIMEOUT"])
    _check(app)


def _check(app: Flask) -> None:
    c = app.config
    problems = []
    if not c["KOMBO_API_KEY"]:
        problems.append(
            "KOMBO_API_KEY is not set (run `portal serve` without a key for the sandbox)"
        )
    if not c["SECRET_KEY"] or len(str(c["SECRET_KEY"])) < 16:
        problems.append(
            "PORTAL_SECRET_KEY must be set to a random string of at least 16 characters"
        )
    if not c["INTEGRATIONS"]:
        problems.append("PORTAL_INTEGRATIONS must list the Kombo integration ids to serve")
    for pid, partner in c["PARTNERS"].items():
        secrets = partner.get("secrets") or []
        if not 1 <= len(secrets) <= 2 or any(len(s) < 32 for s in secrets):
            problems.append(f"partner {pid!r} needs one or two signing secrets of 32+ characters")
    for name in (
        "SIGNIN_FAILURE_LIMIT",
        "SIGNIN_ADDRESS_LIMIT",
        "EMBED_EXCHANGE_LIMIT",
        "API_LIMIT",
    ):
        try:
            parse_many(str(c[name]))
        except ValueError:
            problems.append(f"PORTAL_{name} must be a limit like '5 per minute'")
    for name in ("PROXY_HOPS", "STAFF_IDLE_TIMEOUT", "STAFF_ABSOLUTE_TIMEOUT"):
        if not str(c[name]).isdigit() or (name != "PROXY_HOPS" and int(c[name]) == 0):
            problems.append(f"PORTAL_{name} must be a whole number of {_UNITS[name]}")
    if problems:
        raise RuntimeError("The portal cannot start: " + "; ".join(problems) + ".")


_UNITS = {
    "PROXY_HOPS": "proxies",
    "STAFF_IDLE_TIMEOUT": "seconds",
    "STAFF_ABSOLUTE_TIMEOUT": "seconds",
}


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    return [str(v).strip() for v in value or [] if str(v).strip()]


def _as_mapping(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, Mapping):
        raise RuntimeError(f"The portal cannot start: PORTAL_{name} must be a JSON object.")
    return dict(value)
