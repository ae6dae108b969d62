"""PDFs, read by qpdf (pikepdf): every object, also those packed in object streams.

qpdf decodes object streams whatever their filters (ASCIIHex, ASCII85, Flate, predictors)
and normalises names (``/J#61vaScript`` is ``/JavaScript``), so what we look at is what a
reader sees. We refuse: JavaScript anywhere, XFA forms, actions that launch, submit, import
or open other files (Launch, GoToR, GoToE, ImportData, SubmitForm), URI actions that run by
themselves (on open, on a page or field event) and any to a ``file:`` or UNC target,
attached files, RichMedia and 3D. Links, script-free forms, PDF/A and scans stay fine.
"""

from __future__ import annotations

from typing import BinaryIO

import pikepdf

from portal.filetype.formats import PDF, local_target
from portal.filetype.limits import MAX_UNPACKED_BYTES, Budget, Finding, TooComplex, read_at
from portal.i18n import N_

PDF_EOF_WINDOW = 1024  # Acrobat's own tolerance for bytes after %%EOF
MAX_OBJECTS = 500_000

# Decoding limits are process-wide in qpdf; we are its only user. A Flate object stream
# that would unpack to more than this is not decoded (qpdf warns, and we refuse).
pikepdf.settings.set_qpdf_limits(
    flate_max_memory=MAX_UNPACKED_BYTES,
    png_max_memory=MAX_UNPACKED_BYTES,
    run_length_max_memory=MAX_UNPACKED_BYTES,
    tiff_max_memory=MAX_UNPACKED_BYTES,
    max_stream_filters=8,
)

_RUNS_CODE = {"/JavaScript": "JavaScript", "/Launch": N_("a launch action")}
_OPENS_ELSEWHERE = {
    "/GoToR": N_("a link that opens another file"),
    "/GoToE": N_("a link into an attached file"),
    "/ImportData": N_("an action that imports data"),
    "/SubmitForm": N_("a form that sends data elsewhere"),
}
_ACTIVE_SUBTYPES = {
    "/RichMedia": N_("rich media (Flash or video)"),
    "/3D": N_("a 3D model"),
    "/Movie": N_("a movie"),
    "/Sound": N_("a sound"),
    "/Screen": N_("a media player"),
}
_ATTACHED_TYPES = {"/EmbeddedFile", "/Filespec"}  # /Filespec only counts with /EF


def inspect_pdf(f: BinaryIO, size: int, budget: Budget) -> Finding:
    """Refuse truncated, encrypted, scripted and file-carrying PDFs."""
    if b"%%EOF" not in read_at(f, max(0, size - PDF_EOF_WINDOW), PDF_EOF_WINDOW):
        return Finding(
            PDF, "file_damaged", N_("the PDF ends early or has extra data after its end")
        )
    f.seek(0)
    try:
        document = pikepdf.open(f)
    except pikepdf.PasswordError:
        return Finding(PDF, "file_encrypted")
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError):
        return Finding(PDF, "file_damaged", N_("a PDF reader cannot make sense of it"))
    try:
        if document.is_encrypted:
            return Finding(PDF, "file_encrypted")
        return _walk(document, budget)
    except TooComplex:
        return Finding(PDF, "file_too_complex")
    except (pikepdf.PdfError, ValueError, RuntimeError, RecursionError) as exc:
        if "memory" in str(exc).lower() or "limit" in str(exc).lower():
            return Finding(PDF, "file_compression_bomb", N_("its packed objects are far too big"))
        return Finding(PDF, "file_damaged", N_("a PDF reader cannot make sense of it"))
    finally:
        document.close()


def _walk(document: pikepdf.Pdf, budget: Budget) -> Finding:
    """Look at every dictionary of every object and report the worst thing found."""
    found: dict[str, str] = {}
    uri = document.Root.get("/URI")
    base = _text(uri.get("/Base")) if isinstance(uri, pikepdf.Dictionary) else ""
    if local_target(base):  # every relative link of the document resolves against it
        found["file_remote_content"] = "a link to a file on this or another computer"
    objects = document.objects  # resolving these decodes the object streams
    for count, obj in enumerate(objects):
        if count % 512 == 0:
            budget.tick()
        if count > MAX_OBJECTS:
            return Finding(PDF, "file_too_complex")
        _look(obj, found, base)
        if "file_active_content" in found:
            break
    warnings = " ".join(document.get_warnings()).lower()
    if "memory" in warnings or "limit" in warnings:
        return Finding(PDF, "file_compression_bomb", N_("its packed objects are far too big"))
    for code in ("file_active_content", "file_embedded_files", "file_remote_content"):
        if code in found:
            return Finding(PDF, code, found[code])
    if "damaged" in warnings or "reconstruct" in warnings:  # qpdf rebuilt the xref table
        return Finding(PDF, "file_damaged", N_("it is damaged, and had to be repaired to be read"))
    return Finding(PDF)


