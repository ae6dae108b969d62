"""Staff sessions on the server, sign-in (messages, throttles, redirects), embed session
revocation, stale CSRF tokens and bounded JSON: each attack through HTTP, each refusal by code."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
import samples
from conftest import (
    ACME_OLD_SECRET,
    ACME_SECRET,
    GLOBEX_SECRET,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    Client,
    Clock,
    ServerThread,
    embed_client,
    find_application,
    portal_config,
    record,
    sign_in,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from portal import create_app
from portal.tokens import mint_embed_token, mint_revoke_token

EXPIRED = "This page expired. Reload it and try again."


@pytest.fixture
def fresh(sandbox):
    """A portal of its own (its own store: throttle counts start at zero)."""
    server = ServerThread(create_app(portal_config(sandbox))).start()
    yield server
    server.stop()


class FromAddress(HTTPAdapter):
    """Connect from another loopback address (127.0.0.x): a second client, as the server sees it."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _client(base: str, address: str | None = None) -> Client:
    client = Client(base)
    if address:
        client.http.mount("http://", FromAddress(address))
    return client


def _form_token(client: Client, path: str = "/signin") -> str:
    page = client.get(path).text
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert found, page
    return found.group(1)


def _try_sign_in(client: Client, email: str, password: str, next_: str | None = None):
    token = _form_token(client)
    return client.http.post(
        client.url("/signin"),
        params={"next": next_} if next_ is not None else None,
        data={"csrf_token": token, "email": email, "password": password},
        timeout=30,
        allow_redirects=False,
    )


def _cookie(client: Client) -> str:
    return client.http.cookies.get("portal_session")


def _as(base: str, cookie: str) -> requests.Session:
    s = requests.Session()
    s.cookies.set("portal_session", cookie)
    return s


# -- server-side staff sessions -----------------------------------------------------------


