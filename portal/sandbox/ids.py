"""Kombo-style identifiers and timestamps, derived deterministically."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime

# Kombo's base58 alphabet (no 0, O, I, l), as in the docs' ID pattern ^[1-9A-HJ-NP-Za-km-z]+$.
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ID_LENGTH = 24
ID_RE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{24}")

# Map every byte straight to an alphabet letter: one C-level translate per ID instead of a
# big-int base conversion, which keeps seeding 60k+ objects well under a second.
_BYTE_TO_CHAR = bytes.maketrans(bytes(range(256)), bytes(ord(ALPHABET[i % 58]) for i in range(256)))


def make_id(*parts: object) -> str:
    """Return a stable 24-char base58 ID derived from the given parts."""
    key = "\x1f".join(map(str, parts)).encode("utf-8")
    digest = hashlib.blake2b(key, digest_size=ID_LENGTH, person=b"kombo-sandbox").digest()
    return digest.translate(_BYTE_TO_CHAR).decode("ascii")


class IdStream:
    """A deterministic stream of IDs for one (integration, kind): the n-th call always
    returns the same ID. Drawing random bytes in bulk costs ~0.3 us per ID against ~3 us for
    hashing each one, which matters when seeding 10,000 applications per integration."""

    _CHUNK = 1024

    def __init__(self, *parts: object) -> None:
        # Seed data IDs, not secrets: a seeded PRNG is exactly what is wanted here.
        self._rng = random.Random(make_id(*parts))  # noqa: S311  # nosec B311
        self._ids: list[str] = []
        self._next = 0

    def __call__(self) -> str:
        """Return the next ID of the stream."""
        if self._next == len(self._ids):
            raw = self._rng.randbytes(ID_LENGTH * self._CHUNK).translate(_BYTE_TO_CHAR)
            text = raw.decode("ascii")
            self._ids = [text[i : i + ID_LENGTH] for i in range(0, len(text), ID_LENGTH)]
            self._next = 0
        self._next += 1
        return self._ids[self._next - 1]


def is_kombo_id(value: str) -> bool:
    """Tell whether a string has the shape of a Kombo object ID."""
    return ID_RE.fullmatch(value) is not None


def iso_ms(epoch_ms: int | None) -> str | None:
    """Format epoch milliseconds as Kombo does: ISO 8601 UTC with milliseconds and Z."""
    if epoch_ms is None:
        return None
    seconds, millis = divmod(epoch_ms, 1000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"


def now_ms() -> int:
    """Current time in epoch milliseconds."""
    return int(datetime.now(UTC).timestamp() * 1000)


def parse_datetime_ms(value: str) -> int:
    """Parse an ISO 8601 date(-time) into epoch ms; naive values count as UTC."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
