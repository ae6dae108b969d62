"""Kombo as it really is (issue 13): the portal through the sandbox over HTTP, fed what Kombo's
spec allows (and some things it does not), never an order or a shape only the sandbox has."""

from __future__ import annotations

import hashlib
import re

import pytest
import requests
import samples
from conftest import SANDBOX_KEY, ServerThread, find_application, portal_config, sign_in

from portal import create_app
from portal.kombo import KomboClient, Timeouts
from portal.sandbox import SandboxServer


@pytest.fixture
def kombo(sandbox):
    return KomboClient(
        SANDBOX_KEY,
        base_url=sandbox.base_url,
        timeouts=Timeouts(read=10, read_deadline=20),
        download_hosts=frozenset({"127.0.0.1", "localhost"}),
    )


def _everything(kombo, iid, **filters):
    rows, cursor = [], None
    while True:
        page = kombo.list_applications(iid, cursor=cursor, page_size=250, **filters)
        rows += page.results
        cursor = page.next
        if cursor is None:
            return rows


def _newest_ids(rows):
    return [
        r["id"] for r in sorted(rows, key=lambda r: (r["remote_created_at"], r["id"]), reverse=True)
    ]


def _sent(sandbox, content):
    digest = hashlib.sha256(content).hexdigest()
    return sum(u["sha256"] == digest for u in sandbox.uploads())


# -- 1. "most recent" from documented filters, sorted by the portal -------------------------------


def test_the_sandbox_lists_in_an_order_unrelated_to_dates(kombo, sandbox):
    rows = kombo.list_applications(sandbox.iid("full"), page_size=50).results
    created = [r["remote_created_at"] for r in rows]
    assert created != sorted(created, reverse=True)  # so trusting its order would show here


@pytest.mark.parametrize(
    # one page of 250 holds all 60; or 5 pages of 11 hold fewer than all, so windows are
    # widened, then narrowed until one holds enough
    "scan",
    [{}, {"KOMBO_SCAN_PAGE_SIZE": 11, "KOMBO_SCAN_PAGES": 5}],
    ids=["one-page", "windows"],
)
def test_recent_is_the_newest_whatever_order_kombo_uses(own_portal, sandbox, kombo, scan):
    staff = sign_in(own_portal(**scan).url)
    iid = sandbox.iid("full")
    truth = _newest_ids(_everything(kombo, iid))
    first = staff.get(f"/api/v1/integrations/{iid}/applications").json()
    assert [a["id"] for a in first["applications"]] == truth[:25]
    second = staff.get(
        f"/api/v1/integrations/{iid}/applications", params={"cursor": first["next"]}
    ).json()
    assert [a["id"] for a in second["applications"]] == truth[25:50]
    if scan:  # the windows were asked for with the documented filter
        queries = [
            r["query"] for r in sandbox.requests_log() if r["operation"] == "list_applications"
        ]
        assert any("remote_created_after=" in q for q in queries)


def test_the_job_view_is_the_newest_of_the_job(own_portal, sandbox, kombo):
    staff = sign_in(own_portal(KOMBO_SCAN_PAGE_SIZE=4, KOMBO_SCAN_PAGES=8).url)
    iid = sandbox.iid("full")
    everything = _everything(kombo, iid)
    jobs = {}
    for r in everything:
        jobs.setdefault(r["job_id"], []).append(r)
    job_id, rows = max(jobs.items(), key=lambda kv: len(kv[1]))
    got = staff.get(f"/api/v1/integrations/{iid}/applications", params={"job_id": job_id}).json()
    assert [a["id"] for a in got["applications"]] == _newest_ids(rows)[:25]
    page = staff.get(f"/i/{iid}", params={"job_id": job_id}).text  # the no-JS page too
    shown = re.findall(rf"/i/{re.escape(iid)}/a/(\w+)", page)
    assert shown == _newest_ids(rows)[:25]


