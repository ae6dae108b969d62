"""Zip containers: OOXML (Word and friends), OpenDocument, iWork, and plain archives.

The zip directory is checked before any entry is read (entry count, declared sizes, ratio,
names: ``..``, absolute paths and backslashes are refused). XML parts are read by lxml with
entities, DTDs and network access off and a size bound per part; a part with a DOCTYPE is
refused (OPC forbids them). Relationships are read as XML in whatever encoding they declare,
fields are joined across runs before they are judged (in every XML part), and the objects
the relationships point at (oleObject, package, activeXControlBinary, aFChunk), wherever they
live in the package, and every part whose bytes are an OLE or zip container, are inspected
as files of their own, by the same check. ODF: every ``content.xml`` and ``styles.xml``,
embedded objects' included, is read.
"""

from __future__ import annotations

import posixpath
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from flask_babel import gettext
from lxml import etree

from portal.filetype.formats import (
    FIELD_WORDS,
    IWORK,
    ODF_TYPES,
    OOXML_MAIN,
    WITH_VBA,
    ZIP,
    field_problem,
    local_target,
    megabytes,
    nested_result,
)
from portal.filetype.limits import (
    CHUNK,
    MAX_PART_BYTES,
    MAX_UNPACK_RATIO,
    MAX_UNPACKED_BYTES,
    Budget,
    Finding,
    TooComplex,
    TooMuchData,
    embedded_problem,
    read_at,
)
from portal.i18n import N_

MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_DIRECTORY_BYTES = 4 * 1024 * 1024  # zipfile reads the central directory into memory

Inspector = Callable[[bytes], Finding]

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

_PARSERS = threading.local()  # lxml parser objects must not be shared between threads


