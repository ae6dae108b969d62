"""Find an upload's real file type and decide whether it may go to the customer's ATS.

Detection trusts the bytes, never the browser's Content-Type or the file name:

* libmagic sees the whole file through its descriptor (legacy Office is only recognised
  that way, and ``from_buffer`` on a prefix is wrong for OOXML; see shared/notes/mime.md).
* Anything starting with ``PK\\x03\\x04`` is typed from its zip directory (ODF ``mimetype``,
  OOXML ``[Content_Types].xml``, iWork layout), after zip-bomb guards on the central directory.
* OOXML files are refused when they would load something when opened: an external
  template, OLE object, frame or sub-document relationship, or a DDE field.
* OLE2 files are checked with olefile for encryption, macro storages and the template flag.
* PDFs are streamed once for ``/Encrypt``, active content (``/JavaScript``, ``/JS``,
  ``/Launch``) and attached files (``/EmbeddedFile(s)``), also inside compressed object
  streams, and must end with ``%%EOF``.

Files are never read into memory whole: everything is streamed in chunks or bounded reads.

Refusal statuses: 413 for ``file_too_large``; 415 for refusals about the format
(``type_unknown``, ``type_not_allowed``, ``type_not_accepted_by_ats``, ``file_archive``,
``file_executable``, ``file_template``); 422 for everything else (``file_empty``,
``file_encrypted``, ``file_macros``, ``file_active_content``, ``file_embedded_files``,
``file_remote_content``, ``file_damaged``,
``file_compression_bomb``, ``attachment_type_unsupported``).

Decisions worth knowing:

* Naming: the name sent to the ATS always carries the extension of the detected type, so
  Markdown and other plain text become ``.txt`` (``text/plain`` has one extension); JPEG
  keeps a user's ``.jpeg``. Windows-forbidden punctuation (``<>:"|?*``) is dropped too.
* Polyglots: a PDF, image, RTF or text file with a readable ZIP appended is refused
  (``file_archive``). Other bytes after a JPEG (phone "motion photos") are accepted as
  ``image/jpeg``; images are not re-encoded here, since that would change what we send.
* An OLE2 file that libmagic cannot name (``x-ole-storage``, e.g. upper-case stream names)
  but that holds a valid, unencrypted, macro-free Word header is sent as ``application/msword``.
* PDFs: any ``/Encrypt`` (also owner-password-only) is refused; ``/JS`` counts only outside
  binary stream data, where it occurs by chance; ``/JavaScript`` and ``/Launch`` count anywhere.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import magic
import olefile
from olefile.olefile import OleDirectoryEntry

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
ODT = "application/vnd.oasis.opendocument.text"
RTF = "application/rtf"
TXT = "text/plain"
PNG = "image/png"
JPEG = "image/jpeg"

MAX_ZIP_ENTRIES = 10_000
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # per zip, and for all PDF object streams together
MAX_UNPACK_RATIO = 200
MAX_ZIP_DIRECTORY_BYTES = 4 * 1024 * 1024  # zipfile reads the central directory into memory
MAX_XML_BYTES = 1024 * 1024
PDF_EOF_WINDOW = 1024  # Acrobat's own tolerance for bytes after %%EOF
MAX_NAME_LENGTH = 150  # counted in UTF-16 code units, so JavaScript-based ATSs agree

CONTENT_TYPE_PATTERN = re.compile(r"^[\w.-]+/[\w.-]+$", re.ASCII)  # Kombo's own pattern

_CHUNK = 256 * 1024  # read size for streamed passes: small enough for constant memory
_OCTET_STREAM = "application/octet-stream"
_ZIP = "application/zip"
_ENCRYPTED = "application/encrypted"
_IWORK = "application/vnd.apple.iwork"
_CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class _Format:
    label: str  # for lists: "Word (.docx)"
    phrase: str  # for sentences: "a Word document (.docx)"
    extensions: tuple[str, ...]  # the first one is what we send


_FORMATS: dict[str, _Format] = {
    PDF: _Format("PDF", "a PDF", (".pdf",)),
    DOCX: _Format("Word (.docx)", "a Word document (.docx)", (".docx",)),
    DOC: _Format("Word 97-2003 (.doc)", "a Word 97-2003 document (.doc)", (".doc",)),
    ODT: _Format("OpenDocument text (.odt)", "an OpenDocument text (.odt)", (".odt",)),
    RTF: _Format("Rich Text (.rtf)", "a Rich Text file (.rtf)", (".rtf",)),
    TXT: _Format("Plain text (.txt)", "a plain-text file", (".txt",)),
    PNG: _Format("PNG image", "a PNG image", (".png",)),
    JPEG: _Format("JPEG image", "a JPEG image", (".jpg", ".jpeg")),
}
_DOCUMENTS = (PDF, DOCX, DOC, ODT, RTF, TXT)
_PORTAL_ALLOWED: dict[str, tuple[str, ...]] = {
    "CV": _DOCUMENTS,
    "COVER_LETTER": _DOCUMENTS,
    "OTHER": (*_DOCUMENTS, PNG, JPEG),
}
# What the file picker may offer beyond the extensions we send (Markdown is plain text).
_PICKER_EXTRA = {TXT: (".md", ".markdown"), JPEG: (".jpeg",)}
_SLOT_NOUNS = {
    "CV": ("a CV", "CVs"),
    "COVER_LETTER": ("a cover letter", "cover letters"),
    "OTHER": ("an attachment", "attachments"),
}

# Other spellings of our types seen from libmagic versions and in ATS lists.
_ALIASES = {
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

# [Content_Types].xml main-part content type (lower case) -> the package's registered type.
_OOXML_MAIN = {
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
_WITH_VBA = {DOCX: DOCM, DOTX: DOTM, XLSX: XLSM, XLTX: XLTM, PPTX: PPTM, PPSX: PPSM, POTX: POTM}
_ODF_TYPES = frozenset(
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
_TEMPLATES = frozenset({DOTX, XLTX, POTX} | {t for t in _ODF_TYPES if t.endswith("-template")})

_ARCHIVES = frozenset(
    {
        _ZIP,
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
_EXECUTABLES = frozenset(
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

# Refused types with a recruiter-friendly description and, where useful, a way out.
_DESCRIPTIONS = {
    XLSX: "an Excel spreadsheet (.xlsx)",
    "application/vnd.ms-excel": "an Excel 97-2003 spreadsheet (.xls)",
    PPTX: "a PowerPoint presentation (.pptx)",
    "application/vnd.ms-powerpoint": "a PowerPoint 97-2003 presentation (.ppt)",
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet (.ods)",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation (.odp)",
    _IWORK: "an Apple Pages, Numbers or Keynote file",
    "text/html": "a web page (HTML)",
    "application/xhtml+xml": "a web page (XHTML)",
    "text/xml": "an XML file",
    "application/xml": "an XML file",
    "image/svg+xml": "an SVG image",
    "image/heic": "an HEIC photo",
    "image/heif": "an HEIF photo",
    "image/avif": "an AVIF image",
    "image/webp": "a WebP image",
    "image/gif": "a GIF image",
    "image/tiff": "a TIFF image",
    "image/bmp": "a BMP image",
    "application/vnd.wordperfect": "a WordPerfect document",
    "text/csv": "a CSV table",
    _ENCRYPTED: "a password-protected Office file",
}
_HINTS = {
    _IWORK: "Export it to PDF (File > Export To > PDF) and try again.",
    "image/heic": "Save it as JPEG and try again.",
    "image/heif": "Save it as JPEG and try again.",
    "text/html": "Save or print it as PDF and try again.",
    "application/xhtml+xml": "Save or print it as PDF and try again.",
    "application/vnd.wordperfect": "Save it as .docx or PDF and try again.",
}

_STATUSES = {
    "file_too_large": 413,
    "type_unknown": 415,
    "type_not_allowed": 415,
    "type_not_accepted_by_ats": 415,
    "file_archive": 415,
    "file_executable": 415,
    "file_template": 415,
}


class FileRefused(Exception):
    """An upload we will not send to the ATS, with a message a recruiter can act on."""

    def __init__(self, code: str, message: str, *, detected: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = _STATUSES.get(code, 422)
        self.detected = detected  # for logs: the type we found, if any


@dataclass(frozen=True)
class Accepted:
    """What to send to Kombo for an accepted upload."""

    content_type: str
    name: str
    size: int
    sha256: str
    label: str


@dataclass(frozen=True)
class _Finding:
    mime: str | None  # refined type, None when undecidable
    problem: str | None = None  # refusal code that follows from the content itself
    detail: str = ""  # why, in words that can go into a message


# --------------------------------------------------------------------------- public API


def detect(fileobj: BinaryIO) -> str | None:
    """Return the upload's real MIME type after refinement, or None when undecidable."""
    try:
        return _inspect(fileobj, _size(fileobj)).mime
    finally:
        fileobj.seek(0)


