"""Legacy Office (OLE2 / CFB): .doc, .xls, .ppt, and OLE objects embedded in other files.

olefile reads the container; oletools judges it: ``olevba`` finds VBA and Excel 4 macros
however the storages are named, ``oleobj`` reads OLE Package objects (a file wrapped for a
double click: its name and bytes are checked, the bytes by the same check as an upload), and
``msodde`` finds DDE fields in Word's text. The Word header (FIB) says template or password.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from typing import BinaryIO

import olefile

with warnings.catch_warnings():
    # oletools 0.60 calls pyparsing by its old names at import; nothing we can act on.
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools import msodde, olevba
    from oletools.oleobj import OleNativeStream

from portal.filetype.formats import (
    DOC,
    ENCRYPTED,
    EXECUTABLE_EXTENSIONS,
    OCTET_STREAM,
    OLE_STORAGE,
    PPT,
    XLS,
    field_problem,
)
from portal.filetype.limits import (
    MAX_PART_BYTES,
    Budget,
    Finding,
    TooComplex,
    TooMuchData,
    embedded_problem,
)
from portal.i18n import N_

Inspector = Callable[[bytes], Finding]

MAX_PACKAGES = 64  # OLE Package objects we open in one file
MAX_DDE_SCAN = 8 * 1024 * 1024  # bytes of Word text msodde reads (it goes byte by byte)
_EQUATION_CLSIDS = {
    "0002CE02-0000-0000-C000-000000000046",  # Equation Editor 3.0 (CVE-2017-11882)
    "0002CE03-0000-0000-C000-000000000046",
}

# oletools logs at WARNING about every odd stream it meets; that is our normal input.
for _name in ("olevba", "msodde", "oleobj", "rtfobj", "olefile"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def inspect_cfb(f: BinaryIO, found: str, budget: Budget, inspect: Inspector) -> Finding:
    """Check an OLE2 file for encryption, macros, packaged files, DDE and the template flag."""
    try:
        ole = olefile.OleFileIO(f)
    except Exception:  # olefile raises many exception types on hostile input
        return Finding(None, "file_damaged", N_("not a readable Office file"))
    try:
        return _inspect(f, ole, found, budget, inspect)
    except TooMuchData as exc:
        return Finding(None, "file_compression_bomb", str(exc))
    except TooComplex:
        return Finding(None, "file_too_complex")
    except Exception:  # same: a damaged directory can fail anywhere
        return Finding(None, "file_damaged", N_("not a readable Office file"))
    finally:
        ole.close()


def _inspect(
    f: BinaryIO, ole: olefile.OleFileIO, found: str, budget: Budget, inspect: Inspector
) -> Finding:
    top = {kid.name.lower(): kid for kid in ole.root.kids}
    if "encryptedpackage" in top or found == ENCRYPTED:
        return Finding(ENCRYPTED, "file_encrypted")
    if "worddocument" in top:
        mime = DOC
    elif found in (OLE_STORAGE, OCTET_STREAM) or found.startswith("application/cdfv2"):
        # libmagic gave up (upper-case stream names, or an OLE object); name what we can.
        mime = XLS if ("workbook" in top or "book" in top) else None
        mime = PPT if "powerpoint document" in top else mime
    else:
        mime = found
    if _has_macros(f, ole):
        return Finding(mime, "file_macros")
    problem = _objects(ole, budget, inspect)
    if problem:
        return Finding(mime, *problem)
    if mime == DOC:
        return _word(ole, top["worddocument"])
    if mime is None:
        return Finding(None, "file_damaged", N_("an unreadable or protected Office file"))
    return Finding(mime)


def _has_macros(f: BinaryIO, ole: olefile.OleFileIO) -> bool:
    """VBA projects (any storage naming) and Excel 4 macro sheets, as olevba sees them."""
    names = {"/".join(p).lower() for p in ole.listdir(storages=True)}
    if any(n.split("/")[0] in ("macros", "_vba_project_cur", "_vba_project") for n in names):
        return True
    if any(n == "vba" or n.endswith("/vba") for n in names):
        return True
    f.seek(0)
    data = f.read()
    try:
        parser = olevba.VBA_Parser("upload", data=data)
    except Exception:  # olevba: not a type it knows; the storage check above stands
        return False
    try:
        return bool(parser.detect_vba_macros() or parser.detect_xlm_macros())
    except Exception:
        return False
    finally:
        parser.close()


def _objects(ole: olefile.OleFileIO, budget: Budget, inspect: Inspector) -> tuple[str, str] | None:
    """Packaged files (\\x01Ole10Native streams, e.g. in a .doc's ObjectPool) and equation
    objects, checked one by one."""
    packages = 0
    for path in ole.listdir(streams=True, storages=False):
        budget.tick()
        leaf = path[-1].lower()
        if leaf == "equation native":
            return "file_active_content", N_("an equation object of the old Equation Editor")
        if leaf in ("package", "contents"):
            # An embedded Office file (Package) or PDF (CONTENTS): a file of its own.
            if ole.get_size(path) > MAX_PART_BYTES:
                raise TooMuchData("an embedded file is too big to check")
            raw = ole.openstream(path).read()
            budget.spend(len(raw))
            problem = embedded_problem(inspect(raw), "")
            if problem:
                return problem
            continue
        if leaf != "\x01ole10native":
            continue
        packages += 1
        if packages > MAX_PACKAGES:
            return "file_too_complex", ""
        if ole.get_size(path) > MAX_PART_BYTES:
            raise TooMuchData("a packaged file is too big to check")
        raw = ole.openstream(path).read()
        budget.spend(len(raw))
        problem = package_problem(raw, inspect, has_size=True)
        if problem:
            return problem
    for storage in ole.listdir(streams=False, storages=True):
        entry = ole.direntries[ole._find(storage)]
        if entry is not None and (entry.clsid or "").upper() in _EQUATION_CLSIDS:
            return "file_active_content", N_("an equation object of the old Equation Editor")
    if (ole.root.clsid or "").upper() in _EQUATION_CLSIDS:
        return "file_active_content", N_("an equation object of the old Equation Editor")
    return None


def package_problem(raw: bytes, inspect: Inspector, has_size: bool) -> tuple[str, str] | None:
    """Judge the file inside an OLE Package: a program by name or by content refuses all."""
    try:
        package = OleNativeStream(raw, package=not has_size)
    except Exception:
        return None  # not a package after all (other OLE 1 native data)
    if package.is_link or package.data is None:
        return "file_remote_content", N_("a packaged link to another file")
    names = [_leaf(n) for n in (package.filename, package.src_path, package.temp_path) if n]
    for name in names:
        # Windows drops trailing dots and spaces: "invoice.exe. " runs as invoice.exe.
        extension = name.rstrip(" .").rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension in EXECUTABLE_EXTENSIONS:
            return "file_executable", name[:60]
    name = names[0] if names else ""
    return embedded_problem(inspect(bytes(package.data)), name)


def _leaf(path: object) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _word(ole: olefile.OleFileIO, stream: olefile.olefile.OleDirectoryEntry) -> Finding:
    """Word's header: fDot (0x0001) is a template, fEncrypted (0x0100) a password; then DDE."""
    fib = ole.openstream(stream.name).read(12)
    if len(fib) < 12 or int.from_bytes(fib[:2], "little") not in (0xA5EC, 0xA5DC):
        return Finding(None, "file_damaged", N_("the Word header is unreadable"))
    flags = int.from_bytes(fib[10:12], "little")
    if flags & 0x0100:
        return Finding(DOC, "file_encrypted")
    if flags & 0x0001:
        return Finding(DOC, "file_template")
    if stream.size > MAX_DDE_SCAN:
        return Finding(DOC, "file_too_complex", N_("too much text to check its fields"))
    data = ole.openstream(stream.name).read()
    # msodde reads 8-bit text; Word stores text as UTF-16 as soon as one character needs it,
    # so the UTF-16 fields are read here too (0x13 begins a field, 0x14 or 0x15 ends it).
    instructions = msodde.process_doc_stream(io.BytesIO(data)) + _utf16_fields(data)
    for instruction in instructions:
        words = field_problem(instruction)
        if words:
            return Finding(DOC, "file_remote_content", words)
    return Finding(DOC)


def _utf16_fields(data: bytes, limit: int = 10_000) -> list[str]:
    """Field instructions in UTF-16 text: from each 0x13 to the next 0x14 or 0x15."""
    out: list[str] = []
    at = data.find(b"\x13\x00")
    while at >= 0 and len(out) < limit:
        window = data[at + 2 : at + 2 + 1024]
        ends = [e for e in (window.find(b"\x14\x00"), window.find(b"\x15\x00")) if e >= 0]
        end = min(ends) if ends else len(window)
        end -= end % 2
        out.append(window[:end].decode("utf-16-le", "replace"))
        at = data.find(b"\x13\x00", at + 2)
    return out