def test_a_bad_recent_cursor_is_a_clear_400(staff, sandbox):
    resp = staff.get(
        f"/api/v1/integrations/{sandbox.iid('full')}/applications", params={"cursor": "x"}
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "cursor_invalid"


# -- 2. large uploads: "too large for this ATS", never an outage ------------------------------------


@pytest.mark.parametrize("style", ["html", "json"])
def test_an_oversized_upload_is_a_413_too_large_for_this_ats(staff, sandbox, style):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, email="grace.hopper@example.com")
    content = samples.pdf("too large " + style)
    sandbox.settings(max_body_bytes=len(content), too_large=style)  # base64 makes it larger
    resp = staff.upload(iid, app["id"], content, "big.pdf")
    assert resp.status_code == 413, resp.text
    error = resp.json()["error"]
    assert error["code"] == "file_too_large_for_ats"
    assert "too large for this ATS" in error["message"] and "10 MB" in error["message"]
    if style == "json":  # Kombo's own words (with its limit) are kept
        assert f"limit of {len(content)} bytes" in error["message"]
    assert "<" not in error["message"]
    assert _sent(sandbox, content) == 0


def test_oversized_uploads_never_pause_the_integration(own_portal, sandbox):
    staff = sign_in(own_portal().url)
    iid = sandbox.iid("full")
    app = find_application(staff, iid, email="grace.hopper@example.com")
    content = samples.pdf("too large, many times")
    sandbox.settings(max_body_bytes=len(content), too_large="html")
    codes = [
        staff.upload(iid, app["id"], content, "big.pdf").json()["error"]["code"] for _ in range(6)
    ]
    assert codes == ["file_too_large_for_ats"] * 6  # never "ats_paused"


# -- 4. Kombo's message kept when the code is null or unknown ----------------------------------------


@pytest.mark.parametrize("code", [None, "REMOTE.SOMETHING_NEW"])
def test_a_4xx_with_a_null_or_unknown_code_keeps_kombo_s_message(staff, sandbox, code):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, email="grace.hopper@example.com")
    content = samples.pdf(f"refused {code}")
    message = "File\x07 name <b>too</b> long\u202e for the ATS " + "x" * 2000
    sandbox.fault("add_application_attachment", count=1, status=400, code=code, message=message)
    resp = staff.upload(iid, app["id"], content, "cv.pdf")
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "ats_refused"
    text = error["message"]
    assert "File name too long for the ATS" in text
    assert "<b>" not in text and "\x07" not in text and "\u202e" not in text
    assert len(text) < 600  # bounded
    assert _sent(sandbox, content) == 0


# -- 5. rate limits: when to try again ------------------------------------------------------------


def test_a_spent_rate_limit_window_tells_the_user_when_to_try_again(staff, sandbox):
    iid = sandbox.iid("full")
    sandbox.settings(rate_limit=1, rate_window=90)
    staff.get(f"/api/v1/integrations/{iid}/jobs")  # may spend the one call
    resp = staff.get(f"/api/v1/integrations/{iid}/applications")
    assert resp.status_code == 429, resp.text
    error = resp.json()["error"]
    assert error["code"] == "ats_busy" and 60 <= error["retry_after"] <= 90
    assert re.search(r"Try again in \d+ seconds", error["message"])
    assert 60 <= int(resp.headers["Retry-After"]) <= 90


# -- 7. max_file_size_bytes is a double in the spec ------------------------------------------------


def _restrictions(types):
    return {
        "status": 200,
        "body": {
            "status": "success",
            "data": {"attachment_restrictions": {"types": types}},
            "warnings": [],
        },
    }


def test_a_size_limit_sent_as_a_double_is_honoured(own_portal, sandbox):
    iid = sandbox.iid("full")
    rule = {"is_supported": True, "max_file_size_bytes": 5242880.0, "accepted_mime_types": None}
    sandbox.fault(
        "get_upload_restrictions", count=50, respond=_restrictions({"CV": rule, "OTHER": rule})
    )
    staff = sign_in(own_portal().url)  # after the fault: its first look at restrictions meets it
    types = {t["type"]: t for t in staff.get(f"/api/v1/integrations/{iid}").json()["types"]}
    assert types["CV"]["max_bytes"] == 5242880


# -- 8. not synced yet ---------------------------------------------------------------------------


def test_an_unknown_well_formed_application_may_not_be_synced_yet(staff, sandbox):
    iid = sandbox.iid("full")
    resp = staff.get(f"/api/v1/integrations/{iid}/applications/{'A' * 24}")
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert error["code"] == "not_found"
    assert (
        "not have synced it yet" in error["message"]
        and "try again in a few minutes" in error["message"]
    )
    assert "does not exist" in error["message"]  # both possibilities, plainly
    malformed = staff.get(f"/api/v1/integrations/{iid}/applications/not-an-id").json()["error"]
    assert "synced" not in malformed["message"]  # a malformed id can never appear later


