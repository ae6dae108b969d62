"""The Kombo sandbox, tested over real HTTP like any client would use it.

Every later test trusts the sandbox to be as strict as Kombo's docs, so this file pins the
shapes, the validation rules, the behaviours of the seeded integrations and the fault
injection. Fixtures are local: a module-wide server that is reset before each test, plus
dedicated servers where a test needs its own limits.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from support import free_port

from portal.sandbox import BEHAVIOURS, DEFAULT_API_KEY, DEMO_CANDIDATES, SandboxServer

ID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{24}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LOG_URL = re.compile(r"^https://app\.kombo\.dev/sandbox/logs\?interactionId=[1-9A-Za-z]{24}$")
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LISTING_BEHAVIOURS = [b for b in BEHAVIOURS if b not in ("invalid", "no_list")]
APP_KEYS = {
    "id",
    "remote_id",
    "outcome",
    "rejection_reason_name",
    "rejected_at",
    "current_stage_id",
    "job_id",
    "candidate_id",
    "screening_question_answers",
    "custom_fields",
    "integration_fields",
    "remote_url",
    "changed_at",
    "remote_deleted_at",
    "remote_created_at",
    "remote_updated_at",
    "remote_data",
    "candidate",
    "current_stage",
    "job",
    "interviews",
    "offers",
}
CAND_ATT_KEYS = {
    "id",
    "application_id",
    "candidate_id",
    "type",
    "remote_id",
    "data_url",
    "file_name",
    "content_type",
    "remote_created_at",
    "remote_updated_at",
}
APP_ATT_KEYS = CAND_ATT_KEYS - {"application_id", "candidate_id"}


# -- fixtures and helpers ------------------------------------------------------------------
@pytest.fixture(scope="module")
def srv() -> Iterator[SandboxServer]:
    server = SandboxServer(applications=200).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "srv" in request.fixturenames:
        server = request.getfixturevalue("srv")
        requests.post(f"{server.root_url}/_sandbox/reset", timeout=5).raise_for_status()


class Api:
    """A tiny Kombo client bound to one integration of a sandbox."""

    def __init__(self, server: SandboxServer, behaviour: str = "full") -> None:
        self.server = server
        self.iid = server.integration_id(behaviour)
        self.headers = {**AUTH, "X-Integration-Id": self.iid}

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.server.base_url + path, headers=self.headers, timeout=10, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return requests.post(self.server.base_url + path, headers=headers, timeout=10, **kw)

    def candidate(self, key: str) -> dict[str, Any]:
        resp = self.get("/ats/candidates", params={"email": DEMO_CANDIDATES[key]["email"]})
        [cand] = ok(resp)["results"]
        return cand

    def application(self, key: str, job: str) -> str:
        return next(a["id"] for a in self.candidate(key)["applications"] if a["job"]["name"] == job)

    def upload(self, application_id: str, attachment: dict[str, Any], **body: Any):
        path = f"/ats/applications/{application_id}/attachments"
        return self.post(path, json={"attachment": attachment, **body})

    def walk(self, path: str, **params: Any) -> list[dict[str, Any]]:
        items, cursor = [], None
        while True:
            data = ok(self.get(path, params={**params, **({"cursor": cursor} if cursor else {})}))
            items += data["results"]
            cursor = data["next"]
            if cursor is None:
                return items


def control(server: SandboxServer, method: str, path: str, **kw: Any) -> Any:
    resp = requests.request(method, f"{server.root_url}/_sandbox/{path}", timeout=10, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json()


def fault(server: SandboxServer, endpoint: str, **spec: Any) -> dict[str, Any]:
    return control(server, "POST", "faults", json={"endpoint": endpoint, **spec})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pdf_attachment(name: str = "CV.pdf", kind: str = "CV", data: bytes = PDF) -> dict[str, Any]:
    return {"name": name, "type": kind, "content_type": "application/pdf", "data": b64(data)}


def ok(resp: requests.Response) -> Any:
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert set(body) == {"status", "data", "warnings"} and body["status"] == "success"
    assert all(set(w) == {"message"} and isinstance(w["message"], str) for w in body["warnings"])
    return body["data"]


def err(resp: requests.Response, status: int, code: str | None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"status", "error"} and body["status"] == "error"
    error = body["error"]
    assert set(error) == {"code", "title", "message", "log_url"}
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    if code is None:
        assert error["log_url"] is None
    else:
        assert isinstance(error["title"], str) and LOG_URL.match(error["log_url"])
    return error


def warnings_of(resp: requests.Response) -> list[str]:
    return [w["message"] for w in resp.json()["warnings"]]


# -- auth, integrations, general endpoints -------------------------------------------------
@pytest.mark.parametrize("path", ["/check-api-key", "/ats/jobs", "/integrations/x:y"])
@pytest.mark.parametrize(
    "auth", [None, "Bearer wrong-key", f"Basic {DEFAULT_API_KEY}", f"Bearer {DEFAULT_API_KEY}x"]
)
def test_missing_or_wrong_key_is_401(srv, path, auth):
    headers = {"X-Integration-Id": srv.integration_id("full")}
    if auth:
        headers["Authorization"] = auth
    resp = requests.get(srv.base_url + path, headers=headers, timeout=5)
    err(resp, 401, "PLATFORM.AUTHENTICATION_INVALID")


def test_check_api_key(srv):
    data = ok(requests.get(srv.base_url + "/check-api-key", headers=AUTH, timeout=5))
    assert set(data) == {"environment_id", "customer_id"} and ID.match(data["environment_id"])


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_integration_details(srv, behaviour):
    iid = srv.integration_id(behaviour)
    assert re.match(r"^[a-z0-9]+:[1-9A-HJ-NP-Za-km-z]{24}$", iid)
    data = ok(requests.get(f"{srv.base_url}/integrations/{iid}", headers=AUTH, timeout=5))
    assert data["id"] == iid and data["category"] == "ATS"
    assert set(data["tool"]) == {"id", "label", "internal_label", "logo_url", "icon_url"}
    assert iid.startswith(data["tool"]["id"] + ":")
    assert data["status"] == ("INVALID" if behaviour == "invalid" else "ACTIVE")
    assert set(data["end_user"]) == {"organization_name", "creator_email", "origin_id"}
    for key in (
        "setup_status",
        "scope_config",
        "data_expired_at",
        "created_at",
        "beta",
        "read_models",
    ):
        assert key in data
    action = next(a for a in data["write_actions"] if a["id"] == "ats_add_application_attachment")
    assert action == {
        "id": "ats_add_application_attachment",
        "label": "Add attachment to application",
        "is_available": behaviour != "no_upload",
        "coverage_status": "UNSUPPORTED" if behaviour == "no_upload" else "SUPPORTED",
        "scope_config_setting": "ENABLED",
        "opted_out_by_customer": False,
        "fields": [],
    }


def test_control_lists_integrations(srv):
    listed = control(srv, "GET", "integrations")
    assert [i["behaviour"] for i in listed] == BEHAVIOURS
    for item in listed:
        assert set(item) == {"id", "behaviour", "tool", "organization", "status"}
        assert item["id"] == srv.integration_id(item["behaviour"])


def test_unknown_integration_and_missing_header(srv):
    resp = requests.get(
        f"{srv.base_url}/integrations/greenhouse:{'A' * 24}", headers=AUTH, timeout=5
    )
    err(resp, 404, "PLATFORM.INTEGRATION_NOT_FOUND")
    resp = requests.get(
        f"{srv.base_url}/ats/jobs",
        timeout=5,
        headers={**AUTH, "X-Integration-Id": f"greenhouse:{'A' * 24}"},
    )
    err(resp, 404, "PLATFORM.INTEGRATION_NOT_FOUND")
    resp = requests.get(f"{srv.base_url}/ats/jobs", headers=AUTH, timeout=5)
    assert "X-Integration-Id" in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]


def test_unknown_route_is_a_minimal_envelope(srv):
    err(requests.get(srv.base_url + "/ats/nope", headers=AUTH, timeout=5), 404, None)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (
            "full",
            {
                t: {"is_supported": True, "max_file_size_bytes": None, "accepted_mime_types": None}
                for t in ("CV", "COVER_LETTER", "OTHER")
            },
        ),
        (
            "restricted",
            {
                "CV": {
                    "is_supported": True,
                    "max_file_size_bytes": 5 * 1024 * 1024,
                    "accepted_mime_types": [
                        "application/pdf",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    ],
                },
                "COVER_LETTER": {"is_supported": False},
                "OTHER": {
                    "is_supported": True,
                    "max_file_size_bytes": 10 * 1024 * 1024,
                    "accepted_mime_types": [
                        "application/pdf",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        "image/png",
                        "image/jpeg",
                    ],
                },
            },
        ),
        ("no_list", None),
        ("no_upload", {t: {"is_supported": False} for t in ("CV", "COVER_LETTER", "OTHER")}),
    ],
)
def test_upload_restrictions(srv, behaviour, expected):
    data = ok(Api(srv, behaviour).get("/ats/actions/ats_add_application_attachment"))
    if expected is None:
        assert data == {"attachment_restrictions": None}
    else:
        assert data == {"attachment_restrictions": {"types": expected}}


# -- applications, pagination ---------------------------------------------------------------
def test_application_shape_and_order(srv):
    data = ok(Api(srv).get("/ats/applications"))
    results = data["results"]
    assert len(results) == 100 and isinstance(data["next"], str)  # default page size
    for app in results:
        assert set(app) == APP_KEYS
        assert ID.match(app["id"]) and app["outcome"] in ("PENDING", "HIRED", "DECLINED")
        assert app["candidate_id"] == app["candidate"]["id"] and app["job_id"] == app["job"]["id"]
        assert app["current_stage_id"] == app["current_stage"]["id"]
        assert {"id", "remote_id", "name", "index"} <= set(app["current_stage"])
        assert set(app["job"]) == {"id", "remote_id", "name"}
        emails = app["candidate"]["email_addresses"]
        assert emails and emails[0]["email_address"].endswith("@example.com")
        assert ISO_MS.match(app["remote_created_at"]) and app["remote_deleted_at"] is None
        assert (app["outcome"] == "DECLINED") == (app["rejected_at"] is not None)
    # Kombo documents no order: the sandbox lists by id, unrelated to dates, so that a client
    # trusting "newest first" fails here rather than against Kombo.
    assert [a["id"] for a in results] == sorted(a["id"] for a in results)
    created = [a["remote_created_at"] for a in results]
    assert created != sorted(created, reverse=True) and created != sorted(created)


@pytest.mark.parametrize("size", ["0", "251", "-1", "abc", "1.5", ""])
def test_page_size_out_of_bounds_is_400(srv, size):
    resp = Api(srv).get("/ats/applications", params={"page_size": size})
    assert "page_size" in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]


@pytest.mark.parametrize("size", [1, 250])
def test_page_size_bounds_are_allowed(srv, size):
    data = ok(Api(srv).get("/ats/applications", params={"page_size": size}))
    assert len(data["results"]) == min(size, 200)  # the module server holds 200
    assert (data["next"] is None) == (size >= 200)


@pytest.mark.parametrize("path", ["/ats/applications", "/ats/candidates", "/ats/jobs"])
def test_cursor_walk_covers_everything_once(srv, path):
    api = Api(srv)
    everything = api.walk(path, page_size=250)
    walked = api.walk(path, page_size=7 if path == "/ats/jobs" else 37)
    assert [x["id"] for x in walked] == [x["id"] for x in everything]
    assert len({x["id"] for x in walked}) == len(walked)
    assert [x["id"] for x in walked] == sorted(x["id"] for x in walked)  # by id, not by date
    if path == "/ats/applications":
        assert len(walked) == 200


def test_cursor_walk_with_filters(srv):
    api = Api(srv)
    job = api.candidate("ada")["applications"][0]["job"]["id"]
    params = {"job_ids": job, "outcomes": "PENDING,DECLINED"}
    walked = api.walk("/ats/applications", page_size=5, **params)
    assert walked and all(a["job_id"] == job and a["outcome"] != "HIRED" for a in walked)
    assert [a["id"] for a in walked] == [
        a["id"] for a in api.walk("/ats/applications", page_size=250, **params)
    ]


def test_cursor_needs_the_same_filters(srv):
    api = Api(srv)
    first = ok(api.get("/ats/applications", params={"page_size": 3, "outcomes": "PENDING"}))
    resp = api.get("/ats/applications", params={"page_size": 3, "cursor": first["next"]})
    assert "same filters" in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]
    other = Api(srv, "restricted")
    resp = other.get("/ats/applications", params={"outcomes": "PENDING", "cursor": first["next"]})
    err(resp, 400, "PLATFORM.INPUT_INVALID")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90IGpzb24=",  # base64 of "not json"
        b64(b'{"p": 3}'),
        b64(b'{"v": 1, "f": "x", "p": -1}'),
        b64(b'{"v": 1, "f": "x", "p": 99999999}'),
        b64(b"[1,2]"),
    ],
)
def test_garbage_cursor_is_400(srv, cursor):
    resp = Api(srv).get("/ats/applications", params={"cursor": cursor})
    assert "cursor" in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]


def test_application_filters(srv):
    api = Api(srv)
    everything = api.walk("/ats/applications", page_size=250)
    by_id = {a["id"]: a for a in everything}
    pick = everything[10:13]
    ids = ",".join(a["id"] for a in pick)
    got = ok(api.get("/ats/applications", params={"ids": ids}))["results"]
    assert {a["id"] for a in got} == {a["id"] for a in pick}
    stage = everything[5]["current_stage_id"]
    got = api.walk("/ats/applications", page_size=250, current_stage_ids=stage)
    assert got and {a["id"] for a in got} == {
        a for a, x in by_id.items() if x["current_stage_id"] == stage
    }
    remote = everything[20]["remote_id"]
    assert [
        a["id"] for a in ok(api.get("/ats/applications", params={"remote_ids": remote}))["results"]
    ] == [everything[20]["id"]]
    hired = api.walk("/ats/applications", page_size=250, outcomes="HIRED")
    assert hired and all(a["outcome"] == "HIRED" for a in hired)
    cutoff = everything[50]["remote_created_at"]
    newer = api.walk("/ats/applications", page_size=250, remote_created_after=cutoff)
    assert [a["id"] for a in newer] == [
        a["id"] for a in everything if a["remote_created_at"] > cutoff
    ]
    changed = api.walk("/ats/applications", page_size=250, updated_after=cutoff)
    assert all(a["changed_at"] > cutoff for a in changed)


def test_include_deleted(srv):
    api = Api(srv)
    live = api.walk("/ats/applications", page_size=250)
    every = api.walk("/ats/applications", page_size=250, include_deleted="true")
    deleted = [a for a in every if a["remote_deleted_at"] is not None]
    assert len(every) == len(live) + len(deleted) and deleted
    assert not {a["id"] for a in deleted} & {a["id"] for a in live}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"job_id": "x"}, "Unknown query parameter"),
        ({"outcomes": "PENDING,WON"}, "WON"),
        ({"include_deleted": "yes"}, "include_deleted"),
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"ids": "a,,b"}, "ids"),
        ({"ids": ""}, "ids"),
        ({"outcomes": ["PENDING", "HIRED"]}, "comma-separated"),
    ],
)
def test_bad_application_query_is_400(srv, params, needle):
    resp = Api(srv).get("/ats/applications", params=params)
    assert needle in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]


# -- candidates, jobs ------------------------------------------------------------------------
@pytest.mark.parametrize("behaviour", LISTING_BEHAVIOURS + ["no_list"])
def test_anchor_candidates_exist_everywhere(srv, behaviour):
    api = Api(srv, behaviour)
    for key, spec in DEMO_CANDIDATES.items():
        cand = api.candidate(key)
        assert (cand["first_name"], cand["last_name"]) == (spec["first_name"], spec["last_name"])
        got = sorted((a["job"]["name"], a["current_stage"]["name"]) for a in cand["applications"])
        assert got == sorted((a["job"], a["stage"]) for a in spec["applications"])


def test_candidate_shape_and_email_search(srv):
    api = Api(srv)
    cand = ok(api.get("/ats/candidates", params={"email": "ADA.Lovelace@Example.COM"}))
    [ada] = cand["results"]
    assert cand["next"] is None and ID.match(ada["id"])
    assert ada["email_addresses"][0]["email_address"] == "ada.lovelace@example.com"
    for app in ada["applications"]:
        assert {"id", "remote_id", "outcome", "current_stage", "job", "remote_created_at"} <= set(
            app
        )
        assert set(app["current_stage"]) == {"id", "name", "remote_id", "index"}
        assert set(app["job"]) == {"id", "name", "remote_id"}
    assert ok(api.get("/ats/candidates", params={"email": "ada@example.com"}))["results"] == []
    resp = api.get("/ats/candidates", params={"email": "ada"})
    err(resp, 400, "PLATFORM.INPUT_INVALID")


def test_emails_are_unique_and_realistic(srv):
    cands = Api(srv).walk("/ats/candidates", page_size=250)
    emails = [c["email_addresses"][0]["email_address"] for c in cands]
    assert len(set(emails)) == len(emails)
    assert all(re.match(r"^[a-z]+\.[a-z]+\d*@example\.com$", e) for e in emails)
    assert any(len(c["applications"]) >= 2 for c in cands)


def test_candidate_name_and_job_filters(srv):
    api = Api(srv)
    [grace] = ok(api.get("/ats/candidates", params={"first_name": "grace", "last_name": "HOPPER"}))[
        "results"
    ]
    assert grace["email_addresses"][0]["email_address"] == "grace.hopper@example.com"
    job = grace["applications"][0]["job"]["id"]
    walked = api.walk("/ats/candidates", page_size=10, job_ids=job)
    assert grace["id"] in {c["id"] for c in walked}
    assert all(any(a["job"]["id"] == job for a in c["applications"]) for c in walked)
    ada = api.candidate("ada")
    both = ",".join(a["job"]["id"] for a in ada["applications"])
    walked = api.walk("/ats/candidates", page_size=10, job_ids=both)
    ids = [c["id"] for c in walked]
    assert len(ids) == len(set(ids)) and ada["id"] in ids  # Ada applied to both: listed once
    assert ids == sorted(ids)  # merged across jobs in the one list order (by id)


def test_jobs(srv):
    api = Api(srv)
    jobs = ok(api.get("/ats/jobs"))["results"]
    assert 14 <= len(jobs) <= 16
    assert {j["status"] for j in jobs} >= {"OPEN", "CLOSED", "DRAFT"}
    for job in jobs:
        assert ID.match(job["id"]) and 4 <= len(job["stages"]) <= 6
        for key in (
            "remote_id",
            "name",
            "job_code",
            "visibility",
            "department",
            "remote_url",
            "opened_at",
            "closed_at",
        ):
            assert key in job
        assert [s["index"] for s in job["stages"]] == list(range(len(job["stages"])))
    found = ok(api.get("/ats/jobs", params={"name_contains": "ENGINEER"}))["results"]
    assert "Backend Engineer" in {j["name"] for j in found}
    assert all("engineer" in j["name"].lower() for j in found)
    open_ = ok(api.get("/ats/jobs", params={"statuses": "OPEN"}))["results"]
    assert open_ and all(j["status"] == "OPEN" for j in open_)
    err(api.get("/ats/jobs", params={"statuses": "OPEN,LIVE"}), 400, "PLATFORM.INPUT_INVALID")


# -- attachments -----------------------------------------------------------------------------
def test_candidate_and_application_attachments(srv):
    api = Api(srv)
    ada = api.candidate("ada")
    backend = next(a["id"] for a in ada["applications"] if a["job"]["name"] == "Backend Engineer")
    resp = api.get(f"/ats/candidates/{ada['id']}/attachments")
    [cv] = ok(resp)["results"]
    assert set(cv) == CAND_ATT_KEYS and cv["file_name"] == "Ada Lovelace CV.pdf"
    assert cv["application_id"] == backend and cv["candidate_id"] == ada["id"]
    assert resp.headers["Concurrency-Limit"] == "30"
    assert resp.headers["Concurrency-Remaining"] == "29"
    [same] = ok(api.get(f"/ats/applications/{backend}/attachments"))["results"]
    assert set(same) == APP_ATT_KEYS and same["id"] == cv["id"]
    download = requests.get(cv["data_url"], timeout=5)  # no auth needed
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-") and download.content.rstrip().endswith(b"%%EOF")
    assert int(download.headers["Content-Length"]) == len(download.content)
    grace = api.candidate("grace")
    assert ok(api.get(f"/ats/candidates/{grace['id']}/attachments"))["results"] == []


def test_warning_on_one_candidates_attachments(srv):
    api = Api(srv)
    resp = api.get(f"/ats/candidates/{api.candidate('alan')['id']}/attachments")
    assert {a["type"] for a in ok(resp)["results"]} == {"CV", "COVER_LETTER"}
    assert warnings_of(resp)
    text = next(a for a in ok(resp)["results"] if a["type"] == "COVER_LETTER")
    got = requests.get(text["data_url"], timeout=5)
    assert got.headers["Content-Type"] == "text/plain" and b"Alan Turing" in got.content


@pytest.mark.parametrize("kind", ["candidates", "applications"])
def test_unknown_ids_are_404(srv, kind):
    api, other = Api(srv), Api(srv, "restricted")
    foreign = other.candidate("ada")
    foreign_id = foreign["id"] if kind == "candidates" else foreign["applications"][0]["id"]
    for bad in ("A" * 24, "0" * 24, "short", foreign_id):
        err(api.get(f"/ats/{kind}/{bad}/attachments"), 404, "PLATFORM.INPUT_INVALID")


# -- upload validation -------------------------------------------------------------------------
GOOD = {"name": "a.pdf", "type": "CV", "content_type": "application/pdf", "data": b64(PDF)}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([GOOD], "JSON object"),
        ({}, "'attachment' is required"),
        ({"attachment": "x"}, "'attachment' must be an object"),
        ({"attachment": GOOD, "extra": 1}, "Unknown top-level"),
        ({"attachment": {**GOOD, "size": 3}}, "Unknown field(s) in 'attachment'"),
        ({"attachment": {k: v for k, v in GOOD.items() if k != "name"}}, "'attachment.name' is"),
        ({"attachment": {**GOOD, "name": ""}}, "must not be empty"),
        ({"attachment": {**GOOD, "name": 5}}, "'attachment.name' must be a string"),
        ({"attachment": {k: v for k, v in GOOD.items() if k != "type"}}, "'attachment.type' is"),
        ({"attachment": {**GOOD, "type": "RESUME"}}, "CV, COVER_LETTER, OTHER"),
        ({"attachment": {**GOOD, "data_url": "https://x.example/a"}}, "got both"),
        ({"attachment": {k: v for k, v in GOOD.items() if k != "data"}}, "got neither"),
        ({"attachment": {**GOOD, "data": "not base64!"}}, "base64"),
        ({"attachment": {**GOOD, "data": "JVBERi0=\n"}}, "base64"),
        ({"attachment": {**GOOD, "data": "JVBERi0"}}, "base64"),  # bad padding
        ({"attachment": {**GOOD, "data": "-_-_"}}, "base64"),  # URL-safe alphabet
        ({"attachment": {**GOOD, "data": ""}}, "empty file"),
        ({"attachment": {**GOOD, "data": 12}}, "base64 string"),
        (
            {"attachment": {k: v for k, v in GOOD.items() if k != "content_type"}},
            "content_type' is required",
        ),
        ({"attachment": {**GOOD, "content_type": "pdf"}}, "does not match"),
        ({"attachment": {**GOOD, "content_type": "text/plain; charset=utf-8"}}, "does not match"),
        ({"attachment": {**GOOD, "content_type": "application/pdf\n"}}, "does not match"),
        ({"attachment": {**GOOD, "content_type": "application/octet-stream"}}, "octet-stream"),
        ({"attachment": GOOD, "remote_fields": []}, "'remote_fields' must be an object"),
        ({"attachment": GOOD, "application_id": "B" * 24}, "does not match the URL"),
        (
            {
                "attachment": {k: v for k, v in GOOD.items() if k != "data"}
                | {"data_url": "ftp://x/a"}
            },
            "http(s) URL",
        ),
    ],
)
def test_each_upload_rule_is_a_precise_400(srv, body, needle):
    api = Api(srv)
    app = api.application("grace", "Backend Engineer")
    resp = api.post(f"/ats/applications/{app}/attachments", json=body)
    assert needle in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]
    assert control(srv, "GET", "uploads") == []


def test_upload_needs_a_json_body(srv):
    api = Api(srv)
    app = api.application("grace", "Backend Engineer")
    path = f"/ats/applications/{app}/attachments"
    resp = api.post(path, data="{not json", headers={"Content-Type": "application/json"})
    assert "not valid JSON" in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]
    resp = api.post(
        path, data=json.dumps({"attachment": GOOD}), headers={"Content-Type": "text/plain"}
    )
    assert "application/json" in err(resp, 400, "PLATFORM.INPUT_INVALID")["message"]


def test_body_over_200_mb_is_413_without_reading_it(srv):
    app = Api(srv).application("grace", "Backend Engineer")
    head = (
        f"POST /v1/ats/applications/{app}/attachments HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {DEFAULT_API_KEY}\r\nX-Integration-Id: {srv.integration_id('full')}"
        f"\r\nContent-Type: application/json\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(head.encode())
        chunks = []  # the server answers and closes without waiting for the 300 MB
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert '"PLATFORM.INPUT_INVALID"' in reply


def test_upload_to_unknown_application_is_404(srv):
    api = Api(srv)
    foreign = Api(srv, "restricted").application("grace", "Backend Engineer")
    for bad in ("A" * 24, "nope", foreign):
        err(api.upload(bad, pdf_attachment()), 404, "PLATFORM.INPUT_INVALID")


def test_upload_is_listed_and_served_back(srv):
    api = Api(srv)
    ada = api.candidate("ada")
    app = next(a["id"] for a in ada["applications"] if a["job"]["name"] == "Data Scientist")
    content = PDF + b"% unique " + str(time.time()).encode()
    resp = api.upload(app, pdf_attachment("Ada Lovelace Portfolio.pdf", "OTHER", content))
    assert ok(resp) == {} and warnings_of(resp) == []
    listed = ok(api.get(f"/ats/candidates/{ada['id']}/attachments"))["results"]
    newest = listed[-1]  # newest last
    assert newest["file_name"] == "Ada Lovelace Portfolio.pdf" and newest["type"] == "OTHER"
    assert newest["application_id"] == app and newest["content_type"] == "application/pdf"
    assert ISO_MS.match(newest["remote_created_at"]) and ID.match(newest["id"])
    on_app = ok(api.get(f"/ats/applications/{app}/attachments"))["results"]
    assert [a["id"] for a in on_app] == [newest["id"]]
    got = requests.get(newest["data_url"], timeout=5)
    assert got.content == content and got.headers["Content-Type"] == "application/pdf"
    [upload] = control(srv, "GET", "uploads")
    assert upload["sha256"] == hashlib.sha256(content).hexdigest()
    assert upload["size"] == len(content) and upload["attachment_id"] == newest["id"]
    assert upload["application_id"] == app and upload["seq"] == 1
    control(srv, "POST", "reset")
    assert requests.get(newest["data_url"], timeout=5).status_code == 404
    assert len(ok(api.get(f"/ats/candidates/{ada['id']}/attachments"))["results"]) == 1


def test_upload_by_data_url(srv):
    api = Api(srv)
    seeded_cv = ok(api.get(f"/ats/candidates/{api.candidate('ada')['id']}/attachments"))["results"][
        0
    ]
    app = api.application("grace", "Backend Engineer")
    attachment = {"name": "Copy.pdf", "type": "CV", "data_url": seeded_cv["data_url"]}
    assert ok(api.upload(app, attachment)) == {}
    [upload] = control(srv, "GET", "uploads")
    original = requests.get(seeded_cv["data_url"], timeout=5).content
    assert upload["content_type"] == "application/pdf"  # taken from the response header
    assert upload["sha256"] == hashlib.sha256(original).hexdigest()
    missing = {**attachment, "data_url": f"{srv.root_url}/resources/{'A' * 24}"}
    assert "404" in err(api.upload(app, missing), 400, "REMOTE.INPUT_INVALID")["message"]
    fault(srv, "download", redirect="http://127.0.0.1:1/elsewhere")
    assert "redirect" in err(api.upload(app, attachment), 400, "REMOTE.INPUT_INVALID")["message"]


# -- behaviours ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attachment", "needle"),
    [
        (pdf_attachment(kind="COVER_LETTER"), "Workday does not accept cover letters"),
        (pdf_attachment(data=b"%PDF" + b"x" * (5 * 1024 * 1024)), "5 MB"),
        ({**pdf_attachment(), "content_type": "image/png"}, "image/png"),
    ],
)
def test_restricted_integration_enforces_its_rules(srv, attachment, needle):
    api = Api(srv, "restricted")
    app = api.application("grace", "Backend Engineer")
    assert needle in err(api.upload(app, attachment), 400, "REMOTE.INPUT_INVALID")["message"]
    assert control(srv, "GET", "uploads") == []


def test_restricted_integration_accepts_what_it_allows(srv):
    api = Api(srv, "restricted")
    app = api.application("grace", "Backend Engineer")
    assert ok(api.upload(app, pdf_attachment(data=b"%PDF" + b"x" * (5 * 1024 * 1024 - 4)))) == {}
    png = {"name": "a.png", "type": "OTHER", "content_type": "image/png", "data": b64(b"\x89PNG")}
    assert ok(api.upload(app, png)) == {}
    assert len(control(srv, "GET", "uploads")) == 2


def test_candidate_level_integration(srv):
    api = Api(srv, "candidate_level")
    ada = api.candidate("ada")
    app = ada["applications"][1]["id"]
    resp = api.upload(app, pdf_attachment("Note.pdf", "OTHER"))
    assert ok(resp) == {} and "candidate" in warnings_of(resp)[0]
    listed = ok(api.get(f"/ats/candidates/{ada['id']}/attachments"))["results"]
    assert [a["file_name"] for a in listed] == ["Ada Lovelace CV.pdf", "Note.pdf"]
    assert all(a["application_id"] is None for a in listed)
    on_app = api.get(f"/ats/applications/{app}/attachments")
    assert [a["id"] for a in ok(on_app)["results"]] == [a["id"] for a in listed]
    assert warnings_of(on_app)
    assert control(srv, "GET", "uploads")[0]["application_id"] == app


def test_invalid_integration_fails_every_ats_call(srv):
    api = Api(srv, "invalid")
    some = "A" * 24
    calls = [
        api.get("/ats/applications"),
        api.get("/ats/candidates"),
        api.get("/ats/jobs"),
        api.get("/ats/actions/ats_add_application_attachment"),
        api.get(f"/ats/candidates/{some}/attachments"),
        api.get(f"/ats/applications/{some}/attachments"),
        api.upload(some, pdf_attachment()),
    ]
    for resp in calls:
        err(resp, 403, "INTEGRATION.AUTHENTICATION_INVALID")


def test_no_upload_integration(srv):
    api = Api(srv, "no_upload")
    ada = api.candidate("ada")
    resp = api.upload(ada["applications"][0]["id"], pdf_attachment())
    err(resp, 400, "INTEGRATION.ACTION_NOT_AVAILABLE")
    assert len(ok(api.get(f"/ats/candidates/{ada['id']}/attachments"))["results"]) == 1


def test_no_list_integration(srv):
    api = Api(srv, "no_list")
    ada = api.candidate("ada")
    app = ada["applications"][0]["id"]
    err(
        api.get(f"/ats/candidates/{ada['id']}/attachments"), 400, "INTEGRATION.ACTION_NOT_AVAILABLE"
    )
    err(api.get(f"/ats/applications/{app}/attachments"), 400, "INTEGRATION.ACTION_NOT_AVAILABLE")
    assert ok(api.upload(app, pdf_attachment())) == {}


# -- concurrency ------------------------------------------------------------------------------
def test_concurrency_limit():
    with SandboxServer(applications=10, concurrency_limit=3) as server:
        api = Api(server)
        cand = api.candidate("ada")["id"]
        path = f"/ats/candidates/{cand}/attachments"
        # Held long enough that a slow machine still asks again while all three are in flight.
        fault(server, "get_candidate_attachments", count=3, delay=4.0)
        with ThreadPoolExecutor(3) as pool:
            held = [pool.submit(api.get, path) for _ in range(3)]
            deadline = time.monotonic() + 30
            while server.sandbox.state.in_flight(api.iid) < 3:
                assert time.monotonic() < deadline, "three calls never got in flight"
                time.sleep(0.02)
            refused = api.get(path)
            err(refused, 429, "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED")
            assert refused.headers["Concurrency-Limit"] == "3"
            assert refused.headers["Concurrency-Remaining"] == "0"
            other = Api(server, "restricted").get(  # the limit is per integration
                f"/ats/candidates/{Api(server, 'restricted').candidate('ada')['id']}/attachments"
            )
            assert other.status_code == 200 and other.headers["Concurrency-Remaining"] == "2"
            assert all(f.result().status_code == 200 for f in held)
        after = api.get(path)
        assert after.status_code == 200 and after.headers["Concurrency-Remaining"] == "2"
        reads = api.get("/ats/jobs")  # read models are not actions
        assert "Concurrency-Limit" not in reads.headers


# -- faults ---------------------------------------------------------------------------------
def test_error_fault_with_retry_after_then_recovery(srv):
    api = Api(srv)
    fault(
        srv,
        "list_jobs",
        count=2,
        status=503,
        code="REMOTE.SERVICE_UNAVAILABLE",
        message="Greenhouse is down",
        retry_after="5",
    )
    assert len(control(srv, "GET", "faults")) == 1
    for _ in range(2):
        resp = api.get("/ats/jobs")
        assert err(resp, 503, "REMOTE.SERVICE_UNAVAILABLE")["message"] == "Greenhouse is down"
        assert resp.headers["Retry-After"] == "5"
    assert ok(api.get("/ats/jobs"))["results"]
    assert control(srv, "GET", "faults") == []
    log = control(srv, "GET", "requests")
    assert [(r["operation"], r["status"], r["fault"]) for r in log] == [
        ("list_jobs", 503, "status:503"),
        ("list_jobs", 503, "status:503"),
        ("list_jobs", 200, None),
    ]
    assert log[0]["integration_id"] == api.iid and log[0]["method"] == "GET"
    control(srv, "DELETE", "requests")
    assert control(srv, "GET", "requests") == []


def test_minimal_envelope_and_integration_scoped_fault(srv):
    fault(srv, "list_jobs", status=500, code=None, integration_id=srv.integration_id("restricted"))
    assert ok(Api(srv).get("/ats/jobs"))  # other integration: untouched
    error = err(Api(srv, "restricted").get("/ats/jobs"), 500, None)
    assert error["title"] is None


@pytest.mark.parametrize("endpoint", ["check_api_key", "list_candidates", "download"])
def test_html_and_malformed_bodies(srv, endpoint):
    api = Api(srv)
    url = {
        "check_api_key": srv.base_url + "/check-api-key",
        "list_candidates": srv.base_url + "/ats/candidates",
        "download": ok(api.get(f"/ats/candidates/{api.candidate('ada')['id']}/attachments"))[
            "results"
        ][0]["data_url"],
    }[endpoint]
    fault(srv, endpoint, status=502, body="html")
    resp = requests.get(url, headers=api.headers, timeout=5)
    assert resp.status_code == 502 and resp.headers["Content-Type"].startswith("text/html")
    fault(srv, endpoint, body="malformed")
    resp = requests.get(url, headers=api.headers, timeout=5)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(resp.content)


@pytest.mark.parametrize("endpoint", ["list_applications", "download"])
def test_truncated_body_is_a_client_error(srv, endpoint):
    api = Api(srv)
    cv = ok(api.get(f"/ats/candidates/{api.candidate('ada')['id']}/attachments"))["results"][0]
    url = cv["data_url"] if endpoint == "download" else srv.base_url + "/ats/applications"
    fault(srv, endpoint, body="truncated")
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        requests.get(url, headers=api.headers, timeout=5)
    assert requests.get(url, headers=api.headers, timeout=5).status_code == 200


def test_delay_fault_outlasts_a_client_timeout(srv):
    api = Api(srv)
    fault(srv, "list_jobs", delay=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(srv.base_url + "/ats/jobs", headers=api.headers, timeout=0.3)
    [done] = _wait_for_status(srv, "list_jobs")  # the sandbox still answers, late
    assert done["status"] == 200 and done["fault"] == "delay:1.0"


def _wait_for_status(server: SandboxServer, op: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = [r for r in control(server, "GET", "requests") if r["operation"] == op]
        if len(done) >= count:
            return done
        time.sleep(0.05)
    raise AssertionError(f"{op} never finished")


def _post_upload(api: Api, app: str, content: bytes, timeout: float = 5) -> requests.Response:
    return requests.post(
        f"{api.server.base_url}/ats/applications/{app}/attachments",
        headers=api.headers,
        json={"attachment": pdf_attachment(data=content)},
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("spec", "outcome", "stored"),
    [
        ({"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE"}, 503, False),
        ({"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE", "apply": True}, 503, True),
        ({"status": 502, "body": "html"}, 502, False),
        ({"status": 502, "body": "html", "apply": True}, 502, True),
        ({"body": "truncated", "apply": True}, "broken", True),
        ({"delay": 1.0}, "timeout", True),
        ({"delay": 1.0, "apply": False}, "timeout", False),
        ({"reset": "before_body"}, "broken", False),
        ({"reset": "after_body"}, "broken", True),
        ({"reset": "after_body", "apply": False}, "broken", False),
        ({"redirect": "http://127.0.0.1:1/x"}, 302, False),
    ],
)
def test_upload_faults_apply_or_not(srv, spec, outcome, stored):
    api = Api(srv)
    app = api.application("grace", "Backend Engineer")
    content = PDF + json.dumps(spec).encode()
    fault(srv, "add_application_attachment", **spec)
    if outcome == "timeout":
        with pytest.raises(requests.exceptions.ReadTimeout):
            _post_upload(api, app, content, timeout=0.3)
        _wait_for_status(srv, "add_application_attachment")
    elif outcome == "broken":
        with pytest.raises(
            (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        ):
            _post_upload(api, app, content)
    else:
        resp = requests.post(
            f"{srv.base_url}/ats/applications/{app}/attachments",
            headers=api.headers,
            json={"attachment": pdf_attachment(data=content)},
            timeout=5,
            allow_redirects=False,
        )
        assert resp.status_code == outcome
        assert resp.headers["Concurrency-Limit"] == "30"
    digests = [u["sha256"] for u in control(srv, "GET", "uploads")]
    assert digests == ([hashlib.sha256(content).hexdigest()] if stored else [])
    [logged] = _wait_for_status(srv, "add_application_attachment")
    kind = next((k for k in ("body", "delay", "reset", "redirect") if k in spec), "status")
    assert logged["fault"] == f"{kind}:{spec[kind]}"
    if kind == "reset":
        assert logged["status"] is None  # no response was written
        read_all = spec["reset"] == "after_body"
        assert logged["body_bytes"] == (logged["content_length"] if read_all else 0)
    # The server is still healthy after the fault.
    assert ok(_post_upload(api, app, content + b"again")) == {}


def test_resets_are_connection_errors_and_the_server_survives(srv):
    api = Api(srv)
    for kind in ("before_body", "after_body"):
        fault(srv, "list_candidates", reset=kind)
        with pytest.raises(requests.exceptions.ConnectionError):
            api.get("/ats/candidates")
    logged = [r for r in control(srv, "GET", "requests") if r["operation"] == "list_candidates"]
    assert [r["status"] for r in logged] == [None, None]
    assert [r["fault"] for r in logged] == ["reset:before_body", "reset:after_body"]
    assert ok(api.get("/ats/candidates", params={"page_size": 1}))


def test_download_redirect_fault(srv):
    api = Api(srv)
    cv = ok(api.get(f"/ats/candidates/{api.candidate('ada')['id']}/attachments"))["results"][0]
    fault(srv, "download", redirect="http://169.254.169.254/latest/meta-data/")
    resp = requests.get(cv["data_url"], timeout=5, allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "http://169.254.169.254/latest/meta-data/"


def test_download_fault_scoped_to_the_files_integration(srv):
    def cv_url(behaviour: str) -> str:
        api = Api(srv, behaviour)
        listed = ok(api.get(f"/ats/candidates/{api.candidate('ada')['id']}/attachments"))
        return listed["results"][0]["data_url"]

    fault(srv, "download", status=503, code=None, integration_id=srv.integration_id("restricted"))
    assert requests.get(cv_url("full"), timeout=5).status_code == 200
    assert requests.get(cv_url("restricted"), timeout=5).status_code == 503


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 503},  # no endpoint
        {"endpoint": "list_everything", "status": 503},
        {"endpoint": "list_jobs"},  # no kind
        {"endpoint": "list_jobs", "status": 200},
        {"endpoint": "list_jobs", "delay": 1, "reset": "before_body"},
        {"endpoint": "list_jobs", "delay": -1},
        {"endpoint": "list_jobs", "delay": "5"},
        {"endpoint": "list_jobs", "body": "weird"},
        {"endpoint": "list_jobs", "reset": "sometimes"},
        {"endpoint": "list_jobs", "redirect": "file:///etc/passwd"},
        {"endpoint": "list_jobs", "status": 503, "count": 0},
        {"endpoint": "list_jobs", "status": 503, "count": True},
        {"endpoint": "list_jobs", "status": 503, "apply": True},
        {"endpoint": "list_jobs", "status": 503, "integration_id": "nope:x"},
        {"endpoint": "list_jobs", "status": 503, "colour": "red"},
        {"endpoint": "list_jobs", "status": 503, "message": None},
        {"endpoint": "add_application_attachment", "reset": "before_body", "apply": True},
        {"endpoint": "list_jobs", "delay": 1, "code": "X"},
        [{"endpoint": "list_jobs", "status": 503}, {"endpoint": "nope", "status": 503}],
    ],
)
def test_invalid_fault_specs_are_400(srv, spec):
    resp = requests.post(f"{srv.root_url}/_sandbox/faults", json=spec, timeout=5)
    assert resp.status_code == 400 and resp.json()["error"]
    assert control(srv, "GET", "faults") == []  # all or nothing


def test_fault_list_and_clear(srv):
    added = control(
        srv,
        "POST",
        "faults",
        json=[
            {"endpoint": "list_jobs", "status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED"},
            {"endpoint": "add_application_attachment", "delay": 2},
        ],
    )
    assert [f["endpoint"] for f in added] == ["list_jobs", "add_application_attachment"]
    assert added[1]["apply"] is True and added[0]["remaining"] == 1
    assert len(control(srv, "GET", "faults")) == 2
    control(srv, "DELETE", "faults")
    assert control(srv, "GET", "faults") == []


# -- determinism, scale, thread safety ------------------------------------------------------
def test_two_servers_seed_the_same_ids():
    with SandboxServer(applications=40) as one, SandboxServer(applications=40) as two:
        for behaviour in BEHAVIOURS:
            assert one.integration_id(behaviour) == two.integration_id(behaviour)
        for behaviour in LISTING_BEHAVIOURS:
            a, b = Api(one, behaviour), Api(two, behaviour)
            first = ok(a.get("/ats/applications", params={"page_size": 250}))["results"]
            second = ok(b.get("/ats/applications", params={"page_size": 250}))["results"]
            assert len(first) == 40 and first == second
            assert ok(a.get("/ats/jobs")) == ok(b.get("/ats/jobs"))


def test_ten_thousand_applications_start_fast():
    started = time.perf_counter()
    server = SandboxServer(applications=10_000).start()
    try:
        listening = time.perf_counter() - started
        api = Api(server)
        page = ok(api.get("/ats/applications", params={"page_size": 250}))
        first_page = time.perf_counter() - started
        seeded = server.wait_ready() + first_page
        assert len(page["results"]) == 250
        t0 = time.perf_counter()
        cursor, pages = page["next"], 1
        while cursor and pages < 8:
            cursor = ok(api.get("/ats/applications", params={"page_size": 250, "cursor": cursor}))[
                "next"
            ]
            pages += 1
        per_page = (time.perf_counter() - t0) / (pages - 1)
        t0 = time.perf_counter()
        [hit] = ok(api.get("/ats/candidates", params={"email": "grace.hopper@example.com"}))[
            "results"
        ]
        lookup = time.perf_counter() - t0
        total = len(api.walk("/ats/applications", page_size=250, outcomes="HIRED"))
        print(
            f"\n10k sandbox: listening after {listening:.2f}s, first page after {first_page:.2f}s,"
            f" all six integrations seeded after {seeded:.2f}s; {per_page * 1000:.0f} ms per"
            f" 250-item page, email lookup {lookup * 1000:.0f} ms, {total} hired"
        )
        assert hit["first_name"] == "Grace"
    finally:
        server.stop()


def test_concurrent_uploads_are_each_recorded_once(srv):
    apis = [Api(srv, "full"), Api(srv, "restricted"), Api(srv, "candidate_level")]
    targets = [(api, api.application("ada", "Data Scientist")) for api in apis]
    contents = [PDF + f"% upload {i}".encode() for i in range(60)]

    def send(i: int) -> int:
        api, app = targets[i % len(targets)]
        return api.upload(app, pdf_attachment(f"file-{i}.pdf", "OTHER", contents[i])).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(send, range(len(contents)))) == {200}
    uploads = control(srv, "GET", "uploads")
    assert sorted(u["sha256"] for u in uploads) == sorted(
        hashlib.sha256(c).hexdigest() for c in contents
    )
    assert [u["seq"] for u in uploads] == list(range(1, 61))
    assert len({u["attachment_id"] for u in uploads}) == 60
    for api, _ in targets:
        listed = ok(api.get(f"/ats/candidates/{api.candidate('ada')['id']}/attachments"))
        assert sum(a["file_name"].startswith("file-") for a in listed["results"]) == 20


def test_serve_runs_the_sandbox_in_the_foreground():
    port = free_port()
    code = f"from portal.sandbox import serve; serve('127.0.0.1', {port}, 'k-123', 10)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        root = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                listed = requests.get(f"{root}/_sandbox/integrations", timeout=5).json()
                break
            except (requests.RequestException, ValueError):
                assert time.monotonic() < deadline, "serve() never came up"
                time.sleep(0.1)
        assert [i["behaviour"] for i in listed] == BEHAVIOURS
        check = requests.get(
            f"{root}/v1/check-api-key", headers={"Authorization": "Bearer k-123"}, timeout=5
        )
        assert check.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


# -- lying on purpose: raw answers, runtime settings (issue 13 item 10) ----------------------------


def _faults(srv, spec):
    return requests.post(f"{srv.root_url}/_sandbox/faults", json=spec, timeout=5)


def test_a_respond_fault_answers_exactly_what_was_asked(srv):
    spec = {
        "endpoint": "list_jobs",
        "respond": {
            "status": 207,
            "headers": {"X-Odd": "yes", "Content-Type": "text/csv"},
            "body": "a,b\n",
        },
    }
    assert _faults(srv, spec).status_code == 201
    resp = Api(srv).get("/ats/jobs")
    assert (resp.status_code, resp.headers["X-Odd"], resp.text) == (207, "yes", "a,b\n")
    assert resp.headers["Content-Type"] == "text/csv"
    json_spec = {"endpoint": "list_jobs", "respond": {"body": {"status": "success", "data": None}}}
    assert _faults(srv, json_spec).status_code == 201
    resp = Api(srv).get("/ats/jobs")
    assert resp.json() == {"status": "success", "data": None}
    assert resp.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "respond",
    [
        "nope",
        {"status": 99},
        {"status": 200, "headers": {"X": "a\r\nSet-Cookie: x"}},
        {"status": 200, "extra": 1},
    ],
)
def test_a_bad_respond_fault_is_refused(srv, respond):
    resp = _faults(srv, {"endpoint": "list_jobs", "respond": respond})
    assert resp.status_code == 400 and "respond" in resp.json()["error"]


@pytest.mark.parametrize(
    "changes",
    [
        {"nope": 1},
        {"too_large": "xml"},
        {"rate_limit": 0},
        {"file_host": "evil.example"},
        {"sync_delay": True},
    ],
)
def test_bad_settings_are_refused(srv, changes):
    resp = requests.post(f"{srv.root_url}/_sandbox/settings", json=changes, timeout=5)
    assert resp.status_code == 400


def test_every_v1_answer_carries_ratelimit_headers(srv):
    resp = Api(srv).get("/ats/jobs")
    assert int(resp.headers["ratelimit-limit"]) >= int(resp.headers["ratelimit-remaining"]) >= 0
    assert int(resp.headers["ratelimit-reset"]) >= 1


def test_an_edge_refuses_an_oversized_body_as_html_or_json(srv):
    app = Api(srv).application("grace", "Backend Engineer")
    url = f"{srv.base_url}/ats/applications/{app}/attachments"
    headers = {
        "Authorization": f"Bearer {DEFAULT_API_KEY}",
        "X-Integration-Id": srv.integration_id("full"),
    }
    body = {
        "attachment": {
            "name": "a.txt",
            "type": "CV",
            "content_type": "text/plain",
            "data": "QUJD" * 100,
        }
    }
    try:
        requests.post(
            f"{srv.root_url}/_sandbox/settings",
            json={"max_body_bytes": 100, "too_large": "html"},
            timeout=5,
        )
        page = requests.post(url, json=body, headers=headers, timeout=5)
        assert page.status_code == 413 and page.headers["Content-Type"].startswith("text/html")
        requests.post(f"{srv.root_url}/_sandbox/settings", json={"too_large": "json"}, timeout=5)
        err(
            requests.post(url, json=body, headers=headers, timeout=5), 413, "PLATFORM.INPUT_INVALID"
        )
    finally:
        requests.delete(f"{srv.root_url}/_sandbox/settings", timeout=5)
    assert not requests.get(f"{srv.root_url}/_sandbox/uploads", timeout=5).json()
