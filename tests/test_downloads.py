"""Downloads end honestly: a file host that sends half the body, or an HTML page where the
listing said PDF, gives the browser a failed download (the response is cut, never finished
cleanly), under gunicorn with the shipped configuration. Faults are the sandbox's own."""

from __future__ import annotations

import re
import subprocess

import pytest
import requests
import samples
from conftest import sign_in
from support import raw_get, start_gunicorn


@pytest.fixture(scope="module")
def gunicorn_portal(sandbox, tmp_path_factory):
    proc, url = start_gunicorn(sandbox, tmp_path_factory.mktemp("downloads"))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _seeded_attachment(client, sandbox, content_type: str) -> dict:
    iid = sandbox.iid("full")
    apps = client.get(f"/api/v1/integrations/{iid}/applications").json()["applications"]
    for app in apps:
        listing = client.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments")
        for item in listing.json()["attachments"]:
            if item["content_type"] == content_type and item["download_url"]:
                return item
    raise AssertionError(f"no seeded {content_type} attachment")


def test_a_whole_file_downloads_complete(gunicorn_portal, sandbox):
    staff = sign_in(gunicorn_portal)
    item = _seeded_attachment(staff, sandbox, "application/pdf")
    status, headers, body, complete = raw_get(
        gunicorn_portal + item["download_url"], _cookie(staff)
    )
    assert status == 200 and complete and _dechunk(body).startswith(b"%PDF-")
    assert "gunicorn" not in headers.get("server", "")


def test_a_truncated_body_is_cut_not_finished(gunicorn_portal, sandbox):
    staff = sign_in(gunicorn_portal)
    item = _uploaded(staff, sandbox, "cut.pdf", 600_000)  # half of it is well past the first read
    sandbox.fault("download", count=3, body="truncated")  # 200, full Content-Length, half a body
    status, _, body, complete = raw_get(gunicorn_portal + item["download_url"], _cookie(staff))
    assert status == 200 and not complete, "a half file was delivered as if it were whole"
    sandbox.fault("download", count=3, body="truncated")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # what a browser sees: failed
        staff.get(item["download_url"]).content  # noqa: B018


def test_a_small_truncated_file_is_refused_before_any_byte(gunicorn_portal, sandbox):
    staff = sign_in(gunicorn_portal)
    item = _seeded_attachment(staff, sandbox, "application/pdf")  # half of it is in the first read
    sandbox.fault("download", count=3, body="truncated")
    resp = staff.get(item["download_url"])
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "download_failed"


def _uploaded(client, sandbox, name: str, size: int) -> dict:
    iid = sandbox.iid("full")
    app = client.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][4]
    content = samples.pdf(name + " " + "y" * size)
    assert client.upload(iid, app["id"], content, name).status_code == 201
    listing = client.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()
    return next(a for a in listing["attachments"] if a["name"] == name)


def test_html_where_a_pdf_was_listed_is_not_delivered(gunicorn_portal, sandbox):
    staff = sign_in(gunicorn_portal)
    item = _seeded_attachment(staff, sandbox, "application/pdf")
    sandbox.fault("download", count=3, body="html")  # 200 with a proxy's HTML error page
    status, _, body, complete = raw_get(gunicorn_portal + item["download_url"], _cookie(staff))
    assert b"<html>" not in _dechunk(body)
    assert not (status == 200 and complete), "an HTML page was delivered as the PDF"
    if status != 200:  # refused before any byte: a clear error, with its code
        assert status == 502 and b'"download_failed"' in body


def test_a_fresh_upload_downloads_byte_identical(gunicorn_portal, sandbox):
    staff = sign_in(gunicorn_portal)
    iid = sandbox.iid("full")
    app = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][3]
    content = samples.pdf("download me whole " + "x" * 200_000)
    assert staff.upload(iid, app["id"], content, "whole.pdf").status_code == 201
    listing = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()
    [item] = [a for a in listing["attachments"] if a["name"] == "whole.pdf"]
    got = staff.get(item["download_url"])
    assert got.status_code == 200 and got.content == content


def _cookie(client) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())}


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while (m := re.match(rb"([0-9a-fA-F]+)\r\n", rest)) and int(m.group(1), 16):
        size = int(m.group(1), 16)
        out += rest[m.end() : m.end() + size]
        rest = rest[m.end() + size + 2 :]
    return out or body