def check_upload(
    fileobj: BinaryIO,
    *,
    filename: str,
    attachment_type: str,
    restrictions: dict[str, Any] | None = None,
    max_size: int | None = None,
) -> Accepted:
    """Accept the upload for this attachment type and ATS, or raise FileRefused."""
    rules = _ats_rules(attachment_type, restrictions)
    shown = _display_name(filename)
    if rules.get("is_supported") is False:
        one, _ = _SLOT_NOUNS[attachment_type]
        raise FileRefused(
            "attachment_type_unsupported",
            f'This ATS does not take {one} as an attachment, so "{shown}" cannot be added as one.',
        )
    try:
        size = _size(fileobj)
        if size == 0:
            _refuse_problem(_Finding(None, "file_empty"), shown, attachment_type)
        _check_size(size, shown, attachment_type, rules, max_size)
        finding = _inspect(fileobj, size)
        content_type = _decide(finding, shown, attachment_type, rules)
        digest = _sha256(fileobj)
    finally:
        fileobj.seek(0)
    canonical = _canonical(content_type)
    return Accepted(
        content_type=content_type,
        name=clean_filename(filename, canonical),
        size=size,
        sha256=digest,
        label=_FORMATS[canonical].label,
    )


def allowed_types(
    attachment_type: str, restrictions: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """List the formats the UI may offer for this attachment type and ATS."""
    rules = _ats_rules(attachment_type, restrictions)
    if rules.get("is_supported") is False:
        return []
    result = []
    for mime in _PORTAL_ALLOWED[attachment_type]:
        spelling = _ats_spelling(mime, rules.get("accepted_mime_types"))
        if spelling is None:
            continue
        fmt = _FORMATS[mime]
        extensions = list(dict.fromkeys(fmt.extensions + _PICKER_EXTRA.get(mime, ())))
        result.append({"mime": spelling, "label": fmt.label, "extensions": extensions})
    return result


def max_size_for(
    attachment_type: str, restrictions: dict[str, Any] | None, max_size: int | None
) -> int | None:
    """Return the smaller of the portal's and the ATS's size limits, or None if neither is set."""
    return _smallest(_ats_max_size(_ats_rules(attachment_type, restrictions)), max_size)


def clean_filename(name: str, content_type: str) -> str:
    """Make the user's file name safe to send, with the extension of the detected type."""
    text = unicodedata.normalize("NFC", _strip_unsafe(name or ""))
    text = " ".join(text.split())
    stem, extension = _split_extension(text, _extensions_for(content_type))
    stem = stem.strip(" .")  # no hidden files, no Windows-invalid trailing dots
    stem = _cut_to_fit(stem, MAX_NAME_LENGTH - _utf16_len(extension)).rstrip(" .")
    return (stem or "document") + extension


# --------------------------------------------------------------------------- decisions


def _decide(finding: _Finding, shown: str, attachment_type: str, rules: dict[str, Any]) -> str:
    """Return the content type to send, or raise the refusal that explains why not."""
    _refuse_problem(finding, shown, attachment_type)
    mime = finding.mime
    allowed = _PORTAL_ALLOWED[attachment_type]
    _, many = _SLOT_NOUNS[attachment_type]
    if mime is None or mime == _OCTET_STREAM:
        raise FileRefused(
            "type_unknown",
            f'We could not recognise the format of "{shown}". '
            f"Accepted for {many}: {_labels(allowed)}.",
        )
    _refuse_category(mime, shown, attachment_type)
    if mime not in allowed:
        one, _ = _SLOT_NOUNS[attachment_type]
        hint = _HINTS.get(mime, f"Accepted for {many}: {_labels(allowed)}.")
        raise FileRefused(
            "type_not_allowed",
            f'"{shown}" is {_describe(mime)}, which we cannot send as {one}. {hint}',
            detected=mime,
        )
    accepted = rules.get("accepted_mime_types")
    spelling = _ats_spelling(mime, accepted)
    if spelling is None:
        takes = [m for m in allowed if _ats_spelling(m, accepted)]
        what = f"only takes {_labels(takes)}" if takes else "takes none of our formats"
        raise FileRefused(
            "type_not_accepted_by_ats",
            f'"{shown}" is {_describe(mime)}, but this ATS {what} for {many}.',
            detected=mime,
        )
    return spelling


def _refuse_problem(finding: _Finding, shown: str, attachment_type: str) -> None:
    """Raise the refusal for a problem found inside the file (encryption, macros, ...)."""
    one, _ = _SLOT_NOUNS[attachment_type]
    messages = {
        "file_empty": f'"{shown}" is empty (0 bytes). Choose the file again.',
        "file_encrypted": (
            f'"{shown}" is password-protected or encrypted, so the ATS may not be able to '
            "read it. Remove the protection (or export an unprotected PDF) and try again."
        ),
        "file_macros": (
            f'"{shown}" has macros, which we never send to an ATS. '
            "Save it as .docx or PDF and try again."
        ),
        "file_template": (
            f'"{shown}" is a template, not a document. '
            "Save it as a normal .docx or PDF and try again."
        ),
        "file_active_content": (
            f'"{shown}" is a PDF with scripts or launch actions ({finding.detail}), and '
            f"{one} has no business running code. Print or export it to a new PDF and try again."
        ),
        "file_remote_content": (
            f'"{shown}" would fetch or run something from elsewhere when opened '
            f"({finding.detail}), so we will not send it. "
            "Save it as a new .docx or PDF and try again."
        ),
        "file_embedded_files": (
            f'"{shown}" is a PDF with other files attached inside it, which we cannot check, '
            "so we will not send it. Print or export it to a new PDF and try again."
        ),
        "file_damaged": (
            f'"{shown}" seems damaged or incomplete ({finding.detail}). '
            "Open it, save it again and try again."
        ),
        "file_compression_bomb": (
            f'"{shown}" unpacks to far more data than a document should ({finding.detail}), '
            "so we cannot check it safely. Save it again from the program that made it."
        ),
        "file_archive": (
            f'"{shown}" has a ZIP archive hidden inside it, so we will not send it. '
            "Save or export the file again and try again."
        ),
    }
    if finding.problem is not None:
        raise FileRefused(finding.problem, messages[finding.problem], detected=finding.mime)


def _refuse_category(mime: str, shown: str, attachment_type: str) -> None:
    """Raise the refusal for types we never send: macros, templates, archives, programs."""
    if "macroenabled" in mime.lower():
        _refuse_problem(_Finding(mime, "file_macros"), shown, attachment_type)
    if mime in _TEMPLATES:
        _refuse_problem(_Finding(mime, "file_template"), shown, attachment_type)
    if mime in _ARCHIVES:
        raise FileRefused(
            "file_archive",
            f'"{shown}" is an archive (ZIP or similar). Upload the documents in it one by one.',
            detected=mime,
        )
    if mime in _EXECUTABLES or "script" in mime or "executable" in mime:
        raise FileRefused(
            "file_executable",
            f'"{shown}" is a program or script ({mime}), not a document, so we will not send it.',
            detected=mime,
        )


def _check_size(
    size: int, shown: str, attachment_type: str, rules: dict[str, Any], max_size: int | None
) -> None:
    """Refuse files over the portal's or the ATS's limit, naming the limit that applies."""
    ats_limit = _ats_max_size(rules)
    limit = _smallest(ats_limit, max_size)
    if limit is None or size <= limit:
        return
    _, many = _SLOT_NOUNS[attachment_type]
    where = (
        f"this ATS takes {many} up to {_megabytes(limit)}"
        if limit == ats_limit
        else f"we take files up to {_megabytes(limit)}"
    )
    raise FileRefused(
        "file_too_large",
        f'"{shown}" is {_megabytes(size)}, but {where}. '
        "Make it smaller (for example save a compressed PDF) and try again.",
    )


def _smallest(*limits: int | None) -> int | None:
    """The tightest of the limits that are set (None and non-positive mean no limit)."""
    real = [n for n in limits if n is not None and n > 0]
    return min(real) if real else None


# --------------------------------------------------------------------------- ATS restrictions


def _ats_rules(attachment_type: str, restrictions: dict[str, Any] | None) -> dict[str, Any]:
    """Return the ATS's rules for this attachment type; {} means no information."""
    if attachment_type not in ATTACHMENT_TYPES:
        raise ValueError(f"unknown attachment type {attachment_type!r}")
    # Anything not shaped like Kombo's answer counts as "no information", never as a ban.
    outer = restrictions.get("attachment_restrictions") if isinstance(restrictions, dict) else None
    types = outer.get("types") if isinstance(outer, dict) else None
    rules = types.get(attachment_type) if isinstance(types, dict) else None
    return rules if isinstance(rules, dict) else {}


def _ats_max_size(rules: dict[str, Any]) -> int | None:
    """Return the ATS's size limit in bytes, ignoring nonsense values."""
    limit = rules.get("max_file_size_bytes")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    return None


def _ats_spelling(mime: str, accepted: Any) -> str | None:
    """Return how to name `mime` to this ATS, or None if it does not take it."""
    if not isinstance(accepted, list):
        return mime  # None: no information
    entries = [e.split(";")[0].strip() for e in accepted if isinstance(e, str)]
    if any(e.lower() == mime.lower() for e in entries):
        return mime
    for entry in entries:
        # The ATS may spell our type differently (text/rtf, image/jpg): use its spelling.
        if _canonical(entry) == mime and CONTENT_TYPE_PATTERN.match(entry):
            return entry
    major = mime.split("/")[0]
    if any(e in ("*/*", f"{major}/*") for e in entries):
        return mime
    return None


# --------------------------------------------------------------------------- detection


def _inspect(f: BinaryIO, size: int) -> _Finding:
    """Type the file and note any problem that forbids sending it."""
    if size == 0:
        return _Finding(None, "file_empty")
    found = _canonical(_libmagic(f))
    head = _read_at(f, 0, 8)
    if head.startswith(_ZIP_SIGNATURE):
        return _inspect_zip(f, size)  # keyed on the signature: libmagic 5.46 says octet-stream
    if head == _CFB_SIGNATURE:
        # Word 2007+ keeps theme packages (real zips) inside .doc streams: no polyglot check.
        return _inspect_cfb(f, found)
    if found == PDF:
        finding = _inspect_pdf(f, size)
    elif found in (_OCTET_STREAM, "inode/x-empty", "application/x-empty"):
        if b"%PDF-" in _read_at(f, 0, 1024):
            # Readers tolerate junk before the header (a mail gateway's, a download script's);
            # an ATS's parser may not, and we cannot check what we cannot type: say what it is.
            return _Finding(None, "file_damaged", "there is other data before the PDF starts")
        return _Finding(None)
    else:
        finding = _Finding(found)
    if finding.problem is None and finding.mime in _FORMATS and _has_hidden_zip(f, size):
        return _Finding(finding.mime, "file_archive", "a ZIP archive appended to it")
    return finding


def _libmagic(f: BinaryIO) -> str:
    """Ask libmagic about the whole file through its descriptor."""
    try:
        fd = f.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        # Only in-memory objects (BytesIO) land here; real uploads are temp files on disk.
        f.seek(0)
        try:
            return _MAGIC.from_buffer(f.read())
        except magic.MagicException:
            return _OCTET_STREAM
    f.flush()  # a write-mode temp file may still hold bytes in Python's buffer
    # libmagic reads from the descriptor's current offset and puts it back afterwards, but
    # Python's buffered reader may have left the offset anywhere: pin it, then restore it.
    saved = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        return _MAGIC.from_descriptor(fd)
    except magic.MagicException:
        return _OCTET_STREAM  # libmagic could not read it: undecidable, hence refused
    finally:
        os.lseek(fd, saved, os.SEEK_SET)
        f.seek(0)


_MAGIC = magic.Magic(mime=True)  # one per process: python-magic serialises calls with a lock


# --------------------------------------------------------------------------- zip containers


# What zipfile raises on damaged or hostile archives.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
    zlib.error,
    UnicodeDecodeError,
)


