"""Previews over HTTP against the sandbox: PNGs of the right size, the same access as downloads,
and hostile files (a PNG bomb, a PDF that exhausts the renderer) answered "no preview" while
the portal keeps serving. Hostile files are put into the ATS the way a candidate would (through
the sandbox's own API, not through the portal, which refuses them on upload).
"""

from __future__ import annotations

import base64
import io
import os
import signal
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import samples
from conftest import (
    SANDBOX_KEY,
    Clock,
    ServerThread,
    embed_client,
    find_application,
    link_holder,
    portal_config,
    sign_in,
)
from PIL import Image

# The browser test's fixtures (`page` and what it needs), under their own names in pytest.
from test_browser import browser, playwright, watch  # noqa: F401
from test_browser import page as _page  # noqa: F401

from portal import create_app, previews

JSON = {"Accept": "application/json"}


# -- files ------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 20_000) -> bytes:
    """A valid PNG of side x side RGB pixels (1.2 GB decoded) in about a megabyte."""
    z = zlib.compressobj(9)
    row = b"\x00" * (1 + side * 3)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    )


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(head: bytes, content: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (head, len(content), content)


def fanout_pdf(levels: int = 12, fan: int = 6) -> bytes:
    """The PDF form of a billion laughs: each form draws the next `fan` times, 6^12 draws in 4 KB.

    Given 2 GiB, pdfium is still drawing when a 3 s CPU limit stops it; with the 512 MiB cap it
    aborts in about a second. A recursion limit is no help (the depth is only 12).
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /X 5 0 R >> >> >>",
        _stream(b"", b"/X Do"),
    ]
    for level in range(levels):
        if level < levels - 1:
            body = b" ".join([b"q 0.9 0 0 0.9 1 1 cm /X Do Q"] * fan)
            res = b"/Resources << /XObject << /X %d 0 R >> >>" % (6 + level)
        else:
            body, res = b"0 0 10 10 re f", b""
        head = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] " + res
        objects.append(_stream(head, body))
    return _pdf(objects)


def rgb_png(width: int, height: int, colour: bytes = b"\x14\x78\xc8") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), tuple(colour)).save(out, "PNG")
    return out.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


def unique(name: str) -> str:
    stem, _, ext = name.rpartition(".")
    return f"{stem} {uuid.uuid4().hex[:8]}.{ext}"


# -- helpers ------------------------------------------------------------------------------


def into_ats(sandbox: Any, iid: str, aid: str, name: str, content_type: str, data: bytes) -> None:
    """Put a file on the application straight in the ATS (as the candidate's own upload would)."""
    resp = requests.post(
        f"{sandbox.base_url}/ats/applications/{aid}/attachments",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}", "X-Integration-Id": iid},
        json={
            "attachment": {
                "name": name,
                "type": "OTHER",
                "content_type": content_type,
                "data": base64.b64encode(data).decode(),
            }
        },
        timeout=60,
    )
    assert resp.status_code == 200, resp.text


def listed(client: Any, iid: str, aid: str, name: str) -> dict[str, Any]:
    resp = client.get(f"/api/v1/integrations/{iid}/applications/{aid}/attachments")
    assert resp.status_code == 200, resp.text
    [item] = [a for a in resp.json()["attachments"] if a["name"] == name]
    return item


def render_children() -> list[int]:
    """Preview workers that are children of this process (the portal runs in a thread here)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"render.py" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def tight(sandbox: Any) -> Iterator[ServerThread]:
    """A portal with one render at a time: a worker held by a hostile file would block the next."""
    server = ServerThread(
        create_app(portal_config(sandbox, PREVIEW_WORKERS=1, PREVIEW_CPU_SECONDS=3))
    ).start()
    yield server
    server.stop()


# -- the previews themselves ---------------------------------------------------------------


def test_pdf_and_png_previews_are_pngs_of_the_right_size_never_the_file(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Data Scientist")["id"]
    pdf_name, png_name = unique("Preview CV.pdf"), unique("Portrait.png")
    # Content of its own (the same bytes again would be "already uploaded", not sent).
    pdf, png = samples.pdf(pdf_name), rgb_png(800, 400, uuid.uuid4().bytes[:3])
    assert staff.upload(iid, app, pdf, pdf_name).status_code == 201
    assert staff.upload(iid, app, png, png_name, "OTHER").status_code == 201

    pdf_item, png_item = listed(staff, iid, app, pdf_name), listed(staff, iid, app, png_name)
    # Thumbnails are 240 px wide including a 1 px frame (a white page on a white list).
    for item, original, size in ((pdf_item, pdf, (240, 310)), (png_item, png, (240, 121))):
        thumb = staff.get(item["preview_url"])
        assert thumb.status_code == 200, thumb.text
        assert thumb.headers["Content-Type"] == "image/png"
        assert thumb.headers["Content-Disposition"] == 'inline; filename="preview.png"'
        assert thumb.headers["X-Content-Type-Options"] == "nosniff"
        assert thumb.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert thumb.headers["Cache-Control"] == "private, max-age=60"
        assert png_size(thumb.content) == size
        assert thumb.content != original and original not in thumb.content

    # The PDF's page 1 large (US Letter, 612 x 792 pt, at 1100 px wide: pdfium rounds up).
    view = staff.get(pdf_item["preview_page_url"])
    assert view.status_code == 200 and view.headers["Content-Type"].startswith("text/html")
    assert 'width="1100" height="1424"' in view.text and pdf_name in view.text
    page_url = pdf_item["preview_page_url"] + "/page/1.png"
    large = staff.get(page_url)
    assert large.status_code == 200 and png_size(large.content) == (1100, 1424)
    assert staff.get(pdf_item["preview_page_url"] + "/page/2.png", headers=JSON).status_code == 404
    # A file we do not render has no preview link at all.
    docx_name = unique("Letter.docx")
    assert staff.upload(iid, app, samples.docx(docx_name), docx_name, "OTHER").status_code == 201
    docx_item = listed(staff, iid, app, docx_name)
    assert docx_item["download_url"] and docx_item["preview_url"] is None
    assert docx_item["preview_page_url"] is None


def test_the_first_three_pages_of_a_long_pdf(staff, sandbox):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for n in range(30):
        c.drawString(72, 720, f"Page {n + 1}")
        c.showPage()
    c.save()
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Data Scientist")["id"]
    name = unique("Long CV.pdf")
    assert staff.upload(iid, app, out.getvalue(), name).status_code == 201
    item = listed(staff, iid, app, name)
    view = staff.get(item["preview_page_url"])
    assert view.status_code == 200 and "The first 3 of 30 pages." in view.text
    assert view.text.count("data-preview-page") == 3
    assert png_size(staff.get(item["preview_page_url"] + "/page/3.png").content) == (1100, 1556)


# -- the same access as downloads ------------------------------------------------------------


def test_without_the_download_scope_there_is_no_preview_and_forged_links_fail(
    portal, staff, sandbox
):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")["id"]
    viewer = embed_client(portal.url, "acme", iid, scope=["list"])
    items = viewer.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()[
        "attachments"
    ]
    assert items and all(a["preview_url"] is None and a["preview_page_url"] is None for a in items)

    item = next(a for a in listed_all(staff, iid, app) if a["preview_url"])
    token = item["preview_page_url"].rsplit("/", 1)[1]
    tampered = token[:-4] + ("abcd" if not token.endswith("abcd") else "wxyz")
    download_token = item["download_url"].rsplit("/", 1)[1]
    for path in (
        f"/preview/{'x' * 40}/thumb.png",
        f"/preview/{tampered}/thumb.png",
        f"/preview/{tampered}",
        # A download link is no preview link, and a preview link downloads nothing.
        f"/preview/{download_token}/thumb.png",
        f"/download/{token}",
    ):
        resp = viewer.get(path, headers=JSON)
        assert resp.status_code == 404, path
        assert resp.json()["error"]["code"] == "not_found", path


def listed_all(client: Any, iid: str, aid: str) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/integrations/{iid}/applications/{aid}/attachments").json()[
        "attachments"
    ]


def test_a_link_made_for_another_tenant_is_refused(portal, sandbox):
    """Signed with our own key (a bug, a leaked key) but made out to globex for acme's file: 404."""
    acme = embed_client(portal.url, "acme", sandbox.iid("full"))
    iid = sandbox.iid("full")
    app = find_application(acme, iid, job="Backend Engineer")
    item = next(a for a in listed_all(acme, iid, app["id"]) if a["preview_url"])
    assert requests.get(portal.url + item["preview_url"], timeout=10).status_code == 200
    held = link_holder(portal.httpd.app, acme)  # a live session: only the tenant is wrong
    with portal.httpd.app.test_request_context():
        globex = previews.preview_token(iid, app["candidate_id"], item["id"], None, "globex", held)
        gone = previews.preview_token(iid, app["candidate_id"], item["id"], None, "initech", held)
        staff_link = previews.preview_token(iid, app["candidate_id"], item["id"], None, None, held)
    for token in (globex, gone):
        resp = requests.get(f"{portal.url}/preview/{token}/thumb.png", headers=JSON, timeout=10)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    # The same grant made out to staff (who use every integration) works.
    ok = requests.get(f"{portal.url}/preview/{staff_link}/thumb.png", timeout=10)
    assert ok.status_code == 200


def test_a_locked_session_previews_no_file_of_the_candidates_other_applications(
    portal, staff, sandbox
):
    iid = sandbox.iid("full")
    backend = find_application(staff, iid, job="Backend Engineer")  # holds Ada's CV
    scientist = find_application(staff, iid, job="Data Scientist")["id"]
    locked = embed_client(portal.url, "acme", iid, application_id=scientist)
    names = [a["name"] for a in listed_all(locked, iid, scientist)]
    assert "Ada Lovelace CV.pdf" not in names
    cv = next(
        a for a in listed_all(staff, iid, backend["id"]) if a["name"] == "Ada Lovelace CV.pdf"
    )
    held = link_holder(portal.httpd.app, locked)
    with portal.httpd.app.test_request_context():
        link = previews.preview_token(
            iid, backend["candidate_id"], cv["id"], scientist, "acme", held
        )
    for path in (f"/preview/{link}/thumb.png", f"/preview/{link}", f"/preview/{link}/page/1.png"):
        resp = requests.get(portal.url + path, headers=JSON, timeout=10)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", path


def test_an_expired_link_is_410(sandbox):
    clock = Clock()
    server = ServerThread(create_app(portal_config(sandbox, CLOCK=clock))).start()
    try:
        c = sign_in(server.url)
        iid = sandbox.iid("full")
        app = find_application(c, iid, job="Backend Engineer")["id"]
        item = next(a for a in listed_all(c, iid, app) if a["preview_url"])
        assert c.get(item["preview_url"]).status_code == 200
        clock.advance(300 + 1)  # DOWNLOAD_URL_TTL
        for url in (item["preview_url"], item["preview_page_url"]):
            resp = requests.get(server.url + url, headers=JSON, timeout=10)
            assert resp.status_code == 410 and resp.json()["error"]["code"] == "link_expired"
    finally:
        server.stop()


def test_the_listing_is_checked_before_the_cache(staff, sandbox):
    """A cached preview is not served when the ATS no longer answers for the attachment."""
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")["id"]
    item = next(a for a in listed_all(staff, iid, app) if a["preview_url"])
    assert staff.get(item["preview_url"]).status_code == 200  # now cached
    sandbox.fault("get_candidate_attachments", status=404, code="PLATFORM.INPUT_INVALID")
    resp = staff.get(item["preview_url"], headers=JSON)
    assert resp.status_code != 200 and resp.headers["Content-Type"] == "application/json"


# -- hostile files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "make"),
    [
        ("bomb.png", "image/png", png_bomb),
        ("laughs.pdf", "application/pdf", fanout_pdf),
        ("damaged.pdf", "application/pdf", lambda: samples.pdf("x")[:200]),
        ("not-a-picture.png", "image/png", lambda: b"MZ\x90\x00" + b"\x00" * 400),
    ],
)
def test_a_hostile_file_gets_no_preview_and_the_portal_keeps_serving(
    tight, sandbox, name, content_type, make
):
    c = sign_in(tight.url)
    iid = sandbox.iid("full")
    app = find_application(c, iid, job="Data Scientist")["id"]
    name = unique(name)
    into_ats(sandbox, iid, app, name, content_type, make())
    item = listed(c, iid, app, name)
    assert item["preview_url"]  # the ATS says it is an image or a PDF; the worker finds out

    resp = c.get(item["preview_url"], headers=JSON)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "preview_unavailable"
    assert "Download it to open it" in resp.json()["error"]["message"]
    view = c.get(item["preview_page_url"])
    assert view.status_code == 422 and "There is no preview for this file." in view.text
    assert 'href="/download/' in view.text  # the way on: download it
    assert not render_children()  # no worker left behind

    # The one render slot is free again: a good file previews right after.
    good = unique("After the bomb.pdf")
    assert c.upload(iid, app, samples.pdf(good), good).status_code == 201
    assert c.get(listed(c, iid, app, good)["preview_url"]).status_code == 200
    assert c.get("/healthz").status_code == 200


