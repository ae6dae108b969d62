"""Gunicorn settings for the portal (`portal serve` and the Dockerfile use this file: `gunicorn -c python:portal.gunicorn_conf`).

gthread: uploads and downloads spend their time waiting on Kombo and on sockets,
so threads (not processes) carry the concurrency; two processes use both cores
for the base64 and hashing work. The fleet keeps KOMBO_MAX_INFLIGHT (24) Kombo calls
in flight per integration in all, counted in the shared store (portal/guard.py).
The figures behind these numbers are in the README's Performance section.
"""

import contextlib
import ctypes
import glob
import os
import re
import tempfile

from gunicorn.glogging import Logger

wsgi_app = "portal:create_app()"
worker_class = "gthread"
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_THREADS", "16"))
# Kombo's own SDK gives an upload 300 s; a stop (SIGTERM) lets in-flight uploads finish.
graceful_timeout = int(os.environ.get("PORTAL_GRACEFUL_TIMEOUT", "330"))
# Only kills a worker that stops heartbeating; gthread heartbeats while threads wait.
timeout = 60
keepalive = 5
accesslog = "-"
errorlog = "-"
# tmpfs for the heartbeat file where there is one (a disk fchmod can stall workers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn heartbeat only  # nosec B108
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
_TOKEN = re.compile(r"/(download|preview)/[^/?\s\"]+")
_QUERY = re.compile(r"\?[^\s\"]+")


class RedactingLogger(Logger):
    """Access log without download or preview tokens (a signed link is a credential while it lives) and
    without query strings (a candidate's e-mail address is a search term)."""

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str) and (
                "/download/" in value or "/preview/" in value or "?" in value
            ):
                atoms[key] = _QUERY.sub("?[redacted]", _TOKEN.sub(r"/\1/[redacted]", value))
        return atoms


logger_class = RedactingLogger


def _limit_malloc_arenas() -> None:
    """glibc keeps one malloc arena per thread (up to 8 x cores), each holding its high-water
    mark: with 16 threads, libmagic's 7 MiB read buffer alone kept ~100 MB resident per worker.
    Two arenas keep memory flat (measured: 46 -> 16 MB above idle at 50 MB uploads). Set in the
    master, before fork, so every worker inherits it."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # -8 is M_ARENA_MAX


_limit_malloc_arenas()


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's Arbiter
    """Refuse several workers on the in-memory store: each worker would keep its own used
    tokens, sessions and throttles (a token would work once per worker, a sign-out would end
    the session in one worker only). The app is built here once, so a bad configuration is
    also reported by the master, in one line, before any worker starts."""
    from portal import create_app

    store = create_app().extensions["portal.state"]
    if server.cfg.workers > 1 and not store.shared:
        raise RuntimeError(
            f"The portal cannot start: {server.cfg.workers} workers would each keep their own "
            "used tokens, sessions and sign-in throttles in memory. Set PORTAL_STATE_PATH "
            "(a SQLite file, one machine) or PORTAL_REDIS_URL (several machines), "
            "or run one worker (PORTAL_WORKERS=1)."
        )


# -- fleet (production topology) -----------------------------------------------------------


def _no_server_header() -> None:
    """gunicorn always sends `Server: gunicorn` and has no setting to stop it: drop that line
    from the headers it writes (the version would only help someone pick an exploit)."""
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers

    def default_headers(self):  # noqa: ANN001, ANN202
        return [line for line in original(self) if not line.startswith("Server:")]

    wsgi.Response.default_headers = default_headers  # type: ignore[method-assign]  # the point


_no_server_header()


def _metrics_dir() -> None:
    """prometheus-client's multi-process mode: each worker writes its samples to files in one
    folder and /metrics adds them up. Set before any worker imports prometheus_client; a
    folder given by the operator is emptied first (old workers' files would count twice)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for stale in glob.glob(os.path.join(folder, "*.db")):
            os.remove(stale)
    else:
        folder = tempfile.mkdtemp(prefix="portal-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        _OWN_METRICS_DIR.append(folder)


_OWN_METRICS_DIR: list[str] = []  # the folder we made (removed when the master exits)
_metrics_dir()


def on_exit(server):  # noqa: ANN001, ANN201
    """The master is done: the metrics folder we made goes with it (one per start otherwise)."""
    import shutil

    for folder in _OWN_METRICS_DIR:
        shutil.rmtree(folder, ignore_errors=True)


def child_exit(server, worker):  # noqa: ANN001, ANN201
    """A worker's live gauges go with it (counters and histograms stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
