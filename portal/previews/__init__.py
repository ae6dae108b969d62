"""Previews: small PNGs of an attachment's first page(s), rendered from the bytes the ATS holds.

The file comes from Kombo exactly as a download does (`downloads.open_download`: a fresh
listing, never a URL from the client). Its bytes are hostile until proven otherwise, so they
are only ever parsed by `render.py` in a child process with its own limits (address space,
CPU seconds, no file writes, an empty environment: no Kombo key in reach), under a wall-clock
timeout after which the parent kills it. What comes back is checked to be a PNG of the size
we asked for; the original bytes are never sent to the browser.

Rendered previews are cached in this process for a few minutes, keyed by integration,
candidate, attachment id, what was asked for and a SHA-256 of what the ATS says about the file
(name, type, last change; the download's length, ETag, Last-Modified). The cache is read only
after the signed link was verified, the fresh listing found the attachment and the download
was opened, so it never answers a request that a download would refuse; it saves the render
and the body's transfer, not the check.
A file that cannot be previewed is remembered too, so a bomb is parsed once, not per request.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import subprocess  # only to start our own render.py, no shell  # nosec B404
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal import tokens
from portal.errors import PortalError
from portal.names import display_name
from portal.numbers import parse_count

log = logging.getLogger(__name__)

RENDER_SCRIPT = Path(__file__).with_name("render.py")
MIB = 1024 * 1024

# What the list offers a preview for (the worker sniffs the bytes again; this only decides
# whether to show the link). GIF and WebP are not uploadable here but candidates send them
# to ATSs directly.
PREVIEW_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})

THUMB_WIDTH = 240
PAGE_WIDTH = 1100
MAX_PAGES = 3
MAX_ASPECT = 3  # keep in step with render.MAX_ASPECT

DEFAULTS: dict[str, Any] = {
    "PREVIEW_MAX_BYTES": 20 * MIB,  # larger files get no preview (the download still works)
    "PREVIEW_MEMORY_BYTES": 512 * MIB,  # the worker's address space (Python + pdfium + pixels)
    "PREVIEW_CPU_SECONDS": 10,
    "PREVIEW_WALL_SECONDS": 15.0,  # a worker blocked without using CPU is killed too
    "PREVIEW_MAX_PIXELS": 40_000_000,  # Pillow's MAX_IMAGE_PIXELS in the worker
    "PREVIEW_WORKERS": 2,  # renders at once per portal process (the machine has few cores)
    "PREVIEW_CACHE_SECONDS": 300,
    "PREVIEW_CACHE_BYTES": 32 * MIB,
}

TIMEOUT_REMEMBERED = 60.0  # seconds a "no preview" for lack of time is kept (a bomb: once a minute)
NO_PREVIEW = _l("There is no preview for this file. Download it to open it.")


def setting(name: str) -> Any:
    """A preview setting: the app's if configured, else the default above."""
    return current_app.config.get(name, DEFAULTS[name])


def check_settings(config: Any) -> None:
    """Refuse to start with a preview limit that is not a positive number (0 or -1 would be
    read as "unlimited" by setrlimit or subprocess)."""
    bad = []
    for name, default in DEFAULTS.items():
        value = config.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            bad.append(f"PORTAL_{name} must be a positive number")
    if bad:
        raise RuntimeError("The portal cannot start: " + "; ".join(bad) + ".")


def can_preview(attachment: dict[str, Any]) -> bool:
    """Whether the list should offer a preview of this attachment (by the ATS's content type)."""
    content_type = str(attachment.get("content_type") or "").split(";")[0].strip().lower()
    return content_type in PREVIEW_TYPES


# -- signed links ------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    # Its own salt: a download link is no preview link and a preview link downloads nothing.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.preview")


def preview_token(
    integration_id: str,
    candidate_id: str,
    attachment_id: str,
    application_lock: str | None,
    tenant: str | None,
    holder: list[Any],
) -> str:
    """A short-lived signed grant to see previews of one attachment (as long as a download's).

    `application_lock` as for a download link (a locked session's link previews only that
    application's files and the profile's); `tenant`: the partner whose session asked (None for
    staff), so the link stops working the moment that tenant may no longer use the integration;
    `holder`: the session it was made for (`access.link_holder`), so it ends with that session.
    """
    expires = tokens.now() + float(current_app.config["DOWNLOAD_URL_TTL"])
    return _serializer().dumps(
        [
            integration_id,
            candidate_id,
            attachment_id,
            application_lock,
            tenant or "",
            holder,
            expires,
        ]
    )


