"""The portal in a real browser: Debian's chromium driven by Playwright.

What only a browser can show: the drop zone and its queue (drop, byte progress, the server
phase, the tick, refusals, keyboard use), the plain form with JavaScript off, the embed
inside a partner page on another site with third-party cookies blocked, one Idempotency-Key
per file, no dead ends (no Retry on a final refusal, empty files never sent, focus after a
search and an upload), the attachment list (newest first, sorted, filtered, New marks that
last, "already on this application"), and axe-core on every page state in light and dark. Playwright's own
browser download is never used. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import samples
from conftest import (
    ACME_SECRET,
    PARTNER_ORIGIN,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    ServerThread,
    portal_config,
)
from flask import Flask
from werkzeug.serving import make_server

from portal import create_app

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed"
)
expect = sync_api.expect
expect.set_options(timeout=10_000)  # a busy CI box; every wait is for a state, never a sleep

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium); "
    "these tests never download Playwright's own browser",
)

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EMAIL = "ada.lovelace@example.com"
PDF = "application/pdf"
VIEWPORT = {"width": 1280, "height": 900}
# Chromium 156 does not know this Permissions-Policy feature; the header is still right.
KNOWN_NOISE = ("Unrecognized feature: 'bluetooth'",)

# Build Files from bytes inside the page and drop them the way a browser does: dragenter,
# dragover, drop with one DataTransfer. Returns, per event, whether the page cancelled it
# (a cancelled dragover/drop is what stops the browser from opening the file itself).
DROP_JS = """([selector, files]) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  const target = document.querySelector(selector);
  return ["dragenter", "dragover", "drop"].map((type) => {
    const event = new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt });
    target.dispatchEvent(event);
    return event.defaultPrevented;
  });
}"""
COOKIE_PROBE = """() => {
  document.cookie = "tpc_probe=1; SameSite=None; Secure; Path=/";
  return document.cookie.includes("tpc_probe=1");
}"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def drop(target: Any, selector: str, files: list[tuple[str, bytes, str]]) -> list[bool]:
    """Drop files on `selector` in a page or frame; the cancelled flags of the three events."""
    payload = [{"name": n, "b64": _b64(b), "type": t} for n, b, t in files]
    return target.evaluate(DROP_JS, [selector, payload])


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# -- browsers and pages ------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


class Watch:
    """Uncaught page errors and CSP violations: either fails the test (no inline script/style)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Any) -> Any:
        page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        return page

    def _console(self, msg: Any) -> None:
        text = msg.text
        if any(noise in text for noise in KNOWN_NOISE):
            return
        if (
            "Content Security Policy" in text
            or msg.type == "error"
            and "Failed to load resource" not in text
        ):
            self.problems.append(f"console {msg.type}: {text}")


@pytest.fixture
def watch() -> Iterator[Watch]:
    w = Watch()
    yield w
    assert not w.problems, w.problems


@pytest.fixture
def page(browser: Any, watch: Watch) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield watch.attach(context.new_page())
    context.close()


def sign_in_page(page: Any, base: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", STAFF_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")


def open_application(page: Any, base: str, iid: str, job: str = "Backend Engineer") -> None:
    page.goto(f"{base}/i/{iid}?email={EMAIL}")
    page.click(f".pick-list a:has-text('{job}')")
    page.wait_for_url(re.compile(r"/a/[A-Za-z0-9]+$"))


def tall_screenshot(page: Any, name: str) -> None:
    """The whole page, captured with a viewport as tall as the document.

    full_page=True leaves stale tiles in cross-site (out-of-process) iframes, so the viewport
    is grown instead and we wait two frames for the iframe to repaint.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    height = page.evaluate("Math.ceil(document.documentElement.scrollHeight)")
    page.set_viewport_size({"width": size["width"], "height": height})
    for frame in page.frames:
        frame.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(size)


def uploads_with(sandbox: Any, content: bytes) -> list[dict[str, Any]]:
    sha = hashlib.sha256(content).hexdigest()
    return [u for u in sandbox.uploads() if u.get("sha256") == sha]


# -- 1. the staff flow ----------------------------------------------------------------------


def test_staff_drop_progress_tick_list_and_download(page, portal, sandbox):
    iid = sandbox.iid("full")
    sign_in_page(page, portal.url)
    page.click(f"a[href='/i/{iid}']")
    page.fill("#find-email", EMAIL)
    page.click("form[data-find=email] button[type=submit]")
    page.wait_for_url(re.compile(r"\?email="))
    page.click(".pick-list a:has-text('Backend Engineer')")
    expect(page.locator("[data-dropzone].is-enhanced")).to_be_visible()

    # A drop outside the zone is swallowed: the browser must not navigate to the file.
    outside = drop(page, "h1", [("stray.pdf", samples.pdf("stray"), PDF)])
    assert outside[1:] == [True, True]
    expect(page.locator(".qi")).to_have_count(0)

    name = unique("Dropped CV") + ".pdf"
    content = samples.pdf(name, pad=600_000)  # big enough to watch the bytes go up
    assert drop(page, "[data-dropzone]", [(name, content, PDF)]) == [True, True, True]
    row = page.locator(".qi", has_text=name)
    expect(row).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-live]")).to_contain_text(f"Added 1 file: {name}")

    # Slow the upload down (DevTools throttling) and hold the ATS for 2.5 s, so both
    # phases are observable: bytes (determinate), then the server phase (indeterminate).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400 * 1024},
    )
    # Long enough that a loaded CI machine still sees the server phase (expect polls at 0.5 s).
    sandbox.fault("add_application_attachment", delay=2.5)
    page.click("[data-upload-submit]")

    bar = row.locator("[role=progressbar]")
    expect(bar).to_be_visible()
    page.wait_for_function(
        """() => { const b = document.querySelector('.qi [role=progressbar]');
                   const v = Number(b && b.getAttribute('aria-valuenow')); return v > 0 && v < 100; }"""
    )
    expect(row.locator(".qi-status")).to_contain_text(
        "Checking the file and sending it to Greenhouse"
    )
    expect(bar).to_have_class(re.compile("is-indeterminate"))
    expect(bar).not_to_have_attribute("aria-valuenow", re.compile(".*"))
    expect(row).to_have_attribute("data-state", "done", timeout=20_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(bar).to_be_hidden()
    expect(row.locator(".qi-status")).to_have_text("Uploaded to Greenhouse.")
    expect(page.locator("[data-live]")).to_contain_text(f"{name} uploaded to Greenhouse.")

    # The list was re-read from the API; the new file is marked and downloads identically.
    link = page.locator("[data-attachments] a[data-download]", has_text=name)
    expect(link).to_be_visible()
    expect(page.locator("[data-attachments] tr.is-new")).to_contain_text(name)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == name
    assert Path(download.path()).read_bytes() == content

    [stored] = uploads_with(sandbox, content)
    assert (stored["content_type"], stored["type"], stored["name"]) == (PDF, "CV", name)

    tall_screenshot(page, "staff-application.png")
    page.emulate_media(color_scheme="dark")
    tall_screenshot(page, "staff-application-dark.png")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 360, "height": 800})
    tall_screenshot(page, "staff-application-360.png")


