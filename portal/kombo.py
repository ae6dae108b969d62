"""Client for the part of Kombo's unified ATS API that the portal uses.

Written on `requests` rather than the official SDK because the SDK holds the whole
file and its base64 in memory (several copies), cannot stream a download, has
closed enums that break on new error codes, and does not expose the upload
restrictions endpoint. One method per endpoint; one `_request` owns timeouts,
retries, the warnings and the error envelope. Nothing here imports Flask.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import IO, Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from portal.numbers import parse_count

log = logging.getLogger(__name__)
T = TypeVar("T")

BASE_URLS = {"eu": "https://api.kombo.dev/v1", "us": "https://api.us.kombo.dev/v1"}
USER_AGENT = "attachment-portal/0.1"

# -- what each Kombo error code means (the one home of this classification) ---------------
# Kombo's errors guide: "generally safe to retry" (or, for concurrency, with backoff).
RETRYABLE_CODES = frozenset(
    {
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
        "REMOTE.RATE_LIMIT_EXCEEDED",
        "REMOTE.SERVICE_UNAVAILABLE",
    }
)
# Refused at Kombo's edge before the ATS was touched: a write with one of these
# was certainly not applied, so it may be sent again.
EDGE_REFUSALS = frozenset({"PLATFORM.RATE_LIMIT_EXCEEDED", "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"})
# Not described by Kombo; the write may or may not have reached the ATS.
AMBIGUOUS_CODES = frozenset({"PLATFORM.TASK_TIMED_OUT", "REMOTE.SERVICE_UNAVAILABLE"})
# Failures that say the ATS or Kombo is down right now (what a circuit breaker counts).
DOWN_CODES = frozenset(
    {"REMOTE.SERVICE_UNAVAILABLE", "PLATFORM.UNKNOWN_ERROR", "PLATFORM.TASK_TIMED_OUT"}
)
# "This ATS (connection) cannot do / list this": a property of the integration, not a failure.
NOT_AVAILABLE_CODES = frozenset(
    {
        "INTEGRATION.ACTION_NOT_AVAILABLE",
        "INTEGRATION.ACTION_DISABLED",
        "INTEGRATION.MODEL_NOT_AVAILABLE",
        "INTEGRATION.MODEL_DISABLED",
        "INTEGRATION.PERMISSION_MISSING",
    }
)
RATE_LIMIT_CODES = frozenset(
    {
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
        "REMOTE.RATE_LIMIT_EXCEEDED",
    }
)

KOMBO_ID_ALPHABET = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
# Where Kombo serves files from: its own hosts in every region (resources.kombo.dev,
# resources.us.kombo.dev, ...). The key may go to these, never anywhere else.
KOMBO_DOMAIN = "kombo.dev"
# Object storage that signed download URLs live on (see _is_storage_host). Never sent the key.
GCS_HOST = "storage.googleapis.com"
MAX_REDIRECTS = 3
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_kombo_id(value: object) -> bool:
    """True for a 24-character base58 Kombo id (applications, candidates, attachments)."""
    return isinstance(value, str) and len(value) == 24 and set(value) <= KOMBO_ID_ALPHABET


@dataclass(frozen=True)
class RateLimit:
    """Kombo's `ratelimit-*` headers (its guides document them; all optional)."""

    limit: int | None
    remaining: int | None
    reset: float | None  # seconds until the window resets


