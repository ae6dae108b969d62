"""JSON shapes of Kombo objects, exactly as documented (and as the SDK 1.4.0 models expect)."""

from __future__ import annotations

from typing import Any

from . import catalog
from .catalog import Behaviour
from .data import DAY_MS, HOUR_MS, Application, Attachment, Candidate, Integration, Job, Stage
from .ids import iso_ms, make_id, now_ms

JSONDict = dict[str, Any]


def tool_assets(tool: str) -> tuple[str, str]:
    """Logo and icon URLs on Kombo's asset bucket."""
    base = f"https://storage.googleapis.com/kombo-assets/integrations/{tool}"
    return f"{base}/logo.svg", f"{base}/icon.svg"


def _coverage(entry_id: str, label: str, available: bool) -> JSONDict:
    return {
        "id": entry_id,
        "label": label,
        "is_available": available,
        "coverage_status": "SUPPORTED" if available else "UNSUPPORTED",
        "scope_config_setting": "ENABLED",
        "opted_out_by_customer": False,
        "fields": [],
    }


def integration(integ_id: str, b: Behaviour, created_ms: int) -> JSONDict:
    """GET /integrations/{id} data."""
    logo, icon = tool_assets(b.tool)
    return {
        "id": integ_id,
        "tool": {
            "id": b.tool,
            "label": b.label,
            "internal_label": None,
            "logo_url": logo,
            "icon_url": icon,
        },
        "category": "ATS",
        "status": b.status,
        "setup_status": "COMPLETED",
        "end_user": {
            "organization_name": b.organization,
            "creator_email": b.creator_email,
            "origin_id": make_id(integ_id, "origin"),
        },
        "scope_config": {"id": make_id(integ_id, "scope"), "name": "Attachment portal"},
        "data_expired_at": None,
        "created_at": iso_ms(created_ms),
        "beta": False,
        "read_models": [
            _coverage("ats_jobs", "Jobs", True),
            _coverage("ats_candidates", "Candidates", True),
            _coverage("ats_applications", "Applications", True),
        ],
        "write_actions": [
            _coverage(
                "ats_add_application_attachment", "Add attachment to application", b.can_upload
            ),
            _coverage("ats_add_candidate_attachment", "Add attachment to candidate", b.can_upload),
        ],
    }


def upload_restrictions(b: Behaviour) -> JSONDict:
    """GET /ats/actions/ats_add_application_attachment data."""
    if b.restrictions is None:
        return {"attachment_restrictions": None}
    types: JSONDict = {}
    for name, rule in b.restrictions.items():
        if not rule.is_supported:
            types[name] = {"is_supported": False}  # as in Kombo's example
            continue
        mimes = rule.accepted_mime_types
        types[name] = {
            "is_supported": True,
            "max_file_size_bytes": rule.max_file_size_bytes,
            "accepted_mime_types": list(mimes) if mimes is not None else None,
        }
    return {"attachment_restrictions": {"types": types}}


def _stage(stage: Stage) -> JSONDict:
    # SDK 1.4.0 requires `status` and `custom_fields` too (nullable, but present).
    return {
        "id": stage.id,
        "remote_id": stage.remote_id,
        "name": stage.name,
        "index": stage.index,
        "status": "ACTIVE",
        "custom_fields": {},
    }


def _job_ref(job: Job) -> JSONDict:
    return {"id": job.id, "remote_id": job.remote_id, "name": job.name}


def _tags(cand: Candidate) -> list[JSONDict]:
    tag = cand.tag
    return [] if tag is None else [{"id": tag.id, "remote_id": tag.remote_id, "name": tag.name}]


def _contact(cand: Candidate) -> JSONDict:
    seed = cand.seed
    links = []
    if seed % 3 == 0:
        handle = cand.email.split("@", 1)[0].replace(".", "-")
        links = [
            {
                "link": f"https://www.linkedin.com/in/{handle}",
                "type": "LINKEDIN",
                "username": handle,
            }
        ]
    emails = [e for e in (cand.email, *cand.extra_emails) if e]
    return {
        "email_addresses": [
            {"email_address": e, "type": "PERSONAL" if n == 0 else "WORK"}
            for n, e in enumerate(emails)
        ],
        "phone_numbers": [
            {
                "phone_number": f"+1-555-{100 + seed % 900:03d}-{1000 + (seed >> 10) % 9000}",
                "type": "MOBILE",
            }
        ],
        "social_media": links,
    }


def candidate_url(b: Behaviour, cand: Candidate) -> str:
    """The candidate's page in the ATS."""
    return b.candidate_url.format(c=cand.remote_id)


def application_url(b: Behaviour, app: Application) -> str | None:
    """The application's page in the ATS, or None where the ATS has none."""
    if b.application_url is None:
        return None
    return b.application_url.format(c=app.candidate.remote_id, a=app.remote_id)


