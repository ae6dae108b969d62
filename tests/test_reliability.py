"""Faults from the sandbox, through the portal: what the user is told, and what the ATS really got.

For every injected fault the invariant is the same: afterwards the sandbox holds the file exactly
once if the user was told "uploaded", not at all if told "not uploaded, retry", and either way only
when told "could not confirm". Never a 500, never a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import samples
from conftest import (
    SANDBOX_KEY,
    embed_client,
    find_application,
    record,
    sign_in,
)

SUCCESS = 201


def _count(sandbox, content):
    sha = hashlib.sha256(content).hexdigest()
    return sum(u["sha256"] == sha for u in sandbox.uploads())


def _settled_count(sandbox, content):
    """Uploads of this content. The sandbox stores an applied upload before it plays the fault,
    so there is nothing to wait for; the short pause lets its request threads finish logging."""
    time.sleep(0.2)
    return _count(sandbox, content)


# fault on the upload call -> (status the user gets, code, uploads that must exist afterwards)
UPLOAD_FAULTS = [
    pytest.param(
        {"status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED"},
        SUCCESS,
        None,
        1,
        id="429-platform-no-retry-after",
    ),
    pytest.param(
        {"status": 429, "code": "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED", "retry_after": "1"},
        SUCCESS,
        None,
        1,
        id="429-concurrency-retry-after-1",
    ),
    pytest.param(
        {"status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED", "retry_after": "99999"},
        429,
        "ats_busy",
        0,
        id="429-huge-retry-after",
    ),
    pytest.param(
        {"status": 429, "code": "REMOTE.RATE_LIMIT_EXCEEDED"}, 429, "ats_busy", 0, id="429-remote"
    ),
    pytest.param(
        {"status": 500, "code": None, "apply": False}, 502, "upload_failed", 0, id="500-not-applied"
    ),
    pytest.param({"status": 500, "code": None, "apply": True}, SUCCESS, None, 1, id="500-applied"),
    pytest.param(
        {"status": 502, "body": "html", "apply": False},
        502,
        "upload_failed",
        0,
        id="502-html-not-applied",
    ),
    pytest.param(
        {"status": 502, "body": "html", "apply": True}, SUCCESS, None, 1, id="502-html-applied"
    ),
    pytest.param(
        {"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE", "apply": False},
        502,
        "upload_failed",
        0,
        id="503-remote-not-applied",
    ),
    pytest.param(
        {"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE", "apply": True},
        SUCCESS,
        None,
        1,
        id="503-remote-applied",
    ),
    pytest.param(
        {"status": 504, "code": "PLATFORM.TASK_TIMED_OUT", "apply": True},
        SUCCESS,
        None,
        1,
        id="task-timeout-applied",
    ),
    pytest.param(
        {"status": 504, "code": "PLATFORM.TASK_TIMED_OUT", "apply": False},
        502,
        "upload_failed",
        0,
        id="task-timeout-not-applied",
    ),
    pytest.param({"delay": 4.0, "apply": True}, SUCCESS, None, 1, id="timeout-applied"),
    pytest.param({"delay": 4.0, "apply": False}, 502, "upload_failed", 0, id="timeout-not-applied"),
    pytest.param({"reset": "before_body"}, 502, "upload_failed", 0, id="reset-before-body"),
    pytest.param(
        {"reset": "after_body", "apply": True}, SUCCESS, None, 1, id="reset-after-body-applied"
    ),
    pytest.param(
        {"reset": "after_body", "apply": False},
        502,
        "upload_failed",
        0,
        id="reset-after-body-not-applied",
    ),
    pytest.param({"body": "malformed", "apply": True}, SUCCESS, None, 1, id="garbled-200-applied"),
    pytest.param(
        {"body": "truncated", "apply": True}, SUCCESS, None, 1, id="truncated-200-applied"
    ),
    pytest.param(
        {"status": 400, "code": "REMOTE.INPUT_INVALID", "message": "PDF/A required"},
        422,
        "ats_refused",
        0,
        id="remote-input-invalid",
    ),
    pytest.param(
        {"status": 400, "code": "PLATFORM.INPUT_INVALID"},
        422,
        "ats_refused",
        0,
        id="platform-input-invalid",
    ),
    pytest.param(
        {"status": 403, "code": "INTEGRATION.PERMISSION_MISSING"},
        409,
        "permission_missing",
        0,
        id="permission-missing",
    ),
    pytest.param(
        {"status": 403, "code": "INTEGRATION.AUTHENTICATION_INVALID"},
        409,
        "integration_needs_reconnect",
        0,
        id="integration-auth",
    ),
    pytest.param(
        {"status": 409, "code": "INTEGRATION.SETUP_SYNC_PENDING"},
        409,
        "integration_not_ready",
        0,
        id="sync-pending",
    ),
    pytest.param(
        {"status": 400, "code": "INTEGRATION.ACTION_NOT_AVAILABLE"},
        409,
        "not_available_for_ats",
        0,
        id="action-not-available",
    ),
    pytest.param({"status": 409, "code": "ATS.JOB_CLOSED"}, 409, "job_closed", 0, id="job-closed"),
    pytest.param(
        {"status": 401, "code": "PLATFORM.AUTHENTICATION_INVALID"},
        502,
        "portal_misconfigured",
        0,
        id="bad-api-key",
    ),
    pytest.param(
        {"status": 500, "code": "PLATFORM.UNKNOWN_ERROR", "apply": False},
        502,
        "upload_failed",
        0,
        id="unknown-error",
    ),
    pytest.param(
        {"status": 418, "code": "PLATFORM.BRAND_NEW_CODE"}, 422, "ats_refused", 0, id="future-code"
    ),
]


@pytest.mark.parametrize(("fault", "status", "code", "stored"), UPLOAD_FAULTS)
def test_upload_fault(staff, sandbox, fault, status, code, stored):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, email="grace.hopper@example.com")
    content = samples.pdf(f"fault {fault}")
    sandbox.fault("add_application_attachment", count=1, **fault)
    resp = staff.upload(iid, app["id"], content, "Fault test.pdf")
    assert resp.status_code == status, resp.text
    if code:
        error = resp.json()["error"]
        assert error["code"] == code and error["message"] and error["reference"]
    assert _settled_count(sandbox, content) == stored


def test_an_unknown_outcome_where_nothing_can_be_listed_says_check_the_ats(staff, sandbox):
    iid = sandbox.iid("no_list")
    app = find_application(staff, iid)
    content = samples.pdf("unconfirmed")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=True)
    resp = staff.upload(iid, app["id"], content, "cv.pdf")
    assert resp.status_code == 502
    error = resp.json()["error"]
    assert error["code"] == "upload_unconfirmed" and "before uploading it again" in error["message"]


def _upload_behind_our_back(sandbox, iid, aid, content, name):
    """Another system (not this portal) adds a file to the application through Kombo."""
    body = {
        "attachment": {
            "name": name,
            "type": "CV",
            "content_type": "application/pdf",
            "data": base64.b64encode(content).decode(),
        }
    }
    resp = requests.post(
        f"{sandbox.base_url}/ats/applications/{aid}/attachments",
        json=body,
        headers={"Authorization": f"Bearer {SANDBOX_KEY}", "X-Integration-Id": iid},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text


def test_another_users_file_of_the_same_name_is_not_taken_for_ours(staff, portal, sandbox):
    """The issue's case: A's upload fails without being applied; B sends another "CV.pdf" to the
    same application while A reconciles. A must not be told "uploaded" on the strength of B's file."""
    iid = sandbox.iid("full")
    aid = find_application(staff, iid, email="grace.hopper@example.com")["id"]
    user_b = embed_client(portal.url, "acme", iid, user="b@acme.example")
    x, y = samples.pdf(f"file X {time.time_ns()}"), samples.pdf(f"file Y {time.time_ns()}")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=False)
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(staff.upload, iid, aid, x, "CV.pdf")
        sandbox.wait_faults_taken("add_application_attachment")  # A is reconciling now
        time.sleep(0.05)
        b = pool.submit(user_b.upload, iid, aid, y, "CV.pdf")
        told_a, told_b = a.result(), b.result()
    assert told_a.status_code == 502, told_a.text
    assert told_a.json()["error"]["code"] == "upload_failed"
    assert told_b.status_code == SUCCESS, told_b.text
    assert (_settled_count(sandbox, x), _count(sandbox, y)) == (0, 1)