# -- 2. a refused file -------------------------------------------------------------------------


def test_refused_file_shows_the_servers_message_and_offers_another_file_not_retry(
    page, portal, sandbox
):
    iid = sandbox.iid("full")
    sign_in_page(page, portal.url)
    open_application(page, portal.url, iid)
    name = unique("Letter with macros") + ".docx"
    content = samples.docx("Dear team", macros=True)
    page.set_input_files("#file-input", files=[{"name": name, "mimeType": "", "buffer": content}])
    row = page.locator(".qi", has_text=name)
    row.locator("select").select_option("COVER_LETTER")

    with page.expect_response(
        lambda r: r.request.method == "POST" and "/attachments" in r.url
    ) as resp:
        page.click("[data-upload-submit]")
    error = resp.value.json()["error"]
    assert (resp.value.status, error["code"]) == (422, "file_macros")

    expect(row).to_have_attribute("data-state", "failed")
    expect(row.locator(".qi-error")).to_have_text(error["message"])  # verbatim, as text
    expect(row.locator(".qi-ref")).to_contain_text(f"Reference {error['reference']}")
    expect(page.locator("[data-live]")).to_contain_text(
        f"{name} was not uploaded: {error['message']}"
    )
    expect(row.locator(".qi-icon")).to_be_visible()
    assert "Uploaded" not in row.inner_text()

    # No dead end: the same file would be refused the same way, so no Retry; the main action
    # is another file (and focus is on it), Remove the other way out.
    expect(row.get_by_role("button", name=f"Retry {name}")).to_be_hidden()
    choose = row.get_by_role("button", name=f"Choose another file {name}")
    expect(choose).to_be_visible()
    expect(choose).to_have_class(re.compile(r"\bprimary\b"))
    expect(choose).to_be_focused()
    expect(row.get_by_role("button", name=f"Remove {name}")).to_be_visible()
    with page.expect_file_chooser() as chooser:
        choose.click()
    assert chooser.value.is_multiple()
    expect(row).to_have_count(0)
    expect(page.locator("[data-choose]")).to_be_focused()
    assert uploads_with(sandbox, content) == []


def test_an_empty_file_is_never_sent(page, portal, sandbox):
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("full"))
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if is_upload(r) else None)
    name = unique("Empty CV") + ".pdf"
    row = add_file(page, name, b"")
    expect(row).to_have_attribute("data-state", "blocked")
    expect(row.locator(".qi-hint")).to_have_text(
        "This file is empty (0 bytes), so there is nothing to send. "
        "Choose the file again, or another one."
    )
    expect(page.locator("[data-upload-submit]")).to_be_hidden()
    expect(row.get_by_role("button", name=f"Choose another file {name}")).to_be_visible()
    expect(row.get_by_role("button", name=f"Retry {name}")).to_be_hidden()
    # Another, real file next to it goes up alone.
    other = unique("Real CV") + ".pdf"
    other_row = add_file(page, other, samples.pdf(other))
    expect(page.locator("[data-upload-submit]")).to_have_text("Upload 1 file to Greenhouse")
    page.click("[data-upload-submit]")
    expect(other_row).to_have_attribute("data-state", "done")
    expect(row).to_have_attribute("data-state", "blocked")
    assert len(posts) == 1


def test_focus_goes_to_the_results_after_a_search(page, portal, sandbox):
    iid = sandbox.iid("full")
    sign_in_page(page, portal.url)
    page.goto(f"{portal.url}/i/{iid}")
    page.fill("#find-email", EMAIL)
    page.press("#find-email", "Enter")
    page.wait_for_url(re.compile(r"\?email="))
    heading = page.locator("[data-results] h3")
    expect(heading).to_have_text(f"Applications of {EMAIL}")
    expect(heading).to_be_focused()
    assert heading.evaluate("(el) => getComputedStyle(el).outlineStyle") != "none"
    # Each result says when the candidate applied, in the browser's locale (en-US here).
    applied = page.locator(".pick-list li").first.locator("time")
    expect(applied).to_have_text(re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}$"))
    page.keyboard.press("Tab")  # one Tab to the first result, not eleven
    assert page.evaluate("document.activeElement.closest('.pick-list') !== null")

    page.click("form[data-find=recent] button[type=submit]")
    page.wait_for_url(re.compile(r"\?recent=1"))
    expect(page.locator("[data-results] h3")).to_have_text("Most recent applications")
    expect(page.locator("[data-results] h3")).to_be_focused()

    # A job picked from the job search: the heading names the job, the query stays.
    page.fill("#find-job", "Engineer")
    page.press("#find-job", "Enter")
    page.wait_for_url(re.compile(r"\?q=Engineer"))
    expect(page.locator("[data-results] h3")).to_be_focused()
    page.click(".pick-list a:has-text('Backend Engineer')")
    page.wait_for_url(re.compile(r"job_id="))
    expect(page.locator("[data-results] h3")).to_have_text("Applications to Backend Engineer")
    expect(page.locator("#find-job")).to_have_value("Engineer")


