"""Finding the application a file goes onto.

Kombo has no free-text search: a candidate can be found by exact e-mail
(case-insensitive), a job by a part of its name, and applications by job or
newest first. Every application we show or act on was read from Kombo under
the principal's integration, which is what ties an id to a tenant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from portal.access import Principal
from portal.errors import PortalError
from portal.integrations import get_kombo
from portal.kombo import is_kombo_id

PAGE_SIZE = 25
SEARCH_HELP = (
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
            400, "email_invalid", "Enter a whole e-mail address, like ada@example.com."
        )
    page = get_kombo().list_candidates(integration_id, email=email, page_size=50)
    apps = [a for c in page.results for a in _from_candidate(c)]
    return _visible(principal, apps)


def by_job(
    principal: Principal, integration_id: str, job_id: str, cursor: str | None = None
) -> tuple[list[Application], str | None]:
    """One page of a job's applications, newest first."""
    if not is_kombo_id(job_id):
        raise PortalError(400, "job_invalid", "That job id is not valid.")
    page = get_kombo().list_applications(
        integration_id, job_ids=[job_id], cursor=cursor, page_size=PAGE_SIZE
    )
    return _visible(principal, [_from_application(r) for r in page.results]), page.next


def recent(
    principal: Principal, integration_id: str, cursor: str | None = None
) -> tuple[list[Application], str | None]:
    """One page of the most recent applications."""
    page = get_kombo().list_applications(integration_id, cursor=cursor, page_size=PAGE_SIZE)
    return _visible(principal, [_from_application(r) for r in page.results]), page.next


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


def get(principal: Principal, integration_id: str, application_id: str) -> Application:
    """The application, read under this integration; 404 if it is not one of its applications."""
    if not is_kombo_id(application_id) or not principal.may_open(application_id):
        raise PortalError(
            404, "not_found", "That application does not exist or you have no access to it."
        )
    page = get_kombo().list_applications(integration_id, ids=[application_id], page_size=1)
    match = [r for r in page.results if r.get("id") == application_id]
    if not match:
        raise PortalError(
            404, "not_found", "That application does not exist or you have no access to it."
        )
    return _from_application(match[0])


def other_applications(integration_id: str, candidate_id: str) -> dict[str, str]:
    """application id -> job name for a candidate's applications (to say where a file belongs)."""
    page = get_kombo().list_candidates(integration_id, ids=[candidate_id], page_size=1)
    return {a.id: a.job_name for c in page.results for a in _from_candidate(c)}
