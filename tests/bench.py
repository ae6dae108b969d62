"""Performance benchmark of the attachment portal against the Kombo sandbox.

    python tests/bench.py            # full run (about 3 minutes)
    python tests/bench.py --quick    # smoke run (under 2 minutes; fewer runs, 15 s load)

It starts its own Kombo sandbox (a separate process, so the sandbox's GIL is not ours) and
the portal under gunicorn with the shipped configuration (`-c python:portal.gunicorn_conf`,
PORTAL_* set as `portal serve` sets them), both on 127.0.0.1, then measures:

1. upload end to end through the portal vs. the official SDK in its own process,
2. download through the portal vs. the sandbox's data_url,
3. many concurrent uploads (errors, throughput, latency, exactly-once arrival),
4. finding an application among 10,000 (the portal's time beyond the sandbox's),
5. the upload page's weight.

It prints one Markdown table per section (for the README's Performance section) and writes
everything to bench-results/latest.json. Not collected by pytest (no test_ functions).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import dataclasses
import gzip
import hashlib
import json
import math
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
# Measure this checkout, not whatever `portal` may be installed; samples.py sits next to us.
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import requests  # noqa: E402
import samples  # noqa: E402

MIB = 1024 * 1024
API_KEY = "bench-sandbox-key-" + secrets.token_hex(8)
PARTNER, PARTNER_SECRET = "bench", "bench-partner-secret-" + secrets.token_hex(16)
STAFF_EMAIL, STAFF_PASSWORD = "bench@example.com", "bench-" + secrets.token_hex(8)
SEARCH_EMAIL = "ada.lovelace@example.com"  # a seeded demo candidate (see sandbox catalog)
RESULTS = ROOT / "bench-results" / "latest.json"
HTTP_TIMEOUT = 120  # seconds; generous, a stuck request must still end the run
ONLY: set[str] = set()  # --only: the sections to run (empty: all)


@dataclass(frozen=True)
class Plan:
    """How much to do: --quick trades statistical weight for time."""

    runs: int
    sizes_mib: tuple[int, ...]
    load_seconds: float
    load_clients: int
    load_file_mib: int
    search_requests: int
    applications: int
    quick: bool


FULL = Plan(5, (1, 10, 50), 60, 32, 2, 50, 10_000, False)
QUICK = Plan(3, (1, 10, 50), 15, 32, 2, 20, 10_000, True)


# -- small helpers ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; with 50 samples p95 is the 48th value, no interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays pasteable Markdown."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` if this script dies, even by SIGKILL (Linux prctl)."""

    def preexec() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return preexec


# -- memory of other processes ---------------------------------------------------------------


def proc_kib(pid: int, key: str) -> int:
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def reset_hwm(pid: int) -> bool:
    """Reset the peak-RSS counter (VmHWM) to the current RSS; False where not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak RSS of some processes while a block runs.

    VmHWM after a clear_refs reset catches every peak; the 10 ms sampler is the fallback
    where clear_refs is not permitted (it can miss a short spike).
    """

    def __init__(self, pids: list[int], interval: float = 0.01) -> None:
        self.pids, self.interval = pids, interval
        self.peak_kib: dict[int, int] = {}
        self.start_kib: dict[int, int] = {}
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRSS:
        resets = [reset_hwm(p) for p in self.pids]  # every one, no short-circuit
        self.hwm_reset = all(resets)
        self.start_kib = {p: proc_kib(p, "VmRSS") for p in self.pids}
        self.peak_kib = dict(self.start_kib)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            for p in self.pids:
                self.peak_kib[p] = max(self.peak_kib[p], proc_kib(p, "VmRSS"))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self.hwm_reset:
            for p in self.pids:
                self.peak_kib[p] = max(self.peak_kib[p], proc_kib(p, "VmHWM"))

    def above(self, idle_kib: dict[int, int] | None = None) -> float:
        """MiB of the worst process's peak above its idle RSS (default: RSS at the start)."""
        base = idle_kib or self.start_kib
        return max((self.peak_kib[p] - base[p]) / 1024 for p in self.pids)


# -- files -----------------------------------------------------------------------------------


def pdf_of_size(size: int, tag: str) -> bytes:
    """A valid PDF (padding stream, %%EOF) within 80 bytes of `size`; `tag` makes it unique."""
    overhead = len(samples.pdf(tag, pad=1))
    return samples.pdf(tag, pad=max(1, size - overhead))


class MultipartFile:
    """multipart/form-data with `type` and a file streamed from disk, with a Content-Length.

    requests would read the whole file into one body otherwise; this keeps the client's
    share of the timing small and equal to what a browser does (read and send).
    """

    CHUNK = 256 * 1024

    def __init__(self, path: Path, type_: str = "CV") -> None:
        self.path, self.size = path, path.stat().st_size
        boundary = "bench" + uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\n{type_}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as f:
            while chunk := f.read(self.CHUNK):
                yield chunk
        yield self.tail


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# -- the sandbox and the portal ----------------------------------------------------------------


def run_sandbox_child(api_key: str, applications: int) -> None:
    """Child mode: serve the sandbox until stdin closes (i.e. until the parent is gone)."""
    from portal.sandbox import SandboxServer

    # SIGTERM (also sent if the parent dies) must still run stop(): it deletes the stored
    # uploads, gigabytes after the load test.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = SandboxServer(api_key=api_key, applications=applications, port=0).start()
    try:
        srv.wait_ready()
        print(json.dumps({"port": srv.port, "integrations": {"full": srv.integration_id("full")}}))
        sys.stdout.flush()
        sys.stdin.read()
    finally:
        srv.stop()


