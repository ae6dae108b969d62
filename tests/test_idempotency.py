"""Exactly once: Idempotency-Key replays, waits for an upload in flight, derived keys for double
submits, and retries after an unknown outcome that reconcile before they send.

Everything goes through the portal's HTTP API against the sandbox; faults come from the sandbox.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
import samples
from conftest import ServerThread, embed_client, find_application, portal_config, sign_in
from support import start_gunicorn

from portal import create_app

URL = "/api/v1/integrations/{iid}/applications/{aid}/attachments"


def _count(sandbox, content):
    sha = hashlib.sha256(content).hexdigest()
    return sum(u["sha256"] == sha for u in sandbox.uploads())


def _settled_count(sandbox, content):
    time.sleep(0.2)  # the sandbox's request threads finish logging (its store is synchronous)
    return _count(sandbox, content)


def _key(label):
    return f"test-{label}-{time.time_ns()}"


@pytest.fixture
def grace(staff, sandbox):
    iid = sandbox.iid("full")
    return iid, find_application(staff, iid, email="grace.hopper@example.com")["id"]


# -- the header ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [pytest.param("x" * 256, id="256-chars"), pytest.param("tab\there", id="control-char")],
)
def test_a_malformed_key_is_refused(staff, sandbox, grace, key):
    iid, aid = grace
    content = samples.pdf(f"bad key {key!r}")
    resp = staff.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": key})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "idempotency_key_invalid"
    assert _settled_count(sandbox, content) == 0


def test_a_key_with_non_ascii_bytes_is_refused(staff, sandbox, grace):
    iid, aid = grace
    content = samples.pdf("latin-1 key")
    resp = staff.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": "clé"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "idempotency_key_invalid"


def test_an_empty_key_is_refused(staff, sandbox, grace):
    iid, aid = grace
    resp = staff.upload(
        iid, aid, samples.pdf("empty key"), "cv.pdf", headers={"Idempotency-Key": '""'}
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "idempotency_key_invalid"


# -- replays ------------------------------------------------------------------------------------


def test_the_same_key_twice_is_stored_once_and_answered_the_same(staff, sandbox, grace):
    iid, aid = grace
    content, key = samples.pdf("replay"), _key("replay")
    first = staff.upload(iid, aid, content, "Replay.pdf", headers={"Idempotency-Key": key})
    again = staff.upload(iid, aid, content, "Replay.pdf", headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _settled_count(sandbox, content) == 1


def test_the_ietf_quoted_form_of_a_key_is_the_same_key(staff, sandbox, grace):
    iid, aid = grace
    content, key = samples.pdf("quoted"), _key("quoted")
    first = staff.upload(iid, aid, content, "q.pdf", headers={"Idempotency-Key": key})
    again = staff.upload(iid, aid, content, "q.pdf", headers={"Idempotency-Key": f'"{key}"'})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _settled_count(sandbox, content) == 1


def test_the_same_key_for_another_file_is_refused(staff, sandbox, grace):
    iid, aid = grace
    key = _key("reused")
    assert staff.upload(iid, aid, samples.pdf("one"), "a.pdf", headers={"Idempotency-Key": key}).ok
    other = samples.pdf("another file")
    resp = staff.upload(iid, aid, other, "a.pdf", headers={"Idempotency-Key": key})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "idempotency_key_reused"
    assert _settled_count(sandbox, other) == 0


def test_the_same_key_for_another_application_or_type_is_refused(staff, sandbox, grace):
    iid, aid = grace
    other_app = find_application(staff, iid, email="ada.lovelace@example.com")["id"]
    content, key = samples.pdf("other target"), _key("target")
    assert staff.upload(iid, aid, content, "t.pdf", headers={"Idempotency-Key": key}).ok
    elsewhere = staff.upload(iid, other_app, content, "t.pdf", headers={"Idempotency-Key": key})
    as_other_type = staff.upload(
        iid, aid, content, "t.pdf", "OTHER", headers={"Idempotency-Key": key}
    )
    assert elsewhere.status_code == as_other_type.status_code == 422
    assert elsewhere.json()["error"]["code"] == "idempotency_key_reused"
    assert _settled_count(sandbox, content) == 1


def test_keys_are_never_shared_between_principals(staff, portal, sandbox, grace):
    iid, aid = grace
    key = _key("tenant")
    mine, theirs = samples.pdf("staff's file"), samples.pdf("partner's file")
    first = staff.upload(iid, aid, mine, "cv.pdf", headers={"Idempotency-Key": key})
    partner = embed_client(portal.url, "acme", iid, user="someone@acme")
    second = partner.upload(iid, aid, theirs, "cv.pdf", headers={"Idempotency-Key": key})
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["attachment"]["sha256"] == hashlib.sha256(theirs).hexdigest()
    assert (_settled_count(sandbox, mine), _count(sandbox, theirs)) == (1, 1)


def test_a_repeat_while_the_first_is_in_flight_waits_for_its_outcome(staff, sandbox, grace):
    iid, aid = grace
    content, key = samples.pdf("in flight"), _key("inflight")
    sandbox.fault("add_application_attachment", count=1, delay=1.5, apply=False)
    sandbox.fault("add_application_attachment", count=1, delay=1.0, apply=True)
    with ThreadPoolExecutor(2) as pool:
        send = partial(staff.upload, iid, aid, content, "f.pdf", headers={"Idempotency-Key": key})
        first = pool.submit(send)
        while len(sandbox.pending_faults()) == 2:  # the first has taken the not-applied delay
            time.sleep(0.02)
        second = pool.submit(send)
        a, b = first.result(), second.result()
    # The first times out (not applied), finds nothing, and says so; the repeat waited for it
    # rather than sending alongside it, then (the outcome being "not uploaded") sent it once.
    assert a.status_code == 502 and a.json()["error"]["code"] == "upload_failed", a.text
    assert b.status_code == 201, b.text
    assert _settled_count(sandbox, content) == 1


def test_a_repeat_in_flight_gets_the_first_ones_success(staff, sandbox, grace):
    iid, aid = grace
    content, key = samples.pdf("in flight ok"), _key("inflight-ok")
    sandbox.fault("add_application_attachment", count=1, delay=1.5)  # slow, then fine
    with ThreadPoolExecutor(2) as pool:
        send = partial(staff.upload, iid, aid, content, "f.pdf", headers={"Idempotency-Key": key})
        first = pool.submit(send)
        sandbox.wait_faults_taken("add_application_attachment")
        second = pool.submit(send)
        a, b = first.result(), second.result()
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert b.json() == a.json()
    assert _settled_count(sandbox, content) == 1


def test_a_long_upload_keeps_its_key_beyond_the_lease_time(sandbox):
    """The lease on a key lives 0.6 s here, the upload takes 2 s: the heartbeat keeps it, so the
    repeat waits for the first and replays it instead of taking the key over."""
    server = ServerThread(create_app(portal_config(sandbox, UPLOAD_LEASE_SECONDS=0.6))).start()
    try:
        staff = sign_in(server.url)
        iid = sandbox.iid("full")
        aid = find_application(staff, iid, email="grace.hopper@example.com")["id"]
        content, key = samples.pdf(f"long upload {time.time_ns()}"), _key("long")
        sandbox.fault("add_application_attachment", count=1, delay=2.0)
        with ThreadPoolExecutor(2) as pool:
            send = partial(
                staff.upload, iid, aid, content, "l.pdf", headers={"Idempotency-Key": key}
            )
            first = pool.submit(send)
            sandbox.wait_faults_taken("add_application_attachment")
            second = pool.submit(send)
            a, b = first.result(), second.result()
    finally:
        server.stop()
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    assert b.headers.get("Idempotent-Replayed") == "true" and b.json() == a.json()
    assert _settled_count(sandbox, content) == 1


def test_a_repeat_on_another_instance_sharing_redis_waits_and_replays(sandbox, redis_server):
    """Two portal instances (two machines) on one Redis: the repeat reaches the other instance
    while the first is in flight there, waits for it and replays it."""
    redis_server.flush()
    config = {"REDIS_URL": redis_server.url, "UPLOAD_LEASE_SECONDS": 1.0}
    one = ServerThread(create_app(portal_config(sandbox, **config))).start()
    two = ServerThread(create_app(portal_config(sandbox, **config))).start()
    try:
        iid = sandbox.iid("full")
        clients = [
            embed_client(one.url, "acme", iid, user="r@acme"),
            embed_client(two.url, "acme", iid, user="r@acme"),
        ]
        aid = find_application(clients[0], iid, email="grace.hopper@example.com")["id"]
        content, key = samples.pdf(f"two instances {time.time_ns()}"), _key("redis")
        headers = {"Idempotency-Key": key}
        sandbox.fault("add_application_attachment", count=1, delay=2.0)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(clients[0].upload, iid, aid, content, "r.pdf", headers=headers)
            sandbox.wait_faults_taken("add_application_attachment")
            second = pool.submit(clients[1].upload, iid, aid, content, "r.pdf", headers=headers)
            a, b = first.result(), second.result()
    finally:
        one.stop()
        two.stop()
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    assert b.headers.get("Idempotent-Replayed") == "true" and b.json() == a.json()
    assert _settled_count(sandbox, content) == 1


# -- without a key: derived from (principal, application, type, content) -----------------------


def test_a_double_click_without_a_key_is_answered_already_uploaded(staff, sandbox, grace):
    iid, aid = grace
    content = samples.pdf(f"double click {time.time_ns()}")
    sandbox.fault("add_application_attachment", count=1, delay=1.0)  # the first is in flight
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(staff.upload, iid, aid, content, "Double.pdf")
        sandbox.wait_faults_taken("add_application_attachment")
        second = pool.submit(staff.upload, iid, aid, content, "Double.pdf")
        a, b = first.result(), second.result()
    assert a.status_code == 201 and b.status_code == 200, (a.text, b.text)
    body = b.json()
    assert body["code"] == "already_uploaded" and "already" in body["message"]
    assert body["attachment"] == a.json()["attachment"]
    assert _settled_count(sandbox, content) == 1


def test_a_lagging_resubmit_is_answered_from_the_record(staff, sandbox, grace):
    """The second submit is slowed by a slow (successful) application lookup; the first finishes
    meanwhile and gives its lock back. The record, not a lock, answers the second."""
    iid, aid = grace
    content = samples.pdf(f"lagging {time.time_ns()}")
    sandbox.fault("list_applications", count=1, delay=1.0)
    with ThreadPoolExecutor(2) as pool:
        late = pool.submit(staff.upload, iid, aid, content, "Lag.pdf")
        sandbox.wait_faults_taken("list_applications")
        early = staff.upload(iid, aid, content, "Lag.pdf")
        late = late.result()
    assert early.status_code == 201, early.text
    assert late.status_code == 200 and late.json()["code"] == "already_uploaded", late.text
    assert _settled_count(sandbox, content) == 1


def test_the_same_file_on_purpose_goes_with_a_fresh_key(staff, sandbox, grace):
    iid, aid = grace
    content = samples.pdf(f"on purpose {time.time_ns()}")
    assert staff.upload(iid, aid, content, "p.pdf").status_code == 201
    again = staff.upload(iid, aid, content, "p.pdf")
    assert again.status_code == 200 and "Idempotency-Key" in again.json()["message"]
    deliberate = staff.upload(iid, aid, content, "p.pdf", headers={"Idempotency-Key": _key("p")})
    assert deliberate.status_code == 201, deliberate.text
    assert _settled_count(sandbox, content) == 2


# -- retries after an unknown outcome reconcile before they send --------------------------------


def test_a_retry_after_could_not_confirm_finds_the_file_instead_of_sending_it(
    staff, sandbox, grace
):
    iid, aid = grace
    content, key = samples.pdf("unconfirmed then retried"), _key("unconfirmed")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=True)
    sandbox.fault("download", count=100, status=503, code=None)  # cannot look at the candidates
    first = staff.upload(iid, aid, content, "u.pdf", headers={"Idempotency-Key": key})
    assert first.status_code == 502 and first.json()["error"]["code"] == "upload_unconfirmed"
    sandbox.clear_faults()
    retry = staff.upload(iid, aid, content, "u.pdf", headers={"Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert retry.json()["confirmed_by"] == "listing"
    assert _settled_count(sandbox, content) == 1


def test_a_retry_after_upload_failed_sends_it_once(staff, sandbox, grace):
    iid, aid = grace
    content, key = samples.pdf("failed then retried"), _key("failed")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=False)
    first = staff.upload(iid, aid, content, "f.pdf", headers={"Idempotency-Key": key})
    assert first.status_code == 502 and first.json()["error"]["code"] == "upload_failed"
    retry = staff.upload(iid, aid, content, "f.pdf", headers={"Idempotency-Key": key})
    assert retry.status_code == 201 and retry.json()["confirmed_by"] == "kombo", retry.text
    assert _settled_count(sandbox, content) == 1


def test_a_retry_is_not_confused_by_a_same_named_file_another_user_sent_meanwhile(
    staff, portal, sandbox, grace
):
    """A's upload fails (not applied); B then sends another "CV.pdf" through the portal; A retries
    with its key. B's file is new since A's snapshot and has A's name, but the portal sent it,
    so it is no reason for doubt: A's file is sent, once."""
    iid, aid = grace
    x, y = samples.pdf(f"A's CV {time.time_ns()}"), samples.pdf(f"B's CV {time.time_ns()}")
    key = _key("meanwhile")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=False)
    first = staff.upload(iid, aid, x, "CV.pdf", headers={"Idempotency-Key": key})
    assert first.json()["error"]["code"] == "upload_failed", first.text
    user_b = embed_client(portal.url, "acme", iid, user="b@acme.example")
    assert user_b.upload(iid, aid, y, "CV.pdf").status_code == 201
    retry = staff.upload(iid, aid, x, "CV.pdf", headers={"Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert (_settled_count(sandbox, x), _count(sandbox, y)) == (1, 1)


def test_where_nothing_can_be_listed_a_retry_never_sends_blindly(staff, sandbox):
    iid = sandbox.iid("no_list")
    aid = find_application(staff, iid)["id"]
    content, key = samples.pdf(f"no list retry {time.time_ns()}"), _key("nolist")
    sandbox.fault("add_application_attachment", count=1, status=500, code=None, apply=True)
    first = staff.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": key})
    retry = staff.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": key})
    for told in (first, retry):
        assert told.status_code == 502, told.text
        error = told.json()["error"]
        assert (
            error["code"] == "upload_unconfirmed"
            and "does not let the portal list" in (error["message"])
        )
    assert _settled_count(sandbox, content) == 1
    fresh = staff.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": _key("anyway")})
    assert fresh.status_code == 201  # "upload anyway": a new key is a new upload
    assert _settled_count(sandbox, content) == 2


# -- two gunicorn workers on one SQLite store --------------------------------------------------


@pytest.mark.timeout(240)
def test_double_submits_on_two_workers_are_stored_once(sandbox, tmp_path):
    proc, url = start_gunicorn(sandbox, tmp_path)
    try:
        iid = sandbox.iid("full")
        aid = find_application(embed_client(url, "acme", iid), iid, "grace.hopper@example.com")[
            "id"
        ]
        results = []
        for i in range(10):
            content = samples.pdf(f"two workers {i} {time.time_ns()}")
            # Two connections (two clients), so the kernel may hand them to either worker.
            clients = [embed_client(url, "acme", iid), embed_client(url, "acme", iid)]
            gap = i * 0.005  # 0 to 45 ms apart
            with ThreadPoolExecutor(2) as pool:
                a = pool.submit(clients[0].upload, iid, aid, content, "dbl.pdf")
                time.sleep(gap)
                b = pool.submit(clients[1].upload, iid, aid, content, "dbl.pdf")
                codes = sorted([a.result().status_code, b.result().status_code])
            results.append((codes, _settled_count(sandbox, content)))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert all(codes == [200, 201] for codes, _ in results), results
    assert all(stored == 1 for _, stored in results), results
