"""The `portal` command: serve the portal (on the sandbox when no Kombo key is set), run the
sandbox alone, mint an embed or revocation token for trying the embed, hash a staff password."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess  # only to start our own sandbox and demo partner  # nosec B404
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import requests

DEMO_STAFF = ("staff@sandbox.local", "sandbox-demo")
DEMO_PARTNER = "demo-partner"
# Sandbox mode only (a local demo): fixed so `portal embed-token` works against a running sandbox.
DEMO_PARTNER_SECRET = "sandbox-demo-partner-secret-not-for-production"  # noqa: S105  # nosec B105
# The demo partner may use these sandbox integrations, not all: the embed shows tenant scoping.
DEMO_PARTNER_BEHAVIOURS = ("full", "restricted", "candidate_level", "no_list")


@click.group()
def main() -> None:
    """The attachment portal."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.option(
    "--applications", default=200, show_default=True, help="Sandbox size per integration."
)
def serve(host: str, port: int, dev: bool, applications: int) -> None:
    """Run the portal. Without KOMBO_API_KEY it runs on a local Kombo sandbox, with demo accounts."""
    children: list[subprocess.Popen[bytes]] = []
    sandbox_mode = not (os.environ.get("KOMBO_API_KEY") or os.environ.get("PORTAL_KOMBO_API_KEY"))
    try:
        if sandbox_mode:
            _setup_sandbox_mode(host, port, applications, children)
        _default_store()
        _check_config()
        if dev:
            from portal import create_app

            create_app().run(host=host, port=port, threaded=True, use_reloader=False)
        else:
            _gunicorn(f"{host}:{port}")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


def _setup_sandbox_mode(host: str, port: int, applications: int, children: list[Any]) -> None:
    """Start the sandbox and the demo partner next to the portal and point the portal at them."""
    from portal.sandbox import DEFAULT_API_KEY

    sandbox_port = _free_port()
    children.append(
        _spawn(["sandbox", "--port", str(sandbox_port), "--applications", str(applications)])
    )
    sandbox_root = f"http://127.0.0.1:{sandbox_port}"
    integrations = _wait_for_sandbox(sandbox_root)
    secret = DEMO_PARTNER_SECRET
    # Next to the portal's port when free, so the address is easy to remember; else any free one.
    partner_port = port + 1 if port < 65535 and _port_is_free(port + 1) else _free_port()
    partner_origin = f"http://localhost:{partner_port}"
    portal_url = f"http://{_browser_host(host)}:{port}"
    partner_integrations = [
        i["id"] for i in integrations if i["behaviour"] in DEMO_PARTNER_BEHAVIOURS
    ]
    env = {
        "PORTAL_SANDBOX": "true",
        "PORTAL_KOMBO_API_KEY": DEFAULT_API_KEY,
        "PORTAL_KOMBO_BASE_URL": sandbox_root + "/v1",
        "PORTAL_KOMBO_DOWNLOAD_HOSTS": json.dumps(["127.0.0.1"]),
        "PORTAL_INTEGRATIONS": json.dumps([i["id"] for i in integrations]),
        "PORTAL_SECRET_KEY": os.environ.get("PORTAL_SECRET_KEY") or secrets.token_urlsafe(32),
        "PORTAL_PARTNERS": json.dumps(
            {
                DEMO_PARTNER: {
                    "secrets": [secret],
                    "origins": [partner_origin],
                    "integrations": partner_integrations,
                }
            }
        ),
        "PORTAL_DEMO_STAFF_HINT": f"{DEMO_STAFF[0]} / {DEMO_STAFF[1]}",
    }
    if not os.environ.get("PORTAL_STAFF_ACCOUNTS"):
        from werkzeug.security import generate_password_hash

        env["PORTAL_STAFF_ACCOUNTS"] = json.dumps(
            {DEMO_STAFF[0]: generate_password_hash(DEMO_STAFF[1])}
        )
    os.environ.update(env)
    partner_env = {
        "DEMO_PARTNER_ID": DEMO_PARTNER,
        "DEMO_PARTNER_SECRET": secret,
        "DEMO_PARTNER_INTEGRATIONS": json.dumps(partner_integrations),
        "DEMO_PORTAL_URL": portal_url,
    }
    partner = _spawn(["demo-partner", "--port", str(partner_port)], partner_env)
    children.append(partner)
    # Announce only what answers: the banner's partner link must work the moment it is printed.
    partner_line = (
        f"  Partner demo:  {partner_origin}   (embeds the portal in an iframe, another origin)"
    )
    if not _wait_until_listening(partner, partner_port):
        partner_line = "  Partner demo:  did not start (see its error above)"
    click.echo(
        "\n".join(
            [
                "",
                "  Sandbox mode: no KOMBO_API_KEY is set, so the portal talks to a local Kombo sandbox",
                f"  ({sandbox_root}, {len(integrations)} integrations, {applications} applications each).",
                f"  Portal:        {portal_url}   staff sign-in: {DEMO_STAFF[0]} / {DEMO_STAFF[1]}",
                partner_line,
                "  Try e-mail:    ada.lovelace@example.com",
                "",
            ]
        ),
        err=True,
    )


def _default_store() -> None:
    """Every worker must share used tokens, sessions and throttles: without PORTAL_STATE_PATH
    or PORTAL_REDIS_URL, a SQLite file in a folder only we can read (mkdtemp: mode 0700)."""
    if not (os.environ.get("PORTAL_STATE_PATH") or os.environ.get("PORTAL_REDIS_URL")):
        folder = Path(tempfile.mkdtemp(prefix="portal-"))
        os.environ["PORTAL_STATE_PATH"] = str(folder / "state.sqlite3")


