"""Throttles: failed sign-ins, the embed exchange, the JSON API; counted in the shared store.

Flask-Limiter does the bookkeeping (limit strings, per-route keys, conditional deduction,
429 with Retry-After). Its counters live in our `Store` through `StoreStorage` below,
whatever the deployment: Flask-Limiter's own memory storage would give each gunicorn
worker its own counters (N workers, N times the budget), and one code path over the store
every worker already shares (memory for one process, SQLite for one machine, Redis for
several) keeps one place to look and one key prefix.

Limits (configurable, Flask-Limiter's notation):
- SIGNIN_FAILURE_LIMIT per account and per client address: every attempt is charged up front
  (atomically), and refunded unless the password was checked and wrong;
- EMBED_EXCHANGE_LIMIT per partner (whose secret signed the token; unsigned ones per address);
- API_LIMIT per session (staff cookie or embed bearer).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from flask import Flask, Response, current_app, request
from flask_babel import LazyString, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RequestLimit
from limits.storage import Storage
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import tokens
from portal.errors import PortalError
from portal.i18n import N_
from portal.security import json_body
from portal.state import Store


class StoreStorage(Storage):
    """A `limits` storage over our Store (fixed windows: `incr` with expiry)."""

    STORAGE_SCHEME = ["portal"]

    def __init__(self, uri: str | None = None, *, store: Store, **options: Any) -> None:
        super().__init__(uri, **options)
        self.store = store

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (OSError,)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if amount < 0:  # a refund (see `refund`): counted apart, so the hit stays one atomic incr
            left = max(1.0, self.get_expiry(key) - time.time())
            for _ in range(-amount):
                self.store.incr("limit-refund:" + key, left)
            return self.get(key)
        count = 0
        for _ in range(amount):
            count = self.store.incr("limit:" + key, expiry)
        if count == amount:  # this call opened the window: remember when it closes
            self.store.put("limit-until:" + key, json.dumps(time.time() + expiry), expiry)
        return count - self._refunds(key)

    def _refunds(self, key: str) -> int:
        value = self.store.get("limit-refund:" + key)
        return int(value) if value is not None else 0

    def get(self, key: str) -> int:
        value = self.store.get("limit:" + key)
        return (int(value) if value is not None else 0) - self._refunds(key)

    def get_expiry(self, key: str) -> float:
        value = self.store.get("limit-until:" + key)
        return float(value) if value is not None else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return None

    def clear(self, key: str) -> None:
        for prefix in ("limit:", "limit-until:", "limit-refund:"):
            self.store.release(prefix + key)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def client_address() -> str:
    """The client's address (PROXY_HOPS > 0: from X-Forwarded-For, set by our own proxies only;
    a client's own X-Forwarded-For is never believed, or it could pick its throttle bucket)."""
    return request.remote_addr or "unknown"


def _account() -> str:
    return "acct:" + _digest(str(request.form.get("email", "")).strip().lower())


def _address() -> str:
    return "addr:" + client_address()


def _partner() -> str:
    try:
        body = json_body()
    except PortalError:
        body = None  # the view answers the bad body; it still counts against the address
    token = body.get("token") if isinstance(body, dict) else None
    partner = tokens.signed_partner(token)
    return f"partner:{partner}" if partner else f"unsigned:{client_address()}"


def _session() -> str:
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        return "bearer:" + _digest(bearer)
    cookie = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"], "")
    return "cookie:" + _digest(cookie)


def _no_credentials() -> bool:
    name = current_app.config["SESSION_COOKIE_NAME"]
    return not (request.headers.get("Authorization") or request.cookies.get(name))


def refund() -> None:
    """Give back what this request was charged (a sign-in that succeeded, or whose form was not
    even checked): only wrong passwords count.

    Every attempt is charged before the password is checked, in one atomic increment, so a
    burst of parallel guesses cannot all pass the check before any is counted (which charging
    afterwards, Flask-Limiter's `deduct_when`, would allow)."""
    limiter: Limiter = current_app.extensions["portal.limiter"]
    for charged in limiter.current_limits:
        limiter.storage.incr(charged.key, charged.limit.get_expiry(), amount=-1)


def _too_many(limit: RequestLimit) -> Response | None:
    """The 429 in plain words (a page for the sign-in form, JSON for the API)."""
    retry = max(1, int(limit.reset_at - time.time()))
    raise PortalError(
        429,
        "too_many_requests",
        _l(_MESSAGES.get(request.endpoint or "", _MESSAGES[""]), wait=_wait_words(retry)),
        retry_after=retry,
    )


# msgids, translated where the error is made (N_: marked for pybabel, looked up later).
_MESSAGES = {
    "auth.signin": N_(
        "Too many failed sign-ins. Wait %(wait)s and try again, "
        "or ask your administrator to check your account."
    ),
    "api.embed_session": N_("Too many sessions were started for this partner. Wait %(wait)s."),
    "api.revoke_embed_sessions": N_("Too many calls from this partner. Wait %(wait)s."),
    "": N_("Too many requests in a short time. Wait %(wait)s and try again."),
}


def _wait_words(seconds: int) -> LazyString:
    if seconds > 50:
        return _l("a minute")
    return lazy_ngettext("%(num)d second", "%(num)d seconds", seconds)


def init_app(app: Flask) -> None:
    """A Limiter for this app on the shared store, and the limits on their views."""
    hops = int(app.config["PROXY_HOPS"])
    if hops:  # behind nginx: the client is the address the nearest `hops` proxies saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=0, x_host=0)  # type: ignore[method-assign]
    limiter = Limiter(
        key_func=client_address,
        storage_uri="portal://",
        storage_options={"store": app.extensions["portal.state"]},
        # Retry-After is set on the 429 itself (errors.render_error); Flask-Limiter's headers
        # would put a Retry-After on every answer of a limited route.
        headers_enabled=False,
        key_prefix="portal",
    )
    limiter.init_app(app)
    app.extensions["portal.limiter"] = limiter
    views: Any = app.view_functions  # Flask-Limiter's decorator types do not fit Flask's
    cfg = app.config
    signin = views["auth.signin"]
    # Per account: a few guesses. Per address: more, since an office behind one NAT shares it
    # and every attempt is charged before its password is checked (a morning's burst of
    # colleagues signing in at once must fit); it still stops spraying guesses at many accounts.
    for key, limit in ((_account, "SIGNIN_FAILURE_LIMIT"), (_address, "SIGNIN_ADDRESS_LIMIT")):
        signin = limiter.limit(
            cfg[limit],
            key_func=key,
            methods=["POST"],
            on_breach=_too_many,
            scope="signin-" + key.__name__,
        )(signin)
    views["auth.signin"] = signin
    # Partner calls (the exchange, and the backend's revoke-all) count per partner.
    for endpoint in _PARTNER_CALLS:
        views[endpoint] = limiter.limit(
            cfg["EMBED_EXCHANGE_LIMIT"], key_func=_partner, on_breach=_too_many, scope="partner"
        )(views[endpoint])
    for endpoint, view in list(views.items()):
        if endpoint.startswith("api.") and endpoint not in (*_PARTNER_CALLS, "api.download"):
            views[endpoint] = limiter.limit(
                cfg["API_LIMIT"],
                key_func=_session,
                exempt_when=_no_credentials,
                on_breach=_too_many,
                scope="api",
            )(view)


_PARTNER_CALLS = ("api.embed_session", "api.revoke_embed_sessions")
