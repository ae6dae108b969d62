"""What an inspection found, and the budgets that bound what it may cost.

Every parser returns a `Finding`; none raises a refusal itself (the decision and its words
live in ``__init__``). A `Budget` is shared by all parts of one upload, embedded files
included: bytes unpacked and wall-clock time. Running out is a finding too (the file is
"too complex"), so a worker is never held by one upload.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext

from portal import i18n
from portal.filetype.formats import ARCHIVES, is_executable, is_macro_enabled
from portal.i18n import N_

MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # all parts of one upload together (zip, PDF, OLE)
MAX_UNPACK_RATIO = 200  # declared unpacked size per packed byte in one zip
MAX_PART_BYTES = 16 * 1024 * 1024  # one XML part we parse, one embedded file we inspect
MAX_SECONDS = 1.5  # CPU seconds of inspection per upload (the promise: under 2 s);
# CPU time, not wall time, so a busy machine does not turn good files into refusals.
MAX_DEPTH = 3  # files inside files inside files
CHUNK = 256 * 1024  # read size for streamed passes


@dataclass(frozen=True)
class Finding:
    mime: str | None  # refined type, None when undecidable
    problem: str | None = None  # refusal code that follows from the content itself
    detail: str = ""  # why, in words that can go into a message


class TooMuchData(Exception):
    """A compressed part unpacks to more than we are willing to inspect."""


class TooComplex(Exception):
    """The inspection ran out of time."""


class Budget:
    """Bytes we still agree to unpack and the CPU time we still give, for one upload."""

    def __init__(self, limit: int = MAX_UNPACKED_BYTES, seconds: float = MAX_SECONDS) -> None:
        self.limit = limit
        self.left = limit
        self.deadline = time.thread_time() + seconds

    def spend(self, n: int) -> None:
        """Count `n` unpacked bytes; raise TooMuchData once over the limit."""
        self.left -= n
        if self.left < 0:
            raise TooMuchData(gettext("over %(size)s unpacked", size=i18n.format_size(self.limit)))

    def tick(self) -> None:
        """Raise TooComplex once the time is up (called between units of work)."""
        if time.thread_time() > self.deadline:
            raise TooComplex


def size_of(f: BinaryIO) -> int:
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    return size


def read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def chunks(f: BinaryIO) -> Iterator[bytes]:
    f.seek(0)
    while chunk := f.read(CHUNK):
        yield chunk


def embedded_problem(finding: Finding, name: str) -> tuple[str, str] | None:
    """What a file found inside another one makes of the whole: only the risky verdicts count
    (an Excel chart's workbook, an embedded PDF or a picture are fine)."""
    inside = gettext("inside it: %(name)s", name=name) if name else N_("a file inside it")
    if finding.problem in ("file_compression_bomb", "file_too_complex"):
        return finding.problem, finding.detail or inside
    if finding.problem in (
        "file_macros",
        "file_executable",
        "file_active_content",
        "file_remote_content",
        "file_embedded_files",
    ):
        return finding.problem, finding.detail or inside
    if finding.mime and is_macro_enabled(finding.mime):
        return "file_macros", inside
    if finding.mime and is_executable(finding.mime):
        return "file_executable", name or N_("a file inside it")
    if finding.mime in ARCHIVES:
        return "file_embedded_files", gettext("an archive %(inside)s", inside=gettext(inside))
    return None
