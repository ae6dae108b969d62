"""Languages: which one a request is answered in, and sizes, dates and the front end's sentences
in it.

English is the source language (the msgids); German and French are catalogues in
portal/translations/. The language is, in order: an embed session's `locale` (from the partner's
token), the embed page's `?locale=`, the user's choice (the header's switcher sets the
`portal_lang` cookie), the best match of `Accept-Language`, English.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import numbers
from babel.messages.extract import extract_from_file
from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request
from flask_babel import (
    Babel,
    LazyString,
    format_date,
    format_time,
    get_locale,
    gettext,
    lazy_gettext,
    ngettext,
)

LOCALES = ("en", "de", "fr")
DEFAULT_LOCALE = "en"
COOKIE = "portal_lang"
COOKIE_AGE = 365 * 24 * 3600
# Each language named in itself: someone who cannot read the page can still find theirs.
NAMES = {"en": "English", "de": "Deutsch", "fr": "Français"}

bp = Blueprint("i18n", __name__)
# A language tag as browsers and partners write it (de, de-DE, fr_CA, zh-Hant-TW): bounded.
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


def N_(message: str) -> str:
    """Marks a msgid for pybabel where it is defined; it is translated where it is used."""
    return message


def known(value: Any) -> str | None:
    """The locale if it is one we speak ("de", "de-DE" and "de_AT" are German), else None."""
    if not isinstance(value, str) or not _TAG.fullmatch(value):
        return None
    lang = value.replace("_", "-").split("-", 1)[0].lower()
    return lang if lang in LOCALES else None


def select_locale() -> str:
    """The language of this request (see the module's docstring for the order)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    principal = g.get("principal")
    embed = getattr(principal, "embed", None)
    if embed is not None and embed.locale:
        return str(embed.locale)
    if request.blueprint == "embed" and (chosen := known(request.args.get("locale"))):
        return chosen
    if chosen := known(request.cookies.get(COOKIE)):
        return chosen
    return request.accept_languages.best_match(LOCALES, DEFAULT_LOCALE) or DEFAULT_LOCALE


def current() -> str:
    """This request's language as a code for `<html lang>` and Intl: en, de or fr."""
    return str(get_locale() or DEFAULT_LOCALE)


def format_size(n: int) -> str:
    """Sizes as people read them, in their language: '10 MB', '1,5 MB' (de), '812 KB'.

    The one home of a size on the server; static/portal/format.js is its twin in the browser."""
    if n < 1024 * 1024:
        value, unit = n / 1024, gettext("KB")
    else:
        value, unit = n / (1024 * 1024), gettext("MB")
    locale = current() if has_request_context() else DEFAULT_LOCALE
    number = numbers.format_decimal(round(value, 1), format="#,##0.#", locale=locale)
    return f"{number} {unit}"


def lazy_size(n: int) -> LazyString:
    """format_size, in the language of whoever reads it (for messages made before a request)."""
    return LazyString(format_size, n)


def lazy_join(*parts: Any) -> LazyString:
    """Sentences put together when read (each in the reader's language), empty ones left out."""
    return LazyString(lambda: " ".join(text for p in parts if (text := str(p))))


def format_when(value: str | datetime | None) -> str:
    """An ISO 8601 stamp (Kombo's) as a date and time in the user's language, or ''."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return ""
    # Date "medium", time "short" (no seconds): 2 Jun 2026, 14:05 as strings.js's Intl says it.
    return f"{format_date(value, 'medium')}, {format_time(value, 'short')}"


# -- the front end's sentences ------------------------------------------------------------

STRINGS_JS = ("portal", "strings.js")
# What strings.js marks for translation: _("…") and ngettext("one", "many", n).
JS_KEYWORDS = {"_": None, "ngettext": (1, 2)}


@cache
def _js_messages(path: str) -> tuple[str | tuple[str, str], ...]:
    """The msgids of static/portal/strings.js (its English is the source), read once."""
    found = extract_from_file("javascript", path, keywords=JS_KEYWORDS)
    return tuple(msg if isinstance(msg, str) else (msg[0], msg[1]) for _, msg, _, _ in found)


def js_messages() -> list[str | tuple[str, str]]:
    """Every msgid the front end uses (a plural is a (singular, plural) pair)."""
    path = Path(current_app.static_folder or "", *STRINGS_JS)
    return list(_js_messages(str(path)))


def js_catalogue() -> dict[str, str | list[str]]:
    """The front end's sentences in this request's language: msgid -> text, or -> [one, many].

    Rendered into the page as JSON (portal-strings); strings.js falls back to its English."""
    out: dict[str, str | list[str]] = {}
    for msg in js_messages():
        if isinstance(msg, tuple):
            one, many = msg
            # Our languages have two forms; strings.js picks one with Intl.PluralRules.
            out[one] = [ngettext(one, many, 1), ngettext(one, many, 2)]
        else:
            out[msg] = gettext(msg)
    return out


# -- the switcher ---------------------------------------------------------------------------


@bp.get("/language/<lang>")
def choose(lang: str) -> Any:
    """Remember the user's language (a cookie, a year) and go back where they were."""
    from portal.auth import _safe_next  # one home for a safe redirect target

    resp = redirect(_safe_next(request.args.get("next")), code=303)
    chosen = known(lang)
    if chosen is not None:
        resp.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_AGE,
            # The session cookie's rule (one home): Secure everywhere but on localhost.
            secure=current_app.session_interface.get_cookie_secure(current_app),
            httponly=True,
            samesite="Lax",
        )
    return resp


# Kombo's integration statuses, as the home page shows them.
STATUS_LABELS = {
    "ACTIVE": lazy_gettext("Active"),
    "INACTIVE": lazy_gettext("Inactive"),
    "INVALID": lazy_gettext("Invalid"),
    "UNKNOWN": lazy_gettext("Unknown"),
}


def status_label(status: str) -> str:
    """An integration's status in words (an unknown one as Kombo spells it, capitalised)."""
    return str(STATUS_LABELS.get(status, status.capitalize()))


def _template_helpers() -> dict[str, Any]:
    return {
        "lang": current(),
        "languages": [(code, NAMES[code]) for code in LOCALES],
        "js_catalogue": js_catalogue,
        "format_size": format_size,
        "format_when": format_when,
        "status_label": status_label,
    }


def init_app(app: Flask) -> None:
    """Flask-Babel with our locale selector, the switcher's route and the template helpers."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.context_processor(_template_helpers)
