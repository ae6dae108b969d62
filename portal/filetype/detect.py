"""The first look: libmagic on the whole file, then the parser made for the format.

libmagic sees the whole file through its descriptor (legacy Office is only recognised that
way, and ``from_buffer`` on a prefix is wrong for OOXML; see shared/notes/mime.md). Anything
starting with ``PK\\x03\\x04`` goes to the zip reader whatever libmagic says (5.46 calls
some Word files octet-stream); OLE2 files go to olefile/oletools.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import magic

from portal.filetype import images, office, ole, pdf, rtf
from portal.filetype.formats import FORMATS, JPEG, OCTET_STREAM, PDF, PNG, RTF, canonical
from portal.filetype.limits import MAX_DEPTH, Budget, Finding, read_at
from portal.i18n import N_

_CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURE = b"PK\x03\x04"


def inspect(f: BinaryIO, size: int, budget: Budget, depth: int = 0) -> Finding:
    """Type the file and note any problem that forbids sending it."""
    if size == 0:
        return Finding(None, "file_empty")
    if depth > MAX_DEPTH:
        return Finding(None, "file_too_complex", N_("files nested too deeply inside each other"))
    budget.tick()
    found = canonical(libmagic(f))
    head = read_at(f, 0, 8)
    if head.startswith(_ZIP_SIGNATURE):
        return office.inspect_zip(f, size, budget, _nested(budget, depth))
    if head == _CFB_SIGNATURE:
        # Word 2007+ keeps theme packages (real zips) inside .doc streams: no polyglot check.
        return ole.inspect_cfb(f, found, budget, _nested(budget, depth))
    if found == PDF:
        finding = pdf.inspect_pdf(f, size, budget)
    elif found == RTF:
        finding = rtf.inspect_rtf(f, size, budget, _nested(budget, depth))
    elif found in (PNG, JPEG):
        finding = images.inspect_image(f, size, found)
    elif found in (OCTET_STREAM, "inode/x-empty", "application/x-empty"):
        if b"%PDF-" in read_at(f, 0, 1024):
            # Readers tolerate junk before the header (a mail gateway's, a download script's);
            # an ATS's parser may not, and we cannot check what we cannot type: say what it is.
            return Finding(None, "file_damaged", N_("there is other data before the PDF starts"))
        return Finding(None)
    else:
        finding = Finding(found)
    if finding.problem is None and finding.mime in FORMATS and office.has_hidden_zip(f, size):
        return Finding(finding.mime, "file_archive", N_("a ZIP archive appended to it"))
    return finding


def inspect_bytes(data: bytes, budget: Budget, depth: int) -> Finding:
    """Inspect a file found inside another one (an embedding, a package payload)."""
    return inspect(io.BytesIO(data), len(data), budget, depth)


def _nested(budget: Budget, depth: int):  # noqa: ANN202 - a small closure
    """How a container inspects what it holds: the same check, one level deeper."""
    return lambda data: inspect_bytes(data, budget, depth + 1)


def libmagic(f: BinaryIO) -> str:
    """Ask libmagic about the whole file through its descriptor."""
    try:
        fd = f.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        # In-memory objects (BytesIO: embedded parts, tests) land here; uploads are temp files.
        f.seek(0)
        try:
            return _MAGIC.from_buffer(f.read())
        except magic.MagicException:
            return OCTET_STREAM
    f.flush()  # a write-mode temp file may still hold bytes in Python's buffer
    # libmagic reads from the descriptor's current offset and puts it back afterwards, but
    # Python's buffered reader may have left the offset anywhere: pin it, then restore it.
    saved = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        return _MAGIC.from_descriptor(fd)
    except magic.MagicException:
        return OCTET_STREAM  # libmagic could not read it: undecidable, hence refused
    finally:
        os.lseek(fd, saved, os.SEEK_SET)
        f.seek(0)


_MAGIC = magic.Magic(mime=True)  # one per process: python-magic serialises calls with a lock
