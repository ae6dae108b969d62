"""Serving the sandbox: SandboxServer (background thread, for tests and the embedded default)
and serve() (blocking, for the `portal sandbox` CLI)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .catalog import DEFAULT_API_KEY
from .context import Sandbox
from .settings import Settings


class SandboxRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, plus: a reset fault ends the connection cleanly."""

    quiet = False

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        """After a reset fault (or a client hang-up) don't try to read another request from
        the dead socket; that would log a spurious traceback."""
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Per-request access log, unless quiet (tests)."""
        if not self.quiet:
            super().log_request(code, size)


class _QuietHandler(SandboxRequestHandler):
    quiet = True


class SandboxServer:
    """The Kombo sandbox on a real socket, served by a daemon thread.

    >>> srv = SandboxServer(port=0).start()
    >>> srv.base_url      # 'http://127.0.0.1:PORT/v1'
    >>> srv.stop()
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        applications: int = 200,
        host: str = "127.0.0.1",
        port: int = 0,
        concurrency_limit: int = 30,
        quiet: bool = True,
        settings: Settings | None = None,
        variants: bool = False,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.app: Flask = create_app(
            api_key=api_key,
            applications=applications,
            concurrency_limit=concurrency_limit,
            settings=settings,
            variants=variants,
        )
        self.sandbox: Sandbox = self.app.extensions["kombo_sandbox"]
        handler = _QuietHandler if quiet else SandboxRequestHandler
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=handler
        )
        self.port: int = self._server.socket.getsockname()[1]
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        """http://HOST:PORT (the resources host lives here too)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """http://HOST:PORT/v1, what a Kombo client uses as its base URL."""
        return f"{self.root_url}/v1"

    def integration_id(self, behaviour: str) -> str:
        """The integration ID seeded for a behaviour name (see BEHAVIOURS)."""
        try:
            return self.sandbox.dataset.id_by_behaviour[behaviour]
        except KeyError:
            known = ", ".join(self.sandbox.dataset.id_by_behaviour)
            raise KeyError(f"unknown behaviour {behaviour!r}; known: {known}") from None

    def wait_ready(self) -> float:
        """Block until every integration is seeded; returns the seconds waited."""
        started = time.perf_counter()
        self.sandbox.dataset.warm()
        return time.perf_counter() - started

    def start(self) -> SandboxServer:
        """Serve in a background daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=f"kombo-sandbox-{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted; cleans up like stop() afterwards."""
        try:
            self._server.serve_forever()
        finally:
            self.sandbox.state.close()
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving, wake delayed calls and delete stored uploads."""
        self.sandbox.state.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8790,
    api_key: str = DEFAULT_API_KEY,
    applications: int = 200,
    variants: bool = False,
) -> None:
    """Run the sandbox in the foreground until interrupted (the `portal sandbox` command)."""
    started = time.perf_counter()
    srv = SandboxServer(
        api_key=api_key,
        applications=applications,
        host=host,
        port=port,
        quiet=False,
        variants=variants,
    )
    print(
        f"Kombo sandbox listening on {srv.base_url} (API key {api_key!r}), "
        f"started in {time.perf_counter() - started:.2f}s; seeding continues in background.",
        flush=True,
    )
    for iid, b in srv.sandbox.dataset.behaviour_by_id.items():
        print(f"  {b.name:16} {iid:40} {b.label} / {b.organization}", flush=True)
    if threading.current_thread() is threading.main_thread():
        # Process managers stop us with SIGTERM; exit through serve_forever's cleanup so that
        # the upload directory (possibly GBs after a load test) doesn't stay behind in /tmp.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop
        srv.serve_forever()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
