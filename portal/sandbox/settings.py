"""Runtime settings of the sandbox that tests change through GET|POST|DELETE /_sandbox/settings:
the edge's body limit, the rate-limit window, how files are served, and the sync delay."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

MIB = 1024 * 1024


class SettingsError(ValueError):
    """A settings update the sandbox refuses (answered with HTTP 400)."""


@dataclass
class Settings:
    """What the sandbox does beyond the documented happy path (defaults: like Kombo)."""

    # Bodies larger than this are refused before they reach the handler, like an edge would.
    max_body_bytes: int = 200 * MIB
    # How the refusal looks: "json" (Kombo's envelope, HTTP 413) or "html" (a proxy's page).
    too_large: str = "json"
    # Requests per window per sandbox (all /v1 calls); every answer carries ratelimit-* headers.
    rate_limit: int = 100_000
    rate_window: float = 60.0
    # Serve every data_url through a 302 to this host alias (e.g. "localhost" when the
    # sandbox listens on 127.0.0.1): a second host, like a signed storage URL.
    file_host: str | None = None
    # The resources host refuses requests without the API key (401) when true.
    resources_need_key: bool = False
    # Seconds before an application created with POST /_sandbox/applications is listed.
    sync_delay: float = 0.0


def _check(name: str, value: Any) -> Any:
    kinds: dict[str, type | tuple[type, ...]] = {
        "max_body_bytes": int,
        "too_large": str,
        "rate_limit": int,
        "rate_window": (int, float),
        "file_host": (str, type(None)),
        "resources_need_key": bool,
        "sync_delay": (int, float),
    }
    if isinstance(value, bool) and kinds[name] is not bool:
        raise SettingsError(f"'{name}' must not be a boolean.")
    if not isinstance(value, kinds[name]):
        raise SettingsError(f"'{name}' has the wrong type.")
    if name == "too_large" and value not in ("json", "html"):
        raise SettingsError("'too_large' must be 'json' or 'html'.")
    number = value if isinstance(value, int | float) else 0
    if name in ("max_body_bytes", "rate_limit") and number < 1:
        raise SettingsError(f"'{name}' must be >= 1.")
    if name in ("rate_window", "sync_delay") and not 0 <= number <= 3600:
        raise SettingsError(f"'{name}' must be 0-3600 seconds.")
    if name == "file_host" and value is not None and value not in ("localhost", "127.0.0.1"):
        raise SettingsError("'file_host' must be 'localhost' or '127.0.0.1' (an alias of us).")
    return value


class SettingsStore:
    """The current settings plus the rate-limit window counter (thread-safe)."""

    def __init__(self, initial: Settings | None = None) -> None:
        self._initial = initial or Settings()
        self.current = Settings(**asdict(self._initial))
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._count = 0

    def update(self, changes: Any) -> Settings:
        """Apply a partial update, all or nothing."""
        if not isinstance(changes, dict):
            raise SettingsError("Send a JSON object of settings.")
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SettingsError(f"Unknown setting(s) {unknown}; known: {sorted(known)}.")
        checked = {k: _check(k, v) for k, v in changes.items()}
        with self._lock:
            for key, value in checked.items():
                setattr(self.current, key, value)
            if {"rate_limit", "rate_window"} & set(checked):
                self._window_start, self._count = time.monotonic(), 0
        return self.current

    def restore(self) -> Settings:
        """Back to the settings the sandbox started with."""
        with self._lock:
            self.current = Settings(**asdict(self._initial))
            self._window_start, self._count = time.monotonic(), 0
        return self.current

    def count_request(self) -> tuple[int, int, float]:
        """Count one /v1 request in the fixed window: (limit, remaining, seconds to reset).
        Remaining is negative once the window is exceeded."""
        with self._lock:
            now = time.monotonic()
            window = self.current.rate_window or 1.0
            if now - self._window_start >= window:
                self._window_start, self._count = now, 0
            self._count += 1
            reset = window - (now - self._window_start)
            return self.current.rate_limit, self.current.rate_limit - self._count, reset
