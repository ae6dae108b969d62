"""Rich Text: objects, remote templates and fields.

RTF's control words are literal (Word reads ``\\objdata`` only when it is spelt so), which
gives a linear first pass with ``bytes.find``: any ``\\obj…`` control word (``\\object``,
``\\objdata``, ``\\objemb``, ``\\objupdate``, …) means an embedded object, and an RTF CV has no
business carrying one (OLE Packages, Equation Editor objects, links), so it is refused.
Files up to 1 MB are also read by oletools' ``rtfobj`` (the maintained RTF object parser,
which knows the obfuscations: junk in the hex, odd nesting, ``\\bin``), as a second opinion;
it is pure Python, too slow for the largest files within our time budget.

Each ``{\\*\\template …}`` and ``\\fldinst`` group is then read as Word reads it (escaped and
``\\'hh`` / ``\\uN`` characters decoded, formatting dropped, nested fields replaced by their
results), and a template on another server or a DDE / INCLUDE* / IMPORT / LINK / DATABASE
field is refused. ``\\upr`` groups are read by their ``\\ud`` (Unicode) alternative, as Word
reads them; a nested field counts by what Word computes (a ``QUOTE`` of text or character
codes worked out), never by the result the file stored. A ``\\datastore`` is an OLE 1.0
object like ``\\objdata``: Word's own (an MSXML reader's storage) is checked as a file of its
own, any other is refused.
Pictures and HYPERLINK fields are what CVs have, and stay fine.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterator
from typing import BinaryIO

from portal.filetype.formats import (
    COMPUTED_FIELD,
    RTF,
    field_problem,
    local_target,
    quote_value,
)
from portal.filetype.limits import Budget, Finding, TooComplex, TooMuchData, embedded_problem
from portal.i18n import N_

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # oletools' old pyparsing names
    from oletools import oleobj, rtfobj

Inspector = Callable[[bytes], Finding]

MAX_RTFOBJ_BYTES = 1024 * 1024  # rtfobj's pure-Python pass, as a second opinion
MAX_DESTINATION = 64 * 1024  # bytes of one template or field group we read
MAX_GROUPS = 100_000  # template and field groups we read in one file
MAX_NESTING = 8  # fields inside fields we evaluate
MAX_DATASTORE_HEX = 8 * 1024 * 1024  # Word's own is a few KB
_SPECIAL = re.compile(rb"[\\{}]")  # one character class: linear, no repetition
_BREAKS = {b"par", b"line", b"tab", b"cell", b"sect", b"page"}
logging.getLogger("rtfobj").setLevel(logging.CRITICAL)
logging.getLogger("oleobj").setLevel(logging.CRITICAL)


def inspect_rtf(f: BinaryIO, size: int, budget: Budget, inspect: Inspector) -> Finding:
    """Refuse RTF with objects, a remote template or fields that run or fetch things."""
    f.seek(0)
    data = f.read()
    try:
        if next(_control_words(data, b"obj"), None) is not None or _rtfobj_objects(data):
            return Finding(RTF, "file_embedded_files", N_("an embedded object"))
        for count, at in enumerate(_control_words(data, b"datastore")):
            if count >= MAX_GROUPS:
                return Finding(RTF, "file_too_complex")
            problem = _datastore_problem(data, at + len(b"\\datastore"), budget, inspect)
            if problem:
                return Finding(RTF, *problem)
        for count, at in enumerate(_control_words(data, b"template")):
            if count >= MAX_GROUPS:
                return Finding(RTF, "file_too_complex")
            if _remote(_destination_text(data, _escape(data, at + 1, len(data))[0], budget)):
                return Finding(RTF, "file_remote_content", N_("a template on another server"))
        for count, at in enumerate(_control_words(data, b"fldinst")):
            if count >= MAX_GROUPS:
                return Finding(RTF, "file_too_complex")
            # After the control word and any parameter it has (\\fldinst1 is \\fldinst).
            words = field_problem(
                _destination_text(data, _escape(data, at + 1, len(data))[0], budget)
            )
            if words:
                return Finding(RTF, "file_remote_content", words)
    except (TooComplex, TooMuchData):
        return Finding(RTF, "file_too_complex")
    return Finding(RTF)


def _datastore_problem(
    data: bytes, start: int, budget: Budget, inspect: Inspector
) -> tuple[str, str] | None:
    """Judge a ``\\datastore`` as Word reads it: an OLE 1.0 object like ``\\objdata``. Word
    2007 and later write one holding an MSXML reader's empty storage; that one is checked as
    a file of its own, any other object (or anything that is not plain hex) is refused."""
    end = min(len(data), start + MAX_DATASTORE_HEX + 1)
    stop = data.find(b"}", start, end)
    if stop < 0:
        return "file_embedded_files", N_("an embedded object")
    budget.spend(stop - start)  # what we scanned, so many \\datastore words cannot add up
    text = data[start:stop].translate(None, b" \r\n\t")
    try:
        raw = bytes.fromhex(text.decode("ascii"))
        obj = oleobj.OleObject()
        obj.parse(raw)
    except Exception:  # not hex, or not an OLE 1.0 object: we cannot tell what Word makes of it
        return "file_embedded_files", N_("an embedded object")
    class_name = (
        obj.class_name.decode("latin-1")
        if isinstance(obj.class_name, bytes)
        else str(obj.class_name)
    )
    if not class_name.rstrip("\x00").lower().startswith("msxml2.saxxmlreader"):
        return "file_embedded_files", N_("an embedded object")
    return embedded_problem(inspect(bytes(obj.data or b"")), "")


def _rtfobj_objects(data: bytes) -> bool:
    """rtfobj's verdict on small files: did it find any object?"""
    if len(data) > MAX_RTFOBJ_BYTES:
        return False
    parser = rtfobj.RtfObjParser(data)
    try:
        parser.parse()
    except Exception:  # rtfobj on hostile input: our own pass has spoken already
        return False
    return bool(parser.objects)


