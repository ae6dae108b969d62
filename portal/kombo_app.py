"""The app's Kombo client: built once from configuration (init_app), found by get_kombo().

Beside portal/kombo.py, which stays free of Flask so the client can be used and tested alone.
"""

from __future__ import annotations

from flask import Flask, current_app

from portal.kombo import KomboClient, Timeouts


def init_app(app: Flask) -> None:
    """Build the Kombo client from configuration."""
    c = app.config
    timeouts = Timeouts(
        read=float(c["KOMBO_READ_TIMEOUT"]), write_read=float(c["KOMBO_WRITE_TIMEOUT"])
    )
    app.extensions["portal.kombo"] = KomboClient(
        c["KOMBO_API_KEY"],
        base_url=c["KOMBO_BASE_URL"],
        timeouts=timeouts,
        download_hosts=frozenset(c["KOMBO_DOWNLOAD_HOSTS"]),
    )


def get_kombo() -> KomboClient:
    """The app's Kombo client."""
    return current_app.extensions["portal.kombo"]