def _rejected_at(app: Application) -> str | None:
    return iso_ms(app.updated_ms) if app.outcome == "DECLINED" else None


def _interviews(integ: Integration, app: Application, cand: Candidate) -> list[JSONDict]:
    names = [s.name for s in app.job.stages]
    if "Interview" not in names or app.stage.index < names.index("Interview"):
        return []
    start = app.created_ms + 7 * DAY_MS
    city, country = cand.pick(catalog.CITIES, 16)
    return [
        {
            "id": make_id(integ.id, "interview", app.id),
            "remote_id": str(int(app.remote_id) + 300_000),
            "title": f"Interview with {cand.full_name}",
            "starting_at": iso_ms(start),
            "ending_at": iso_ms(start + HOUR_MS),
            "location": {"city": city, "country": country, "raw": f"{city}, {country}"},
            "canceled": False,
        }
    ]


def _offers(integ: Integration, app: Application) -> list[JSONDict]:
    if app.stage.name not in ("Offer", "Hired"):
        return []
    return [
        {
            "id": make_id(integ.id, "offer", app.id),
            "remote_id": str(int(app.remote_id) + 600_000),
            "status": "ACCEPTED" if app.stage.name == "Hired" else "SENT",
        }
    ]


# Nullable per the spec (and SDK 1.4.0); the messy variant sends null in all of them.
_APPLICATION_NULLABLE = (
    "remote_id",
    "outcome",
    "rejection_reason_name",
    "rejected_at",
    "current_stage_id",
    "job_id",
    "candidate_id",
    "custom_fields",
    "remote_url",
    "remote_deleted_at",
    "remote_created_at",
    "remote_updated_at",
    "remote_data",
    "candidate",
    "current_stage",
    "job",
    "screening_question_answers",
)
_CANDIDATE_NULLABLE = (
    "first_name",
    "last_name",
    "company",
    "title",
    "confidential",
    "source",
    "custom_fields",
    "remote_url",
    "remote_created_at",
    "remote_updated_at",
    "remote_deleted_at",
    "remote_data",
    "phone_numbers",
    "email_addresses",
    "social_media",
    "location",
)
_CANDIDATE_APPLICATION_NULLABLE = (
    "remote_id",
    "outcome",
    "rejection_reason_name",
    "rejected_at",
    "remote_url",
    "remote_created_at",
    "remote_updated_at",
    "current_stage",
    "job",
)


def _nulls(record: Application | Candidate, obj: JSONDict, keys: tuple[str, ...]) -> JSONDict:
    """The messy variant: every third record has null in every nullable field."""
    if record.nulls:
        obj.update(dict.fromkeys(keys))
    return obj


def application(integ: Integration, app: Application) -> JSONDict:
    """An element of GET /ats/applications results."""
    return _nulls(app, _application(integ, app), _APPLICATION_NULLABLE)


def _application(integ: Integration, app: Application) -> JSONDict:
    cand = app.candidate
    b = integ.behaviour
    return {
        "id": app.id,
        "remote_id": app.remote_id,
        "outcome": app.outcome,
        "rejection_reason_name": app.rejection_reason,
        "rejected_at": _rejected_at(app),
        "current_stage_id": app.stage.id,
        "job_id": app.job.id,
        "candidate_id": cand.id,
        "screening_question_answers": [],
        "custom_fields": {},
        "integration_fields": [],
        "remote_url": application_url(b, app),
        "changed_at": iso_ms(app.updated_ms),
        "remote_deleted_at": iso_ms(app.deleted_ms),
        "remote_created_at": iso_ms(app.created_ms),
        "remote_updated_at": iso_ms(app.updated_ms),
        "remote_data": None,
        "candidate": {
            "id": cand.id,
            "remote_id": cand.remote_id,
            "first_name": cand.first_name,
            "last_name": cand.last_name,
            **_contact(cand),
            "source": cand.pick(catalog.SOURCES, 12),
            "remote_url": candidate_url(b, cand),
            "tags": _tags(cand),
        },
        "current_stage": _stage(app.stage),
        "job": _job_ref(app.job),
        "interviews": _interviews(integ, app, cand),
        "offers": _offers(integ, app),
    }


def _candidate_application(b: Behaviour, app: Application) -> JSONDict:
    stage = app.stage
    return {
        "id": app.id,
        "remote_id": app.remote_id,
        "outcome": app.outcome,
        "rejection_reason_name": app.rejection_reason,
        "rejected_at": _rejected_at(app),
        "remote_url": application_url(b, app),
        "changed_at": iso_ms(app.updated_ms),
        "remote_created_at": iso_ms(app.created_ms),
        "remote_updated_at": iso_ms(app.updated_ms),
        "current_stage": {
            "id": stage.id,
            "name": stage.name,
            "remote_id": stage.remote_id,
            "index": stage.index,
        },
        "job": {"id": app.job.id, "name": app.job.name, "remote_id": app.job.remote_id},
    }