@dataclass
class Stack:
    """The sandbox and gunicorn processes, and what the benchmarks need to reach them."""

    tmp: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sandbox_root: str = ""
    iid: str = ""
    portal: str = ""
    master_pid: int = 0
    workers: list[int] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)

    def start_sandbox(self, applications: int) -> None:
        cmd = [sys.executable, __file__, "--sandbox-child", str(applications), API_KEY]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=_die_with_parent()
        )
        self.children.append(proc)
        line = _readline(proc, timeout=120)
        info = json.loads(line)
        self.sandbox_root = f"http://127.0.0.1:{info['port']}"
        self.iid = info["integrations"]["full"]

    def portal_env(self) -> dict[str, str]:
        """What `portal serve` sets (cli._setup_sandbox_mode), with our own secrets."""
        from werkzeug.security import generate_password_hash

        partners = {
            PARTNER: {
                "secrets": [PARTNER_SECRET],
                "origins": ["http://localhost:8001"],
                "integrations": [self.iid],
            }
        }
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PORTAL_SANDBOX": "true",
            "PORTAL_KOMBO_API_KEY": API_KEY,
            "PORTAL_KOMBO_BASE_URL": self.sandbox_root + "/v1",
            "PORTAL_KOMBO_DOWNLOAD_HOSTS": json.dumps(["127.0.0.1"]),
            "PORTAL_INTEGRATIONS": json.dumps([self.iid]),
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
            # Two workers must share used-once token ids and upload locks.
            "PORTAL_STATE_PATH": str(self.tmp / "state.sqlite3"),
            "PORTAL_PARTNERS": json.dumps(partners),
            "PORTAL_STAFF_ACCOUNTS": json.dumps(
                {STAFF_EMAIL: generate_password_hash(STAFF_PASSWORD)}
            ),
        }

    def start_portal(self) -> None:
        port = free_port()
        self.portal = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "gunicorn", "-c", "python:portal.gunicorn_conf"]
        cmd += ["--bind", f"127.0.0.1:{port}"]
        logfile = (self.tmp / "gunicorn.log").open("wb")
        self.logs.append(logfile)
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.portal_env(),
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can end master and workers
            # SIGINT is gunicorn's quick shutdown; SIGTERM would wait up to 330 s.
            preexec_fn=_die_with_parent(signal.SIGINT),
        )
        self.children.append(proc)
        self.master_pid = proc.pid
        self._wait_healthy(proc)
        self.workers = self._wait_workers(int(os.environ.get("PORTAL_WORKERS", "2")))

    def _wait_healthy(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.gunicorn_log_tail())
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.portal + "/healthz", timeout=2).ok:
                    return
            time.sleep(0.2)
        raise RuntimeError("the portal did not answer /healthz within 60 s")

    def _wait_workers(self, expected: int) -> list[int]:
        """Worker pids are the master's children (gunicorn forks them after binding)."""
        deadline = time.monotonic() + 30
        found: list[int] = []
        while time.monotonic() < deadline:
            path = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children")
            found = [int(p) for p in path.read_text().split()]
            if len(found) >= expected:
                return found
            time.sleep(0.2)
        raise RuntimeError(f"expected {expected} gunicorn workers, found {found}")

    def gunicorn_log_tail(self, lines: int = 40) -> str:
        path = self.tmp / "gunicorn.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGINT is gunicorn's quick shutdown (SIGTERM would wait graceful_timeout, 330 s)."""
        for proc in reversed(self.children):
            if proc.poll() is not None:
                continue
            if proc.pid == self.master_pid:
                proc.send_signal(signal.SIGINT)
            elif proc.stdin:
                proc.stdin.close()  # the sandbox child stops when its stdin closes
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                if proc.pid == self.master_pid:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
                proc.wait(timeout=5)
        for logfile in self.logs:
            logfile.close()


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One line from a child's stdout, or an error after `timeout` (no endless wait)."""
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        raise RuntimeError(f"child {proc.args!r} did not report within {timeout} s")
    return box[0].decode()


# -- signing in ------------------------------------------------------------------------------


def embed_session(stack: Stack) -> requests.Session:
    """A partner-backend client: mint an embed token, exchange it, send the bearer."""
    from portal.tokens import mint_embed_token

    token = mint_embed_token(PARTNER, stack.iid, secret=PARTNER_SECRET, ttl=600)
    resp = requests.post(
        stack.portal + "/api/v1/embed/session", json={"token": token}, timeout=HTTP_TIMEOUT
    )
    resp.raise_for_status()
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + resp.json()["session_token"]
    return http


