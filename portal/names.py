"""File names: one rule for names we show, send and put in headers."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


def display_name(name: str) -> str:
    """A file name from the ATS made safe to show and to put in a header (no controls, no bidi tricks)."""
    name = unicodedata.normalize("NFC", name)
    cleaned = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in name
        if unicodedata.category(ch) not in _INVISIBLE or ch in "\t\r\n"
    )
    cleaned = cleaned.replace("/", "_").replace("\\", "_")
    cleaned = " ".join(cleaned.split())[:200]
    return cleaned or "attachment"


def disposition(name: str) -> str:
    """RFC 6266 Content-Disposition: attachment with an ASCII fallback and filename* in UTF-8."""
    name = display_name(name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = (
        "".join(c if c.isprintable() and c not in '"\\%;' else "_" for c in ascii_name).strip()
        or "attachment"
    )
    if ascii_name.startswith(".") or "." not in ascii_name and "." in name:
        ascii_name = "attachment" + (name[name.rfind(".") :] if name.rfind(".") > 0 else "")
        ascii_name = ascii_name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
