"""POST /ats/applications/{id}/attachments: strict body validation, data / data_url intake,
and the per-integration restrictions an ATS would enforce."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from flask import Request

from .catalog import TYPE_WORDS, Behaviour
from .errors import ApiError

MIB = 1024 * 1024
MAX_BODY_BYTES = 200 * MIB
MAX_FETCH_BYTES = 200 * MIB
FETCH_TIMEOUT_SECONDS = 10
_CHUNK = 1024 * 1024
_B64_SLICE = 4 * 1024 * 1024  # a multiple of 4 characters, so slices decode independently
# The documented pattern ^[\w.-]+\/[\w.-]+$, with JavaScript's ASCII-only \w (Python's \w
# would also accept letters like "é"), matched in full (Python's $ accepts a trailing \n).
CONTENT_TYPE_RE = re.compile(r"[\w.-]+/[\w.-]+", re.ASCII)
GENERIC_TYPE = "application/octet-stream"
TOP_LEVEL_KEYS = ("attachment", "remote_fields", "application_id")
ATTACHMENT_KEYS = ("name", "type", "content_type", "data", "data_url")
TYPES = ("CV", "COVER_LETTER", "OTHER")


def invalid(message: str) -> ApiError:
    """400 PLATFORM.INPUT_INVALID."""
    return ApiError("PLATFORM.INPUT_INVALID", message)


def remote_invalid(message: str) -> ApiError:
    """400 REMOTE.INPUT_INVALID: what the ATS (or the data_url host) refused."""
    return ApiError("REMOTE.INPUT_INVALID", message)


@dataclass
class UploadRequest:
    """A validated upload body. `data` is still base64 until decode_data_to()."""

    name: str
    type: str
    content_type: str | None
    data: str | None
    data_url: str | None
    remote_fields: dict[str, Any] | None


def read_body(request: Request) -> bytearray:
    """The raw JSON body, read once into one buffer; bodies over 200 MB are refused (413)
    before any of it is read."""
    if request.mimetype != "application/json":
        raise invalid(f"Content-Type must be application/json, got {request.mimetype!r}.")
    too_large = ApiError(
        "PLATFORM.INPUT_INVALID",
        f"Request body exceeds the sandbox limit of {MAX_BODY_BYTES} bytes.",
        status=413,
    )
    declared = request.content_length
    if declared is None:  # chunked: collect pieces up to the limit
        body = bytearray()
        while chunk := request.stream.read(_CHUNK):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise too_large
        return body
    if declared > MAX_BODY_BYTES:
        raise too_large
    # readinto one pre-sized buffer: a 67 MB body costs 67 MB, not the 3x that
    # RawIOBase.read(n) would cost (a buffer of n, a temporary, and a final bytes copy).
    body = bytearray(declared)
    stream = cast(io.RawIOBase, request.stream)  # werkzeug's LimitedStream, a RawIOBase
    with memoryview(body) as view:
        got = 0
        while got < declared and (n := stream.readinto(view[got:])):
            got += n
    if got < declared:
        raise invalid(f"Request body ended after {got} of the {declared} bytes announced.")
    return body


def _check_content_type(value: Any, field: str = "attachment.content_type") -> str:
    if not isinstance(value, str):
        raise invalid(f"'{field}' must be a string.")
    if not CONTENT_TYPE_RE.fullmatch(value):
        raise invalid(
            f"'{field}' {value!r} does not match ^[\\w.-]+/[\\w.-]+$ (a bare MIME "
            "type like application/pdf, without parameters)."
        )
    if value.lower() == GENERIC_TYPE:
        raise invalid(
            f"'{field}' must be meaningful, not the generic {GENERIC_TYPE}; send the "
            "file's real type (e.g. application/pdf)."
        )
    return value


def _check_top_level(body: Any, application_id: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(f"Request body must be a JSON object, got {type(body).__name__}.")
    unknown = sorted(set(body) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise invalid(f"Unknown top-level field(s) {unknown}; allowed: attachment, remote_fields.")
    # Kombo's own docs example repeats application_id in the body; tolerate only a match.
    if "application_id" in body and body["application_id"] != application_id:
        raise invalid(
            f"Body field 'application_id' ({body['application_id']!r}) does not "
            f"match the URL ({application_id!r})."
        )
    if "remote_fields" in body and not isinstance(body["remote_fields"], dict):
        raise invalid("'remote_fields' must be an object.")
    if "attachment" not in body:
        raise invalid("'attachment' is required.")
    attachment = body["attachment"]
    if not isinstance(attachment, dict):
        raise invalid("'attachment' must be an object.")
    unknown = sorted(set(attachment) - set(ATTACHMENT_KEYS))
    if unknown:
        raise invalid(
            f"Unknown field(s) in 'attachment': {unknown}; allowed: {', '.join(ATTACHMENT_KEYS)}."
        )
    return attachment


def _check_name_and_type(attachment: dict[str, Any]) -> tuple[str, str]:
    if "name" not in attachment:
        raise invalid("'attachment.name' is required.")
    name = attachment["name"]
    if not isinstance(name, str):
        raise invalid("'attachment.name' must be a string.")
    if not name.strip():
        raise invalid("'attachment.name' must not be empty.")
    if "type" not in attachment:
        raise invalid("'attachment.type' is required.")
    kind = attachment["type"]
    if kind not in TYPES:
        raise invalid(f"'attachment.type' must be one of CV, COVER_LETTER, OTHER; got {kind!r}.")
    return name, kind


def _check_source(attachment: dict[str, Any]) -> tuple[str | None, str | None]:
    has_data, has_url = "data" in attachment, "data_url" in attachment
    if has_data == has_url:
        raise invalid(
            "Provide exactly one of 'attachment.data' (base64) and "
            f"'attachment.data_url'; got {'both' if has_data else 'neither'}."
        )
    if has_data:
        if not isinstance(attachment["data"], str):
            raise invalid("'attachment.data' must be a base64 string.")
        if "content_type" not in attachment:
            raise invalid("'attachment.content_type' is required when 'attachment.data' is given.")
        return attachment["data"], None
    url = attachment["data_url"]
    if not isinstance(url, str):
        raise invalid("'attachment.data_url' must be a string.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(f"'attachment.data_url' must be an absolute http(s) URL; got {url!r}.")
    return None, url


def parse_upload(raw: bytearray, application_id: str) -> UploadRequest:
    """Validate the JSON body; each rule fails with its own 400 message.

    Empties `raw` once it is decoded, so a big body is held at most twice at a time (the
    text and the parsed data string), never three times.
    """
    if not raw:
        raise invalid("Request body is empty; send a JSON object with 'attachment'.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("Request body is not valid UTF-8 JSON.") from None
    raw.clear()
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(f"Request body is not valid JSON: {exc}.") from None
    del text
    attachment = _check_top_level(body, application_id)
    name, kind = _check_name_and_type(attachment)
    data, data_url = _check_source(attachment)
    content_type = None
    if "content_type" in attachment:
        content_type = _check_content_type(attachment["content_type"])
    return UploadRequest(name, kind, content_type, data, data_url, body.get("remote_fields"))


def decode_data_to(data: str, dest: Path) -> tuple[int, str]:
    """Decode strict standard base64 into dest, in slices; returns (size, sha256).

    Equivalent to base64.b64decode(data, validate=True) on the whole string (no whitespace,
    no URL-safe alphabet, padding only at the very end), without a second full-size copy.
    """
    digest, size = hashlib.sha256(), 0
    try:
        with dest.open("wb") as out:
            for start in range(0, len(data), _B64_SLICE):
                piece = data[start : start + _B64_SLICE]
                if start + _B64_SLICE < len(data) and "=" in piece:
                    raise ValueError("padding before the end")
                blob = base64.b64decode(piece, validate=True)
                digest.update(blob)
                size += len(blob)
                out.write(blob)
    except ValueError:  # binascii.Error, or non-ASCII characters
        dest.unlink(missing_ok=True)
        raise invalid(
            "'attachment.data' is not valid standard base64 (A-Z a-z 0-9 + / with "
            "= padding; no line breaks, spaces or URL-safe - _)."
        ) from None
    if size == 0:
        dest.unlink(missing_ok=True)
        raise invalid("'attachment.data' decodes to an empty file.")
    return size, digest.hexdigest()


def _header_content_type(header: str | None) -> str:
    if not header:
        raise invalid(
            "'attachment.content_type' is missing and the data_url response has no "
            "Content-Type header; send content_type."
        )
    mime = header.split(";", 1)[0].strip()
    return _check_content_type(mime, "Content-Type of the data_url response")


def fetch_data_url(url: str, dest: Path, content_type: str | None) -> tuple[int, str, str]:
    """Download data_url to dest (no redirects, 10 s timeout); returns (size, sha256, type)."""
    session = requests.Session()
    session.trust_env = False  # never route the fetch through a proxy from the environment
    try:
        with session.get(
            url, stream=True, timeout=FETCH_TIMEOUT_SECONDS, allow_redirects=False
        ) as resp:
            if 300 <= resp.status_code < 400:
                raise remote_invalid(
                    f"Fetching data_url returned HTTP {resp.status_code} (a "
                    "redirect); redirects are not followed."
                )
            if resp.status_code != 200:
                raise remote_invalid(f"Fetching data_url returned HTTP {resp.status_code}.")
            kind = content_type or _header_content_type(resp.headers.get("Content-Type"))
            size, digest = _stream_to(resp, dest)
    except requests.RequestException as exc:
        dest.unlink(missing_ok=True)
        raise remote_invalid(f"Could not fetch data_url: {type(exc).__name__}: {exc}") from None
    except ApiError:
        dest.unlink(missing_ok=True)
        raise
    finally:
        session.close()
    return size, digest, kind


def _stream_to(resp: requests.Response, dest: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with dest.open("wb") as out:
        for chunk in resp.iter_content(_CHUNK):
            size += len(chunk)
            if size > MAX_FETCH_BYTES:
                raise remote_invalid(f"The data_url file is larger than {MAX_FETCH_BYTES} bytes.")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise remote_invalid("The data_url returned an empty file.")
    return size, digest.hexdigest()


def _human_size(n: int) -> str:
    return f"{n / MIB:g} MB" if n % (MIB // 4) == 0 else f"{n} bytes"


def check_restrictions(b: Behaviour, kind: str, size: int, content_type: str) -> None:
    """Refuse what this integration's ATS refuses, as REMOTE.INPUT_INVALID."""
    rules = b.restrictions
    if rules is None or kind not in rules:
        return
    rule = rules[kind]
    words = TYPE_WORDS[kind]
    if not rule.is_supported:
        raise remote_invalid(f"{b.label} does not accept {words}.")
    limit = rule.max_file_size_bytes
    if limit is not None and size > limit:
        raise remote_invalid(
            f"{b.label} rejects {words} larger than {_human_size(limit)} "
            f"({limit} bytes); this file has {size} bytes."
        )
    accepted = rule.accepted_mime_types
    if accepted is not None and content_type.lower() not in accepted:
        raise remote_invalid(
            f"{b.label} accepts only {', '.join(accepted)} for {words}; got {content_type}."
        )