def staff_session(stack: Stack) -> requests.Session:
    """A staff browser session: the real sign-in form with its CSRF token."""
    http = requests.Session()
    page = http.get(stack.portal + "/signin", timeout=HTTP_TIMEOUT).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not match:
        raise RuntimeError("the sign-in form has no CSRF token")
    resp = http.post(
        stack.portal + "/signin",
        data={"csrf_token": match.group(1), "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    if resp.status_code != 302:
        raise RuntimeError(f"staff sign-in failed: HTTP {resp.status_code}")
    return http


def applications(stack: Stack, http: requests.Session, **params: str) -> list[dict[str, Any]]:
    """Applications of the `full` integration via the portal (default: the most recent page)."""
    url = f"{stack.portal}/api/v1/integrations/{stack.iid}/applications"
    resp = http.get(url, params=params, timeout=HTTP_TIMEOUT)
    resp.raise_for_status()
    return resp.json()["applications"]


# -- 1. upload -------------------------------------------------------------------------------


def portal_upload(stack: Stack, http: requests.Session, aid: str, path: Path) -> dict[str, Any]:
    """POST one file to the JSON API; raises unless the ATS confirmed it (201)."""
    body = MultipartFile(path)
    resp = http.post(
        f"{stack.portal}/api/v1/integrations/{stack.iid}/applications/{aid}/attachments",
        data=body,
        # The same file again on purpose: a new key each time, as the page does (without one,
        # the portal answers a repeat within 10 minutes "already uploaded").
        headers={"Content-Type": body.content_type, "Idempotency-Key": str(uuid.uuid4())},
        timeout=HTTP_TIMEOUT,
    )
    if resp.status_code != 201:
        raise RuntimeError(f"portal upload: HTTP {resp.status_code} {resp.text[:300]}")
    return resp.json()


def run_sdk_child(server_url: str, api_key: str, iid: str, aid: str, path: str) -> None:
    """Child mode: what a developer using Kombo's SDK does, timed, with its own peak RSS.

    Import, build the client and make one small call first (connection, lazy imports),
    then reset VmHWM, and time read + base64 + add_application_attachment.
    """
    from kombo import Kombo

    k = Kombo(api_key=api_key, integration_id=iid, server_url=server_url)
    warm = {"name": "warm.pdf", "type": "OTHER", "content_type": "application/pdf"}
    warm["data"] = base64.b64encode(samples.pdf("sdk warm-up")).decode()
    k.ats.add_application_attachment(application_id=aid, attachment=warm, timeout_ms=300_000)
    pid = os.getpid()
    hwm_reset = reset_hwm(pid)
    idle = proc_kib(pid, "VmRSS")
    started = time.perf_counter()
    data = base64.b64encode(Path(path).read_bytes()).decode()
    attachment = {"name": Path(path).name, "type": "CV", "content_type": "application/pdf"}
    k.ats.add_application_attachment(
        application_id=aid, attachment={**attachment, "data": data}, timeout_ms=300_000
    )
    seconds = time.perf_counter() - started
    del data
    peak = proc_kib(pid, "VmHWM") if hwm_reset else _ru_maxrss_kib()
    print(json.dumps({"seconds": seconds, "idle_kib": idle, "peak_kib": peak}), flush=True)


def _ru_maxrss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux; lifetime peak


def sdk_upload(stack: Stack, aid: str, path: Path) -> dict[str, float]:
    """One SDK upload in a fresh process (so its peak RSS is this upload's alone)."""
    cmd = [sys.executable, __file__, "--sdk-child"]
    cmd += [stack.sandbox_root + "/v1", API_KEY, stack.iid, aid, str(path)]
    proc = subprocess.run(
        cmd, capture_output=True, timeout=HTTP_TIMEOUT * 3, preexec_fn=_die_with_parent()
    )
    if proc.returncode != 0:
        raise RuntimeError("SDK child failed:\n" + proc.stderr.decode()[-2000:])
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    out["above_idle_mib"] = (out["peak_kib"] - out["idle_kib"]) / 1024
    return out


def timed_portal_upload(
    stack: Stack, http: requests.Session, aid: str, path: Path, idle: dict[int, int]
) -> dict[str, float]:
    with PeakRSS(stack.workers) as rss:
        started = time.perf_counter()
        outcome = portal_upload(stack, http, aid, path)
        seconds = time.perf_counter() - started
    if outcome["attachment"]["sha256"] != sha256_file(path):
        raise RuntimeError("the portal reported another sha256 than the file's")
    return {
        "seconds": seconds,
        "above_idle_mib": rss.above(idle),
        "rise_mib": rss.above(),
        "hwm": rss.hwm_reset,
    }


def bench_upload(stack: Stack, plan: Plan, ctx: dict[str, Any]) -> dict[str, Any]:
    """Portal vs SDK per size, interleaved pairs so machine drift hits both alike."""
    http, aid, idle = ctx["http"], ctx["aid"], ctx["idle"]
    rows = []
    for mib in plan.sizes_mib:
        path = ctx["tmp"] / f"cv-{mib}mb.pdf"
        path.write_bytes(pdf_of_size(mib * MIB, f"bench upload {mib} MB"))
        log(f"upload {mib} MB: warm-up, then {plan.runs} portal/SDK pairs")
        portal_upload(stack, http, aid, path)
        sdk_upload(stack, aid, path)
        portal, sdk = [], []
        for _ in range(plan.runs):
            portal.append(timed_portal_upload(stack, http, aid, path, idle))
            sdk.append(sdk_upload(stack, aid, path))
        rows.append(_upload_row(mib, path, portal, sdk))
        ctx["files"][mib] = path
    return {"rows": rows, "idle_rss_mib": {p: v / 1024 for p, v in idle.items()}}


def _upload_row(mib: int, path: Path, portal: list[dict], sdk: list[dict]) -> dict[str, Any]:
    p_s = median([r["seconds"] for r in portal])
    s_s = median([r["seconds"] for r in sdk])
    return {
        "size_mib": mib,
        "bytes": path.stat().st_size,
        "portal_s": p_s,
        "sdk_s": s_s,
        "ratio": p_s / s_s,
        "pair_ratios": [p["seconds"] / s["seconds"] for p, s in zip(portal, sdk, strict=True)],
        "portal_peak_above_idle_mib": max(r["above_idle_mib"] for r in portal),
        "portal_rise_mib": max(r["rise_mib"] for r in portal),
        "sdk_peak_above_idle_mib": max(r["above_idle_mib"] for r in sdk),
        "portal_runs": portal,
        "sdk_runs": sdk,
        "hwm_reset": all(r["hwm"] for r in portal),
    }


# -- 2. download -----------------------------------------------------------------------------


def find_attachment(
    stack: Stack, http: requests.Session, app: dict[str, Any], name: str
) -> dict[str, Any]:
    """The newest attachment with that name: its portal download_url (fresh token) and data_url."""
    aid = app["id"]
    url = f"{stack.portal}/api/v1/integrations/{stack.iid}/applications/{aid}/attachments"
    resp = http.get(url, timeout=HTTP_TIMEOUT)
    resp.raise_for_status()
    ours = [a for a in resp.json()["attachments"] if a["name"] == name and a["download_url"]]
    if not ours:
        raise RuntimeError(f"no attachment {name!r} on application {aid}")
    item = ours[-1]
    direct = requests.get(
        f"{stack.sandbox_root}/v1/ats/candidates/{app['candidate_id']}/attachments",
        headers={"Authorization": f"Bearer {API_KEY}", "X-Integration-Id": stack.iid},
        timeout=HTTP_TIMEOUT,
    )
    direct.raise_for_status()
    data_url = next(
        a["data_url"] for a in direct.json()["data"]["results"] if a["id"] == item["id"]
    )
    return {"download_url": stack.portal + item["download_url"], "data_url": data_url}


def fetch(http: requests.Session, url: str) -> tuple[float, int, str]:
    """Seconds, bytes and sha256 of a streamed GET, read in 1 MiB pieces as a client would."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    with http.get(url, stream=True, timeout=HTTP_TIMEOUT) as resp:
        resp.raise_for_status()
        size = 0
        for chunk in resp.iter_content(MIB):
            size += len(chunk)
            digest.update(chunk)
    return time.perf_counter() - started, size, digest.hexdigest()


def bench_download(stack: Stack, plan: Plan, ctx: dict[str, Any]) -> dict[str, Any]:
    """The 50 MB file uploaded above, through the portal and straight from its data_url."""
    mib = max(plan.sizes_mib)
    path, http, idle = ctx["files"][mib], ctx["http"], ctx["idle"]
    expected = sha256_file(path)
    direct_http = requests.Session()
    portal_s, direct_s, peaks, rises = [], [], [], []
    runs = 2 * plan.runs + 1  # a download is short (~0.1 s), so more runs cost little
    log(f"download {mib} MB: warm-up, then {runs} portal/direct pairs")
    for run in range(runs + 1):  # run 0 is the warm-up
        urls = find_attachment(stack, http, ctx["app"], path.name)
        with PeakRSS(stack.workers) as rss:
            p = fetch(http, urls["download_url"])
        d = fetch(direct_http, urls["data_url"])
        if p[2] != expected or d[2] != expected:
            raise RuntimeError("a download did not return the uploaded bytes")
        if run:
            portal_s.append(p[0])
            direct_s.append(d[0])
            peaks.append(rss.above(idle))
            rises.append(rss.above())
    size = path.stat().st_size
    portal_mbs, direct_mbs = size / MIB / median(portal_s), size / MIB / median(direct_s)
    return {
        "size_mib": mib,
        "runs": runs,
        "portal_s": median(portal_s),
        "direct_s": median(direct_s),
        "portal_mib_s": portal_mbs,
        "direct_mib_s": direct_mbs,
        "ratio": portal_mbs / direct_mbs,
        "portal_peak_above_idle_mib": max(peaks),
        "portal_rise_mib": max(rises),
        "portal_runs_s": portal_s,
        "direct_runs_s": direct_s,
    }


# -- 3. many at once -------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What one load client saw."""

    latencies: list[float] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # sha256 of every 201
    attempted: list[str] = field(default_factory=list)  # sha256 of every file sent
    errors: Counter = field(default_factory=Counter)


def load_client(
    stack: Stack, token: str, aid: str, n: int, size: int, deadline: float
) -> LoadResult:
    """Upload unique files back to back until the deadline (one keep-alive session)."""
    out = LoadResult()
    http = requests.Session()
    http.headers["Authorization"] = token
    url = f"{stack.portal}/api/v1/integrations/{stack.iid}/applications/{aid}/attachments"
    seq = 0
    while time.monotonic() < deadline:
        seq += 1
        blob = pdf_of_size(size, f"bench load {n}-{seq}-{uuid.uuid4().hex}")
        digest = hashlib.sha256(blob).hexdigest()
        out.attempted.append(digest)
        started = time.perf_counter()
        try:
            resp = http.post(
                url,
                files={"file": (f"load-{n}-{seq}.pdf", blob, "application/pdf")},
                data={"type": "CV"},
                timeout=HTTP_TIMEOUT,
            )
        except requests.RequestException as exc:
            out.errors[type(exc).__name__] += 1
            continue
        if resp.status_code == 201 and resp.json()["attachment"]["sha256"] == digest:
            out.latencies.append(time.perf_counter() - started)
            out.accepted.append(digest)
        else:
            out.errors[f"{resp.status_code} {_error_code(resp)}"] += 1
    return out


def _error_code(resp: requests.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return resp.json()["error"]["code"]
    return "?"


def bench_load(stack: Stack, plan: Plan, ctx: dict[str, Any]) -> dict[str, Any]:
    """32 clients spread over ~20 applications, then check exactly-once arrival by sha256."""
    apps = [a["id"] for a in ctx["apps"]]
    token = ctx["http"].headers["Authorization"]
    size = plan.load_file_mib * MIB
    before = len(sandbox_uploads(stack))
    log(f"load: {plan.load_clients} clients x {plan.load_seconds:.0f} s of {plan.load_file_mib} MB")
    cpu_before = cpu_by_role(stack)
    started = time.monotonic()
    deadline = started + plan.load_seconds
    with PeakRSS(stack.workers) as rss, ThreadPoolExecutor(plan.load_clients) as pool:
        futures = [
            pool.submit(load_client, stack, token, apps[n % len(apps)], n, size, deadline)
            for n in range(plan.load_clients)
        ]
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    cpu = {k: v - cpu_before[k] for k, v in cpu_by_role(stack).items()}
    out = _load_summary(stack, results, elapsed, size, before)
    out.update(portal_peak_above_idle_mib=rss.above(ctx["idle"]), cpu_seconds=cpu)
    return out


def cpu_by_role(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of the portal's workers, the sandbox, and this process (the clients).

    On a 2-core machine all three share the cores; this says where the time went.
    """
    own = os.times()
    return {
        "portal": sum(cpu_seconds(p) for p in stack.workers),
        "sandbox": cpu_seconds(stack.children[0].pid),
        "clients": own.user + own.system,
    }


def sandbox_uploads(stack: Stack) -> list[dict[str, Any]]:
    resp = requests.get(stack.sandbox_root + "/_sandbox/uploads", timeout=HTTP_TIMEOUT)
    resp.raise_for_status()
    return resp.json()


def _load_summary(
    stack: Stack, results: list[LoadResult], elapsed: float, size: int, before: int
) -> dict[str, Any]:
    latencies = [x for r in results for x in r.latencies]
    accepted = [x for r in results for x in r.accepted]
    attempted = {x for r in results for x in r.attempted}
    errors = sum((r.errors for r in results), Counter())
    arrived = Counter(u["sha256"] for u in sandbox_uploads(stack)[before:])
    return {
        "clients": len(results),
        "seconds": elapsed,
        "completed": len(accepted),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "mib_s": len(accepted) * size / MIB / elapsed,
        "uploads_s": len(accepted) / elapsed,
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "max_s": max(latencies, default=float("nan")),
        "accepted_missing": sum(1 for d in accepted if arrived[d] == 0),
        "accepted_duplicated": sum(1 for d in accepted if arrived[d] > 1),
        # Refused or failed for the client, yet stored: the worst kind of error.
        "unacknowledged_arrived": sum(1 for d in attempted - set(accepted) if arrived[d]),
        "foreign_arrivals": sum(n for d, n in arrived.items() if d not in attempted),
    }


# -- 4. finding the application --------------------------------------------------------------


def _search_cases(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Each portal search with the Kombo call it makes (portal/applications.py)."""
    job_id = ctx["app"]["job_id"]
    return [
        {
            "name": "e-mail search",
            "portal": {"email": SEARCH_EMAIL},
            "kombo": ("/v1/ats/candidates", {"email": SEARCH_EMAIL, "page_size": "50"}),
        },
        {
            "name": "a job's applications",
            "portal": {"job_id": job_id},
            "kombo": ("/v1/ats/applications", {"job_ids": job_id, "page_size": "25"}),
        },
        {
            "name": "recent (one page)",
            "portal": {},
            "kombo": ("/v1/ats/applications", {"page_size": "25"}),
        },
    ]


def _time_get(http: requests.Session, url: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    resp = http.get(url, params=params, timeout=HTTP_TIMEOUT)
    elapsed = time.perf_counter() - started
    resp.raise_for_status()
    return elapsed


def bench_search(stack: Stack, plan: Plan, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Portal and direct requests alternate one by one; the portal's own time is the
    difference within each pair, so drift on a shared machine cancels out."""
    http = ctx["http"]
    direct = requests.Session()
    direct.headers.update({"Authorization": f"Bearer {API_KEY}", "X-Integration-Id": stack.iid})
    portal_url = f"{stack.portal}/api/v1/integrations/{stack.iid}/applications"
    rows = []
    for case in _search_cases(ctx):
        path, params = case["kombo"]
        log(f"search: {case['name']} ({plan.search_requests} pairs)")
        portal, kombo = [], []
        for i in range(plan.search_requests + 3):  # the first 3 pairs are the warm-up
            p = _time_get(http, portal_url, case["portal"])
            k = _time_get(direct, stack.sandbox_root + path, params)
            if i >= 3:
                portal.append(p)
                kombo.append(k)
        rows.append(_search_row(case["name"], portal, kombo))
    return rows


def _search_row(name: str, portal: list[float], kombo: list[float]) -> dict[str, Any]:
    ms = [1000 * (p - k) for p, k in zip(portal, kombo, strict=True)]
    return {
        "case": name,
        "requests": len(portal),
        "portal_p50_ms": percentile(portal, 50) * 1000,
        "portal_p95_ms": percentile(portal, 95) * 1000,
        "sandbox_p50_ms": percentile(kombo, 50) * 1000,
        "sandbox_p95_ms": percentile(kombo, 95) * 1000,
        "overhead_p50_ms": percentile(ms, 50),
        "overhead_p95_ms": percentile(ms, 95),
    }


# -- 5. page weight --------------------------------------------------------------------------

_REF = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""", re.I)


def _wire_get(http: requests.Session, url: str) -> dict[str, Any]:
    """The body exactly as it came over the wire (compressed if the server compressed it)."""
    with http.get(
        url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=HTTP_TIMEOUT
    ) as resp:
        resp.raise_for_status()
        wire = resp.raw.read(decode_content=False)
        encoding = resp.headers.get("Content-Encoding", "identity")
    body = gzip.decompress(wire) if encoding == "gzip" else wire
    return {
        "url": urlsplit(url).path,
        "encoding": encoding,
        "wire_bytes": len(wire),
        "raw_bytes": len(body),
        "gzip9_bytes": len(gzip.compress(body, 9)),
        "body": body.decode("utf-8", errors="replace"),
    }


def _third_party(text: str, own_host: str) -> list[str]:
    """Absolute or protocol-relative references to any host but ours."""
    refs = [a or b for a, b in _REF.findall(text)]
    hosts = [urlsplit(r).hostname for r in refs if r.startswith(("http:", "https:", "//"))]
    return sorted({h for h in hosts if h and h != own_host})


def bench_page(stack: Stack, plan: Plan, ctx: dict[str, Any]) -> dict[str, Any]:
    """The staff application page and the CSS/JS it references, as a first visit loads them."""
    http = staff_session(stack)
    page = _wire_get(http, f"{stack.portal}/i/{stack.iid}/a/{ctx['page_aid']}")
    page["url"] = "/i/<integration>/a/<application> (HTML)"
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/static/[^"]+)"', page["body"])
    parts = [page] + [_wire_get(http, stack.portal + a) for a in dict.fromkeys(assets)]
    foreign = sorted({h for p in parts for h in _third_party(p["body"], "127.0.0.1")})
    if foreign:
        raise RuntimeError(f"the upload page references third-party hosts: {foreign}")
    for p in parts:
        del p["body"]
    return {
        "parts": parts,
        "compressed_by_server": any(p["encoding"] != "identity" for p in parts),
        "wire_total": sum(p["wire_bytes"] for p in parts),
        "raw_total": sum(p["raw_bytes"] for p in parts),
        "gzip9_total": sum(p["gzip9_bytes"] for p in parts),
        "third_party_hosts": foreign,
    }


# -- 6. the fleet: nginx in front of three instances on one Redis ----------------------------


FLEET_INSTANCES = 3


def _start_instance(
    stack: Stack, env: dict[str, str], n: int
) -> tuple[subprocess.Popen[bytes], str]:
    """One more gunicorn master (its own workers) with the shipped config."""
    port = free_port()
    logfile = (stack.tmp / f"fleet-{n}.log").open("wb")
    stack.logs.append(logfile)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:portal.gunicorn_conf"]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent(signal.SIGINT),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/healthz", timeout=2).ok:
                return proc, url
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"fleet instance {n} did not start")
        time.sleep(0.2)


def _stop_instance(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _sandbox_peak(stack: Stack, reset: bool = False) -> int:
    resp = requests.get(
        stack.sandbox_root + "/_sandbox/concurrency",
        params={"reset": "1"} if reset else {},
        timeout=HTTP_TIMEOUT,
    )
    resp.raise_for_status()
    return int(resp.json().get(stack.iid, {}).get("peak", 0))


def _ttfb(http: requests.Session, url: str) -> float:
    """Seconds until the response's headers arrive (what a download costs before its bytes)."""
    started = time.perf_counter()
    with http.get(url, stream=True, timeout=HTTP_TIMEOUT) as resp:
        resp.raise_for_status()
        return time.perf_counter() - started


def _fleet_load(
    front: Stack,
    plan: Plan,
    ctx: dict[str, Any],
    seconds: float,
    clients: int | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """The load section's clients, through `front` (nginx), with the sandbox's peak in flight."""
    token = embed_session(front).headers["Authorization"]
    apps = [a["id"] for a in ctx["apps"]]
    size = size or plan.load_file_mib * MIB
    clients = clients or plan.load_clients
    before = len(sandbox_uploads(front))
    _sandbox_peak(front, reset=True)
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        futures = [
            pool.submit(load_client, front, token, apps[n % len(apps)], n, size, started + seconds)
            for n in range(clients)
        ]
        results = [f.result() for f in futures]
    out = _load_summary(front, results, time.monotonic() - started, size, before)
    out["kombo_peak"] = _sandbox_peak(front)
    return out


def bench_fleet(stack: Stack, plan: Plan, ctx: dict[str, Any]) -> dict[str, Any]:
    """Downloads behind nginx (X-Accel-Redirect) vs the data_url; uploads through three
    instances vs one (both behind nginx); the sandbox's peak Kombo concurrency vs the budget."""
    from daemons import NginxServer, RedisServer

    redis = RedisServer()
    env = {**stack.portal_env(), "PORTAL_REDIS_URL": redis.url, "PORTAL_ACCEL_REDIRECT": "true"}
    budget = int(env.get("PORTAL_KOMBO_MAX_INFLIGHT", "24"))
    instances: list[subprocess.Popen[bytes]] = []
    fronts: list[Any] = []
    try:
        urls = []
        for n in range(FLEET_INSTANCES):
            proc, url = _start_instance(stack, env, n)
            instances.append(proc)
            urls.append(url)
        upstreams = [urlsplit(u).netloc for u in urls]
        all3, one = NginxServer(upstreams), NginxServer(upstreams[:1])
        fronts += [all3, one]
        fleet = dataclasses.replace(stack, portal=all3.url)
        single = dataclasses.replace(stack, portal=one.url)
        http = embed_session(fleet)
        mib = max(plan.sizes_mib)
        path = ctx["files"][mib]
        expected = sha256_file(path)
        runs = 2 * plan.runs + 1
        log(f"fleet: download {mib} MB behind nginx, {runs} nginx/direct pairs")
        nginx_s, direct_s = [], []
        direct_http = requests.Session()
        for run in range(runs + 1):
            urls_ = find_attachment(fleet, http, ctx["app"], path.name)
            p = fetch(http, urls_["download_url"])
            d = fetch(direct_http, urls_["data_url"])
            if p[2] != expected or d[2] != expected:
                raise RuntimeError("a download behind nginx did not return the uploaded bytes")
            if run:
                nginx_s.append(p[0])
                direct_s.append(d[0])
        ttfb: dict[str, list[float]] = {"nginx": [], "portal": [], "direct": []}
        for _ in range(runs):
            ttfb["nginx"].append(
                _ttfb(http, find_attachment(fleet, http, ctx["app"], path.name)["download_url"])
            )
            urls_ = find_attachment(stack, ctx["http"], ctx["app"], path.name)
            ttfb["portal"].append(_ttfb(ctx["http"], urls_["download_url"]))
            ttfb["direct"].append(_ttfb(direct_http, urls_["data_url"]))
        size = path.stat().st_size / MIB
        seconds = max(10.0, plan.load_seconds / 2)
        log(f"fleet: {plan.load_clients} clients x {seconds:.0f} s through 3 instances, then 1")
        three = _fleet_load(fleet, plan, ctx, seconds)
        lone = _fleet_load(single, plan, ctx, seconds)
        # Saturation: every upload takes the ATS 1 s, so calls pile up: Kombo must still see at
        # most the budget in flight, and nobody a 429.
        log(f"fleet: saturation, 2 x {budget} clients, the ATS answering each upload after 1 s")
        requests.post(
            stack.sandbox_root + "/_sandbox/faults",
            json={"endpoint": "add_application_attachment", "count": 100_000, "delay": 1.0},
            timeout=HTTP_TIMEOUT,
        ).raise_for_status()
        try:
            saturated = _fleet_load(fleet, plan, ctx, seconds, clients=2 * budget, size=64 * 1024)
        finally:
            requests.delete(stack.sandbox_root + "/_sandbox/faults", timeout=HTTP_TIMEOUT)
        return {
            "instances": FLEET_INSTANCES,
            "budget": budget,
            "download_size_mib": mib,
            "download_runs": runs,
            "nginx_mib_s": size / median(nginx_s),
            "direct_mib_s": size / median(direct_s),
            "nginx_ratio": median(direct_s) / median(nginx_s),
            "ttfb_ms": {k: 1000 * median(v) for k, v in ttfb.items()},
            "three": three,
            "one": lone,
            "saturated": saturated,
        }
    finally:
        for front in fronts:
            front.stop()
        for proc in instances:
            _stop_instance(proc)
        redis.stop()


# -- warm-up and machine -----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, to see whether a worker served anything."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm_portal(stack: Stack, ctx: dict[str, Any]) -> dict[int, int]:
    """Exercise every path in both workers (caches, sessions, libmagic); return idle RSS.

    Idle is measured after small requests only, so the big uploads' heap growth shows up
    as "above idle" instead of being hidden in the baseline.
    """
    for _ in range(10):  # bounded: parallel requests until both workers have served some
        before = {p: cpu_seconds(p) for p in stack.workers}
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: _warm_once(stack, ctx), range(16)))
        if all(cpu_seconds(p) > before[p] for p in stack.workers):
            break
    time.sleep(1)
    return {p: proc_kib(p, "VmRSS") for p in stack.workers}


def _warm_once(stack: Stack, ctx: dict[str, Any]) -> None:
    # Unique content: the portal refuses the same file twice at once for one application.
    small = ctx["tmp"] / f"warm-{uuid.uuid4().hex[:12]}.pdf"
    small.write_bytes(samples.pdf(small.stem))
    http = requests.Session()  # a new connection each time, so either worker may take it
    http.headers["Authorization"] = ctx["http"].headers["Authorization"]
    portal_upload(stack, http, ctx["aid"], small)
    found = find_attachment(stack, http, ctx["app"], small.name)
    fetch(http, found["download_url"])
    http.get(f"{stack.portal}/api/v1/integrations/{stack.iid}/applications", timeout=30)


def machine() -> dict[str, Any]:
    import magic

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    v = magic.version()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "libmagic": f"{v // 100}.{v % 100:02d}",
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30),
        "loadavg_start": loadavg(),
    }


# -- output ----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def verdict(ok: bool) -> str:
    return "ok" if ok else "**MISSED**"


def render(report: dict[str, Any]) -> str:
    m, plan = report["machine"], report["plan"]
    out = [
        "## Performance",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"libmagic {m['libmagic']}, Linux {m['kernel']}. Load average (1/5/15 min) at start "
        f"{m['loadavg_start']}, at end {report['loadavg_end']}. Portal: gunicorn gthread with "
        f"the shipped config ({report['workers']} workers). Medians of {plan['runs']} runs "
        f"after a warm-up{' (--quick)' if plan['quick'] else ''}. MB = 2^20 bytes.",
    ]
    for renderer in (
        _render_upload,
        _render_download,
        _render_load,
        _render_search,
        _render_page,
        _render_fleet,
    ):
        with contextlib.suppress(KeyError):  # a section left out with --only
            out += ["", *renderer(report)]
    after = ", ".join(f"{k} {v}" for k, v in report["loadavg"].items())
    out += ["", f"Load average after each section: {after}."]
    return "\n".join(out)


def _render_fleet(report: dict[str, Any]) -> list[str]:
    f = report.get("fleet")
    if not f:
        return []
    direct = report.get("download", {})
    rows = [
        [
            f"{f['download_size_mib']} MB behind nginx (X-Accel-Redirect)",
            f"{f['nginx_mib_s']:.0f}",
            f"{f['direct_mib_s']:.0f}",
            f"{f['nginx_ratio']:.2f} (target ≥ 0.9: {verdict(f['nginx_ratio'] >= 0.9)})",
        ]
    ]
    if direct:
        rows.append(
            [
                f"{direct['size_mib']} MB streamed by the portal (no nginx)",
                f"{direct['portal_mib_s']:.0f}",
                f"{direct['direct_mib_s']:.0f}",
                f"{direct['ratio']:.2f} (target ≥ 0.8: {verdict(direct['ratio'] >= 0.8)})",
            ]
        )
    load = [
        [
            label,
            str(r["clients"]),
            f"{r['uploads_s']:.1f}",
            f"{r['p95_s']:.2f}",
            str(r["errors"]),
            f"{r['kombo_peak']} of {f['budget']}",
            str(r["accepted_duplicated"] + r["accepted_missing"]),
        ]
        for label, r in (
            ("3 instances", f["three"]),
            ("1 instance", f["one"]),
            ("3 instances, ATS 1 s per upload (64 KB)", f["saturated"]),
        )
    ]
    return [
        f"### Fleet: nginx, {f['instances']} instances, one Redis "
        f"(download medians of {f['download_runs']} runs)",
        "",
        table(["download", "MB/s", "data_url MB/s", "ratio"], rows),
        "",
        "Time to the first byte (median, ms): "
        + ", ".join(f"{k} {v:.1f}" for k, v in f["ttfb_ms"].items())
        + " (behind nginx and streamed, the portal first lists the candidate's attachments "
        "at Kombo and opens the file; nginx then fetches it again).",
        "",
        table(
            [
                "uploads behind nginx",
                "clients",
                "uploads/s",
                "p95 s",
                "errors",
                "Kombo peak in flight (budget)",
                "lost + duplicated",
            ],
            load,
        ),
    ]


def _render_upload(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{r['size_mib']} MB",
            f"{r['portal_s']:.3f}",
            f"{r['sdk_s']:.3f}",
            f"{r['ratio']:.2f} ({verdict(r['ratio'] <= 1.2)})",
            f"{r['portal_peak_above_idle_mib']:.1f} ({r['portal_rise_mib']:.1f})",
            f"{r['sdk_peak_above_idle_mib']:.1f}",
        ]
        for r in report["upload"]["rows"]
    ]
    big = report["upload"]["rows"][-1]
    return [
        "### Upload end to end (portal vs the official SDK)",
        "",
        table(
            [
                "file (PDF)",
                "portal s",
                "SDK s",
                "portal / SDK (target ≤ 1.20)",
                "portal worker peak above idle (rise in the run), MB",
                "SDK process peak above its baseline, MB",
            ],
            rows,
        ),
        "",
        f"Memory target (≤ 32 MB above idle at {big['size_mib']} MB): "
        f"{verdict(big['portal_peak_above_idle_mib'] <= 32)}. Worst run; peaks are "
        f"{'VmHWM after clear_refs' if big['hwm_reset'] else 'VmRSS sampled every 10 ms'}. "
        "Idle is the worker's RSS after a warm-up with small files, so memory a worker keeps "
        "after an upload counts; the rise is the peak above the RSS just before that run.",
    ]


def _render_download(report: dict[str, Any]) -> list[str]:
    d = report["download"]
    return [
        f"### Download (medians of {d['runs']} runs, each pair back to back)",
        "",
        table(
            [
                "file",
                "portal MB/s",
                "data_url MB/s",
                "ratio (target ≥ 0.8)",
                "portal worker peak above idle (rise in the run), MB",
            ],
            [
                [
                    f"{d['size_mib']} MB",
                    f"{d['portal_mib_s']:.0f}",
                    f"{d['direct_mib_s']:.0f}",
                    f"{d['ratio']:.2f} ({verdict(d['ratio'] >= 0.8)})",
                    f"{d['portal_peak_above_idle_mib']:.1f} ({d['portal_rise_mib']:.1f})",
                ]
            ],
        ),
    ]


def _render_load(report: dict[str, Any]) -> list[str]:
    r = report["load"]
    once = r["accepted_missing"] == r["accepted_duplicated"] == r["unacknowledged_arrived"] == 0
    kinds = ", ".join(f"{k}: {v}" for k, v in r["error_kinds"].items()) or "none"
    cpu = ", ".join(f"{k} {v:.0f}" for k, v in r["cpu_seconds"].items())
    return [
        f"### Many at once ({r['clients']} clients, {r['seconds']:.0f} s, 2 MB PDFs)",
        "",
        table(
            [
                "errors (target 0)",
                "uploads",
                "MB/s",
                "p50 s",
                "p95 s",
                "exactly once in ATS",
                "portal worker peak above idle, MB",
            ],
            [
                [
                    f"{r['errors']} ({verdict(r['errors'] == 0)})",
                    str(r["completed"]),
                    f"{r['mib_s']:.1f}",
                    f"{r['p50_s']:.2f}",
                    f"{r['p95_s']:.2f}",
                    f"{'yes' if once else '**NO**'} (missing {r['accepted_missing']}, "
                    f"duplicated {r['accepted_duplicated']}, refused yet stored "
                    f"{r['unacknowledged_arrived']})",
                    f"{r['portal_peak_above_idle_mib']:.1f}",
                ]
            ],
        ),
        "",
        f"Errors by kind: {kinds}. CPU seconds used during the run: {cpu}.",
    ]


def _render_search(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["case"],
            f"{r['portal_p50_ms']:.1f} / {r['portal_p95_ms']:.1f}",
            f"{r['sandbox_p50_ms']:.1f} / {r['sandbox_p95_ms']:.1f}",
            f"{r['overhead_p50_ms']:.1f} / {r['overhead_p95_ms']:.1f}",
        ]
        for r in report["search"]
    ]
    n = report["search"][0]["requests"]
    return [
        f"### Finding the application ({report['plan']['applications']:,} applications, "
        f"{n} requests each)",
        "",
        table(
            [
                "search",
                "portal p50 / p95 ms",
                "sandbox p50 / p95 ms",
                "portal's own p50 / p95 ms (paired difference)",
            ],
            rows,
        ),
    ]


