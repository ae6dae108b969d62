"""Gunicorn settings for the portal (`portal serve` and the Dockerfile use this file: `gunicorn -c python:portal.gunicorn_conf`).

gthread: uploads and downloads spend their time waiting on Kombo and on sockets,
so threads (not processes) carry the concurrency; two processes use both cores
for the base64 and hashing work. Each process keeps KOMBO_MAX_INFLIGHT (12)
Kombo calls in flight per integration, so 2 x 12 stays under Kombo's 30.
The figures behind these numbers are in the README's Performance section.
"""

import os
import re

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
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # -8 is M_ARENA_MAX


_limit_malloc_arenas()
