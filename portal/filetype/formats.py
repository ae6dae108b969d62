"""The formats we know: MIME types, what people call them, extensions, and categories.

Pure data and small lookups; no parsing here. Messages never show a MIME type: a recruiter
reads "a program" or "an Excel spreadsheet (.xlsx)", never "application/x-dosexec".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

from portal import i18n
from portal.i18n import N_

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
ODT = "application/vnd.oasis.opendocument.text"
RTF = "application/rtf"
TXT = "text/plain"
PNG = "image/png"
JPEG = "image/jpeg"

CONTENT_TYPE_PATTERN = re.compile(r"^[\w.-]+/[\w.-]+$", re.ASCII)  # Kombo's own pattern

OCTET_STREAM = "application/octet-stream"
ZIP = "application/zip"
ENCRYPTED = "application/encrypted"
IWORK = "application/vnd.apple.iwork"
OLE_STORAGE = "application/x-ole-storage"


@dataclass(frozen=True)
class Format:
    # Lazy: each reader gets them in their language.
    label: LazyString  # for lists: "Word (.docx)"
    phrase: LazyString  # for sentences: "a Word document (.docx)"
    extensions: tuple[str, ...]  # the first one is what we send


FORMATS: dict[str, Format] = {
    PDF: Format(_l("PDF"), _l("a PDF"), (".pdf",)),
    DOCX: Format(_l("Word (.docx)"), _l("a Word document (.docx)"), (".docx",)),
    DOC: Format(_l("Word 97-2003 (.doc)"), _l("a Word 97-2003 document (.doc)"), (".doc",)),
    ODT: Format(_l("OpenDocument text (.odt)"), _l("an OpenDocument text (.odt)"), (".odt",)),
    RTF: Format(_l("Rich Text (.rtf)"), _l("a Rich Text file (.rtf)"), (".rtf",)),
    TXT: Format(_l("Plain text (.txt)"), _l("a plain-text file"), (".txt",)),
    PNG: Format(_l("PNG image"), _l("a PNG image"), (".png",)),
    JPEG: Format(_l("JPEG image"), _l("a JPEG image"), (".jpg", ".jpeg")),
}
DOCUMENTS = (PDF, DOCX, DOC, ODT, RTF, TXT)
PORTAL_ALLOWED: dict[str, tuple[str, ...]] = {
    "CV": DOCUMENTS,
    "COVER_LETTER": DOCUMENTS,
    "OTHER": (*DOCUMENTS, PNG, JPEG),
}
# What the file picker may offer beyond the extensions we send (Markdown is plain text).
PICKER_EXTRA = {TXT: (".md", ".markdown"), JPEG: (".jpeg",)}
SLOT_NOUNS = {
    "CV": (_l("a CV"), _l("CVs")),
    "COVER_LETTER": (_l("a cover letter"), _l("cover letters")),
    "OTHER": (_l("an attachment"), _l("other files")),
}

# Other spellings of our types seen from libmagic versions and in ATS lists.
ALIASES = {
    "text/rtf": RTF,
    "application/x-rtf": RTF,
    "application/x-pdf": PDF,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "image/x-ms-bmp": "image/bmp",
}

_OOXML = "application/vnd.openxmlformats-officedocument."
DOTX = _OOXML + "wordprocessingml.template"
XLSX = _OOXML + "spreadsheetml.sheet"
XLTX = _OOXML + "spreadsheetml.template"
PPTX = _OOXML + "presentationml.presentation"
PPSX = _OOXML + "presentationml.slideshow"
POTX = _OOXML + "presentationml.template"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"
DOTM = "application/vnd.ms-word.template.macroEnabled.12"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
XLTM = "application/vnd.ms-excel.template.macroEnabled.12"
PPTM = "application/vnd.ms-powerpoint.presentation.macroEnabled.12"
PPSM = "application/vnd.ms-powerpoint.slideshow.macroEnabled.12"
POTM = "application/vnd.ms-powerpoint.template.macroEnabled.12"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"

# [Content_Types].xml main-part content type (lower case) -> the package's registered type.
OOXML_MAIN = {
    _OOXML + "wordprocessingml.document.main+xml": DOCX,
    _OOXML + "wordprocessingml.template.main+xml": DOTX,
    "application/vnd.ms-word.document.macroenabled.main+xml": DOCM,
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": DOTM,
    _OOXML + "spreadsheetml.sheet.main+xml": XLSX,
    _OOXML + "spreadsheetml.template.main+xml": XLTX,
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": XLSM,
    "application/vnd.ms-excel.template.macroenabled.main+xml": XLTM,
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": (
        "application/vnd.ms-excel.sheet.binary.macroEnabled.12"
    ),
    "application/vnd.ms-excel.addin.macroenabled.main+xml": (
        "application/vnd.ms-excel.addin.macroEnabled.12"
    ),
    _OOXML + "presentationml.presentation.main+xml": PPTX,
    _OOXML + "presentationml.slideshow.main+xml": PPSX,
    _OOXML + "presentationml.template.main+xml": POTX,
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": PPTM,
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml": PPSM,
    "application/vnd.ms-powerpoint.template.macroenabled.main+xml": POTM,
    "application/vnd.ms-powerpoint.addin.macroenabled.main+xml": (
        "application/vnd.ms-powerpoint.addin.macroEnabled.12"
    ),
}
# A vbaProject.bin makes any package macro-enabled, whatever its content types claim.
WITH_VBA = {DOCX: DOCM, DOTX: DOTM, XLSX: XLSM, XLTX: XLTM, PPTX: PPTM, PPSX: PPSM, POTX: POTM}
ODF_TYPES = frozenset(
    "application/vnd.oasis.opendocument." + kind
    for kind in (
        "text",
        "text-template",
        "text-master",
        "text-web",
        "spreadsheet",
        "spreadsheet-template",
        "presentation",
        "presentation-template",
        "graphics",
        "graphics-template",
        "chart",
        "chart-template",
        "formula",
        "formula-template",
        "image",
        "image-template",
        "base",
    )
)
TEMPLATES = frozenset({DOTX, XLTX, POTX} | {t for t in ODF_TYPES if t.endswith("-template")})

ARCHIVES = frozenset(
    {
        ZIP,
        "application/gzip",
        "application/x-gzip",
        "application/x-7z-compressed",
        "application/x-rar",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-tar",
        "application/x-bzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/x-zstd",
        "application/x-lzip",
        "application/x-lzma",
        "application/x-compress",
        "application/x-cpio",
        "application/x-archive",
        "application/java-archive",
        "application/vnd.android.package-archive",
        "application/x-iso9660-image",
        "application/x-apple-diskimage",
        "application/vnd.ms-cab-compressed",
        "application/x-arj",
        "application/x-lha",
        "application/x-lzh-compressed",
        "application/x-stuffit",
        "application/x-xar",
        "application/x-rpm",
        "application/vnd.debian.binary-package",
        "application/epub+zip",
    }
)
EXECUTABLES = frozenset(
    {
        "application/x-executable",
        "application/x-pie-executable",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/x-dosexec",
        "application/x-msdownload",
        "application/vnd.microsoft.portable-executable",
        "application/x-msi",
        "application/x-ms-installer",
        "application/x-object",
        "application/x-coredump",
        "application/x-elf",
        "application/x-java-applet",
        "application/x-bytecode.python",
        "application/wasm",
        "application/x-ms-shortcut",
        "application/x-ms-ne-executable",
        "application/javascript",
        "text/javascript",
        "application/hta",
        "text/x-php",
        "text/x-python",
        "text/x-perl",
        "text/x-ruby",
        "text/x-lua",
        "text/x-tcl",
        "text/x-awk",
        "text/x-nawk",
        "text/x-gawk",
        "text/x-msdos-batch",
    }
)
# Names a packaged file may not have: Windows runs (or opens in a script host) each of these
# on a double click, whatever the bytes look like.
EXECUTABLE_EXTENSIONS = frozenset(
    [
        "exe",
        "scr",
        "com",
        "pif",
        "bat",
        "cmd",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "wsh",
        "wsc",
        "hta",
        "ps1",
        "psm1",
        "msi",
        "msp",
        "dll",
        "cpl",
        "jar",
        "lnk",
        "reg",
        "inf",
        "chm",
        "scf",
        "url",
        "iso",
        "img",
        "vhd",
        "vhdx",
        "appx",
        "msix",
        "sh",
        "py",
        "pl",
        "rb",
        "php",
        "application",
        "gadget",
        "mst",
        "msc",
    ]
)

# Refused types with a recruiter-friendly description and, where useful, a way out.
DESCRIPTIONS = {
    XLSX: _l("an Excel spreadsheet (.xlsx)"),
    XLS: _l("an Excel 97-2003 spreadsheet (.xls)"),
    PPTX: _l("a PowerPoint presentation (.pptx)"),
    PPT: _l("a PowerPoint 97-2003 presentation (.ppt)"),
    "application/vnd.oasis.opendocument.spreadsheet": _l("an OpenDocument spreadsheet (.ods)"),
    "application/vnd.oasis.opendocument.presentation": _l("an OpenDocument presentation (.odp)"),
    IWORK: _l("an Apple Pages, Numbers or Keynote file"),
    "text/html": _l("a web page (HTML)"),
    "application/xhtml+xml": _l("a web page (XHTML)"),
    "text/xml": _l("an XML file"),
    "application/xml": _l("an XML file"),
    "image/svg+xml": _l("an SVG image"),
    "image/heic": _l("an HEIC photo"),
    "image/heif": _l("an HEIF photo"),
    "image/avif": _l("an AVIF image"),
    "image/webp": _l("a WebP image"),
    "image/gif": _l("a GIF image"),
    "image/tiff": _l("a TIFF image"),
    "image/bmp": _l("a BMP image"),
    "application/vnd.wordperfect": _l("a WordPerfect document"),
    "text/csv": _l("a CSV table"),
    ENCRYPTED: _l("a password-protected Office file"),
}
HINTS = {
    IWORK: _l("Export it to PDF (File > Export To > PDF) and try again."),
    "image/heic": _l("Save it as JPEG and try again."),
    "image/heif": _l("Save it as JPEG and try again."),
    "text/html": _l("Save or print it as PDF and try again."),
    "application/xhtml+xml": _l("Save or print it as PDF and try again."),
    "application/vnd.wordperfect": _l("Save it as .docx or PDF and try again."),
}


def canonical(mime: str) -> str:
    """Lower-case a MIME type, drop parameters and map aliases to the spelling we use."""
    mime = mime.split(";")[0].strip().lower()
    for ours in FORMATS:
        if ours.lower() == mime:
            return ours
    return ALIASES.get(mime, mime)


def format_label(content_type: str | None) -> str | None:
    """A person's name for a MIME type we know ("PDF", "Word (.docx)"), else None."""
    fmt = FORMATS.get(canonical(content_type)) if content_type else None
    return str(fmt.label) if fmt else None