def _parser() -> etree.XMLParser:
    """This thread's hardened parser: no entity expansion, no DTD, no network, and libxml2's
    default depth and size limits (huge_tree off)."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            dtd_validation=False,
            remove_pis=True,
            remove_comments=True,  # so "DD<!-- -->EAUTO" reads as one text, as Word reads it
        )
    return parser


class _BadPart(Exception):
    """An XML part that is not well-formed (or has a DOCTYPE, or is too big)."""


def inspect_zip(f: BinaryIO, size: int, budget: Budget, inspect: Inspector) -> Finding:
    """Type a zip container from its directory, refusing bombs before reading any entry."""
    directory = zip_directory(f, size)
    if directory is None:
        return Finding(None, "file_damaged", N_("not a readable ZIP/Office container"))
    entries, directory_bytes = directory
    if entries > MAX_ZIP_ENTRIES or directory_bytes > MAX_ZIP_DIRECTORY_BYTES:
        return Finding(None, "file_compression_bomb", gettext("%(count)s entries", count=entries))
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            bomb = _zip_bomb(infos, size)
            if bomb:
                return Finding(None, "file_compression_bomb", bomb)
            if any(_unsafe_name(i.filename) for i in infos):
                return Finding(None, "file_damaged", N_("a part inside it has an unsafe name"))
            if len({i.filename.lower() for i in infos}) != len(infos):
                # Readers disagree on which of two same-named parts counts: never guess.
                return Finding(None, "file_damaged", N_("two parts inside it have the same name"))
            return _classify(zf, {i.filename.lower(): i for i in infos}, budget, inspect)
    except TooMuchData as exc:
        return Finding(None, "file_compression_bomb", str(exc))
    except TooComplex:
        return Finding(None, "file_too_complex")
    except _BadPart as exc:
        return Finding(None, "file_damaged", str(exc))
    except _ZIP_ERRORS:
        # RuntimeError: encrypted entry; NotImplementedError: exotic compression.
        return Finding(None, "file_damaged", N_("not a readable ZIP/Office container"))


def zip_directory(f: BinaryIO, size: int) -> tuple[int, int] | None:
    """Read entry count and central-directory size from the end record, or None."""
    tail_len = min(size, 22 + 0xFFFF)
    tail = read_at(f, size - tail_len, tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory_bytes = struct.unpack("<HL", tail[at + 10 : at + 16])
    locator = tail[at - 20 : at] if at >= 20 else b""
    if (entries == 0xFFFF or directory_bytes == 0xFFFFFFFF) and locator[:4] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", locator[8:16])
        record = read_at(f, offset, 56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries, directory_bytes = struct.unpack("<QQ", record[32:48])
    return entries, directory_bytes


def has_hidden_zip(f: BinaryIO, size: int) -> bool:
    """Tell whether a readable zip archive is appended to the file (a polyglot)."""
    directory = zip_directory(f, size)
    if directory is None or directory[1] > MAX_ZIP_DIRECTORY_BYTES:
        return False
    try:
        with zipfile.ZipFile(f) as zf:
            return bool(zf.infolist())
    except _ZIP_ERRORS:
        return False  # a stray end-of-directory signature in image or PDF data


def _zip_bomb(infos: list[zipfile.ZipInfo], size: int) -> str:
    """Describe why the declared sizes look like a zip bomb, or return ''."""
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_ZIP_ENTRIES:
        return gettext("%(count)s entries", count=len(infos))
    if total > MAX_UNPACKED_BYTES or total > MAX_UNPACK_RATIO * size:
        return gettext(
            "%(unpacked)s unpacked from %(packed)s",
            unpacked=megabytes(total),
            packed=megabytes(size),
        )
    return ""


def _unsafe_name(name: str) -> bool:
    """Entry names that climb out of the package or are absolute (zip-slip), or use '\\'."""
    return (
        "\\" in name
        or name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or ".." in name.split("/")
        or "\x00" in name
    )


def _classify(
    zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], budget: Budget, inspect: Inspector
) -> Finding:
    """Tell ODF, OOXML, iWork and plain archives apart."""
    if "mimetype" in entries:
        declared = _read(zf, entries["mimetype"], 256, budget).decode("ascii", "replace").strip()
        if declared in ODF_TYPES:  # never forward an arbitrary string from the zip
            odf = _inspect_odf(zf, entries, declared, budget)
            if odf.problem or "[content_types].xml" not in entries:
                return odf
            # Also an OPC package: Word opens what LibreOffice does not see.
            ooxml = _inspect_ooxml(zf, entries, budget, inspect)
            return Finding(declared, ooxml.problem, ooxml.detail) if ooxml.problem else odf
    if "[content_types].xml" in entries:
        return _inspect_ooxml(zf, entries, budget, inspect)
    if _is_iwork(entries):
        return Finding(IWORK)
    return Finding(ZIP)


# --------------------------------------------------------------------------- reading parts


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, budget: Budget) -> bytes:
    """Read at most `limit` bytes of an entry (its declared size may lie), on the budget."""
    out = bytearray()
    with zf.open(info) as entry:
        while len(out) <= limit and (chunk := entry.read(min(CHUNK, limit + 1 - len(out)))):
            budget.spend(len(chunk))
            out += chunk
    budget.tick()
    return bytes(out)


def _parse(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, doctype: bool = False
) -> etree._Element:
    """Parse an XML part with the hardened parser; any encoding its prolog or BOM declares.
    `doctype`: a document type declaration is allowed (never loaded): OpenOffice writes one
    in its MathML objects."""
    data = _read(zf, info, MAX_PART_BYTES, budget)
    if len(data) > MAX_PART_BYTES:
        raise TooMuchData(gettext("a part over %(size)s", size=megabytes(MAX_PART_BYTES)))
    try:
        root = etree.fromstring(data, _parser())  # noqa: S320 - the parser is hardened
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _BadPart(gettext("a damaged part (%(part)s)", part=_short(info.filename))) from exc
    if root.getroottree().docinfo.doctype and not doctype:
        raise _BadPart(
            gettext(
                "a part with a document type declaration (%(part)s)", part=_short(info.filename)
            )
        )
    return root


def _short(name: str) -> str:
    return name if len(name) <= 60 else "…" + name[-59:]


def _local(tag: object) -> str:
    """The local name of an element, lower case ('' for comments and entities)."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _attributes(element: etree._Element) -> dict[str, str]:
    """Attributes by lower-case local name (namespaces and case do not change meaning here)."""
    return {_local(k): v for k, v in element.attrib.items()}