def _render_page(report: dict[str, Any]) -> list[str]:
    p = report["page"]
    kib = lambda n: f"{n / 1024:.1f}"  # noqa: E731
    rows = [
        [f"`{x['url']}`", x["encoding"], kib(x["raw_bytes"]), kib(x["gzip9_bytes"])]
        for x in p["parts"]
    ]
    total = ["**total**", "", f"**{kib(p['raw_total'])}**", f"**{kib(p['gzip9_total'])}**"]
    served = p["wire_total"] / 1024
    how = "compressed" if p["compressed_by_server"] else "uncompressed (no Content-Encoding)"
    return [
        "### Page weight (staff application page, first load)",
        "",
        table(["resource", "served as", "raw KB", "gzip -9 KB"], [*rows, total]),
        "",
        f"The portal serves it {how}: {served:.1f} KB over the wire "
        f"({verdict(served < 60)} against < 60 KB); gzip -9 (e.g. at the reverse proxy) would "
        f"make it {p['gzip9_total'] / 1024:.1f} KB ({verdict(p['gzip9_total'] < 60 * 1024)}). "
        f"Third-party hosts referenced: {', '.join(p['third_party_hosts']) or 'none'}.",
    ]


# -- 6. file inspection (issue 9) ------------------------------------------------------------
# In-process, no servers: how long check_upload takes (libmagic, the format's parser, the
# SHA-256), over the 111-file corpus and for large PDFs and DOCXs, plus the pathological
# inputs of tests/test_file_attacks.py. Run alone: python tests/bench.py --inspection


