"""Strict query-parameter parsing, filtering and cursor pagination for the list endpoints.

Cursors are opaque base64 JSON holding a position in the (index-chosen) source list plus a
fingerprint of the filters, so a page costs O(page) when no scanning filter is set, and a
cursor replayed with different filters, another endpoint or another integration is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from werkzeug.datastructures import MultiDict

from .data import Application, Candidate, Integration, Job, _sort_key
from .errors import ApiError
from .ids import now_ms, parse_datetime_ms
from .render import post_url

T = TypeVar("T", Application, Candidate, Job)
Predicate = Callable[[Any], bool]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

OUTCOMES = {"PENDING", "HIRED", "DECLINED"}
JOB_STATUSES = {"OPEN", "CLOSED", "DRAFT", "ARCHIVED"}
EMPLOYMENT_TYPES = {"FULL_TIME", "PART_TIME", "CONTRACT", "SEASONAL", "INTERNSHIP"}
VISIBILITIES = {"PUBLIC", "INTERNAL", "UNLISTED", "CONFIDENTIAL"}

# Parameter kinds per endpoint, as in the SDK 1.4.0 request models (plus the deprecated
# singular `outcome` / `status` the public spec still lists).
_COMMON = {
    "cursor": "cursor",
    "page_size": "page_size",
    "updated_after": "datetime",
    "include_deleted": "bool",
    "ignore_unsupported_filters": "bool",
    "ids": "list",
    "remote_ids": "list",
}
PARAMS: dict[str, dict[str, Any]] = {
    "list_applications": {
        **_COMMON,
        "outcomes": OUTCOMES,
        "outcome": "deprecated:outcomes",
        "job_ids": "list",
        "job_remote_ids": "list",
        "current_stage_ids": "list",
        "remote_created_after": "datetime",
    },
    "list_candidates": {
        **_COMMON,
        "email": "email",
        "job_ids": "list",
        "first_name": "str",
        "last_name": "str",
    },
    "list_jobs": {
        **_COMMON,
        "job_codes": "list",
        "post_url": "str",
        "statuses": JOB_STATUSES,
        "status": "deprecated:statuses",
        "employment_types": EMPLOYMENT_TYPES,
        "visibilities": VISIBILITIES,
        "remote_created_after": "datetime",
        "name_contains": "str",
    },
}


def _invalid(message: str) -> ApiError:
    return ApiError("PLATFORM.INPUT_INVALID", message)


def _split_list(name: str, raw: str) -> list[str]:
    items = raw.split(",")
    if any(not item.strip() for item in items):
        raise _invalid(
            f"Query parameter '{name}' must be a comma-separated list of non-empty "
            f"values, got {raw!r}."
        )
    return [item.strip() for item in items]


def _parse_value(name: str, kind: Any, raw: str) -> Any:
    if isinstance(kind, set):
        values = _split_list(name, raw)
        bad = [v for v in values if v not in kind]
        if bad:
            raise _invalid(
                f"Query parameter '{name}' has invalid value(s) {bad}; allowed: "
                f"{', '.join(sorted(kind))}."
            )
        return values
    if kind == "list":
        return _split_list(name, raw)
    if kind == "page_size":
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise _invalid(
                f"Query parameter 'page_size' must be an integer from 1 to "
                f"{MAX_PAGE_SIZE}, got {raw!r}."
            )
        return int(raw)
    if kind == "bool":
        if raw not in ("true", "false"):
            raise _invalid(f"Query parameter '{name}' must be 'true' or 'false', got {raw!r}.")
        return raw == "true"
    if kind == "datetime":
        try:
            return parse_datetime_ms(raw)
        except ValueError:
            raise _invalid(
                f"Query parameter '{name}' must be an ISO 8601 date-time like "
                f"2024-01-31T12:00:00.000Z, got {raw!r}."
            ) from None
    if kind == "email" and not EMAIL_RE.fullmatch(raw):
        raise _invalid(f"Query parameter 'email' must be an e-mail address, got {raw!r}.")
    if not raw:
        raise _invalid(f"Query parameter '{name}' must not be empty.")
    return raw


def parse_params(op: str, args: MultiDict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Validate the query string of a list endpoint; returns (values, warnings)."""
    spec = PARAMS[op]
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for name in args:
        if name not in spec:
            raise _invalid(f"Unknown query parameter '{name}'. Allowed: {', '.join(spec)}.")
        raw_values = args.getlist(name)
        if len(raw_values) > 1:
            raise _invalid(
                f"Query parameter '{name}' was given {len(raw_values)} times; pass "
                "lists once, comma-separated."
            )
        kind = spec[name]
        if isinstance(kind, str) and kind.startswith("deprecated:"):
            target = kind.split(":", 1)[1]
            warnings.append(f"The '{name}' parameter is deprecated; use '{target}' instead.")
            if target in args:
                raise _invalid(f"Pass either '{name}' or '{target}', not both.")
            values[target] = _parse_value(name, spec[target], raw_values[0])
            continue
        values[name] = _parse_value(name, kind, raw_values[0])
    return values, warnings