# --------------------------------------------------------------------------- ODF


def _inspect_odf(
    zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], mime: str, budget: Budget
) -> Finding:
    """Check an OpenDocument package for encryption and macros (Basic/, Scripts/)."""
    if any(name.startswith(("basic/", "scripts/")) for name in entries):
        return Finding(mime, "file_macros")
    manifest = entries.get("meta-inf/manifest.xml")
    if manifest is not None:
        root = _parse(zf, manifest, budget)
        if any(_local(el.tag) == "encryption-data" for el in root.iter()):
            return Finding(mime, "file_encrypted")
    # Embedded objects ("Object 1/content.xml") are documents of their own, shown on open.
    for name, info in entries.items():
        if name == "settings.xml" or name.rsplit("/", 1)[-1] in ("content.xml", "styles.xml"):
            problem = _odf_problem(_parse(zf, info, budget, doctype="/" in name))
            if problem:
                return Finding(mime, *problem)
    return Finding(mime)


# ODF elements that load what their xlink:href names when the document is shown.
_ODF_LOADED = {
    "image",
    "object",
    "object-ole",
    "section-source",
    "table-source",
    "plugin",
    "floating-frame",
}
# Elements whose code or archive attributes name what they load, too (a plugin's or an
# applet's code base); an applet is Java code the office suite would run.
_ODF_CODE = ("href", "code", "archive", "codebase", "mime-type-src")


def _odf_problem(root: etree._Element) -> tuple[str, str] | None:
    """Scripts bound to events (macros, or LibreOffice's own Python scripts: CVE-2018-16858),
    DDE connections, and linked content from file:/UNC paths."""
    for element in root.iter():
        name = _local(element.tag)
        if name == "event-listener":
            attributes = _attributes(element)
            target = (attributes.get("href", "") + attributes.get("macro-name", "")).lower()
            if "language" in attributes or "script:" in target or "macro:" in target:
                return "file_active_content", N_("a script it runs on an event")
        if name == "script" and "language" in _attributes(element):
            return "file_macros", N_("a script written into the document")
        if name in ("dde-source", "dde-connection-decl", "dde-link"):
            return "file_remote_content", FIELD_WORDS["dde"]
        href = _attributes(element).get("href", "").strip().lower()
        if href.startswith(("vnd.sun.star.script:", "macro:")):  # a link that runs a macro
            return "file_active_content", N_("a script it runs on an event")
        if name == "applet":
            return "file_active_content", N_("a script written into the document")
        if name in _ODF_LOADED:
            attributes = _attributes(element)
            for href in (attributes.get(a, "") for a in _ODF_CODE):
                lowered = href.strip().lower()
                if (
                    local_target(href)
                    or lowered.startswith("vnd.sun.star.script:")
                    or (name == "floating-frame" and "://" in lowered)
                ):
                    return "file_remote_content", N_("content it loads from a file elsewhere")
    return None


# --------------------------------------------------------------------------- OOXML


def _inspect_ooxml(
    zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], budget: Budget, inspect: Inspector
) -> Finding:
    """Type an OPC package from its main part, then check what it would load or run."""
    root = _parse(zf, entries["[content_types].xml"], budget)
    # Renaming the content type does not remove the VBA: any vbaProject.bin means macros.
    has_vba = any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in entries)
    missing = False
    for element in root.iter():
        if _local(element.tag) != "override":
            continue
        attributes = _attributes(element)
        mime = OOXML_MAIN.get(attributes.get("contenttype", "").strip().lower())
        if mime is None:
            continue
        name = attributes.get("partname", "").strip().lstrip("/").lower()
        if name not in entries:
            missing = True  # a main part that is not there; another override may still be
            continue
        if has_vba:
            return Finding(WITH_VBA.get(mime, mime))
        problem = _active_parts(zf, entries, budget, inspect, _content_types(root))
        return Finding(mime, *problem) if problem else Finding(mime)
    if has_vba:
        return Finding(None, "file_macros")
    if missing:
        return Finding(None, "file_damaged", N_("its main document part is missing"))
    return Finding(None)  # an OPC package we do not know (XPS, ...): undecidable