def read_preview_token(token: str) -> tuple[str, str, str, str | None, Any]:
    """The (integration, candidate, attachment, application lock, holder) a link grants;
    404/410 else. The holder is checked by the views (`access.check_link_holder`)."""
    cfg = current_app.config
    expired = PortalError(
        410, "link_expired", _l("This preview link has expired. Reload the list and try again.")
    )
    invalid = PortalError(404, "not_found", _l("This preview link is not valid."))
    try:
        iid, cid, aid, lock, tenant, holder, expires = _serializer().loads(
            token, max_age=cfg["DOWNLOAD_URL_TTL"] + 60
        )
    except SignatureExpired:
        raise expired from None
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    if not all(isinstance(v, str) for v in (iid, cid, aid, tenant)):
        raise invalid
    if lock is not None and not isinstance(lock, str):
        raise invalid
    if isinstance(expires, bool) or not isinstance(expires, int | float) or expires <= tokens.now():
        raise expired
    if iid not in cfg["INTEGRATIONS"] or not _tenant_may_use(tenant, iid):
        raise invalid
    return iid, cid, aid, lock, holder


def _tenant_may_use(tenant: str, integration_id: str) -> bool:
    """Staff ("") use every integration served; a partner only those configured for it."""
    if not tenant:
        return True
    partner = current_app.config["PARTNERS"].get(tenant)
    return isinstance(partner, dict) and integration_id in (partner.get("integrations") or [])


# -- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """PNGs of the first page(s), their sizes, and how many pages the file has."""

    pages: tuple[bytes, ...]
    sizes: tuple[tuple[int, int], ...]
    page_count: int