# -- 9. off-spec nulls do not break pages -----------------------------------------------------------


def test_candidate_attachments_with_results_null_show_none(staff, sandbox, caplog):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    body = {"status": "success", "data": {"results": None}, "warnings": []}
    sandbox.fault("get_candidate_attachments", count=2, respond={"status": 200, "body": body})
    listed = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments")
    assert listed.status_code == 200 and listed.json()["attachments"] == []
    page = staff.get(f"/i/{iid}/a/{app['id']}")
    assert page.status_code == 200
    assert "data.results is NoneType" in caplog.text


def test_restriction_types_null_keep_the_home_page_working(own_portal, sandbox, caplog):
    body = {
        "status": "success",
        "data": {"attachment_restrictions": {"types": None}},
        "warnings": [],
    }
    sandbox.fault("get_upload_restrictions", count=50, respond={"status": 200, "body": body})
    staff = sign_in(own_portal().url)  # signing in shows the home page
    home = staff.get("/")
    assert home.status_code == 200
    items = staff.get("/api/v1/integrations").json()["integrations"]
    full = next(i for i in items if i["id"] == sandbox.iid("full"))
    assert full["upload"]["available"] is True  # no information is not a ban
    assert "attachment_restrictions.types is NoneType" in caplog.text


# -- 11. one retry policy: reads retried as the README says ---------------------------------------


def test_a_single_429_on_the_file_download_is_waited_for(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()[
        "attachments"
    ][0]
    sandbox.fault("download", count=1, status=429, code=None, retry_after="1")
    resp = staff.get(item["download_url"])
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 504, "code": "PLATFORM.TASK_TIMED_OUT"},
        {"status": 500, "code": "PLATFORM.UNKNOWN_ERROR"},
    ],
    ids=["task-timed-out", "unknown-error"],
)
@pytest.mark.parametrize(
    "endpoint", ["list_applications", "list_candidates", "get_candidate_attachments"]
)
def test_one_5xx_on_a_read_is_retried_and_the_user_sees_the_result(staff, sandbox, endpoint, fault):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    sandbox.fault(endpoint, count=1, **fault)
    url = {
        "list_applications": f"/api/v1/integrations/{iid}/applications",
        "list_candidates": f"/api/v1/integrations/{iid}/applications?email=ada.lovelace@example.com",
        "get_candidate_attachments": f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments",
    }[endpoint]
    resp = staff.get(url)
    assert resp.status_code == 200, resp.text
    assert resp.json().get("applications") or resp.json().get("attachments")
    assert not sandbox.pending_faults()  # the fault was met, and got past


# -- 3. downloads through a redirect to a second host --------------------------------------------