def test_a_taken_over_worker_can_only_answer_pngs_of_the_size_asked():
    """What a worker writes is checked in the parent (a pdfium exploit would control it)."""
    from portal.previews import NoPreview, _parse

    def png_head(width: int, height: int) -> bytes:
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)

    def answer(*pictures: bytes, count: int = 1) -> bytes:
        return struct.pack(">I", count) + b"".join(struct.pack(">I", len(p)) + p for p in pictures)

    assert _parse(answer(png_head(240, 300)), 240, 1).sizes == ((240, 300),)
    for out in (
        b"",
        answer(),  # no picture
        answer(b"<html><script>alert(1)</script>"),  # not a PNG
        answer(png_head(241, 300)),  # wider than asked
        answer(png_head(240, 721)),  # taller than 3 x wide
        answer(png_head(240, 300), png_head(240, 300)),  # more pages than asked
        answer(png_head(240, 300))[:-3],  # cut short
        answer(png_head(240, 300)) + b"\x00\x00",  # a torn length
    ):
        with pytest.raises(NoPreview):
            _parse(out, 240, 1)


WORKER_ESCAPES = """
import socket, sys
sys.path.insert(0, sys.argv[1])
import render
render.limit(512 << 20, 5)
render.load_renderers()
render.no_new_files()
for name, attempt in (
    ("read", lambda: open("/etc/hostname", "rb")),
    ("socket", lambda: socket.socket()),
    ("connect", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1)),
):
    try:
        attempt()
        print(name, "allowed")
    except OSError as err:
        print(name, "refused", err.errno)
"""