def extensions_for(content_type: str) -> tuple[str, ...] | None:
    """Extensions that fit the type (first is canonical), or None for a type we do not know."""
    fmt = FORMATS.get(canonical(content_type))
    return fmt.extensions if fmt else None


def describe(mime: str) -> str:
    """A phrase for a type, e.g. 'a web page (HTML)'; never the MIME type itself."""
    if mime in FORMATS:
        return str(FORMATS[mime].phrase)
    if mime in DESCRIPTIONS:
        return str(DESCRIPTIONS[mime])
    major = mime.split("/")[0]
    return {
        "image": gettext("an image we do not take"),
        "video": gettext("a video we do not take"),
        "audio": gettext("a sound file we do not take"),
    }.get(major) or gettext("a kind of file we do not take")


def labels(mimes: Iterable[str]) -> str:
    """Join format labels for a sentence: 'PDF, Word (.docx) or Plain text (.txt)'."""
    names = [str(FORMATS[m].label) for m in mimes]
    if len(names) < 2:
        return "".join(names)
    return gettext("%(list)s or %(last)s", list=", ".join(names[:-1]), last=names[-1])


def is_executable(mime: str) -> bool:
    """Programs and scripts, by type."""
    return mime in EXECUTABLES or "script" in mime or "executable" in mime