# -- cursors -------------------------------------------------------------------------------
def _fingerprint(op: str, integration_id: str, filters: dict[str, Any]) -> str:
    canon = json.dumps([op, integration_id, sorted(filters.items())], default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def encode_cursor(fingerprint: str, position: int) -> str:
    """An opaque cursor (standard base64, like Kombo's)."""
    raw = json.dumps({"v": 1, "f": fingerprint, "p": position}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, fingerprint: str, size: int) -> int:
    """Position stored in a cursor; 400 if it is garbage or was made for other filters."""
    try:
        data = json.loads(base64.b64decode(cursor, validate=True))
    except (binascii.Error, ValueError):
        raise _invalid(
            "The 'cursor' parameter is not a valid cursor. Pass the 'next' value "
            "of the previous page unchanged."
        ) from None
    position = data.get("p") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or set(data) != {"v", "f", "p"}
        or type(position) is not int
        or not 0 < position < size
    ):
        raise _invalid(
            "The 'cursor' parameter is not a valid cursor. Pass the 'next' value "
            "of the previous page unchanged."
        )
    if data["f"] != fingerprint:
        raise _invalid(
            "The 'cursor' was issued for different filters (or another endpoint or "
            "integration). Send the same filters again together with the cursor."
        )
    return position


@dataclass
class Page:
    """One page of results plus the cursor of the next page (None on the last page)."""

    items: list[Any]
    next: str | None
    warnings: list[str]


def _paginate(
    source: Sequence[T], pred: Predicate | None, start: int, size: int, fingerprint: str
) -> tuple[list[T], str | None]:
    if pred is None:  # O(page): a plain slice of a pre-sorted list
        page = list(source[start : start + size])
        end = start + len(page)
        return page, encode_cursor(fingerprint, end) if end < len(source) else None
    items: list[T] = []
    i, n = start, len(source)
    while i < n and len(items) < size:
        if pred(source[i]):
            items.append(source[i])
        i += 1
    # Look ahead to the next match so that `next` is null exactly on the last page.
    while i < n and not pred(source[i]):
        i += 1
    return items, encode_cursor(fingerprint, i) if i < n else None


def _merge(lists: Iterable[Sequence[T]]) -> list[T]:
    merged = list(heapq.merge(*lists, key=_sort_key))
    seen: set[str] = set()
    unique = []
    for obj in merged:  # a candidate can appear in several jobs' lists
        if obj.id not in seen:
            seen.add(obj.id)
            unique.append(obj)
    return unique


def _all_of(preds: list[Predicate]) -> Predicate | None:
    if not preds:
        return None
    return lambda obj: all(p(obj) for p in preds)


def _run(
    op: str,
    integ: Integration,
    values: dict[str, Any],
    source: Sequence[T],
    preds: list[Predicate],
    warnings: list[str],
) -> Page:
    filters = {k: v for k, v in values.items() if k not in ("cursor", "page_size")}
    fingerprint = _fingerprint(op, integ.id, filters)
    start = 0
    if "cursor" in values:
        start = decode_cursor(values["cursor"], fingerprint, len(source))
    size = values.get("page_size", DEFAULT_PAGE_SIZE)
    items, nxt = _paginate(source, _all_of(preds), start, size, fingerprint)
    return Page(items, nxt, warnings)


def _common_preds(values: dict[str, Any], preds: list[Predicate], live_source: bool) -> None:
    if not values.get("include_deleted", False) and not live_source:
        preds.append(lambda o: o.deleted_ms is None)
    if "ids" in values:
        ids = set(values["ids"])
        preds.append(lambda o: o.id in ids)
    if "remote_ids" in values:
        remote_ids = set(values["remote_ids"])
        preds.append(lambda o: o.remote_id in remote_ids)
    if "updated_after" in values:
        after = values["updated_after"]
        preds.append(lambda o: o.updated_ms > after)
    if "remote_created_after" in values:
        created_after = values["remote_created_after"]
        preds.append(lambda o: o.created_ms > created_after)