def test_a_new_file_of_our_name_with_other_bytes_is_not_confirmation(staff, sandbox):
    iid = sandbox.iid("full")
    aid = find_application(staff, iid, email="grace.hopper@example.com")["id"]
    x, y = samples.pdf(f"ours {time.time_ns()}"), samples.pdf(f"theirs {time.time_ns()}")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=False)
    with ThreadPoolExecutor(1) as pool:
        a = pool.submit(staff.upload, iid, aid, x, "CV.pdf")
        sandbox.wait_faults_taken("add_application_attachment")
        _upload_behind_our_back(sandbox, iid, aid, y, "CV.pdf")
        told = a.result()
    assert told.status_code == 502, told.text
    error = told.json()["error"]
    assert error["code"] == "upload_unconfirmed" and "before uploading it again" in error["message"]
    assert _settled_count(sandbox, x) == 0


@pytest.mark.parametrize(
    "download_fault",
    [
        pytest.param({"status": 503, "code": None}, id="download-503"),
        pytest.param({"body": "truncated"}, id="download-cut-short"),
        pytest.param({"status": 200, "body": "html"}, id="download-html"),
    ],
)
def test_a_candidate_that_cannot_be_read_back_is_not_confirmation(staff, sandbox, download_fault):
    """Our file did arrive (applied 500), but its bytes cannot be fetched to compare: the user
    hears "could not confirm", never "uploaded" on the strength of a name."""
    iid = sandbox.iid("full")
    aid = find_application(staff, iid, email="grace.hopper@example.com")["id"]
    content = samples.pdf(f"unreadable {time.time_ns()}")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=True)
    sandbox.fault("download", count=100, **download_fault)
    told = staff.upload(iid, aid, content, "CV.pdf")
    assert told.status_code == 502, told.text
    assert told.json()["error"]["code"] == "upload_unconfirmed"
    assert _settled_count(sandbox, content) == 1


