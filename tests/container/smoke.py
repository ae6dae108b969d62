"""Checks run inside the built image (its own Python, its own `requests`): /healthz, the
sandbox-mode home page after signing in as the demo staff, and a real upload through the portal."""

from __future__ import annotations

import re
import sys
import time

import requests

from portal.sandbox.files import minimal_pdf  # the image's own package

BASE = sys.argv[1].rstrip("/")
STAFF = ("staff@sandbox.local", "sandbox-demo")  # portal/cli.py DEMO_STAFF (sandbox mode only)
PDF = minimal_pdf(["Container check", "A real upload through the image"])


def wait_healthy() -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(BASE + "/healthz", timeout=2).json() == {"status": "ok"}:
                print("smoke: /healthz ok")
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    sys.exit("smoke: /healthz never answered")


def main() -> None:
    wait_healthy()
    http = requests.Session()
    signin = http.get(BASE + "/signin", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', signin)
    assert token, "no CSRF token on the sign-in page"
    resp = http.post(
        BASE + "/signin",
        data={"csrf_token": token.group(1), "email": STAFF[0], "password": STAFF[1]},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302, f"sign-in failed: {resp.status_code}"
    home = http.get(BASE + "/", timeout=30)
    assert home.status_code == 200 and 'href="/i/' in home.text, (
        "the home page lists no integration"
    )
    print("smoke: sandbox-mode home page ok")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)
    integrations = http.get(BASE + "/api/v1/integrations", timeout=30).json()["integrations"]
    iid = next(i["id"] for i in integrations if i["upload"]["available"])
    apps = http.get(f"{BASE}/api/v1/integrations/{iid}/applications", timeout=30).json()
    aid = apps["applications"][0]["id"]
    name = f"container-check-{int(time.time())}.pdf"
    up = http.post(
        f"{BASE}/api/v1/integrations/{iid}/applications/{aid}/attachments",
        files={"file": (name, PDF, "application/pdf")},
        data={"type": "CV"},
        headers={"X-CSRFToken": csrf},
        timeout=60,
    )
    assert up.status_code == 201, f"upload failed: {up.status_code} {up.text[:300]}"
    listed = http.get(
        f"{BASE}/api/v1/integrations/{iid}/applications/{aid}/attachments", timeout=30
    )
    assert any(a["name"] == name for a in listed.json()["attachments"]), "upload not listed"
    print(f"smoke: uploaded {name} to {iid}/{aid}; the ATS lists it")


if __name__ == "__main__":
    main()