def _by_ids(lookup: dict[str, T], ids: list[str]) -> list[T]:
    found = {i: lookup[i] for i in ids if i in lookup}
    return sorted(found.values(), key=_sort_key)


def _set_pred(
    values: dict[str, Any], key: str, preds: list[Predicate], getter: Callable[[Any], Any]
) -> None:
    if key in values:
        allowed = set(values[key])
        preds.append(lambda o: getter(o) in allowed)


def list_applications(integ: Integration, values: dict[str, Any], warnings: list[str]) -> Page:
    """GET /ats/applications: filters AND-ed, values inside one filter OR-ed."""
    include_deleted = values.get("include_deleted", False)
    # Pick the narrowest index as the source; every filter is then also checked as a
    # predicate, which is cheap and keeps the result right whichever index was used.
    source: Sequence[Application]
    if "ids" in values:
        source = _by_ids(integ.application_by_id, values["ids"])
    elif "job_ids" in values:
        lists = [integ.applications_by_job.get(j, []) for j in dict.fromkeys(values["job_ids"])]
        source = lists[0] if len(lists) == 1 else _merge(lists)
    else:
        source = integ.applications_all if include_deleted else integ.applications
    preds: list[Predicate] = []
    _common_preds(values, preds, live_source=source is integ.applications)
    _set_pred(values, "job_ids", preds, lambda a: a.job.id)
    _set_pred(values, "outcomes", preds, lambda a: a.outcome)
    _set_pred(values, "job_remote_ids", preds, lambda a: a.job.remote_id)
    _set_pred(values, "current_stage_ids", preds, lambda a: a.stage.id)
    now = now_ms()
    if integ.pending_until > now:  # created minutes ago: not in Kombo's synced copy yet
        preds.append(lambda a: a.visible_ms <= now)
    return _run("list_applications", integ, values, source, preds, warnings)


def list_candidates(integ: Integration, values: dict[str, Any], warnings: list[str]) -> Page:
    """GET /ats/candidates: email / names are case-insensitive exact matches."""
    include_deleted = values.get("include_deleted", False)
    source: Sequence[Candidate]
    if "email" in values:
        hit = integ.candidate_by_email.get(values["email"].lower())
        source = [hit] if hit else []
    elif "ids" in values:
        source = _by_ids(integ.candidate_by_id, values["ids"])
    elif "first_name" in values:
        source = integ.candidates_by_first.get(values["first_name"].lower(), [])
    elif "last_name" in values:
        source = integ.candidates_by_last.get(values["last_name"].lower(), [])
    elif "job_ids" in values:
        lists = [integ.candidates_by_job.get(j, []) for j in dict.fromkeys(values["job_ids"])]
        source = lists[0] if len(lists) == 1 else _merge(lists)
    else:
        source = integ.candidates_all if include_deleted else integ.candidates
    preds: list[Predicate] = []
    _common_preds(values, preds, live_source=source is integ.candidates)
    if "first_name" in values:
        first = values["first_name"].lower()
        preds.append(lambda c: c.first_name.lower() == first)
    if "last_name" in values:
        last = values["last_name"].lower()
        preds.append(lambda c: c.last_name.lower() == last)
    if "job_ids" in values:
        job_ids = set(values["job_ids"])
        preds.append(lambda c: any(a.job.id in job_ids for a in c.applications))
    return _run("list_candidates", integ, values, source, preds, warnings)


def list_jobs(integ: Integration, values: dict[str, Any], warnings: list[str]) -> Page:
    """GET /ats/jobs: name_contains is a case-insensitive substring match."""
    preds: list[Predicate] = []
    _common_preds(values, preds, live_source=True)  # jobs are never deleted here
    _set_pred(values, "statuses", preds, lambda j: j.spec.status)
    _set_pred(values, "employment_types", preds, lambda j: j.spec.employment_type)
    _set_pred(values, "visibilities", preds, lambda j: j.spec.visibility)
    _set_pred(values, "job_codes", preds, lambda j: j.job_code)
    if "name_contains" in values:
        needle = values["name_contains"].lower()
        preds.append(lambda j: needle in j.name.lower())
    if "post_url" in values:
        wanted = values["post_url"]
        preds.append(lambda j: post_url(integ, j) == wanted)
    return _run("list_jobs", integ, values, integ.jobs, preds, warnings)
