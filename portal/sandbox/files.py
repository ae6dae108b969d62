"""Tiny but valid seed files (a one-page PDF, a plain-text letter), built in memory."""

from __future__ import annotations


def _pdf_text(text: str) -> bytes:
    """Escape text for a PDF literal string in WinAnsiEncoding (cp1252; covers é, ü, ñ...)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("cp1252", errors="replace")


def minimal_pdf(lines: list[str]) -> bytes:
    """Return a one-page PDF showing the lines, with a correct xref table and %%EOF."""
    content = b"BT /F1 14 Tf 72 740 Td 18 TL\n"
    for line in lines:
        content += b"(" + _pdf_text(line) + b") Tj T*\n"
    content += b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def cv_pdf(full_name: str, job: str | None) -> bytes:
    """A seeded CV for a candidate."""
    lines = [f"{full_name} - Curriculum Vitae", "", "Experience: 6 years", "Languages: EN, DE"]
    if job:
        lines.insert(2, f"Applying for: {job}")
    return minimal_pdf(lines)


def cover_letter_txt(full_name: str, job: str | None) -> bytes:
    """A seeded plain-text cover letter."""
    role = job or "the open position"
    return (
        f"Dear Hiring Team,\n\nI am excited to apply for {role}. "
        f"I look forward to hearing from you.\n\nKind regards,\n{full_name}\n"
    ).encode()
