"""The package and its command line, as a new user meets them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jwt
import pytest
import requests
from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_templates_static_and_gunicorn_config(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every template and asset of the checkout is in the wheel (a new folder must be listed).
    for folder, prefix in (("templates", "portal/templates/"), ("static", "portal/static/")):
        for path in (ROOT / folder).rglob("*.*"):
            assert prefix + path.relative_to(ROOT / folder).as_posix() in names, path
    # Every catalogue, source and compiled: without the .mo a German user reads English.
    catalogues = list((ROOT / "portal" / "translations").rglob("*.[mp]o"))
    assert len(catalogues) >= 4, catalogues
    for path in catalogues:
        assert path.relative_to(ROOT).as_posix() in names, path
    for required in (
        "portal/translations/de/LC_MESSAGES/messages.mo",
        "portal/translations/fr/LC_MESSAGES/messages.mo",
        "portal/templates/base.html",
        "portal/templates/pages/application.html",
        "portal/static/portal.js",
        "portal/static/portal.css",
        "portal/gunicorn_conf.py",
        "portal/sandbox/__init__.py",
    ):
        assert required in names, required


def test_embed_token_prints_only_a_token():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "KOMBO_"))}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "portal.cli",
            "embed-token",
            "--partner",
            "demo-partner",
            "--integration",
            "greenhouse:x",
            "--ttl",
            "120",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    token = out.strip()
    assert out.count("\n") == 1 and token.count(".") == 2
    from portal.cli import DEMO_PARTNER_SECRET

    claims = jwt.decode(
        token, DEMO_PARTNER_SECRET, algorithms=["HS256"], audience="attachment-portal"
    )
    assert claims["integration_id"] == "greenhouse:x" and claims["exp"] - claims["iat"] == 120


def test_real_mode_refuses_to_start_without_secret_and_integrations():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "KOMBO_"))}
    env["KOMBO_API_KEY"] = "real-key"
    proc = subprocess.run(
        [sys.executable, "-m", "portal.cli", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "PORTAL_SECRET_KEY" in proc.stderr and "PORTAL_INTEGRATIONS" in proc.stderr
    assert "real-key" not in proc.stderr + proc.stdout


@pytest.mark.timeout(150)
def test_portal_serve_runs_on_the_sandbox_with_a_demo_partner(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "KOMBO_"))}
    # A file, not a pipe: nobody reads while it runs, and three processes log to it.
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--port", str(port), "--applications", "50"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "portal serve did not come up"
            time.sleep(0.2)

        session = requests.Session()
        page = session.get(base + "/signin", timeout=10).text
        assert "Sandbox" in page
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = session.post(
            base + "/signin",
            data={"csrf_token": token, "email": "staff@sandbox.local", "password": "sandbox-demo"},
            timeout=10,
        )
        assert resp.status_code == 200 and "Choose a customer" in resp.text
        # The banner is printed before the portal starts, and only once the partner listens:
        # the address it gives must answer now.
        banner = (tmp_path / "serve.log").read_text()
        partner_url = re.search(r"Partner demo:\s+(http://localhost:\d+)", banner).group(1)
        partner = requests.get(partner_url + "/", timeout=10)
        assert partner.status_code == 200 and f"127.0.0.1:{port}" in partner.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert "Sandbox mode" in (tmp_path / "serve.log").read_text()