def is_macro_enabled(mime: str) -> bool:
    return "macroenabled" in mime.lower()


def megabytes(n: int) -> str:
    """Sizes as people read them: 10485760 -> '10 MB', 1500 -> '1.5 KB' ('1,5 KB' in German)."""
    return i18n.format_size(n)


# Field instructions that run a program or fetch content when the document is opened or its
# fields updated (the 2017 DDE attacks; INCLUDEPICTURE/INCLUDETEXT/IMPORT fetch files).
# Word, RTF and .doc share them; HYPERLINK, PAGE, TOC and the rest are ordinary.
FIELD_WORDS = {
    "dde": N_("a DDE field, which can start a program"),
    "ddeauto": N_("a DDE field, which can start a program"),
    "includepicture": N_("a field that fetches a picture from elsewhere"),
    "includetext": N_("a field that fetches text from elsewhere"),
    "include": N_("a field that fetches text from elsewhere"),
    "import": N_("a field that imports a file from elsewhere"),
    # Word's other fields that load another file when updated: LINK (\\a updates on open),
    # DATABASE (a query against a file or server), RD (a document read for an index or
    # table of contents). EMBED only names an object stored in the file, which is inspected
    # as a file of its own; AUTOTEXT reads the template's own entries.
    "link": N_("a field that imports a file from elsewhere"),
    "database": N_("a field that imports a file from elsewhere"),
    "rd": N_("a field that imports a file from elsewhere"),
}
# A field whose name is the result of a field inside it, other than a QUOTE we can work out:
# its stored result is only what the last program to save the file wrote there.
COMPUTED_FIELD = "\ufffc"
MAX_QUOTE_CODES = 64


