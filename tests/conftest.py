"""Shared fixtures: a Kombo sandbox and the portal, both real HTTP servers on 127.0.0.1.

Nothing is patched: the portal's Kombo client talks to the sandbox over a socket,
and tests talk to the portal over a socket, as a browser or a partner backend would.
Faults come from the sandbox's fault injection (`sandbox.fault(...)`).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import settings
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from portal import access, create_app
from portal.sandbox import SandboxServer, Settings
from portal.tokens import mint_embed_token

# CI draws the same examples every run (a red CI is then a change, not luck); local runs keep
# exploring new ones. HYPOTHESIS_PROFILE=ci is set by .ci/run.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SANDBOX_KEY = "test-sandbox-key-" + secrets.token_hex(8)
STAFF_EMAIL, STAFF_PASSWORD = "cs@example.com", "correct horse battery staple"
PARTNER_ORIGIN = "http://localhost:8765"
ACME_SECRET = "acme-secret-" + "a" * 60  # 64+ bytes: even an HS512 forgery test signs cleanly
ACME_OLD_SECRET = "acme-old-secret-" + "b" * 40
GLOBEX_SECRET = "globex-secret-" + "c" * 40


FIGURES: dict[str, dict[str, float]] = {}


def record(section: str, **values: float) -> None:
    """Add to a figure printed at the end of the run (e.g. inputs tried, server errors)."""
    bucket = FIGURES.setdefault(section, {})
    for key, value in values.items():
        bucket[key] = bucket.get(key, 0) + value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("figures")
        for section, values in FIGURES.items():
            terminalreporter.write_line(
                f"{section}: " + ", ".join(f"{k} {v:g}" for k, v in values.items())
            )


class Sandbox:
    """The running sandbox plus its test-control API."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url
        self.root_url = server.root_url

    def iid(self, behaviour: str) -> str:
        return self.server.integration_id(behaviour)

    def fault(self, endpoint: str, count: int = 1, **spec: Any) -> None:
        resp = requests.post(
            f"{self.root_url}/_sandbox/faults",
            json={"endpoint": endpoint, "count": count, **spec},
            timeout=5,
        )
        resp.raise_for_status()

    def pending_faults(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.root_url}/_sandbox/faults", timeout=5).json()

    def wait_faults_taken(self, endpoint: str, limit: float = 30) -> None:
        """Block until every queued fault for `endpoint` has been hit (the calls are in flight).

        Tests synchronise on this rather than on a sleep: a slow CI machine only waits longer.
        """
        deadline = time.monotonic() + limit
        while any(f["endpoint"] == endpoint for f in self.pending_faults()):
            assert time.monotonic() < deadline, f"the calls to {endpoint} never reached the sandbox"
            time.sleep(0.05)

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change the sandbox's runtime settings (restored after every test)."""
        resp = requests.post(f"{self.root_url}/_sandbox/settings", json=changes, timeout=5)
        resp.raise_for_status()
        return resp.json()

    def restore_settings(self) -> None:
        requests.delete(f"{self.root_url}/_sandbox/settings", timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.root_url}/_sandbox/faults", timeout=5).raise_for_status()

    def uploads(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.root_url}/_sandbox/uploads", timeout=5).json()

    def requests_log(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.root_url}/_sandbox/requests", timeout=5).json()

    def clear_requests(self) -> None:
        requests.delete(f"{self.root_url}/_sandbox/requests", timeout=5).raise_for_status()