def test_a_cookie_copied_before_sign_out_is_dead_after_it(portal):
    client = sign_in(portal.url)
    copied = _cookie(client)
    token = _form_token(client, "/")
    resp = client.http.post(
        client.url("/signout"), data={"csrf_token": token}, timeout=10, allow_redirects=False
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/signin")
    thief = _as(portal.url, copied)
    me = thief.get(portal.url + "/api/v1/me", timeout=10)
    assert me.status_code == 401 and me.json()["error"]["code"] == "sign_in_required"
    home = thief.get(portal.url + "/", timeout=10, allow_redirects=False)
    assert home.status_code == 302 and "/signin" in home.headers["Location"]


def test_the_cookie_is_an_opaque_id(portal):
    client = sign_in(portal.url)
    cookie = _cookie(client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie), cookie  # 32 random bytes, nothing else
    assert STAFF_EMAIL not in cookie and "." not in cookie  # no signed payload


def test_the_session_id_changes_at_sign_in(portal):
    victim = Client(portal.url)
    _form_token(victim)  # the sign-in page starts an anonymous session
    planted = _cookie(victim)  # e.g. set by an attacker on a shared machine
    assert planted
    resp = _try_sign_in(victim, STAFF_EMAIL, STAFF_PASSWORD)
    assert resp.status_code == 302
    assert _cookie(victim) != planted
    me = _as(portal.url, planted).get(portal.url + "/api/v1/me", timeout=10)
    assert me.status_code == 401 and me.json()["error"]["code"] == "sign_in_required"
    assert victim.get("/api/v1/me").json()["subject"] == STAFF_EMAIL


def test_idle_and_absolute_timeouts_are_the_servers(sandbox):
    clock = Clock()
    server = ServerThread(create_app(portal_config(sandbox, CLOCK=clock))).start()
    try:
        idle = sign_in(server.url)
        clock.advance(20 * 60)
        assert idle.get("/api/v1/me").status_code == 200  # active: the idle clock restarts
        clock.advance(31 * 60)
        resp = idle.get("/api/v1/me")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "sign_in_required"
        busy = sign_in(server.url)
        for _ in range(9 * 3):  # every 20 minutes for 9 hours
            assert busy.get("/api/v1/me").status_code == 200
            clock.advance(20 * 60)
        resp = busy.get("/api/v1/me")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "sign_in_required"
    finally:
        server.stop()


def test_signed_in_staff_visiting_signin_go_home(staff):
    resp = staff.get("/signin", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_a_sign_in_sent_from_a_signed_in_tab_costs_no_attempt(fresh):
    """A second tab posts the sign-in form after the first signed in: it goes home, and no
    password was checked, so it must not count toward the throttle (it used to: six such
    posts, and the right password was refused)."""
    client = sign_in(fresh.url)
    for _ in range(6):
        token = _form_token(Client(fresh.url))
        resp = client.http.post(
            client.url("/signin"),
            data={"csrf_token": token, "email": STAFF_EMAIL, "password": "anything"},
            timeout=10,
            allow_redirects=False,
        )
        assert resp.status_code == 302
    assert _try_sign_in(Client(fresh.url), STAFF_EMAIL, STAFF_PASSWORD).status_code == 302


# -- the sign-in form says what to do -----------------------------------------------------


def test_an_empty_sign_in_says_what_to_do(portal):
    resp = _try_sign_in(Client(portal.url), "", "")
    assert resp.status_code == 400
    assert "Enter your e-mail address and your password." in resp.text


def test_a_sign_in_with_a_lost_cookie_says_what_to_do(portal):
    client = Client(portal.url)
    token = _form_token(client)
    client.http.cookies.clear()  # the browser lost (or blocked) the cookie
    resp = client.http.post(
        client.url("/signin"),
        data={"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        timeout=10,
    )
    assert resp.status_code == 400 and "The sign-in form had expired" in resp.text
    # The answer carries a fresh form: the next try works.
    assert _try_sign_in(client, STAFF_EMAIL, STAFF_PASSWORD).status_code == 302


# -- redirects after sign-in ----------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\r\n/evil.example",
        "/\nSet-Cookie: x=1",
        "\\/evil.example",
        "/\\evil.example",
        "https:evil.example",
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "//%2Fevil.example",
        "\x7f/evil",
        "/\x00/evil.example",
        "evil.example",
        "",
        "javascript:alert(1)",
    ],
)
def test_next_goes_home_unless_it_is_a_path_here(fresh, target):
    """`target` is what the view sees (requests %-encodes it on the way)."""
    resp = _try_sign_in(Client(fresh.url), STAFF_EMAIL, STAFF_PASSWORD, target)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"] == "/", (target, resp.headers["Location"])


def test_next_keeps_a_path_here(fresh):
    resp = _try_sign_in(Client(fresh.url), STAFF_EMAIL, STAFF_PASSWORD, "/i/x?email=a%40b.c")
    assert resp.status_code == 302 and resp.headers["Location"] == "/i/x?email=a%40b.c"


def test_raw_control_characters_in_next_are_not_a_server_error(fresh):
    client = Client(fresh.url)
    token = _form_token(client)
    for raw in (
        "/%0d%0aSet-Cookie:%20x=1",
        "/%09/evil.example",
        "/%5Cevil.example",
        "%2F%5Cevil.example",
        "/%2F%2Fevil.example",
        "%2F%2Fevil.example",
    ):
        resp = client.http.post(
            f"{fresh.url}/signin?next={raw}",
            data={"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
            timeout=10,
            allow_redirects=False,
        )
        assert resp.status_code == 302 and resp.headers["Location"] == "/", raw
        assert "x" not in resp.cookies
        client.http.cookies.clear()
        token = _form_token(client)


# -- throttles -------------------------------------------------------------------------------


def _assert_throttled(resp):
    assert resp.status_code == 429, resp.text
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins" in resp.text and 'name="password"' in resp.text


def test_failed_sign_ins_are_throttled_per_account(fresh):
    # Five wrong passwords from two addresses (neither reaches its own limit of five).
    for address in ["127.0.0.2"] * 3 + ["127.0.0.3"] * 2:
        resp = _try_sign_in(_client(fresh.url, address), STAFF_EMAIL, "wrong")
        assert resp.status_code == 401
    # Now even the right password, from a third address, waits.
    _assert_throttled(_try_sign_in(_client(fresh.url, "127.0.0.4"), STAFF_EMAIL, STAFF_PASSWORD))
    # Case and spaces do not make another account.
    _assert_throttled(
        _try_sign_in(_client(fresh.url, "127.0.0.4"), " CS@Example.com ", STAFF_PASSWORD)
    )


def test_an_office_behind_one_address_signs_in_at_once(sandbox):
    """Twelve colleagues behind one NAT sign in at the same moment with the right passwords:
    every attempt is charged before its password is checked, so the address's budget must hold
    a morning's burst (it refused 7 of 12 when it was the account's 5)."""
    from concurrent.futures import ThreadPoolExecutor

    from werkzeug.security import generate_password_hash

    people = [f"recruiter{i}@example.com" for i in range(12)]
    accounts = {p: generate_password_hash("pw-" + p) for p in people}  # scrypt: checks overlap
    office = ServerThread(create_app(portal_config(sandbox, STAFF_ACCOUNTS=accounts))).start()
    try:
        clients = [_client(office.url, "127.0.0.7") for _ in people]
        tokens = [_form_token(c) for c in clients]

        def attempt(i: int) -> int:
            return (
                clients[i]
                .http.post(
                    clients[i].url("/signin"),
                    data={
                        "csrf_token": tokens[i],
                        "email": people[i],
                        "password": "pw-" + people[i],
                    },
                    timeout=30,
                    allow_redirects=False,
                )
                .status_code
            )

        with ThreadPoolExecutor(12) as pool:
            assert list(pool.map(attempt, range(12))) == [302] * 12
    finally:
        office.stop()


def test_failed_sign_ins_are_throttled_per_address(fresh):
    attacker = "127.0.0.5"
    for i in range(20):
        resp = _try_sign_in(_client(fresh.url, attacker), f"guess{i}@example.com", "wrong")
        assert resp.status_code == 401
    _assert_throttled(_try_sign_in(_client(fresh.url, attacker), STAFF_EMAIL, STAFF_PASSWORD))
    # The real user, elsewhere, is not locked out by the attacker's guesses at other accounts.
    assert (
        _try_sign_in(_client(fresh.url, "127.0.0.6"), STAFF_EMAIL, STAFF_PASSWORD).status_code
        == 302
    )


def test_a_burst_of_parallel_guesses_gets_five_tries_not_twenty(fresh):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    clients = [_client(fresh.url, f"127.0.1.{i}") for i in range(20)]  # 20 addresses
    forms = [_form_token(c) for c in clients]
    start = threading.Barrier(len(clients))

    def guess(i):
        start.wait()
        return clients[i].http.post(
            clients[i].url("/signin"),
            data={"csrf_token": forms[i], "email": STAFF_EMAIL, "password": f"guess {i}"},
            timeout=30,
            allow_redirects=False,
        )

    with ThreadPoolExecutor(len(clients)) as pool:
        codes = sorted(r.status_code for r in pool.map(guess, range(len(clients))))
    assert codes.count(401) == 5 and codes.count(429) == 15, codes
    _assert_throttled(_try_sign_in(_client(fresh.url, "127.0.1.99"), STAFF_EMAIL, STAFF_PASSWORD))


def test_successful_sign_ins_and_unchecked_forms_do_not_count(fresh):
    for _ in range(8):
        assert _try_sign_in(Client(fresh.url), STAFF_EMAIL, STAFF_PASSWORD).status_code == 302
        assert _try_sign_in(Client(fresh.url), STAFF_EMAIL, "").status_code == 400  # empty
    for _ in range(4):
        assert _try_sign_in(Client(fresh.url), STAFF_EMAIL, "wrong").status_code == 401
    assert _try_sign_in(Client(fresh.url), STAFF_EMAIL, STAFF_PASSWORD).status_code == 302


def test_the_embed_exchange_is_throttled_per_partner(sandbox):
    server = ServerThread(
        create_app(portal_config(sandbox, EMBED_EXCHANGE_LIMIT="3 per minute"))
    ).start()
    try:
        url = f"{server.url}/api/v1/embed/session"
        # Forged tokens naming acme do not spend acme's budget: they count per address.
        for expected in (401, 401, 401, 429):
            forged = mint_embed_token("acme", sandbox.iid("full"), secret="x" * 40)
            resp = requests.post(url, json={"token": forged}, timeout=10)
            assert resp.status_code == expected, resp.text
        for _ in range(3):
            embed_client(server.url, "acme", sandbox.iid("full"))
        token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET)
        resp = requests.post(url, json={"token": token}, timeout=10)
        assert resp.status_code == 429 and resp.json()["error"]["code"] == "too_many_requests"
        assert int(resp.headers["Retry-After"]) >= 1
        embed_client(server.url, "globex", sandbox.iid("no_upload"))  # another partner's budget
    finally:
        server.stop()


def test_the_json_api_is_throttled_per_session(sandbox):
    server = ServerThread(create_app(portal_config(sandbox, API_LIMIT="5 per minute"))).start()
    try:
        staff = sign_in(server.url)
        for _ in range(5):
            assert staff.get("/api/v1/me").status_code == 200
        resp = staff.get("/api/v1/me")
        assert resp.status_code == 429 and resp.json()["error"]["code"] == "too_many_requests"
        assert int(resp.headers["Retry-After"]) >= 1
        other = embed_client(server.url, "acme", sandbox.iid("full"))
        assert other.get("/api/v1/me").status_code == 200
    finally:
        server.stop()


# -- embed sessions can be ended ---------------------------------------------------------------


def test_a_partner_user_signs_out_of_the_embed(portal, sandbox):
    client = embed_client(portal.url, "acme", sandbox.iid("full"))
    other = embed_client(portal.url, "acme", sandbox.iid("full"))
    resp = client.post("/api/v1/embed/session/revoke")
    assert resp.status_code == 200 and resp.json() == {"revoked": "session"}
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_revoked"
    assert other.get("/api/v1/me").status_code == 200


def test_a_partner_backend_ends_all_its_sessions(fresh, sandbox):
    url = f"{fresh.url}/api/v1/embed/revoke"
    ada = embed_client(fresh.url, "acme", sandbox.iid("full"), user="ada")
    bob = embed_client(fresh.url, "acme", sandbox.iid("full"), user="bob")
    globex = embed_client(fresh.url, "globex", sandbox.iid("no_upload"))
    # One user's sessions first.
    resp = requests.post(
        url, json={"token": mint_revoke_token("acme", secret=ACME_SECRET, user="ada")}, timeout=10
    )
    assert resp.status_code == 200 and resp.json()["revoked"] == "user"
    assert ada.get("/api/v1/me").json()["error"]["code"] == "session_revoked"
    assert bob.get("/api/v1/me").status_code == 200
    # Then everything of the partner; another partner's sessions stay.
    token = mint_revoke_token("acme", secret=ACME_SECRET)
    assert requests.post(url, json={"token": token}, timeout=10).json()["revoked"] == "all"
    assert bob.get("/api/v1/me").json()["error"]["code"] == "session_revoked"
    assert globex.get("/api/v1/me").status_code == 200
    # A session started afterwards works; the revocation token cannot be replayed.
    assert embed_client(fresh.url, "acme", sandbox.iid("full")).get("/api/v1/me").ok
    again = requests.post(url, json={"token": token}, timeout=10)
    assert again.status_code == 401 and again.json()["error"]["code"] == "token_replayed"


def test_revocation_needs_the_partners_signature(portal, sandbox):
    url = f"{portal.url}/api/v1/embed/revoke"
    forged = mint_revoke_token("acme", secret=GLOBEX_SECRET)
    resp = requests.post(url, json={"token": forged}, timeout=10)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_signature_invalid"
    embed = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET)
    resp = requests.post(url, json={"token": embed}, timeout=10)  # not a revocation token
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_invalid"
    staff_revoke = sign_in(portal.url).post("/api/v1/embed/session/revoke")
    assert staff_revoke.status_code == 400
    assert staff_revoke.json()["error"]["code"] == "not_an_embed_session"