class NoPreview(Exception):
    """This file gets no preview (not a format we render, damaged, hostile, too large)."""


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, or None if `data` does not start as a PNG does."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def run_worker(data: bytes, width: int, pages: int, frame: bool = False) -> Rendered:
    """Render in a limited child process; NoPreview on refusal, crash, timeout or odd output."""
    argv = [
        sys.executable,
        "-I",  # isolated: no PYTHON* variables, no user site, not the current directory
        str(RENDER_SCRIPT),
        str(int(setting("PREVIEW_MEMORY_BYTES"))),
        str(int(setting("PREVIEW_CPU_SECONDS"))),
        str(width),
        str(pages),
        str(int(setting("PREVIEW_MAX_PIXELS"))),
        "1" if frame else "0",
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter, our script  # nosec B603
            argv,
            input=data,
            capture_output=True,
            timeout=float(setting("PREVIEW_WALL_SECONDS")),  # run() kills the child on expiry
            env={},  # nothing inherited: no secrets in the worker's reach
            cwd="/",
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("preview worker killed after %.1fs", time.monotonic() - started)
        raise NoPreview("timeout") from None
    if done.returncode != 0:
        log.info(
            "no preview: worker exit %s (%s)",
            done.returncode,
            done.stderr[-200:].decode("ascii", "replace").strip(),
        )
        raise NoPreview(f"exit {done.returncode}")
    return _parse(done.stdout, width, pages)


def _parse(out: bytes, width: int, pages: int) -> Rendered:
    """The worker's answer, checked: PNGs only, no wider or taller than asked, at most `pages`."""
    if len(out) < 4:
        raise NoPreview("empty answer")
    (count,), pos = struct.unpack(">I", out[:4]), 4
    pictures, sizes = [], []
    while pos < len(out):
        if pos + 4 > len(out):
            raise NoPreview("cut short")
        (length,) = struct.unpack(">I", out[pos : pos + 4])
        picture = out[pos + 4 : pos + 4 + length]
        size = png_size(picture)
        if len(picture) != length or size is None:
            raise NoPreview("not a PNG")
        if not (0 < size[0] <= width and 0 < size[1] <= width * MAX_ASPECT):
            raise NoPreview("unexpected size")
        pictures.append(picture)
        sizes.append(size)
        pos += 4 + length
    if not pictures or len(pictures) > pages:
        raise NoPreview("no pages")
    return Rendered(tuple(pictures), tuple(sizes), count)


# -- the cache and the one entry point -----------------------------------------------------


class Cache:
    """A small LRU of rendered previews (and of files that have none), each with its expiry."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[str, ...], tuple[float, Rendered | None]] = OrderedDict()
        self.bytes = 0

    @staticmethod
    def _weight(value: Rendered | None) -> int:
        return 256 + (sum(map(len, value.pages)) if value else 0)

    def get(self, key: tuple[str, ...]) -> tuple[bool, Rendered | None]:
        """(found, value); value None means "known to have no preview"."""
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return False, None
            if time.monotonic() > entry[0]:
                self._drop(key)
                return False, None
            self.items.move_to_end(key)
            return True, entry[1]

    def put(self, key: tuple[str, ...], value: Rendered | None, ttl: float, budget: int) -> None:
        """Keep `value` for `ttl` seconds, dropping the least recently used past `budget` bytes."""
        weight = self._weight(value)
        if weight > budget:
            return
        with self.lock:
            if key in self.items:
                self._drop(key)
            self.items[key] = (time.monotonic() + ttl, value)
            self.bytes += weight
            while self.bytes > budget:
                self._drop(next(iter(self.items)))

    def _drop(self, key: tuple[str, ...]) -> None:
        _, value = self.items.pop(key)
        self.bytes -= self._weight(value)


@dataclass
class _State:
    """Per app and process: the cache, and the bound on renders at once (so a burst of
    thumbnails cannot start dozens of workers)."""

    cache: Cache
    slots: threading.BoundedSemaphore


def _state() -> _State:
    ext = current_app.extensions
    with _STATE_LOCK:
        if "portal.previews" not in ext:
            n = int(setting("PREVIEW_WORKERS"))
            ext["portal.previews"] = _State(Cache(), threading.BoundedSemaphore(n))
        return ext["portal.previews"]


_STATE_LOCK = threading.Lock()


def _read_capped(upstream: Any, limit: int) -> bytes:
    """The upstream body, or NoPreview past `limit` bytes (we stop reading there)."""
    declared = parse_count(upstream.headers.get("Content-Length"))
    if declared is not None and declared > limit:
        raise NoPreview("too large")
    chunks, total = [], 0
    for chunk in upstream.iter_content(chunk_size=256 * 1024):
        total += len(chunk)
        if total > limit:
            raise NoPreview("too large")
        chunks.append(chunk)
    return b"".join(chunks)


def render(
    integration_id: str,
    candidate_id: str,
    attachment_id: str,
    kind: str,
    only_application: str | None = None,
) -> tuple[Rendered, str]:
    """The preview of one attachment, "thumb" (page one, small) or "pages" (up to 3, large),
    and the file's name.

    The caller has verified the signed link; here the attachment is found in a fresh listing
    and opened as a download is, before the cache is consulted. A cached preview is served
    without reading the file's body. 422 when there is no preview.
    """
    from portal.downloads import open_download  # downloads imports attachments, which imports us

    width, pages = (THUMB_WIDTH, 1) if kind == "thumb" else (PAGE_WIDTH, MAX_PAGES)
    meta, upstream = open_download(integration_id, candidate_id, attachment_id, only_application)
    name = display_name(str(meta.get("file_name") or "attachment"))
    cache = _state().cache
    try:
        if not can_preview(meta):
            raise NoPreview("type")
        key = (integration_id, candidate_id, attachment_id, kind, fingerprint(meta, upstream))
        found, value = cache.get(key)
        if not found:
            data = _read_capped(upstream, int(setting("PREVIEW_MAX_BYTES")))
    except NoPreview:
        raise _no_preview(name) from None
    finally:
        upstream.close()
    if not found:
        value, ttl = _render_bounded(data, width, pages, frame=kind == "thumb")
        cache.put(key, value, ttl, int(setting("PREVIEW_CACHE_BYTES")))
    if value is None:
        raise _no_preview(name)
    return value, name


def fingerprint(meta: dict[str, Any], upstream: Any) -> str:
    """A hash of what the ATS says about the file (the listing's fields, the download's
    validators): a changed file is a new cache key, and a cached one costs no body download."""
    said = [str(meta.get(k)) for k in ("file_name", "content_type", "remote_updated_at")]
    said += [str(upstream.headers.get(h)) for h in ("Content-Length", "ETag", "Last-Modified")]
    return hashlib.sha256("\x00".join(said).encode()).hexdigest()


def _render_bounded(
    data: bytes, width: int, pages: int, frame: bool
) -> tuple[Rendered | None, float]:
    """The preview (None: there is none) and how long to remember that answer."""
    slot = _state().slots
    if not slot.acquire(timeout=float(setting("PREVIEW_WALL_SECONDS"))):
        raise PortalError(
            503, "preview_busy", _l("Previews are busy right now. Try again in a moment.")
        )
    ttl = float(setting("PREVIEW_CACHE_SECONDS"))
    try:
        return run_worker(data, width, pages, frame), ttl
    except NoPreview as why:
        # Out of time may only mean a busy machine: try again sooner than for a refusal.
        return None, min(ttl, TIMEOUT_REMEMBERED) if why.args == ("timeout",) else ttl
    finally:
        slot.release()


def _no_preview(name: str) -> PortalError:
    return PortalError(422, "preview_unavailable", NO_PREVIEW, file=name)