# Relationships that make Office fetch and load something when the file is opened (template
# injection, remote OLE objects, frames, sub-documents, imported chunks, linked workbooks).
# External hyperlinks are fine: CVs link to LinkedIn.
_LOADED = {
    "attachedtemplate": N_("a template on another server"),
    "oleobject": N_("an object on another server"),
    "frame": N_("a frame from another server"),
    "subdocument": N_("a sub-document on another server"),
    "afchunk": N_("a part on another server"),
    "package": N_("a package on another server"),
    "externallink": N_("a workbook on another server"),
    "externallinkpath": N_("a workbook on another server"),
    "externalreference": N_("a workbook on another server"),
}
# Relationships whose internal target Office opens as an object, a package or an imported
# chunk, wherever in the package the part lives (word/media/x.bin is as good as embeddings/).
_OBJECTS = {"oleobject", "package", "activexcontrolbinary", "afchunk", "embeddedobject"}
# Parts of any name whose bytes are a container Office can open as an object.
_CONTAINER_MAGIC = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04")
# What Word imports from an altChunk part that is not itself checked as a document: plain
# text, RTF and WordprocessingML (each inspected as a file of its own). HTML and MHT chunks
# are web pages, refused as they would be on their own.
_CHUNK_TYPES = {"text/plain", "application/rtf", "text/rtf"} | {
    t for t in OOXML_MAIN if "wordprocessingml" in t
}
_WEB_PAGES = {"text/html", "application/xhtml+xml", "message/rfc822", "multipart/related"}


def _active_parts(
    zf: zipfile.ZipFile,
    entries: dict[str, zipfile.ZipInfo],
    budget: Budget,
    inspect: Inspector,
    content_type: Callable[[str], str],
) -> tuple[str, str] | None:
    """(code, words) for what the package would load or run when opened, or None."""
    objects: list[str] = []
    chunks: set[str] = set()
    for name, info in entries.items():
        if not name.endswith(".rels"):
            continue
        for kind, target, external in _relationships(zf, info, budget):
            # A hyperlink to a file runs nothing until clicked (Word asks first): CVs have them.
            if external and (kind in _LOADED or (kind != "hyperlink" and local_target(target))):
                words = _LOADED.get(kind, N_("a file on this or another computer"))
                return "file_remote_content", words
            if kind in _OBJECTS and not external:
                objects.append(_resolve(name, target))
                if kind == "afchunk":
                    chunks.add(objects[-1])
    for name, info in entries.items():
        # Every XML part, not only word/: a part Word can be made to show need not live there.
        if name.endswith(".xml") and name != "[content_types].xml":
            words = _field_problem(_parse(zf, info, budget))
            if words:
                return "file_remote_content", words
    inner = [n for n in objects if n in entries] + [
        n for n in entries if _is_container(zf, entries[n], budget)
    ]
    for name in dict.fromkeys(inner):
        data = _read(zf, entries[name], MAX_PART_BYTES, budget)
        if len(data) > MAX_PART_BYTES:
            raise TooMuchData(
                gettext("an embedded file over %(size)s", size=megabytes(MAX_PART_BYTES))
            )
        short = entries[name].filename.rsplit("/", 1)[-1]
        finding = inspect(data)
        if name in chunks and (
            content_type(name) not in _CHUNK_TYPES or finding.mime in _WEB_PAGES
        ):
            return "file_active_content", gettext("inside it: %(name)s", name=short)
        problem = embedded_problem(finding, short)
        if problem:
            return problem
    return None