def test_a_partner_losing_an_integration_loses_its_sessions_on_it(sandbox, tmp_path):
    state = str(tmp_path / "state.sqlite3")
    before = portal_config(sandbox, STATE_PATH=state)
    after = {**before, "PARTNERS": {**before["PARTNERS"]}}
    kept = [sandbox.iid("restricted")]
    after["PARTNERS"]["acme"] = {**before["PARTNERS"]["acme"], "integrations": kept}
    old_deploy = ServerThread(create_app(before)).start()
    new_deploy = ServerThread(create_app(after)).start()
    try:
        client = embed_client(old_deploy.url, "acme", sandbox.iid("full"))
        other = embed_client(old_deploy.url, "acme", sandbox.iid("restricted"))
        client.base = other.base = new_deploy.url
        resp = client.get("/api/v1/me")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_invalid"
        assert other.get("/api/v1/me").status_code == 200
    finally:
        old_deploy.stop()
        new_deploy.stop()


def test_a_partner_cannot_use_an_integration_the_deployment_does_not_serve(sandbox):
    config = portal_config(sandbox)
    unserved = "greenhouse:" + "Y" * 24
    config["PARTNERS"]["acme"]["integrations"].append(unserved)  # listed, but not served
    server = ServerThread(create_app(config)).start()
    try:
        token = mint_embed_token("acme", unserved, secret=ACME_SECRET)
        resp = requests.post(
            f"{server.url}/api/v1/embed/session", json={"token": token}, timeout=10
        )
        assert resp.status_code == 403
        assert resp.json()["error"]["code"] == "token_integration_refused"
    finally:
        server.stop()


