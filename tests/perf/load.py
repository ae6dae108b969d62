"""A bounded load run on loopback with faults injected at random, then the books are checked.

    python tests/perf/load.py [--seconds 60] [--users 24] [--no-kill]

Starts a Kombo sandbox (`portal sandbox`) and the portal under gunicorn with the shipped
config (2 workers, one SQLite store), runs simulated users (staff and embed sessions: browsing,
uploading, double-submitting, downloading) while a chaos thread injects 429s, 5xx, timeouts,
resets and garbage into the sandbox and, half-way, one worker is SIGKILLed with uploads in
flight. Then it compares what every user was told with the sandbox's record of uploads.

Users upload the way the page does: one Idempotency-Key per file, reused when they retry it
(after "not uploaded", "could not confirm", "busy" or a dropped connection); some uploads go
without a key, as a partner back end might send them. Files share a few names ("CV.pdf", ...)
and go to a few hot applications, so same-named files of different users meet; some files are
submitted twice 0-50 ms apart (a double click), with the key or without.

- undeserved errors: a 500, a non-JSON error, a broken connection to the portal (other than one
  in flight when the worker was killed, or a download aborted upstream), or an answer that is
  not one of the portal's documented error codes; undeserved_5xx counts the 5xx among them;
- lost: told "uploaded" but not in the ATS; phantom: told "not uploaded" but it is there (in the
  end, and phantom_answers: any "not uploaded" answer given when the ATS already had the file);
- duplicates: one file in the ATS more than once;
- mismatches: a download that completed with other bytes than the ATS holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
# This checkout's portal and the shared test helpers in tests/.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import samples  # noqa: E402
from conftest import sign_in, spawn_gunicorn  # noqa: E402
from support import free_port, gunicorn_workers  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from portal.tokens import mint_embed_token  # noqa: E402

KEY = "load-" + secrets.token_hex(8)
MIB = 1024 * 1024
SECRET = secrets.token_urlsafe(48)
STAFF_PASSWORD = secrets.token_urlsafe(16)
STAFF = [f"staff{i}@load.example" for i in range(4)]
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
    "download_failed",
}
# Answers after which the user (the page) tries the same file again with the same key.
RETRIED = DESERVED - {"download_failed"} | {"connection_error"}
FILE_NAMES = ["CV.pdf", "cv.pdf", "Cover letter.pdf", "Lebenslauf.pdf"]
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
    ("add_application_attachment", {"status": 500, "code": None, "apply": False}),
    ("add_application_attachment", {"delay": 4.0, "apply": False}),
    ("list_applications", {"delay": 1.0}),
]


@dataclass
class Books:
    """What happened, as the users saw it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: dict[str, list[float]] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)
    undeserved: list[str] = field(default_factory=list)
    undeserved_5xx: int = 0
    # sha256 -> the last answer of each submission of that file (a double submit has two)
    told: dict[str, list[str]] = field(default_factory=dict)
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (attachment id, sha256)
    # (sha256, code, when) of every "not uploaded" answer, to compare with when the ATS stored it
    refusals: list[tuple[str, str, float]] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)  # monotonic times a worker was killed
    dropped_by_kill: int = 0
    retries: int = 0
    double_submits: int = 0
    replayed: int = 0

    def note(self, kind: str, seconds: float, outcome: str) -> None:
        with self.lock:
            self.latency.setdefault(kind, []).append(seconds)
            self.outcomes[f"{kind}:{outcome}"] += 1


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
    sandbox_port = free_port()
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
        "PORTAL_STAFF_ACCOUNTS": json.dumps(
            {email: generate_password_hash(STAFF_PASSWORD) for email in STAFF}
        ),
        # A killed worker's uploads free their key and application within 3 s.
        "PORTAL_UPLOAD_LEASE_SECONDS": "3",
    }
    # LOAD_PORTAL_LOG=path keeps the portal's log (why each answer was given) for a look after.
    log_path = os.environ.get("LOAD_PORTAL_LOG")
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    portal, url = spawn_gunicorn(
        "--access-logfile",
        "/dev/null",
        env={**env, **config},
        stdout=log,
        stderr=log,
    )
    _wait(url + "/healthz", portal)
    return [portal, sandbox], url, root, integrations


