"""Antivirus, optional: a ClamAV daemon (clamd) over its INSTREAM protocol.

``PORTAL_CLAMD`` is ``unix:/path/to/clamd.ctl`` or ``tcp:host:port``. The file is sent in
chunks (``zINSTREAM``, then <4-byte big-endian length><bytes>… and a zero length); clamd
answers ``stream: OK`` or ``stream: <signature> FOUND``. Anything else (no daemon, a timeout,
``size limit exceeded``) means we do not know, and the upload is refused: a configured
scanner that cannot scan never lets a file through.
"""

from __future__ import annotations

import socket
import struct
from typing import BinaryIO

CHUNK = 64 * 1024
TIMEOUT = 30.0  # seconds per socket operation; clamd scans a 64 MB file in a few
MAX_REPLY = 4096


class ScanUnavailable(Exception):
    """The scanner is configured but could not give a verdict."""


def parse(setting: str) -> tuple[int, str | tuple[str, int]]:
    """('unix:/run/clamav/clamd.ctl' | 'tcp:host:port') -> (family, address)."""
    kind, _, rest = setting.strip().partition(":")
    if kind == "unix" and rest.startswith("/"):
        return socket.AF_UNIX, rest
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        if host and port.isdigit():
            return socket.AF_INET, (host.strip("[]"), int(port))
    raise ScanUnavailable(f"PORTAL_CLAMD must be unix:/path or tcp:host:port, not {setting!r}")


def scan(f: BinaryIO, setting: str) -> str | None:
    """The signature clamd found in the file, or None when it is clean."""
    family, address = parse(setting)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(address)
            sock.sendall(b"zINSTREAM\0")
            f.seek(0)
            while chunk := f.read(CHUNK):
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
            reply = _read_reply(sock)
    except OSError as exc:
        raise ScanUnavailable(str(exc)) from exc
    finally:
        f.seek(0)
    if reply.endswith(" FOUND"):
        return reply.removeprefix("stream:").removesuffix(" FOUND").strip() or "malware"
    if reply == "stream: OK":
        return None
    raise ScanUnavailable(reply[:200])


def _read_reply(sock: socket.socket) -> str:
    """clamd's answer, up to its NUL terminator (z-commands) or the connection's end."""
    data = b""
    while b"\0" not in data and len(data) < MAX_REPLY:
        part = sock.recv(MAX_REPLY)
        if not part:
            break
        data += part
    return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
