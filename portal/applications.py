"""Finding the application a file goes onto.

Kombo has no free-text search: a candidate can be found by exact e-mail
(case-insensitive), a job by a part of its name, and applications by job or
newest first. Every application we show or act on was read from Kombo under
the principal's integration, which is what ties an id to a tenant.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.access import Principal
from portal.errors import PortalError
from portal.kombo import Page, is_kombo_id
from portal.kombo_app import get_kombo
from portal.numbers import parse_count

log = logging.getLogger(__name__)

PAGE_SIZE = 25
MAX_RECENT = 500  # deeper than this, a recruiter searches by e-mail or job instead
NARROW_STEPS = 8  # windows looked at, each read up to KOMBO_SCAN_PAGES pages
SEARCH_HELP = _l(
    "Kombo cannot search free text: find a candidate by their exact e-mail address, "
    "pick a job by a part of its name, or choose from the most recent applications."
)


@dataclass(frozen=True)
class Application:
    """One application as a recruiter recognises it."""

    id: str
    candidate_id: str | None
    candidate_name: str
    email: str | None
    job_id: str | None
    job_name: str
    stage: str
    outcome: str | None
    created_at: str | None

    @property
    def label(self) -> str:
        """'First Last · Job · Stage'."""
        return " · ".join([self.candidate_name, self.job_name, self.stage])

    def public(self) -> dict[str, Any]:
        """The JSON form."""
        return {**asdict(self), "label": self.label}


def _name(candidate: dict[str, Any] | None) -> str:
    candidate = candidate or {}
    name = " ".join(p for p in (candidate.get("first_name"), candidate.get("last_name")) if p)
    return name or "Unnamed candidate"


def _email(candidate: dict[str, Any] | None) -> str | None:
    emails = (candidate or {}).get("email_addresses") or []
    return emails[0].get("email_address") if emails and isinstance(emails[0], dict) else None


def _build(raw: dict[str, Any], candidate: dict[str, Any] | None) -> Application:
    """An Application from Kombo's application object, or from a candidate's applications[]
    entry (which carries the same job and stage but not the candidate)."""
    job = raw.get("job") or {}
    return Application(
        id=raw["id"],
        candidate_id=raw.get("candidate_id") or (candidate or {}).get("id"),
        candidate_name=_name(candidate),
        email=_email(candidate),
        job_id=raw.get("job_id") or job.get("id"),
        job_name=job.get("name") or "No job",
        stage=(raw.get("current_stage") or {}).get("name") or "No stage",
        outcome=raw.get("outcome"),
        created_at=raw.get("remote_created_at"),
    )


def _from_application(raw: dict[str, Any]) -> Application:
    return _build(raw, raw.get("candidate"))


def _from_candidate(candidate: dict[str, Any]) -> list[Application]:
    return [_build(app, candidate) for app in candidate.get("applications") or []]


def _visible(principal: Principal, apps: list[Application]) -> list[Application]:
    return [a for a in apps if principal.may_open(a.id)]


def by_email(principal: Principal, integration_id: str, email: str) -> list[Application]:
    """Applications of the candidate(s) with this exact e-mail address."""
    email = email.strip()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise PortalError(
            400, "email_invalid", _l("Enter a whole e-mail address, like ada@example.com.")
        )
    page = get_kombo().list_candidates(integration_id, email=email, page_size=50)
    apps = [a for c in page.results for a in _from_candidate(c)]
    return _visible(principal, apps)


def by_job(
    principal: Principal, integration_id: str, job_id: str, cursor: str | None = None
) -> tuple[list[Application], str | None]:
    """One page of a job's applications, newest first (sorted here: Kombo documents no order)."""
    if not is_kombo_id(job_id):
        raise PortalError(400, "job_invalid", _l("That job id is not valid."))
    return _newest_page(principal, integration_id, cursor, job_ids=[job_id])


def recent(
    principal: Principal, integration_id: str, cursor: str | None = None
) -> tuple[list[Application], str | None]:
    """One page of the most recently created applications, newest first."""
    return _newest_page(principal, integration_id, cursor)


def _newest_page(
    principal: Principal, integration_id: str, cursor: str | None, job_ids: list[str] | None = None
) -> tuple[list[Application], str | None]:
    """Page `cursor` (our own: an offset) of the newest applications; next is the next offset."""
    offset = _offset(cursor)
    rows = newest(integration_id, offset + PAGE_SIZE + 1, job_ids=job_ids)
    page = [_from_application(r) for r in rows[offset : offset + PAGE_SIZE]]
    more = len(rows) > offset + PAGE_SIZE and offset + PAGE_SIZE < MAX_RECENT
    return _visible(principal, page), str(offset + PAGE_SIZE) if more else None


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    offset = parse_count(cursor, max_digits=4)
    if offset is None or offset % PAGE_SIZE or offset >= MAX_RECENT:
        raise PortalError(400, "cursor_invalid", _l("That page link is not valid; start again."))
    return offset


