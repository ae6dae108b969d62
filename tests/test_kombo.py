"""The Kombo client against the sandbox over HTTP: every method, every error mapping, safe retries."""

from __future__ import annotations

import hashlib
import io
import json
import time

import pytest
import samples
from conftest import SANDBOX_KEY
from hypothesis import given, settings
from hypothesis import strategies as st
from support import free_port, raises_exactly

from portal.kombo import (
    KomboBadResponse,
    KomboClient,
    KomboConnectionError,
    KomboError,
    Timeouts,
    attachment_body,
    is_kombo_id,
)

# Short timeouts only where a timeout is the point of the test; elsewhere room enough that a
# loaded CI machine never turns an ordinary answer into a timeout.
FAST = Timeouts(connect=1.0, read=1.5, write_read=1.5, read_deadline=6.0, max_retry_after=2.0)
ROOMY = Timeouts(connect=3.0, read=10.0, write_read=10.0, read_deadline=20.0, max_retry_after=2.0)


def _client(sandbox, timeouts: Timeouts) -> KomboClient:
    return KomboClient(
        SANDBOX_KEY,
        base_url=sandbox.base_url,
        timeouts=timeouts,
        download_hosts=frozenset({"127.0.0.1", "localhost"}),
    )


@pytest.fixture
def kombo(sandbox):
    return _client(sandbox, ROOMY)


@pytest.fixture
def fast_kombo(sandbox):
    return _client(sandbox, FAST)


@pytest.fixture
def ada(kombo, sandbox):
    """(integration id, Ada's candidate object) in the full integration."""
    iid = sandbox.iid("full")
    page = kombo.list_candidates(iid, email="ada.lovelace@example.com")
    assert len(page.results) == 1
    return iid, page.results[0]


def _posts(sandbox, at_least=0):
    """POSTs the sandbox has logged; waits (bounded) for slow ones still being answered."""
    deadline = time.monotonic() + 8
    while True:
        posts = [r for r in sandbox.requests_log() if r["method"] == "POST"]
        if len(posts) >= at_least or time.monotonic() > deadline:
            return posts
        time.sleep(0.1)


# -- every endpoint ----------------------------------------------------------------


def test_check_api_key(kombo):
    assert kombo.check_api_key().data["environment_id"]


def test_get_integration_shows_status_per_behaviour(kombo, sandbox):
    assert kombo.get_integration(sandbox.iid("full")).data["status"] == "ACTIVE"
    assert kombo.get_integration(sandbox.iid("invalid")).data["status"] == "INVALID"
    actions = {
        a["id"]: a for a in kombo.get_integration(sandbox.iid("no_upload")).data["write_actions"]
    }
    assert actions["ats_add_application_attachment"]["is_available"] is False


def test_upload_restrictions_of_the_restricted_integration(kombo, sandbox):
    types = kombo.get_upload_restrictions(sandbox.iid("restricted")).data[
        "attachment_restrictions"
    ]["types"]
    assert types["COVER_LETTER"]["is_supported"] is False
    assert set(types["CV"]["accepted_mime_types"]) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
    assert types["CV"]["max_file_size_bytes"] == 5 * 1024 * 1024


def test_list_applications_walks_every_page_once(kombo, sandbox):
    iid, seen, cursor, pages = sandbox.iid("full"), [], None, 0
    while True:
        page = kombo.list_applications(iid, cursor=cursor, page_size=25)
        seen += [a["id"] for a in page.results]
        pages += 1
        cursor = page.next
        if cursor is None:
            break
    assert pages >= 3
    assert len(seen) == len(set(seen)) >= 60
    assert all(is_kombo_id(i) for i in seen)


def test_list_applications_by_ids_and_job(kombo, ada):
    iid, candidate = ada
    app = candidate["applications"][0]
    by_id = kombo.list_applications(iid, ids=[app["id"]])
    assert [a["id"] for a in by_id.results] == [app["id"]]
    by_job = kombo.list_applications(iid, job_ids=[app["job"]["id"]], page_size=250)
    assert app["id"] in {a["id"] for a in by_job.results}
    assert all(a["job_id"] == app["job"]["id"] for a in by_job.results)


def test_candidate_email_search_is_case_insensitive(kombo, sandbox):
    page = kombo.list_candidates(sandbox.iid("full"), email="Ada.Lovelace@EXAMPLE.com")
    assert [c["last_name"] for c in page.results] == ["Lovelace"]
    assert len(page.results[0]["applications"]) == 2