def test_a_worker_taken_over_cannot_open_a_file_or_a_socket():
    """The limits the worker sets before reading input leave it only stdin, stdout and stderr."""
    import errno
    import subprocess
    import sys

    import portal.previews

    folder = str(Path(portal.previews.__file__).parent)
    done = subprocess.run(
        [sys.executable, "-I", "-c", WORKER_ESCAPES, folder],
        capture_output=True,
        text=True,
        env={},
        timeout=60,
        check=True,
    )
    assert done.stdout.split("\n")[:3] == [
        f"{name} refused {errno.EMFILE}" for name in ("read", "socket", "connect")
    ], done.stdout + done.stderr


@pytest.mark.parametrize(
    "bad",
    [
        {"PREVIEW_MEMORY_BYTES": -1},  # setrlimit: RLIM_INFINITY
        {"PREVIEW_CPU_SECONDS": 0},
        {"PREVIEW_WALL_SECONDS": None},  # subprocess: no timeout at all
        {"PREVIEW_MAX_PIXELS": "lots"},
    ],
)
def test_a_preview_limit_that_would_be_no_limit_refuses_to_start(sandbox, bad):
    [name] = bad
    with pytest.raises(RuntimeError, match=f"PORTAL_{name} must be a positive number"):
        create_app(portal_config(sandbox, **bad))


