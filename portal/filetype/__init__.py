"""Find an upload's real file type and decide whether it may go to the customer's ATS.

Detection trusts the bytes, never the browser's Content-Type or the file name, and each
format is read by a parser made for it (``detect`` dispatches): qpdf for PDF (``pdf``),
lxml on the zip parts of OOXML and OpenDocument (``office``), olefile and oletools for
legacy Office and OLE objects (``ole``), oletools' RTF parser (``rtf``), Pillow (``images``).
Files found inside files are checked the same way. An optional ClamAV daemon (``scan``)
sees every file that passes. This module holds the policy and the words; ``formats`` the
types and their names; ``limits`` the budgets that bound the cost of any input.

Refusal statuses: 413 for ``file_too_large``; 415 for refusals about the format
(``type_unknown``, ``type_not_allowed``, ``type_not_accepted_by_ats``, ``file_archive``,
``file_executable``, ``file_template``); 503 for ``scan_unavailable``; 422 for everything
else (``file_empty``, ``file_encrypted``, ``file_macros``, ``file_active_content``,
``file_embedded_files``, ``file_remote_content``, ``file_damaged``, ``file_compression_bomb``,
``file_too_complex``, ``file_virus``, ``attachment_type_unsupported``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask_babel import gettext

from portal import names
from portal.filetype import detect as _detect
from portal.filetype import scan
from portal.filetype.formats import (
    ARCHIVES,
    ATTACHMENT_TYPES,
    CONTENT_TYPE_PATTERN,
    FORMATS,
    HINTS,
    OCTET_STREAM,
    PDF,
    PICKER_EXTRA,
    PORTAL_ALLOWED,
    SLOT_NOUNS,
    TEMPLATES,
    canonical,
    describe,
    extensions_for,
    format_label,
    is_executable,
    is_macro_enabled,
    labels,
    megabytes,
)
from portal.filetype.limits import Budget, Finding, size_of
from portal.i18n import N_

__all__ = [
    "ATTACHMENT_TYPES",
    "CONTENT_TYPE_PATTERN",
    "Accepted",
    "FileRefused",
    "allowed_types",
    "check_upload",
    "clean_filename",
    "detect",
    "format_label",
    "max_size_for",
]

_STATUSES = {
    "file_too_large": 413,
    "type_unknown": 415,
    "type_not_allowed": 415,
    "type_not_accepted_by_ats": 415,
    "file_archive": 415,
    "file_executable": 415,
    "file_template": 415,
    "scan_unavailable": 503,
}


class FileRefused(Exception):
    """An upload we will not send to the ATS, with a message a recruiter can act on."""

    def __init__(self, code: str, message: str, *, detected: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = _STATUSES.get(code, 422)
        self.detected = detected  # for logs: the type we found, if any


@dataclass(frozen=True)
class Accepted:
    """What to send to Kombo for an accepted upload."""

    content_type: str
    name: str
    size: int
    sha256: str
    label: str


# --------------------------------------------------------------------------- public API


def detect(fileobj: BinaryIO) -> str | None:
    """Return the upload's real MIME type after refinement, or None when undecidable."""
    try:
        return _detect.inspect(fileobj, size_of(fileobj), Budget()).mime
    finally:
        fileobj.seek(0)