def test_list_jobs_by_name_and_status(kombo, sandbox):
    page = kombo.list_jobs(sandbox.iid("full"), name_contains="engineer", statuses=["OPEN"])
    assert page.results
    assert all("engineer" in j["name"].lower() and j["status"] == "OPEN" for j in page.results)


def test_attachments_of_candidate_and_application(kombo, ada):
    iid, candidate = ada
    listed = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"]
    assert "Ada Lovelace CV.pdf" in [a["file_name"] for a in listed]
    backend = next(a for a in candidate["applications"] if a["job"]["name"] == "Backend Engineer")
    app_names = [a["file_name"] for a in listed if a.get("application_id") == backend["id"]]
    assert "Ada Lovelace CV.pdf" in app_names


def test_upload_is_stored_listed_and_downloads_identical(kombo, ada, sandbox):
    iid, candidate = ada
    app_id = candidate["applications"][1]["id"]
    content = samples.pdf("kombo client test")
    result = kombo.add_application_attachment(
        iid,
        app_id,
        name="Client test.pdf",
        type="OTHER",
        content_type="application/pdf",
        fileobj=io.BytesIO(content),
        size=len(content),
    )
    assert result.data == {}
    stored = [u for u in sandbox.uploads() if u["sha256"] == hashlib.sha256(content).hexdigest()]
    assert len(stored) == 1 and stored[0]["content_type"] == "application/pdf"
    listed = next(
        a
        for a in kombo.get_candidate_attachments(iid, candidate["id"]).data["results"]
        if a["file_name"] == "Client test.pdf"
    )
    resp = kombo.open_download(listed["data_url"])
    assert b"".join(resp.iter_content(65536)) == content
    assert resp.headers["Content-Type"].startswith("application/pdf")


def test_candidate_level_integration_returns_a_warning(kombo, sandbox):
    iid = sandbox.iid("candidate_level")
    cand = kombo.list_candidates(iid, email="grace.hopper@example.com").results[0]
    content = samples.text("Grace's note\n")
    result = kombo.add_application_attachment(
        iid,
        cand["applications"][0]["id"],
        name="note.txt",
        type="OTHER",
        content_type="text/plain",
        fileobj=io.BytesIO(content),
        size=len(content),
    )
    assert result.warnings  # Kombo tells us the file went to the candidate
    listed = kombo.get_candidate_attachments(iid, cand["id"]).data["results"]
    assert any(a["file_name"] == "note.txt" and a["application_id"] is None for a in listed)


# -- streamed body -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.text(max_size=40))
def test_streamed_body_is_exact_json_with_exact_length(content, name):
    body = attachment_body(
        name=name,
        type="CV",
        content_type="text/plain",
        fileobj=io.BytesIO(content),
        size=len(content),
    )
    raw = b"".join(body)
    assert len(raw) == len(body)
    doc = json.loads(raw)
    import base64

    assert base64.b64decode(doc["attachment"]["data"], validate=True) == content
    assert doc["attachment"]["name"] == name
    assert b"".join(body) == raw  # iterating again resends the same body


def test_streamed_body_is_read_in_chunks():
    class CountingFile(io.BytesIO):
        biggest = 0

        def read(self, n=-1):
            CountingFile.biggest = max(CountingFile.biggest, n)
            return super().read(n)

    content = b"x" * (3 * 1024 * 1024 + 5)
    body = attachment_body(
        name="a",
        type="CV",
        content_type="text/plain",
        fileobj=CountingFile(content),
        size=len(content),
    )
    assert sum(len(c) for c in body) == len(body)
    assert 0 < CountingFile.biggest <= 3 * 64 * 1024


# -- errors: the envelope and transport -------------------------------------------------


def test_wrong_key_is_platform_authentication_invalid(sandbox):
    bad = KomboClient("not-the-key", base_url=sandbox.base_url, timeouts=FAST)
    with raises_exactly(KomboError) as info:
        bad.check_api_key()
    assert (info.value.status, info.value.code) == (401, "PLATFORM.AUTHENTICATION_INVALID")
    assert info.value.retryable is False


