"""A bounded load run on loopback with faults injected at random, then the books are checked.

    python tests/load.py [--seconds 60] [--users 24]

Starts a Kombo sandbox (`portal sandbox`) and the portal under gunicorn with the shipped
config, runs simulated users (browsing, uploading, downloading) while a chaos thread injects
429s, 5xx, timeouts, resets and garbage into the sandbox, then compares what every user was
told with the sandbox's record of uploads:

- undeserved errors: a 500, a non-JSON error, a broken connection to the portal, or an answer
  that is not one of the portal's documented error codes;
- lost: told "uploaded" but not in the ATS; phantom: told "not uploaded" but it is there;
- duplicates: one file in the ATS more than once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import samples  # noqa: E402
from conftest import spawn_gunicorn  # noqa: E402

from portal.tokens import mint_embed_token  # noqa: E402

KEY = "load-" + secrets.token_hex(8)
SECRET = secrets.token_urlsafe(48)
# What a user may rightly be told while faults are being injected.
DESERVED = {
    "ats_busy",
    "ats_unavailable",
    "ats_timeout",
    "ats_paused",
    "kombo_unreachable",
    "kombo_bad_response",
    "upload_failed",
    "upload_unconfirmed",
    "ats_error",
    "upload_in_progress",
}
FAULTS = [
    ("add_application_attachment", {"status": 429, "code": "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"}),
    (
        "add_application_attachment",
        {"status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED", "retry_after": "1"},
    ),
    ("add_application_attachment", {"status": 500, "code": None, "apply": True}),
    (
        "add_application_attachment",
        {"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE", "apply": False},
    ),
    ("add_application_attachment", {"delay": 4.0, "apply": True}),
    ("add_application_attachment", {"reset": "after_body", "apply": True}),
    ("add_application_attachment", {"reset": "before_body"}),
    ("add_application_attachment", {"status": 502, "body": "html", "apply": False}),
    ("list_applications", {"status": 503, "code": "REMOTE.SERVICE_UNAVAILABLE"}),
    ("list_candidates", {"status": 429, "code": "PLATFORM.RATE_LIMIT_EXCEEDED"}),
    ("get_candidate_attachments", {"status": 500, "code": None}),
    ("get_candidate_attachments", {"delay": 4.0}),
    ("download", {"status": 502, "body": "html"}),
]


@dataclass
class Books:
    """What happened, as the users saw it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: dict[str, list[float]] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)
    undeserved: list[str] = field(default_factory=list)
    told: dict[str, str] = field(default_factory=dict)  # sha256 -> what the user was told

    def note(self, kind: str, seconds: float, outcome: str) -> None:
        with self.lock:
            self.latency.setdefault(kind, []).append(seconds)
            self.outcomes[f"{kind}:{outcome}"] += 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited") from None
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_stack(
    applications: int, tmp: Path
) -> tuple[list[subprocess.Popen], str, str, list[dict]]:
    """Sandbox and gunicorn portal as child processes; returns (procs, portal url, sandbox root, integrations)."""
    sandbox_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "KOMBO_"))}
    env["PYTHONPATH"] = str(ROOT)
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portal.cli",
            "sandbox",
            "--port",
            str(sandbox_port),
            "--api-key",
            KEY,
            "--applications",
            str(applications),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{sandbox_port}"
    _wait(root + "/_sandbox/integrations", sandbox)
    integrations = requests.get(root + "/_sandbox/integrations", timeout=5).json()
    full = next(i["id"] for i in integrations if i["behaviour"] == "full")
    config = {
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_KOMBO_API_KEY": KEY,
        "PORTAL_KOMBO_BASE_URL": root + "/v1",
        "PORTAL_KOMBO_DOWNLOAD_HOSTS": json.dumps(["127.0.0.1"]),
        "PORTAL_INTEGRATIONS": json.dumps([i["id"] for i in integrations]),
        "PORTAL_PARTNERS": json.dumps(
            {
                "load": {
                    "secrets": [SECRET],
                    "origins": ["http://localhost:1"],
                    "integrations": [full],
                }
            }
        ),
        "PORTAL_STATE_PATH": str(tmp / "state.sqlite3"),
        "PORTAL_KOMBO_WRITE_TIMEOUT": "3",
        "PORTAL_KOMBO_READ_TIMEOUT": "3",
    }
    portal, url = spawn_gunicorn(
        "--access-logfile",
        "/dev/null",
        env={**env, **config},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(url + "/healthz", portal)
    return [portal, sandbox], url, root, integrations


def session_for(url: str, integration_id: str) -> requests.Session:
    token = mint_embed_token("load", integration_id, secret=SECRET, ttl=600)
    body = requests.post(url + "/api/v1/embed/session", json={"token": token}, timeout=30).json()
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + body["session_token"]
    return s


def _judge(books: Books, kind: str, resp: requests.Response | None, started: float) -> dict | None:
    """Record one answer; return its JSON (or None). Anything undocumented is an undeserved error."""
    took = time.monotonic() - started
    if resp is None:
        books.note(kind, took, "connection_error")
        books.undeserved.append(f"{kind}: connection to the portal failed")
        return None
    try:
        body = (
            resp.json()
            if resp.headers.get("Content-Type", "").startswith("application/json")
            else None
        )
    except ValueError:
        body = None
    if resp.status_code < 400:
        books.note(kind, took, str(resp.status_code))
        return body
    code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
    books.note(kind, took, code or str(resp.status_code))
    if code not in DESERVED:
        books.undeserved.append(f"{kind}: HTTP {resp.status_code} {code or resp.text[:120]!r}")
    return body


def user(
    url: str, iid: str, apps: list[dict], stop: threading.Event, books: Books, seed: int
) -> None:
    """One simulated recruiter: browses, uploads, downloads, until told to stop."""
    rng = random.Random(seed)  # noqa: S311 - load shape, not security
    try:
        http = session_for(url, iid)
    except (requests.RequestException, ValueError, KeyError) as exc:
        books.undeserved.append(f"sign-in: the portal gave no embed session ({exc!r})")
        return
    base = f"{url}/api/v1/integrations/{iid}"
    n = 0
    while not stop.is_set():
        app = rng.choice(apps)
        action = rng.choices(["browse", "upload", "download"], weights=[45, 40, 15])[0]
        started, resp = time.monotonic(), None
        try:
            if action == "browse":
                params = rng.choice([{}, {"email": app["email"]}, {"job_id": app["job_id"]}])
                resp = http.get(f"{base}/applications", params=params, timeout=30)
                _judge(books, "browse", resp, started)
            elif action == "upload":
                n += 1
                content = samples.pdf(f"load {seed} {n} {rng.random()}")
                sha = hashlib.sha256(content).hexdigest()
                resp = http.post(
                    f"{base}/applications/{app['id']}/attachments",
                    files={"file": (f"load-{seed}-{n}.pdf", content)},
                    data={"type": "OTHER"},
                    timeout=60,
                )
                body = _judge(books, "upload", resp, started)
                told = (
                    "uploaded"
                    if resp.status_code == 201
                    else (body or {}).get("error", {}).get("code", "?")
                )
                with books.lock:
                    books.told[sha] = told
            else:
                listing = http.get(f"{base}/applications/{app['id']}/attachments", timeout=30)
                body = _judge(books, "list", listing, started)
                items = [a for a in (body or {}).get("attachments", []) if a.get("download_url")]
                if items:
                    started = time.monotonic()
                    resp = http.get(url + rng.choice(items)["download_url"], timeout=30)
                    resp.content  # noqa: B018 - read the whole stream
                    _judge(books, "download", resp, started)
        except requests.RequestException as exc:
            _judge(books, action, None, started)
            books.undeserved[-1] += f" ({type(exc).__name__})"


def chaos(root: str, iid: str, stop: threading.Event, seed: int, injected: Counter) -> None:
    """Every ~1.5 s, queue a random fault for the next call of some endpoint."""
    rng = random.Random(seed)  # noqa: S311
    while not stop.wait(rng.uniform(0.5, 2.5)):
        endpoint, fault = rng.choice(FAULTS)
        try:
            requests.post(
                f"{root}/_sandbox/faults",
                json={
                    "endpoint": endpoint,
                    "count": rng.randint(1, 3),
                    "integration_id": iid,
                    **fault,
                },
                timeout=30,
            ).raise_for_status()
        except requests.RequestException:
            continue  # a fault not injected is not the portal's failure; the next one will be
        injected[endpoint] += 1


def audit(root: str, books: Books) -> dict[str, int]:
    """Compare what users were told with what the ATS (the sandbox) holds."""
    stored = Counter(
        u["sha256"] for u in requests.get(root + "/_sandbox/uploads", timeout=30).json()
    )
    told = books.told
    return {
        "uploads_told_uploaded": sum(t == "uploaded" for t in told.values()),
        "uploads_told_not_uploaded": sum(
            t not in ("uploaded", "upload_unconfirmed") for t in told.values()
        ),
        "uploads_unconfirmed": sum(t == "upload_unconfirmed" for t in told.values()),
        "lost": sum(t == "uploaded" and stored[sha] == 0 for sha, t in told.items()),
        "phantom": sum(
            t not in ("uploaded", "upload_unconfirmed") and stored[sha] > 0
            for sha, t in told.items()
        ),
        "duplicates": sum(c > 1 for c in stored.values()),
    }


def run(seconds: float = 60, users: int = 24, applications: int = 500) -> dict[str, Any]:
    """Run the whole thing and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        procs, url, root, integrations = start_stack(applications, Path(tmp))
        try:
            iid = next(i["id"] for i in integrations if i["behaviour"] == "full")
            apps = (
                session_for(url, iid)
                .get(f"{url}/api/v1/integrations/{iid}/applications", timeout=30)
                .json()["applications"]
            )
            books, stop, injected = Books(), threading.Event(), Counter()
            threads = [
                threading.Thread(target=user, args=(url, iid, apps, stop, books, i))
                for i in range(users)
            ]
            threads.append(threading.Thread(target=chaos, args=(root, iid, stop, 99, injected)))
            started = time.monotonic()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join(timeout=90)
            elapsed = time.monotonic() - started
            requests.delete(f"{root}/_sandbox/faults", timeout=5)
            time.sleep(1)  # let slow sandbox threads finish storing
            return _figures(books, audit(root, books), injected, elapsed, users)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)


def _figures(
    books: Books, books_vs_ats: dict[str, int], injected: Counter, elapsed: float, users: int
) -> dict[str, Any]:
    def pct(values: list[float], p: float) -> float:
        return round(statistics.quantiles(values, n=100)[p - 1] * 1000) if len(values) >= 2 else 0

    return {
        "seconds": round(elapsed, 1),
        "users": users,
        "requests": sum(len(v) for v in books.latency.values()),
        "faults_injected": sum(injected.values()),
        "latency_ms": {
            k: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95)} for k, v in books.latency.items()
        },
        "outcomes": dict(sorted(books.outcomes.items())),
        "undeserved_errors": len(books.undeserved),
        "undeserved_examples": books.undeserved[:10],
        **books_vs_ats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=24)
    args = parser.parse_args()
    print(json.dumps(run(args.seconds, args.users), indent=2))


if __name__ == "__main__":
    main()