def test_rotating_a_partner_secret_ends_the_sessions_it_started(sandbox, tmp_path):
    state = str(tmp_path / "state.sqlite3")  # both deployments share one store, one key
    before = portal_config(sandbox, STATE_PATH=state)
    after = {**before, "PARTNERS": {**before["PARTNERS"]}}
    after["PARTNERS"]["acme"] = {**before["PARTNERS"]["acme"], "secrets": [ACME_SECRET]}
    old_deploy = ServerThread(create_app(before)).start()
    new_deploy = ServerThread(create_app(after)).start()
    try:
        iid = sandbox.iid("full")
        under_old = embed_client(old_deploy.url, "acme", iid, secret=ACME_OLD_SECRET)
        under_new = embed_client(old_deploy.url, "acme", iid, secret=ACME_SECRET)
        for client in (under_old, under_new):
            assert client.get("/api/v1/me").status_code == 200
            client.base = new_deploy.url
        resp = under_old.get("/api/v1/me")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_revoked"
        assert under_new.get("/api/v1/me").status_code == 200
    finally:
        old_deploy.stop()
        new_deploy.stop()


# -- a stale CSRF token is a page that says so, never a 500 ------------------------------------


def test_a_page_from_before_a_new_sign_in_gets_the_expired_page(portal, sandbox):
    iid = sandbox.iid("full")
    client = sign_in(portal.url)
    aid = find_application(client, iid)["id"]
    old_token = _form_token(client, f"/i/{iid}/a/{aid}")  # the old tab
    _try_sign_in_again(client)  # a new sign-in in another tab: a new session, a new token
    upload = f"/i/{iid}/a/{aid}/upload"
    for data in ({"csrf_token": old_token}, {}):  # stale, and missing
        resp = client.http.post(
            client.url(upload),
            data={"type": "CV", **data},
            files={"file": ("cv.pdf", samples.pdf("stale"))},
            timeout=30,
            allow_redirects=False,
        )
        assert resp.status_code == 400, resp.text
        assert "This page expired" in resp.text and EXPIRED in resp.text
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert "text/html" in resp.headers["Content-Type"]
    resp = client.http.post(
        client.url("/signout"), data={"csrf_token": old_token}, timeout=10, allow_redirects=False
    )
    assert resp.status_code == 400 and EXPIRED in resp.text
    api = client.http.post(
        client.url(f"/api/v1/integrations/{iid}/applications/{aid}/attachments"),
        headers={"X-CSRFToken": old_token, "Accept": "application/json"},
        files={"file": ("cv.pdf", samples.pdf("stale api"))},
        data={"type": "CV"},
        timeout=30,
    )
    assert api.status_code == 400 and api.json()["error"]["code"] == "csrf_failed"
    # The page it asks for, reloaded, works.
    fresh_token = _form_token(client, "/")
    resp = client.http.post(
        client.url("/signout"),
        data={"csrf_token": fresh_token},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302


def _try_sign_in_again(client: Client) -> None:
    """Sign in again in the same browser (as from a second tab after the session ended)."""
    other = Client(client.base, client.http)
    other.http.cookies.clear()
    assert _try_sign_in(other, STAFF_EMAIL, STAFF_PASSWORD).status_code == 302


# -- bounded JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[" * 50_000 + b"]" * 50_000, 400, "json_too_deep"),
        (b'{"token": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, "json_too_deep"),
        (b'{"token": "' + b"x" * 20_000 + b'"}', 413, "body_too_large"),
        (b'{"token": ', 400, "json_invalid"),
        (b"\xff\xfe", 400, "json_invalid"),
        (b'{"token": 5}', 400, "token_missing"),
        (b'["token"]', 400, "token_missing"),
        (b'{"token": "[[[[[[[[[[[[[[[["}', 401, "token_invalid"),  # brackets in a string
    ],
    ids=["deep", "deep token", "large", "cut", "not utf-8", "number", "list", "brackets"],
)
def test_bad_json_on_the_exchange_is_a_clear_400(portal, body, status, code):
    for path in ("/api/v1/embed/session", "/api/v1/embed/revoke"):
        resp = requests.post(
            portal.url + path,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert resp.status_code == status, (path, resp.text[:200])
        assert resp.json()["error"]["code"] == code


def test_a_forged_forwarded_for_does_not_pick_the_throttle_bucket(fresh):
    for i in range(20):
        resp = _try_sign_in_from(fresh.url, f"10.0.0.{i}", f"guess{i}@example.com")
        assert resp.status_code == 401
    _assert_throttled(_try_sign_in_from(fresh.url, "10.0.0.99", STAFF_EMAIL, STAFF_PASSWORD))


def test_behind_our_proxy_the_forwarded_client_is_counted(sandbox):
    server = ServerThread(create_app(portal_config(sandbox, PROXY_HOPS=1))).start()
    try:
        for i in range(20):
            resp = _try_sign_in_from(server.url, "203.0.113.7", f"guess{i}@example.com")
            assert resp.status_code == 401
        _assert_throttled(_try_sign_in_from(server.url, "203.0.113.7", STAFF_EMAIL, STAFF_PASSWORD))
        # Another client behind the same proxy is not locked out by the first one's guesses.
        ok = _try_sign_in_from(server.url, "198.51.100.8", STAFF_EMAIL, STAFF_PASSWORD)
        assert ok.status_code == 302
    finally:
        server.stop()


def _try_sign_in_from(base, forwarded_for, email, password="wrong"):
    client = Client(base)
    client.http.headers["X-Forwarded-For"] = forwarded_for
    return _try_sign_in(client, email, password)


def test_portal_revoke_token_prints_a_token_the_portal_takes(fresh, sandbox):
    import json
    import os
    import subprocess
    import sys

    partners = portal_config(sandbox)["PARTNERS"]
    env = {**os.environ, "PORTAL_PARTNERS": json.dumps(partners)}
    out = subprocess.run(
        [sys.executable, "-m", "portal.cli", "revoke-token", "--partner", "acme"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    client = embed_client(fresh.url, "acme", sandbox.iid("full"))
    resp = requests.post(
        f"{fresh.url}/api/v1/embed/revoke", json={"token": out.stdout.strip()}, timeout=10
    )
    assert resp.status_code == 200 and resp.json() == {"revoked": "all", "partner": "acme"}
    assert client.get("/api/v1/me").json()["error"]["code"] == "session_revoked"


def test_a_changed_password_ends_the_sessions_started_with_the_old_one(sandbox, tmp_path):
    from werkzeug.security import generate_password_hash

    state = str(tmp_path / "state.sqlite3")  # a redeploy with the new hash, same store
    before = portal_config(sandbox, STATE_PATH=state)
    after = {**before, "STAFF_ACCOUNTS": {STAFF_EMAIL: generate_password_hash("a new password")}}
    old_deploy = ServerThread(create_app(before)).start()
    new_deploy = ServerThread(create_app(after)).start()
    try:
        client = sign_in(old_deploy.url)
        client.base = new_deploy.url
        resp = client.get("/api/v1/me")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "sign_in_required"
        fresh_client = sign_in(new_deploy.url, password="a new password")
        assert fresh_client.get("/api/v1/me").json()["subject"] == STAFF_EMAIL
    finally:
        old_deploy.stop()
        new_deploy.stop()


def test_an_unreachable_store_is_a_clear_503(sandbox):
    from support import free_port

    nothing = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = ServerThread(create_app(portal_config(sandbox, REDIS_URL=nothing))).start()
    try:
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        cookie = {"portal_session": "A" * 43}
        for path in ("/api/v1/me", "/", "/signin"):
            resp = requests.get(server.url + path, timeout=30, cookies=cookie)
            assert resp.status_code == 503, (path, resp.text[:300])
            assert "Content-Security-Policy" in resp.headers and resp.headers["Retry-After"] == "5"
        # Without a cookie the form shows (its session cannot be kept: no cookie is set) ...
        page = requests.get(f"{server.url}/signin", timeout=30)
        assert page.status_code == 200 and "portal_session=" not in page.headers.get(
            "Set-Cookie", ""
        )
        # ... and sending it says what happened.
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        resp = requests.post(
            f"{server.url}/signin",
            data={"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
            timeout=30,
        )
        assert resp.status_code == 503 and "cannot reach its shared state" in resp.text
        token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET)
        resp = requests.post(
            f"{server.url}/api/v1/embed/session", json={"token": token}, timeout=30
        )
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "state_unavailable"
    finally:
        server.stop()


# -- anything a client sends is an answer, never a 500 ------------------------------------------

_CREDENTIAL_TEXT = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=300
)


@settings(max_examples=150, deadline=None)
@given(bearer=_CREDENTIAL_TEXT, cookie=_CREDENTIAL_TEXT)
def test_any_bearer_or_cookie_is_refused_cleanly(portal, bearer, cookie):
    resp = requests.get(
        f"{portal.url}/api/v1/me",
        headers={"Authorization": "Bearer " + bearer, "Cookie": "portal_session=" + cookie},
        timeout=10,
    )
    record("credentials (property)", tried=1, server_errors=int(resp.status_code >= 500))
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] in ("session_invalid", "session_expired")


@settings(max_examples=80, deadline=None)  # each example is a real sign-in (scrypt)
@given(target=st.text(max_size=80))
def test_any_next_is_home_or_a_path_here(portal, target):
    resp = _try_sign_in(Client(portal.url), STAFF_EMAIL, STAFF_PASSWORD, target)
    record("next= (property)", tried=1, server_errors=int(resp.status_code >= 500))
    assert resp.status_code == 302, resp.text
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert not parts.scheme and not parts.netloc, location


@settings(max_examples=150, deadline=None)
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_any_json_body_on_the_exchange_is_a_clear_refusal(portal, body):
    resp = requests.post(f"{portal.url}/api/v1/embed/session", json=body, timeout=10)
    record("exchange bodies (property)", tried=1, server_errors=int(resp.status_code >= 500))
    assert (resp.status_code, resp.json()["error"]["code"]) == _exchange_refusal(body), resp.text


def _nesting(value: object) -> int:
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return 1 + max((_nesting(v) for v in items), default=0)
    return 0


def _exchange_refusal(body: object) -> tuple[int, str]:
    """Which check refuses a JSON body on the exchange (none of them is a signed token)."""
    if body is None:  # requests sends no body at all for json=None
        return 400, "json_invalid"
    if _nesting(body) > 8:  # portal.security.MAX_JSON_DEPTH
        return 400, "json_too_deep"
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        return 400, "token_missing"
    return 401, "token_invalid"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("SIGNIN_FAILURE_LIMIT", "five a minute", "PORTAL_SIGNIN_FAILURE_LIMIT must be a limit"),
        ("API_LIMIT", "", "PORTAL_API_LIMIT must be a limit"),
        ("PROXY_HOPS", "-1", "PORTAL_PROXY_HOPS must be a whole number of proxies"),
        ("STAFF_IDLE_TIMEOUT", "0", "PORTAL_STAFF_IDLE_TIMEOUT must be a whole number of seconds"),
    ],
)
def test_a_setting_that_would_break_the_throttles_or_sessions_refuses_to_start(
    sandbox, key, value, says
):
    with pytest.raises(RuntimeError, match="The portal cannot start") as refused:
        create_app(portal_config(sandbox, **{key: value}))
    assert says in str(refused.value)


