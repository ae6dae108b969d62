"""Kombo sandbox: a strict emulator of the part of Kombo's unified ATS API the portal uses.

It is the embedded default the portal runs against without an API key, and the real HTTP
server every test talks to.

Interface::

    from portal.sandbox import SandboxServer, create_app, serve, DEFAULT_API_KEY
    srv = SandboxServer(api_key=DEFAULT_API_KEY, applications=200, host="127.0.0.1", port=0,
                        concurrency_limit=30).start()
    srv.base_url              # http://127.0.0.1:PORT/v1
    srv.root_url              # http://127.0.0.1:PORT
    srv.integration_id("full")
    srv.stop()

Kombo endpoints (under /v1; Bearer key required; /ats/* also need X-Integration-Id):
check-api-key, integrations/{id}, ats/actions/ats_add_application_attachment,
ats/applications, ats/candidates, ats/jobs, ats/candidates/{id}/attachments,
ats/applications/{id}/attachments (GET and POST). Files behind every data_url:
GET /resources/{attachment_id}, no auth.

HTTP statuses (Kombo documents only 429 and 409; clients must branch on error.code):
401 PLATFORM.AUTHENTICATION_INVALID (missing/wrong key) · 400 PLATFORM.INPUT_INVALID (bad
query/body/cursor, missing X-Integration-Id) · 404 PLATFORM.INTEGRATION_NOT_FOUND (unknown
integration) · 404 PLATFORM.INPUT_INVALID (unknown or malformed candidate/application ID, or
one of another integration) · 403 INTEGRATION.AUTHENTICATION_INVALID (integration status
INVALID) · 400 INTEGRATION.ACTION_NOT_AVAILABLE · 400 REMOTE.INPUT_INVALID (the ATS's own
restrictions, data_url fetch failures) · 413 PLATFORM.INPUT_INVALID (body > 200 MB) ·
429 PLATFORM.CONCURRENCY_LIMIT_EXCEEDED · 504 PLATFORM.TASK_TIMED_OUT (delay fault with
apply=false) · 404/405 minimal envelope (code null) for unknown routes.

Test control (no auth): GET /_sandbox/integrations, GET /_sandbox/uploads,
GET|DELETE /_sandbox/requests, GET|POST|DELETE /_sandbox/faults, POST /_sandbox/reset.
A fault is ``{"endpoint": <operation>, "count": 1, "integration_id": optional, <kind>}``
(or a list of them) where the kind is one of: ``"status"`` (+ ``code``/``title``/
``message``/``retry_after``) for an error envelope; ``"body": "html"|"malformed"|
"truncated"`` (+ optional ``status``, default 200); ``"delay": seconds``; ``"reset":
"before_body"|"after_body"``; ``"redirect": url`` (+ optional 3xx ``status``); ``"respond":
{"status", "headers", "body"}`` for exactly that answer (a string body as is, anything else as
JSON), to feed what a proxy or an ATS might send. Upload faults take ``"apply"``: default false,
except true for delay and reset after_body.

Runtime settings (GET|POST|DELETE /_sandbox/settings, see settings.py): ``max_body_bytes`` and
``too_large`` ("json" or "html": an edge's 413 page), ``rate_limit`` per ``rate_window`` seconds
(every /v1 answer carries ratelimit-limit/-remaining/-reset; over the window:
429 PLATFORM.RATE_LIMIT_EXCEEDED with Retry-After), ``file_host`` (serve every data_url through
a 302 to a signed link on that alias, e.g. localhost: a second host), ``resources_need_key``
(401 without the API key), ``sync_delay``. POST /_sandbox/applications creates an application
that Kombo lists only after its sync delay; POST /_sandbox/sync ends every delay.
``SandboxServer(variants=True)`` adds the ``messy`` integration (data.py, catalog.MESSY).

Lists come in id order, which is stable but unrelated to dates: Kombo documents no order.

Where the sandbox stays stricter than the spec, on purpose (a portal that passes a strict
check works against a lenient Kombo; the reverse is not true):
unknown body fields are refused (the spec lists the fields and says nothing of extras);
a blank list filter such as ``statuses=`` is a 400 (the spec's comma-separated lists have no
empty item); whitespace in base64 ``data`` is refused (the spec says base64, and ATSs differ on
line breaks).
"""

from .app import create_app
from .catalog import BEHAVIOURS, DEFAULT_API_KEY, DEMO_CANDIDATES
from .faults import OPERATIONS
from .server import SandboxServer, serve
from .settings import Settings

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_API_KEY",
    "DEMO_CANDIDATES",
    "OPERATIONS",
    "SandboxServer",
    "Settings",
    "create_app",
    "serve",
]