def session_for(url: str, integration_id: str, user: str | None = None) -> requests.Session:
    """An embed session (Bearer token) of the load partner, for one partner user."""
    token = mint_embed_token("load", integration_id, secret=SECRET, ttl=600, user=user)
    body = requests.post(url + "/api/v1/embed/session", json={"token": token}, timeout=30).json()
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + body["session_token"]
    return s


def staff_session(url: str, email: str) -> requests.Session:
    """A staff session (cookie + CSRF header), signed in through the real form."""
    client = sign_in(url, email, STAFF_PASSWORD)
    client.http.headers["X-CSRFToken"] = client.csrf or ""
    return client.http


def twin(http: requests.Session) -> requests.Session:
    """A second connection of the same browser (same cookies and headers): a double click."""
    other = requests.Session()
    other.headers.update(http.headers)
    other.cookies.update(http.cookies)
    return other


def _judge(
    books: Books, kind: str, resp: requests.Response | None, started: float, *, dropped: str = ""
) -> dict | None:
    """Record one answer; return its JSON (or None). Anything undocumented is an undeserved error."""
    took = time.monotonic() - started
    if resp is None:
        books.note(kind, took, "connection_error")
        if dropped == "kill":
            books.dropped_by_kill += 1
        elif dropped != "aborted":
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
        books.undeserved_5xx += resp.status_code >= 500
    return body


def _in_flight_at_kill(books: Books, started: float) -> bool:
    """True when a worker was killed while this request was in flight (its connection died)."""
    return any(started <= k + 1.0 for k in books.kills if k <= time.monotonic())


def submit(
    books: Books, http: requests.Session, url: str, content: bytes, name: str, key: str | None
) -> str:
    """One file, sent the way the page sends it: retried with the same key until an answer
    the user would not retry; returns the last answer ("uploaded" or the error code)."""
    headers = {"Idempotency-Key": key} if key else {}
    told = "?"
    for attempt in range(4):
        if attempt:
            books.retries += 1
            time.sleep(random.uniform(0.2, 1.0))  # noqa: S311 - the user's pause
        started, resp = time.monotonic(), None
        try:
            resp = http.post(
                url,
                files={"file": (name, content)},
                data={"type": "OTHER"},
                headers=headers,
                timeout=120,
            )
        except requests.RequestException:
            dropped = "kill" if _in_flight_at_kill(books, started) else ""
            _judge(books, "upload", None, started, dropped=dropped)
            told = "connection_error"
            continue
        body = _judge(books, "upload", resp, started)
        if resp.status_code in (200, 201):
            with books.lock:
                books.replayed += resp.headers.get("Idempotent-Replayed") == "true"
            return "uploaded"
        told = (body or {}).get("error", {}).get("code", str(resp.status_code))
        # "Not uploaded" (not "could not confirm", not "still being sent"): checked against when
        # the ATS stored the file, after the run.
        if told not in ("upload_unconfirmed", "upload_in_progress"):
            with books.lock:
                books.refusals.append((hashlib.sha256(content).hexdigest(), told, time.time()))
        if told not in RETRIED:
            return told
    return told


def _tell(books: Books, sha: str, told: str) -> None:
    with books.lock:
        books.told.setdefault(sha, []).append(told)


def _submit_and_tell(
    books: Books,
    http: requests.Session,
    url: str,
    content: bytes,
    name: str,
    key: str | None,
    sha: str,
) -> None:
    _tell(books, sha, submit(books, http, url, content, name, key))