def test_unknown_integration(kombo):
    with raises_exactly(KomboError) as info:
        kombo.list_jobs("greenhouse:" + "A" * 24)
    assert info.value.code == "PLATFORM.INTEGRATION_NOT_FOUND"


def test_invalid_integration_fails_with_integration_authentication(kombo, sandbox):
    with raises_exactly(KomboError) as info:
        kombo.list_applications(sandbox.iid("invalid"))
    assert info.value.code == "INTEGRATION.AUTHENTICATION_INVALID"


def test_no_list_integration_cannot_list_attachments(kombo, sandbox):
    iid = sandbox.iid("no_list")
    cand = kombo.list_candidates(iid, email="ada.lovelace@example.com").results[0]
    with raises_exactly(KomboError) as info:
        kombo.get_candidate_attachments(iid, cand["id"])
    assert info.value.code == "INTEGRATION.ACTION_NOT_AVAILABLE"


def test_input_invalid_carries_kombo_message(kombo, ada):
    iid, candidate = ada
    with raises_exactly(KomboError) as info:
        kombo.add_application_attachment(
            iid,
            candidate["applications"][0]["id"],
            name="x.bin",
            type="CV",
            content_type="application/octet-stream",
            fileobj=io.BytesIO(b"abc"),
            size=3,
        )
    err = info.value
    assert (err.status, err.code) == (400, "PLATFORM.INPUT_INVALID")
    assert err.maybe_applied is False and "octet-stream" in err.message


def test_unknown_candidate_is_404(kombo, sandbox):
    with raises_exactly(KomboError) as info:
        kombo.get_candidate_attachments(sandbox.iid("full"), "A" * 24)
    assert info.value.status == 404


@pytest.mark.parametrize(
    ("fault", "expected_type", "code", "retryable"),
    [
        (
            {"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE"},
            KomboError,
            "REMOTE.SERVICE_UNAVAILABLE",
            True,
        ),
        (
            {"status": 429, "code": "REMOTE.RATE_LIMIT_EXCEEDED"},
            KomboError,
            "REMOTE.RATE_LIMIT_EXCEEDED",
            True,
        ),
        (
            {"status": 400, "code": "PLATFORM.SOMETHING_NEW_IN_2027"},
            KomboError,
            "PLATFORM.SOMETHING_NEW_IN_2027",
            False,
        ),
        ({"status": 500, "code": None}, KomboError, None, True),
        ({"status": 502, "body": "html"}, KomboBadResponse, None, True),
        ({"body": "malformed"}, KomboBadResponse, None, False),
        (
            {"status": 409, "code": "INTEGRATION.SETUP_SYNC_PENDING"},
            KomboError,
            "INTEGRATION.SETUP_SYNC_PENDING",
            False,
        ),
    ],
)
def test_error_mapping(kombo, sandbox, fault, expected_type, code, retryable):
    sandbox.fault("list_jobs", count=10, **fault)
    with pytest.raises(expected_type) as info:
        kombo.list_jobs(sandbox.iid("full"))
    assert info.value.code == code
    assert info.value.retryable is retryable
    assert info.value.message  # always something to show


def test_a_read_retries_through_a_passing_fault(kombo, sandbox):
    sandbox.fault("list_jobs", count=2, status=503, code="REMOTE.SERVICE_UNAVAILABLE")
    assert kombo.list_jobs(sandbox.iid("full")).results


def test_a_read_honours_a_short_retry_after(kombo, sandbox):
    sandbox.fault(
        "list_jobs", count=1, status=429, code="PLATFORM.RATE_LIMIT_EXCEEDED", retry_after="1"
    )
    assert kombo.list_jobs(sandbox.iid("full")).results


def test_a_huge_retry_after_is_not_waited_for(kombo, sandbox):
    sandbox.fault(
        "list_jobs", count=1, status=429, code="PLATFORM.RATE_LIMIT_EXCEEDED", retry_after="99999"
    )
    with raises_exactly(KomboError) as info:
        kombo.list_jobs(sandbox.iid("full"))
    assert info.value.retry_after == 99999


def test_a_read_retries_after_a_timeout(fast_kombo, sandbox):
    sandbox.fault("list_jobs", count=1, delay=3.0)
    assert fast_kombo.list_jobs(sandbox.iid("full")).results


