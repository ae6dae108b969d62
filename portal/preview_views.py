"""Preview routes: the thumbnail, the first pages large, and a page of ours that shows them.

Like downloads, a signed short-lived link is the grant (an <img> carries no bearer header);
it is minted only for principals with the `download` scope (attachments._item). Every answer
is a PNG we rendered, or our own HTML page; never the original file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, url_for
from flask_babel import lazy_gettext as _l

from portal import access, previews, tokens
from portal.errors import PortalError

bp = Blueprint("previews", __name__)
bp.record_once(lambda state: previews.check_settings(state.app.config))

PNG_HEADERS = {
    "Content-Type": "image/png",
    "Content-Disposition": 'inline; filename="preview.png"',
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=60",
}


def _png(data: bytes) -> Response:
    return Response(data, headers=PNG_HEADERS)


def _grant(token: str) -> tuple[str, str, str, str | None, Any]:
    """What the link grants, if its session is still alive (410 link_session_ended if not)."""
    granted = previews.read_preview_token(token)
    access.check_link_holder(granted[4])
    return granted


@bp.get("/preview/<token>/thumb.png")
def thumbnail(token: str) -> Response:
    """The first page, 240 pixels wide."""
    iid, cid, aid, lock, _ = _grant(token)
    return _png(previews.render(iid, cid, aid, "thumb", lock)[0].pages[0])


@bp.get("/preview/<token>/page/<int:number>.png")
def page(token: str, number: int) -> Response:
    """One of the first pages, large."""
    iid, cid, aid, lock, _ = _grant(token)
    if not 1 <= number <= previews.MAX_PAGES:
        raise PortalError(404, "not_found", _l("There is no preview of that page."))
    rendered, _ = previews.render(iid, cid, aid, "pages", lock)
    if number > len(rendered.pages):
        raise PortalError(404, "not_found", _l("There is no preview of that page."))
    return _png(rendered.pages[number - 1])


@bp.get("/preview/<token>")
def view(token: str) -> Any:
    """Our page with the first pages large (or why there is no preview), and a download link."""
    iid, cid, aid, lock, holder = _grant(token)
    download = url_for("api.download", token=tokens.download_token(iid, cid, aid, lock, holder))
    rendered: previews.Rendered | None
    try:
        rendered, name = previews.render(iid, cid, aid, "pages", lock)
    except PortalError as err:
        if err.code != "preview_unavailable":
            raise
        rendered, name = None, str(err.extra.get("file") or "")
    pages = [
        {"url": url_for("previews.page", token=token, number=n), "width": w, "height": h}
        for n, (w, h) in enumerate(rendered.sizes if rendered else (), start=1)
    ]
    return render_template(
        "pages/preview.html",
        name=name,
        pages=pages,
        page_count=rendered.page_count if rendered else 0,
        download_url=download,
    ), (200 if rendered else 422)
