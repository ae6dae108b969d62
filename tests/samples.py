"""Small real files for tests, built in memory (a PDF, a DOCX, a PNG, plain text)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf(text: str = "Curriculum vitae", pad: int = 0) -> bytes:
    """A valid one-page PDF; `pad` adds that many bytes in a comment stream (for size tests)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if pad:
        filler = b"%" + b"x" * 78 + b"\n"
        blob = filler * (pad // len(filler) + 1)
        objects.append(b"<< /Length %d >>\nstream\n" % len(blob) + blob + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def docx(text: str = "Cover letter", macros: bool = False, remote_template: str = "") -> bytes:
    """A minimal valid Word document (optionally with macros, or a remote template Word would fetch)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{DOCX_MAIN}"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
        if macros:
            z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 508)
        if remote_template:
            z.writestr(
                "word/_rels/settings.xml.rels",
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
                f'Target="{remote_template}" TargetMode="External"/></Relationships>',
            )
    return out.getvalue()


def png(width: int = 4, height: int = 4) -> bytes:
    """A valid grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def text(body: str = "Ada Lovelace\nAnalytical Engine programmer\n") -> bytes:
    """Plain UTF-8 text."""
    return body.encode()


# -- more real files: what third-party writers make (look-alikes of hostile files) ----------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def word(
    body: str = "<w:p><w:r><w:t>Jane Doe, engineer</w:t></w:r></w:p>",
    *,
    rels: str = "",
    settings_rels: str = "",
    overrides: str = "",
    extra: dict[str, bytes] | None = None,
    document_rels_raw: bytes | None = None,
) -> bytes:
    """A hand-made .docx: `body` goes in w:body, `rels` are Relationship elements of the
    document part, `extra` adds zip entries (name -> bytes) as they are."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{DOCX_MAIN}"/>{overrides}</Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">'
            f'<Relationship Id="rId1" Type="{REL}officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
            f"<w:body>{body}</w:body></w:document>",
        )
        if rels or document_rels_raw is not None:
            z.writestr(
                "word/_rels/document.xml.rels",
                document_rels_raw
                if document_rels_raw is not None
                else f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">{rels}</Relationships>',
            )
        if settings_rels:
            z.writestr(
                "word/_rels/settings.xml.rels",
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">{settings_rels}</Relationships>',
            )
        for name, data in (extra or {}).items():
            z.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def ole2(streams: dict[str, bytes], root_clsid: bytes = bytes(16)) -> bytes:
    """A compound file (OLE2, CFB v3) holding `streams` ("Storage/Stream": data).

    Streams are padded to 4 KiB so every one lives in the main FAT (no mini stream): enough
    for Word files and OLE objects as readers (olefile, Word) see them.
    """
    sector = 512
    end, free, fat_mark = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    # The tree of storages and streams: root -> children (sorted the CFB way).
    nodes: list[dict] = [{"name": "Root Entry", "type": 5, "kids": [], "data": b""}]
    index: dict[str, int] = {"": 0}
    for path, data in streams.items():
        parent = ""
        parts = path.split("/")
        for depth, part in enumerate(parts):
            key = "/".join(parts[: depth + 1])
            if key not in index:
                is_stream = depth == len(parts) - 1
                padded = data + bytes(max(0, 4096 - len(data))) if is_stream else b""
                nodes.append(
                    {"name": part, "type": 2 if is_stream else 1, "kids": [], "data": padded}
                )
                index[key] = len(nodes) - 1
                nodes[index[parent]]["kids"].append(index[key])
            parent = key
    # Stream data first, then the directory, then the FAT.
    chains: list[int] = []  # FAT entries
    body = bytearray()
    starts = {}
    for number, node in enumerate(nodes):
        if node["type"] != 2:
            continue
        count = -(-len(node["data"]) // sector)
        starts[number] = len(chains)
        chains += [len(chains) + i + 1 for i in range(count - 1)] + [end]
        body += node["data"] + bytes(count * sector - len(node["data"]))
    directory_start = len(chains)
    dir_sectors = -(-len(nodes) * 128 // sector)
    chains += [directory_start + i + 1 for i in range(dir_sectors - 1)] + [end]
    fat_sectors = 1
    while (len(chains) + fat_sectors) > fat_sectors * (sector // 4):
        fat_sectors += 1
    fat_start = len(chains)
    chains += [fat_mark] * fat_sectors
    chains += [free] * (fat_sectors * (sector // 4) - len(chains))

    def entry(number: int) -> bytes:
        node = nodes[number]
        name = node["name"].encode("utf-16-le") + b"\x00\x00"
        kids = sorted(node["kids"], key=lambda k: (len(nodes[k]["name"]), nodes[k]["name"].upper()))
        child = kids[0] if kids else free
        for a, b in zip(kids, kids[1:], strict=False):
            nodes[a]["right"] = b
        right = node.get("right", free)
        start = starts.get(number, end if node["type"] == 5 else 0)
        size = len(node["data"])
        return (
            name.ljust(64, b"\x00")
            + struct.pack("<HBB", len(name), node["type"], 1)
            + struct.pack("<III", free, right, child)
            + (root_clsid if node["type"] == 5 else bytes(16))
            + bytes(4 + 16)
            + struct.pack("<IQ", start, size)
        )

    for number in range(len(nodes)):  # set right siblings before writing
        kids = sorted(
            nodes[number]["kids"], key=lambda k: (len(nodes[k]["name"]), nodes[k]["name"].upper())
        )
        for a, b in zip(kids, kids[1:], strict=False):
            nodes[a]["right"] = b
    directory = b"".join(entry(n) for n in range(len(nodes)))
    directory += b"\x00" * (dir_sectors * sector - len(directory))
    directory = bytearray(directory)
    for n in range(len(nodes), dir_sectors * 4):  # unused entries: no siblings, no child
        directory[n * 128 + 68 : n * 128 + 80] = struct.pack("<III", free, free, free)
    difat = [fat_start + i for i in range(fat_sectors)] + [free] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, fat_sectors, directory_start, 0, 4096, end, 0, end, 0)
        + struct.pack("<109I", *difat)
    )
    fat = struct.pack(f"<{len(chains)}I", *chains)
    return header + bytes(body) + bytes(directory) + fat


def ole_package(filename: str, payload: bytes) -> bytes:
    """The \\x01Ole10Native stream of an OLE Package object that carries `filename`."""
    name = filename.encode("latin-1") + b"\x00"
    path = b"C:\\Users\\jane\\" + name
    inner = (
        struct.pack("<H", 2)
        + name
        + path
        + struct.pack("<II", 0x00030000, len(path))
        + path
        + struct.pack("<I", len(payload))
        + payload
    )
    return struct.pack("<I", len(inner)) + inner


def word97(extra: dict[str, bytes] | None = None, text: bytes = b"Jane Doe CV " * 40) -> bytes:
    """A Word 97-2003 file (.doc) with a FIB Word accepts, `text` after it (fields are
    0x13 instruction 0x14 result 0x15), plus extra streams (an ObjectPool)."""
    fib = struct.pack("<HHHHH", 0xA5EC, 0xC1, 0, 0, 0) + bytes(2) + bytes(500)
    return ole2({"WordDocument": fib + text, "1Table": bytes(64), **(extra or {})})


def reportlab_cv(links: bool = True) -> bytes:
    """A two-page PDF from reportlab with web and mail links, the way CV generators make them."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setTitle("Jane Doe, CV")
    c.drawString(72, 760, "Jane Doe - Senior Engineer")
    if links:
        c.linkURL("https://www.linkedin.com/in/janedoe", (72, 740, 300, 752))
        c.drawString(72, 742, "linkedin.com/in/janedoe")
        c.linkURL("mailto:jane@example.com", (72, 720, 300, 732))
        c.bookmarkPage("p1")
        c.linkAbsolute("Experience", "p1", (72, 700, 300, 712))
    c.showPage()
    c.drawString(72, 760, "Experience")
    c.showPage()
    c.save()
    return out.getvalue()


def photo_jpeg(width: int = 64, height: int = 48, exif: bool = True) -> bytes:
    """A JPEG like a phone's: EXIF with make, model, time and GPS."""
    from PIL import Image

    img = Image.new("RGB", (width, height), (200, 120, 40))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "Apple"
        tags[0x0110] = "iPhone 15"
        tags[0x0132] = "2026:11:30 10:00:00"
        tags[0x0112] = 6
        gps = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
        tags[0x8825] = gps
        img.save(out, "JPEG", exif=tags, quality=85)
    else:
        img.save(out, "JPEG", quality=85)
    return out.getvalue()


def pillow_png(width: int = 32, height: int = 32) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def scanned_pdf() -> bytes:
    """A PDF that is one scanned page: a JPEG image and nothing else (what scanners write)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.drawImage(ImageReader(io.BytesIO(photo_jpeg(400, 560, exif=False))), 0, 0, 595, 842)
    c.showPage()
    c.save()
    return out.getvalue()


def pdfa() -> bytes:
    """A PDF/A-style file: XMP with pdfaid, an sRGB output intent, object streams (qpdf)."""
    import pikepdf
    from PIL import ImageCms

    pdf_ = pikepdf.open(io.BytesIO(reportlab_cv()))
    with pdf_.open_metadata() as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = "Jane Doe CV"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profile = pdf_.make_stream(icc, N=3)
    pdf_.Root.OutputIntents = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.OutputIntent,
                S=pikepdf.Name.GTS_PDFA1,
                OutputConditionIdentifier=pikepdf.String("sRGB"),
                DestOutputProfile=profile,
            )
        ]
    )
    out = io.BytesIO()
    pdf_.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def xlsx(macros: bool = False) -> bytes:
    """A one-sheet workbook written by hand (what a Word chart keeps its data in)."""
    main = (
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        if macros
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    )
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">'
            f'<Relationship Id="rId1" Type="{REL}officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="{R_NS}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">'
            f'<Relationship Id="rId1" Type="{REL}worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>'
            '<row r="1"><c r="A1"><v>2024</v></c><c r="B1"><v>3</v></c></row></sheetData></worksheet>',
        )
        if macros:
            z.writestr("xl/vbaProject.bin", ole2({"VBA/dir": b"\x01" * 64, "PROJECT": b"ID=x"}))
    return out.getvalue()


_CHART = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="{r}">'
    '<c:chart><c:plotArea><c:barChart><c:barDir val="col"/><c:ser><c:idx val="0"/><c:order val="0"/>'
    "<c:val><c:numRef><c:f>Sheet1!$B$1</c:f></c:numRef></c:val></c:ser></c:barChart></c:plotArea></c:chart>"
    '<c:externalData r:id="rId1"><c:autoUpdate val="0"/></c:externalData></c:chartSpace>'
)


def python_docx_cv() -> bytes:
    """A CV from python-docx: headings, a hyperlink, a picture, a table, a PAGE field in the
    footer, and a chart with its data in an embedded .xlsx (added as Word writes it)."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml.ns import qn
    from docx.oxml.parser import OxmlElement
    from docx.shared import Inches

    document = docx.Document()
    document.add_heading("Jane Doe", 0)
    p = document.add_paragraph("Profile: ")
    r_id = p.part.relate_to("https://www.linkedin.com/in/janedoe", RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    text_el = OxmlElement("w:t")
    text_el.text = "linkedin.com/in/janedoe"
    run.append(text_el)
    link.append(run)
    p._p.append(link)
    document.add_picture(io.BytesIO(photo_jpeg(120, 160)), width=Inches(1))
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "2020-2026"
    table.cell(0, 1).text = "Engineer, Example GmbH"
    footer = document.sections[0].footer.paragraphs[0]
    for kind, content in (("begin", None), ("instr", " PAGE "), ("end", None)):
        r = OxmlElement("w:r")
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.text = content
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        r.append(el)
        footer._p.append(r)
    raw = io.BytesIO()
    document.save(raw)
    return _with_chart(raw.getvalue())


def _with_chart(data: bytes) -> bytes:
    """Add a chart part (with its workbook) to a .docx, as Word's Insert > Chart does."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>",
                    b'<Override PartName="/word/charts/chart1.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.drawingml.chart+xml"/>'
                    b'<Default Extension="xlsx" ContentType="application/vnd.openxmlformats-'
                    b'officedocument.spreadsheetml.sheet"/></Types>',
                )
            elif info.filename == "word/_rels/document.xml.rels":
                body = body.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdChart1" Type="{REL}chart" Target="charts/chart1.xml"/>'
                    "</Relationships>".encode(),
                )
            z.writestr(info, body)
        z.writestr("word/charts/chart1.xml", _CHART.format(r=R_NS))
        z.writestr(
            "word/charts/_rels/chart1.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">'
            f'<Relationship Id="rId1" Type="{REL}package" '
            'Target="../embeddings/Microsoft_Excel_Worksheet.xlsx"/></Relationships>',
        )
        z.writestr("word/embeddings/Microsoft_Excel_Worksheet.xlsx", xlsx())
    return out.getvalue()


def odfpy_odt() -> bytes:
    """An OpenDocument text from odfpy, with a heading, a paragraph and a link."""
    from odf.opendocument import OpenDocumentText
    from odf.text import A, H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Jane Doe"))
    para = P(text="Senior engineer. ")
    para.addElement(A(href="https://www.linkedin.com/in/janedoe", text="LinkedIn"))
    doc.text.addElement(para)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def rtf_cv() -> bytes:
    """An RTF CV with a PNG picture and a HYPERLINK field (what WordPad and Word write)."""
    picture = pillow_png(8, 8).hex()
    return (
        "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Calibri;}}\n"
        "{\\pard\\b Jane Doe\\b0\\par}\n"
        '{\\pard {\\field{\\*\\fldinst{HYPERLINK "https://www.linkedin.com/in/janedoe"}}'
        "{\\fldrslt{\\ul LinkedIn}}}\\par}\n"
        "{\\pard {\\pict\\pngblip\\picw8\\pich8\\picwgoal120\\pichgoal120\n" + picture + "}\\par}\n"
        "{\\pard {\\field{\\*\\fldinst PAGE}{\\fldrslt 1}}\\par}\n}\n"
    ).encode()


def pdf15(
    objects: dict[int, bytes], packed: set[int], objstm_filter: str = "flate", pad: int = 0
) -> bytes:
    """A PDF 1.5 with an xref stream: objects in `packed` live in one object stream encoded
    with `objstm_filter` ("flate", "hex", "a85flate", "png", "none"); object 1 is the catalog."""
    import base64

    header, body = b"", b""
    for number in sorted(packed):
        header += b"%d %d " % (number, len(body))
        body += objects[number] + b"\n"
    raw = header + body + b" " * pad
    if objstm_filter == "hex":
        data, entries = raw.hex().encode() + b">", b"/Filter /ASCIIHexDecode"
    elif objstm_filter == "a85flate":
        data = base64.a85encode(zlib.compress(raw), adobe=True)[2:]
        entries = b"/Filter [/ASCII85Decode /FlateDecode]"
    elif objstm_filter == "png":
        columns = 16
        raw += b" " * (-len(raw) % columns)
        rows, previous = [], bytes(columns)
        for start in range(0, len(raw), columns):
            row = raw[start : start + columns]
            rows.append(b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, previous, strict=True)))
            previous = row
        data = zlib.compress(b"".join(rows))
        entries = b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns %d >>" % columns
    elif objstm_filter == "flate":
        data, entries = zlib.compress(raw), b"/Filter /FlateDecode"
    else:
        data, entries = raw, b""
    top = max(objects) + 1
    objstm_number, xref_number = top, top + 1
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    where: dict[int, tuple[int, int, int]] = {}
    for number in sorted(objects):
        if number in packed:
            continue
        where[number] = (1, len(out), 0)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    where[objstm_number] = (1, len(out), 0)
    out += (
        b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d %s >>\nstream\n"
        % (objstm_number, len(packed), len(header), len(data), entries)
        + data
        + b"\nendstream\nendobj\n"
    )
    for index, number in enumerate(sorted(packed)):
        where[number] = (2, objstm_number, index)
    where[xref_number] = (1, len(out), 0)
    rows = b"".join(
        struct.pack(">BIH", *where.get(n, (0, 0, 0xFFFF))) for n in range(xref_number + 1)
    )
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref_number, xref_number + 1, len(rows))
        + rows
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % where[xref_number][1]
    )
    return bytes(out)


def fpdf_cv() -> bytes:
    """A CV from fpdf2: text, a web link, an internal link and a picture."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="Jane Doe - Engineer", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text="linkedin.com/in/janedoe", link="https://www.linkedin.com/in/janedoe")
    target = pdf.add_link()
    pdf.ln(10)
    pdf.cell(text="Experience", link=target)
    pdf.image(io.BytesIO(photo_jpeg(60, 80, exif=False)), x=150, y=10, w=30)
    pdf.add_page()
    pdf.set_link(target)
    pdf.cell(text="Experience")
    return bytes(pdf.output())


def img2pdf_scan() -> bytes:
    """A scanned page the way img2pdf (and many scanner apps) wrap a JPEG: lossless, no text."""
    import img2pdf

    return img2pdf.convert(photo_jpeg(300, 420, exif=False))


def reportlab_form() -> bytes:
    """A PDF form without scripts (reportlab's AcroForm fields): applicants fill these in."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 760, "Application form")
    c.acroForm.textfield(name="name", tooltip="Your name", x=72, y=700, width=300, height=20)
    c.acroForm.checkbox(name="consent", x=72, y=660, size=14)
    c.showPage()
    c.save()
    return out.getvalue()


def openpyxl_chart_docx() -> bytes:
    """The python-docx CV whose chart keeps its data in a workbook written by openpyxl."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Year", "Projects"])
    book.active.append([2024, 3])
    raw = io.BytesIO()
    book.save(raw)
    src = zipfile.ZipFile(io.BytesIO(python_docx_cv()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("Microsoft_Excel_Worksheet.xlsx"):
                body = raw.getvalue()
            z.writestr(info, body)
    return out.getvalue()