# -- 3. keyboard ----------------------------------------------------------------------------


def test_keyboard_reaches_the_zone_opens_the_chooser_and_uploads(page, portal, sandbox):
    iid = sandbox.iid("full")
    # Intercept file choosers from the start: enabling it lazily can race the Enter key.
    page.on("filechooser", lambda chooser: None)
    sign_in_page(page, portal.url)
    open_application(page, portal.url, iid, job="Data Scientist")

    # Tab from the top of the page until focus is inside the drop zone.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('[data-dropzone]')"):
            break
    focused = page.evaluate(
        """() => { const el = document.activeElement;
                   return [el.tagName, el.textContent.trim(), getComputedStyle(el).outlineStyle]; }"""
    )
    assert focused[:2] == ["BUTTON", "Choose files"] and focused[2] != "none"

    chosen = unique("Keyboard CV") + ".pdf"
    chosen_content = samples.pdf(chosen)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.is_multiple()
    chooser.value.set_files(files=[{"name": chosen, "mimeType": PDF, "buffer": chosen_content}])

    # The native input still works directly (set_input_files path).
    direct = unique("Direct letter") + ".txt"
    direct_content = samples.text(f"Dear team, {direct}\n")
    page.set_input_files(
        "#file-input", files=[{"name": direct, "mimeType": "text/plain", "buffer": direct_content}]
    )
    # Paste from the clipboard (focus on the page, not in a text field).
    pasted = unique("Pasted scan") + ".png"
    pasted_content = samples.png(4 + len(pasted), 4)
    page.evaluate(
        """([name, b64]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: "image/png" }));
          document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
        }""",
        [pasted, _b64(pasted_content)],
    )
    page.locator(".qi", has_text=pasted).locator("select").select_option("OTHER")
    expect(page.locator(".qi")).to_have_count(3)
    expect(page.locator("[data-upload-submit]")).to_have_text("Upload 3 files to Greenhouse")

    page.focus("[data-upload-submit]")
    page.keyboard.press("Enter")
    for name in (chosen, direct, pasted):
        expect(page.locator(".qi", has_text=name)).to_have_attribute(
            "data-state", "done", timeout=20_000
        )
    # The Upload button hid; focus stayed in the queue, on a visible, outlined control (not a
    # row without an outline, not <body>).
    focused = page.evaluate(
        """() => { const el = document.activeElement;
                   return [el.tagName, !!el.closest('[data-queue]'), el.checkVisibility(),
                           getComputedStyle(el).outlineStyle]; }"""
    )
    assert focused[:3] == ["BUTTON", True, True] and focused[3] != "none", focused
    assert len(uploads_with(sandbox, chosen_content)) == 1
    assert len(uploads_with(sandbox, direct_content)) == 1
    assert [u["type"] for u in uploads_with(sandbox, pasted_content)] == ["OTHER"]


# -- 4. without JavaScript ----------------------------------------------------------------------


def test_plain_form_works_without_javascript(browser, portal, sandbox):
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
    page = context.new_page()
    try:
        sign_in_page(page, portal.url)
        open_application(page, portal.url, sandbox.iid("full"))
        expect(page.locator("[data-dropzone-ui]")).to_be_hidden()
        expect(page.locator("#file-input")).to_be_visible()
        name = unique("No script CV") + ".pdf"
        content = samples.pdf(name)
        page.set_input_files(
            "#file-input", files=[{"name": name, "mimeType": PDF, "buffer": content}]
        )
        page.check("#type-CV")
        page.click("[data-upload-submit]")
        expect(page.locator(".flash-success")).to_contain_text(f"“{name}” was uploaded.")
        expect(page.locator("[data-attachments] table")).to_contain_text(name)
        assert len(uploads_with(sandbox, content)) == 1

        # A refusal names the file once (the server's message already says which file).
        empty = unique("Empty letter") + ".pdf"
        page.set_input_files("#file-input", files=[{"name": empty, "mimeType": PDF, "buffer": b""}])
        page.click("[data-upload-submit]")
        flash = page.locator(".flash-error")
        expect(flash).to_contain_text("is empty (0 bytes)")
        assert flash.inner_text().count(empty) == 1, flash.inner_text()
    finally:
        context.close()


# -- 5. the embed, inside a partner page on another site ----------------------------------


EMBED_SESSION_TTL = 6  # seconds: short, so the tests see the session renewed


@pytest.fixture(scope="module")
def partner_server() -> Iterator[Any]:
    """A listening socket for the partner app, bound first: the portal must know its origin."""
    httpd = make_server("127.0.0.1", 0, lambda environ, start: [], threaded=True)
    yield httpd
    httpd.server_close()