def test_unreachable_kombo_is_a_connection_error():
    port = free_port()  # closed again: nothing listens there
    client = KomboClient("k", base_url=f"http://127.0.0.1:{port}/v1", timeouts=FAST)
    with pytest.raises(KomboConnectionError) as info:
        client.add_application_attachment(
            "x:y",
            "A" * 24,
            name="a.txt",
            type="CV",
            content_type="text/plain",
            fileobj=io.BytesIO(b"a"),
            size=1,
        )
    assert info.value.maybe_applied is False  # nothing was sent: safe to send again


# -- writes are never resent when they may have been applied ------------------------------


def _upload(kombo, ada, content, name):
    iid, candidate = ada
    return kombo.add_application_attachment(
        iid,
        candidate["applications"][0]["id"],
        name=name,
        type="OTHER",
        content_type="application/pdf",
        fileobj=io.BytesIO(content),
        size=len(content),
    )


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"delay": 3.0}, KomboConnectionError),
        ({"reset": "after_body"}, KomboConnectionError),
        ({"status": 500, "code": None}, KomboError),
        ({"status": 504, "code": "PLATFORM.TASK_TIMED_OUT"}, KomboError),
        ({"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE"}, KomboError),
        ({"status": 502, "body": "html"}, KomboBadResponse),
    ],
)
def test_an_ambiguous_write_is_not_resent(fast_kombo, ada, sandbox, fault, kind):
    sandbox.clear_requests()
    sandbox.fault("add_application_attachment", count=1, **fault)
    with raises_exactly(kind) as info:
        _upload(fast_kombo, ada, samples.pdf(str(fault)), "ambiguous.pdf")
    assert info.value.maybe_applied is True
    assert len(_posts(sandbox, at_least=1)) == 1


@pytest.mark.parametrize(
    "code", ["PLATFORM.CONCURRENCY_LIMIT_EXCEEDED", "PLATFORM.RATE_LIMIT_EXCEEDED"]
)
def test_an_edge_refusal_is_resent_and_lands_once(kombo, ada, sandbox, code):
    content = samples.pdf("edge " + code)
    sandbox.clear_requests()
    sandbox.fault("add_application_attachment", count=1, status=429, code=code)
    _upload(kombo, ada, content, "edge.pdf")
    assert len(_posts(sandbox)) == 2
    assert sum(u["sha256"] == hashlib.sha256(content).hexdigest() for u in sandbox.uploads()) == 1


def test_input_refusal_is_not_resent(kombo, ada, sandbox):
    sandbox.clear_requests()
    sandbox.fault(
        "add_application_attachment",
        count=1,
        status=400,
        code="REMOTE.INPUT_INVALID",
        message="Bad file",
    )
    with raises_exactly(KomboError) as info:
        _upload(kombo, ada, samples.pdf("refused"), "refused.pdf")
    assert info.value.maybe_applied is False and info.value.message == "Bad file"
    assert len(_posts(sandbox)) == 1


# -- downloads ------------------------------------------------------------------------


def test_download_does_not_follow_redirects(kombo, ada, sandbox):
    iid, candidate = ada
    att = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    sandbox.fault("download", count=1, redirect="http://169.254.169.254/latest/meta-data/")
    with raises_exactly(KomboError) as info:
        kombo.open_download(att["data_url"])
    assert info.value.code == "PORTAL.DOWNLOAD_REDIRECT"


def test_download_refuses_foreign_hosts(kombo):
    for url in ("http://169.254.169.254/x", "https://evil.example/file", "file:///etc/passwd"):
        with raises_exactly(KomboError) as info:
            kombo.open_download(url)
        assert info.value.code == "PORTAL.DOWNLOAD_HOST_REFUSED"


def test_the_key_is_not_in_repr(kombo):
    assert SANDBOX_KEY not in repr(kombo) and SANDBOX_KEY not in str(vars(kombo).get("base_url"))


# -- one retry policy (issue 10 item 3), with an injected sleep: nothing really waits ----------


class Sleeps(list):
    """An injected sleep that records the waits instead of sleeping."""

    def __call__(self, seconds):
        self.append(seconds)


def _recording_client(sandbox, timeouts=ROOMY):
    sleeps = Sleeps()
    client = KomboClient(
        SANDBOX_KEY,
        base_url=sandbox.base_url,
        timeouts=timeouts,
        download_hosts=frozenset({"127.0.0.1", "localhost"}),
        sleep=sleeps,
    )
    return client, sleeps


