"""Who may do what.

A request is made by a *principal*: a staff member signed in with a cookie
session (every configured integration), or an embed session (one partner user,
one integration, maybe one locked application, a scope), carried as a bearer
token because cookies in cross-site iframes are blocked (Safari) or partitioned
(Firefox). What a principal may touch comes only from the principal; ids in a
request are selectors that get checked against it.

Staff sessions live in the shared store (`portal.state`): the cookie holds only a random
id, so signing out ends the session on every worker and machine, and the idle and absolute
timeouts are the server's. The tokens (embed, session, download) are in `portal.tokens`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import flask_babel
from flask import Flask, Request, Response, current_app, g, request, session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSession, SessionInterface
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import check_password_hash

from portal import tokens
from portal.errors import STORE_ERRORS, PortalError, store_unavailable
from portal.state import get_store
from portal.tokens import SCOPES

log = logging.getLogger(__name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])
EXPIRED_PAGE = _l("This page expired. Reload it and try again.")


@dataclass(frozen=True)
class Principal:
    """Who is asking, and what they may touch."""

    kind: str  # "staff" or "embed"
    subject: str
    integrations: frozenset[str]
    scopes: frozenset[str] = SCOPES
    application_id: str | None = None
    partner: str | None = None
    parent_origin: str | None = None
    expires_at: float | None = None
    embed: tokens.EmbedSession | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def may_use(self, integration_id: str) -> bool:
        """True if this principal may act on that integration."""
        return integration_id in self.integrations

    def may_open(self, application_id: str) -> bool:
        """True if this principal may act on that application (locked embeds: only theirs)."""
        return self.application_id is None or self.application_id == application_id

    def may_see_file_of(self, owner: str | None) -> bool:
        """True if a file owned by `owner` (an application id, None: the candidate's profile)
        may be shown: a locked session sees its application's and the profile's only."""
        return self.application_id is None or owner in (None, self.application_id)


# -- resolving the principal -------------------------------------------------


def current_principal() -> Principal | None:
    """The principal of this request, resolved once (a bad bearer token raises PortalError)."""
    if "principal" not in g:
        g.principal = _resolve()
        if g.principal is not None and g.principal.embed and g.principal.embed.locale:
            flask_babel.refresh()  # the partner chose the language: answer in it from now on
    return g.principal


def shown_principal() -> Principal | None:
    """For templates: the principal if it can be resolved, else None; never raises, so an
    error page never fails again on what made the request fail."""
    try:
        return current_principal()
    except Exception:  # noqa: BLE001 - an error page must render whatever failed before it
        return None


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def _resolve() -> Principal | None:
    token = _bearer()
    if token is not None:
        s = tokens.read_session_token(token)
        return Principal(
            "embed",
            s.user,
            frozenset([s.integration_id]),
            s.scopes,
            application_id=s.application_id,
            partner=s.partner,
            parent_origin=s.parent_origin,
            expires_at=s.expires_at,
            embed=s,
        )
    email = session.get("staff")
    stored = current_app.config["STAFF_ACCOUNTS"].get(email) if email else None
    # A removed account, or a changed password, ends the sessions started before.
    if stored is None or session.get("credential") != _credential(stored):
        return None
    return Principal("staff", str(email), frozenset(current_app.config["INTEGRATIONS"]))


def _credential(password_hash: str) -> str:
    """Which password a session was started with (keyed, so the record does not hold the hash)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def require(scope: str | None = None) -> Callable[[F], F]:
    """View decorator: a principal is required (and the scope, if given). The view gets the
    principal as its first argument, and `iid` checked against it (404 if not theirs)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise PortalError(401, "sign_in_required", _l("Please sign in."))
            if scope and scope not in principal.scopes:
                raise PortalError(403, "scope_missing", _l("Your session does not allow this."))
            if "iid" in kwargs:
                kwargs["iid"] = integration_for(principal, kwargs["iid"])
            return view(principal, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def integration_for(principal: Principal, integration_id: str) -> str:
    """The integration id if the principal may use it; 404 otherwise (no leak of existence)."""
    configured = current_app.config["INTEGRATIONS"]
    if integration_id not in configured or not principal.may_use(integration_id):
        raise PortalError(
            404, "not_found", _l("That ATS connection does not exist or you have no access to it.")
        )
    return integration_id


# -- links bound to their session ----------------------------------------------

LINK_ENDED = _l(
    "This link stopped working because the session that opened it has ended. "
    "Sign in again (or open the page from the partner app again) and reload the list."
)
_DIGEST = re.compile(r"[0-9a-f]{64}")


def link_holder(principal: Principal) -> list[Any]:
    """What a download or preview link carries of the session it was made for.

    A link is a grant without credentials (an <a> or <img> sends no bearer header), so it
    must end when its session does, on every instance: staff links carry a hash of the
    session id (its store key, never the cookie), embed links what `tokens` needs to tell
    whether the embed session is still alive (expiry, revocation, the partner's secret)."""
    s = principal.embed
    if s is not None:
        return [
            "e",
            s.session_id,
            s.partner,
            s.user,
            s.issued_at,
            s.expires_at,
            s.fingerprint,
            s.integration_id,
        ]
    if not isinstance(session, StoreSession):
        raise RuntimeError("staff links need the server-side sessions of access.init_app")
    if session.sid is None:  # not saved yet: give it its id now (saved with this answer)
        session.sid, session.modified = secrets.token_urlsafe(32), True
    return ["s", _sid_digest(session.sid)]


def link_lifetime(principal: Principal | None) -> int:
    """Seconds a link made now works: its own TTL, or less if its (embed) session ends sooner.

    The page refreshes its list a margin before this (attachments.js), so after an embed
    session is renewed the links in view are the new session's before the old one ends."""
    ttl = int(current_app.config["DOWNLOAD_URL_TTL"])
    if principal is not None and principal.embed is not None:
        ttl = min(ttl, max(0, int(principal.embed.expires_at - tokens.now())))
    return ttl


def check_link_holder(holder: Any) -> None:
    """Refuse (410 link_session_ended) a link whose session has ended; 503 without the store."""
    try:
        alive = _holder_alive(holder)
    except STORE_ERRORS:
        raise store_unavailable() from None
    if not alive:
        raise PortalError(410, "link_session_ended", LINK_ENDED)


def _holder_alive(holder: Any) -> bool:
    if not isinstance(holder, list) or not holder:
        return False
    if holder[0] == "s" and len(holder) == 2 and isinstance(holder[1], str):
        return _DIGEST.fullmatch(holder[1]) is not None and _staff_record_alive(holder[1])
    if holder[0] != "e" or len(holder) != 8:
        return False
    try:
        embed = tokens.EmbedSession(
            partner=str(holder[2]),
            integration_id=str(holder[7]),
            application_id=None,
            scopes=frozenset(),
            user=str(holder[3]),
            parent_origin=None,
            issued_at=float(holder[4]),
            expires_at=float(holder[5]),
            session_id=str(holder[1]),
            fingerprint=str(holder[6]),
        )
        tokens.check_session_alive(embed)
    except (TypeError, ValueError):
        return False
    except PortalError as refused:
        if refused.status >= 500:
            raise
        return False
    return True


def _staff_record_alive(digest: str) -> bool:
    """Whether the staff session stored under this key is one `_resolve` would accept."""
    raw = get_store().get("session:" + digest)
    if raw is None:
        return False
    try:
        data = StoreSessionInterface.serializer.loads(raw)
    except ValueError:
        return False
    email = data.get("staff") if isinstance(data, dict) else None
    stored = current_app.config["STAFF_ACCOUNTS"].get(email) if isinstance(email, str) else None
    return (
        stored is not None
        and data.get("credential") == _credential(stored)
        and _staff_alive(current_app, data)
    )


# -- CSRF ---------------------------------------------------------------------

# Views that check their form's CSRF token themselves (to answer on the form).
_OWN_CSRF = {"auth.signin"}


def _check_csrf() -> None:
    """Writes authenticated by the staff cookie need the CSRF token (a bearer is not ambient).

    Only a valid bearer skips it: any `Bearer junk` header would otherwise let a cookie
    write through unchecked; a bad one is refused here (401), before any view runs."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if _bearer() is not None:
        current_principal()  # raises PortalError (401) unless the bearer is a live session
        return
    if request.endpoint in _OWN_CSRF or not session.get("staff"):
        return  # nothing the cookie authenticates: the view refuses or needs no session
    try:
        csrf.protect()
    except CSRFError:
        raise PortalError(400, "csrf_failed", EXPIRED_PAGE) from None


def _refuse_without_store() -> None:
    """A session that could not be read is a clear 503, not a silent sign-out or a 500."""
    if getattr(session, "unavailable", False):
        raise store_unavailable()


def _refuse_cross_site() -> None:
    """Fetch Metadata: no unsafe request may come from another site (CSRF defence in depth)."""
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and request.headers.get("Sec-Fetch-Site") == "cross-site"
    ):
        raise PortalError(
            403, "cross_site_refused", _l("Requests from other sites are not accepted.")
        )


# -- staff sign-in ------------------------------------------------------------


def check_password(email: str, password: str) -> str | None:
    """The normalised account if the credentials are right; None otherwise.

    An unknown account is hashed against a dummy, so the time taken does not tell which
    part was wrong. Guessing is bounded by the throttle (portal.throttle), not by sleeping."""
    account = email.strip().lower()
    stored = current_app.config["STAFF_ACCOUNTS"].get(account)
    ok = check_password_hash(stored or _DUMMY_HASH, password)
    return account if ok and stored is not None else None


def sign_in(email: str, password: str) -> bool:
    """Check staff credentials and start a fresh session under a new id."""
    account = check_password(email, password)
    if account is None:
        return False
    session.clear()
    if isinstance(session, StoreSession):
        session.regenerate()  # a new id on privilege change: a planted id is worth nothing
    t = tokens.now()
    credential = _credential(current_app.config["STAFF_ACCOUNTS"][account])
    session.update(staff=account, credential=credential, auth_time=t, last_seen=t)
    session.permanent = True
    return True


def sign_out() -> None:
    """End the staff session: its record is deleted from the shared store, and whatever the
    browser keeps afterwards (a flash message) lives under a new id."""
    session.clear()
    if isinstance(session, StoreSession):
        session.regenerate()


_DUMMY_HASH = (
    "scrypt:32768:8:1$dummydummydummy$"
    "5e1f9e1c7c4b0b2f6f0a3c0b2bfa8cc1b0f25e4e49b0a1f9b1d7b0f3b2a1c0d9"
    "e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7"
)


# -- server-side sessions -----------------------------------------------------

_SID = re.compile(r"[A-Za-z0-9_-]{32,64}")
_TOUCH_EVERY = 60  # seconds between rewrites of last_seen (not one store write per request)


class StoreSession(SecureCookieSession):
    """A session whose data lives in the shared store under a random id."""

    def __init__(self, initial: Any = None, sid: str | None = None) -> None:
        super().__init__(initial)
        self.sid = sid
        self.old_sid: str | None = None
        self.unavailable = False

    def regenerate(self) -> None:
        """Drop the current id: the next save writes under a new one and deletes the old."""
        if self.sid is not None:
            self.old_sid, self.sid = self.sid, None
        self.modified = True


def session_key(sid: str) -> str:
    """The store key of a session id (hashed: a look at the store reveals no live cookie)."""
    return "session:" + _sid_digest(sid)


def _sid_digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class StoreSessionInterface(SessionInterface):
    """Server-side sessions on `get_store()`; the cookie is an opaque random id.

    Written by hand rather than with Flask-Session: ours is ~60 lines over the store every
    worker already shares (memory, SQLite or Redis), with the staff timeouts checked where
    the record is read; Flask-Session would bring a second Redis/SQL configuration to keep
    in step, and does not enforce an absolute lifetime."""

    serializer = TaggedJSONSerializer()

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure everywhere but on localhost (plain HTTP there for development)."""
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        return host not in ("localhost", "127.0.0.1", "::1")

    def open_session(self, app: Flask, request: Request) -> StoreSession:
        sid = request.cookies.get(self.get_cookie_name(app), "")
        if not _SID.fullmatch(sid):
            return StoreSession()
        try:
            raw = get_store().get(session_key(sid))
        except STORE_ERRORS:
            log.warning("session store unreachable", exc_info=True)
            unavailable = StoreSession()
            unavailable.unavailable = True  # refused in _refuse_without_store, never saved
            return unavailable
        if raw is None:
            return StoreSession()
        try:
            data = self.serializer.loads(raw)
        except ValueError:
            return StoreSession()
        s = StoreSession(data, sid)
        if "staff" in s and not _staff_alive(app, s):
            s.clear()  # the record is deleted on save; the user signs in again
            s.sid, s.old_sid = None, sid
        return s

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not isinstance(session, StoreSession) or session.unavailable:
            return
        try:
            self._save(app, session, response)
        except STORE_ERRORS:
            # Too late to change the answer: it goes out without a cookie (the next request
            # meets the store's state, or a clear 503); never a bare 500.
            log.warning("session not saved: store unreachable", exc_info=True)

    def _save(self, app: Flask, session: StoreSession, response: Response) -> None:
        store = get_store()
        name, domain, path = (
            self.get_cookie_name(app),
            self.get_cookie_domain(app),
            self.get_cookie_path(app),
        )
        if session.old_sid is not None:
            store.release(session_key(session.old_sid))
        if not session:
            if session.sid is not None:
                store.release(session_key(session.sid))
            if session.modified or session.old_sid is not None:
                response.delete_cookie(name, domain=domain, path=path)
            return
        t = tokens.now()
        touch = "staff" in session and t - session.get("last_seen", 0) > _TOUCH_EVERY
        if touch:
            session["last_seen"] = t
        if not (session.modified or touch or session.sid is None):
            return
        if session.sid is None:
            session.sid = secrets.token_urlsafe(32)
        store.put(
            session_key(session.sid), self.serializer.dumps(dict(session)), _ttl(app, session)
        )
        response.set_cookie(
            name,
            session.sid,
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=domain,
            path=path,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")


def _staff_alive(app: Flask, s: Any) -> bool:
    t = tokens.now()
    cfg = app.config
    return (
        t - s.get("auth_time", 0) <= cfg["STAFF_ABSOLUTE_TIMEOUT"]
        and t - s.get("last_seen", 0) <= cfg["STAFF_IDLE_TIMEOUT"]
    )


def _ttl(app: Flask, s: StoreSession) -> float:
    """How long the store keeps the record: the idle timeout, never past the absolute one."""
    cfg = app.config
    idle = float(cfg["STAFF_IDLE_TIMEOUT"])
    if "staff" not in s:
        return idle
    left = float(cfg["STAFF_ABSOLUTE_TIMEOUT"]) - (tokens.now() - s.get("auth_time", 0))
    return max(1.0, min(idle + _TOUCH_EVERY, left))


# -- wiring -----------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Server-side sessions, and CSRF for cookie sessions (checked only when the cookie is
    what authenticates)."""
    app.session_interface = StoreSessionInterface()
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(_refuse_without_store)
    app.before_request(_refuse_cross_site)
    app.before_request(_check_csrf)
    app.jinja_env.globals["current_principal"] = shown_principal
