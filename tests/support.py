"""Helpers shared by test files (and tests/perf/): ports, gunicorn with the shipped config,
raw HTTP reads. Fixtures live in conftest.py; these are plain functions."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

import portal


def free_port() -> int:
    """A port nothing listens on right now (for servers started as child processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_workers(master: int) -> list[int]:
    """The gunicorn master's worker processes (its children), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
    return found


def gunicorn_env(config: dict) -> dict[str, str]:
    """The portal's configuration as PORTAL_* variables (JSON where not a plain string)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "KOMBO_"))}
    for key, value in config.items():
        env[f"PORTAL_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env["PYTHONPATH"] = str(Path(portal.__file__).resolve().parents[1])
    return env


def start_gunicorn(sandbox: Any, tmp_path: Path, **overrides: Any) -> tuple[subprocess.Popen, str]:
    """gunicorn -c python:portal.gunicorn_conf, as the Dockerfile runs it."""
    from conftest import portal_config, spawn_gunicorn  # conftest imports nothing from here

    config = portal_config(sandbox, STATE_PATH=str(tmp_path / "state.sqlite3"), **overrides)
    config.pop("TESTING")
    proc, url = spawn_gunicorn(
        env=gunicorn_env(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gunicorn did not start:\n" + (proc.stdout.read() if proc.stdout else ""))
        time.sleep(0.1)


def raw_get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes, bool]:
    """GET with a raw socket: (status, headers, body, complete). `complete` is True only when
    the body ended as its framing promised (all of Content-Length, or the last chunk)."""
    parts = urlsplit(url)
    head = (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
    )
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall((head + "\r\n").encode())
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    if not data:
        return 0, {}, b"", False  # closed before a status line: a failed download
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    if "content-length" in fields:
        return status, fields, body, len(body) == int(fields["content-length"])
    if fields.get("transfer-encoding", "").lower() == "chunked":
        return status, fields, body, body.endswith(b"0\r\n\r\n")
    return status, fields, body, True  # ends at close: the framing cannot tell


@contextlib.contextmanager
def raises_exactly(kind: type[BaseException], match: str | None = None) -> Iterator[Any]:
    """pytest.raises that refuses subclasses: the test says which error it means."""
    with pytest.raises(kind, match=match) as info:
        yield info
    assert type(info.value) is kind, f"{type(info.value).__name__} raised, {kind.__name__} expected"