def test_a_worker_over_its_wall_clock_is_killed(sandbox):
    """A worker that does not finish in time (blocked, not even using CPU) is killed: no preview."""
    server = ServerThread(create_app(portal_config(sandbox, PREVIEW_WALL_SECONDS=0.01))).start()
    try:
        c = sign_in(server.url)
        iid = sandbox.iid("full")
        app = find_application(c, iid, job="Data Scientist")["id"]
        name = unique("Slow.pdf")
        assert c.upload(iid, app, samples.pdf(name), name).status_code == 201
        resp = c.get(listed(c, iid, app, name)["preview_url"], headers=JSON)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "preview_unavailable"
        assert not render_children()
    finally:
        server.stop()


def test_a_file_over_the_preview_limit_is_not_read_past_it(sandbox):
    server = ServerThread(create_app(portal_config(sandbox, PREVIEW_MAX_BYTES=100_000))).start()
    try:
        c = sign_in(server.url)
        iid = sandbox.iid("full")
        app = find_application(c, iid, job="Data Scientist")["id"]
        name = unique("Big.pdf")
        assert c.upload(iid, app, samples.pdf(name, pad=200_000), name).status_code == 201
        item = listed(c, iid, app, name)
        resp = c.get(item["preview_url"], headers=JSON)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "preview_unavailable"
        assert c.get(item["download_url"]).status_code == 200  # the file itself still downloads
    finally:
        server.stop()