def user(
    url: str, iid: str, apps: list[dict], stop: threading.Event, books: Books, seed: int
) -> None:
    """One simulated recruiter: browses, uploads, double-submits, downloads, until told to stop."""
    rng = random.Random(seed)  # noqa: S311 - load shape, not security
    try:
        if seed % 3 == 1:
            http = staff_session(url, STAFF[seed % len(STAFF)])
        else:
            http = session_for(url, iid, user=f"user{seed}@load.example")
    except (requests.RequestException, ValueError, KeyError, AssertionError) as exc:
        books.undeserved.append(f"sign-in: the portal gave no session ({exc!r})")
        return
    base = f"{url}/api/v1/integrations/{iid}"
    hot = apps[:6]  # same-named files of different users meet here
    n = 0
    while not stop.is_set():
        app = rng.choice(hot if rng.random() < 0.5 else apps)
        action = rng.choices(["browse", "upload", "double", "download"], weights=[40, 35, 10, 15])[
            0
        ]
        started, resp = time.monotonic(), None
        try:
            if action == "browse":
                params = rng.choice([{}, {"email": app["email"]}, {"job_id": app["job_id"]}])
                resp = http.get(f"{base}/applications", params=params, timeout=30)
                _judge(books, "browse", resp, started)
            elif action in ("upload", "double"):
                n += 1
                content = samples.pdf(f"load {seed} {n} {rng.random()}")
                sha = hashlib.sha256(content).hexdigest()
                name = rng.choice(FILE_NAMES)
                key = secrets.token_hex(16) if rng.random() < 0.8 else None  # the page: a key
                target = f"{base}/applications/{app['id']}/attachments"
                if action == "upload":
                    _tell(books, sha, submit(books, http, target, content, name, key))
                    continue
                with books.lock:
                    books.double_submits += 1
                clicks = [
                    threading.Thread(
                        target=_submit_and_tell, args=(books, h, target, content, name, key, sha)
                    )
                    for h in (http, twin(http))
                ]
                clicks[0].start()
                time.sleep(rng.uniform(0, 0.05))
                clicks[1].start()
                for click in clicks:
                    click.join()
            else:
                listing = http.get(f"{base}/applications/{app['id']}/attachments", timeout=30)
                body = _judge(books, "list", listing, started)
                items = [a for a in (body or {}).get("attachments", []) if a.get("download_url")]
                if items:
                    item = rng.choice(items)
                    started = time.monotonic()
                    try:
                        resp = http.get(url + item["download_url"], timeout=30)
                    except (
                        requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError,
                    ):
                        _judge(books, "download", None, started, dropped="aborted")
                        continue  # the portal aborted a download cut short upstream: honest
                    _judge(books, "download", resp, started)
                    if resp.status_code == 200:
                        with books.lock:
                            books.downloads.append(
                                (item["id"], hashlib.sha256(resp.content).hexdigest())
                            )
        except requests.RequestException as exc:
            dropped = "kill" if _in_flight_at_kill(books, started) else ""
            _judge(books, action, None, started, dropped=dropped)
            if not dropped:
                books.undeserved[-1] += f" ({type(exc).__name__})"


def killer(
    master: int, root: str, iid: str, at: float, stop: threading.Event, books: Books
) -> None:
    """At `at` seconds, with an upload held in flight by the ATS, SIGKILL one gunicorn worker."""
    if stop.wait(at):
        return
    requests.post(
        f"{root}/_sandbox/faults",
        json={"endpoint": "add_application_attachment", "integration_id": iid, "delay": 3.0},
        timeout=30,
    ).raise_for_status()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not stop.is_set():
        pending = requests.get(f"{root}/_sandbox/faults", timeout=30).json()
        if not any(
            f.get("delay") == 3.0 and f["endpoint"] == "add_application_attachment" for f in pending
        ):
            break  # an upload is now held by the ATS
        time.sleep(0.05)
    workers = gunicorn_workers(master)
    if workers:
        with books.lock:
            books.kills.append(time.monotonic())
        os.kill(random.choice(workers), signal.SIGKILL)  # noqa: S311


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


def _verdict(answers: list[str]) -> str:
    """What the user was told about one file, all its submissions together."""
    if "uploaded" in answers:
        return "uploaded"
    if "upload_unconfirmed" in answers or "connection_error" in answers or "?" in answers:
        return "unknown"  # honest either way: "could not confirm", or no answer at all
    return "not_uploaded"


def audit(root: str, books: Books) -> dict[str, int]:
    """Compare what users were told with what the ATS (the sandbox) holds."""
    uploads = requests.get(root + "/_sandbox/uploads", timeout=30).json()
    stored = Counter(u["sha256"] for u in uploads)
    told = {sha: _verdict(answers) for sha, answers in books.told.items()}
    expected = {u["attachment_id"]: u["sha256"] for u in uploads}
    first_stored: dict[str, float] = {}
    for u in uploads:
        at = datetime.fromisoformat(u["received_at"]).timestamp()
        first_stored[u["sha256"]] = min(at, first_stored.get(u["sha256"], at))
    mismatches = 0
    for att_id, sha in books.downloads:
        if att_id not in expected:  # a seeded file: read the ATS's own copy
            resp = requests.get(f"{root}/resources/{att_id}", timeout=30)
            expected[att_id] = hashlib.sha256(resp.content).hexdigest()
        mismatches += expected[att_id] != sha
    return {
        "uploads_told_uploaded": sum(t == "uploaded" for t in told.values()),
        "uploads_told_not_uploaded": sum(t == "not_uploaded" for t in told.values()),
        "uploads_unconfirmed_or_unanswered": sum(t == "unknown" for t in told.values()),
        "lost": sum(t == "uploaded" and stored[sha] == 0 for sha, t in told.items()),
        "phantom": sum(t == "not_uploaded" and stored[sha] > 0 for sha, t in told.items()),
        # told "not uploaded" although the ATS already had it (a later retry may have hidden it)
        "phantom_answers": sum(
            first_stored.get(sha, float("inf")) <= at for sha, _, at in books.refusals
        ),
        "not_uploaded_answers": len(books.refusals),
        "duplicates": sum(c > 1 for c in stored.values()),
        "downloads_checked": len(books.downloads),
        "mismatches": mismatches,
    }