def test_a_single_429_with_retry_after_on_the_file_download_is_waited_for(sandbox, ada):
    iid, candidate = ada
    client, sleeps = _recording_client(sandbox)
    att = client.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    sandbox.fault("download", count=1, status=429, code=None, retry_after="1")
    resp = client.open_download(att["data_url"])
    assert resp.content.startswith(b"%PDF")
    assert sleeps == [1.0]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 504, "code": "PLATFORM.TASK_TIMED_OUT"},
        {"status": 500, "code": "PLATFORM.UNKNOWN_ERROR"},
    ],
    ids=["task-timed-out", "unknown-error"],
)
@pytest.mark.parametrize(
    "endpoint", ["list_applications", "list_candidates", "get_candidate_attachments"]
)
def test_one_5xx_with_any_code_on_a_read_is_retried(sandbox, ada, endpoint, fault):
    iid, candidate = ada
    client, sleeps = _recording_client(sandbox)
    call = {
        "list_applications": lambda: client.list_applications(iid, page_size=5).results,
        "list_candidates": lambda: (
            client.list_candidates(iid, email="ada.lovelace@example.com").results
        ),
        "get_candidate_attachments": lambda: client.get_candidate_attachments(
            iid, candidate["id"]
        ).data["results"],
    }[endpoint]
    sandbox.fault(endpoint, count=1, **fault)
    assert call()
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= ROOMY.backoff_base  # full jitter, first step


def test_backoff_is_exponential_with_full_jitter_and_capped(sandbox):
    client, sleeps = _recording_client(
        sandbox, Timeouts(read=5, read_deadline=60, attempts=6, backoff_base=0.5, backoff_cap=2.0)
    )
    sandbox.fault("list_jobs", count=5, status=503, code=None)
    assert client.list_jobs(sandbox.iid("full")).results
    assert len(sleeps) == 5
    for n, wait in enumerate(sleeps):
        assert 0 <= wait <= min(2.0, 0.5 * 2**n)


def test_the_deadline_ends_the_retries(sandbox):
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    client = KomboClient(
        SANDBOX_KEY,
        base_url=sandbox.base_url,
        timeouts=Timeouts(read_deadline=2.5, attempts=10, max_retry_after=5),
        sleep=sleep,
        clock=lambda: now[0],
    )
    sandbox.fault("list_jobs", count=10, status=503, code=None, retry_after="1")
    with raises_exactly(KomboError) as info:
        client.list_jobs(sandbox.iid("full"))
    assert info.value.status == 503 and now[0] == 2.0  # a third wait would pass the deadline


def test_ratelimit_reset_is_honoured_when_the_window_is_spent(sandbox):
    client, sleeps = _recording_client(sandbox)
    sandbox.fault(
        "list_jobs",
        count=1,
        respond={
            "status": 429,
            "headers": {
                "ratelimit-limit": "100",
                "ratelimit-remaining": "0",
                "ratelimit-reset": "2",
            },
            "body": {
                "status": "error",
                "error": {"code": None, "title": None, "message": "Slow down", "log_url": None},
            },
        },
    )
    assert client.list_jobs(sandbox.iid("full")).results
    assert sleeps == [2.0]


def test_an_edge_s_html_429_to_the_upload_is_resent_and_lands_once(kombo, ada, sandbox):
    content = samples.pdf("edge html 429")
    sandbox.clear_requests()
    sandbox.fault(
        "add_application_attachment",
        count=1,
        respond={"status": 429, "headers": {"Content-Type": "text/html"}, "body": "<h1>429</h1>"},
    )
    _upload(kombo, ada, content, "edge-html.pdf")
    assert len(_posts(sandbox)) == 2
    assert sum(u["sha256"] == hashlib.sha256(content).hexdigest() for u in sandbox.uploads()) == 1


# -- error classification: one home, properties of KomboError (issue 15) -------------------------