@pytest.fixture(scope="module")
def embed_portal(sandbox: Any, partner_server: Any) -> Iterator[ServerThread]:
    """A portal whose embed sessions last seconds, so renewal happens while we watch."""
    config = portal_config(sandbox, EMBED_SESSION_TTL=EMBED_SESSION_TTL)
    # acme frames from the partner app's real origin (another port is another origin).
    config["PARTNERS"]["acme"]["origins"] = [f"http://localhost:{partner_server.server_port}"]
    server = ServerThread(create_app(config)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def partner(embed_portal: ServerThread, partner_server: Any, sandbox: Any) -> Iterator[str]:
    """The demo partner app on http://localhost:<port>, the origin acme may frame from."""
    from portal.demo_partner import create_partner_app

    env = {
        "DEMO_PARTNER_ID": "acme",
        "DEMO_PARTNER_SECRET": ACME_SECRET,
        "DEMO_PARTNER_INTEGRATIONS": json.dumps([sandbox.iid("full"), sandbox.iid("restricted")]),
        "DEMO_PORTAL_URL": embed_portal.url,
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        partner_server.app = create_partner_app()
    thread = threading.Thread(target=partner_server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{partner_server.server_port}"
    partner_server.shutdown()


def _profile_context(playwright: Any, directory: Path, *, block_third_party: bool) -> Any:
    """A real (not off-the-record) profile whose Preferences allow or block third-party cookies."""
    (directory / "Default").mkdir(parents=True)
    prefs = {
        "profile": {
            "block_third_party_cookies": block_third_party,
            "cookie_controls_mode": 1 if block_third_party else 0,
        }
    }
    (directory / "Default" / "Preferences").write_text(json.dumps(prefs))
    return playwright.chromium.launch_persistent_context(
        str(directory),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport=VIEWPORT,
        accept_downloads=True,
    )


def settled(page: Any, frame: Any) -> None:
    """Wait until the partner has grown the iframe to the portal's content (no layout shift left)."""
    height = frame.evaluate(
        "() => Math.ceil(document.documentElement.getBoundingClientRect().height)"
    )
    page.wait_for_function(
        "(h) => document.getElementById('portal-frame').clientHeight >= h", arg=height
    )


def _portal_frame(page: Any, portal_url: str) -> Any:
    page.frame_locator("#portal-frame").locator("[data-embed-view] > *").first.wait_for()
    return next(f for f in page.frames if f.url.startswith(portal_url))


def test_third_party_cookie_probe_is_meaningful(playwright, embed_portal, partner, tmp_path):
    """Control: in a profile that allows them, the framed portal can set a SameSite=None cookie."""
    context = _profile_context(playwright, tmp_path / "allow", block_third_party=False)
    try:
        page = context.new_page()
        page.goto(f"{partner}/")
        assert _portal_frame(page, embed_portal.url).evaluate(COOKIE_PROBE) is True
    finally:
        context.close()


def test_embed_in_partner_page_with_third_party_cookies_blocked(
    playwright, embed_portal, partner, sandbox, tmp_path
):
    context = _profile_context(playwright, tmp_path / "block", block_third_party=True)
    watch = Watch()
    try:
        page = watch.attach(context.new_page())
        page.goto(f"{partner}/")
        frame = _portal_frame(page, embed_portal.url)
        # Cookies really are blocked in the frame (the control test shows the probe works).
        assert frame.evaluate(COOKIE_PROBE) is False
        # The token left the URL and nothing was put in storage (which, with third-party
        # cookies blocked, Chromium denies to the frame altogether).
        assert frame.evaluate("location.hash") == ""
        stored = frame.evaluate(
            "() => { try { return localStorage.length + sessionStorage.length; } catch { return 'denied'; } }"
        )
        assert stored in (0, "denied")

        log = page.locator("#messages")
        expect(log.locator("li[data-type=ready]")).to_have_count(1)
        expect(log.locator("li[data-type=resize]").first).to_be_visible()
        # The parent sized the iframe from the resize messages.
        page.wait_for_function(
            "() => document.getElementById('portal-frame').getBoundingClientRect().height > 600"
        )

        embed = page.frame_locator("#portal-frame")
        expect(embed.locator("[data-embed-title]")).to_have_text("Greenhouse")
        expect(embed.locator(".badge-sandbox")).to_be_visible()
        embed.locator("#find-email").fill(EMAIL)
        embed.locator("#find-email").press("Enter")
        expect(embed.locator("[data-results-title]")).to_have_text(f"Applications of {EMAIL}")
        expect(embed.locator("[data-results-title]")).to_be_focused()
        expect(embed.locator(".pick-list li").first).to_contain_text("Applied ")
        # Inside the cross-site (out-of-process) frame, controls are activated from the keyboard:
        # mouse clicks there depend on the parent's scroll and the frame's cached geometry, and
        # the staff test already clicks the same controls with the mouse.
        settled(page, frame)
        embed.locator(".pick-list button", has_text="Backend Engineer").press("Enter")
        expect(embed.locator("h1[data-app-name]")).to_have_text("Ada Lovelace")
        expect(embed.locator("[data-attachments] table")).to_be_visible()

        name = unique("Embedded CV") + ".pdf"
        content = samples.pdf(name)
        assert drop(frame, "[data-dropzone]", [(name, content, PDF)]) == [True, True, True]
        settled(page, frame)
        with page.expect_request(is_upload) as sent:
            embed.locator("[data-upload-submit]").press("Enter")
        assert UUID4.fullmatch(sent.value.headers["idempotency-key"])  # the embed keys files too
        row = embed.locator(".qi", has_text=name)
        expect(row).to_have_attribute("data-state", "done", timeout=20_000)

        message = log.locator("li[data-type='upload.succeeded']", has_text=name)
        expect(message).to_have_count(1)
        payload = json.loads(message.inner_text().split("upload.succeeded ", 1)[1])
        assert payload["fileName"] == name and payload["type"] == "CV"
        assert payload["contentType"] == PDF and payload["size"] == len(content)
        assert re.fullmatch(r"[A-Za-z0-9]+", payload["applicationId"])

        link = embed.locator("[data-attachments] a[data-download]", has_text=name)
        expect(link).to_be_visible()
        settled(page, frame)
        with page.expect_download() as info:
            link.press("Enter")
        assert Path(info.value.path()).read_bytes() == content
        assert len(uploads_with(sandbox, content)) == 1

        # The session was renewed ahead of expiry: session.expiring -> session.refresh.
        expect(log.locator("li[data-type='session.expiring']").first).to_be_visible(timeout=10_000)

        # The partner's backend stalls (its /token requests are held): the token runs out, the
        # next call gets a 401, the portal asks the parent again (inSeconds 0) and waits; once
        # the partner answers, the call is retried with the new session and succeeds.
        # A slow renewal may already have asked once: count the asks from here on.
        asked_now = log.locator("li[data-type='session.expiring']", has_text='"inSeconds":0')
        asked_before = asked_now.count()
        held: list[Any] = []
        stalled = [True]
        page.route(
            f"{partner}/token",
            lambda route: held.append(route) if stalled[0] else route.continue_(),
        )
        frame.evaluate(
            "window.__poll = setInterval(() => document.querySelector('[data-attachments-refresh]').click(), 400)"
        )
        status = embed.locator("[data-embed-status]")
        expect(status).to_have_text(
            "Your session has expired. Renewing it…", timeout=3 * EMBED_SESSION_TTL * 1000
        )
        expect(asked_now).to_have_count(asked_before + 1)
        stalled[0] = False
        for route in held:
            route.continue_()
        expect(status).to_be_hidden(timeout=10_000)
        frame.evaluate("clearInterval(window.__poll)")
        expect(embed.locator("[data-attachments] a[data-download]", has_text=name)).to_be_visible()

        # Everything above ran without a single cookie for the portal.
        assert [c for c in context.cookies() if c["domain"] == "127.0.0.1"] == []
        tall_screenshot(page, "embed-partner.png")

        # Locked to one application by the partner: straight to it, no picker, no way back.
        page.fill("#application", payload["applicationId"])
        page.click("#embed-form button[type=submit]")
        expect(log.locator("li[data-type=ready]")).to_have_count(2)
        expect(embed.locator("h1[data-app-name]")).to_have_text("Ada Lovelace")
        expect(embed.locator("[data-back-wrap]")).to_be_hidden()
        expect(embed.locator("[data-finder]")).to_have_count(0)
        expect(embed.locator("[data-attachments] a[data-download]", has_text=name)).to_be_visible()
    finally:
        context.close()
    assert not watch.problems, watch.problems


def test_embed_refuses_to_be_framed_by_another_origin(browser, portal):
    # The header: the partner's exact origins for ?partner=acme, nobody without a partner.
    framed = requests.get(f"{portal.url}/embed?partner=acme", timeout=10)
    assert f"frame-ancestors {PARTNER_ORIGIN}" in framed.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in framed.headers  # the embed page starts no cookie session
    alone = requests.get(f"{portal.url}/embed", timeout=10)
    assert "frame-ancestors 'none'" in alone.headers["Content-Security-Policy"]

    # The browser: a page on another port (another origin) frames the embed and gets nothing.
    other = Flask("other_site")

    @other.get("/")
    def index() -> str:
        return f'<!doctype html><title>Not a partner</title><iframe src="{portal.url}/embed?partner=acme"></iframe>'

    server = ServerThread(other).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        other_url = server.url.replace("127.0.0.1", "localhost")
        with page.expect_event(
            "console", predicate=lambda m: "frame-ancestors" in m.text
        ) as refused:
            page.goto(f"{other_url}/")
        assert "violates the following Content Security Policy directive" in refused.value.text
        child = page.frames[1]
        assert not child.url.startswith(portal.url)
    finally:
        context.close()
        server.stop()


# -- 6. exactly once: one Idempotency-Key per file the user added --------------------------------

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def is_upload(request: Any) -> bool:
    return request.method == "POST" and request.url.endswith("/attachments")


def add_file(page: Any, name: str, content: bytes, mime: str = PDF) -> Any:
    page.set_input_files("#file-input", files=[{"name": name, "mimeType": mime, "buffer": content}])
    return page.locator(".qi", has_text=name)


def test_each_file_has_one_key_kept_for_its_retries(page, portal, sandbox):
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("full"), job="Data Scientist")
    name = unique("Keyed CV") + ".pdf"
    content = samples.pdf(name)
    row = add_file(page, name, content)
    # The connection to Kombo drops before the body: a 502 that stored nothing, safe to retry.
    sandbox.fault("add_application_attachment", count=1, reset="before_body")
    with page.expect_request(is_upload) as first:
        page.click("[data-upload-submit]")
    expect(row).to_have_attribute("data-state", "failed")
    key = first.value.headers["idempotency-key"]
    assert UUID4.fullmatch(key), key
    with page.expect_request(is_upload) as again:
        row.get_by_role("button", name=f"Retry {name}").click()
    expect(row).to_have_attribute("data-state", "done")
    assert again.value.headers["idempotency-key"] == key
    assert len(uploads_with(sandbox, content)) == 1

    # Dismissed and added again, it is a new file with a new key (sent once the recruiter
    # confirms: the file is on the candidate already).
    row.get_by_role("button", name=f"Dismiss {name}").click()
    row = add_file(page, name, content)
    expect(row).to_have_attribute("data-state", "confirm")
    with page.expect_request(is_upload) as later:
        row.get_by_role("button", name=f"Upload anyway {name}").click()
    assert UUID4.fullmatch(later.value.headers["idempotency-key"])
    assert later.value.headers["idempotency-key"] != key
    expect(row).not_to_have_attribute("data-state", re.compile("ready|queued|sending|checking"))


def test_already_uploaded_is_a_success_and_a_reused_key_is_final(page, portal, sandbox):
    """The page's reading of the server's documented answers (the server side is built apart).

    The answers are the documented bodies, served by page.route: a repeat of the same file
    without its key within 10 minutes (200, code already_uploaded), and a key the server has on
    record for other content (422 idempotency_key_reused).
    """
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("full"), job="Data Scientist")
    name = unique("Repeat CV") + ".pdf"
    answers = [
        (
            200,
            {
                "code": "already_uploaded",
                "attachment": {"name": name, "type": "CV"},
                "warnings": [],
            },
        ),
        (
            422,
            {
                "error": {
                    "code": "idempotency_key_reused",
                    "message": "Idempotency-Key was used for another request.",
                    "reference": "abc123",
                }
            },
        ),
    ]

    def answer(route: Any) -> None:
        status, body = answers.pop(0)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page.route(
        re.compile(r".*/attachments$"),
        lambda route: answer(route) if route.request.method == "POST" else route.continue_(),
    )
    row = add_file(page, name, samples.pdf(name))
    page.click("[data-upload-submit]")
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".qi-status")).to_have_text("Already uploaded a moment ago.")
    expect(row.locator(".qi-error")).to_have_count(0)

    other = unique("Reused key") + ".pdf"
    row = add_file(page, other, samples.pdf(other))
    page.click("[data-upload-submit]")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row.locator(".qi-error")).to_have_text(
        "This upload was already sent with different content. Remove it and add the file again."
    )
    expect(row.get_by_role("button", name=f"Retry {other}")).to_be_hidden()
    expect(row.get_by_role("button", name=f"Remove {other}")).to_be_visible()


