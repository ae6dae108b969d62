"""The tokens the portal reads: partners' embed tokens, our session tokens, our download links.

- embed token: a JWT (HS256) a partner's backend signs with its secret; at most 10 minutes
  long, used once (its `jti` is claimed in the shared store). Every claim's type is checked
  before it is used, so a string `exp` is a refusal, not a crash.
- revocation token: the same kind of JWT with audience `attachment-portal/revoke`, which a
  partner's backend sends to end all its sessions (or one user's) at once.
- session token: our own signed token (itsdangerous) returned by the exchange. It names the
  partner, the integration, maybe one application, the scope, a random session id and the
  fingerprint of the partner secret that signed the embed token: a session ends when it is
  revoked (its id, or everything of its partner or user before a time) or when that secret is
  no longer configured (rotation).
- download link: our own signed token naming one attachment, and the application a locked
  session is limited to.

Times come from `now()`, which tests may replace (config CLOCK) instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal import i18n
from portal.errors import PortalError
from portal.kombo import is_kombo_id
from portal.state import get_store

AUDIENCE = "attachment-portal"
REVOKE_AUDIENCE = "attachment-portal/revoke"
SCOPES = frozenset({"upload", "list", "download"})
MAX_EMBED_TTL = 600
LEEWAY = 30
MAX_TOKEN_BYTES = 8192


def now() -> float:
    """The current time (config CLOCK, a callable, lets tests move it instead of sleeping)."""
    clock: Callable[[], float] | None = current_app.config.get("CLOCK")
    return clock() if clock is not None else time.time()


def _refused(
    message: str | LazyString, code: str = "token_invalid", status: int = 401
) -> PortalError:
    return PortalError(status, code, message)


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
    locale: str | None = None,
) -> str:
    """What a partner's backend does: sign a short-lived embed token (also `portal embed-token`)."""
    issued = int(time.time())
    claims: dict[str, Any] = {
        "iss": partner_id,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + min(ttl, MAX_EMBED_TTL),
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
    if locale:
        claims["locale"] = locale
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_revoke_token(partner_id: str, *, secret: str, user: str | None = None) -> str:
    """What a partner's backend sends to end its sessions: all of them, or one user's (`sub`)."""
    issued = int(time.time())
    claims: dict[str, Any] = {
        "iss": partner_id,
        "aud": REVOKE_AUDIENCE,
        "iat": issued,
        "exp": issued + 60,
        "jti": secrets.token_urlsafe(16),
    }
    if user:
        claims["sub"] = user
    return jwt.encode(claims, secret, algorithm="HS256")


# Times beyond this are no times: floats stop counting whole seconds at 2**53, and an int of
# 400 digits would overflow (OverflowError) in the float arithmetic of the checks.
_MAX_TIME = 2**53


def _number(value: Any) -> bool:
    # Python's JSON reads NaN and Infinity: a NaN exp would pass every comparison.
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and abs(value) < _MAX_TIME
    except OverflowError:  # an int too large for a float is not a finite number of seconds
        return False


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _scope(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) for s in value)


# Claim -> (check, what it must be): checked before any claim is used.
_CLAIM_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "iss": (_text, "a string"),
    "sub": (_text, "a string"),
    "jti": (_text, "a string"),
    "exp": (_number, "a finite number (seconds since 1970)"),
    "iat": (_number, "a finite number (seconds since 1970)"),
    "nbf": (_number, "a finite number (seconds since 1970)"),
    "integration_id": (_text, "a string"),
    "application_id": (_text, "a string"),
    "parent_origin": (_text, "a string"),
    "scope": (_scope, "a list of strings"),
    "locale": (_text, "a string"),
}
_EMBED_REQUIRED = ("exp", "iat", "iss", "aud", "jti", "integration_id")
_REVOKE_REQUIRED = ("exp", "iat", "iss", "aud", "jti")


