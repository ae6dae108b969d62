"""PNG and JPEG, read by Pillow, and walked to their end.

Pillow's ``verify`` checks the structure (PNG CRCs) and a full ``load`` decodes every pixel,
so a truncated image is refused as damaged. The file must end where the image ends: a PNG at
its IEND chunk, a JPEG at its EOI marker (or at the last picture of a multi-picture file),
so nothing can ride along after the picture (a PHP script, a ZIP).
"""

from __future__ import annotations

import struct
import warnings
from typing import BinaryIO

from PIL import Image

from portal.filetype.formats import PNG
from portal.filetype.limits import Finding, read_at
from portal.i18n import N_

MAX_PIXELS = 50_000_000  # larger than any camera's; decoding more is a bomb
_TRAILING = N_("there is other data after the end of the image")
_PADDING = frozenset(b"\x00\xff\r\n ")  # what some writers leave after the end


def inspect_image(f: BinaryIO, size: int, mime: str) -> Finding:
    """Decode the whole image and find where it ends."""
    damaged = Finding(mime, "file_damaged", N_("the image is incomplete or broken"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            f.seek(0)
            with Image.open(f) as im:
                if im.width * im.height > MAX_PIXELS:
                    return Finding(mime, "file_compression_bomb", N_("far too many pixels"))
                im.verify()
            f.seek(0)
            with Image.open(f) as im:
                im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Finding(mime, "file_compression_bomb", N_("far too many pixels"))
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError):
        return damaged
    end = _png_end(f, size) if mime == PNG else _jpeg_end(f, size)
    if end is None:
        return damaged
    if end < size and not set(read_at(f, end, min(size - end, 4096))) <= _PADDING:
        return Finding(mime, "file_damaged", _TRAILING)
    if end < size and size - end > 4096:
        return Finding(mime, "file_damaged", _TRAILING)
    return Finding(mime)


def _png_end(f: BinaryIO, size: int) -> int | None:
    """Offset just past the IEND chunk, walking chunk lengths (one read per chunk header)."""
    pos = 8
    while pos + 12 <= size:
        header = read_at(f, pos, 8)
        length, kind = struct.unpack(">I4s", header)
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return None


def _jpeg_end(f: BinaryIO, size: int) -> int | None:
    """Offset just past the last EOI of the file's pictures (MPF files hold several)."""
    end = _one_jpeg_end(f, 0, size)
    while end is not None and end < size and read_at(f, end, 2) == b"\xff\xd8":
        end = _one_jpeg_end(f, end, size)  # the next picture of a multi-picture file
    return end


def _one_jpeg_end(f: BinaryIO, start: int, size: int) -> int | None:
    """Walk segments by their lengths; through scan data, look for the next marker."""
    pos = start + 2
    while pos + 2 <= size:
        marker = read_at(f, pos, 4)
        if marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind == 0xFF:  # fill byte
            pos += 1
            continue
        if kind == 0xD9:
            return pos + 2
        if 0xD0 <= kind <= 0xD7 or kind == 0x01:
            pos += 2
            continue
        if len(marker) < 4:
            return None
        (length,) = struct.unpack(">H", marker[2:4])
        pos += 2 + length
        if kind == 0xDA:  # start of scan: entropy-coded data until a real marker
            pos = _after_scan(f, pos, size)
            if pos is None:
                return None
    return None


def _after_scan(f: BinaryIO, pos: int, size: int) -> int | None:
    """The offset of the first marker after scan data (0xFF not followed by 00 or RSTn)."""
    while pos < size:
        block = read_at(f, pos, 256 * 1024 + 1)
        at = block.find(b"\xff")
        while 0 <= at < len(block) - 1:
            nxt = block[at + 1]
            if nxt != 0x00 and not 0xD0 <= nxt <= 0xD7 and nxt != 0xFF:
                return pos + at
            at = block.find(b"\xff", at + 1)
        if len(block) <= 1:
            return None
        pos += len(block) - 1
    return None