CLASSIFIED = [
    # fault on list_jobs, then (retryable, edge_refused, means_down, not_available, too_large)
    ({"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE"}, (True, False, True, False, False)),
    ({"status": 500, "code": "PLATFORM.UNKNOWN_ERROR"}, (True, False, True, False, False)),
    ({"status": 504, "code": "PLATFORM.TASK_TIMED_OUT"}, (True, False, True, False, False)),
    ({"status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED"}, (True, True, False, False, False)),
    (
        {"status": 429, "code": "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"},
        (True, True, False, False, False),
    ),
    ({"status": 429, "code": "REMOTE.RATE_LIMIT_EXCEEDED"}, (True, False, False, False, False)),
    (
        {"status": 400, "code": "INTEGRATION.ACTION_NOT_AVAILABLE"},
        (False, False, False, True, False),
    ),
    ({"status": 409, "code": "INTEGRATION.MODEL_DISABLED"}, (False, False, False, True, False)),
    ({"status": 403, "code": "INTEGRATION.PERMISSION_MISSING"}, (False, False, False, True, False)),
    ({"status": 400, "code": None}, (False, False, False, False, False)),
    ({"status": 502, "body": "html"}, (True, False, True, False, False)),
    (
        {
            "respond": {
                "status": 413,
                "headers": {"Content-Type": "text/html"},
                "body": "<h1>413</h1>",
            }
        },
        (False, True, False, False, True),
    ),
    ({"status": 413, "code": "PLATFORM.INPUT_INVALID"}, (False, False, False, False, True)),
]


@pytest.mark.parametrize(("fault", "expected"), CLASSIFIED, ids=lambda v: str(v)[:60])
def test_error_classification_properties(kombo, sandbox, fault, expected):
    sandbox.fault("list_jobs", count=10, **fault)
    # Any KomboError: the class follows the fault (an HTML body is a bad response); the
    # properties asserted below are what callers ask.
    with pytest.raises(KomboError) as info:
        kombo.list_jobs(sandbox.iid("full"))
    err = info.value
    got = (err.retryable, err.edge_refused, err.means_down, err.not_available, err.too_large)
    assert got == expected


def test_connection_errors_are_classified(sandbox):
    port = free_port()
    client = KomboClient("k", base_url=f"http://127.0.0.1:{port}/v1", timeouts=FAST, sleep=Sleeps())
    with pytest.raises(KomboConnectionError) as info:
        client.list_jobs("x:y")
    err = info.value
    assert (err.retryable, err.edge_refused, err.means_down, err.maybe_applied) == (
        True,
        True,
        True,
        False,
    )


# -- rate-limit headers (issue 13 item 5) --------------------------------------------------------


def test_the_sandbox_sends_ratelimit_headers_and_enforces_its_window(kombo, sandbox):
    iid = sandbox.iid("full")
    sandbox.settings(rate_limit=3, rate_window=600)
    for _ in range(3):
        kombo.list_jobs(iid)
    with raises_exactly(KomboError) as info:
        kombo.list_jobs(iid)
    err = info.value
    assert (err.status, err.code) == (429, "PLATFORM.RATE_LIMIT_EXCEEDED")
    assert err.rate_limit.limit == 3 and err.rate_limit.remaining == 0
    assert 500 < err.retry_after <= 600 and err.rate_limited


# -- downloads: redirects to an allowlist, the key only to Kombo (issue 13 item 3) -------------


def _resource_requests(sandbox):
    return [r for r in sandbox.requests_log() if r["path"].startswith(("/resources/", "/files/"))]


def test_a_download_follows_the_redirect_to_the_file_host_without_the_key(kombo, ada, sandbox):
    iid, candidate = ada
    att = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    sandbox.settings(resources_need_key=True)
    sandbox.clear_requests()
    resp = kombo.open_download(att["data_url"])
    assert resp.content.startswith(b"%PDF") and resp.url.startswith("http://localhost:")
    hops = [
        (r["path"].split("/")[1], r["status"], r["authorized"]) for r in _resource_requests(sandbox)
    ]
    # Plain first; the key only to Kombo's own host once refused; never to the storage host.
    assert hops == [("resources", 401, False), ("resources", 302, True), ("files", 200, False)]


