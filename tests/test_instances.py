"""The deployment people run: `portal` under gunicorn in real mode (a Kombo key set), two
workers per instance, two instances on one real Redis. What one worker or instance learns
(a used token, a sign-out, a failed sign-in), every other one knows."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import (
    ACME_SECRET,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    Client,
    embed_client,
    portal_config,
    sign_in,
    spawn_gunicorn,
)
from support import free_port, gunicorn_env

from portal.tokens import mint_embed_token, mint_revoke_token

pytestmark = pytest.mark.timeout(240)


def _start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc, url = spawn_gunicorn(env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_healthy(proc, url)
    return proc, url


def _wait_healthy(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the portal did not start:\n" + (proc.stdout.read() if proc.stdout else ""))
        time.sleep(0.1)


def _real_mode_env(sandbox, **overrides) -> dict[str, str]:
    config = portal_config(sandbox, SANDBOX=False, **overrides)
    config.pop("TESTING")
    env = gunicorn_env(config)
    env["PORTAL_WORKERS"] = "2"
    return env


@pytest.fixture(scope="module")
def two_instances(sandbox, redis_server):
    """Instances A and B (separate gunicorn masters, 2 workers each) sharing one Redis."""
    redis_server.flush()
    env = _real_mode_env(sandbox, REDIS_URL=redis_server.url)  # one key, one store for both
    a, url_a = _start(env)
    b, url_b = _start(env)
    yield url_a, url_b
    for proc in (a, b):
        proc.terminate()
    for proc in (a, b):
        proc.wait(timeout=30)


def test_several_workers_on_the_memory_store_refuse_to_start(sandbox):
    proc, _ = spawn_gunicorn(
        env=_real_mode_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1, output
    assert "2 workers would each keep their own used tokens, sessions" in output, output
    assert "PORTAL_STATE_PATH" in output and "PORTAL_REDIS_URL" in output


def test_portal_serve_in_real_mode_shares_used_tokens_between_its_workers(sandbox):
    env = _real_mode_env(sandbox)  # a Kombo key, no PORTAL_STATE_PATH, no PORTAL_REDIS_URL
    env["KOMBO_API_KEY"] = env.pop("PORTAL_KOMBO_API_KEY")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        tokens = [
            mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET) for _ in range(6)
        ]
        jobs = [t for t in tokens for _ in range(4)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda t: requests.post(
                        f"{url}/api/v1/embed/session", json={"token": t}, timeout=20
                    ),
                    jobs,
                )
            )
        for token in tokens:
            codes = sorted(a.status_code for t, a in zip(jobs, answers, strict=True) if t == token)
            assert codes == [200, 401, 401, 401], codes
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_token_used_on_one_instance_is_refused_on_the_other(two_instances, sandbox):
    url_a, url_b = two_instances
    token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET)
    first = requests.post(f"{url_a}/api/v1/embed/session", json={"token": token}, timeout=10)
    assert first.status_code == 200, first.text
    again = requests.post(f"{url_b}/api/v1/embed/session", json={"token": token}, timeout=10)
    assert again.status_code == 401 and again.json()["error"]["code"] == "token_replayed"


def test_each_token_gives_one_session_however_often_it_is_sent(two_instances, sandbox):
    urls = list(two_instances)
    tokens = [mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET) for _ in range(6)]

    def exchange(job):
        token, n = job
        url = urls[n % 2]
        return token, requests.post(
            f"{url}/api/v1/embed/session", json={"token": token}, timeout=20
        )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(exchange, [(t, n) for t in tokens for n in range(4)]))
    for token in tokens:
        codes = sorted(r.status_code for t, r in results if t == token)
        assert codes == [200, 401, 401, 401], codes
    refusals = [r.json()["error"]["code"] for _, r in results if r.status_code == 401]
    assert set(refusals) == {"token_replayed"}


def test_signing_out_on_one_instance_ends_the_session_on_the_other(two_instances):
    url_a, url_b = two_instances
    client = sign_in(url_a)
    on_b = Client(url_b)
    on_b.http.cookies.set("portal_session", client.http.cookies.get("portal_session"))
    assert on_b.get("/api/v1/me").json()["subject"] == STAFF_EMAIL  # one session, two instances
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    resp = client.http.post(
        f"{url_a}/signout", data={"csrf_token": token}, timeout=10, allow_redirects=False
    )
    assert resp.status_code == 302
    for _ in range(4):  # whichever worker of B answers
        me = on_b.get("/api/v1/me")
        assert me.status_code == 401 and me.json()["error"]["code"] == "sign_in_required"


def test_an_embed_sign_out_on_one_instance_holds_on_the_other(two_instances, sandbox):
    url_a, url_b = two_instances
    client = embed_client(url_a, "acme", sandbox.iid("full"), user="carol")
    assert client.post("/api/v1/embed/session/revoke").status_code == 200
    client.base = url_b
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_revoked"
    dave = embed_client(url_b, "acme", sandbox.iid("full"), user="dave")
    revoke = mint_revoke_token("acme", secret=ACME_SECRET, user="dave")
    assert requests.post(f"{url_a}/api/v1/embed/revoke", json={"token": revoke}, timeout=10).ok
    assert dave.get("/api/v1/me").json()["error"]["code"] == "session_revoked"


def test_a_download_link_ends_with_its_session_on_every_instance(two_instances, sandbox):
    url_a, url_b = two_instances
    iid = sandbox.iid("full")
    staff = sign_in(url_a)
    app = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][0]["id"]
    listing = f"/api/v1/integrations/{iid}/applications/{app}/attachments"
    link = staff.get(listing).json()["attachments"][0]["download_url"]
    embed = embed_client(url_a, "acme", iid, user="erin")
    embed_link = embed.get(listing).json()["attachments"][0]["download_url"]
    assert requests.get(url_b + link, timeout=10).status_code == 200
    assert requests.get(url_b + embed_link, timeout=10).status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', staff.get("/").text).group(1)
    assert (
        staff.http.post(
            f"{url_a}/signout", data={"csrf_token": token}, timeout=10, allow_redirects=False
        ).status_code
        == 302
    )
    assert embed.post("/api/v1/embed/session/revoke").status_code == 200
    for url in (link, embed_link, link, embed_link):  # whichever worker of B answers
        resp = requests.get(url_b + url, timeout=10)
        assert resp.status_code == 410 and resp.json()["error"]["code"] == "link_session_ended"


def test_failed_sign_ins_count_across_instances(two_instances):
    url_a, url_b = two_instances
    email = "cs@example.com"
    for url in (url_a, url_b, url_a, url_b, url_a):
        assert _sign_in(url, email, "wrong").status_code == 401
    for url in (url_b, url_a):  # the right password now waits, on either instance
        resp = _sign_in(url, email, STAFF_PASSWORD)
        assert resp.status_code == 429 and "Too many failed sign-ins" in resp.text
        assert int(resp.headers["Retry-After"]) >= 1


def _sign_in(url: str, email: str, password: str) -> requests.Response:
    client = Client(url)
    page = client.get("/signin").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.http.post(
        f"{url}/signin",
        data={"csrf_token": token, "email": email, "password": password},
        timeout=20,
        allow_redirects=False,
    )