def _control_words(data: bytes, prefix: bytes) -> Iterator[int]:
    """Offsets of control words starting with `prefix` (``\\\\obj`` is text: an escaped
    backslash, then letters)."""
    needle = b"\\" + prefix
    at = data.find(needle)
    while at >= 0:
        run, i = 0, at
        while i > 0 and data[i - 1] == 0x5C:  # backslashes right before ours
            run, i = run + 1, i - 1
        if run % 2 == 0:
            yield at
        at = data.find(needle, at + len(needle))


def _destination_text(data: bytes, start: int, budget: Budget) -> str:
    """The text of the group that `start` is in, up to its closing brace, as Word reads it."""
    return _group_text(data, start, min(len(data), start + MAX_DESTINATION), budget, 0)[0]


def _group_text(data: bytes, start: int, end: int, budget: Budget, level: int) -> tuple[str, int]:
    """(text, position after the closing brace) of the group `start` is in: escapes decoded,
    control words and ignorable destinations dropped, the Unicode alternative of ``\\upr``
    read instead of its ANSI one (as Word does), and a nested field counted by what Word
    computes (a QUOTE worked out; any other in the name position refused), not by the result
    the file stored."""
    budget.tick()
    out: list[str] = []
    depth, skip_from = 0, None  # skip_from: depth of a group we are skipping
    skip_next_group = skip_result = named = False  # named: text before this point?
    pos = start
    while pos < end:
        match = _SPECIAL.search(data, pos, end)
        stop = match.start() if match else end
        if skip_from is None:
            out.append(
                data[pos:stop].replace(b"\r", b"").replace(b"\n", b"").decode("cp1252", "replace")
            )
            named = named or bool(out[-1].strip())
        if match is None:
            pos = end
            break
        char = data[stop : stop + 1]
        pos = stop + 1
        if char == b"{":
            depth += 1
            if skip_from is not None:
                continue
            head = data[pos : pos + 12]
            if skip_next_group:  # \upr's ANSI alternative
                skip_next_group, skip_from = False, depth
            elif _is_word(head, b"\\*\\ud"):
                pass  # read, as Word reads it
            elif _is_word(head, b"\\*\\fldinst") or _is_word(head, b"\\fldinst"):
                if level >= MAX_NESTING:
                    out.append(COMPUTED_FIELD)
                    skip_from = depth
                    continue
                after, _ = _escape(data, pos + (3 if head.startswith(b"\\*") else 1), end)
                inner, pos = _group_text(data, after, end, budget, level + 1)
                depth -= 1  # its closing brace was read by the nested call
                value = quote_value(inner)
                if value is None and not named:
                    value = COMPUTED_FIELD
                if value is not None:
                    out.append(value)
                    named = named or bool(value.strip())
                    skip_result = True
            elif skip_result and _is_word(head, b"\\fldrslt"):
                skip_result, skip_from = False, depth
            elif head.startswith(b"\\*"):
                skip_from = depth
        elif char == b"}":
            if skip_from == depth:
                skip_from = None
            depth -= 1
            if depth < 0:
                break
        else:
            word_at = pos
            pos, text = _escape(data, pos, end)
            if skip_from is None:
                out.append(text)
                named = named or bool(text.strip())
                if (
                    data[word_at : word_at + 3] == b"upr"
                    and not data[word_at + 3 : word_at + 4].isalpha()
                ):
                    skip_next_group = True
    return "".join(out), pos


def _is_word(head: bytes, word: bytes) -> bool:
    """Tell whether `head` starts with control word `word` (not a longer one)."""
    return head.startswith(word) and not head[len(word) : len(word) + 1].isalpha()


def _escape(data: bytes, pos: int, end: int) -> tuple[int, str]:
    """Read what follows a backslash at pos-1: (new position, text it stands for)."""
    nxt = data[pos : pos + 1]
    if nxt in (b"\\", b"{", b"}"):
        return pos + 1, nxt.decode()
    if nxt == b"'":
        try:
            return pos + 3, bytes.fromhex(data[pos + 1 : pos + 3].decode("ascii")).decode("cp1252")
        except (ValueError, UnicodeDecodeError):
            return pos + 3, ""
    j = pos
    while j < end and j - pos < 32 and (data[j : j + 1].isalpha()):
        j += 1
    word = data[pos:j]
    k = j
    while (
        k < end
        and k - j < 11
        and (data[k : k + 1].isdigit() or (k == j and data[k : k + 1] == b"-"))
    ):
        k += 1
    param = data[j:k]
    if k < end and data[k : k + 1] == b" ":
        k += 1
    if not word:
        return pos + 1, ""  # a control symbol (\~, \-, \*): no text for us
    if word == b"u" and param.lstrip(b"-").isdigit():
        if data[k : k + 1] == b"?":  # the usual one-character ANSI fallback
            k += 1
        return k, chr(int(param) % 65536)
    return k, " " if word in _BREAKS else ""


def _remote(path: str) -> bool:
    text = path.strip()
    return "://" in text or local_target(text)
