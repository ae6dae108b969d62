"""The recruiter's flow through the JSON API and the pages, over HTTP against the sandbox."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import samples
from conftest import embed_client, find_application, raw_request

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _attachments(client, iid, aid):
    resp = client.get(f"/api/v1/integrations/{iid}/applications/{aid}/attachments")
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_integrations_list_states_status_and_why_uploads_are_off(staff, sandbox):
    items = {i["id"]: i for i in staff.get("/api/v1/integrations").json()["integrations"]}
    assert items[sandbox.iid("full")]["upload"] == {"available": True, "reason": None}
    assert items[sandbox.iid("invalid")]["upload"]["available"] is False
    assert "reconnect" in items[sandbox.iid("invalid")]["upload"]["reason"]
    assert items[sandbox.iid("no_upload")]["upload"]["available"] is False
    restricted = {t["type"]: t for t in items[sandbox.iid("restricted")]["types"]}
    assert restricted["COVER_LETTER"]["supported"] is False
    assert restricted["CV"]["max_bytes"] == 5 * 1024 * 1024
    assert {f["mime"] for f in restricted["CV"]["formats"]} == {"application/pdf", DOCX}


def test_find_by_email_job_and_recent(staff, sandbox):
    iid = sandbox.iid("full")
    by_email = staff.get(
        f"/api/v1/integrations/{iid}/applications", params={"email": "ADA.lovelace@example.com"}
    ).json()
    labels = sorted(a["label"] for a in by_email["applications"])
    assert labels == [
        "Ada Lovelace · Backend Engineer · Interview",
        "Ada Lovelace · Data Scientist · Phone Screen",
    ]
    assert "e-mail" in by_email["help"]
    jobs = staff.get(f"/api/v1/integrations/{iid}/jobs", params={"q": "backend"}).json()["jobs"]
    assert jobs and all("backend" in j["name"].lower() for j in jobs)
    by_job = staff.get(
        f"/api/v1/integrations/{iid}/applications", params={"job_id": jobs[0]["id"]}
    ).json()
    assert by_job["searched_by"] == "job" and all(
        a["job_id"] == jobs[0]["id"] for a in by_job["applications"]
    )
    first = staff.get(f"/api/v1/integrations/{iid}/applications").json()
    assert first["searched_by"] == "recent" and len(first["applications"]) == 25 and first["next"]
    second = staff.get(
        f"/api/v1/integrations/{iid}/applications", params={"cursor": first["next"]}
    ).json()
    assert not {a["id"] for a in first["applications"]} & {a["id"] for a in second["applications"]}


def test_bad_email_gets_a_clear_400(staff, sandbox):
    resp = staff.get(
        f"/api/v1/integrations/{sandbox.iid('full')}/applications", params={"email": "ada"}
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "email_invalid"


def test_upload_then_listed_then_downloaded_identical(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Data Scientist")
    content = samples.docx("Dear hiring team")
    resp = staff.upload(iid, app["id"], content, "Anschreiben Müller.pdf", "COVER_LETTER")
    assert resp.status_code == 201, resp.text
    sent = resp.json()["attachment"]
    # The real type wins over the name: a DOCX named .pdf goes as DOCX, renamed to match.
    assert sent["content_type"] == DOCX and sent["name"] == "Anschreiben Müller.docx"
    assert sent["sha256"] == hashlib.sha256(content).hexdigest()
    [stored] = [u for u in sandbox.uploads() if u["sha256"] == sent["sha256"]]
    assert (stored["content_type"], stored["name"], stored["type"]) == (
        DOCX,
        "Anschreiben Müller.docx",
        "COVER_LETTER",
    )
    listed = [
        a for a in _attachments(staff, iid, app["id"])["attachments"] if a["name"] == sent["name"]
    ]
    assert len(listed) == 1 and listed[0]["belongs_to"] == "this_application"
    assert listed[0]["format_label"] == "Word (.docx)"
    assert _attachments(staff, iid, app["id"])["download_expires_in"] == 300
    download = staff.get(listed[0]["download_url"])
    assert download.status_code == 200 and download.content == content
    assert download.headers["Content-Type"] == DOCX
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert (
        disposition.startswith("attachment;")
        and "filename*=UTF-8''Anschreiben%20M%C3%BCller.docx" in disposition
    )


def test_attachment_list_says_where_each_file_belongs(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Data Scientist")
    items = _attachments(staff, iid, app["id"])["attachments"]
    cv = next(a for a in items if a["name"] == "Ada Lovelace CV.pdf")
    assert (
        cv["belongs_to"] == "other_application"
        and cv["belongs_label"] == "Backend Engineer application"
    )


def test_candidate_level_integration_puts_files_on_the_profile(staff, sandbox):
    iid = sandbox.iid("candidate_level")
    app = find_application(staff, iid, email="grace.hopper@example.com")
    resp = staff.upload(iid, app["id"], samples.pdf("grace"), "Grace CV.pdf", "CV")
    assert resp.status_code == 201 and resp.json()["warnings"]
    listed = next(
        a for a in _attachments(staff, iid, app["id"])["attachments"] if a["name"] == "Grace CV.pdf"
    )
    assert listed["belongs_to"] == "candidate" and listed["belongs_label"] == "Candidate profile"


def test_no_list_integration_says_so_plainly_and_still_uploads(staff, sandbox):
    iid = sandbox.iid("no_list")
    app = find_application(staff, iid)
    body = _attachments(staff, iid, app["id"])
    assert (
        body["available"] is False and "does not let the portal list attachments" in body["message"]
    )
    assert staff.upload(iid, app["id"], samples.pdf("no list"), "cv.pdf").status_code == 201


REFUSALS = [
    pytest.param(
        "restricted",
        "COVER_LETTER",
        samples.pdf(),
        "letter.pdf",
        "attachment_type_unsupported",
        id="type-unsupported-by-ats",
    ),
    pytest.param(
        "restricted",
        "CV",
        samples.text(),
        "cv.txt",
        "type_not_accepted_by_ats",
        id="format-not-accepted-by-ats",
    ),
    pytest.param(
        "restricted",
        "CV",
        samples.pdf(pad=6 * 1024 * 1024),
        "big.pdf",
        "file_too_large",
        id="over-ats-size-limit",
    ),
    pytest.param("full", "CV", samples.docx(macros=True), "cv.docx", "file_macros", id="macros"),
    pytest.param("full", "CV", samples.png(), "photo.png", "type_not_allowed", id="image-as-cv"),
    pytest.param("full", "CV", b"", "empty.pdf", "file_empty", id="empty"),
    pytest.param(
        "full",
        "CV",
        b"<!doctype html><html><script>alert(1)</script></html>",
        "cv.pdf",
        "type_not_allowed",
        id="html-named-pdf",
    ),
    pytest.param(
        "full",
        "OTHER",
        Path(sys.executable).read_bytes(),
        "cv.pdf",
        "file_executable",
        id="executable-named-pdf",
    ),
]


@pytest.mark.parametrize(("behaviour", "type_", "content", "name", "code"), REFUSALS)
def test_refusals_are_clear_and_send_nothing(staff, sandbox, behaviour, type_, content, name, code):
    iid = sandbox.iid(behaviour)
    app = find_application(staff, iid)
    sandbox.clear_requests()
    resp = staff.upload(iid, app["id"], content, name, type_)
    assert resp.status_code in (413, 415, 422), resp.text
    error = resp.json()["error"]
    assert error["code"] == code, error
    assert name in error["message"], error["message"]
    assert not [r for r in sandbox.requests_log() if r["method"] == "POST"]


def test_uploads_refused_where_the_ats_takes_none(staff, sandbox):
    no_upload = sandbox.iid("no_upload")
    app = find_application(staff, no_upload)
    sandbox.clear_requests()
    resp = staff.upload(no_upload, app["id"], samples.pdf(), "cv.pdf")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "uploads_not_available"
    assert "does not accept attachments" in resp.json()["error"]["message"]
    assert not [r for r in sandbox.requests_log() if r["method"] == "POST"]


def test_an_integration_needing_reconnection_says_so(staff, sandbox):
    resp = staff.get(f"/api/v1/integrations/{sandbox.iid('invalid')}/applications")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "integration_needs_reconnect"
    assert "reconnected" in resp.json()["error"]["message"]


def test_unknown_type_and_missing_file(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)
    url = f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments"
    assert (
        staff.post(url, files={"file": ("a.pdf", samples.pdf())}, data={"type": "PHOTO"}).json()[
            "error"
        ]["code"]
        == "type_invalid"
    )
    assert staff.post(url, data={"type": "CV"}).json()["error"]["code"] == "file_missing"
    twice = staff.post(
        url,
        files=[("file", ("a.pdf", samples.pdf())), ("file", ("b.pdf", samples.pdf()))],
        data={"type": "CV"},
    )
    assert twice.status_code == 400 and twice.json()["error"]["code"] == "field_repeated"


def test_oversized_request_is_413_before_the_body_is_read(staff, sandbox):
    client, iid = staff, sandbox.iid("full")
    app = find_application(client, iid)
    url = client.url(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments")
    # Claim a body bigger than the limit and send only its first bytes (requests cannot lie about
    # Content-Length, so a raw socket): the portal must answer from the header alone.
    parts = urlsplit(url)
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.http.cookies)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\nX-CSRFToken: {client.csrf}\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {200 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
    )
    status, answer = raw_request(url, head.removesuffix("\r\n"), b"--x\r\n")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "file_too_large" in answer and "MB the portal accepts" in answer


def test_application_of_another_integration_is_404(staff, sandbox):
    other = find_application(staff, sandbox.iid("restricted"))
    resp = staff.get(
        f"/api/v1/integrations/{sandbox.iid('full')}/applications/{other['id']}/attachments"
    )
    assert resp.status_code == 404


def test_malformed_ids_are_404_not_500(staff, sandbox):
    iid = sandbox.iid("full")
    for aid in ("short", "0" * 24, "A" * 23 + "/", "../../etc", "A" * 300):
        resp = staff.get(
            f"/api/v1/integrations/{iid}/applications/{requests.utils.quote(aid, safe='')}/attachments"
        )
        assert resp.status_code == 404, (aid, resp.text)


# -- pages (no JavaScript) ------------------------------------------------------------


def test_pages_walk_from_integration_to_application(staff, sandbox):
    iid = sandbox.iid("full")
    home = staff.get("/").text
    assert "Greenhouse" in home or iid in home
    assert "Sandbox" in home
    found = staff.get(f"/i/{iid}", params={"email": "ada.lovelace@example.com"}).text
    assert "Ada Lovelace · Backend Engineer · Interview" in found
    link = re.search(rf'href="(/i/{re.escape(iid)}/a/[^"]+)"', found).group(1)
    page = staff.get(link).text
    assert "Ada Lovelace CV.pdf" in page and 'type="file"' in page and "Drop files here" in page


def test_plain_form_upload_without_javascript(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, email="grace.hopper@example.com")
    page = staff.get(f"/i/{iid}/a/{app['id']}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = staff.http.post(
        staff.url(f"/i/{iid}/a/{app['id']}/upload"),
        data={"csrf_token": token, "type": "CV"},
        files={"file": ("Grace Hopper CV.pdf", samples.pdf("Grace"), "application/pdf")},
        timeout=30,
    )
    assert resp.status_code == 200 and "“Grace Hopper CV.pdf” was uploaded." in resp.text


def test_staff_see_kombo_log_url_and_embeds_do_not(staff, portal, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)
    sandbox.fault(
        "add_application_attachment",
        count=2,
        status=400,
        code="REMOTE.INPUT_INVALID",
        message="The ATS rejects this PDF",
    )
    err = staff.upload(iid, app["id"], samples.pdf("x1"), "cv.pdf").json()["error"]
    assert (
        err["code"] == "ats_refused"
        and "The ATS rejects this PDF" in err["message"]
        and err["log_url"].startswith("https://")
    )
    acme = embed_client(portal.url, "acme", iid)
    err = acme.upload(iid, app["id"], samples.pdf("x2"), "cv.pdf").json()["error"]
    assert err["code"] == "ats_refused" and "log_url" not in err and err["reference"]
