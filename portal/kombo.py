"""Client for the part of Kombo's unified ATS API that the portal uses.

Written on `requests` rather than the official SDK because the SDK holds the whole
file and its base64 in memory (several copies), cannot stream a download, has
closed enums that break on new error codes, and does not expose the upload
restrictions endpoint. One method per endpoint; one `_request` owns timeouts,
retries, the warnings and the error envelope. Nothing here imports Flask.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

BASE_URLS = {"eu": "https://api.kombo.dev/v1", "us": "https://api.us.kombo.dev/v1"}
USER_AGENT = "attachment-portal/0.1"

# Kombo's errors guide: these are "generally safe to retry" (or, for concurrency,
# retry with backoff). Everything else needs a human.
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

KOMBO_ID_ALPHABET = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def is_kombo_id(value: object) -> bool:
    """True for a 24-character base58 Kombo id (applications, candidates, attachments)."""
    return isinstance(value, str) and len(value) == 24 and set(value) <= KOMBO_ID_ALPHABET


class KomboError(Exception):
    """An error from Kombo (its error envelope) or from talking to it.

    `maybe_applied` matters only for writes: True when the request may have
    reached the ATS (timeout or reset after sending, 5xx, task timeout), so the
    caller must reconcile before offering a retry.
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
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.title = title
        self.log_url = log_url
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied

    @property
    def retryable(self) -> bool:
        """Whether Kombo says the same request may simply be sent again later."""
        if self.code is not None:
            return self.code in RETRYABLE_CODES
        return self.status in (429, 500, 502, 503, 504)

    def __str__(self) -> str:
        return f"[{self.code or self.status}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class KomboConnectionError(KomboError):
    """Kombo could not be reached, or the connection broke, or it was too slow."""

    @property
    def retryable(self) -> bool:
        return True


