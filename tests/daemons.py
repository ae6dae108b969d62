"""Real daemons for the tests (Redis, and more as the tests need them), on free loopback ports.

Each is the Debian package's own binary, started for the test session and stopped after. A
missing binary fails the test with what to install: a test that needs a daemon never skips.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def need(binary: str, package: str) -> str:
    """The path of `binary`, or a failure that says which Debian package brings it."""
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if path is None:
        raise RuntimeError(
            f"{binary} is not installed: run `apt-get update && apt-get install {package}` "
            "(or `bash .ci/run`, which installs everything the tests need)"
        )
    return path


def bound_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, what: str, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {limit} s")


class RedisServer:
    """redis-server on a free port, no persistence, loopback only."""

    def __init__(self) -> None:
        binary = need("redis-server", "redis-server")
        self.dir = tempfile.mkdtemp(prefix="portal-redis-")
        self.port = bound_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_listening(self.port, self.proc, "redis-server")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushdb()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