def verify_embed_token(
    token: Any, partners: dict[str, Any], integrations: list[str]
) -> tuple[dict[str, Any], str]:
    """Check a partner's embed token completely; the claims and the secret that signed it.

    Raises PortalError (401/403) with a code saying which check refused it."""
    claims, key = _verify(token, partners, AUDIENCE, _EMBED_REQUIRED)
    _check_embed_claims(claims, partners[claims["iss"]], integrations)
    return claims, key


def _verify(
    token: Any, partners: dict[str, Any], audience: str, required: tuple[str, ...]
) -> tuple[dict[str, Any], str]:
    """Signature, audience, claim presence and types, and the times; the claims and the key."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
        raise _refused(_l("The embed token is missing or malformed."))
    issuer = _unverified_issuer(token)
    partner = partners.get(issuer) if isinstance(issuer, str) else None
    if partner is None:
        raise _refused(_l("The embed token names an unknown partner."), "token_unknown_partner")
    claims, key = _decode_with_any(token, issuer, partner["secrets"], audience, required)
    for name, (check, words) in _CLAIM_TYPES.items():
        if name in claims and not check(claims[name]):
            raise _refused(
                _l("The embed token's %(claim)s must be %(kind)s.", claim=name, kind=words)
            )
    _check_times(claims)
    if not 8 <= len(claims["jti"]) <= 128:
        raise _refused(_l("The embed token's id (jti) must be 8 to 128 characters."))
    return claims, key


def _unverified_issuer(token: str) -> Any:
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refused(_l("The embed token is malformed.")) from None
    return payload.get("iss") if isinstance(payload, dict) else None


def _decode_with_any(
    token: str, issuer: str, keys: list[str], audience: str, required: tuple[str, ...]
) -> tuple[dict[str, Any], str]:
    """Verify against each of the partner's secrets (two during a rotation)."""
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=audience,
                issuer=issuer,
                # Times are checked by _check_times, after the types, with our clock.
                options={
                    "require": list(required),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise _refused(_l("The embed token is invalid (%(why)s).", why=str(exc))) from None
        return claims, key
    raise _refused(_l("The embed token's signature is wrong."), "token_signature_invalid")


def _check_times(claims: dict[str, Any]) -> None:
    t = now()
    if claims["exp"] + LEEWAY < t:
        raise _refused(
            _l("The embed token has expired. Ask the partner app for a new one."), "token_expired"
        )
    if claims["exp"] - claims["iat"] > MAX_EMBED_TTL:
        raise _refused(
            _l("The embed token lives longer than 10 minutes."), "token_lifetime_too_long"
        )
    if claims["iat"] > t + LEEWAY or claims.get("nbf", t) > t + LEEWAY:
        raise _refused(_l("The embed token is dated in the future."), "token_not_yet_valid")


def _check_embed_claims(
    claims: dict[str, Any], partner: dict[str, Any], integrations: list[str]
) -> None:
    iid = claims["integration_id"]
    if iid not in partner.get("integrations", []) or iid not in integrations:
        raise _refused(
            _l("This partner may not use that ATS connection."), "token_integration_refused", 403
        )
    app_id = claims.get("application_id")
    if app_id is not None and not is_kombo_id(app_id):
        raise _refused(_l("The embed token's application_id is not a Kombo id."))
    scope = claims.get("scope", sorted(SCOPES))
    if not scope or not set(scope) <= SCOPES:
        raise _refused(
            _l("The embed token's scope must list some of: upload, list, download."),
            "token_scope_invalid",
        )
    if "locale" in claims and i18n.known(claims["locale"]) is None:
        raise _refused(
            _l(
                "The embed token's locale must be one of: %(locales)s.",
                locales=", ".join(i18n.LOCALES),
            ),
            "token_locale_invalid",
        )
    origin = claims.get("parent_origin")
    if origin is not None and origin not in partner.get("origins", []):
        raise _refused(
            _l("The embed token's parent origin is not one of the partner's."),
            "token_origin_refused",
            403,
        )


def _claim_once(claims: dict[str, Any]) -> None:
    """Refuse a token whose id was seen before (on any worker or machine: the shared store)."""
    ttl_left = max(claims["exp"] - now(), 0) + LEEWAY
    if not get_store().claim(f"jti:{claims['iss']}:{claims['jti']}", ttl_left):
        raise _refused(
            _l("This embed token was already used. Ask the partner app for a new one."),
            "token_replayed",
        )


def signed_partner(token: Any) -> str | None:
    """The partner whose secret signed this token, or None (for throttling; no claim checks)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        return None
    try:
        issuer = _unverified_issuer(token)
        partner = current_app.config["PARTNERS"].get(issuer) if isinstance(issuer, str) else None
        if partner is None:
            return None
        for key in partner["secrets"]:
            try:
                jwt.decode(
                    token,
                    key,
                    algorithms=["HS256"],
                    options={
                        "verify_aud": False,
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                        "verify_sub": False,
                        "verify_jti": False,
                    },
                )
                return str(issuer)
            except jwt.InvalidSignatureError:
                continue
    except (PortalError, jwt.PyJWTError):
        return None
    return None


def exchange_embed_token(token: Any, partner: str | None = None) -> dict[str, Any]:
    """Trade a partner's embed token (once) for a session token the page keeps in memory.

    `partner` is the embed page's ?partner= (which chose the frame-ancestors): the token must be theirs.
    """
    cfg = current_app.config
    claims, key = verify_embed_token(token, cfg["PARTNERS"], cfg["INTEGRATIONS"])
    if partner is not None and claims["iss"] != partner:
        raise _refused(
            _l("This embed token belongs to another partner."), "token_wrong_partner", 403
        )
    _claim_once(claims)
    config = cfg["PARTNERS"][claims["iss"]]
    expires_in = int(cfg["EMBED_SESSION_TTL"])
    issued = now()
    payload = {
        "p": claims["iss"],
        "i": claims["integration_id"],
        "a": claims.get("application_id"),
        "s": sorted(claims.get("scope", sorted(SCOPES))),
        "u": str(claims.get("sub") or "partner user")[:200],
        "o": claims.get("parent_origin") or (config.get("origins") or [None])[0],
        "l": i18n.known(claims.get("locale")),
        "t": issued,
        "x": issued + expires_in,
        "sid": secrets.token_urlsafe(16),
        "k": _fingerprint(key),
    }
    return {
        "session_token": _serializer("embed-session").dumps(payload),
        "expires_in": expires_in,
        "integration_id": payload["i"],
        "application_id": payload["a"],
        "scope": payload["s"],
        "parent_origin": payload["o"],
        "locale": payload["l"],
    }


def _fingerprint(secret: str) -> str:
    """Which partner secret signed the embed token; keyed, so the token does not hint at it."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()[:24]


# -- embed sessions -------------------------------------------------------------------


@dataclass(frozen=True)
class EmbedSession:
    """What a valid session token stands for."""

    partner: str
    integration_id: str
    application_id: str | None
    scopes: frozenset[str]
    user: str
    parent_origin: str | None
    issued_at: float
    expires_at: float
    session_id: str
    fingerprint: str = ""  # which partner secret signed the embed token it came from
    locale: str | None = None  # the partner's choice of language, if its token said


def _session_refused(message: str | LazyString, code: str) -> PortalError:
    return _refused(message, code)


def read_session_token(token: str) -> EmbedSession:
    """The embed session a token stands for; 401 if it is forged, expired or revoked."""
    cfg = current_app.config
    try:
        # max_age is a backstop on the real clock; the expiry below is the rule.
        data = _serializer("embed-session").loads(token, max_age=cfg["EMBED_SESSION_TTL"] + 60)
    except SignatureExpired:
        raise _session_refused(_l("Your session has expired."), "session_expired") from None
    except BadSignature:
        raise _session_refused(_l("Your session is not valid."), "session_invalid") from None
    try:
        session = EmbedSession(
            partner=str(data["p"]),
            integration_id=str(data["i"]),
            application_id=data.get("a"),
            scopes=frozenset(data["s"]),
            user=str(data["u"]),
            parent_origin=data.get("o"),
            issued_at=float(data["t"]),
            expires_at=float(data["x"]),
            session_id=str(data["sid"]),
            fingerprint=str(data["k"]),
            locale=i18n.known(data.get("l")),
        )
    except (KeyError, TypeError, ValueError):  # signed by us, but in an older format
        raise _session_refused(_l("Your session is not valid."), "session_invalid") from None
    check_session_alive(session)
    return session


def check_session_alive(session: EmbedSession) -> None:
    """Refuse (401) an embed session that expired, was revoked or lost its partner's trust."""
    cfg = current_app.config
    if session.expires_at <= now():
        raise _session_refused(_l("Your session has expired."), "session_expired")
    partner = cfg["PARTNERS"].get(session.partner)
    # A partner removed from configuration, or no longer allowed this integration, loses access now.
    if partner is None or session.integration_id not in partner.get("integrations", []):
        raise _session_refused(_l("Your session is not valid."), "session_invalid")
    if session.fingerprint not in {_fingerprint(s) for s in partner["secrets"]}:
        raise _session_refused(
            _l(
                "Your session was started with a partner key that has been replaced. "
                "Open the page from the partner app again."
            ),
            "session_revoked",
        )
    if _revoked(session):
        raise _session_refused(
            _l("This session was ended. Open the page from the partner app again."),
            "session_revoked",
        )


def _revoked(session: EmbedSession) -> bool:
    store = get_store()
    if store.get(f"embed-revoked:{session.session_id}") is not None:
        return True
    for key in (f"embed-epoch:{session.partner}", f"embed-epoch:{session.partner}:{session.user}"):
        epoch = store.get(key)
        if epoch is not None and session.issued_at <= float(epoch):
            return True
    return False


def revoke_session(session: EmbedSession) -> None:
    """End one embed session everywhere (the partner user signed out)."""
    ttl = max(session.expires_at - now(), 0) + 60
    get_store().put(f"embed-revoked:{session.session_id}", "1", ttl)


def revoke_all(token: Any) -> dict[str, Any]:
    """End every session of the partner that signed this revocation token (or of its `sub`)."""
    cfg = current_app.config
    claims, _ = _verify(token, cfg["PARTNERS"], REVOKE_AUDIENCE, _REVOKE_REQUIRED)
    _claim_once(claims)
    key = f"embed-epoch:{claims['iss']}"
    if claims.get("sub"):
        key += ":" + claims["sub"][:200]
    # Sessions issued up to now are refused until the longest of them would have expired anyway.
    get_store().put(key, json.dumps(now()), float(cfg["EMBED_SESSION_TTL"]) + 120)
    return {"revoked": "user" if claims.get("sub") else "all", "partner": claims["iss"]}


# -- download links ---------------------------------------------------------------


def download_token(
    integration_id: str,
    candidate_id: str,
    attachment_id: str,
    application_lock: str | None,
    holder: list[Any],
) -> str:
    """A short-lived signed grant for one attachment (links cannot carry a bearer header).

    `application_lock`: the application a locked session is limited to; the download then
    refuses a file of the candidate's other applications. `holder`: the session it was made
    for (`access.link_holder`); the link ends with it."""
    expires = now() + float(current_app.config["DOWNLOAD_URL_TTL"])
    return _serializer("download").dumps(
        [integration_id, candidate_id, attachment_id, application_lock, holder, expires]
    )


def read_download_token(token: str) -> tuple[str, str, str, str | None, Any]:
    """The (integration, candidate, attachment, application lock, holder) a link grants;
    404/410 otherwise. The holder is checked by the view (`access.check_link_holder`)."""
    cfg = current_app.config
    expired = PortalError(
        410, "link_expired", _l("This download link has expired. Reload the list and try again.")
    )
    invalid = PortalError(404, "not_found", _l("This download link is not valid."))
    try:
        iid, cid, aid, lock, holder, expires = _serializer("download").loads(
            token, max_age=cfg["DOWNLOAD_URL_TTL"] + 60
        )
    except SignatureExpired:
        raise expired from None
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    if not isinstance(expires, int | float) or expires <= now():
        raise expired
    if iid not in cfg["INTEGRATIONS"]:
        raise invalid
    return iid, cid, aid, lock, holder


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")