def newest(
    integration_id: str, wanted: int, *, job_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """At least `wanted` of the most recently created applications (all if fewer exist),
    newest first.

    Kombo documents no order for GET /ats/applications, so the portal sorts, and finds the
    newest with the documented `remote_created_after` filter: the pages read so far are a
    sample in an order unrelated to dates, and the `wanted`-th newest date among them starts
    a window that holds at least `wanted` applications, all newer than everything outside
    it. A window still too big to read whole is a newer sample, and narrows it again.
    """
    config = current_app.config
    enough = -(-2 * wanted // config["KOMBO_SCAN_PAGE_SIZE"])  # pages for a sample of 2 x wanted
    sample = _scan(integration_id, None, job_ids, pages=min(enough, config["KOMBO_SCAN_PAGES"]))
    if sample.complete:
        return _by_date(sample.rows)  # the first pages hold them all
    steps = 0
    while steps < NARROW_STEPS:
        dated = sorted((d for d in map(_created, sample.rows) if d is not None), reverse=True)
        if len(dated) < wanted:
            break  # too few dates to start a window: read what we can
        # First a bold guess (a window ~8 times smaller), then the one that surely holds enough.
        for index in dict.fromkeys((max(1, wanted // 8), wanted)):
            steps += 1
            after = dated[index - 1] - timedelta(milliseconds=1)  # the filter is strictly "after"
            window = _scan(integration_id, after, job_ids)
            if not window.complete:
                sample = window  # a newer sample: narrow again from it
                break
            if len(window.rows) >= wanted:
                return _by_date(window.rows)
            if index == wanted:  # the sample saw `wanted` newer than that: the filter is ignored
                steps = NARROW_STEPS
        else:
            break
    log.warning(
        "newest applications of %s: no date window fits; sorted what was read", integration_id
    )
    return _by_date(_scan(integration_id, None, job_ids).rows)


@dataclass(frozen=True)
class _Scan:
    rows: list[dict[str, Any]]
    complete: bool  # every application of the window was read


def _scan(
    integration_id: str, after: datetime | None, job_ids: list[str] | None, pages: int | None = None
) -> _Scan:
    """The applications created after `after` (None: all), as far as `pages` pages go."""
    limit = pages or current_app.config["KOMBO_SCAN_PAGES"]
    stamp = None
    if after is not None:
        after = after.astimezone(UTC)
        stamp = after.strftime("%Y-%m-%dT%H:%M:%S.") + f"{after.microsecond // 1000:03d}Z"
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(limit):
        page = _list(integration_id, stamp, job_ids, cursor)
        rows += page.results
        cursor = page.next
        if cursor is None:
            return _Scan(rows, True)
    return _Scan(rows, False)


def _list(
    integration_id: str, after: str | None, job_ids: list[str] | None, cursor: str | None
) -> Page:
    return get_kombo().list_applications(
        integration_id,
        remote_created_after=after,
        job_ids=job_ids,
        cursor=cursor,
        page_size=current_app.config["KOMBO_SCAN_PAGE_SIZE"],
    )


def _created(raw: dict[str, Any]) -> datetime | None:
    value = raw.get("remote_created_at")
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _by_date(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest first by remote_created_at (undated last), ties by id; each id once."""
    unique = {r["id"]: r for r in rows if isinstance(r.get("id"), str)}
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(unique.values(), key=lambda r: (_created(r) or oldest, r["id"]), reverse=True)


def jobs(
    integration_id: str, query: str, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Open jobs whose name contains `query` (empty: all open jobs)."""
    query = query.strip()[:100]
    page = get_kombo().list_jobs(
        integration_id, name_contains=query or None, statuses=["OPEN"], cursor=cursor, page_size=50
    )
    found = [
        {"id": j["id"], "name": j.get("name") or "Untitled job", "status": j.get("status")}
        for j in page.results
    ]
    return found, page.next


@dataclass(frozen=True)
class Search:
    """One search of an integration: applications (or, on the page, jobs) and the next cursor."""

    mode: str  # "email", "job", "recent", or "jobs" (jobs matching a part of their name)
    applications: list[Application] = field(default_factory=list)
    next: str | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)


def search(
    principal: Principal,
    integration_id: str,
    *,
    email: str | None = None,
    job_id: str | None = None,
    cursor: str | None = None,
    job_query: str | None = None,
) -> Search:
    """By exact e-mail, else jobs whose name has `job_query` (when given and no job is chosen),
    else a job's applications, else the most recent; the page and the API both ask this."""
    if email:
        return Search("email", by_email(principal, integration_id, email))
    if job_query is not None and not job_id:
        # Kombo's cursor is kept, so every open job is reachable without typing.
        found_jobs, nxt = jobs(integration_id, job_query, cursor)
        return Search("jobs", next=nxt, jobs=found_jobs)
    if job_id:
        found, nxt = by_job(principal, integration_id, job_id, cursor)
        return Search("job", found, nxt)
    found, nxt = recent(principal, integration_id, cursor)
    return Search("recent", found, nxt)


NOT_FOUND = _l("That application does not exist or you have no access to it.")
NOT_SYNCED = _l(
    "We could not find this application through Kombo. If it was created in the ATS in the "
    "last few minutes, Kombo may not have synced it yet: try again in a few minutes. "
    "Otherwise it does not exist, or you have no access to it."
)


def get(principal: Principal, integration_id: str, application_id: str) -> Application:
    """The application, read under this integration; 404 if it is not one of its applications.

    Kombo reads a synced copy of the ATS, so a well-formed id it does not know may be an
    application created minutes ago: the message says both possibilities plainly.
    """
    if not is_kombo_id(application_id) or not principal.may_open(application_id):
        raise PortalError(404, "not_found", NOT_FOUND)
    page = get_kombo().list_applications(integration_id, ids=[application_id], page_size=1)
    match = [r for r in page.results if r.get("id") == application_id]
    if not match:
        raise PortalError(404, "not_found", NOT_SYNCED, maybe_not_synced=True)
    return _from_application(match[0])


def other_applications(integration_id: str, candidate_id: str) -> dict[str, str]:
    """application id -> job name for a candidate's applications (to say where a file belongs)."""
    page = get_kombo().list_candidates(integration_id, ids=[candidate_id], page_size=1)
    return {a.id: a.job_name for c in page.results for a in _from_candidate(c)}