# -- in a browser -------------------------------------------------------------------------


def test_the_list_shows_thumbnails_that_open_the_preview(_page, portal, sandbox):  # noqa: F811
    """Chromium: the thumbnail loads lazily in the list, named; "Open preview" shows the page."""
    from test_browser import THEMES, AxeLog, expect, open_application, sign_in_page

    page, log = _page, AxeLog()
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("full"))
    # Other tests add files to this candidate: find the seeded CV's row, wherever it is.
    row = page.locator("[data-attachments] tr", has_text="Ada Lovelace CV.pdf").first
    row.scroll_into_view_if_needed()
    thumb = row.locator("[data-thumb] img")
    expect(thumb).to_have_attribute("alt", "Preview of Ada Lovelace CV.pdf")
    expect(thumb).to_have_attribute("loading", "lazy")
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 240", arg=thumb.element_handle()
    )
    expect(thumb).to_be_visible()
    link = row.locator("a[data-open-preview]")
    expect(link).to_contain_text("Open preview")
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"list-thumbnails-{theme}", page)
    page.goto(link.get_attribute("href"))
    first = page.locator("img[data-preview-page]").first
    expect(first).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 1100", arg=first.element_handle()
    )
    zoom = page.get_by_role("button", name="Actual size")
    zoom.click()
    expect(first).to_have_class("is-zoomed")
    expect(zoom).to_have_attribute("aria-pressed", "true")
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"open-preview-{theme}", page)
    log.save("previews")
    assert not log.summary(), log.summary()


# -- under gunicorn, as deployed --------------------------------------------------------------


@pytest.mark.timeout(150)
def test_under_gunicorn_a_bomb_holds_no_worker_and_tokens_stay_out_of_the_log(sandbox, tmp_path):
    """The shipped gunicorn config (gthread): a hostile PDF, then a good one, on one render slot;
    no gunicorn worker dies or is replaced, and the access log shows no preview token."""
    from test_graceful import start_gunicorn

    proc, url = start_gunicorn(sandbox, tmp_path, PREVIEW_WORKERS=1)
    try:
        c = embed_client(url, "acme", sandbox.iid("full"))
        iid = sandbox.iid("full")
        app = find_application(c, iid, job="Data Scientist")["id"]
        bad, good = unique("Laughs.pdf"), unique("Fine.pdf")
        into_ats(sandbox, iid, app, bad, "application/pdf", fanout_pdf())
        into_ats(sandbox, iid, app, good, "application/pdf", samples.pdf("fine"))
        bad_item, good_item = listed(c, iid, app, bad), listed(c, iid, app, good)
        resp = c.get(bad_item["preview_url"], headers=JSON)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "preview_unavailable"
        assert png_size(c.get(good_item["preview_url"]).content) == (240, 310)
        assert c.get(good_item["preview_page_url"]).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert "GET /preview/[redacted]/thumb.png" in log  # the requests were logged
    for item in (bad_item, good_item):
        assert item["preview_url"].split("/")[2] not in log
    assert log.count("Booting worker") == 2 and "WORKER TIMEOUT" not in log, log[-2000:]


def test_a_preview_link_ends_with_the_session_that_got_it(portal, staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")["id"]
    client = embed_client(portal.url, "acme", iid, user="previewer")
    item = next(a for a in listed_all(client, iid, app) if a["preview_url"])
    assert requests.get(portal.url + item["preview_url"], timeout=10).status_code == 200
    assert client.post("/api/v1/embed/session/revoke").status_code == 200
    for url in (item["preview_url"], item["preview_page_url"]):
        resp = requests.get(portal.url + url, headers=JSON, timeout=10)
        assert resp.status_code == 410 and resp.json()["error"]["code"] == "link_session_ended"