def _is_container(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bool:
    """Tell whether a part's bytes are an OLE compound file or a zip, whatever its name."""
    if info.is_dir() or info.filename.lower().endswith((".xml", ".rels")):
        return False
    return _read(zf, info, 8, budget)[:8].startswith(_CONTAINER_MAGIC)


def _content_types(root: etree._Element) -> Callable[[str], str]:
    """A part's declared content type (its Override, else its extension's Default)."""
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for element in root.iter():
        attributes = _attributes(element)
        kind = attributes.get("contenttype", "").strip().lower()
        if _local(element.tag) == "override":
            overrides[attributes.get("partname", "").strip().lstrip("/").lower()] = kind
        elif _local(element.tag) == "default":
            defaults[attributes.get("extension", "").strip().lower()] = kind

    def content_type(name: str) -> str:
        return overrides.get(name) or defaults.get(name.rsplit(".", 1)[-1], "")

    return content_type


def _relationships(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget
) -> Iterator[tuple[str, str, bool]]:
    """(type's last segment in lower case, target, external?) for each relationship."""
    for element in _parse(zf, info, budget).iter():
        if _local(element.tag) != "relationship":
            continue
        attributes = _attributes(element)
        kind = attributes.get("type", "").strip().rstrip("/").rsplit("/", 1)[-1].lower()
        mode = attributes.get("targetmode", "").strip().lower()
        target = attributes.get("target", "").strip()
        # An absolute URL or a file path is fetched whatever TargetMode says (or omits).
        external = mode == "external" or "://" in target or local_target(target)
        yield kind, target, external


def _resolve(rels_name: str, target: str) -> str:
    """The zip entry a relative target points at ('word/_rels/document.xml.rels' + 'x')."""
    if target.startswith("/"):
        return target.lstrip("/").lower()
    base = posixpath.dirname(posixpath.dirname(rels_name))
    return posixpath.normpath(posixpath.join(base, target)).lower()


class _Field:
    """A complex field being read: its instruction so far, then its (cached) result."""

    def __init__(self) -> None:
        self.instruction: list[str] = []
        self.result: list[str] = []
        self.in_result = False


def _field_problem(root: etree._Element) -> str:
    """Words for a dangerous field in this part, after joining each field's runs, or ''.

    A nested field's result joins its parent's instruction, as Word evaluates it:
    ``{ {QUOTE "DDEAUTO"} c:\\...}`` and ``{ {QUOTE 68 68 69 65 85 84 79} c:\\...}`` are
    DDEAUTO fields whatever result the file stored; any other field in the name position
    is refused (its stored result proves nothing).
    """
    fields: list[_Field] = []
    for element in root.iter():
        name = _local(element.tag)
        if name == "ddelink":  # a workbook's link to a DDE server (an embedded chart's, say)
            return FIELD_WORDS["dde"]
        if name == "fldsimple":
            words = field_problem(_attributes(element).get("instr", ""))
            if words:
                return words
        elif name == "fldchar":
            kind = _attributes(element).get("fldchartype", "").strip().lower()
            if kind == "begin":
                fields.append(_Field())
            elif kind in ("separate", "end") and fields:
                field = fields[-1]
                words = field_problem("".join(field.instruction))
                if words:
                    return words
                field.in_result = True
                if kind == "end":
                    fields.pop()
                    parent = fields[-1] if fields else None
                    if parent is not None and not parent.in_result:
                        blank = not "".join(parent.instruction).strip()
                        parent.instruction.append(
                            nested_result("".join(field.instruction), "".join(field.result), blank)
                        )
        elif name in ("instrtext", "delinstrtext"):
            if fields and not fields[-1].in_result:
                fields[-1].instruction.append(element.text or "")
            else:
                words = field_problem(element.text or "")
                if words:
                    return words
        elif name in ("t", "deltext") and fields and fields[-1].in_result:
            fields[-1].result.append(element.text or "")
    for field in fields:  # fields never closed: Word still runs them
        words = field_problem("".join(field.instruction))
        if words:
            return words
    return ""


def _is_iwork(entries: dict[str, zipfile.ZipInfo]) -> bool:
    """Recognise Pages/Numbers/Keynote packages (iWork '09 and 2013+)."""
    return (
        any(n.startswith("index/") and n.endswith(".iwa") for n in entries)
        or "buildversionhistory.plist" in entries
        or "index.apxl" in entries
        or "index.apxl.gz" in entries
    )
