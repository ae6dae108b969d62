"""Rich Text: objects, remote templates and fields, read by oletools' RTF parser.

``rtfobj`` finds every ``\\objdata`` however it is obfuscated (whitespace and junk in the
hex, odd nesting, a missing ``\\objclass``); an RTF CV has no business carrying an object,
so any object is refused (OLE Packages, Equation Editor objects, ``\\objupdate`` links).
The same single pass collects ``{\\*\\template …}`` and every ``\\fldinst``: a template on
another server, and DDE / INCLUDE* / IMPORT fields, are refused. Pictures and HYPERLINK
fields are what CVs have, and stay fine.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, BinaryIO

from oletools import rtfobj

from portal.filetype.formats import RTF, field_problem
from portal.filetype.limits import Budget, Finding, TooComplex

Inspector = Callable[[bytes], Finding]

MAX_DESTINATION_TEXT = 64 * 1024  # of one field instruction or template path we keep
logging.getLogger("rtfobj").setLevel(logging.CRITICAL)


class _Reader(rtfobj.RtfObjParser):
    """rtfobj's parser, also keeping templates and field instructions, on a time budget."""

    def __init__(self, data: bytes, budget: Budget) -> None:
        super().__init__(data)
        self.budget = budget
        self.templates: list[bytes] = []
        self.fields: list[bytes] = []
        self.object_words = 0
        self._groups = 0

    def _open_group(self) -> None:
        self._groups += 1
        if self._groups % 4096 == 0:
            self.budget.tick()
        super()._open_group()

    def control_word(self, matchobject: Any, cword: bytes, param: Any) -> None:
        if cword in (b"object", b"objemb", b"objlink", b"objautlink", b"objupdate"):
            self.object_words += 1
        if cword == b"u" and param is not None and self._keeps_text():
            # \uN is a character: \u92 is a backslash. Kept as markup for _plain.
            self.current_destination.data += b"\\u%d " % int(param)
        super().control_word(matchobject, cword, param)

    def control_symbol(self, matchobject: Any) -> None:
        # rtfobj keeps only plain text in a destination; escaped characters matter here
        # (\\\\host is a UNC path): keep them as markup for _plain.
        if self._keeps_text():
            symbol = matchobject.group()
            if symbol == b"\\'":  # \'hh: rtfobj skips the two hex digits itself
                symbol += self.data[matchobject.end() : matchobject.end() + 2]
            self.current_destination.data += symbol
        super().control_symbol(matchobject)

    def _keeps_text(self) -> bool:
        return self.current_destination.cword in (b"template", b"fldinst")

    def close_destination(self, destination: Any) -> None:
        if destination.cword == b"template":
            self.templates.append(bytes(destination.data[:MAX_DESTINATION_TEXT]))
        elif destination.cword == b"fldinst":
            self.fields.append(bytes(destination.data[:MAX_DESTINATION_TEXT]))
        super().close_destination(destination)


def inspect_rtf(f: BinaryIO, size: int, budget: Budget, inspect: Inspector) -> Finding:
    """Refuse RTF with objects, a remote template or fields that run or fetch things."""
    f.seek(0)
    reader = _Reader(f.read(), budget)
    try:
        reader.parse()
    except TooComplex:
        return Finding(RTF, "file_too_complex")
    except Exception:  # rtfobj on hostile input: treat as unreadable
        return Finding(RTF, "file_damaged", "a Rich Text reader cannot make sense of it")
    if reader.objects or reader.object_words:
        return Finding(RTF, "file_embedded_files", "an embedded object")
    for template in reader.templates:
        if _remote(template):
            return Finding(RTF, "file_remote_content", "a template on another server")
    for instruction in reader.fields:
        words = _field(instruction)
        if words:
            return Finding(RTF, "file_remote_content", words)
    return Finding(RTF)


def _remote(path: bytes) -> bool:
    text = _plain(path).strip().lower()
    return "://" in text or text.startswith(("\\\\", "//", "file:", "mhtml:"))


def _field(instruction: bytes) -> str:
    return field_problem(_plain(instruction))


def _plain(data: bytes) -> str:
    """Destination text without RTF markup: control words dropped, \\\\ and \\' kept as text."""
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        ch = data[i]
        if ch == 0x5C and i + 1 < n:  # backslash
            nxt = data[i + 1]
            if nxt in b"\\{}":
                out.append(chr(nxt))
                i += 2
            elif nxt == 0x27 and i + 3 < n + 1:  # \'hh
                with contextlib.suppress(ValueError):
                    out.append(bytes.fromhex(data[i + 2 : i + 4].decode("ascii")).decode("cp1252"))
                i += 4
            else:
                j = i + 1
                while j < n and j - i < 40 and (chr(data[j]).isalnum() or data[j] == 0x2D):
                    j += 1
                word = data[i + 1 : j]
                if j < n and data[j] == 0x20:
                    j += 1
                if word[:1] == b"u" and word[1:].lstrip(b"-").isdigit():  # \uN: a character
                    out.append(chr(int(word[1:]) % 65536))
                    if j < n and data[j] == 0x3F:  # the ANSI fallback ("?") after it
                        j += 1
                else:
                    out.append(" ")
                i = j
        elif ch in b"{}\r\n":
            i += 1
        else:
            out.append(chr(ch))
            i += 1
    return "".join(out)