# -- 7. the attachment list: "what did I just upload?" --------------------------------------


NAMES_JS = """(rows) => rows.map((tr) => {
  const td = tr.querySelector('td'); const a = td.querySelector('a');
  return (a ? a.lastChild : td.firstChild).textContent; })"""


def list_names(page: Any) -> list[str]:
    """The file names in the attachment list, top to bottom."""
    return page.eval_on_selector_all("[data-attachments] tbody tr", NAMES_JS)


@pytest.fixture
def de_page(browser: Any, watch: Watch) -> Iterator[Any]:
    """A German-speaking recruiter's browser (Accept-Language and navigator.language de-DE,
    Berlin time): the portal answers in German."""
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE", timezone_id="Europe/Berlin")
    yield watch.attach(context.new_page())
    context.close()


def test_new_files_are_on_top_marked_and_stay_marked(de_page, portal, sandbox):
    page = de_page
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("full"), job="Data Scientist")
    rows = page.locator("[data-attachments] tbody tr")
    expect(rows.first).to_be_visible()
    before = rows.count()
    # Dates and times in the user's locale (de-DE: 02.06.2026, 14:05), newest first.
    first_time = rows.first.locator("time")
    expect(first_time).to_have_text(re.compile(r"^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$"))
    stamps = page.eval_on_selector_all(
        "[data-attachments] tbody time", "(els) => els.map((e) => e.getAttribute('datetime'))"
    )
    assert stamps == sorted(stamps, reverse=True), stamps

    cv, letter = unique("Zeta CV") + ".pdf", unique("Alpha letter") + ".pdf"
    files = [(cv, samples.pdf(cv), PDF), (letter, samples.pdf(letter), PDF)]
    drop(page, "[data-dropzone]", files)
    page.locator(".qi", has_text=letter).locator("select").select_option("COVER_LETTER")
    page.click("[data-upload-submit]")
    for name in (cv, letter):
        expect(page.locator(".qi", has_text=name)).to_have_attribute("data-state", "done")
    new = page.locator("[data-attachments] tr.is-new")
    expect(new).to_have_count(2)
    expect(rows).to_have_count(before + 2)
    # Both at the top, each with its size (known from the upload: Kombo's list has none).
    assert set(list_names(page)[:2]) == {cv, letter}
    expect(new.first.locator("td[data-label=Größe]")).to_have_text(re.compile(r"^\d+ (B|KB)$"))

    # Any number of refreshes, and a reload of the tab: still marked.
    for _ in range(3):
        with page.expect_response(lambda r: r.url.endswith("/attachments")):
            page.click("[data-attachments-refresh]")
        expect(new).to_have_count(2)
    page.reload()
    expect(page.locator("[data-attachments] tr.is-new")).to_have_count(2)
    expect(page.locator("[data-attachments] tr.is-new .new-badge").first).to_have_text("Neu")

    # Sort by name (Alpha before Zeta), filter to cover letters.
    page.select_option("#attachments-sort", "name")
    names = list_names(page)
    assert names.index(letter) < names.index(cv)
    assert names == sorted(names, key=str.casefold), names
    page.select_option("#attachments-type", "COVER_LETTER")
    expect(page.locator("[data-attachments] tbody tr")).not_to_have_count(0)
    labels = page.eval_on_selector_all(
        "[data-attachments] tbody td[data-label=Art]", "(tds) => tds.map((td) => td.textContent)"
    )
    assert set(labels) == {"Anschreiben"}, labels
    expect(page.locator("[data-attachments] tr.is-new")).to_have_count(1)

    # Another tab of the same browser has its own marks.
    other = page.context.new_page()
    other.goto(page.url)
    expect(other.locator("[data-attachments] tbody tr").first).to_be_visible()
    expect(other.locator("[data-attachments] tr.is-new")).to_have_count(0)
    other.close()