class Clock:
    """A clock the portal reads (config CLOCK) that a test moves on instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def spawn_gunicorn(*args: str, **popen: Any) -> tuple[subprocess.Popen, str]:
    """gunicorn with the shipped config, on a socket bound here and handed over (fd://):
    no other process can take the port between choosing it and gunicorn's start."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        fd = listener.fileno()
        command = ["-m", "gunicorn", "-c", "python:portal.gunicorn_conf", "--bind", f"fd://{fd}"]
        proc = subprocess.Popen([sys.executable, *command, *args], pass_fds=[fd], **popen)
        return proc, f"http://127.0.0.1:{listener.getsockname()[1]}"


class ServerThread:
    """A WSGI app served on a free loopback port in a background thread."""

    def __init__(self, app: Any) -> None:
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    # Files are served like signed storage URLs: a 302 from 127.0.0.1 to the alias localhost.
    server = SandboxServer(
        api_key=SANDBOX_KEY,
        applications=60,
        host="127.0.0.1",
        port=0,
        settings=Settings(file_host="localhost"),
    ).start()
    yield Sandbox(server)
    server.stop()


def portal_config(sandbox: Sandbox, **overrides: Any) -> dict[str, Any]:
    """Configuration of a portal in front of the sandbox, with two partners of different tenants."""
    behaviours = ["full", "no_list", "restricted", "candidate_level", "invalid", "no_upload"]
    config = {
        "TESTING": False,  # run the way production does (errors handled, not raised)
        "SECRET_KEY": "test-secret-" + secrets.token_hex(16),
        "KOMBO_API_KEY": SANDBOX_KEY,
        "KOMBO_BASE_URL": sandbox.base_url,
        "KOMBO_DOWNLOAD_HOSTS": ["127.0.0.1", "localhost"],
        "KOMBO_READ_TIMEOUT": 3.0,
        "KOMBO_WRITE_TIMEOUT": 3.0,
        "INTEGRATIONS": [sandbox.iid(b) for b in behaviours],
        "SANDBOX": True,
        "STAFF_ACCOUNTS": {STAFF_EMAIL: generate_password_hash(STAFF_PASSWORD)},
        "PARTNERS": {
            "acme": {
                "secrets": [ACME_OLD_SECRET, ACME_SECRET],
                "origins": [PARTNER_ORIGIN],
                "integrations": [
                    sandbox.iid(b) for b in ("full", "restricted", "candidate_level", "no_list")
                ],
            },
            "globex": {
                "secrets": [GLOBEX_SECRET],
                "origins": ["https://globex.example"],
                "integrations": [sandbox.iid(b) for b in ("no_upload", "invalid")],
            },
        },
        # The session-wide portal serves every test's exchanges; the throttle tests set their own.
        "EMBED_EXCHANGE_LIMIT": "5000 per minute",
        "INTEGRATION_CACHE_SECONDS": 0.5,
        "RECONCILE_WAITS": [0.1, 0.3, 0.6],
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def portal(sandbox: Sandbox) -> Iterator[ServerThread]:
    """The portal, served over HTTP on loopback, in front of the sandbox.

    Every test signs in here from 127.0.0.1, many of them as the same staff account, and some
    try wrong passwords on purpose: one test's failures must not lock the next one out. The
    throttle tests run portals of their own with the shipped limits (test_sessions' `fresh`)."""
    roomy = {"SIGNIN_FAILURE_LIMIT": "1000 per minute", "SIGNIN_ADDRESS_LIMIT": "1000 per minute"}
    server = ServerThread(create_app(portal_config(sandbox, **roomy))).start()
    yield server
    server.stop()


@pytest.fixture
def own_portal(sandbox: Sandbox) -> Iterator[Any]:
    """Start portals of their own (their caches, breakers and throttles start empty), each
    `own_portal(**config_overrides)`; all are stopped after the test."""
    servers: list[ServerThread] = []

    def start(**overrides: Any) -> ServerThread:
        server = ServerThread(create_app(portal_config(sandbox, **overrides))).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_faults()
        request.getfixturevalue("sandbox").restore_settings()


class Client:
    """A requests session against the portal, signed in as staff or holding an embed session."""

    def __init__(self, base: str, session: requests.Session | None = None) -> None:
        self.base = base
        self.http = session or requests.Session()
        self.csrf: str | None = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url(path), timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        headers = {**({"X-CSRFToken": self.csrf} if self.csrf else {}), **kw.pop("headers", {})}
        return self.http.post(self.url(path), timeout=60, headers=headers, **kw)

    def upload(
        self, iid: str, aid: str, content: bytes, name: str, type_: str = "CV", **kw: Any
    ) -> requests.Response:
        return self.post(
            f"/api/v1/integrations/{iid}/applications/{aid}/attachments",
            files={"file": (name, content, "application/octet-stream")},
            data={"type": type_},
            **kw,
        )


def raw_request(url: str, head: str, body: bytes, timeout: float = 15) -> tuple[int, str]:
    """Send bytes as they are (a lying Content-Length, broken multipart) and read one response.

    Reads up to the answer's Content-Length: a server that refuses early need not close.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        header, _, rest = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", header)
        while length and len(rest) < int(length.group(1)) and (chunk := sock.recv(65536)):
            rest += chunk
    raw = (header + b"\r\n\r\n" + rest).decode("latin-1")
    return int(raw.split(" ", 2)[1]), raw


def sign_in(base: str, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD) -> Client:
    """A staff client: signs in through the real form (CSRF token and all)."""
    client = Client(base)
    page = client.get("/signin").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token, "sign-in form has no CSRF token"
    resp = client.http.post(
        client.url("/signin"),
        data={"csrf_token": token.group(1), "email": email, "password": password},
        headers={"Referer": client.url("/signin")},
        timeout=30,
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text
    home = client.get("/").text
    client.csrf = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    return client


@pytest.fixture
def staff(portal: ServerThread) -> Client:
    return sign_in(portal.url)


def embed_client(
    base: str, partner: str, integration_id: str, *, secret: str | None = None, **claims: Any
) -> Client:
    """A partner-backend style client: mints an embed token, exchanges it, sends the bearer."""
    secret = secret or {"acme": ACME_SECRET, "globex": GLOBEX_SECRET}[partner]
    token = mint_embed_token(partner, integration_id, secret=secret, **claims)
    resp = requests.post(f"{base}/api/v1/embed/session", json={"token": token}, timeout=10)
    assert resp.status_code == 200, resp.text
    client = Client(base)
    client.http.headers["Authorization"] = "Bearer " + resp.json()["session_token"]
    return client


@pytest.fixture
def acme(portal: ServerThread, sandbox: Sandbox) -> Client:
    """An embed session of partner acme on the `full` integration."""
    return embed_client(portal.url, "acme", sandbox.iid("full"))


def link_holder(app: Any, client: Client) -> list[Any]:
    """What a link made for this client's session carries (to sign links by hand in tests)."""
    bearer = client.http.headers.get("Authorization")
    headers = (
        {"Authorization": bearer}
        if bearer
        else {"Cookie": "portal_session=" + client.http.cookies.get("portal_session")}
    )
    with app.test_request_context(headers=headers):
        return access.link_holder(access.current_principal())


def find_application(
    client: Client, iid: str, email: str = "ada.lovelace@example.com", job: str | None = None
) -> dict[str, Any]:
    """The first application of the candidate with that e-mail (optionally for that job)."""
    resp = client.get(f"/api/v1/integrations/{iid}/applications", params={"email": email})
    assert resp.status_code == 200, resp.text
    apps = [a for a in resp.json()["applications"] if job is None or a["job_name"] == job]
    assert apps, f"no application for {email} in {iid}"
    return apps[0]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    """A real redis-server (Debian's) on a free loopback port, for the whole test session."""
    from daemons import RedisServer

    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def clamd_server() -> Iterator[Any]:
    """A real clamd (Debian's) on a Unix socket and a loopback port, with test signatures."""
    from daemons import ClamdServer

    server = ClamdServer()
    record("clamd", start_seconds=round(server.start_seconds, 2))
    yield server
    server.stop()