def _look(obj: object, found: dict[str, str], base: str = "") -> None:
    """Check one object and the direct dictionaries and arrays inside it."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Stream):
            item = item.stream_dict
        if isinstance(item, pikepdf.Dictionary):
            _dictionary(item, found, base)
            values = item.values()
        elif isinstance(item, pikepdf.Array):
            values = list(item)
        else:
            continue
        stack.extend(v for v in values if _direct_container(v))


def _direct_container(value: object) -> bool:
    """Direct dictionaries and arrays; indirect objects are visited on their own."""
    return isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect


_INTERESTING = frozenset(
    {"/JS", "/JavaScript", "/XFA", "/S", "/Subtype", "/Type", "/EmbeddedFiles", "/EF"}
    | {"/OpenAction", "/AA"}
)


def _dictionary(d: pikepdf.Dictionary, found: dict[str, str], base: str) -> None:
    keys = _INTERESTING.intersection(d.keys())
    if not keys:  # most dictionaries: fonts, resources, page content (one C++ call each)
        return
    if "/JS" in keys or "/JavaScript" in keys:
        found.setdefault("file_active_content", N_("JavaScript"))
    if "/XFA" in keys:
        found.setdefault("file_active_content", N_("an XFA form, which can run scripts"))
    if "/S" in keys:
        _action(d, found, base)
    subtype = _name(d.get("/Subtype")) if "/Subtype" in keys else None
    if subtype in _ACTIVE_SUBTYPES:
        found.setdefault("file_active_content", _ACTIVE_SUBTYPES[subtype])
    kind = _name(d.get("/Type")) if "/Type" in keys else None
    if (
        subtype == "/FileAttachment"
        or "/EmbeddedFiles" in keys
        or kind == "/EmbeddedFile"
        or ("/EF" in keys and kind in _ATTACHED_TYPES | {None})
    ):
        found.setdefault("file_embedded_files", "")
    for key in ("/OpenAction", "/AA"):
        if key in keys and _runs_uri(d.get(key)):
            found.setdefault("file_active_content", N_("a web address it opens by itself"))


def _action(d: pikepdf.Dictionary, found: dict[str, str], base: str) -> None:
    action = _name(d.get("/S"))
    if action in _RUNS_CODE:
        found.setdefault("file_active_content", _RUNS_CODE[action])
    elif action in _OPENS_ELSEWHERE:
        found.setdefault("file_active_content", _OPENS_ELSEWHERE[action])
    elif action == "/URI":
        target = _resolved(_text(d.get("/URI")), base).lower()
        if target.startswith(("javascript:", "vbscript:", "data:")):
            found.setdefault("file_active_content", N_("a link that runs a script"))
        elif local_target(target):
            found.setdefault(
                "file_remote_content", N_("a link to a file on this or another computer")
            )


def _runs_uri(value: object, depth: int = 0) -> bool:
    """Tell whether an automatic action (or /AA table of them) opens a URI, /Next included."""
    if depth > 8 or not isinstance(value, pikepdf.Dictionary):
        return False
    if _name(value.get("/S")) == "/URI":
        return True
    nexts = value.get("/Next")
    if isinstance(nexts, pikepdf.Array):
        if any(_runs_uri(n, depth + 1) for n in list(nexts)[:16]):
            return True
    elif _runs_uri(nexts, depth + 1):
        return True
    if "/S" not in value:  # an /AA table: each entry is an action
        return any(_runs_uri(v, depth + 1) for v in list(value.values())[:32])
    return False


def _text(value: object) -> str:
    """A PDF string or name as a reader shows it: text strings decoded (UTF-16 with a byte
    order mark, or PDFDocEncoding), control characters and spaces around it dropped."""
    if isinstance(value, pikepdf.String):
        text = str(value)  # qpdf decodes UTF-16 (FE FF), UTF-8 (EF BB BF) and PDFDocEncoding
    elif isinstance(value, pikepdf.Name):
        text = str(value)
    else:
        return ""
    return "".join(c for c in text if c.isprintable() or c == " ").strip()


def _resolved(target: str, base: str) -> str:
    """A URI as a reader follows it: relative ones against the catalog's /URI /Base."""
    head = target.split("/", 1)[0]
    if base and ":" not in head and not target.startswith(("\\\\", "//")):
        return base + target
    return target


def _name(value: object) -> str | None:
    return str(value) if isinstance(value, pikepdf.Name) else None