def _inspect_zip(f: BinaryIO, size: int) -> _Finding:
    """Type a zip container from its directory, refusing bombs before reading any entry."""
    directory = _zip_directory(f, size)
    if directory is None:
        return _Finding(None, "file_damaged", "not a readable ZIP/Office container")
    entries, directory_bytes = directory
    if entries > MAX_ZIP_ENTRIES or directory_bytes > MAX_ZIP_DIRECTORY_BYTES:
        return _Finding(None, "file_compression_bomb", f"{entries} entries")
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            bomb = _zip_bomb(infos, size)
            if bomb:
                return _Finding(None, "file_compression_bomb", bomb)
            return _classify_zip(zf, {i.filename.lower(): i for i in infos})
    except _ZIP_ERRORS:
        # RuntimeError: encrypted entry; NotImplementedError: exotic compression.
        return _Finding(None, "file_damaged", "not a readable ZIP/Office container")


def _zip_directory(f: BinaryIO, size: int) -> tuple[int, int] | None:
    """Read entry count and central-directory size from the end record, or None."""
    tail_len = min(size, 22 + 0xFFFF)
    tail = _read_at(f, size - tail_len, tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory_bytes = struct.unpack("<HL", tail[at + 10 : at + 16])
    locator = tail[at - 20 : at] if at >= 20 else b""
    if (entries == 0xFFFF or directory_bytes == 0xFFFFFFFF) and locator[:4] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", locator[8:16])
        record = _read_at(f, offset, 56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries, directory_bytes = struct.unpack("<QQ", record[32:48])
    return entries, directory_bytes


def _zip_bomb(infos: list[zipfile.ZipInfo], size: int) -> str:
    """Describe why the declared sizes look like a zip bomb, or return ''."""
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_ZIP_ENTRIES:
        return f"{len(infos)} entries"
    if total > MAX_UNPACKED_BYTES or total > MAX_UNPACK_RATIO * size:
        return f"{_megabytes(total)} unpacked from {_megabytes(size)}"
    return ""


def _classify_zip(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> _Finding:
    """Tell ODF, OOXML, iWork and plain archives apart."""
    if "mimetype" in entries:
        declared = _read_entry(zf, entries["mimetype"], 256).decode("ascii", "replace").strip()
        if declared in _ODF_TYPES:  # never forward an arbitrary string from the zip
            return _inspect_odf(zf, entries, declared)
    if "[content_types].xml" in entries:
        return _inspect_ooxml(zf, entries)
    if _is_iwork(entries):
        return _Finding(_IWORK)
    return _Finding(_ZIP)


def _inspect_odf(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], mime: str) -> _Finding:
    """Check an OpenDocument package for encryption and macros."""
    manifest = entries.get("meta-inf/manifest.xml")
    if manifest is not None:
        text = _read_entry(zf, manifest, MAX_XML_BYTES).decode("utf-8", "replace")
        if re.search(r"<\s*(?:[\w.-]+:)?encryption-data\b", text, re.IGNORECASE):
            return _Finding(mime, "file_encrypted")
    if any(name.startswith(("basic/", "scripts/")) for name in entries):
        return _Finding(mime, "file_macros")
    return _Finding(mime)


_OVERRIDE = re.compile(r"<\s*(?:[\w.-]+:)?Override\b([^>]*)>", re.IGNORECASE)
_PART_NAME = re.compile(r"\bPartName\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)
_PART_TYPE = re.compile(r"\bContentType\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)


def _inspect_ooxml(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> _Finding:
    """Type an OPC package from its main part; regex, not an XML parser (no XXE)."""
    raw = _read_entry(zf, entries["[content_types].xml"], MAX_XML_BYTES + 1)
    if len(raw) > MAX_XML_BYTES:
        return _Finding(None, "file_damaged", "oversized [Content_Types].xml")
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    text = raw.decode(encoding, "replace")
    # Renaming the content type does not remove the VBA: any vbaProject.bin means macros.
    has_vba = any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in entries)
    missing = False
    for attributes in _OVERRIDE.findall(text):
        part_type, part_name = _PART_TYPE.search(attributes), _PART_NAME.search(attributes)
        mime = _OOXML_MAIN.get(part_type.group(2).strip().lower()) if part_type else None
        if mime is None:
            continue
        name = part_name.group(2).strip().lstrip("/").lower() if part_name else ""
        if name not in entries:
            missing = True  # a main part that is not there; another override may still be
            continue
        if has_vba:
            return _Finding(_WITH_VBA.get(mime, mime))
        remote = _ooxml_remote_content(zf, entries)
        return _Finding(mime, "file_remote_content", remote) if remote else _Finding(mime)
    if has_vba:
        return _Finding(None, "file_macros")
    if missing:
        return _Finding(None, "file_damaged", "its main document part is missing")
    return _Finding(None)  # an OPC package we do not know (XPS, ...): undecidable


_RELATIONSHIP = re.compile(r"<\s*(?:[\w.-]+:)?Relationship\b([^>]*)>", re.IGNORECASE)
_EXTERNAL = re.compile(r"\bTargetMode\s*=\s*([\"'])\s*External\s*\1", re.IGNORECASE)
# Relationships that make Word fetch and load something when the file is opened (template
# injection, remote OLE objects, frames, sub-documents). External hyperlinks are fine: CVs
# link to LinkedIn.
_LOADED_RELATIONSHIPS = re.compile(
    r"\bType\s*=\s*[\"'][^\"']*/(attachedTemplate|oleObject|frame|subDocument)[\"']",
    re.IGNORECASE,
)
_LOADED_WORDS = {
    "attachedtemplate": "a template on another server",
    "oleobject": "an object on another server",
    "frame": "a frame from another server",
    "subdocument": "a sub-document on another server",
}
# A DDE field runs a program when its links are updated (the 2017 "DDEAUTO" attacks).
_DDE_FIELD = re.compile(
    rb"(?:instrText\b[^>]*>|\binstr\s*=\s*[\"'])\s*(?:&quot;|\")?\s*DDE(?:AUTO)?\b", re.IGNORECASE
)
_WORD_STORY = re.compile(r"^word/(?:document|header\d*|footer\d*|footnotes|endnotes)\.xml$")


def _ooxml_remote_content(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> str:
    """Describe what an Office file would load or run from elsewhere when opened, or ''."""
    for name, info in entries.items():
        if not name.endswith(".rels"):
            continue
        text = _read_entry(zf, info, MAX_XML_BYTES).decode("utf-8", "replace")
        for attributes in _RELATIONSHIP.findall(text):
            loaded = _LOADED_RELATIONSHIPS.search(attributes)
            if loaded and _EXTERNAL.search(attributes):
                return _LOADED_WORDS[loaded.group(1).lower()]
    for name, info in entries.items():
        if _WORD_STORY.match(name) and _stream_matches(zf, info, _DDE_FIELD):
            return "a DDE field, which can start a program"
    return ""


def _stream_matches(zf: zipfile.ZipFile, info: zipfile.ZipInfo, pattern: re.Pattern[bytes]) -> bool:
    """Search an entry in chunks (constant memory); matches up to 1 KiB long are found."""
    tail = b""
    with zf.open(info) as entry:
        while chunk := entry.read(_CHUNK):
            window = tail + chunk
            if pattern.search(window):
                return True
            tail = window[-1024:]
    return False


def _is_iwork(entries: dict[str, zipfile.ZipInfo]) -> bool:
    """Recognise Pages/Numbers/Keynote packages (iWork '09 and 2013+)."""
    return (
        any(n.startswith("index/") and n.endswith(".iwa") for n in entries)
        or "buildversionhistory.plist" in entries
        or "index.apxl" in entries
        or "index.apxl.gz" in entries
    )


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read at most `limit` bytes of an entry (its declared size may lie)."""
    with zf.open(info) as entry:
        return entry.read(limit)


def _has_hidden_zip(f: BinaryIO, size: int) -> bool:
    """Tell whether a readable zip archive is appended to the file (a polyglot)."""
    directory = _zip_directory(f, size)
    if directory is None or directory[1] > MAX_ZIP_DIRECTORY_BYTES:
        return False
    try:
        with zipfile.ZipFile(f) as zf:
            return bool(zf.infolist())
    except _ZIP_ERRORS:
        return False  # a stray end-of-directory signature in image or PDF data


# --------------------------------------------------------------------------- OLE2 (CFB)


def _inspect_cfb(f: BinaryIO, found: str) -> _Finding:
    """Check an OLE2 file for encryption, macros and the Word template flag."""
    try:
        ole = olefile.OleFileIO(f)
    except Exception:  # olefile raises many exception types on hostile input
        return _Finding(None, "file_damaged", "not a readable Office file")
    try:
        top = {kid.name.lower(): kid for kid in ole.root.kids}
        if "encryptedpackage" in top or found == _ENCRYPTED:
            return _Finding(_ENCRYPTED, "file_encrypted")
        macros = any(name in top for name in ("macros", "_vba_project_cur", "_vba_project"))
        if "worddocument" in top:
            return _inspect_word(f, ole, top["worddocument"], macros)
        if found in ("application/x-ole-storage", _OCTET_STREAM) or found.startswith(
            "application/cdfv2"
        ):
            # libmagic gave up (e.g. upper-case stream names); name the common formats.
            if "workbook" in top or "book" in top:
                found = "application/vnd.ms-excel"
            elif "powerpoint document" in top:
                found = "application/vnd.ms-powerpoint"
            else:
                return _Finding(None, "file_damaged", "an unreadable or protected Office file")
        return _Finding(found, "file_macros" if macros else None)
    except Exception:  # same: a damaged directory can fail anywhere
        return _Finding(None, "file_damaged", "not a readable Office file")
    finally:
        ole.close()


def _inspect_word(
    f: BinaryIO, ole: olefile.OleFileIO, stream: OleDirectoryEntry, macros: bool
) -> _Finding:
    """Read the Word FIB flags: fDot (0x0001) is a template, fEncrypted (0x0100) a password."""
    if stream.size < ole.minisectorcutoff:
        fib = ole.openstream(stream.name).read(12)  # small streams live in the ministream
    else:
        fib = _read_at(f, (stream.isectStart + 1) * ole.sectorsize, 12)
    if len(fib) < 12 or int.from_bytes(fib[:2], "little") not in (0xA5EC, 0xA5DC):
        return _Finding(None, "file_damaged", "the Word header is unreadable")
    flags = int.from_bytes(fib[10:12], "little")
    if flags & 0x0100:
        return _Finding(DOC, "file_encrypted")
    if macros:
        return _Finding(DOC, "file_macros")
    if flags & 0x0001:
        return _Finding(DOC, "file_template")
    return _Finding(DOC)


# --------------------------------------------------------------------------- PDF


_PDF_NAME = re.compile(rb"/((?:[A-Za-z]|#[0-9A-Fa-f]{2}){1,127})(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])")
_PDF_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_ACTIVE = ("JavaScript", "JS", "Launch")
# Files attached inside a PDF (a portfolio, an attachment annotation) are not typed, so they
# would pass our check unseen: the same reason archives are refused.
_PDF_ATTACHED = ("EmbeddedFile", "EmbeddedFiles")
_PDF_WATCHED = frozenset({*_PDF_ACTIVE, *_PDF_ATTACHED, "Encrypt"})
_PDF_AHEAD = 1024  # bytes a token may reach past the point where we stop in a chunk
_PDF_BEHIND = 8  # bytes before a token we look at ("end" of "endstream")
MAX_OBJECT_STREAMS = 10_000


class _PdfScan:
    """Stream through PDF bytes collecting the names that matter, in constant memory."""

    def __init__(self, *, inside_object_stream: bool = False) -> None:
        self.names: set[str] = set()  # only names from _PDF_WATCHED
        self.object_streams: list[int] = []  # where each object stream's data starts
        self._all_names = inside_object_stream  # object streams hold objects, not binary data
        self._in_stream = False
        self._stream_is_objects = False
        self._objects_pending = False

    def feed(self, buf: bytes, base: int, lo: int, hi: int) -> None:
        """Handle, in file order, every token of `buf` that starts in [lo, hi)."""
        end = hi + len(b"stream") - 1  # find() wants the whole word before `end`
        keyword = buf.find(b"stream", lo, end)
        for match in _PDF_NAME.finditer(buf, lo):
            if match.start() >= hi:
                break
            while 0 <= keyword < match.start():
                self._keyword(buf, base, keyword)
                keyword = buf.find(b"stream", keyword + 1, end)
            self._name(_pdf_name(match.group(1)))
        while keyword >= 0:
            self._keyword(buf, base, keyword)
            keyword = buf.find(b"stream", keyword + 1, end)

    def _keyword(self, buf: bytes, base: int, pos: int) -> None:
        if buf[max(0, pos - 3) : pos] == b"end":
            self._in_stream = False
            return
        eol = buf[pos + 6 : pos + 8]
        if eol[:1] not in (b"\r", b"\n"):
            return
        self._in_stream, self._stream_is_objects = True, self._objects_pending
        if self._objects_pending:
            if len(self.object_streams) >= MAX_OBJECT_STREAMS:
                raise _TooMuchData(f"over {MAX_OBJECT_STREAMS} object streams")
            self.object_streams.append(base + pos + 6 + (2 if eol == b"\r\n" else 1))
        self._objects_pending = False

    def _name(self, name: str) -> None:
        if name == "ObjStm":
            self._objects_pending = True
        elif name in _PDF_WATCHED:
            # "/JS" plus a delimiter turns up by chance in compressed stream data (about
            # once per 270 MB), so it only counts outside streams; longer names cannot.
            outside = self._all_names or not self._in_stream or self._stream_is_objects
            if len(name) > 2 or outside:
                self.names.add(name)


class _TooMuchData(Exception):
    """A compressed part unpacks to more than we are willing to inspect."""


def _inspect_pdf(f: BinaryIO, size: int) -> _Finding:
    """Refuse truncated, encrypted and scripted PDFs."""
    if b"%%EOF" not in _read_at(f, max(0, size - PDF_EOF_WINDOW), PDF_EOF_WINDOW):
        return _Finding(PDF, "file_damaged", "the PDF ends early or has extra data after its end")
    try:
        scan = _PdfScan()
        _scan_chunks(_chunks(f), scan)
        if "Encrypt" in scan.names:
            return _Finding(PDF, "file_encrypted")
        names = scan.names | _object_stream_names(f, scan.object_streams)
    except _TooMuchData as exc:
        return _Finding(PDF, "file_compression_bomb", str(exc))
    active = ", ".join("/" + name for name in _PDF_ACTIVE if name in names)
    if active:
        return _Finding(PDF, "file_active_content", active)
    if any(name in names for name in _PDF_ATTACHED):
        return _Finding(PDF, "file_embedded_files")
    return _Finding(PDF)


def _object_stream_names(f: BinaryIO, starts: list[int]) -> set[str]:
    """Inflate each compressed object stream and collect the watched names inside."""
    scan = _PdfScan(inside_object_stream=True)
    budget = _Budget(MAX_UNPACKED_BYTES)
    for start in starts:
        _scan_chunks(budget.spend(_inflate(f, start)), scan)
    return scan.names


class _Budget:
    """Bytes we still agree to unpack, shared by all object streams of one PDF."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass chunks through, raising once the budget is exhausted."""
        for chunk in chunks:
            self.left -= len(chunk)
            if self.left < 0:
                raise _TooMuchData(f"its object streams unpack to over {_megabytes(self.limit)}")
            yield chunk


def _inflate(f: BinaryIO, start: int) -> Iterator[bytes]:
    """Yield the inflated bytes of the Flate stream at `start`, a chunk at a time."""
    f.seek(start)
    inflater = zlib.decompressobj()
    while not inflater.eof:
        data = inflater.unconsumed_tail or f.read(_CHUNK)
        if not data:
            return
        try:
            out = inflater.decompress(data, _CHUNK)
        except zlib.error:
            return  # not Flate: an uncompressed object stream was scanned in place
        yield out


def _scan_chunks(chunks: Iterable[bytes], scan: _PdfScan) -> None:
    """Feed chunks to the scanner with overlaps, so no token is cut at a chunk border."""
    carry, base, lo = b"", 0, 0
    for chunk in chunks:
        buf = carry + chunk
        hi = max(lo, len(buf) - _PDF_AHEAD)
        scan.feed(buf, base, lo, hi)
        keep = max(0, hi - _PDF_BEHIND)
        carry, base, lo = buf[keep:], base + keep, hi - keep
    scan.feed(carry, base, lo, len(carry))


def _pdf_name(raw: bytes) -> str:
    """Decode a PDF name's #xx escapes (/J#61vaScript is /JavaScript)."""
    if b"#" in raw:
        raw = _PDF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("latin-1")


# --------------------------------------------------------------------------- file names


_WINDOWS_FORBIDDEN = frozenset('<>:"|?*')  # so the recruiter can save the download anywhere
# Endings that are a file type, so a wrong one is replaced rather than kept in the stem.
_KNOWN_EXTENSIONS = frozenset(
    {
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
    }
)


def _strip_unsafe(text: str) -> str:
    """Drop controls (C0, C1, DEL), format characters (bidi, zero-width), surrogates, separators."""
    return "".join(
        ch
        for ch in text
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
        and ch not in "/\\"
        and ch not in _WINDOWS_FORBIDDEN
    )


def format_label(content_type: str | None) -> str | None:
    """A person's name for a MIME type we know ("PDF", "Word (.docx)"), else None."""
    fmt = _FORMATS.get(_canonical(content_type)) if content_type else None
    return fmt.label if fmt else None


def _extensions_for(content_type: str) -> tuple[str, ...] | None:
    """Extensions that fit the type (first is canonical), or None for a type we do not know."""
    fmt = _FORMATS.get(_canonical(content_type))
    return fmt.extensions if fmt else None


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


def _display_name(filename: str) -> str:
    """The user's file name made safe to quote in a message (no bidi tricks, bounded)."""
    text = " ".join(unicodedata.normalize("NFC", _strip_unsafe(filename)).split())
    if not text:
        return "your file"
    return text if len(text) <= 80 else text[:79] + "\u2026"


# --------------------------------------------------------------------------- small helpers


def _canonical(mime: str) -> str:
    """Lower-case a MIME type, drop parameters and map aliases to the spelling we use."""
    mime = mime.split(";")[0].strip().lower()
    for ours in _FORMATS:  # keep our own spelling (none of ours has upper case, but be sure)
        if ours.lower() == mime:
            return ours
    return _ALIASES.get(mime, mime)


def _describe(mime: str) -> str:
    """A phrase for a type, e.g. 'a web page (HTML)'."""
    if mime in _FORMATS:
        return _FORMATS[mime].phrase
    return _DESCRIPTIONS.get(mime, f"a file of type {mime}")


def _labels(mimes: Iterable[str]) -> str:
    labels = [_FORMATS[m].label for m in mimes]
    if len(labels) < 2:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _megabytes(n: int) -> str:
    """Sizes as people read them: 10485760 -> '10 MB', 1500 -> '1.5 KB'."""
    if n < 1024 * 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def _size(f: BinaryIO) -> int:
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    return size


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    f.seek(0)
    while chunk := f.read(_CHUNK):
        yield chunk


def _sha256(f: BinaryIO) -> str:
    f.seek(0)
    return hashlib.file_digest(f, "sha256").hexdigest()
