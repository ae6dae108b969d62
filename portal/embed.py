"""The embeddable page: the same flow inside a partner's iframe, without cookies.

The partner's embed token travels in the URL fragment (#token=...), so it never
reaches a server log or a Referer; static/embed.js exchanges it for a session
token kept in memory. `?partner=` only picks which origins may frame the page
(CSP frame-ancestors); the exchange checks the token belongs to that partner.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, g, render_template, request

bp = Blueprint("embed", __name__)

_ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")


@bp.get("/embed")
def page() -> Any:
    """The embed page; cosmetic parameters are validated, nothing security-relevant is read here."""
    partner_id = request.args.get("partner", "")
    partner = current_app.config["PARTNERS"].get(partner_id)
    g.frame_ancestors = list(partner.get("origins", [])) if partner else []
    theme = request.args.get("theme")
    accent = request.args.get("accent", "")
    return render_template(
        "embed/page.html",
        partner_id=partner_id if partner else None,
        theme=theme if theme in ("light", "dark") else "auto",
        accent=accent if _ACCENT.match(accent) else None,
        origins=g.frame_ancestors,
    )