def test_a_file_already_on_the_candidate_asks_first(page, portal, sandbox):
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("full"), job="Data Scientist")
    name = unique("Ada Lovelace CV") + ".pdf"
    content = samples.pdf(name)
    add_file(page, name, content)
    page.click("[data-upload-submit]")
    expect(page.locator(".qi", has_text=name)).to_have_attribute("data-state", "done")
    page.locator(".qi", has_text=name).get_by_role("button", name=f"Dismiss {name}").click()

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if is_upload(r) else None)
    row = add_file(page, name, content)
    expect(row).to_have_attribute("data-state", "confirm")
    expect(row.locator(".qi-hint")).to_have_text(
        re.compile(
            rf"^{re.escape(name)} is already on this application \(added [^)]+\)\. Upload anyway\?$"
        )
    )
    expect(page.locator("[data-upload-submit]")).to_be_hidden()
    expect(row.get_by_role("button", name=f"Upload anyway {name}")).to_be_visible()
    row.get_by_role("button", name=f"Cancel {name}").click()
    expect(row).to_have_count(0)
    assert posts == []
    assert len(uploads_with(sandbox, content)) == 1


# -- 8. contrast and the rest of axe-core, in every theme -------------------------------------

AXE_SOURCE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()
AXE_RUN = """() => axe.run(document, { resultTypes: ["violations"] }).then((r) =>
  r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })) })))"""
AXE_REPORT = ARTIFACTS / "axe.json"


def axe(target: Any) -> list[dict[str, Any]]:
    """axe-core's violations in a page or frame; injected by evaluate (the CSP blocks script tags)."""
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.evaluate(AXE_SOURCE)
    return target.evaluate(AXE_RUN)