class KomboError(Exception):
    """An error from Kombo (its error envelope) or from talking to it.

    Every question a caller asks about an error is a property here (one home):
    `retryable` (a read may be sent again), `edge_refused` (refused before the ATS was
    touched), `maybe_applied` (a write may have reached the ATS: reconcile first),
    `means_down` (counts toward a circuit breaker), `not_available` (this ATS cannot do
    this), `too_large`, `rate_limited`, `not_found`.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        log_url: str | None = None,
        retry_after: float | None = None,
        maybe_applied: bool = False,
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.title = title
        self.log_url = log_url
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied
        self.rate_limit = rate_limit

    @property
    def retryable(self) -> bool:
        """Whether a read may simply be sent again: 429, any 5xx, or a code Kombo says is safe."""
        if self.code in RETRYABLE_CODES:
            return True
        return self.status is not None and (self.status == 429 or self.status >= 500)

    @property
    def edge_refused(self) -> bool:
        """Refused before the ATS was touched (rate or concurrency limit, body too large)."""
        if self.code in EDGE_REFUSALS:
            return True
        return self.code is None and self.status in (413, 429)

    @property
    def means_down(self) -> bool:
        """Whether this says the ATS or Kombo is down (never a refusal of this request)."""
        if self.code in DOWN_CODES:
            return True
        return self.code is None and self.status is not None and self.status >= 500

    @property
    def not_available(self) -> bool:
        """This ATS (or this connection) cannot do or list this: not a failure of the moment."""
        return self.code in NOT_AVAILABLE_CODES

    @property
    def too_large(self) -> bool:
        """The request body was refused for its size (an edge's HTML 413 or Kombo's JSON)."""
        return self.status == 413

    @property
    def rate_limited(self) -> bool:
        """Refused for going too fast; `retry_after` says when to come back, if known."""
        return self.code in RATE_LIMIT_CODES or self.status == 429

    def __str__(self) -> str:
        return f"[{self.code or self.status}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class KomboConnectionError(KomboError):
    """Kombo could not be reached, or the connection broke, or it was too slow."""

    def __init__(self, message: str, *, never_connected: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.never_connected = never_connected

    @property
    def retryable(self) -> bool:
        return True

    @property
    def edge_refused(self) -> bool:
        return self.never_connected  # nothing was sent

    @property
    def means_down(self) -> bool:
        return True


class KomboBadResponse(KomboError):
    """Kombo answered with something that is not its documented JSON (an HTML error page, garbage)."""

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    @property
    def means_down(self) -> bool:
        # A garbled success or a 5xx page: Kombo is broken. An edge's 4xx page is a refusal.
        return self.status is None or self.status < 300 or self.status >= 500


@dataclass(frozen=True)
class Result:
    """A successful response: its `data` and Kombo's `warnings` (messages)."""

    data: Any
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint."""

    results: list[dict[str, Any]]
    next: str | None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Timeouts:
    """Connect/read timeouts, overall deadlines and the retry policy, in seconds."""

    connect: float = 3.05
    read: float = 20.0
    write_read: float = 300.0  # Kombo's own SDK allows write actions 300 s.
    read_deadline: float = 30.0  # all attempts of one read, backoff included
    max_retry_after: float = 5.0  # longer Retry-After: give up and tell the user when
    attempts: int = 4  # first try included
    backoff_base: float = 0.5  # full jitter: uniform(0, min(cap, base * 2**n))
    backoff_cap: float = 4.0


class Base64JSONBody:
    """The add-attachment JSON body, produced from an open file in chunks.

    Neither the file nor its base64 is ever held whole: the body is prefix +
    base64 of 3*64 KiB slices + suffix, and its exact length is known up front so
    requests sends a Content-Length instead of chunked encoding. Iterating again
    starts from the top, so a connect-level retry resends the whole body.
    """

    CHUNK = 3 * 64 * 1024  # a multiple of 3: base64 of each slice has no padding

    def __init__(self, prefix: bytes, fileobj: IO[bytes], size: int, suffix: bytes) -> None:
        self.prefix, self.fileobj, self.size, self.suffix = prefix, fileobj, size, suffix

    def __len__(self) -> int:
        return len(self.prefix) + 4 * ((self.size + 2) // 3) + len(self.suffix)

    def __iter__(self) -> Iterator[bytes]:
        self.fileobj.seek(0)
        yield self.prefix
        sent = 0
        while sent < self.size:
            chunk = self.fileobj.read(min(self.CHUNK, self.size - sent))
            if not chunk:
                raise OSError("the upload shrank while it was being sent")
            sent += len(chunk)
            yield base64.b64encode(chunk)
        yield self.suffix


def _json_string(value: str) -> bytes:
    return json.dumps(value).encode()


def attachment_body(
    *, name: str, type: str, content_type: str, fileobj: IO[bytes], size: int
) -> Base64JSONBody:
    """Build the streamed body of POST /ats/applications/{id}/attachments."""
    prefix = (
        b'{"attachment":{"name":'
        + _json_string(name)
        + b',"type":'
        + _json_string(type)
        + b',"content_type":'
        + _json_string(content_type)
        + b',"data":"'
    )
    return Base64JSONBody(prefix, fileobj, size, b'"},"remote_fields":{}}')


class KomboClient:
    """One client for every integration: the integration is chosen per call.

    `sleep` and `clock` are injectable so that tests of the retry policy need not wait.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BASE_URLS["eu"],
        timeouts: Timeouts | None = None,
        download_hosts: frozenset[str] = frozenset(),
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_key:
            raise ValueError("a Kombo API key is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.pool_size = pool_size
        self._sleep, self._clock = sleep, clock
        self._api_host = (urlsplit(self.base_url).hostname or "").lower()
        # Extra data_url hosts from configuration (PORTAL_KOMBO_DOWNLOAD_HOSTS); never user input.
        self.download_hosts = frozenset(h.lower().strip() for h in download_hosts if h.strip())
        self._local = threading.local()
        #: Called after each HTTP attempt of an API call with (integration_id, response or None
        #: when the transport failed): the portal reads `Concurrency-Limit` and counts attempts.
        self.on_attempt: Callable[[str | None, requests.Response | None], None] | None = None

    def __repr__(self) -> str:
        return f"KomboClient(base_url={self.base_url!r})"  # never the key

    # -- endpoints -------------------------------------------------------------

    def check_api_key(self) -> Result:
        """GET /check-api-key: which environment the key belongs to."""
        return self._request("GET", "/check-api-key")

    def get_integration(self, integration_id: str) -> Result:
        """GET /integrations/{id}: tool, organisation, status, write actions."""
        return self._request("GET", f"/integrations/{_path(integration_id)}")

    def get_upload_restrictions(self, integration_id: str) -> Result:
        """GET /ats/actions/ats_add_application_attachment: what this ATS accepts per type."""
        return self._request(
            "GET", "/ats/actions/ats_add_application_attachment", integration_id=integration_id
        )

    def list_applications(
        self,
        integration_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
        ids: list[str] | None = None,
        job_ids: list[str] | None = None,
        remote_created_after: str | None = None,
    ) -> Page:
        """GET /ats/applications, filtered, one page (in no documented order)."""
        params = _params(
            cursor=cursor,
            page_size=page_size,
            ids=ids,
            job_ids=job_ids,
            remote_created_after=remote_created_after,
        )
        return self._page("/ats/applications", integration_id, params)

    def list_candidates(
        self,
        integration_id: str,
        *,
        email: str | None = None,
        ids: list[str] | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page:
        """GET /ats/candidates by e-mail (case-insensitive, exact) or ids."""
        params = _params(email=email, ids=ids, cursor=cursor, page_size=page_size)
        return self._page("/ats/candidates", integration_id, params)

    def list_jobs(
        self,
        integration_id: str,
        *,
        name_contains: str | None = None,
        statuses: list[str] | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page:
        """GET /ats/jobs by a part of the job name and statuses."""
        params = _params(
            name_contains=name_contains, statuses=statuses, cursor=cursor, page_size=page_size
        )
        return self._page("/ats/jobs", integration_id, params)

    def get_candidate_attachments(self, integration_id: str, candidate_id: str) -> Result:
        """GET /ats/candidates/{id}/attachments: every attachment of the candidate (live).

        An off-spec `results: null` (or a missing list) is read as "none", with a warning
        in the log, so that a page showing them never breaks.
        """
        path = f"/ats/candidates/{_path(candidate_id)}/attachments"
        result = self._request("GET", path, integration_id=integration_id)
        data = result.data if isinstance(result.data, dict) else {}
        results = data.get("results")
        if not isinstance(results, list):
            log.warning(
                "kombo GET %s: data.results is %s, not a list; read as no attachments",
                path,
                type(results).__name__,
            )
            data = {**data, "results": []}
        return Result(
            {**data, "results": [a for a in data["results"] if isinstance(a, dict)]},
            result.warnings,
        )

    def add_application_attachment(
        self,
        integration_id: str,
        application_id: str,
        *,
        name: str,
        type: str,
        content_type: str,
        fileobj: IO[bytes],
        size: int,
    ) -> Result:
        """POST /ats/applications/{id}/attachments, streaming the file as base64 JSON."""
        body = attachment_body(
            name=name, type=type, content_type=content_type, fileobj=fileobj, size=size
        )
        path = f"/ats/applications/{_path(application_id)}/attachments"
        return self._request("POST", path, integration_id=integration_id, body=body)

    def open_download(self, data_url: str) -> requests.Response:
        """Open an attachment's data_url as a stream; the caller must close it.

        Up to MAX_REDIRECTS redirects, each hop to an allowed host over HTTPS (SSRF);
        the API key only ever goes to Kombo's own hosts, only when the plain request is
        refused, and never after a redirect to another host. A GET changes nothing, so
        it is retried like every other read (one policy, in `_retrying`).
        """
        url = self._check_download_url(data_url)
        return self._retrying("GET", "data_url", lambda: self._follow(url), write=False)

    def _follow(self, url: str) -> requests.Response:
        """One attempt at a download: the hops of its redirects, checked one by one."""
        first_host = urlsplit(url).hostname or ""
        for hop in range(MAX_REDIRECTS + 1):
            # The key is for Kombo's hosts, and only as long as we never left the first host.
            key_allowed = self._is_kombo_host(url) and (urlsplit(url).hostname or "") == first_host
            resp = self._get_file(url, with_key=False)
            if resp.status_code in (401, 403) and key_allowed:
                resp.close()
                resp = self._get_file(url, with_key=True)
            if not resp.is_redirect:
                return self._file_response(resp)
            location = resp.headers.get("Location", "")
            resp.close()
            if hop == MAX_REDIRECTS:
                break
            url = self._check_download_url(urljoin(url, location), redirect=True)
        raise KomboError(
            f"The attachment's link redirected more than {MAX_REDIRECTS} times.",
            code="PORTAL.DOWNLOAD_REDIRECT",
        )

    def _get_file(self, url: str, *, with_key: bool) -> requests.Response:
        t = self.timeouts
        try:
            return self._session().get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=(t.connect, t.read),
                headers=self._auth() if with_key else None,
            )
        except requests.RequestException as exc:
            raise _transport_error(exc, sent=False) from None

    def _file_response(self, resp: requests.Response) -> requests.Response:
        if 200 <= resp.status_code < 300:
            return resp
        status = resp.status_code
        headers = resp.headers
        resp.close()
        raise KomboError(
            f"The attachment could not be fetched (HTTP {status}).",
            status=status,
            code="PORTAL.DOWNLOAD_FAILED",
            retry_after=_wait_hint(headers),
            rate_limit=_rate_limit(headers),
        )

    # -- plumbing --------------------------------------------------------------

    def _page(self, path: str, integration_id: str, params: dict[str, str]) -> Page:
        result = self._request("GET", path, integration_id=integration_id, params=params)
        data = result.data if isinstance(result.data, dict) else {}
        results = data.get("results")
        if not isinstance(results, list):
            raise KomboBadResponse("Kombo answered a list request without results.", status=200)
        items = [r for r in results if isinstance(r, dict)]
        nxt = data.get("next") if isinstance(data.get("next"), str) else None
        return Page(results=items, next=nxt, warnings=result.warnings)

    def _request(
        self,
        method: str,
        path: str,
        *,
        integration_id: str | None = None,
        params: Mapping[str, str] | None = None,
        body: Base64JSONBody | None = None,
    ) -> Result:
        """Send one API call with timeouts and safe retries; map the error envelope."""
        t = self.timeouts
        write = method != "GET"
        headers = {**self._auth(), "Accept": "application/json"}
        if integration_id is not None:
            headers["X-Integration-Id"] = integration_id
        if body is not None:
            headers["Content-Type"] = "application/json"
        timeout = (t.connect, t.write_read if write else t.read)

        def attempt() -> Result:
            try:
                resp = self._session().request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                if self.on_attempt is not None:
                    self.on_attempt(integration_id, None)
                raise _transport_error(exc, sent=write) from None
            if self.on_attempt is not None:
                self.on_attempt(integration_id, resp)
            return self._interpret(resp, write=write)

        return self._retrying(method, path, attempt, write=write)

    def _retrying(self, method: str, what: str, attempt: Callable[[], T], *, write: bool) -> T:
        """The one retry loop: every Kombo call and every download goes through it."""
        t = self.timeouts
        deadline = self._clock() + (t.write_read if write else t.read_deadline)
        number = 0
        while True:
            number += 1
            try:
                return attempt()
            except KomboError as err:
                wait = self._retry_wait(err, write=write, attempt=number, deadline=deadline)
                if wait is None:
                    raise
                log.info("kombo %s %s: %s; retrying in %.2fs", method, what, err, wait)
            self._sleep(wait)

    def _retry_wait(
        self, err: KomboError, *, write: bool, attempt: int, deadline: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when we must not retry.

        Reads retry connection errors, 429 and 5xx (any code). A write is resent only
        when it certainly was not applied: never connected, or refused at Kombo's edge.
        Kombo's own hint (Retry-After, ratelimit-reset) wins over the backoff, up to a cap.
        """
        t = self.timeouts
        if not err.retryable or (write and (err.maybe_applied or not err.edge_refused)):
            return None
        # `attempts` bounds guessing (backoff); when Kombo says when to come back (a rate limit
        # with Retry-After or ratelimit-reset), its word is followed until the deadline, so a
        # busy minute is waited out instead of reaching the user as a 429.
        told = err.retry_after is not None and err.retry_after > 0
        if attempt >= (t.attempts * 4 if told else t.attempts):
            return None
        ceiling = min(t.backoff_cap, t.backoff_base * 2 ** (attempt - 1))
        wait = random.uniform(0, ceiling)  # noqa: S311 - full jitter, not security  # nosec B311
        if err.retry_after is not None:
            if err.retry_after > t.max_retry_after:
                return None  # Kombo asks for a long pause: tell the user when to come back.
            wait = err.retry_after
        if self._clock() + wait >= deadline:
            return None
        return wait

    def _interpret(self, resp: requests.Response, *, write: bool) -> Result:
        """Turn an HTTP response into a Result, or raise the KomboError it carries."""
        payload = _json(resp)
        if (
            resp.status_code < 300
            and isinstance(payload, dict)
            and payload.get("status") == "success"
        ):
            warnings = _warnings(payload)
            for message in warnings:
                log.warning(
                    "kombo warning (%s %s): %s", resp.request.method, _path_of(resp), message
                )
            return Result(payload.get("data"), warnings)
        retry_after = _wait_hint(resp.headers) if resp.status_code >= 400 else None
        rate_limit = _rate_limit(resp.headers)
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            status = resp.status_code
            raise KomboBadResponse(
                f"Kombo answered HTTP {status} with an unreadable body.",
                status=status,
                retry_after=retry_after,
                rate_limit=rate_limit,
                # A garbled 2xx to a write most likely means it was applied; an edge's
                # 413 or 429 page means it never got through.
                maybe_applied=write and (status >= 500 or status < 300),
            )
        code = error.get("code") if isinstance(error.get("code"), str) else None
        maybe_applied = write and (
            code in AMBIGUOUS_CODES or (resp.status_code >= 500 and code not in EDGE_REFUSALS)
        )
        raise KomboError(
            error["message"],
            status=resp.status_code,
            code=code,
            title=error.get("title") if isinstance(error.get("title"), str) else None,
            log_url=error.get("log_url") if isinstance(error.get("log_url"), str) else None,
            retry_after=retry_after,
            maybe_applied=maybe_applied,
            rate_limit=rate_limit,
        )

    def _check_download_url(self, data_url: str, *, redirect: bool = False) -> str:
        """The URL if the portal may fetch it: an allowed host, HTTPS (loopback excepted)."""
        parts = urlsplit(data_url)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = -1
        allowed = self._allowed_host(host)
        loopback = host in LOOPBACK_HOSTS and host in self.download_hosts
        scheme_ok = parts.scheme == "https" and port in (None, 443)
        if not allowed or not (scheme_ok or (loopback and parts.scheme in ("http", "https"))):
            raise KomboError(
                "The attachment is stored somewhere the portal does not download from."
                if not redirect
                else "The attachment's link redirected somewhere the portal does not download from.",
                code="PORTAL.DOWNLOAD_REDIRECT" if redirect else "PORTAL.DOWNLOAD_HOST_REFUSED",
            )
        return data_url

    def _allowed_host(self, host: str) -> bool:
        if not host or _is_link_local(host):
            return False  # e.g. 169.254.169.254, cloud metadata: never, whatever is configured
        return (
            self._is_kombo_host_name(host)
            or _is_storage_host(host)
            or host in self.download_hosts
            or any(h.startswith("*.") and host.endswith(h[1:]) for h in self.download_hosts)
        )

    def _is_kombo_host_name(self, host: str) -> bool:
        return host == self._api_host or host == KOMBO_DOMAIN or host.endswith("." + KOMBO_DOMAIN)

    def _is_kombo_host(self, url: str) -> bool:
        return self._is_kombo_host_name((urlsplit(url).hostname or "").lower())

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def _session(self) -> requests.Session:
        # requests.Session is not guaranteed thread-safe (psf/requests#2766): one per thread.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc from the environment
            session.headers["User-Agent"] = USER_AGENT
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=self.pool_size, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
        return session


def _is_link_local(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    return address.is_link_local or address.is_multicast or address.is_unspecified


def _is_storage_host(host: str) -> bool:
    """Signed object-storage URLs Kombo may hand out or redirect to: Google Cloud Storage
    (Kombo's own assets live there) and Amazon S3 (its file destinations are S3 buckets).
    Public endpoints only, so no internal address; S3's website endpoints (HTML) are not."""
    if host == GCS_HOST or host.endswith("." + GCS_HOST):
        return True
    labels = host.split(".")
    if labels[-2:] != ["amazonaws", "com"]:
        return False
    inner = labels[:-2]
    return any(label == "s3" or label.startswith("s3-") for label in inner) and not any(
        label.startswith("s3-website") for label in inner
    )


def _transport_error(exc: requests.RequestException, *, sent: bool) -> KomboConnectionError:
    """Classify a transport failure: did the request possibly reach Kombo?"""
    never_connected = isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and _refused(exc)
    )
    if isinstance(exc, requests.Timeout) and not never_connected:
        message = "Kombo did not answer in time."
    elif never_connected:
        message = "Kombo could not be reached."
    else:
        message = "The connection to Kombo broke."
    return KomboConnectionError(
        message, maybe_applied=sent and not never_connected, never_connected=never_connected
    )


def _refused(exc: BaseException) -> bool:
    """True when the TCP connection was never established (nothing was sent)."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, NewConnectionError | NameResolutionError | ConnectionRefusedError):
            return True
        reason = getattr(node, "reason", None)
        args0 = node.args[0] if node.args and isinstance(node.args[0], BaseException) else None
        node = reason if isinstance(reason, BaseException) else args0 or node.__context__
    return False


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except (ValueError, requests.RequestException):
        return None


def _warnings(payload: dict[str, Any]) -> list[str]:
    raw = payload.get("warnings")
    if not isinstance(raw, list):
        return []
    return [str(w.get("message")) for w in raw if isinstance(w, dict) and w.get("message")]


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (Kombo does not document it; we accept seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    return parse_count((headers.get(name) or "").strip())


def _rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """ratelimit-limit / -remaining / -reset, as Kombo's guides describe them (None if absent)."""
    limit, remaining = (
        _int_header(headers, "ratelimit-limit"),
        _int_header(headers, "ratelimit-remaining"),
    )
    reset_raw = _int_header(headers, "ratelimit-reset")
    if limit is None and remaining is None and reset_raw is None:
        return None
    reset: float | None = None
    if reset_raw is not None:
        # The IETF draft says delta-seconds; some servers send an epoch: read both.
        reset = float(max(0.0, reset_raw - time.time()) if reset_raw > 1_000_000_000 else reset_raw)
    return RateLimit(limit, remaining, reset)


def _wait_hint(headers: Mapping[str, str]) -> float | None:
    """How long the server asks us to wait: Retry-After, else ratelimit-reset once exhausted."""
    retry_after = _retry_after(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    limits = _rate_limit(headers)
    if limits is not None and limits.remaining == 0 and limits.reset is not None:
        return limits.reset
    return None


def _params(**kwargs: Any) -> dict[str, str]:
    """Query parameters: None dropped, lists comma-joined (Kombo's list filter format)."""
    out: dict[str, str] = {}
    for key, value in kwargs.items():
        if value is None or value == []:
            continue
        out[key] = ",".join(value) if isinstance(value, list) else str(value)
    return out


def _path(segment: str) -> str:
    """An id as one URL path segment: the caller validated it, this keeps `/` and `?` out anyway."""
    return quote(segment, safe=":")


def _path_of(resp: requests.Response) -> str:
    return urlsplit(resp.url).path
