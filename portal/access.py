"""Who may do what.

A request is made by a *principal*: a staff member signed in with a cookie
session (every configured integration), or an embed session (one partner user,
one integration, maybe one locked application, a scope), carried as a bearer
token because cookies in cross-site iframes are blocked (Safari) or partitioned
(Firefox). What a principal may touch comes only from the principal; ids in a
request are selectors that get checked against it.

Token formats:
- embed token: a JWT (HS256) a partner's backend signs with its secret; at most
  10 minutes long, used once (its `jti` is claimed in the shared store).
- session token: our own signed, timed token (itsdangerous) returned by the exchange.
- download URL: our own signed, timed token naming one attachment.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import jwt
from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import PortalError
from portal.kombo import is_kombo_id
from portal.state import get_store

AUDIENCE = "attachment-portal"
SCOPES = frozenset({"upload", "list", "download"})
MAX_EMBED_TTL = 600
LEEWAY = 30
MAX_TOKEN_BYTES = 8192

csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


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

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def may_use(self, integration_id: str) -> bool:
        """True if this principal may act on that integration."""
        return integration_id in self.integrations

    def may_open(self, application_id: str) -> bool:
        """True if this principal may act on that application (locked embeds: only theirs)."""
        return self.application_id is None or self.application_id == application_id


# -- resolving the principal -------------------------------------------------


def current_principal() -> Principal | None:
    """The principal of this request, resolved once."""
    if "principal" not in g:
        g.principal = _resolve()
    return g.principal


def _resolve() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return read_session_token(header[7:].strip())
    email = session.get("staff")
    if not email or email not in current_app.config["STAFF_ACCOUNTS"]:
        return None
    now = time.time()
    cfg = current_app.config
    if (
        now - session.get("auth_time", 0) > cfg["STAFF_ABSOLUTE_TIMEOUT"]
        or now - session.get("last_seen", 0) > cfg["STAFF_IDLE_TIMEOUT"]
    ):
        session.clear()
        return None
    if now - session.get("last_seen", 0) > 60:  # don't rewrite the cookie on every request
        session["last_seen"] = now
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _protect_csrf()
    return Principal("staff", email, frozenset(cfg["INTEGRATIONS"]))


def _protect_csrf() -> None:
    try:
        csrf.protect()
    except CSRFError as exc:
        raise PortalError(
            400,
            "csrf_failed",
            "Your page has expired or the request did not come from the portal. Reload and try again.",
        ) from exc


def require(scope: str | None = None) -> Callable[[F], F]:
    """View decorator: a principal is required (and the scope, if given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise PortalError(401, "sign_in_required", "Please sign in.")
            if scope and scope not in principal.scopes:
                raise PortalError(403, "scope_missing", "Your session does not allow this.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def integration_for(principal: Principal, integration_id: str) -> str:
    """The integration id if the principal may use it; 404 otherwise (no leak of existence)."""
    configured = current_app.config["INTEGRATIONS"]
    if integration_id not in configured or not principal.may_use(integration_id):
        raise PortalError(
            404, "not_found", "That ATS connection does not exist or you have no access to it."
        )
    return integration_id


# -- staff sign-in ------------------------------------------------------------


def sign_in(email: str, password: str) -> bool:
    """Check staff credentials and start a fresh session; slow and vague on failure."""
    from werkzeug.security import check_password_hash

    accounts = current_app.config["STAFF_ACCOUNTS"]
    stored = accounts.get(email.strip().lower())
    # Hash even for unknown accounts so timing does not tell which part was wrong.
    ok = check_password_hash(stored or _DUMMY_HASH, password) and stored is not None
    if not ok:
        time.sleep(0.5 + secrets.randbelow(500) / 1000)
        return False
    session.clear()  # a new session on privilege change
    now = time.time()
    session.update(staff=email.strip().lower(), auth_time=now, last_seen=now)
    session.permanent = True
    return True


_DUMMY_HASH = (
    "scrypt:32768:8:1$dummydummydummy$"
    "5e1f9e1c7c4b0b2f6f0a3c0b2bfa8cc1b0f25e4e49b0a1f9b1d7b0f3b2a1c0d9"
    "e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7"
)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure everywhere but on localhost."""

    def get_cookie_secure(self, app: Flask) -> bool:
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        return host not in ("localhost", "127.0.0.1", "::1")


# -- embed tokens (minted by partners) ------------------------------------------


def mint_embed_token(
    partner_id: str,
    integration_id: str,
    *,
    secret: str,
    application_id: str | None = None,
    user: str | None = None,
    scope: list[str] | None = None,
    ttl: int = 300,
    parent_origin: str | None = None,
) -> str:
    """What a partner's backend does: sign a short-lived embed token (also `portal embed-token`)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": partner_id,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + min(ttl, MAX_EMBED_TTL),
        "jti": secrets.token_urlsafe(16),
        "integration_id": integration_id,
        "scope": scope or sorted(SCOPES),
    }
    if application_id:
        claims["application_id"] = application_id
    if user:
        claims["sub"] = user
    if parent_origin:
        claims["parent_origin"] = parent_origin
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_embed_token(
    token: str, partners: dict[str, Any], integrations: list[str]
) -> dict[str, Any]:
    """Check a partner's embed token completely; raise PortalError(401/403) if anything is off."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
        raise _token_refused("The embed token is missing or malformed.")
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise _token_refused("The embed token is malformed.") from None
    partner = partners.get(issuer) if isinstance(issuer, str) else None
    if partner is None:
        raise _token_refused("The embed token names an unknown partner.")
    claims = _decode_with_any(token, issuer, partner["secrets"])
    _check_claims(claims, partner, integrations)
    return claims


def _decode_with_any(token: str, issuer: str, keys: list[str]) -> dict[str, Any]:
    """Verify against each of the partner's secrets (two during a rotation)."""
    expired = False
    for key in keys:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "jti", "integration_id"]},
            )
        except jwt.ExpiredSignatureError:
            expired = True
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise _token_refused(f"The embed token is invalid ({exc}).") from None
    if expired:
        raise _token_refused(
            "The embed token has expired. Ask the partner app for a new one.", "token_expired"
        )
    raise _token_refused("The embed token's signature is wrong.")