# -- red team, round 2: the sign-in form reads the form body only ------------------------------


def test_a_password_sent_as_a_file_part_is_a_clear_400(portal):
    client = Client(portal.url)
    token = _form_token(client)
    resp = client.http.post(
        client.url("/signin"),
        data={"csrf_token": token, "email": STAFF_EMAIL},
        files={"password": ("p.txt", STAFF_PASSWORD.encode())},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 400, resp.status_code
    assert "Enter your e-mail address and your password." in resp.text


def test_a_json_sign_in_is_not_a_second_path_past_the_account_throttle(fresh):
    for i in range(5):
        resp = _try_sign_in(_client(fresh.url, f"127.0.9.{i + 1}"), "other@example.com", "wrong")
        assert resp.status_code == 401
    for i in range(3):  # the account is locked: a JSON body checks no password either
        client = _client(fresh.url, f"127.0.9.{i + 100}")
        token = _form_token(client)
        resp = client.http.post(
            client.url("/signin"),
            json={"csrf_token": token, "email": "other@example.com", "password": f"wrong{i}"},
            timeout=10,
            allow_redirects=False,
        )
        assert resp.status_code in (400, 429), resp.status_code
    # And a JSON body never signs anyone in, even with the right password.
    client = _client(fresh.url, "127.0.9.200")
    token = _form_token(client)
    resp = client.http.post(
        client.url("/signin"),
        json={"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 400 and "nothing was checked" in resp.text  # no form: no CSRF token
    assert client.get("/api/v1/me").status_code == 401