class AxeLog:
    """Violations per page state, written to test-artifacts/axe.json; the test asserts none."""

    def __init__(self) -> None:
        self.states: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str, target: Any) -> None:
        # Two frames after a theme switch, so transitions and repaints have settled.
        target.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        self.states[name] = axe(target)

    def summary(self) -> str:
        lines = []
        for name, violations in self.states.items():
            for v in violations:
                targets = ", ".join(n["target"] for n in v["nodes"][:4])
                lines.append(
                    f"{name}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes) {targets}"
                )
        return "\n".join(lines)

    def save(self, key: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        report = json.loads(AXE_REPORT.read_text()) if AXE_REPORT.exists() else {}
        report[key] = {
            name: sum(len(v["nodes"]) for v in violations)
            for name, violations in self.states.items()
        }
        AXE_REPORT.write_text(json.dumps(report, indent=2, sort_keys=True))


def fill_queue(target: Any, sandbox: Any, tool: str = "Greenhouse") -> None:
    """A queue showing every kind of row: done, refused by the server, refused here, asking, ready."""
    done = unique("Axe done") + ".pdf"
    target.set_input_files(
        "#file-input", files=[{"name": done, "mimeType": PDF, "buffer": samples.pdf(done)}]
    )
    target.locator("[data-upload-submit]").press("Enter")
    expect(target.locator(".qi", has_text=done)).to_have_attribute("data-state", "done")
    macros = unique("Axe macros") + ".docx"
    target.set_input_files(
        "#file-input",
        files=[{"name": macros, "mimeType": "", "buffer": samples.docx("x", macros=True)}],
    )
    target.locator("[data-upload-submit]").press("Enter")
    expect(target.locator(".qi", has_text=macros)).to_have_attribute("data-state", "failed")
    ready = unique("Axe ready") + ".pdf"
    target.set_input_files(
        "#file-input",
        files=[
            {"name": ready, "mimeType": PDF, "buffer": samples.pdf(ready)},
            {"name": "Axe empty.pdf", "mimeType": PDF, "buffer": b""},
            {"name": done, "mimeType": PDF, "buffer": samples.pdf(done)},
        ],
    )
    expect(target.locator(".qi", has_text="Axe empty.pdf")).to_have_attribute(
        "data-state", "blocked"
    )
    expect(target.locator(".qi[data-state=confirm]")).to_have_count(1)
    expect(target.locator("[data-attachments] tr.is-new")).to_have_count(1)


THEMES = ("light", "dark")


def test_axe_finds_nothing_on_the_staff_pages_in_light_and_dark(page, portal, sandbox):
    log = AxeLog()
    iid = sandbox.iid("full")
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        page.goto(f"{portal.url}/signin")
        log.check(f"signin-{theme}", page)
    page.set_viewport_size({"width": 320, "height": 640})
    page.screenshot(path=str(ARTIFACTS / "signin-320.png"))
    page.set_viewport_size(VIEWPORT)
    sign_in_page(page, portal.url)
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"home-{theme}", page)
    page.goto(f"{portal.url}/i/{iid}?email={EMAIL}")
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"finder-results-{theme}", page)
    page.click(".pick-list a:has-text('Data Scientist')")
    expect(page.locator("[data-dropzone].is-enhanced")).to_be_visible()
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"application-{theme}", page)
    fill_queue(page, sandbox)
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"application-queue-{theme}", page)
        tall_screenshot(page, f"axe-staff-queue-{theme}.png")
    page.set_viewport_size({"width": 390, "height": 844})
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        log.check(f"application-queue-phone-{theme}", page)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(ARTIFACTS / "axe-staff-phone-dark.png"), full_page=True)
    log.save("staff")
    assert not log.summary(), log.summary()


ACCENTS = ("#0f6b75", "#3b2f7a", "#ffee00", "#e4002b")  # ours, the demo partner's, a light, a red


def test_axe_finds_nothing_in_the_embed_with_partner_accents(
    browser, embed_portal, partner, sandbox, watch
):
    context = browser.new_context(viewport=VIEWPORT)
    page = watch.attach(context.new_page())
    log = AxeLog()
    try:
        page.goto(f"{partner}/")
        for accent in ACCENTS:
            for theme in THEMES:
                page.emulate_media(color_scheme=theme)
                page.select_option("#theme", theme)
                page.fill("#accent", accent)
                ready = page.locator("#messages li[data-type=ready]")
                count = ready.count()
                page.click("#embed-form button[type=submit]")
                expect(ready).to_have_count(count + 1)
                frame = _portal_frame(page, embed_portal.url)
                embed = page.frame_locator("#portal-frame")
                expect(embed.locator("[data-results] .pick-list li").first).to_be_visible()
                label = f"{accent}-{theme}"
                log.check(f"embed-finder-{label}", frame)
                embed.locator(".pick-list button", has_text="Data Scientist").first.press("Enter")
                expect(embed.locator("h1[data-app-name]")).to_be_visible()
                expect(embed.locator("[data-attachments] table")).to_be_visible()
                if accent == "#3b2f7a":
                    fill_queue(frame, sandbox)
                log.check(f"embed-application-{label}", frame)
                if accent in ("#3b2f7a", "#ffee00"):
                    tall_screenshot(page, f"axe-embed-{accent[1:]}-{theme}.png")
        log.save("embed")
        assert not log.summary(), log.summary()
    finally:
        context.close()


