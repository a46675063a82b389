"""Charts drawn on the server as SVG: bars only, every label escaped, no script, no external font."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLORS = {"allow": "#2e7d32", "deny": "#c62828", "would-deny": "#ef6c00", "rejected": "#6a1b9a"}
DEFAULT_COLOR = "#455a64"


def hbars(title: str, rows: Sequence[tuple[str, int]], *, width: int = 520) -> str:
    """Horizontal bars: one row per (label, count), longest first as given."""
    height = 24 + 22 * max(len(rows), 1)
    top = max((count for _, count in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    if not rows:
        parts.append('<text x="0" y="36" font-size="12">no records</text>')
    for i, (label, count) in enumerate(rows):
        y = 24 + 22 * i
        bar = int((width - 230) * count / top)
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label[:32])}</text>')
        parts.append(f'<rect x="200" y="{y + 2}" width="{bar}" height="16" fill="{DEFAULT_COLOR}"/>')
        parts.append(f'<text x="{204 + bar}" y="{y + 14}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_hours(title: str, hours: Sequence[tuple[str, dict[str, int]]], *, width: int = 720) -> str:
    """Requests per hour, stacked by decision: `hours` is (hour label, {decision: count}), oldest first."""
    height, base = 192, 150
    top = max((sum(c.values()) for _, c in hours), default=0) or 1
    step = max(4, (width - 40) // max(len(hours), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)} (max {top}/h)</text>',
    ]
    for i, (label, counts) in enumerate(hours):
        x, y = 30 + i * step, base
        for decision in ("allow", "would-deny", "deny", "rejected", *sorted(set(counts) - set(COLORS))):
            count = counts.get(decision, 0)
            if not count:
                continue
            h = max(1, int(120 * count / top))
            y -= h
            color = COLORS.get(decision, DEFAULT_COLOR)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{max(step - 2, 2)}" height="{h}" fill="{color}">'
                f"<title>{escape(label)} {escape(decision)}: {count}</title></rect>"
            )
        if i % max(1, len(hours) // 6) == 0:
            parts.append(f'<text x="{x}" y="{base + 16}" font-size="10">{escape(label[-5:])}</text>')
    legend = 0
    for decision, color in COLORS.items():
        parts.append(f'<rect x="{30 + legend}" y="{base + 22}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{44 + legend}" y="{base + 31}" font-size="10">{decision}</text>')
        legend += 90
    parts.append("</svg>")
    return "".join(parts)