def quote_value(instruction: str) -> str | None:
    """What a QUOTE field evaluates to (its quoted text, or the characters its numeric codes
    stand for: ``QUOTE 68 68 69`` is ``DDE``), or None for any other field."""
    words = instruction.strip().split(None, 1)
    if not words or words[0].lower() != "quote":
        return None
    rest = words[1] if len(words) > 1 else ""
    codes = rest.split()
    if codes and len(codes) <= MAX_QUOTE_CODES and all(c.isdigit() and len(c) <= 6 for c in codes):
        return "".join(chr(int(c) % 0x110000) for c in codes)
    return rest.strip().strip('"')


def nested_result(instruction: str, cached: str, name_position: bool) -> str:
    """The text a nested field gives its parent's instruction, as Word computes it."""
    value = quote_value(instruction)
    if value is not None:
        return value
    return COMPUTED_FIELD if name_position else cached


MAX_LEADING_WORDS = 16


def field_problem(instruction: str) -> str:
    """Words for a field instruction that runs or fetches something, or ''.

    Invisible format characters (zero-width spaces, joiners, direction marks) are dropped,
    as Word drops them, and switches written before the field's name (``\\* MERGEFORMAT
    DDEAUTO``) do not hide it: the leading switches, their arguments and the first word
    after them are all judged.
    """
    text = "".join(c for c in instruction if unicodedata.category(c) != "Cf")
    words = text.replace('"', " ").replace("'", " ").split(None, MAX_LEADING_WORDS)
    switch = False
    for word in words[:MAX_LEADING_WORDS]:
        if word.startswith(COMPUTED_FIELD):
            return FIELD_WORDS["import"]
        name = word.lstrip("\\").lower()
        if name in FIELD_WORDS:
            return FIELD_WORDS[name]
        if word.startswith("\\"):
            switch = True
        elif switch:
            switch = False  # a switch's argument; the name may still follow
        else:
            break  # the field's name, and it is not one we refuse
    return ""


def local_target(target: str) -> bool:
    """file: URLs and UNC paths (Windows fetches them, sending the user's credentials)."""
    text = target.strip().lower()
    return text.startswith(("file:", "\\\\", "//", "smb:", "mhtml:", "\\??\\")) or (
        len(text) > 2 and text[1] == ":" and text[2] in "\\/"
    )
