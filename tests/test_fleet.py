"""The production topology, for real and without Docker: redis-server, three portal instances
(separate gunicorn masters, real mode against the sandbox, one Redis) and Debian's nginx
running deploy/nginx.conf in front, round-robin, all on loopback.

It shows: the fleet keeps Kombo under one budget (the sandbox's recorded peak), no 429
reaches a user, a token and a session work whichever instance answers, the breaker pauses an
integration on every instance, a 4xx from an edge pauses nothing, slow clients do not stop
/healthz, and downloads go through nginx's internal location without leaking anything."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
import samples
from conftest import (
    Client,
    embed_client,
    find_application,
    mint_embed_token,
    portal_config,
    sign_in,
    spawn_gunicorn,
)
from daemons import NginxServer
from support import gunicorn_env, raw_get, start_gunicorn

from portal.guard import _means_down
from portal.kombo import KomboBadResponse, KomboConnectionError, KomboError

BUDGET = 4
INSTANCES = 3
pytestmark = pytest.mark.timeout(240)


class Fleet:
    """Three portal instances on one Redis, nginx in front."""

    def __init__(self, sandbox, redis_url: str) -> None:
        config = portal_config(
            sandbox,
            REDIS_URL=redis_url,
            KOMBO_MAX_INFLIGHT=BUDGET,
            KOMBO_SLOT_WAIT=60.0,
            KOMBO_WRITE_TIMEOUT=30.0,
            KOMBO_READ_TIMEOUT=5.0,
            ACCEL_REDIRECT=True,
            METRICS_TOKEN="m" * 40,
        )
        config.pop("TESTING")
        env = gunicorn_env(config)
        env["PORTAL_WORKERS"] = "2"
        self.procs, self.urls = [], []
        for _ in range(INSTANCES):
            proc, url = spawn_gunicorn(
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            self.procs.append(proc)
            self.urls.append(url)
        for url, proc in zip(self.urls, self.procs, strict=True):
            _wait_healthy(url, proc)
        self.nginx = NginxServer([urlsplit(u).netloc for u in self.urls])
        self.url = self.nginx.url

    def stop(self) -> None:
        self.nginx.stop()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "a portal instance exited at start"
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered /healthz")


@pytest.fixture(scope="module")
def fleet(sandbox, redis_server):
    redis_server.flush()
    running = Fleet(sandbox, redis_server.url)
    yield running
    running.stop()


def _concurrency(sandbox, reset: bool = False) -> dict:
    params = {"reset": "1"} if reset else {}
    return requests.get(f"{sandbox.root_url}/_sandbox/concurrency", params=params, timeout=5).json()


def test_64_uploaders_never_exceed_the_fleet_budget_and_hear_no_429(fleet, sandbox):
    iid = sandbox.iid("full")
    staff = sign_in(fleet.url)
    apps = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][:16]
    _concurrency(sandbox, reset=True)
    sandbox.fault("add_application_attachment", count=64, integration_id=iid, delay=0.4)
    files = [samples.pdf(f"fleet budget {i} {time.time()}") for i in range(64)]

    def upload(i: int) -> requests.Response:
        client = Client(fleet.url)  # one session (the cookie), a connection of its own
        client.http.cookies.update(staff.http.cookies)
        client.csrf = staff.csrf
        return client.upload(iid, apps[i % 16]["id"], files[i], f"budget{i}.pdf")

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(upload, range(64)))
    statuses = sorted({r.status_code for r in results})
    assert statuses == [201], [r.text for r in results if r.status_code != 201][:3]
    peak = _concurrency(sandbox)[iid]["peak"]
    assert 1 <= peak <= BUDGET, f"the sandbox saw {peak} calls in flight; the budget is {BUDGET}"
    assert not [r for r in sandbox.requests_log() if r["status"] == 429]


def test_a_token_and_a_session_work_on_every_instance(fleet, sandbox):
    iid = sandbox.iid("full")
    token = mint_embed_token("acme", iid, secret=__import__("conftest").ACME_SECRET)
    first = requests.post(
        f"{fleet.urls[0]}/api/v1/embed/session", json={"token": token}, timeout=10
    )
    assert first.status_code == 200
    for url in fleet.urls[1:]:  # the same embed token, replayed at the other instances
        again = requests.post(f"{url}/api/v1/embed/session", json={"token": token}, timeout=10)
        assert again.status_code == 401 and again.json()["error"]["code"] == "token_replayed"
    bearer = {"Authorization": "Bearer " + first.json()["session_token"]}
    subjects = {
        requests.get(u + "/api/v1/me", headers=bearer, timeout=10).json()["subject"]
        for u in fleet.urls
    }
    assert len(subjects) == 1
    staff = sign_in(fleet.urls[1])  # signed in on one instance, the page works on each
    for url in fleet.urls:
        page = staff.http.get(url + "/", timeout=10, allow_redirects=False)
        assert page.status_code == 200 and "signin" not in page.url


def test_one_idempotency_key_is_one_upload_on_every_instance(fleet, sandbox):
    """Same Idempotency-Key sent to each instance: one upload stored, one outcome told."""
    iid = sandbox.iid("full")
    staff = sign_in(fleet.urls[0])
    app = find_application(staff, iid)["id"]
    content = samples.pdf("one key, three instances " + secrets.token_hex(8))
    sha = hashlib.sha256(content).hexdigest()
    key = {"Idempotency-Key": "fleet-" + secrets.token_hex(8)}
    answers = []
    for url in fleet.urls:
        staff.base = url  # the same session cookie, another instance (separate gunicorn masters)
        resp = staff.upload(iid, app, content, "fleet.pdf", headers=key)
        answers.append((resp.status_code, resp.json(), resp.headers.get("Idempotent-Replayed")))
    assert [a[0] for a in answers] == [201, 201, 201]
    assert answers[1][1] == answers[0][1] == answers[2][1]
    assert [a[2] for a in answers] == [None, "true", "true"]
    assert sum(u["sha256"] == sha for u in sandbox.uploads()) == 1


def test_the_breaker_pauses_an_integration_on_every_instance(fleet, sandbox):
    iid = sandbox.iid("restricted")
    staff = sign_in(fleet.urls[0])
    app = find_application(staff, iid)["id"]
    path = f"/api/v1/integrations/{iid}/applications/{app}/attachments"
    sandbox.fault(
        "get_candidate_attachments",
        count=1000,
        integration_id=iid,
        status=503,
        code="REMOTE.SERVICE_UNAVAILABLE",
    )
    codes = []
    for _ in range(8):
        codes.append(staff.get(path).json()["error"]["code"])
        if codes[-1] == "ats_paused":
            break
    assert codes[-1] == "ats_paused" and codes.count("ats_unavailable") == 5
    sandbox.clear_requests()
    for url in fleet.urls:  # every instance, each worker: paused, and nothing reaches the ATS
        for _ in range(2):
            resp = staff.http.get(url + path, timeout=10)
            assert resp.status_code == 503 and resp.json()["error"]["code"] == "ats_paused"
    assert not [r for r in sandbox.requests_log() if r["operation"] == "get_candidate_attachments"]
    sandbox.clear_faults()


def test_a_4xx_from_an_edge_pauses_nothing(fleet, sandbox):
    iid = sandbox.iid("candidate_level")
    staff = sign_in(fleet.urls[0])  # one kept-alive connection: one worker sees them all
    app = find_application(staff, iid)["id"]
    path = f"/api/v1/integrations/{iid}/applications/{app}/attachments"
    sandbox.fault("get_candidate_attachments", count=8, integration_id=iid, body="html", status=413)
    codes = [staff.get(path).json()["error"]["code"] for _ in range(8)]
    assert codes == ["file_too_large_for_ats"] * 8  # a refusal each time, never ats_paused
    assert staff.get(path).status_code == 200


def test_40_slow_clients_do_not_stop_healthz(fleet, sandbox):
    host, port = "127.0.0.1", fleet.nginx.port
    stop = threading.Event()
    socks = []
    for _ in range(40):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(
            b"POST /api/v1/embed/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n"
        )
        socks.append(s)

    def drip() -> None:
        while not stop.wait(1.0):
            for s in socks:
                with contextlib.suppress(OSError):
                    s.send(b" ")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(1.5)  # the slow clients are connected and dripping
        probes = []
        for _ in range(4):
            probes.append(requests.get(fleet.url + "/healthz", timeout=5).status_code)
            for url in fleet.urls:  # the instances themselves are not held either
                probes.append(requests.get(url + "/healthz", timeout=5).status_code)
        assert probes == [200] * 16
    finally:
        stop.set()
        dripper.join()
        for s in socks:
            s.close()


def test_downloads_through_nginx_are_offloaded_and_leak_nothing(fleet, sandbox):
    # nginx resolves the file host with DNS (its `resolver`), which knows no "localhost": the
    # files are served from the sandbox's own address here, not through its redirect alias.
    sandbox.settings(file_host=None)
    staff = sign_in(fleet.url)
    iid = sandbox.iid("full")
    app = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][5]["id"]
    content = samples.pdf("offloaded " + "z" * 300_000)
    assert staff.upload(iid, app, content, "offloaded.pdf").status_code == 201
    listing = staff.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()
    item = next(a for a in listing["attachments"] if a["name"] == "offloaded.pdf")
    sandbox.clear_requests()
    got = staff.get(item["download_url"])
    assert got.status_code == 200 and got.content == content
    h = got.headers
    assert h["Content-Type"] == "application/pdf" and "offloaded.pdf" in h["Content-Disposition"]
    assert h["X-Content-Type-Options"] == "nosniff" and "sandbox" in h["Content-Security-Policy"]
    assert "X-Portal-Upstream" not in h and "X-Accel-Redirect" not in h
    assert h.get("Server") == "nginx" and h.get("X-Request-Id")
    token = item["download_url"].rsplit("/", 1)[1]
    logged = (fleet.nginx.dir / "access.log").read_text()
    assert "GET /download/[redacted]" in logged and token not in logged  # a grant, never logged
    downloads = [r for r in sandbox.requests_log() if r["operation"] == "download"]
    assert len(downloads) == 2  # the portal's look at the first bytes, then nginx's copy
    # The internal location is not reachable from outside: no open proxy.
    sandbox.clear_requests()
    inside = requests.get(
        fleet.url + "/_portal_download",
        headers={"X-Portal-Upstream": sandbox.root_url + "/resources/" + item["id"]},
        timeout=5,
    )
    # `internal` answers 404, which the location's error_page turns into its failed-download 502.
    assert inside.status_code == 502 and content not in inside.content
    assert not sandbox.requests_log()
    assert requests.get(fleet.url + "/metrics", timeout=5).status_code == 404
    # Cut short upstream: the browser sees a failed download through nginx too.
    sandbox.fault("download", count=2, body="truncated")
    cookies = {"Cookie": "; ".join(f"{k}={v}" for k, v in staff.http.cookies.items())}
    status, _, _, complete = raw_get(fleet.url + item["download_url"], cookies)
    assert not (status == 200 and complete)


def test_metrics_add_up_the_workers_for_the_bearer_only(fleet, sandbox):
    url = fleet.urls[0] + "/metrics"
    staff = sign_in(fleet.urls[0])  # a Kombo call through the guard on this instance
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    assert (
        staff.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").status_code == 200
    )
    assert requests.get(url, timeout=5).status_code == 404
    assert (
        requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 404
    )
    text = requests.get(url, headers={"Authorization": "Bearer " + "m" * 40}, timeout=5).text
    for family in (
        "portal_kombo_calls_total",
        "portal_kombo_call_seconds_bucket",
        "portal_kombo_budget_in_use",
        "portal_kombo_budget_limit",
        "portal_breaker_open",
    ):
        assert family in text, family
    assert f'portal_kombo_budget_limit{{integration="{sandbox.iid("full")}"}} {BUDGET}.0' in text


__all__ = ["embed_client"]


# -- Kombo's Concurrency-Limit header: an integration with less gets less ---------------------


@pytest.fixture(scope="module")
def tight_sandbox():
    """A sandbox whose integrations allow only 3 action calls at once (and say so)."""
    from conftest import SANDBOX_KEY, Sandbox

    from portal.sandbox import SandboxServer

    server = SandboxServer(
        api_key=SANDBOX_KEY, applications=20, host="127.0.0.1", port=0, concurrency_limit=3
    ).start()
    yield Sandbox(server)
    server.stop()


def test_a_lower_concurrency_limit_from_kombo_lowers_the_budget(tight_sandbox, tmp_path):
    proc, url = start_gunicorn(tight_sandbox, tmp_path, KOMBO_SLOT_WAIT=60.0)  # budget 24
    try:
        iid = tight_sandbox.iid("full")
        staff = sign_in(url)
        apps = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][:12]
        assert staff.get(f"/api/v1/integrations/{iid}/applications/{apps[0]['id']}/attachments").ok
        _concurrency(tight_sandbox, reset=True)  # Kombo has told us "3" by now
        tight_sandbox.fault("add_application_attachment", count=12, delay=0.4)
        files = [samples.pdf(f"tight {i} {time.time()}") for i in range(12)]

        def upload(i: int) -> requests.Response:
            client = Client(url)
            client.http.cookies.update(staff.http.cookies)
            client.csrf = staff.csrf
            return client.upload(iid, apps[i]["id"], files[i], f"tight{i}.pdf")

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(upload, range(12)))
        assert [r.status_code for r in results] == [201] * 12, [r.text for r in results][:2]
        assert _concurrency(tight_sandbox)[iid]["peak"] <= 3
        assert not [r for r in tight_sandbox.requests_log() if r["status"] == 429]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- what operations sees --------------------------------------------------------------------


def test_the_error_reference_is_the_request_id_nginx_made(fleet, sandbox):
    staff = sign_in(fleet.url)
    resp = staff.get(
        "/api/v1/integrations/nope/applications", headers={"X-Request-Id": "chosen-by-the-client"}
    )
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    rid = resp.headers["X-Request-Id"]
    assert resp.json()["error"]["reference"] == rid and rid != "chosen-by-the-client"
    assert len(rid) == 32  # nginx's $request_id: the access log and the portal's log share it


def test_readyz_says_ready_when_the_store_and_kombo_answer(fleet):
    for url in fleet.urls:
        resp = requests.get(url + "/readyz", timeout=10)
        assert resp.status_code == 200 and resp.json() == {
            "status": "ready",
            "store": "ok",
            "kombo": "ok",
        }


def test_readyz_fails_without_the_store_while_healthz_stays_alive(sandbox):
    from conftest import ServerThread
    from support import free_port

    from portal import create_app

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = ServerThread(create_app(portal_config(sandbox, REDIS_URL=dead))).start()
    try:
        ready = requests.get(server.url + "/readyz", timeout=20)
        assert ready.status_code == 503 and ready.json()["store"] == "failing"
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_log_lines_are_json_with_the_request_id(sandbox):
    import json
    import logging

    from portal import create_app
    from portal.errors import reference
    from portal.logs import JsonLines

    app = create_app(portal_config(sandbox))
    with app.test_request_context("/api/v1/x?email=ada@example.com"):
        record = logging.LogRecord(
            "portal.x", logging.WARNING, __file__, 1, "cut %s", ("short",), None
        )
        line = json.loads(JsonLines().format(record))
        assert line["request_id"] == reference() and line["message"] == "cut short"
        assert line["path"] == "/api/v1/x" and "ada" not in json.dumps(line)


@pytest.mark.parametrize(
    ("err", "down"),
    [
        (KomboConnectionError("x"), True),
        (KomboBadResponse("x", status=None), True),
        (KomboBadResponse("x", status=502), True),
        (KomboBadResponse("x", status=413), False),  # an edge's HTML 413 page
        (KomboError("x", status=500, code=None), True),
        (KomboError("x", status=503, code="REMOTE.SERVICE_UNAVAILABLE"), True),
        (KomboError("x", status=504, code="PLATFORM.TASK_TIMED_OUT"), True),
        (KomboError("x", status=None, code="PLATFORM.UNKNOWN_ERROR"), True),
        (KomboError("x", status=429, code="PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"), False),
        (KomboError("x", status=400, code="REMOTE.INPUT_INVALID"), False),
        (KomboError("x", status=404, code="PLATFORM.INPUT_INVALID"), False),
        (KomboError("x", status=409, code="INTEGRATION.INACTIVE"), False),
    ],
)
def test_only_failures_that_mean_down_count_for_the_breaker(err, down):
    assert _means_down(err) is down