def test_the_key_never_follows_a_cross_host_redirect_even_to_kombo(kombo, ada, sandbox):
    iid, candidate = ada
    att = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    foreign = att["data_url"].replace("127.0.0.1", "localhost")  # starts on another host
    sandbox.settings(resources_need_key=True)
    sandbox.fault("download", count=1, redirect=att["data_url"])
    sandbox.clear_requests()
    with raises_exactly(KomboError) as info:
        kombo.open_download(foreign)
    assert (info.value.code, info.value.status) == ("PORTAL.DOWNLOAD_FAILED", 401)
    assert not any(r["authorized"] for r in _resource_requests(sandbox))


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/file.pdf",  # not an allowed host
        "http://resources.kombo.dev/x",  # Kombo's host, but not HTTPS
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://169.254.169.254/latest/meta-data/",
        "https://resources.kombo.dev.evil.example/x",  # a look-alike suffix
        "https://resources.kombo.dev:8443/x",  # another port
    ],
)
def test_a_redirect_off_the_allowlist_is_refused(kombo, ada, sandbox, target):
    iid, candidate = ada
    att = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    sandbox.fault("download", count=1, redirect=target)
    with raises_exactly(KomboError) as info:
        kombo.open_download(att["data_url"])
    assert info.value.code == "PORTAL.DOWNLOAD_REDIRECT"


def test_too_many_redirects_are_refused(kombo, ada, sandbox):
    iid, candidate = ada
    att = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    sandbox.fault("download", count=10, redirect=att["data_url"])  # a loop
    sandbox.clear_requests()
    with raises_exactly(KomboError) as info:
        kombo.open_download(att["data_url"])
    assert info.value.code == "PORTAL.DOWNLOAD_REDIRECT"
    assert len(_resource_requests(sandbox)) == 4  # the first request and 3 redirects


def test_three_redirects_are_followed(kombo, ada, sandbox):
    iid, candidate = ada
    att = kombo.get_candidate_attachments(iid, candidate["id"]).data["results"][0]
    sandbox.fault("download", count=2, redirect=att["data_url"])  # then the 302 to the file host
    assert kombo.open_download(att["data_url"]).content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("resources.kombo.dev", True),
        ("resources.us.kombo.dev", True),
        ("api.ca.kombo.dev", True),
        ("kombo.dev.evil.example", False),
        ("evilkombo.dev", False),
        ("storage.googleapis.com", True),
        ("kombo-files.storage.googleapis.com", True),
        ("my-bucket.s3.eu-central-1.amazonaws.com", True),
        ("s3.amazonaws.com", True),
        ("my-bucket.s3-website-eu-west-1.amazonaws.com", False),  # website hosting serves HTML
        ("ec2-1-2-3-4.compute.amazonaws.com", False),
        ("169.254.169.254", False),
        ("::ffff:169.254.169.254", False),
        ("fe80::1", False),
        ("metadata.google.internal", False),
        ("files.customer.example", True),  # PORTAL_KOMBO_DOWNLOAD_HOSTS
    ],
)
def test_download_hosts(host, allowed):
    client = KomboClient(
        "k",
        download_hosts=frozenset(
            {"files.customer.example", "169.254.169.254", "::ffff:169.254.169.254", "fe80::1"}
        ),
    )
    assert client._allowed_host(host) is allowed


def _clocked_client(sandbox, read_deadline: float) -> tuple[KomboClient, list[float]]:
    """A client whose sleeps only move a clock of its own (no real waiting)."""
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    client = KomboClient(
        SANDBOX_KEY,
        base_url=sandbox.base_url,
        timeouts=Timeouts(read_deadline=read_deadline, attempts=4, max_retry_after=5),
        sleep=sleep,
        clock=lambda: now[0],
    )
    return client, now


def test_a_rate_limit_that_says_when_is_waited_out_until_the_deadline(sandbox):
    """Kombo's rate limit (not a failure) with Retry-After: the read waits as told for as long
    as its deadline allows, not just `attempts` times (a red team saw users get 429 after 4)."""
    client, now = _clocked_client(sandbox, read_deadline=30)
    sandbox.fault(
        "list_jobs", count=6, status=429, code="PLATFORM.RATE_LIMIT_EXCEEDED", retry_after="2"
    )
    assert client.list_jobs(sandbox.iid("full")).results
    assert now[0] == 12.0  # six waits of 2 s, each as Kombo said


def test_a_rate_limit_past_the_deadline_still_ends_with_the_rate_limit(sandbox):
    client, now = _clocked_client(sandbox, read_deadline=5)
    sandbox.fault(
        "list_jobs", count=10, status=429, code="PLATFORM.RATE_LIMIT_EXCEEDED", retry_after="2"
    )
    with pytest.raises(KomboError) as info:
        client.list_jobs(sandbox.iid("full"))
    assert info.value.code == "PLATFORM.RATE_LIMIT_EXCEEDED" and now[0] == 4.0
