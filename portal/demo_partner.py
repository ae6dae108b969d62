"""A tiny stand-in for a partner's app, on another origin, for trying the embed in sandbox mode.

Its backend mints embed tokens with the partner secret (as a real partner's
server would, after checking its own user); its page frames the portal and
shows every message the portal posts to it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask, abort, render_template, request

from portal import _asset_dir, i18n
from portal.tokens import mint_embed_token


def create_partner_app() -> Flask:
    """The demo partner app, configured by DEMO_* environment variables from `portal serve`."""
    app = Flask(
        "demo_partner", template_folder=_asset_dir("templates"), static_folder=_asset_dir("static")
    )
    partner_id = os.environ["DEMO_PARTNER_ID"]
    secret = os.environ["DEMO_PARTNER_SECRET"]
    integrations = json.loads(os.environ["DEMO_PARTNER_INTEGRATIONS"])
    portal_url = os.environ["DEMO_PORTAL_URL"].rstrip("/")

    @app.get("/")
    def index() -> Any:
        return render_template(
            "demo_partner/index.html",
            integrations=integrations,
            portal_url=portal_url,
            partner_id=partner_id,
        )

    @app.post("/token")
    def token() -> Any:
        body = request.get_json(silent=True) or {}
        iid = body.get("integration_id")
        if iid not in integrations:
            abort(400)
        return {
            "token": mint_embed_token(
                partner_id,
                iid,
                secret=secret,
                application_id=body.get("application_id") or None,
                user="demo recruiter",
                ttl=300,
                parent_origin=request.host_url.rstrip("/"),
                # The partner's choice of language for its user, carried into the embed session.
                locale=body.get("locale") if i18n.known(body.get("locale")) else None,
            )
        }

    @app.after_request
    def headers(resp: Any) -> Any:
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self'; style-src 'self'; frame-src {portal_url}; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    return app