def _browser_host(host: str) -> str:
    """Where a browser on this machine reaches a server listening on `host`."""
    try:
        return "127.0.0.1" if ipaddress.ip_address(host).is_unspecified else host
    except ValueError:
        return host


def _spawn(args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, **(extra_env or {})}
    return subprocess.Popen([sys.executable, "-m", "portal.cli", *args], env=env)  # noqa: S603 - our interpreter, our module  # nosec B603


def _wait_for_sandbox(root: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.get(root + "/_sandbox/integrations", timeout=2).json()
        except (requests.RequestException, ValueError):
            if time.monotonic() > deadline:
                raise click.ClickException("the sandbox did not start within 60 s") from None
            time.sleep(0.1)


def _wait_until_listening(child: subprocess.Popen[bytes], port: int, limit: float = 60) -> bool:
    """Wait until `child` accepts connections on 127.0.0.1:`port`; False if it exits first."""
    deadline = time.monotonic() + limit
    while child.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_config() -> None:
    """Fail here, with the reason, rather than in every gunicorn worker."""
    from portal import create_app

    try:
        create_app()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


def _gunicorn(bind: str) -> None:
    from gunicorn.app.wsgiapp import WSGIApplication

    conf = Path(__file__).with_name("gunicorn_conf.py")
    sys.argv = ["gunicorn", "--config", str(conf), "--bind", bind, "portal:create_app()"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option(
    "--api-key", default=None, help="The bearer key clients must send (default: sandbox-api-key)."
)
@click.option(
    "--applications", default=200, show_default=True, help="Applications per integration."
)
@click.option(
    "--variants",
    is_flag=True,
    help="Add the 'messy' integration: nulls, unknown types, many scripts, 3,000 attachments.",
)
def sandbox(host: str, port: int, api_key: str | None, applications: int, variants: bool) -> None:
    """Run the Kombo sandbox alone (an emulator of the Kombo API endpoints the portal uses)."""
    from portal.sandbox import DEFAULT_API_KEY, serve

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(
        host=host,
        port=port,
        api_key=api_key or DEFAULT_API_KEY,
        applications=applications,
        variants=variants,
    )


@main.command("demo-partner")
@click.option("--port", default=8001, show_default=True, type=int)
def demo_partner(port: int) -> None:
    """Run the demo partner app (used by `portal serve` in sandbox mode)."""
    from portal.demo_partner import create_partner_app

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    create_partner_app().run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


@main.command("embed-token")
@click.option("--partner", required=True, help="Partner id from PORTAL_PARTNERS.")
@click.option("--integration", required=True, help="Integration id the token is locked to.")
@click.option("--application", default=None, help="Lock the session to one application.")
@click.option("--ttl", default=300, show_default=True, type=click.IntRange(1, 600), help="Seconds.")
@click.option("--user", default=None, help="A label for the partner's user.")
@click.option("--scope", default="upload,list,download", show_default=True)
@click.option("--parent-origin", default=None, help="The origin that frames the portal.")
def embed_token(
    partner: str,
    integration: str,
    application: str | None,
    ttl: int,
    user: str | None,
    scope: str,
    parent_origin: str | None,
) -> None:
    """Print a signed embed token, as a partner's backend would mint it (token alone on stdout)."""
    from portal.tokens import mint_embed_token

    partners = _partners()
    if partner not in partners:
        raise click.ClickException(f"unknown partner {partner!r}: set PORTAL_PARTNERS")
    token = mint_embed_token(
        partner,
        integration,
        secret=partners[partner]["secrets"][-1],
        application_id=application,
        user=user,
        scope=[s.strip() for s in scope.split(",") if s.strip()],
        ttl=ttl,
        parent_origin=parent_origin,
    )
    click.echo(token)


@main.command("revoke-token")
@click.option("--partner", required=True, help="Partner id from PORTAL_PARTNERS.")
@click.option("--user", default=None, help="End only this user's sessions (the embed token's sub).")
def revoke_token(partner: str, user: str | None) -> None:
    """Print a revocation token, as a partner's backend would sign it to end its sessions
    (POST it as {"token": ...} to /api/v1/embed/revoke)."""
    from portal.tokens import mint_revoke_token

    partners = _partners()
    if partner not in partners:
        raise click.ClickException(f"unknown partner {partner!r}: set PORTAL_PARTNERS")
    click.echo(mint_revoke_token(partner, secret=partners[partner]["secrets"][-1], user=user))


def _partners() -> dict[str, Any]:
    raw = os.environ.get("PORTAL_PARTNERS")
    if not raw:  # nothing configured: the sandbox's demo partner
        return {DEMO_PARTNER: {"secrets": [DEMO_PARTNER_SECRET]}}
    try:
        partners = json.loads(raw)
    except ValueError:
        raise click.ClickException("PORTAL_PARTNERS is not valid JSON") from None
    return partners if isinstance(partners, dict) else {}


@main.command("hash-password")
@click.password_option()
def hash_password(password: str) -> None:
    """Print a password hash for PORTAL_STAFF_ACCOUNTS."""
    from werkzeug.security import generate_password_hash

    click.echo(generate_password_hash(password))


if __name__ == "__main__":
    main()
