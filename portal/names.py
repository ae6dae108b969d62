"""File names: one rule set for names we show, quote in messages, send and put in headers.

Every name goes through `_visible` first (no controls, no bidi or zero-width tricks, no lone
surrogates, NFC, runs of white space as one space); then each use adds what it needs:
`display_name` for downloads and lists, `quoted_name` inside a refusal message,
`clean_filename` for the name we send to the ATS (with the detected type's extension).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME_LENGTH = 150  # counted in UTF-16 code units, so JavaScript-based ATSs agree
_INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_WINDOWS_FORBIDDEN = frozenset('<>:"|?*')  # so the recruiter can save the download anywhere
# Endings that are a file type, so a wrong one is replaced rather than kept in the stem.
_KNOWN_EXTENSIONS = frozenset(
    [
        "pdf",
        "doc",
        "docx",
        "docm",
        "dot",
        "dotx",
        "dotm",
        "odt",
        "ott",
        "fodt",
        "rtf",
        "txt",
        "text",
        "md",
        "markdown",
        "png",
        "jpg",
        "jpeg",
        "jpe",
        "jfif",
        "gif",
        "tif",
        "tiff",
        "webp",
        "heic",
        "heif",
        "avif",
        "bmp",
        "svg",
        "html",
        "htm",
        "xhtml",
        "xml",
        "xls",
        "xlsx",
        "xlsm",
        "ods",
        "csv",
        "ppt",
        "pptx",
        "pptm",
        "odp",
        "key",
        "pages",
        "numbers",
        "wpd",
        "wps",
        "zip",
        "rar",
        "7z",
        "gz",
        "tgz",
        "tar",
        "bz2",
        "xz",
        "exe",
        "msi",
        "bat",
        "cmd",
        "sh",
        "ps1",
        "js",
        "php",
        "py",
        "jar",
        "apk",
        "dmg",
        "iso",
        "bin",
        "dat",
        "json",
        "eml",
        "msg",
        "epub",
    ]
)


def _visible(name: str, *, slash: str, forbidden: frozenset[str] = frozenset()) -> str:
    """The shared rule: drop what cannot be seen or would mislead, then normalise."""
    kept = "".join(
        " " if ch in "\t\r\n" else slash if ch in "/\\" else ch
        for ch in name
        if (unicodedata.category(ch) not in _INVISIBLE or ch in "\t\r\n") and ch not in forbidden
    )
    return " ".join(unicodedata.normalize("NFC", kept).split())


def display_name(name: str) -> str:
    """A file name from the ATS made safe to show and to put in a header (no controls, no bidi tricks)."""
    return _visible(name, slash="_")[:200] or "attachment"


def quoted_name(name: str) -> str:
    """The user's file name made safe to quote in a message (no bidi tricks, bounded)."""
    text = _visible(name, slash="", forbidden=_WINDOWS_FORBIDDEN)
    if not text:
        return "your file"
    return text if len(text) <= 80 else text[:79] + "\u2026"


def clean_filename(name: str, extensions: tuple[str, ...] | None) -> str:
    """The name to send: safe anywhere, at most 150 UTF-16 units, ending in one of
    `extensions` (the first is the type's own; None keeps the name's ending)."""
    text = _visible(name or "", slash="", forbidden=_WINDOWS_FORBIDDEN)
    stem, extension = _split_extension(text, extensions)
    stem = stem.strip(" .")  # no hidden files, no Windows-invalid trailing dots
    stem = _cut_to_fit(stem, MAX_NAME_LENGTH - _utf16_len(extension)).rstrip(" .")
    return (stem or "document") + extension


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


def _split_extension(text: str, extensions: tuple[str, ...] | None) -> tuple[str, str]:
    """Split off the user's extension and choose the one to send."""
    if extensions is None:
        return text, ""  # unknown type: leave the name's own ending alone
    base, dot, suffix = text.rpartition(".")
    suffix = "." + suffix.lower() if dot else ""
    if suffix in extensions:
        return base, suffix
    if suffix[1:] in _KNOWN_EXTENSIONS:
        # A wrong extension (cv.pdf that is a DOCX): replace it; "cv.pdf.exe" becomes "cv.pdf".
        inner, dot, inner_suffix = base.rpartition(".")
        if dot and "." + inner_suffix.lower() in extensions:
            return inner, "." + inner_suffix.lower()
        return base, extensions[0]
    return text, extensions[0]  # no extension, or a dot that is part of the name


def _cut_to_fit(stem: str, budget: int) -> str:
    """Longest prefix within `budget` UTF-16 units that does not split a character cluster."""
    end, used = 0, 0
    for ch in stem[: max(budget, 0)]:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            break
        end += 1
    if end == len(stem):
        return stem
    while end > 0 and _continues_cluster(stem[end]):
        end -= 1  # the cut would strip an accent or modifier from its base: drop the base too
    indicators = 0
    while end - indicators > 0 and _is_regional_indicator(stem[end - 1 - indicators]):
        indicators += 1
    if indicators % 2 and _is_regional_indicator(stem[end]):
        end -= 1  # do not keep half of a flag
    return unicodedata.normalize("NFC", stem[:end])


def _continues_cluster(ch: str) -> bool:
    """Tell whether `ch` attaches to the character before it (approximate grapheme rules)."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0x1160 <= code <= 0x11FF  # Hangul medial vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
