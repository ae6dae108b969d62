"""The attachment portal: put a file onto a job application in a customer's ATS via Kombo."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from portal import config

PACKAGE = Path(__file__).resolve().parent


def _asset_dir(name: str) -> str:
    """templates/ and static/ sit at the top of the checkout, or inside the package in a wheel."""
    bundled = PACKAGE / name
    return str(bundled if bundled.is_dir() else PACKAGE.parent / name)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the portal application."""
    app = Flask(
        __name__, template_folder=_asset_dir("templates"), static_folder=_asset_dir("static")
    )
    config.load(app, test_config)

    from portal import (
        access,
        api,
        attachments,
        auth,
        embed,
        errors,
        guard,
        health,
        i18n,
        integrations,
        logs,
        metrics,
        pages,
        preview_views,
        security,
        state,
        throttle,
    )

    state.init_app(app)
    i18n.init_app(app)
    integrations.init_app(app)
    access.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    attachments.init_app(app)
    guard.init_app(app)
    logs.init_app(app)
    metrics.init_app(app)
    health.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(preview_views.bp)
    throttle.init_app(app)  # after the blueprints: it wraps their views
    return app