import io  # noqa: E402 - section 6 only


def _inspect_seconds(path: Path, name: str, attachment_type: str = "OTHER") -> tuple[float, str]:
    from portal.filetype import FileRefused, check_upload

    with path.open("rb") as fh:
        started = time.perf_counter()
        try:
            verdict = check_upload(fh, filename=name, attachment_type=attachment_type).content_type
        except FileRefused as refused:
            verdict = "!" + refused.code
        return time.perf_counter() - started, verdict


def _docx_of_size(size: int) -> bytes:
    """A real Word file (python-docx) with incompressible pictures up to about `size` bytes."""
    import zipfile as _zipfile

    base = samples.python_docx_cv()
    out = io.BytesIO()
    with _zipfile.ZipFile(io.BytesIO(base)) as src, _zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        left, number = size - len(base), 0
        while left > 0:
            number += 1
            chunk = os.urandom(min(left, 4 * MIB))
            dst.writestr(f"word/media/extra{number}.jpeg", chunk)
            left -= len(chunk)
    return out.getvalue()


def bench_inspection(runs: int = 3) -> dict[str, Any]:
    """p50/p95/max of check_upload over the corpus, and the time for 1, 10, 50 MB files."""
    corpus = next(
        (
            p / "shared" / "mime-corpus"
            for p in ROOT.parents
            if (p / "shared" / "mime-corpus").is_dir()
        ),
        None,
    )
    out: dict[str, Any] = {}
    if corpus is not None:
        times = []
        for path in sorted(corpus.iterdir()):
            if path.name in ("labels.csv", "README.md") or not path.is_file():
                continue
            times.append(min(_inspect_seconds(path, path.name)[0] for _ in range(runs)))
        out["corpus"] = {
            "files": len(times),
            "p50_ms": round(percentile(times, 50) * 1000, 2),
            "p95_ms": round(percentile(times, 95) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2),
        }
    with tempfile.TemporaryDirectory(prefix="portal-inspect-") as tmp:
        rows = []
        for mib in (1, 10, 50):
            for kind, build in (
                ("PDF", lambda n: pdf_of_size(n, "inspect")),
                ("DOCX", _docx_of_size),
            ):
                path = Path(tmp) / f"big.{kind.lower()}"
                path.write_bytes(build(mib * MIB))
                seconds, verdict = min(_inspect_seconds(path, path.name) for _ in range(runs))
                rows.append(
                    {"kind": kind, "mib": mib, "seconds": round(seconds, 3), "verdict": verdict}
                )
        # The worst shapes we know for each parser: many tiny PDF objects, text-dense RTF.
        import pikepdf

        with pikepdf.open(io.BytesIO(samples.reportlab_cv())) as pdf:
            junk = [pdf.make_indirect(pikepdf.Dictionary(N=i)) for i in range(150_000)]
            pdf.Root.Junk = pikepdf.Array(junk)
            many = Path(tmp) / "many-objects.pdf"
            pdf.save(many, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        seconds, verdict = min(_inspect_seconds(many, many.name) for _ in range(runs))
        rows.append(
            {
                "kind": "PDF, 150,000 objects",
                "mib": round(many.stat().st_size / MIB, 1),
                "seconds": round(seconds, 3),
                "verdict": verdict,
            }
        )
        dense = Path(tmp) / "dense.rtf"
        dense.write_bytes(b"{\\rtf1\\ansi " + b"{\\b Jane} Doe \\par " * 250_000 + b"}")
        seconds, verdict = min(_inspect_seconds(dense, dense.name) for _ in range(runs))
        rows.append(
            {
                "kind": "RTF, 250,000 groups",
                "mib": round(dense.stat().st_size / MIB, 1),
                "seconds": round(seconds, 3),
                "verdict": verdict,
            }
        )
        out["large"] = rows
        import test_file_attacks as attacks

        worst = []
        for case, (part, data) in sorted(attacks.PATHOLOGICAL.items()):
            path = Path(tmp) / "patho.docx"
            path.write_bytes(attacks._docx_with_part(part, data))
            seconds, verdict = min(_inspect_seconds(path, "cv.docx") for _ in range(runs))
            worst.append({"case": case, "ms": round(seconds * 1000, 2), "verdict": verdict})
        out["pathological"] = worst
    return out


def render_inspection(result: dict[str, Any]) -> str:
    lines = []
    if "corpus" in result:
        c = result["corpus"]
        lines.append(
            table(
                ["corpus files", "p50", "p95", "max"],
                [[str(c["files"]), f"{c['p50_ms']} ms", f"{c['p95_ms']} ms", f"{c['max_ms']} ms"]],
            )
        )
    lines.append(
        table(
            ["file", "size", "inspection", "verdict"],
            [
                [r["kind"], f"{r['mib']} MB", f"{r['seconds']} s", r["verdict"]]
                for r in result["large"]
            ],
        )
    )
    lines.append(
        table(
            ["pathological input", "inspection", "verdict"],
            [[r["case"], f"{r['ms']} ms", r["verdict"]] for r in result["pathological"]],
        )
    )
    return "\n\n".join(lines)


# -- main ------------------------------------------------------------------------------------


def run(plan: Plan) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "plan": dataclasses.asdict(plan)}
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        stack = Stack(Path(tmp))
        try:
            log(f"starting the sandbox ({plan.applications:,} applications per integration)")
            stack.start_sandbox(plan.applications)
            log("starting gunicorn")
            stack.start_portal()
            report["workers"] = len(stack.workers)
            report.update(_sections(stack, plan))
        except BaseException:
            if (stack.tmp / "gunicorn.log").exists():
                log("gunicorn log tail:\n" + stack.gunicorn_log_tail())
            raise
        finally:
            stack.stop()
    report["loadavg_end"] = loadavg()
    return report


