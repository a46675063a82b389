"""Apply non-overlapping span replacements to a text, keeping everything between them byte-identical."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, order=True)
class Span:
    """Replace text[start:end] with `replacement`; `rule` is counted once when applied."""

    start: int
    end: int
    rule: str
    replacement: str
    tally: tuple[tuple[str, int], ...] = ()  # counts to record instead of one `rule` (nested redactions)


def apply_spans(text: str, spans: Iterable[Span], counts: MutableMapping[str, int]) -> str:
    """Replace the spans (earliest first; a span overlapping an earlier kept one is dropped)."""
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    if not ordered:
        return text
    parts: list[str] = []
    pos = 0
    for span in ordered:
        if span.start < pos:
            continue
        parts.append(text[pos : span.start])
        parts.append(span.replacement)
        for rule, n in span.tally or ((span.rule, 1),):
            counts[rule] = counts.get(rule, 0) + n
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


def overlaps(start: int, end: int, protected: list[tuple[int, int]]) -> bool:
    """True when [start, end) touches one of the sorted `protected` ranges."""
    if not protected:
        return False
    lo, hi = 0, len(protected)
    while lo < hi:  # first range whose end is after start
        mid = (lo + hi) // 2
        if protected[mid][1] <= start:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(protected) and protected[lo][0] < end
