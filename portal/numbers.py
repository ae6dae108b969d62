"""Counts in text from outside (query strings, Kombo's headers): one strict reading.

`str.isdigit()` is true for superscripts and other digits `int()` refuses ("¹²"), and
`int()` itself takes "+5", " 5", "5_000" and digits of every script: neither is a check
of what we mean by a count, ASCII digits and nothing else.
"""

from __future__ import annotations


def parse_count(text: str | None, max_digits: int = 15) -> int | None:
    """The whole number `text` is (ASCII digits only, at most `max_digits`); else None."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdecimal()):
        return None
    return int(text)
