"""The recruiter's pages for signed-in staff: choose an integration, find the application, upload.

Everything works as plain HTML forms without JavaScript; static/portal.js adds
drag and drop, paste, progress and live refresh on top, through the JSON API.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import applications, attachments, integrations
from portal.access import Principal, current_principal, integration_for
from portal.errors import PortalError

bp = Blueprint("pages", __name__)


def staff_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages are for signed-in staff (anyone else is sent to sign in, then back here); the view
    gets the principal, and `iid` checked against it."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        principal = current_principal()
        if principal is None or not principal.is_staff:
            return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
        if "iid" in kwargs:
            kwargs["iid"] = integration_for(principal, kwargs["iid"])
        return view(principal, *args, **kwargs)

    return wrapped


@bp.get("/healthz")
def healthz() -> Any:
    """Liveness: answers without calling Kombo."""
    return {"status": "ok"}


@bp.get("/")
@staff_page
def home(principal: Principal) -> Any:
    """The integrations this staff member may use, with their status."""
    return render_template(
        "pages/home.html", integrations=integrations.all_for(principal.integrations)
    )


@bp.get("/i/<iid>")
@staff_page
def integration(principal: Principal, iid: str) -> Any:
    """Find an application: by candidate e-mail, by job, or among the most recent."""
    found, nxt, error, jobs, mode = _search(principal, iid)
    return render_template(
        "pages/integration.html",
        integration=integrations.get(iid),
        applications=found,
        next_cursor=nxt,
        jobs=jobs,
        mode=mode,
        search_error=error,
        help=applications.SEARCH_HELP,
        args=request.args,
    )


def _search(
    principal: Principal, iid: str
) -> tuple[list[Any], str | None, str | None, list[Any], str]:
    args = request.args
    jobs: list[Any] = []
    try:
        if args.get("email"):
            return applications.by_email(principal, iid, args["email"]), None, None, jobs, "email"
        if args.get("q") is not None and not args.get("job_id"):
            # Kombo's cursor is kept, so every open job is reachable without typing.
            jobs, nxt = applications.jobs(iid, args["q"], args.get("cursor"))
            return [], nxt, None, jobs, "jobs"
        if args.get("job_id"):
            found, nxt = applications.by_job(principal, iid, args["job_id"], args.get("cursor"))
            return found, nxt, None, jobs, "job"
        found, nxt = applications.recent(principal, iid, args.get("cursor"))
        return found, nxt, None, jobs, "recent"
    except PortalError as err:
        if err.status >= 500:
            raise
        return [], None, err.message, jobs, "error"


@bp.get("/i/<iid>/a/<aid>")
@staff_page
def application(principal: Principal, iid: str, aid: str) -> Any:
    """The application: drop files onto it, see the candidate's attachments."""
    app = applications.get(principal, iid, aid)
    listed = attachments.list_for(principal, iid, app)
    # Newest first without JavaScript too (ISO 8601 UTC stamps sort as text; undated last).
    listed.items.sort(key=lambda a: a.get("created_at") or "", reverse=True)
    return render_template(
        "pages/application.html",
        integration=integrations.get(iid),
        application=app,
        attachments=listed,
    )


@bp.post("/i/<iid>/a/<aid>/upload")
@staff_page
def upload(principal: Principal, iid: str, aid: str) -> Any:
    """The no-JavaScript upload: a plain multipart form post, answered with a redirect."""
    app = applications.get(principal, iid, aid)
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        flash(_l("Choose a file to upload."), "error")
    for file in files:
        try:
            answer = attachments.upload(principal, iid, app, file, request.form.get("type"))
        except PortalError as err:
            # Refusals of the file itself already name it; say it once.
            named = file.filename is not None and file.filename in err.message
            flash(err.message if named else f"{file.filename}: {err.message}", "error")
            continue
        outcome = answer.body
        name = outcome["attachment"]["name"]
        if outcome.get("code") == "already_uploaded":  # the form was sent twice (a resubmit)
            flash(
                _(
                    "“%(name)s” was already uploaded a moment ago, so it was not added twice.",
                    name=name,
                ),
                "success",
            )
            continue
        # Kombo's warnings are debug notes with raw ids (its docs: log them), not for recruiters.
        flash(_("“%(name)s” was uploaded.", name=name), "success")
    return redirect(url_for("pages.application", iid=iid, aid=aid), code=303)