def test_an_applied_unknown_outcome_is_confirmed_by_content(staff, sandbox):
    iid = sandbox.iid("full")
    aid = find_application(staff, iid, email="grace.hopper@example.com")["id"]
    content = samples.pdf(f"confirmed by content {time.time_ns()}")
    sandbox.clear_requests()
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=True)
    told = staff.upload(iid, aid, content, "CV.pdf")
    assert told.status_code == SUCCESS and told.json()["confirmed_by"] == "listing", told.text
    fetched = [r for r in sandbox.requests_log() if r["operation"] == "download"]
    assert fetched, "the candidate was confirmed without reading its bytes"
    assert _settled_count(sandbox, content) == 1


def test_an_applied_unknown_outcome_on_a_candidate_level_ats_is_confirmed(staff, sandbox):
    """Candidate-level ATSs file the upload on the candidate (no application id): still ours."""
    iid = sandbox.iid("candidate_level")
    aid = find_application(staff, iid)["id"]
    content = samples.pdf(f"candidate level {time.time_ns()}")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=True)
    told = staff.upload(iid, aid, content, "CV.pdf")
    assert told.status_code == SUCCESS and told.json()["confirmed_by"] == "listing", told.text
    assert _settled_count(sandbox, content) == 1


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE", "count": 1}, 200, None),
        ({"status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED", "count": 1}, 200, None),
        ({"delay": 5.0, "count": 1}, 200, None),
        ({"status": 502, "body": "html", "count": 1}, 200, None),
        (
            {"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE", "count": 50},
            503,
            "ats_unavailable",
        ),
        ({"status": 502, "body": "html", "count": 50}, 502, "kombo_bad_response"),
        ({"body": "malformed", "count": 50}, 502, "kombo_bad_response"),
        ({"reset": "before_body", "count": 50}, 503, "kombo_unreachable"),
    ],
)
def test_read_faults_are_retried_or_explained(staff, sandbox, fault, status, code):
    count = fault.pop("count")
    sandbox.fault("list_applications", count=count, **fault)
    resp = staff.get(f"/api/v1/integrations/{sandbox.iid('full')}/applications")
    assert resp.status_code == status, resp.text
    if code:
        assert resp.json()["error"]["code"] == code


