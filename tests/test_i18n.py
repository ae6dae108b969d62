"""Languages: the catalogues are complete, every page state speaks German and French, and the
language is the one the user (or the partner) chose.

What fails here when someone adds a sentence and forgets the catalogue:
- a new `_()` / `gettext` / JS `_()` without a translation: test_catalogue_matches_the_source
  (pybabel extract of today's source against the .po files);
- English written straight into a template: test_templates_write_no_words_of_their_own;
- an English sentence that reaches a page some other way: test_no_english_on_any_page.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import samples
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from conftest import (
    ACME_SECRET,
    STAFF_EMAIL,
    embed_client,
    find_application,
    portal_config,
    sign_in,
)

from portal import create_app, i18n
from portal.tokens import mint_embed_token

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "portal" / "translations"
LANGS = ("de", "fr")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def _po(lang: str) -> Any:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def source_catalogue(tmp_path_factory) -> Any:
    """What pybabel finds in today's source (Python, templates, strings.js), as the README runs it."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    keywords = ["-k", "lazy_gettext", "-k", "_l", "-k", "lazy_ngettext:1,2", "-k", "N_"]
    args = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), *keywords, "-o", str(pot)]
    cwd = os.getcwd()
    os.chdir(ROOT)  # babel.cfg's patterns are relative to the checkout
    try:
        CommandLineInterface().run([*args, "."])
    finally:
        os.chdir(cwd)
    with pot.open("rb") as fh:
        return read_po(fh)


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def _forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _key(msgid: str | tuple[str, ...] | list[str]) -> str:
    return _forms(msgid)[0]


@pytest.fixture(scope="module")
def app(sandbox) -> Any:
    return create_app(portal_config(sandbox))


@pytest.mark.parametrize("lang", LANGS)
def test_two_plural_forms_as_strings_js_expects(lang):
    """strings.js picks form 0 for Intl's "one" and 1 otherwise: a catalogue must have two."""
    po = _po(lang)
    assert po.num_plurals == 2, po.plural_forms