def check_upload(
    fileobj: BinaryIO,
    *,
    filename: str,
    attachment_type: str,
    restrictions: dict[str, Any] | None = None,
    max_size: int | None = None,
    clamd: str | None = None,
) -> Accepted:
    """Accept the upload for this attachment type and ATS, or raise FileRefused.

    `clamd` is the scanner's address (see ``scan``); None means the app's ``CLAMD`` setting.
    """
    rules = _ats_rules(attachment_type, restrictions)
    shown = names.quoted_name(filename)
    if rules.get("is_supported") is False:
        one, _ = SLOT_NOUNS[attachment_type]
        raise FileRefused(
            "attachment_type_unsupported",
            gettext(
                'This ATS does not take %(one)s as an attachment, so "%(name)s" cannot be added as one.',
                one=one,
                name=shown,
            ),
        )
    try:
        size = size_of(fileobj)
        if size == 0:
            _refuse_problem(Finding(None, "file_empty"), shown, attachment_type)
        _check_size(size, shown, attachment_type, rules, max_size)
        finding = _detect.inspect(fileobj, size, Budget())
        content_type = _decide(finding, shown, attachment_type, rules)
        _scan(fileobj, shown, clamd if clamd is not None else _clamd_setting())
        fileobj.seek(0)
        digest = hashlib.file_digest(fileobj, "sha256").hexdigest()
    finally:
        fileobj.seek(0)
    kind = canonical(content_type)
    return Accepted(
        content_type=content_type,
        name=clean_filename(filename, kind),
        size=size,
        sha256=digest,
        label=FORMATS[kind].label,
    )


def clean_filename(name: str, content_type: str) -> str:
    """Make the user's file name safe to send, with the extension of the detected type."""
    return names.clean_filename(name, extensions_for(content_type))


