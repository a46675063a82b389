"""Render records as an aligned table that is safe to print to a terminal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

COLUMNS: tuple[str, ...] = ("ts", "event", "principal", "tool", "decision", "rule", "command")
_MAX_CELL = 60  # every column but the last is cut to this width


def safe_text(value: object) -> str:
    """Text with control and other non-printable characters escaped, so a logged command cannot
    send escape sequences to the auditor's terminal."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def cell(record: dict[str, Any], column: str) -> str:
    """The display value of one column of one record."""
    value = record.get(column)
    if column == "decision" and record.get("event") == "completion" and "exit_code" in record:
        value = f"{value} exit={record.get('exit_code')}"
    return safe_text("-" if value is None else value)


# Minimum widths for `tail -f`, whose later rows are printed without seeing them all first.
FOLLOW_WIDTHS: dict[str, int] = {
    "ts": 27,
    "event": 10,
    "principal": 16,
    "tool": 8,
    "decision": 12,
    "rule": 20,
}


def render_table(
    records: Iterable[dict[str, Any]],
    columns: Sequence[str] = COLUMNS,
    min_widths: dict[str, int] | None = None,
) -> list[str]:
    """Aligned lines: a header, then one line per record; the last column is never padded or cut."""
    rows = [[cell(record, column) for column in columns] for record in records]
    rows = [[_cut(value) if i < len(columns) - 1 else value for i, value in enumerate(row)] for row in rows]
    header = [column.upper() for column in columns]
    floor = min_widths or {}
    widths = [
        max(floor.get(column, 0), *(len(row[i]) for row in [header, *rows]))
        for i, column in enumerate(columns)
    ]
    return [
        "  ".join(value.ljust(widths[i]) if i < len(columns) - 1 else value for i, value in enumerate(row))
        for row in [header, *rows]
    ]


def _cut(value: str) -> str:
    return value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 1] + "…"