def _check_claims(claims: dict[str, Any], partner: dict[str, Any], integrations: list[str]) -> None:
    now = time.time()
    if not isinstance(claims["iat"], int | float) or claims["exp"] - claims["iat"] > MAX_EMBED_TTL:
        raise _token_refused("The embed token lives longer than 10 minutes.")
    if claims["exp"] > now + MAX_EMBED_TTL + LEEWAY or claims["iat"] > now + LEEWAY:
        raise _token_refused("The embed token is dated in the future.")
    iid = claims["integration_id"]
    if iid not in partner.get("integrations", []) or iid not in integrations:
        raise _token_refused("This partner may not use that ATS connection.", status=403)
    app_id = claims.get("application_id")
    if app_id is not None and not is_kombo_id(app_id):
        raise _token_refused("The embed token's application id is malformed.")
    scope = claims.get("scope", sorted(SCOPES))
    if not isinstance(scope, list) or not scope or not set(scope) <= SCOPES:
        raise _token_refused("The embed token's scope is invalid.")
    origin = claims.get("parent_origin")
    if origin is not None and origin not in partner.get("origins", []):
        raise _token_refused(
            "The embed token's parent origin is not one of the partner's.", status=403
        )
    if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 128:
        raise _token_refused("The embed token's id is invalid.")


def _token_refused(message: str, code: str = "token_invalid", status: int = 401) -> PortalError:
    return PortalError(status, code, message)