def run(
    seconds: float = 60, users: int = 24, applications: int = 500, kill: bool = True
) -> dict[str, Any]:
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
            if kill:
                killer_args = (procs[0].pid, root, iid, seconds / 2, stop, books)
                threads.append(threading.Thread(target=killer, args=killer_args))
            started = time.monotonic()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join(timeout=180)
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
        "workers_killed": len(books.kills),
        "connections_dropped_by_the_kill": books.dropped_by_kill,
        "double_submits": books.double_submits,
        "retries_with_the_same_key": books.retries,
        "answers_replayed": books.replayed,
        "latency_ms": {
            k: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95)} for k, v in books.latency.items()
        },
        "outcomes": dict(sorted(books.outcomes.items())),
        "undeserved_errors": len(books.undeserved),
        "undeserved_5xx": books.undeserved_5xx,
        "undeserved_examples": books.undeserved[:10],
        **books_vs_ats,
    }


def serialisation_cost(uploads: int = 6, ats_seconds: float = 0.5) -> dict[str, Any]:
    """What one-upload-at-a-time per application costs: `uploads` files sent at once to one
    application vs. to as many applications, each held `ats_seconds` by the ATS; and the median
    of 20 lone uploads (no contention), which pays the idempotency record and the leases."""
    with tempfile.TemporaryDirectory() as tmp:
        procs, url, root, integrations = start_stack(50, Path(tmp))
        try:
            iid = next(i["id"] for i in integrations if i["behaviour"] == "full")
            http = session_for(url, iid, user="bench@load.example")
            base = f"{url}/api/v1/integrations/{iid}"
            apps = http.get(f"{base}/applications", timeout=30).json()["applications"]

            def send(aid: str, tag: str) -> float:
                started = time.monotonic()
                resp = http.post(
                    f"{base}/applications/{aid}/attachments",
                    files={"file": ("cv.pdf", samples.pdf(f"{tag} {time.time_ns()}", pad=MIB))},
                    data={"type": "CV"},
                    timeout=120,
                )
                assert resp.status_code == 201, resp.text
                return time.monotonic() - started

            lone = [send(apps[k % len(apps)]["id"], f"lone {k}") for k in range(20)]
            out: dict[str, Any] = {
                "lone_upload_1mb_median_ms": round(statistics.median(lone) * 1000)
            }
            for label, targets in (
                ("one_application", [apps[0]["id"]] * uploads),
                ("separate_applications", [a["id"] for a in apps[1 : uploads + 1]]),
            ):
                requests.post(
                    f"{root}/_sandbox/faults",
                    json={
                        "endpoint": "add_application_attachment",
                        "count": uploads,
                        "delay": ats_seconds,
                    },
                    timeout=30,
                ).raise_for_status()
                started = time.monotonic()
                with ThreadPoolExecutor(uploads) as pool:
                    took = list(pool.map(send, targets, [label] * uploads))
                out[label] = {
                    "uploads": uploads,
                    "ats_seconds_each": ats_seconds,
                    "wall_s": round(time.monotonic() - started, 2),
                    "slowest_s": round(max(took), 2),
                    "median_s": round(statistics.median(took), 2),
                }
            return out
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--no-kill", action="store_true", help="do not SIGKILL a worker")
    parser.add_argument(
        "--serialisation-cost",
        action="store_true",
        help="instead of the load run, measure what one upload at a time per application costs",
    )
    args = parser.parse_args()
    if args.serialisation_cost:
        print(json.dumps(serialisation_cost(), indent=2))
        return
    print(json.dumps(run(args.seconds, args.users, kill=not args.no_kill), indent=2))


if __name__ == "__main__":
    main()
