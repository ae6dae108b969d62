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

from support import free_port


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
        self.port = free_port()
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


EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# A marker of our own, found by the custom .ndb signature below (any offset, any file type).
CUSTOM_MARKER = b"PORTAL-TEST-MALWARE-5f1e9c"


class ClamdServer:
    """Debian's clamd on a Unix socket and a free loopback TCP port, with a signature
    database written here: EICAR by its MD5 (.hdb; the official one ships in daily.cvd,
    which cannot be downloaded here) and one custom body signature (.ndb)."""

    def __init__(self) -> None:
        import hashlib

        binary = need("clamd", "clamav-daemon")
        self.dir = tempfile.mkdtemp(prefix="portal-clamd-")
        root = Path(self.dir)
        (root / "db").mkdir()
        (root / "db" / "portal.hdb").write_text(
            f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Signature\n"  # noqa: S324
        )
        (root / "db" / "portal.ndb").write_text(f"Portal.Test.Custom-1:0:*:{CUSTOM_MARKER.hex()}\n")
        self.socket_path = str(root / "clamd.sock")
        self.port = free_port()
        (root / "clamd.conf").write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"LocalSocket {self.socket_path}",
                    f"TCPSocket {self.port}",
                    "TCPAddr 127.0.0.1",
                    f"DatabaseDirectory {root / 'db'}",
                    f"LogFile {root / 'clamd.log'}",
                    f"PidFile {root / 'clamd.pid'}",
                    "StreamMaxLength 100M",
                    "MaxThreads 4",
                    "",
                ]
            )
        )
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "--config-file", str(root / "clamd.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_listening(self.port, self.proc, "clamd", limit=60)
        self.start_seconds = time.monotonic() - started
        self.unix = f"unix:{self.socket_path}"
        self.tcp = f"tcp:127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)


class NginxServer:
    """Debian's nginx running deploy/nginx.conf on a free loopback port, in a temp prefix,
    `daemon off`, with the upstream block pointed at `upstreams` (host:port each).

    Only the lines marked `# fleet-test:` in deploy/nginx.conf are rewritten (paths, listen,
    the upstream servers): what is tested is the file a customer runs."""

    def __init__(self, upstreams: list[str], conf: Path | None = None) -> None:
        binary = need("nginx", "nginx")
        self.dir = Path(tempfile.mkdtemp(prefix="portal-nginx-"))
        # nginx's workers drop root for `nobody`: they must reach the temp folders it makes here
        # (a buffered upload larger than client_body_buffer_size goes to one).
        self.dir.chmod(0o755)
        self.port = free_port()
        source = conf or Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(self._rewrite(source.read_text(), upstreams))
        self.error_log = self.dir / "error.log"
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_listening(self.port, self.proc, "nginx")
        except RuntimeError as err:
            log = self.error_log.read_text() if self.error_log.exists() else ""
            raise RuntimeError(f"{err}\n{log}") from None
        self.url = f"http://127.0.0.1:{self.port}"

    def _rewrite(self, text: str, upstreams: list[str]) -> str:
        out, skipping = [], False
        for line in text.splitlines():
            marker = line.partition("# fleet-test:")[2].strip()
            indent = line[: len(line) - len(line.lstrip())]
            if marker == "upstream-begin":
                skipping = True
                out += [f"{indent}server {u} max_fails=0;" for u in upstreams]
            elif marker == "upstream-end":
                skipping = False
            elif skipping:
                continue
            elif marker == "pid":
                out.append(f"{indent}pid {self.dir}/nginx.pid;")
            elif marker == "error_log":
                out.append(f"{indent}error_log {self.dir}/error.log info;")
            elif marker == "access_log":
                out.append(f"{indent}access_log {self.dir}/access.log portal;")
            elif marker == "temp":
                directive = line.split()[0]
                out.append(f"{indent}{directive} {self.dir}/{directive.split('_')[0]};")
            elif marker == "listen":
                out.append(f"{indent}listen 127.0.0.1:{self.port};")
            else:
                out.append(line)
        out = [line.replace("worker_processes auto;", "worker_processes 1;") for line in out]
        return "\n".join(out) + "\n"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