def exchange_embed_token(token: str, partner: str | None = None) -> dict[str, Any]:
    """Trade a partner's embed token (once) for a session token the page keeps in memory.

    `partner` is the embed page's ?partner= (which chose the frame-ancestors): the token must be theirs.
    """
    cfg = current_app.config
    claims = verify_embed_token(token, cfg["PARTNERS"], cfg["INTEGRATIONS"])
    if partner is not None and claims["iss"] != partner:
        raise _token_refused("This embed token belongs to another partner.", status=403)
    ttl_left = max(claims["exp"] - time.time(), 0) + LEEWAY
    if not get_store().claim(f"jti:{claims['iss']}:{claims['jti']}", ttl_left):
        raise _token_refused(
            "This embed token was already used. Ask the partner app for a new one.",
            "token_replayed",
        )
    partner = cfg["PARTNERS"][claims["iss"]]
    expires_in = int(cfg["EMBED_SESSION_TTL"])
    payload = {
        "p": claims["iss"],
        "i": claims["integration_id"],
        "a": claims.get("application_id"),
        "s": sorted(claims.get("scope", sorted(SCOPES))),
        "u": str(claims.get("sub") or "partner user")[:200],
        "o": claims.get("parent_origin") or (partner.get("origins") or [None])[0],
        "x": time.time() + expires_in,
    }
    return {
        "session_token": _serializer("embed-session").dumps(payload),
        "expires_in": expires_in,
        "integration_id": payload["i"],
        "application_id": payload["a"],
        "scope": payload["s"],
        "parent_origin": payload["o"],
    }


def read_session_token(token: str) -> Principal:
    """The embed principal a session token stands for; 401 if it is forged or expired."""
    cfg = current_app.config
    try:
        data = _serializer("embed-session").loads(token, max_age=cfg["EMBED_SESSION_TTL"])
    except SignatureExpired:
        raise _token_refused("Your session has expired.", "session_expired") from None
    except BadSignature:
        raise _token_refused("Your session is not valid.", "session_invalid") from None
    partner = cfg["PARTNERS"].get(data.get("p"))
    # A partner removed from configuration, or no longer allowed this integration, loses access now.
    if partner is None or data.get("i") not in partner.get("integrations", []):
        raise _token_refused("Your session is not valid.", "session_invalid")
    return Principal(
        "embed",
        data["u"],
        frozenset([data["i"]]),
        frozenset(data["s"]),
        application_id=data.get("a"),
        partner=data["p"],
        parent_origin=data.get("o"),
        expires_at=data.get("x"),
    )


# -- download URLs --------------------------------------------------------------


def download_token(integration_id: str, candidate_id: str, attachment_id: str) -> str:
    """A short-lived signed grant for one attachment (links cannot carry a bearer header)."""
    return _serializer("download").dumps([integration_id, candidate_id, attachment_id])


def read_download_token(token: str) -> tuple[str, str, str]:
    """The (integration, candidate, attachment) a download token grants; 404/410 otherwise."""
    try:
        iid, cid, aid = _serializer("download").loads(
            token, max_age=current_app.config["DOWNLOAD_URL_TTL"]
        )
    except SignatureExpired:
        raise PortalError(
            410, "link_expired", "This download link has expired. Reload the list and try again."
        ) from None
    except (BadSignature, ValueError, TypeError):
        raise PortalError(404, "not_found", "This download link is not valid.") from None
    if iid not in current_app.config["INTEGRATIONS"]:
        raise PortalError(404, "not_found", "This download link is not valid.")
    return iid, cid, aid


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")


# -- wiring -----------------------------------------------------------------------


def _refuse_cross_site() -> None:
    """Fetch Metadata: no unsafe request may come from another site (CSRF defence in depth)."""
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and request.headers.get("Sec-Fetch-Site") == "cross-site"
    ):
        raise PortalError(403, "cross_site_refused", "Requests from other sites are not accepted.")


def init_app(app: Flask) -> None:
    """CSRF for cookie sessions (checked by us, only when the cookie is what authenticates)."""
    app.session_interface = SessionInterface()
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(_refuse_cross_site)
    app.jinja_env.globals["current_principal"] = current_principal