def _sections(stack: Stack, plan: Plan) -> dict[str, Any]:
    http = embed_session(stack)
    ctx: dict[str, Any] = {"http": http, "tmp": stack.tmp, "files": {}}
    # The page weight is measured on Ada's application, which the benchmark never uploads to:
    # every upload adds a row (and a download token) to the page's attachment table.
    ada = applications(stack, http, email=SEARCH_EMAIL)
    ctx["page_aid"] = ada[0]["id"]
    ctx["apps"] = [a for a in applications(stack, http) if a["id"] not in {x["id"] for x in ada}]
    ctx["app"] = ctx["apps"][0]
    ctx["aid"] = ctx["app"]["id"]
    log("warming up both workers")
    ctx["idle"] = warm_portal(stack, ctx)
    out: dict[str, Any] = {}
    steps: list[tuple[str, Callable[..., Any]]] = [
        ("upload", bench_upload),
        ("download", bench_download),
        ("load", bench_load),
        ("search", bench_search),
        ("page", bench_page),
        ("fleet", bench_fleet),
    ]
    if ONLY:  # --only NAME[,NAME]: those sections (upload always runs: the others use its files)
        steps = [(n, f) for n, f in steps if n in ONLY or n == "upload"]
    for name, step in steps:
        out[name] = step(stack, plan, ctx)
        out.setdefault("loadavg", {})[name] = loadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, 15 s of load")
    parser.add_argument("--only", default="", help="comma-separated sections, e.g. download,fleet")
    parser.add_argument("--sandbox-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--sdk-child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--inspection", action="store_true", help="only section 6, in-process")
    args = parser.parse_args()
    if args.inspection:
        print(render_inspection(bench_inspection()))
        return
    ONLY.update(x for x in args.only.split(",") if x)
    if args.sandbox_child:
        run_sandbox_child(args.sandbox_child[1], int(args.sandbox_child[0]))
        return
    if args.sdk_child:
        run_sdk_child(*args.sdk_child)
        return
    # SIGTERM ends the run like Ctrl-C: the finally blocks stop gunicorn and the sandbox.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run(QUICK if args.quick else FULL)
    print(render(report))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