def test_a_redirecting_data_url_is_not_followed(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()[
        "attachments"
    ][0]
    sandbox.fault("download", count=1, redirect="http://169.254.169.254/latest/meta-data/")
    resp = staff.get(item["download_url"], allow_redirects=False)
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "download_failed"
    assert "169.254" not in resp.text


def test_a_failing_download_is_tried_again_then_explained(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()[
        "attachments"
    ][0]
    sandbox.fault("download", count=1, status=502, body="html")
    assert staff.get(item["download_url"]).status_code == 200  # one bad answer is retried
    sandbox.fault("download", count=10, status=503, code=None)
    resp = staff.get(item["download_url"])
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "download_failed"


@pytest.mark.timeout(240)
def test_load_with_random_faults_keeps_the_books():
    """A short version of tests/perf/load.py: staff and embed users browse, upload (with keys,
    without, double submits, same-named files) and download while faults fly and one worker is
    killed."""
    from perf import load

    figures = load.run(seconds=12, users=10, applications=200)
    record(
        "load with random faults and a worker SIGKILLed (12 s, 10 users)",
        requests=figures["requests"],
        faults_injected=figures["faults_injected"],
        workers_killed=figures["workers_killed"],
        double_submits=figures["double_submits"],
        undeserved_errors=figures["undeserved_errors"],
        lost=figures["lost"],
        phantom=figures["phantom"],
        duplicates=figures["duplicates"],
        mismatches=figures["mismatches"],
    )
    assert figures["undeserved_errors"] == 0, figures["undeserved_examples"]
    assert figures["faults_injected"] > 0 and figures["uploads_told_uploaded"] > 0
    assert figures["workers_killed"] == 1 and figures["double_submits"] > 0
    assert (figures["lost"], figures["phantom"], figures["duplicates"]) == (0, 0, 0)
    assert figures["phantom_answers"] == 0
    assert figures["mismatches"] == 0 and figures["downloads_checked"] > 0


# -- limits and the breaker, each on a portal of its own (their state is per app) ------------


def test_the_breaker_stops_hammering_a_failing_ats_and_says_so(own_portal, sandbox):
    portal = own_portal(KOMBO_READ_TIMEOUT=1.0)
    staff = sign_in(portal.url)
    iid = sandbox.iid("full")
    app = find_application(staff, iid)
    url = f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments"
    sandbox.fault(
        "get_candidate_attachments", count=1000, status=503, code="REMOTE.SERVICE_UNAVAILABLE"
    )
    codes = []
    for _ in range(8):  # each call retries inside the client; five failed calls open the breaker
        codes.append(staff.get(url).json()["error"]["code"])
        if codes[-1] == "ats_paused":
            break
    assert codes[:5] == ["ats_unavailable"] * 5 and codes[-1] == "ats_paused"
    sandbox.clear_requests()
    paused = staff.get(url)
    assert paused.status_code == 503 and paused.json()["error"]["code"] == "ats_paused"
    assert (
        "paused" in paused.json()["error"]["message"] and paused.json()["error"]["retry_after"] > 0
    )
    assert not [r for r in sandbox.requests_log() if r["operation"] == "get_candidate_attachments"]


def test_in_flight_calls_stay_under_the_limit_and_the_rest_hear_busy(own_portal, sandbox):
    portal = own_portal(KOMBO_MAX_INFLIGHT=2, KOMBO_SLOT_WAIT=0.3, KOMBO_WRITE_TIMEOUT=10.0)
    staff = sign_in(portal.url)
    iid = sandbox.iid("full")
    apps = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][:5]
    sandbox.fault("add_application_attachment", count=5, delay=2.0)
    files = [samples.pdf(f"busy {i}") for i in range(5)]
    with ThreadPoolExecutor(5) as pool:
        results = list(
            pool.map(lambda i: staff.upload(iid, apps[i]["id"], files[i], f"busy{i}.pdf"), range(5))
        )
    ok = [r for r in results if r.status_code == SUCCESS]
    busy = [r for r in results if r.status_code == 503]
    assert len(ok) + len(busy) == 5 and 1 <= len(ok) <= 4 and busy
    assert all(r.json()["error"]["code"] == "ats_busy" for r in busy)
    for result, content in zip(results, files, strict=True):
        assert _count(sandbox, content) == (1 if result.status_code == SUCCESS else 0)


def test_concurrent_uploads_all_land_exactly_once(staff, sandbox):
    iid = sandbox.iid("full")
    apps = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][:10]
    files = [samples.pdf(f"concurrent {i}") for i in range(20)]
    lock = threading.Lock()
    told = {}

    def send(i):
        resp = staff.upload(iid, apps[i % len(apps)]["id"], files[i], f"c{i}.pdf")
        with lock:
            told[i] = resp.status_code

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(send, range(20)))
    assert set(told.values()) == {SUCCESS}
    assert all(_count(sandbox, f) == 1 for f in files)
