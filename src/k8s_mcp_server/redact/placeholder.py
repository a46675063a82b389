"""Placeholders that replace secret values: `[REDACTED:<rule>:<8 hex>]`.

The 8 hex digits are a prefix of HMAC-SHA256(server key, value): equal values get equal placeholders, so a
model can tell them apart without seeing them, and nobody without the key can test guesses against them.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PLACEHOLDER_RE = re.compile(r"\[REDACTED:[a-z0-9-]{1,40}:[0-9a-f]{8}\]")
PLACEHOLDER_MARK = "[REDACTED:"


class Placeholders:
    """Makes placeholders with one server key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, rule: str, value: str) -> str:
        """The placeholder for `value` found by `rule`."""
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"[REDACTED:{rule}:{digest[:8]}]"


def is_placeholder(value: str) -> bool:
    """True when `value` is exactly one placeholder (already redacted: leave it alone)."""
    return value.startswith(PLACEHOLDER_MARK) and PLACEHOLDER_RE.fullmatch(value) is not None


def placeholder_spans(text: str) -> list[tuple[int, int]]:
    """Where placeholders already stand in `text`; no rule may match across them."""
    if PLACEHOLDER_MARK not in text:
        return []
    return [m.span() for m in PLACEHOLDER_RE.finditer(text)]
