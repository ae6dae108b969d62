"""Who may do what: embed tokens, sessions, tenant isolation on every route, CSRF, headers, secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time

import jwt
import pytest
import requests
import samples
from conftest import (
    ACME_OLD_SECRET,
    ACME_SECRET,
    GLOBEX_SECRET,
    PARTNER_ORIGIN,
    SANDBOX_KEY,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    Client,
    Clock,
    ServerThread,
    embed_client,
    find_application,
    link_holder,
    portal_config,
    sign_in,
)

from portal import create_app, tokens
from portal.tokens import AUDIENCE, mint_embed_token


def _exchange(portal, token, **extra):
    return requests.post(
        f"{portal.url}/api/v1/embed/session", json={"token": token, **extra}, timeout=10
    )


def _claims(sandbox, **over):
    now = int(time.time())
    claims = {
        "iss": "acme",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": "jti-" + str(time.monotonic_ns()),
        "integration_id": sandbox.iid("full"),
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


# -- embed tokens ------------------------------------------------------------------------


def test_a_valid_token_is_exchanged_once(portal, sandbox):
    token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET, user="r1")
    first = _exchange(portal, token)
    assert first.status_code == 200
    body = first.json()
    assert body["integration_id"] == sandbox.iid("full") and body["expires_in"] > 0
    assert body["parent_origin"] == PARTNER_ORIGIN
    replay = _exchange(portal, token)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_replayed"


def test_the_previous_secret_still_works_during_rotation(portal, sandbox):
    token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_OLD_SECRET)
    assert _exchange(portal, token).status_code == 200


def _signed(secret=ACME_SECRET, algorithm="HS256", **over):
    return lambda s: jwt.encode(_claims(s, **over), secret, algorithm=algorithm)


_NOW = int(time.time())


@pytest.mark.parametrize(
    ("case", "make", "status", "code", "says"),
    [
        ("wrong secret", _signed("x" * 40), 401, "token_signature_invalid", "signature"),
        (
            "expired",
            _signed(iat=_NOW - 900, exp=_NOW - 600),
            401,
            "token_expired",
            "expired",
        ),
        (
            "longer than 10 min",
            _signed(exp=_NOW + 3600),
            401,
            "token_lifetime_too_long",
            "longer than 10 minutes",
        ),
        (
            "dated in the future",
            _signed(iat=_NOW + 400, exp=_NOW + 500),
            401,
            "token_not_yet_valid",
            "dated in the future",
        ),
        (
            "not before the future",
            _signed(nbf=_NOW + 400),
            401,
            "token_not_yet_valid",
            "dated in the future",
        ),
        ("no exp", _signed(exp=None), 401, "token_invalid", '"exp"'),
        ("no jti", _signed(jti=None), 401, "token_invalid", '"jti"'),
        ("short jti", _signed(jti="abc"), 401, "token_invalid", "8 to 128"),
        ("wrong audience", _signed(aud="another-app"), 401, "token_invalid", "Audience"),
        (
            "revocation audience",
            _signed(aud=AUDIENCE + "/revoke"),
            401,
            "token_invalid",
            "Audience",
        ),
        ("unknown partner", _signed(iss="initech"), 401, "token_unknown_partner", "unknown"),
        (
            "issuer a number",
            lambda s: _hand_signed(_claims(s, iss=7), ACME_SECRET),
            401,
            "token_unknown_partner",
            "unknown",
        ),
        (
            "alg none",
            lambda s: _unsigned(_claims(s)),
            401,
            "token_invalid",
            "alg value is not allowed",
        ),
        ("HS512", _signed(algorithm="HS512"), 401, "token_invalid", "alg value is not allowed"),
        (
            "integration of another tenant",
            lambda s: jwt.encode(
                _claims(s, integration_id=s.iid("no_upload")), ACME_SECRET, algorithm="HS256"
            ),
            403,
            "token_integration_refused",
            "may not use",
        ),
        (
            "integration not configured",
            _signed(integration_id="greenhouse:" + "Z" * 24),
            403,
            "token_integration_refused",
            "may not use",
        ),
        (
            "other partner's secret",
            _signed(GLOBEX_SECRET),
            401,
            "token_signature_invalid",
            "signature",
        ),
        (
            "scope escalation",
            _signed(scope=["upload", "admin"]),
            401,
            "token_scope_invalid",
            "scope",
        ),
        ("empty scope", _signed(scope=[]), 401, "token_scope_invalid", "scope"),
        (
            "malformed application",
            _signed(application_id="../x"),
            401,
            "token_invalid",
            "application_id",
        ),
        (
            "foreign parent origin",
            _signed(parent_origin="https://evil.example"),
            403,
            "token_origin_refused",
            "parent origin",
        ),
        ("oversized", _signed(pad="x" * 9000), 401, "token_invalid", "missing or malformed"),
        ("garbage", lambda s: "not.a.token", 401, "token_invalid", "malformed"),
        # Every claim's type is checked before it is used (these were 500s).
        (
            "exp a string",
            _signed(exp=str(_NOW + 300)),
            401,
            "token_invalid",
            "exp must be a finite number",
        ),
        (
            "iat a string",
            _signed(iat=str(_NOW)),
            401,
            "token_invalid",
            "iat must be a finite number",
        ),
        ("exp true", _signed(exp=True), 401, "token_invalid", "exp must be a finite number"),
        (
            "exp NaN",
            lambda s: _hand_signed(_claims(s, exp=float("nan")), ACME_SECRET),
            401,
            "token_invalid",
            "exp must be a finite number",
        ),
        (
            "iat -Infinity",
            lambda s: _hand_signed(_claims(s, iat=float("-inf")), ACME_SECRET),
            401,
            "token_invalid",
            "iat must be a finite number",
        ),
        ("nbf a list", _signed(nbf=[1]), 401, "token_invalid", "nbf must be a finite number"),
        ("scope a string", _signed(scope="upload"), 401, "token_invalid", "scope must be a list"),
        ("scope of numbers", _signed(scope=[1, 2]), 401, "token_invalid", "scope must be a list"),
        (
            "integration_id a number",
            _signed(integration_id=12345),
            401,
            "token_invalid",
            "integration_id must be a string",
        ),
        ("jti a number", _signed(jti=123456789), 401, "token_invalid", "jti must be a string"),
        ("sub an object", _signed(sub={"a": 1}), 401, "token_invalid", "sub must be a string"),
        (
            "application_id a list",
            _signed(application_id=["x"]),
            401,
            "token_invalid",
            "application_id must be a string",
        ),
        (
            "parent_origin a number",
            _signed(parent_origin=1),
            401,
            "token_invalid",
            "parent_origin must be a string",
        ),
    ],
)
def test_bad_tokens_are_refused(portal, sandbox, case, make, status, code, says):
    resp = _exchange(portal, make(sandbox))
    assert resp.status_code == status, (case, resp.text)
    error = resp.json()["error"]
    assert error["code"] == code, (case, error)
    assert says in error["message"], (case, error)


def _hand_signed(claims, secret):
    """An HS256 token PyJWT would refuse to make (e.g. a numeric issuer)."""

    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def _unsigned(claims):
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def test_a_token_for_another_partner_page_is_refused(portal, sandbox):
    token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET)
    resp = _exchange(portal, token, partner="globex")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "token_wrong_partner"


def test_forged_and_expired_sessions_are_refused(portal, sandbox):
    client = embed_client(portal.url, "acme", sandbox.iid("full"))
    good = client.http.headers["Authorization"]
    client.http.headers["Authorization"] = good[:-3] + (
        "AAA" if not good.endswith("AAA") else "BBB"
    )
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_invalid"
    clock = Clock()
    short = ServerThread(create_app(portal_config(sandbox, CLOCK=clock))).start()
    try:
        c2 = embed_client(short.url, "acme", sandbox.iid("full"))
        assert c2.get("/api/v1/me").status_code == 200
        clock.advance(900 + 1)  # EMBED_SESSION_TTL
        resp = c2.get("/api/v1/me")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_expired"
    finally:
        short.stop()


# -- tenant isolation on every route ------------------------------------------------------


def _routes(iid, aid):
    base = f"/api/v1/integrations/{iid}"
    return [
        ("GET", base, {}),
        ("GET", f"{base}/jobs", {"params": {"q": "e"}}),
        ("GET", f"{base}/applications", {}),
        ("GET", f"{base}/applications", {"params": {"email": "ada.lovelace@example.com"}}),
        ("GET", f"{base}/applications/{aid}", {}),
        ("GET", f"{base}/applications/{aid}/attachments", {}),
        (
            "POST",
            f"{base}/applications/{aid}/attachments",
            {"files": {"file": ("cv.pdf", samples.pdf())}, "data": {"type": "CV"}},
        ),
    ]


def _call(client, method, path, kw):
    return client.get(path, **kw) if method == "GET" else client.post(path, **kw)


def test_another_tenants_integration_is_404_on_every_route(portal, staff, sandbox):
    globex = embed_client(portal.url, "globex", sandbox.iid("no_upload"))
    target = sandbox.iid("full")
    aid = find_application(staff, target)["id"]
    sandbox.clear_requests()
    for method, path, kw in _routes(target, aid):
        resp = _call(globex, method, path, kw)
        assert resp.status_code == 404, (method, path, resp.status_code, resp.text)
        assert resp.json()["error"]["code"] == "not_found", (method, path)
        assert "Ada" not in resp.text
    # Not a single call reached Kombo carrying the other tenant's integration.
    assert not [r for r in sandbox.requests_log() if r.get("integration_id") == target]


def test_another_integrations_application_is_404_on_every_route(portal, staff, sandbox):
    acme = embed_client(portal.url, "acme", sandbox.iid("full"))
    foreign = find_application(staff, sandbox.iid("no_upload"))["id"]  # globex's tenant
    for method, path, kw in _routes(sandbox.iid("full"), foreign)[4:]:
        resp = _call(acme, method, path, kw)
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.json()["error"]["code"] == "not_found", (method, path)


def test_a_locked_session_reaches_only_its_application(portal, staff, sandbox):
    iid = sandbox.iid("full")
    mine = find_application(staff, iid, job="Backend Engineer")["id"]
    other = find_application(staff, iid, job="Data Scientist")["id"]
    locked = embed_client(portal.url, "acme", iid, application_id=mine)
    listed = locked.get(
        f"/api/v1/integrations/{iid}/applications", params={"email": "ada.lovelace@example.com"}
    ).json()
    assert [a["id"] for a in listed["applications"]] == [mine]
    assert (
        locked.get(f"/api/v1/integrations/{iid}/applications/{mine}/attachments").status_code == 200
    )
    for method, path, kw in _routes(iid, other)[4:]:
        resp = _call(locked, method, path, kw)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", path


def test_a_locked_session_sees_no_file_of_the_candidates_other_applications(portal, staff, sandbox):
    iid = sandbox.iid("full")
    backend = find_application(staff, iid, job="Backend Engineer")  # holds Ada's CV
    scientist = find_application(staff, iid, job="Data Scientist")["id"]
    locked = embed_client(portal.url, "acme", iid, application_id=scientist)
    resp = locked.get(f"/api/v1/integrations/{iid}/applications/{scientist}/attachments")
    assert resp.status_code == 200, resp.text
    items = resp.json()["attachments"]
    assert all(a["belongs_to"] in ("this_application", "candidate") for a in items), items
    assert "Ada Lovelace CV.pdf" not in [a["name"] for a in items]
    # A link naming the other application's file, signed by us under this session's lock,
    # still does not open it: the lock is carried in the link and checked on download.
    everything = staff.get(f"/api/v1/integrations/{iid}/applications/{backend['id']}/attachments")
    cv = next(a for a in everything.json()["attachments"] if a["name"] == "Ada Lovelace CV.pdf")
    held = link_holder(portal.httpd.app, locked)
    with portal.httpd.app.test_request_context():
        link = tokens.download_token(iid, backend["candidate_id"], cv["id"], scientist, held)
        unlocked = tokens.download_token(iid, backend["candidate_id"], cv["id"], None, held)
    resp = requests.get(f"{portal.url}/download/{link}", timeout=10)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert requests.get(f"{portal.url}/download/{unlocked}", timeout=10).status_code == 200
    # Its own application's links work.
    own = embed_client(portal.url, "acme", iid, application_id=backend["id"])
    mine = own.get(f"/api/v1/integrations/{iid}/applications/{backend['id']}/attachments")
    url = next(a for a in mine.json()["attachments"] if a["name"] == "Ada Lovelace CV.pdf")
    assert requests.get(portal.url + url["download_url"], timeout=10).status_code == 200


def test_a_locked_session_cannot_list_jobs(portal, staff, sandbox):
    iid = sandbox.iid("full")
    mine = find_application(staff, iid, job="Backend Engineer")["id"]
    locked = embed_client(portal.url, "acme", iid, application_id=mine)
    resp = locked.get(f"/api/v1/integrations/{iid}/jobs")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "locked_to_application"
    assert embed_client(portal.url, "acme", iid).get(f"/api/v1/integrations/{iid}/jobs").ok


def test_scope_limits_what_a_session_may_do(portal, staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    viewer = embed_client(portal.url, "acme", iid, scope=["list"])
    resp = viewer.upload(iid, app, samples.pdf(), "cv.pdf")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "scope_missing"
    items = viewer.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()[
        "attachments"
    ]
    assert items and all(a["download_url"] is None for a in items)
    uploader = embed_client(portal.url, "acme", iid, scope=["upload"])
    resp = uploader.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "scope_missing"


def test_download_links_cannot_be_forged_or_reused_late(portal, staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")["id"]
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()[
        "attachments"
    ][0]
    url = item["download_url"]
    anonymous = requests.get(portal.url + url, timeout=10)
    assert anonymous.status_code == 200  # the signed link is the grant (a link carries no header)
    tampered = url[:-4] + ("abcd" if not url.endswith("abcd") else "wxyz")
    with portal.httpd.app.test_request_context():  # signed by us, for a connection not served
        unserved = "/download/" + tokens.download_token(
            "greenhouse:" + "Z" * 24, "c1", "a1", None, link_holder(portal.httpd.app, staff)
        )
    for bad in (tampered, "/download/" + "x" * 40, unserved):
        resp = requests.get(portal.url + bad, timeout=10)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    clock = Clock()
    short = ServerThread(create_app(portal_config(sandbox, CLOCK=clock))).start()
    try:
        c = sign_in(short.url)
        late = c.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()[
            "attachments"
        ][0]["download_url"]
        clock.advance(300 + 1)  # DOWNLOAD_URL_TTL
        resp = requests.get(short.url + late, timeout=10)
        assert resp.status_code == 410 and resp.json()["error"]["code"] == "link_expired"
    finally:
        short.stop()


# -- staff sign-in, CSRF, fetch metadata ----------------------------------------------------


def test_sign_in_failures_are_vague(sandbox):
    fresh = ServerThread(create_app(portal_config(sandbox))).start()  # its own throttle counts
    try:
        for email, password in ((STAFF_EMAIL, "wrong"), ("nobody@example.com", "wrong")):
            client = Client(fresh.url)
            page = client.get("/signin").text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            resp = client.http.post(
                client.url("/signin"),
                data={"csrf_token": token, "email": email, "password": password},
                timeout=10,
            )
            assert resp.status_code == 401 and "The e-mail or password is wrong." in resp.text
    finally:
        fresh.stop()


def test_sign_in_without_csrf_token_says_what_to_do(portal):
    resp = requests.post(
        f"{portal.url}/signin",
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 400
    assert "The sign-in form had expired" in resp.text and 'name="csrf_token"' in resp.text


def test_session_cookie_flags(portal, sandbox):
    local = requests.get(f"{portal.url}/signin", timeout=10).headers["Set-Cookie"]
    assert "portal_session=" in local and "HttpOnly" in local and "SameSite=Lax" in local
    assert "Secure" not in local  # plain HTTP on localhost only
    app = create_app(portal_config(sandbox))
    remote = (
        app.test_client().get("/signin", base_url="http://portal.example").headers["Set-Cookie"]
    )
    assert "Secure" in remote and "HttpOnly" in remote and "SameSite=Lax" in remote


def test_staff_writes_need_the_csrf_header(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    csrf, staff.csrf = staff.csrf, None
    resp = staff.upload(iid, app, samples.pdf(), "cv.pdf")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "csrf_failed"
    assert resp.json()["error"]["message"] == "This page expired. Reload it and try again."
    staff.csrf = csrf
    assert staff.upload(iid, app, samples.pdf("with csrf"), "cv.pdf").status_code == 201


def test_cross_site_writes_are_refused_even_with_a_bearer(acme, staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    resp = acme.upload(iid, app, samples.pdf(), "cv.pdf", headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "cross_site_refused"


# -- headers on every route -----------------------------------------------------------------


def _pages(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    return [
        "/",
        "/signin",
        "/healthz",
        f"/i/{iid}",
        f"/i/{iid}/a/{app}",
        "/embed",
        "/no-such-page",
        "/api/v1/me",
        "/api/v1/integrations",
        f"/api/v1/integrations/{iid}/applications/{app}/attachments",
        "/static/portal.css",
    ]


def test_security_headers_on_every_route(staff, sandbox):
    for path in _pages(staff, sandbox):
        resp = staff.get(path)
        h = resp.headers
        csp = h["Content-Security-Policy"]
        assert (
            "frame-ancestors 'none'" in csp
            and "unsafe-inline" not in csp
            and "script-src 'self'" in csp
        ), path
        assert h["X-Frame-Options"] == "DENY", path
        assert h["X-Content-Type-Options"] == "nosniff", path
        assert h["Referrer-Policy"] == "same-origin", path
        assert "camera=()" in h["Permissions-Policy"], path
        assert "Strict-Transport-Security" not in h  # plain HTTP on loopback
        if path.startswith("/api/"):
            assert h["Cache-Control"] == "no-store", path


def test_embed_page_may_be_framed_by_exactly_its_partner(portal):
    resp = requests.get(
        f"{portal.url}/embed",
        params={"partner": "acme", "theme": "dark", "accent": "#12abef"},
        timeout=10,
    )
    csp = resp.headers["Content-Security-Policy"]
    assert f"frame-ancestors {PARTNER_ORIGIN}" in csp and "X-Frame-Options" not in resp.headers
    assert 'data-accent="#12abef"' in resp.text and 'data-theme="dark"' in resp.text
    odd = requests.get(
        f"{portal.url}/embed",
        params={"partner": "nobody", "accent": "red;x", "theme": "<x>"},
        timeout=10,
    )
    assert "frame-ancestors 'none'" in odd.headers["Content-Security-Policy"]
    assert "red;x" not in odd.text and "<x>" not in odd.text


def test_hsts_over_https(sandbox):
    app = create_app(portal_config(sandbox))
    resp = app.test_client().get("/healthz", base_url="https://portal.example")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_download_headers_never_render_inline(staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid, job="Backend Engineer")["id"]
    item = staff.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()[
        "attachments"
    ][0]
    resp = staff.get(item["download_url"])
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert resp.headers["Cache-Control"] == "no-store"


# -- the key stays server-side ---------------------------------------------------------------


def test_the_kombo_key_never_leaves_the_server(staff, portal, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    bodies = [staff.get(p) for p in _pages(staff, sandbox)]
    bodies.append(staff.upload(iid, app, samples.pdf("key test"), "cv.pdf"))
    sandbox.fault("list_jobs", count=10, status=401, code="PLATFORM.AUTHENTICATION_INVALID")
    bodies.append(staff.get(f"/api/v1/integrations/{iid}/jobs"))
    for resp in bodies:
        assert SANDBOX_KEY not in resp.text and SANDBOX_KEY not in str(resp.headers)
    assert SANDBOX_KEY not in caplog.text
    for asset in ("/static/portal.js", "/static/embed.js", "/static/portal.css"):
        assert SANDBOX_KEY not in requests.get(portal.url + asset, timeout=10).text


def test_static_assets_are_compressed_but_pages_and_json_are_not(portal, staff):
    for path in ("/static/portal.js", "/static/portal.css"):
        for accept in ("gzip", "gzip, deflate", "gzip, deflate, br, zstd"):
            resp = requests.get(portal.url + path, headers={"Accept-Encoding": accept}, timeout=10)
            assert resp.headers.get("Content-Encoding") in accept, (path, accept)
            assert "Content-Encoding" in resp.headers and len(resp.text) > 1000, path  # decoded
    # Pages and JSON carry CSRF and session tokens beside reflected input: no compression (BREACH).
    for path in ("/", "/api/v1/integrations"):
        resp = staff.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert "Content-Encoding" not in resp.headers, path


def test_the_store_keeps_a_staff_session_no_longer_than_its_absolute_timeout(sandbox):
    """Pinned by the mutation run: the record's TTL is the idle timeout for a visitor, and for
    signed-in staff never past the absolute timeout (else a stolen id outlives it in Redis)."""
    from portal.access import _TOUCH_EVERY, StoreSession, _ttl

    clock = Clock()
    app = create_app(
        portal_config(sandbox, CLOCK=clock, STAFF_IDLE_TIMEOUT=600, STAFF_ABSOLUTE_TIMEOUT=3600)
    )
    with app.app_context():
        assert _ttl(app, StoreSession({"csrf_token": "x"})) == 600
        staff = StoreSession({"staff": "a@example.com", "auth_time": clock()})
        assert _ttl(app, staff) == 600 + _TOUCH_EVERY
        clock.advance(3600 - 100)
        assert _ttl(app, staff) == pytest.approx(100, abs=1)
        clock.advance(200)
        assert _ttl(app, staff) == 1.0


# -- red team, round 2: server errors, links bound to their session, CSRF on a junk bearer ------


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_time_claim_of_400_digits_is_refused_not_a_server_error(portal, sandbox, claim):
    body = json.dumps({**_claims(sandbox), claim: "__X__"}).replace('"__X__"', "1" + "0" * 400)
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()
    mac = hmac.new(ACME_SECRET.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{head}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    resp = _exchange(portal, token)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "token_invalid"
    assert f"{claim} must be a finite number" in resp.json()["error"]["message"]
    revoke = requests.post(f"{portal.url}/api/v1/embed/revoke", json={"token": token}, timeout=10)
    assert revoke.status_code == 401 and revoke.json()["error"]["code"] == "token_invalid"


def test_a_cursor_of_superscript_digits_is_a_clear_400(staff, sandbox):
    iid = sandbox.iid("full")
    for cursor in ("\u00b9\u00b2", "\u0661\u0662", "25\u00b2"):
        resp = staff.get(f"/api/v1/integrations/{iid}/applications", params={"cursor": cursor})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "cursor_invalid"
        page = staff.get(f"/i/{iid}", params={"cursor": cursor})  # the page says it inline
        assert page.status_code == 200 and "That page link is not valid" in page.text


def _links(client, iid, app):
    items = client.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()[
        "attachments"
    ]
    return items[0]["download_url"]


def _ended(resp):
    assert resp.status_code == 410, resp.text
    assert resp.json()["error"]["code"] == "link_session_ended"


def test_a_download_link_ends_with_the_staff_session_that_got_it(portal, sandbox):
    iid = sandbox.iid("full")
    client = sign_in(portal.url)
    app = find_application(client, iid)["id"]
    url = _links(client, iid, app)
    other = sign_in(portal.url)  # another session of the same account keeps its links
    kept = _links(other, iid, app)
    assert requests.get(portal.url + url, timeout=10).status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    out = client.http.post(
        client.url("/signout"), data={"csrf_token": token}, timeout=10, allow_redirects=False
    )
    assert out.status_code == 302
    _ended(requests.get(portal.url + url, timeout=10))
    assert requests.get(portal.url + kept, timeout=10).status_code == 200


def test_a_download_link_ends_with_the_embed_session_that_got_it(portal, staff, sandbox):
    iid = sandbox.iid("full")
    app = find_application(staff, iid)["id"]
    client = embed_client(portal.url, "acme", iid, user="linkie")
    url = _links(client, iid, app)
    assert requests.get(portal.url + url, timeout=10).status_code == 200
    assert client.post("/api/v1/embed/session/revoke").status_code == 200
    _ended(requests.get(portal.url + url, timeout=10))


def test_an_embed_link_ends_when_the_embed_session_expires(sandbox):
    clock = Clock()
    short = ServerThread(
        create_app(portal_config(sandbox, CLOCK=clock, EMBED_SESSION_TTL=60))
    ).start()
    try:
        iid = sandbox.iid("full")
        staff = sign_in(short.url)
        app = find_application(staff, iid)["id"]
        client = embed_client(short.url, "acme", iid)
        clock.advance(20)
        listing = client.get(f"/api/v1/integrations/{iid}/applications/{app}/attachments").json()
        # The page is told the links last as long as the session (it refreshes before that).
        assert 30 <= listing["download_expires_in"] <= 40
        url = listing["attachments"][0]["download_url"]
        assert requests.get(short.url + url, timeout=10).status_code == 200
        clock.advance(41)  # the session is over; the link's own 300 s are not
        _ended(requests.get(short.url + url, timeout=10))
    finally:
        short.stop()


def test_a_junk_bearer_does_not_skip_the_csrf_check(portal):
    client = sign_in(portal.url)
    resp = client.http.post(
        client.url("/signout"),
        headers={"Authorization": "Bearer junk", "Accept": "application/json"},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_invalid"
    assert client.get("/api/v1/me").status_code == 200  # still signed in


def test_a_routing_redirect_never_names_the_clients_host(portal):
    for path, to in (("/i//x", "/i/x"), ("//i//x?q=1", "/i/x?q=1")):
        resp = requests.get(
            portal.url + path, headers={"Host": "evil.example"}, timeout=10, allow_redirects=False
        )
        assert (resp.status_code, resp.headers.get("Location")) == (308, to)


def test_trusted_hosts_refuse_another_host(sandbox):
    app = create_app(portal_config(sandbox, TRUSTED_HOSTS="portal.example, localhost"))
    client = app.test_client()
    assert client.get("/healthz", base_url="http://portal.example").status_code == 200
    for path in ("/healthz", "/", "/i//x"):
        resp = client.get(path, base_url="http://evil.example")
        assert resp.status_code == 400 and resp.json["error"]["code"] == "host_not_served"