class KomboBadResponse(KomboError):
    """Kombo answered with something that is not its documented JSON (an HTML error page, garbage)."""

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500


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
    """Connect/read timeouts and overall deadlines, in seconds."""

    connect: float = 3.05
    read: float = 20.0
    write_read: float = 300.0  # Kombo's own SDK allows write actions 300 s.
    read_deadline: float = 30.0  # all attempts of one read, backoff included
    max_retry_after: float = 5.0  # longer Retry-After: give up and tell the user when


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
    """One client for every integration: the integration is chosen per call."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BASE_URLS["eu"],
        timeouts: Timeouts | None = None,
        download_hosts: frozenset[str] = frozenset(),
        pool_size: int = 32,
    ) -> None:
        if not api_key:
            raise ValueError("a Kombo API key is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.pool_size = pool_size
        api_host = urlsplit(self.base_url).hostname or ""
        # data_url hosts we will fetch from; never anything a user typed.
        self.download_hosts = frozenset(download_hosts) | {api_host, "resources.kombo.dev"}
        self._api_host = api_host
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
        outcomes: list[str] | None = None,
    ) -> Page:
        """GET /ats/applications, newest first, filtered, one page."""
        params = _params(
            cursor=cursor, page_size=page_size, ids=ids, job_ids=job_ids, outcomes=outcomes
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
        """GET /ats/candidates/{id}/attachments: every attachment of the candidate (live)."""
        path = f"/ats/candidates/{_path(candidate_id)}/attachments"
        return self._request("GET", path, integration_id=integration_id)

    def get_application_attachments(self, integration_id: str, application_id: str) -> Result:
        """GET /ats/applications/{id}/attachments (live)."""
        path = f"/ats/applications/{_path(application_id)}/attachments"
        return self._request("GET", path, integration_id=integration_id)

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

        Only hosts Kombo serves files from, no redirects (SSRF), and the API key
        only ever goes to Kombo's own hosts, and only if the plain request is refused.
        A GET changes nothing, so transient failures are tried again (three attempts).
        """
        url = self._check_download_url(data_url)
        for attempt in range(1, 4):
            try:
                return self._open_once(url)
            except KomboError as err:
                if attempt == 3 or not (
                    isinstance(err, KomboConnectionError) or (err.status or 0) >= 500
                ):
                    raise
                time.sleep(0.25 * attempt * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security  # nosec B311
        raise AssertionError("unreachable")

    def _open_once(self, url: str) -> requests.Response:
        t = self.timeouts
        try:
            resp = self._session().get(
                url, stream=True, allow_redirects=False, timeout=(t.connect, t.read)
            )
            if resp.status_code in (401, 403) and self._is_kombo_host(url):
                resp.close()
                resp = self._session().get(
                    url,
                    stream=True,
                    allow_redirects=False,
                    timeout=(t.connect, t.read),
                    headers=self._auth(),
                )
        except requests.RequestException as exc:
            raise _transport_error(exc, sent=False) from None
        if resp.is_redirect or not resp.ok:
            status = resp.status_code
            resp.close()
            raise KomboError(
                f"The attachment could not be fetched (HTTP {status}).",
                status=status,
                code="PORTAL.DOWNLOAD_REDIRECT"
                if 300 <= status < 400
                else "PORTAL.DOWNLOAD_FAILED",
            )
        return resp

    # -- plumbing --------------------------------------------------------------

    def _page(self, path: str, integration_id: str, params: dict[str, str]) -> Page:
        result = self._request("GET", path, integration_id=integration_id, params=params)
        data = result.data if isinstance(result.data, dict) else {}
        results = data.get("results")
        if not isinstance(results, list):
            raise KomboBadResponse("Kombo answered a list request without results.", status=200)
        return Page(results=results, next=data.get("next"), warnings=result.warnings)

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
        deadline = time.monotonic() + (t.write_read if write else t.read_deadline)
        attempt = 0
        while True:
            attempt += 1
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
                if self.on_attempt is not None:
                    self.on_attempt(integration_id, resp)
                return self._interpret(resp, write=write)
            except (KomboError, requests.RequestException) as exc:
                if self.on_attempt is not None and isinstance(exc, requests.RequestException):
                    self.on_attempt(integration_id, None)
                err = exc if isinstance(exc, KomboError) else _transport_error(exc, sent=write)
            wait = self._retry_wait(err, write=write, attempt=attempt, deadline=deadline)
            if wait is None:
                raise err
            log.info("kombo %s %s: %s; retrying in %.2fs", method, path, err, wait)
            time.sleep(wait)

    def _retry_wait(
        self, err: KomboError, *, write: bool, attempt: int, deadline: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when we must not retry.

        Reads retry anything transient. A write is resent only when it certainly
        was not applied: the connection was never made, or Kombo's edge refused it.
        """
        if attempt >= 4 or not err.retryable:
            return None
        if write and (err.maybe_applied or (err.code not in EDGE_REFUSALS and err.status)):
            return None
        backoff = min(4.0, 0.25 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security  # nosec B311
        wait = backoff if err.retry_after is None else err.retry_after
        if err.retry_after is not None and err.retry_after > self.timeouts.max_retry_after:
            return None  # Kombo asks for a long pause: tell the user when to come back.
        if time.monotonic() + wait >= deadline:
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
        retry_after = _retry_after(resp.headers.get("Retry-After"))
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            raise KomboBadResponse(
                f"Kombo answered HTTP {resp.status_code} with an unreadable body.",
                status=resp.status_code,
                retry_after=retry_after,
                # A garbled 2xx to a write most likely means it was applied.
                maybe_applied=write and (resp.status_code >= 500 or resp.status_code < 300),
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
        )

    def _check_download_url(self, data_url: str) -> str:
        parts = urlsplit(data_url)
        host = parts.hostname or ""
        local = host in ("127.0.0.1", "localhost", "::1")
        if host not in self.download_hosts or (parts.scheme != "https" and not local):
            raise KomboError(
                "The attachment is stored somewhere the portal does not download from.",
                code="PORTAL.DOWNLOAD_HOST_REFUSED",
            )
        return data_url

    def _is_kombo_host(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return host == self._api_host or host.endswith(".kombo.dev")

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
    return KomboConnectionError(message, maybe_applied=sent and not never_connected)


def _refused(exc: BaseException) -> bool:
    """True when the TCP connection was never established (nothing was sent)."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

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
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
    from urllib.parse import quote

    return quote(segment, safe=":")


def _path_of(resp: requests.Response) -> str:
    return urlsplit(resp.url).path