def test_a_candidate_level_ats_is_explained_once_without_ids(page, portal, sandbox):
    """Kombo's list warning names the raw candidate id and repeats our own note: not shown."""
    sign_in_page(page, portal.url)
    open_application(page, portal.url, sandbox.iid("candidate_level"))
    name = unique("Profile CV") + ".pdf"
    row = add_file(page, name, samples.pdf(name))
    page.click("[data-upload-submit]")
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".qi-detail .qi-hint")).to_have_text(
        "Bullhorn keeps this file on the candidate's profile, not on this application."
    )
    expect(page.locator("[data-attachments] tr.is-new")).to_contain_text("Candidate profile")
    text = page.locator("main").inner_text()
    assert "stores attachments on the candidate" not in text
    assert text.count("keeps this file on the candidate's profile") == 1
    ids = page.eval_on_selector_all(
        "[data-attachments] tr[data-id]", "(trs) => trs.map((t) => t.dataset.id)"
    )
    assert ids and not any(i in text for i in ids)
    assert not re.search(r"\b[1-9A-HJ-NP-Za-km-z]{24}\b", text), text


# -- languages ------------------------------------------------------------------------------


def _english_on(page: Any, lang: str) -> list[str]:
    """English sentences of the source catalogue visible in the page (its text and labels)."""
    from test_i18n import PROPER, _english_fragments

    fragments, _ = _english_fragments(lang)
    text = page.evaluate(
        """() => [document.body.innerText,
                 ...[...document.querySelectorAll('[aria-label],[title],[placeholder]')]
                   .map((e) => [e.getAttribute('aria-label'), e.title, e.placeholder].join(' '))]
                 .join('\\n')"""
    )
    plain = PROPER.sub("", text)
    return [f for f in fragments if f in plain]


def test_upload_flow_in_german(browser, watch, portal, sandbox):
    """A recruiter in Germany (de-DE browser, the German choice remembered): every message of the
    upload flow, from the browser and from the server, in German; no English on the page."""
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE", timezone_id="Europe/Berlin")
    context.add_cookies([{"name": "portal_lang", "value": "de", "url": portal.url}])
    page = watch.attach(context.new_page())
    try:
        sign_in_page(page, portal.url)
        open_application(page, portal.url, sandbox.iid("full"))
        assert page.evaluate("document.documentElement.lang") == "de"
        expect(page.locator(".lang-switch [aria-current]")).to_have_text("Deutsch")
        expect(page.locator("[data-choose]")).to_have_text("Dateien auswählen")

        # A good file: queued, sent, confirmed, announced, listed (date in German format).
        name = unique("Lebenslauf") + ".pdf"
        row = add_file(page, name, samples.pdf(name))
        expect(page.locator("[data-live]")).to_contain_text(f"1 Datei hinzugefügt: {name}")
        expect(page.locator("[data-upload-submit]")).to_have_text("1 Datei zu Greenhouse hochladen")
        page.click("[data-upload-submit]")
        expect(row).to_have_attribute("data-state", "done")
        expect(row).to_contain_text("Zu Greenhouse hochgeladen")
        expect(page.locator("[data-live]")).to_contain_text(
            f"{name} wurde zu Greenhouse hochgeladen."
        )
        new = page.locator("[data-attachments] tr.is-new")
        expect(new.first.locator(".new-badge")).to_have_text("Neu")
        expect(new.first.locator("time")).to_have_text(
            re.compile(r"^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$")
        )

        # An empty file: the browser's own German hint, never sent.
        empty = unique("Leer") + ".pdf"
        empty_row = add_file(page, empty, b"")
        expect(empty_row.locator(".qi-hint")).to_have_text(
            "Diese Datei ist leer (0 Byte), es gibt also nichts zu senden. "
            "Wählen Sie die Datei noch einmal oder eine andere."
        )
        empty_row.get_by_role("button", name=f"Entfernen {empty}").click()

        # A refusal from the server: its German message, verbatim; German actions.
        bad = unique("Anschreiben mit Makros") + ".docx"
        bad_row = add_file(
            page, bad, samples.docx("Sehr geehrte Damen und Herren", macros=True), ""
        )
        bad_row.locator("select").select_option("COVER_LETTER")
        with page.expect_response(lambda r: is_upload(r.request)) as resp:
            page.click("[data-upload-submit]")
        error = resp.value.json()["error"]
        assert error["code"] == "file_macros"
        assert error["message"].startswith(f"„{bad}“ enthält Makros"), error["message"]
        expect(bad_row.locator(".qi-error")).to_have_text(error["message"])
        expect(bad_row.locator(".qi-ref")).to_contain_text(f"Referenz {error['reference']}")
        expect(page.locator("[data-live]")).to_contain_text(
            f"{bad} wurde nicht hochgeladen: {error['message']}"
        )
        expect(bad_row.get_by_role("button", name=f"Andere Datei wählen {bad}")).to_be_visible()
        assert _english_on(page, "de") == []

        # The switcher: a link, no script needed; the page comes back in French.
        page.click(".lang-switch a[lang=fr]")
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.lang") == "fr"
        expect(page.locator("[data-choose]")).to_have_text("Choisir des fichiers")
        assert _english_on(page, "fr") == []
    finally:
        context.close()


def test_embed_in_the_partners_language(browser, watch, embed_portal, partner, sandbox):
    """The partner asks for French (token claim and ?locale=): the embed speaks French to an
    English browser, with no cookie (test_i18n checks the session's server messages)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = watch.attach(context.new_page())
    try:
        page.goto(f"{partner}/")
        _portal_frame(page, embed_portal.url)
        page.select_option("#locale", "fr")
        page.click("#embed-form button[type=submit]")
        page.wait_for_function(
            "() => document.getElementById('portal-frame').src.includes('locale=fr')"
        )
        frame = _portal_frame(page, embed_portal.url)
        frame.wait_for_function("() => document.documentElement.lang === 'fr'")
        embed = page.frame_locator("#portal-frame")
        expect(embed.locator("#finder-title")).to_have_text("Trouver la candidature")
        embed.locator("#find-email").fill(EMAIL)
        embed.locator("#find-email").press("Enter")
        expect(embed.locator("[data-results-title]")).to_have_text(f"Candidatures de {EMAIL}")
        expect(embed.locator(".pick-list li").first).to_contain_text("Candidature du ")
        assert _english_on(frame, "fr") == []
    finally:
        context.close()