def candidate(integ: Integration, cand: Candidate, include_deleted: bool) -> JSONDict:
    """An element of GET /ats/candidates results."""
    return _nulls(cand, _candidate(integ, cand, include_deleted), _CANDIDATE_NULLABLE)


def _candidate(integ: Integration, cand: Candidate, include_deleted: bool) -> JSONDict:
    b = integ.behaviour
    city, country = cand.pick(catalog.CITIES, 16)
    now = now_ms()
    apps = [
        a
        for a in cand.applications
        if (include_deleted or a.deleted_ms is None) and a.visible_ms <= now
    ]
    return {
        "id": cand.id,
        "remote_id": cand.remote_id,
        "first_name": cand.first_name,
        "last_name": cand.last_name,
        "company": cand.pick(catalog.COMPANIES, 4),
        "title": cand.pick(catalog.TITLES, 8),
        "confidential": False,
        "source": cand.pick(catalog.SOURCES, 12),
        **_contact(cand),
        "location": {
            "city": city,
            "country": country,
            "raw": f"{city}, {country}",
            "state": None,
            "street_1": None,
            "street_2": None,
            "zip_code": None,
        },
        "custom_fields": {},
        "integration_fields": [],
        "remote_url": candidate_url(b, cand),
        "remote_created_at": iso_ms(cand.created_ms),
        "remote_updated_at": iso_ms(cand.updated_ms),
        "remote_data": None,
        "changed_at": iso_ms(cand.updated_ms),
        "remote_deleted_at": iso_ms(cand.deleted_ms),
        "applications": [
            _nulls(a, _candidate_application(b, a), _CANDIDATE_APPLICATION_NULLABLE) for a in apps
        ],
        "tags": _tags(cand),
    }


def post_url(integ: Integration, j: Job) -> str | None:
    """The public posting URL of an open job."""
    if j.spec.status != "OPEN":
        return None
    return f"https://jobs.example.com/{integ.behaviour.tool}/{j.name.lower().replace(' ', '-')}"


def job(integ: Integration, j: Job) -> JSONDict:
    """An element of GET /ats/jobs results."""
    spec = j.spec
    return {
        "id": j.id,
        "remote_id": j.remote_id,
        "name": spec.name,
        "job_code": j.job_code,
        "description": f"<p>Join {integ.behaviour.organization} as a {spec.name}.</p>",
        "confidential": False,
        "weekly_hours": 20.0 if spec.employment_type == "PART_TIME" else 40.0,
        "category": spec.department,
        "department": spec.department,
        "post_url": post_url(integ, j),
        "experience_level": None,
        "salary_amount": None,
        "salary_amount_from": None,
        "salary_amount_to": None,
        "salary_currency": None,
        "salary_period": None,
        "custom_fields": {},
        "integration_fields": [],
        "remote_url": f"https://ats.example.com/{integ.behaviour.tool}/jobs/{j.remote_id}",
        "opened_at": None if spec.status == "DRAFT" else iso_ms(j.created_ms),
        "closed_at": iso_ms(j.closed_ms),
        "remote_created_at": iso_ms(j.created_ms),
        "remote_updated_at": iso_ms(j.updated_ms),
        "remote_data": None,
        "contact_id": None,
        "changed_at": iso_ms(j.updated_ms),
        "remote_deleted_at": None,
        "employment_type": spec.employment_type,
        "status": spec.status,
        "visibility": spec.visibility,
        "remote_work_status": "HYBRID",
        "location": {"city": spec.city, "raw": spec.city},
        "stages": [_stage(s) for s in j.stages],
        "screening_questions": [],
        "job_postings": [],
        "hiring_team": [],
    }


def candidate_attachment(att: Attachment, host_url: str) -> JSONDict:
    """An element of GET /ats/candidates/{id}/attachments results (the ten documented keys)."""
    return {
        "id": att.id,
        "application_id": att.application_id,
        "candidate_id": att.candidate_id,
        "type": att.type,
        "remote_id": att.remote_id,
        "data_url": f"{host_url}resources/{att.id}",
        "file_name": att.file_name,
        "content_type": att.content_type,
        "remote_created_at": iso_ms(att.created_ms),
        "remote_updated_at": iso_ms(att.updated_ms),
    }


def application_attachment(att: Attachment, host_url: str) -> JSONDict:
    """An element of GET /ats/applications/{id}/attachments results (the eight documented)."""
    full = candidate_attachment(att, host_url)
    del full["application_id"], full["candidate_id"]
    return full