def allowed_types(
    attachment_type: str, restrictions: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """List the formats the UI may offer for this attachment type and ATS."""
    rules = _ats_rules(attachment_type, restrictions)
    if rules.get("is_supported") is False:
        return []
    result = []
    for mime in PORTAL_ALLOWED[attachment_type]:
        spelling = _ats_spelling(mime, rules.get("accepted_mime_types"))
        if spelling is None:
            continue
        fmt = FORMATS[mime]
        extensions = list(dict.fromkeys(fmt.extensions + PICKER_EXTRA.get(mime, ())))
        result.append({"mime": spelling, "label": fmt.label, "extensions": extensions})
    return result


def max_size_for(
    attachment_type: str, restrictions: dict[str, Any] | None, max_size: int | None
) -> int | None:
    """Return the smaller of the portal's and the ATS's size limits, or None if neither is set."""
    return _smallest(_ats_max_size(_ats_rules(attachment_type, restrictions)), max_size)


# --------------------------------------------------------------------------- antivirus


def _clamd_setting() -> str:
    """The app's CLAMD setting inside a request, else PORTAL_CLAMD from the environment."""
    from flask import current_app, has_app_context

    if has_app_context():
        return str(current_app.config.get("CLAMD") or "")
    return os.environ.get("PORTAL_CLAMD", "")


def _scan(fileobj: BinaryIO, shown: str, setting: str) -> None:
    """Refuse what the virus scanner finds, and everything when it cannot scan."""
    if not setting:
        return
    try:
        signature = scan.scan(fileobj, setting)
    except scan.ScanUnavailable:
        raise FileRefused(
            "scan_unavailable",
            gettext(
                'We could not check "%(name)s" for viruses (scanning is unavailable right now), '
                "so we did not send it. Try again in a few minutes.",
                name=shown,
            ),
        ) from None
    if signature is not None:
        named = "".join(ch for ch in signature if ch.isalnum() or ch in ".-_:/")[:80]
        raise FileRefused(
            "file_virus",
            gettext(
                'Our virus scanner found malware in "%(name)s" (%(signature)s), so we will not send it. '
                "Do not open the file; ask the candidate for a clean copy.",
                name=shown,
                signature=named,
            ),
        )


# --------------------------------------------------------------------------- decisions


def _decide(finding: Finding, shown: str, attachment_type: str, rules: dict[str, Any]) -> str:
    """Return the content type to send, or raise the refusal that explains why not."""
    _refuse_problem(finding, shown, attachment_type)
    mime = finding.mime
    allowed = PORTAL_ALLOWED[attachment_type]
    _, many = SLOT_NOUNS[attachment_type]
    if mime is None or mime == OCTET_STREAM:
        raise FileRefused(
            "type_unknown",
            gettext(
                'We could not recognise the format of "%(name)s". Accepted for %(many)s: %(formats)s.',
                name=shown,
                many=many,
                formats=labels(allowed),
            ),
        )
    _refuse_category(mime, shown, attachment_type)
    if mime not in allowed:
        one, _ = SLOT_NOUNS[attachment_type]
        hint = HINTS.get(mime) or gettext(
            "Accepted for %(many)s: %(formats)s.", many=many, formats=labels(allowed)
        )
        raise FileRefused(
            "type_not_allowed",
            gettext(
                '"%(name)s" is %(what)s, which we cannot send as %(one)s. %(hint)s',
                name=shown,
                what=describe(mime),
                one=one,
                hint=hint,
            ),
            detected=mime,
        )
    accepted = rules.get("accepted_mime_types")
    spelling = _ats_spelling(mime, accepted)
    if spelling is None:
        takes = [m for m in allowed if _ats_spelling(m, accepted)]
        words = {"name": shown, "what": describe(mime), "many": many}
        message = (
            gettext(
                '"%(name)s" is %(what)s, but this ATS only takes %(formats)s for %(many)s.',
                formats=labels(takes),
                **words,
            )
            if takes
            else gettext(
                '"%(name)s" is %(what)s, but this ATS takes none of our formats for %(many)s.',
                **words,
            )
        )
        raise FileRefused(
            "type_not_accepted_by_ats",
            message,
            detected=mime,
        )
    return spelling


def _refuse_problem(finding: Finding, shown: str, attachment_type: str) -> None:
    """Raise the refusal for a problem found inside the file (encryption, macros, ...)."""
    if finding.problem is None:
        return
    one, _ = SLOT_NOUNS[attachment_type]
    # The detail says what was found (a finding of the format's reader), in parentheses.
    # (translated when it is one of the readers' fixed phrases, marked N_ where they are made).
    detail = f" ({gettext(finding.detail)})" if finding.detail else ""
    again = (
        gettext("Print or export it to a new PDF and try again.")
        if finding.mime == PDF
        else gettext("Save it as a new .docx or PDF and try again.")
    )
    words = {"name": shown, "detail": detail, "one": one, "again": again}
    messages = {
        "file_empty": N_('"%(name)s" is empty (0 bytes). Choose the file again.'),
        "file_encrypted": N_(
            '"%(name)s" is password-protected or encrypted, so the ATS may not be able to '
            "read it. Remove the protection (or export an unprotected PDF) and try again."
        ),
        "file_macros": N_(
            '"%(name)s" has macros%(detail)s, which we never send to an ATS. '
            "Save it as .docx or PDF and try again."
        ),
        "file_template": N_(
            '"%(name)s" is a template, not a document. '
            "Save it as a normal .docx or PDF and try again."
        ),
        "file_active_content": N_(
            '"%(name)s" has parts that can run code or open other things%(detail)s, and '
            "%(one)s has no business doing that. %(again)s"
        ),
        "file_remote_content": N_(
            '"%(name)s" would fetch or run something from elsewhere when opened%(detail)s, '
            "so we will not send it. %(again)s"
        ),
        "file_embedded_files": N_(
            '"%(name)s" has other files or objects inside it%(detail)s, which we cannot check, '
            "so we will not send it. %(again)s"
        ),
        "file_executable": N_(
            '"%(name)s" has a program or script inside it%(detail)s, so we will not send it. %(again)s'
        ),
        "file_damaged": N_(
            '"%(name)s" seems damaged or incomplete%(detail)s. Open it, save it again and try again.'
        ),
        "file_compression_bomb": N_(
            '"%(name)s" unpacks to far more data than a document should%(detail)s, '
            "so we cannot check it safely. Save it again from the program that made it."
        ),
        "file_too_complex": N_(
            '"%(name)s" is too complex for us to check in reasonable time%(detail)s, so we will '
            "not send it. Save it again (for example as PDF) and try again."
        ),
        "file_archive": N_(
            '"%(name)s" has a ZIP archive hidden inside it, so we will not send it. '
            "Save or export the file again and try again."
        ),
    }
    # Each sentence uses only some of the words; %-formatting ignores the others.
    message = gettext(messages[finding.problem], **words)
    raise FileRefused(finding.problem, message, detected=finding.mime)


def _refuse_category(mime: str, shown: str, attachment_type: str) -> None:
    """Raise the refusal for types we never send: macros, templates, archives, programs."""
    if is_macro_enabled(mime):
        _refuse_problem(Finding(mime, "file_macros"), shown, attachment_type)
    if mime in TEMPLATES:
        _refuse_problem(Finding(mime, "file_template"), shown, attachment_type)
    if mime in ARCHIVES:
        raise FileRefused(
            "file_archive",
            gettext(
                '"%(name)s" is an archive (ZIP or similar). Upload the documents in it one by one.',
                name=shown,
            ),
            detected=mime,
        )
    if is_executable(mime):
        raise FileRefused(
            "file_executable",
            gettext('"%(name)s" is a program, not a document, so we will not send it.', name=shown),
            detected=mime,
        )


def _check_size(
    size: int, shown: str, attachment_type: str, rules: dict[str, Any], max_size: int | None
) -> None:
    """Refuse files over the portal's or the ATS's limit, naming the limit that applies."""
    ats_limit = _ats_max_size(rules)
    limit = _smallest(ats_limit, max_size)
    if limit is None or size <= limit:
        return
    _, many = SLOT_NOUNS[attachment_type]
    words = {"name": shown, "size": megabytes(size), "limit": megabytes(limit), "many": many}
    message = (
        gettext(
            '"%(name)s" is %(size)s, but this ATS takes %(many)s up to %(limit)s. '
            "Make it smaller (for example save a compressed PDF) and try again.",
            **words,
        )
        if limit == ats_limit
        else gettext(
            '"%(name)s" is %(size)s, but we take files up to %(limit)s. '
            "Make it smaller (for example save a compressed PDF) and try again.",
            **words,
        )
    )
    raise FileRefused("file_too_large", message)


def _smallest(*limits: int | None) -> int | None:
    """The tightest of the limits that are set (None and non-positive mean no limit)."""
    real = [n for n in limits if n is not None and n > 0]
    return min(real) if real else None


# --------------------------------------------------------------------------- ATS restrictions


def _ats_rules(attachment_type: str, restrictions: dict[str, Any] | None) -> dict[str, Any]:
    """Return the ATS's rules for this attachment type; {} means no information."""
    if attachment_type not in ATTACHMENT_TYPES:
        raise ValueError(f"unknown attachment type {attachment_type!r}")
    # Anything not shaped like Kombo's answer counts as "no information", never as a ban.
    outer = restrictions.get("attachment_restrictions") if isinstance(restrictions, dict) else None
    types = outer.get("types") if isinstance(outer, dict) else None
    rules = types.get(attachment_type) if isinstance(types, dict) else None
    return rules if isinstance(rules, dict) else {}


def _ats_max_size(rules: dict[str, Any]) -> int | None:
    """Return the ATS's size limit in bytes, ignoring nonsense values."""
    limit = rules.get("max_file_size_bytes")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    return None


def _ats_spelling(mime: str, accepted: Any) -> str | None:
    """Return how to name `mime` to this ATS, or None if it does not take it."""
    if not isinstance(accepted, list):
        return mime  # None: no information
    entries = [e.split(";")[0].strip() for e in accepted if isinstance(e, str)]
    if any(e.lower() == mime.lower() for e in entries):
        return mime
    for entry in entries:
        # The ATS may spell our type differently (text/rtf, image/jpg): use its spelling.
        if canonical(entry) == mime and CONTENT_TYPE_PATTERN.match(entry):
            return entry
    major = mime.split("/")[0]
    if any(e in ("*/*", f"{major}/*") for e in entries):
        return mime
    return None