def test_a_download_through_the_file_host_reaches_the_user_and_the_key_does_not(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()[
        "attachments"
    ][0]
    sandbox.settings(resources_need_key=True)
    sandbox.clear_requests()
    resp = staff.get(item["download_url"])
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    files = [r for r in sandbox.requests_log() if r["path"].startswith("/files/")]
    assert len(files) == 1 and files[0]["authorized"] is False


def test_a_redirect_to_the_metadata_address_is_refused(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments").json()[
        "attachments"
    ][0]
    sandbox.fault("download_file", count=1, redirect="http://169.254.169.254/latest/meta-data/")
    resp = staff.get(item["download_url"])
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "download_failed"
    assert "169.254" not in resp.text


# -- 8 and 10. sync delay: an application created minutes ago ----------------------------------


def test_a_just_created_application_says_not_synced_then_opens(staff, sandbox):
    iid = sandbox.iid("full")
    created = requests.post(
        f"{sandbox.root_url}/_sandbox/applications",
        json={"integration_id": iid, "email": "grace.hopper@example.com", "sync_delay": 600},
        timeout=5,
    ).json()
    resp = staff.get(f"/api/v1/integrations/{iid}/applications/{created['id']}")
    assert resp.status_code == 404
    assert "not have synced it yet" in resp.json()["error"]["message"]
    requests.post(f"{sandbox.root_url}/_sandbox/sync", timeout=5).raise_for_status()
    opened = staff.get(f"/api/v1/integrations/{iid}/applications/{created['id']}")
    assert opened.status_code == 200 and opened.json()["candidate_name"] == "Grace Hopper"
    recent = staff.get(f"/api/v1/integrations/{iid}/applications").json()["applications"]
    assert recent[0]["id"] == created["id"]  # the newest, whatever the list order


# -- 6 and 10. realistic data: the messy variant ------------------------------------------------


@pytest.fixture(scope="module")
def messy():
    server = SandboxServer(api_key=SANDBOX_KEY, applications=60, variants=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def messy_portal(messy):
    shim = type("S", (), {"base_url": messy.base_url, "iid": messy.integration_id})()
    config = portal_config(shim, INTEGRATIONS=[messy.integration_id("messy")], PARTNERS={})
    server = ServerThread(create_app(config)).start()
    yield server
    server.stop()


def test_over_50_open_jobs_are_reachable_without_javascript(messy, messy_portal):
    staff = sign_in(messy_portal.url)
    iid = messy.integration_id("messy")
    seen, url, pages = [], f"/i/{iid}?q=", 0
    while url:
        page = staff.get(url).text
        seen += re.findall(r"job_id=(\w+)", page)
        more = re.search(r'href="([^"]+)">More jobs</a>', page)
        url = more.group(1).replace("&amp;", "&") if more else None
        pages += 1
    api = staff.get(f"/api/v1/integrations/{iid}/jobs").json()
    total = []
    cursor = None
    while True:
        got = staff.get(
            f"/api/v1/integrations/{iid}/jobs", params={"cursor": cursor} if cursor else {}
        ).json()
        total += [j["id"] for j in got["jobs"]]
        cursor = got["next"]
        if not cursor:
            break
    assert len(api["jobs"]) == 50 and pages >= 2
    assert len(set(seen)) == len(set(total)) > 50


def test_messy_data_never_breaks_a_page(messy, messy_portal):
    staff = sign_in(messy_portal.url)
    iid = messy.integration_id("messy")
    assert staff.get("/").status_code == 200
    recent = staff.get(f"/api/v1/integrations/{iid}/applications")
    assert recent.status_code == 200
    assert staff.get(f"/i/{iid}").status_code == 200
    apps = recent.json()["applications"]
    for cursor in range(25, 75, 25):
        more = staff.get(f"/api/v1/integrations/{iid}/applications", params={"cursor": str(cursor)})
        assert more.status_code == 200
        apps += more.json()["applications"]
    assert any(a["candidate_name"] == "Unnamed candidate" for a in apps)  # a null candidate
    assert any(a["created_at"] is None for a in apps)  # null dates sort last, not crash
    for a in apps[:30]:
        assert staff.get(f"/i/{iid}/a/{a['id']}").status_code == 200
    # several e-mails: any of them finds the candidate; names in other scripts are shown
    zoe = staff.get(f"/api/v1/integrations/{iid}/applications", params={"email": "z.a@example.org"})
    assert zoe.json()["applications"][0]["candidate_name"] == "Zoë Ångström"


def test_unknown_attachment_types_and_3000_attachments_are_listed(messy, messy_portal):
    staff = sign_in(messy_portal.url)
    iid = messy.integration_id("messy")
    zoe = staff.get(
        f"/api/v1/integrations/{iid}/applications", params={"email": "zoe.angstrom@example.com"}
    ).json()["applications"][0]
    items = staff.get(f"/api/v1/integrations/{iid}/applications/{zoe['id']}/attachments").json()
    assert [(a["type"], a["type_label"]) for a in items["attachments"]] == [
        ("REFERENCE_LETTER", "Other")
    ]
    many = staff.get(
        f"/api/v1/integrations/{iid}/applications", params={"email": "many.files@example.com"}
    ).json()["applications"][0]
    listed = staff.get(f"/api/v1/integrations/{iid}/applications/{many['id']}/attachments")
    assert listed.status_code == 200 and len(listed.json()["attachments"]) == 3000
    assert staff.get(f"/i/{iid}/a/{many['id']}").status_code == 200


def test_off_spec_integration_details_do_not_break_the_home_page(own_portal, sandbox, caplog):
    body = {
        "status": "success",
        "data": {"tool": "greenhouse", "write_actions": "all"},
        "warnings": [],
    }
    sandbox.fault("get_integration", count=50, respond={"status": 200, "body": body})
    staff = sign_in(own_portal().url)
    assert staff.get("/").status_code == 200
    items = staff.get("/api/v1/integrations").json()["integrations"]
    assert all(i["status"] == "UNKNOWN" and i["upload"]["reason"] for i in items)
    assert "off-spec" in caplog.text