# -- the catalogues ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_matches_the_source(source_catalogue, lang):
    """Every msgid of the source is in the .po, translated, not fuzzy, with the same placeholders."""
    po = _po(lang)
    problems = []
    for message in source_catalogue:
        if not message.id:
            continue
        found = po.get(message.id)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if found is None:
            problems.append(f"missing: {key!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        strings = _forms(found.string)
        if not all(strings):
            problems.append(f"untranslated: {key!r}")
            continue
        wanted = set().union(*(_placeholders(i) for i in _forms(message.id)))
        for text in strings:
            # A plural's "one" form may say the number in words ("eine Minute"), never other names.
            got = _placeholders(text)
            if got != wanted and not (isinstance(message.id, tuple) and got < wanted):
                problems.append(f"placeholders {sorted(got)} != {sorted(wanted)}: {key!r}")
    assert problems == [], "\n".join(problems)
    stale = {m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id} - {
        m.id if isinstance(m.id, str) else m.id[0] for m in source_catalogue if m.id
    }
    assert not stale, f"in the .po but no longer in the source (run pybabel update): {stale}"


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogue_is_up_to_date(lang):
    """The committed .mo (what the app reads, what the wheel ships) says what the .po says."""
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        mo = {_key(m.id): _forms(m.string) for m in read_mo(fh) if m.id}
    po = {_key(m.id): _forms(m.string) for m in _po(lang) if m.id and not m.fuzzy}
    assert mo == po, "run: pybabel compile -d portal/translations"


def test_js_catalogue_is_every_msgid_of_strings_js(app, source_catalogue):
    """The page's JSON block has every sentence strings.js asks for, in the page's language."""
    asked = {
        _key(m.id)
        for m in source_catalogue
        if m.id and any(path.endswith("strings.js") for path, _ in m.locations)
    }
    assert len(asked) > 100
    with app.test_request_context(headers={"Accept-Language": "de-DE"}):
        catalogue = i18n.js_catalogue()
    assert set(catalogue) == asked
    assert catalogue["Retry"] == "Erneut versuchen"
    assert catalogue["{n} job found."] == ["{n} Stelle gefunden.", "{n} Stellen gefunden."]


def test_sizes_and_dates_in_the_users_language(app):
    stamp = "2026-06-02T14:05:00Z"
    cases = {"en": ("1.5 MB", "10 MB", "812 KB"), "de": ("1,5 MB", "10 MB", "812 KB")}
    cases["fr"] = ("1,5 Mo", "10 Mo", "812 Ko")
    for lang, sizes in cases.items():
        with app.test_request_context(headers={"Accept-Language": lang}):
            got = tuple(i18n.format_size(n) for n in (1572864, 10485760, 831488))
            assert got == sizes, lang
            when = i18n.format_when(stamp)
        expected = {
            "en": "Jun 2, 2026, 2:05",
            "de": "02.06.2026, 14:05",
            "fr": "2 juin 2026, 14:05",
        }
        assert when.startswith(expected[lang]), (lang, when)


# -- templates ------------------------------------------------------------------------------

# Words that are not English for a translator: product names, and examples people type.
NOT_WORDS = {"Sandbox", "Kombo", "ATS", "ada", "lovelace", "example", "com", "px"}
NOT_WORDS.add("embedded")  # embed/page.html's body_class block: a CSS class, not text
SHOWN_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"{]*)"')


class _Words(HTMLParser):
    """Words in HTML a person reads: text (not script/style) and the read attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip = tag in ("script", "style")
        for name, value in attrs:
            if name in ("title", "aria-label", "placeholder", "alt") and value:
                self.words += WORD.findall(value)

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.words += WORD.findall(data)


WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
TAG_NAME = re.compile(r"<(/?)\{\{.*?\}\}")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def test_templates_write_no_words_of_their_own():
    """Every word a template shows comes through _(): text between tags, and the attributes a
    person reads (title, aria-label, placeholder, alt). The demo partner is not the portal."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = path.relative_to(ROOT / "templates").as_posix()
        if name.startswith("demo_partner/"):
            continue
        page = _Words()
        text = TAG_NAME.sub(r"<\1x", path.read_text())  # <{{ finder_h }}: still a tag
        page.feed(JINJA.sub("\x00", text))  # what Jinja fills in is checked on the pages
        found += [f"{name}: {w!r}" for w in page.words if w not in NOT_WORDS]
    assert found == [], "\n".join(found)


# -- every page state, in German and French -----------------------------------------------------


class _Text(HTMLParser):
    """The words a person sees or hears: text outside script/style, and the read attributes;
    the JS catalogue block separately."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.strings: dict[str, Any] | None = None
        self.lang: str | None = None
        self._skip: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in ("script", "style", "template"):
            self._skip = "strings" if a.get("id") == "portal-strings" else tag
        for name in ("title", "aria-label", "placeholder", "alt"):
            if a.get(name):
                self.parts.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._skip = None

    def handle_data(self, data: str) -> None:
        if self._skip == "strings":
            self.strings = json.loads(data)
        elif self._skip not in ("script", "style") and data.strip():
            self.parts.append(data.strip())


def _english_fragments(lang: str) -> tuple[list[str], set[str]]:
    """The source's English that a page in `lang` must not show: the literal pieces (between
    placeholders) of sentences, and whole one-word labels, where the translation differs."""
    fragments, words = [], set()
    for m in _po(lang):
        if not m.id:
            continue
        for english, translated in zip(_forms(m.id), _forms(m.string), strict=False):
            if english == translated:
                continue
            pieces = [p.strip(" .,:;") for p in PLACEHOLDER.split(english) if p]
            for piece in pieces:
                if piece.count(" ") >= 2 and len(piece) >= 14:
                    fragments.append(piece)
            if " " not in english and PLACEHOLDER.search(english) is None:
                words.add(english)
    return fragments, words


# A German or French page may name these (tenant data, product names, what people type).
PROPER = re.compile(r"ada\.lovelace@example\.com|Greenhouse|Sandbox|Kombo|ATS")


def _states(client: Any, anonymous: Any, sandbox: Any) -> dict[str, requests.Response]:
    iid = sandbox.iid("full")
    app = find_application(client, iid)
    job = client.get(f"/api/v1/integrations/{iid}/jobs", params={"q": ""}).json()["jobs"][0]
    states = {
        "signin": anonymous.get("/signin"),
        "signin failed": anonymous.post(
            "/signin", data={"email": STAFF_EMAIL, "password": "wrong"}
        ),  # no CSRF token: the "form had expired" message
        "home": client.get("/"),
        "integration": client.get(f"/i/{iid}"),
        "found by e-mail": client.get(f"/i/{iid}", params={"email": "ada.lovelace@example.com"}),
        "nobody with e-mail": client.get(f"/i/{iid}", params={"email": "nobody@example.com"}),
        "bad e-mail": client.get(f"/i/{iid}", params={"email": "not-an-address"}),
        "jobs": client.get(f"/i/{iid}", params={"q": ""}),
        "no job matches": client.get(f"/i/{iid}", params={"q": "zzzz-nothing"}),
        "job": client.get(f"/i/{iid}", params={"job_id": job["id"]}),
        "recent": client.get(f"/i/{iid}", params={"recent": "1"}),
        "no uploads": client.get(f"/i/{sandbox.iid('no_upload')}"),
        "invalid integration": client.get(f"/i/{sandbox.iid('invalid')}"),
        "application": client.get(f"/i/{iid}/a/{app['id']}"),
        "restricted application": client.get(
            f"/i/{sandbox.iid('restricted')}/a/"
            + find_application(client, sandbox.iid("restricted"))["id"]
        ),
        "not found": client.get(f"/i/{iid}/a/0000000000000000000000ff"),
        "no such page": client.get("/nothing-here"),
        "embed": anonymous.get("/embed", params={"partner": "acme"}),
        "embed without partner": anonymous.get("/embed"),
    }
    form = f"/i/{iid}/a/{app['id']}/upload"
    token = re.search(r'name="csrf-token" content="([^"]+)"', states["application"].text)[1]
    for name, files in {
        "no file chosen": {"file": ("", b"", "application/octet-stream")},
        "refused file": {"file": ("Lebenslauf.docx", samples.docx("x", macros=True), "")},
        # A refusal with a detail: the reader's finding is translated too.
        "remote template": {
            "file": ("CV.docx", samples.docx("x", remote_template="http://evil.example/t"), "")
        },
        "uploaded": {"file": ("Lebenslauf.pdf", samples.pdf("Lebenslauf"), "")},
    }.items():
        states[name] = client.post(form, data={"csrf_token": token, "type": "CV"}, files=files)
    return states


@pytest.mark.parametrize("lang", LANGS)
def test_no_english_on_any_page(portal, sandbox, lang):
    client = sign_in(portal.url)
    client.http.cookies.set(i18n.COOKIE, lang)
    anonymous = requests.Session()
    anonymous.cookies.set(i18n.COOKIE, lang)
    anonymous.get = lambda path, **kw: requests.Session.get(anonymous, portal.url + path, **kw)  # type: ignore[method-assign]
    anonymous.post = lambda path, **kw: requests.Session.post(anonymous, portal.url + path, **kw)  # type: ignore[method-assign]
    fragments, words = _english_fragments(lang)
    assert len(fragments) > 200, "the catalogue lost its sentences"
    problems = []
    states = _states(client, anonymous, sandbox)
    detail = {
        "de": "(eine Vorlage auf einem anderen Server)",
        "fr": "(un modèle sur un autre serveur)",
    }
    assert detail[lang] in states["remote template"].text
    for state, resp in states.items():
        assert resp.status_code < 500, (state, resp.status_code)
        page = _Text()
        page.feed(resp.text)
        if page.lang != lang:
            problems.append(f"{state}: <html lang={page.lang!r}>")
        if page.strings is not None:
            english = [k for k, v in page.strings.items() if v == k and k in fragments]
            problems += [f"{state}: JS {k!r} untranslated" for k in english]
        for text in page.parts:
            plain = PROPER.sub("", text)
            for fragment in fragments:
                if fragment in plain:
                    problems.append(f"{state}: {fragment!r} in {text[:80]!r}")
            if plain.strip(" .:·›‹") in words:
                problems.append(f"{state}: {plain!r}")
    assert problems == [], "\n".join(problems)


# -- choosing the language ----------------------------------------------------------------------


def _lang(resp: requests.Response) -> str | None:
    match = re.search(r'<html lang="([^"]+)"', resp.text)
    return match[1] if match else None


def test_accept_language_then_the_users_choice_remembered(portal):
    s = requests.Session()
    url = portal.url
    assert _lang(s.get(url + "/signin")) == "en"
    assert _lang(s.get(url + "/signin", headers={"Accept-Language": "fr-CA,fr;q=0.9"})) == "fr"
    assert _lang(s.get(url + "/signin", headers={"Accept-Language": "es, de;q=0.5"})) == "de"
    assert _lang(s.get(url + "/signin", headers={"Accept-Language": "es, ja"})) == "en"
    # The switcher: a plain link (no JS), a cookie for a year, back to the page it was on.
    page = s.get(url + "/signin?next=/i/x", headers={"Accept-Language": "fr"}).text
    link = re.search(r'<a href="([^"]+)" lang="de" hreflang="de">Deutsch</a>', page)
    assert link, "no switcher link to German"
    resp = s.get(url + link[1].replace("&amp;", "&"), allow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/signin?next=/i/x")
    cookie = resp.headers["Set-Cookie"]
    assert "portal_lang=de" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert "Secure" not in cookie  # plain HTTP on localhost only (the session cookie's rule)
    elsewhere = s.get(
        url + "/language/fr", headers={"Host": "portal.example"}, allow_redirects=False
    )
    assert "Secure" in elsewhere.headers["Set-Cookie"]
    # The choice beats Accept-Language from now on.
    assert _lang(s.get(url + "/signin", headers={"Accept-Language": "fr"})) == "de"
    assert "Anmelden" in s.get(url + "/signin").text


def test_the_switcher_goes_only_to_this_site_and_speaks_only_our_languages(portal):
    s = requests.Session()
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example"):
        resp = s.get(portal.url + "/language/fr", params={"next": evil}, allow_redirects=False)
        assert resp.status_code == 303 and resp.headers["Location"] == "/", evil
    resp = s.get(portal.url + "/language/xx", allow_redirects=False)
    assert resp.status_code == 303 and "Set-Cookie" not in resp.headers
    s.cookies.set(i18n.COOKIE, "klingon")  # a forged cookie is ignored, not an error
    assert _lang(s.get(portal.url + "/signin", headers={"Accept-Language": "fr"})) == "fr"


def test_embed_page_and_session_speak_the_partners_language(portal, sandbox):
    iid = sandbox.iid("full")
    page = requests.get(
        portal.url + "/embed", params={"partner": "acme", "locale": "fr"}, timeout=10
    )
    assert _lang(page) == "fr" and "Connexion…" in page.text
    # A token's locale rules the session's messages, whatever the browser asks for.
    client = embed_client(portal.url, "acme", iid, locale="de")
    resp = client.get(
        f"/api/v1/integrations/{iid}/applications",
        params={"email": "nope"},
        headers={"Accept-Language": "fr"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": "email_invalid",
        "message": "Geben Sie eine vollständige E-Mail-Adresse ein, z. B. ada@example.com.",
        "reference": resp.json()["error"]["reference"],
    }
    # Without one, the page's language (embed.js sends it as Accept-Language).
    client = embed_client(portal.url, "acme", iid)
    resp = client.get(
        f"/api/v1/integrations/{iid}/applications",
        params={"email": "nope"},
        headers={"Accept-Language": "fr"},
    )
    assert resp.json()["error"]["message"].startswith("Saisissez une adresse e-mail complète")


def test_a_token_with_a_locale_we_do_not_speak_is_refused(portal, sandbox):
    for bad in ("es", "", "de-DE-x-" + "a" * 300, 7, ["de"]):
        token = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET)
        claims = jwt.decode(token, options={"verify_signature": False})
        claims["locale"] = bad
        token = jwt.encode(claims, ACME_SECRET, algorithm="HS256")
        resp = requests.post(
            portal.url + "/api/v1/embed/session", json={"token": token}, timeout=10
        )
        assert resp.status_code == 401, (bad, resp.text)
        expected = "token_locale_invalid" if isinstance(bad, str) else "token_invalid"
        assert resp.json()["error"]["code"] == expected, bad
    good = mint_embed_token("acme", sandbox.iid("full"), secret=ACME_SECRET, locale="fr-FR")
    resp = requests.post(portal.url + "/api/v1/embed/session", json={"token": good}, timeout=10)
    assert resp.status_code == 200 and resp.json()["locale"] == "fr"


def test_kombo_errors_reach_the_recruiter_in_their_language(portal, sandbox):
    client = sign_in(portal.url)
    client.http.cookies.set(i18n.COOKIE, "de")
    iid = sandbox.iid("full")
    sandbox.fault(
        "list_applications",
        count=5,
        status=429,
        code="REMOTE.RATE_LIMIT_EXCEEDED",
        retry_after="30",
    )
    resp = client.get(f"/api/v1/integrations/{iid}/applications")
    sandbox.clear_faults()
    assert resp.status_code == 429, resp.text
    assert resp.json()["error"]["code"] == "ats_busy"
    message = resp.json()["error"]["message"]
    assert "ausgelastet" in message and "Sekunde" in message, message


# Literals of strings.js that are code, not words for a person.
JS_CODE_WORDS = {
    "portal",
    "strings",
    "object",
    "string",
    "undefined",
    "one",
    "en",
    "application",
    "job",
}


def test_strings_js_has_no_sentence_outside_the_catalogue():
    """Every sentence in strings.js goes through _() or ngettext(), so pybabel sees it: a bare
    "English" or `English ${x}` entry (say, one merged from another branch) fails here."""
    source = (ROOT / "static" / "portal" / "strings.js").read_text()
    code = re.sub(r"(?m)^\s*(//|\*|/\*).*$", "", source)  # comments may speak English
    code = re.sub(r'\b(?:_|ngettext)\(\s*("(?:[^"\\]|\\.)*"\s*,?\s*){1,2}', "", code)
    bare = []
    for literal in re.findall(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`', code):
        text = re.sub(r"\$\{[^}]*\}", "", literal[0] or literal[1])
        words = [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in JS_CODE_WORDS]
        if words:
            bare.append(text)
    assert bare == [], bare
