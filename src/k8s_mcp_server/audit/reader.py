"""Read audit files line by line, and filter records for `audit query` / `audit stats`."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Line:
    """One line of an audit file: where it is, its bytes, and whether it ended in a newline."""

    path: Path
    number: int  # 1-based
    data: bytes
    newline: bool
    last_in_file: bool


def iter_lines(paths: Iterable[Path]) -> Iterator[Line]:
    """Every line of every file, in order, streamed (files may be large)."""
    for path in paths:
        with path.open("rb") as handle:
            previous: bytes | None = None
            number = 0
            for raw in handle:
                if previous is not None:
                    yield _line(path, number, previous, last=False)
                previous = raw
                number += 1
            if previous is not None:
                yield _line(path, number, previous, last=True)


def _line(path: Path, number: int, raw: bytes, *, last: bool) -> Line:
    newline = raw.endswith(b"\n")
    return Line(
        path=path, number=number, data=raw[:-1] if newline else raw, newline=newline, last_in_file=last
    )


def parse_record(data: bytes) -> dict[str, Any] | None:
    """The JSON object on a line, or None if the line is not one."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def iter_records(paths: Iterable[Path], skipped: list[Line] | None = None) -> Iterator[dict[str, Any]]:
    """Every record that parses; lines that do not are appended to `skipped` (if given)."""
    for line in iter_lines(paths):
        record = parse_record(line.data)
        if record is None:
            if skipped is not None and line.data.strip():
                skipped.append(line)
            continue
        yield record


_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An RFC 3339 / ISO 8601 time ("2024-05-01", "2024-05-01T10:00:00Z") or an age ("15m", "2h", "7d").

    Times without a zone are taken as UTC. Raises ValueError with a message that says what is accepted.
    """
    match = _RELATIVE.match(text.strip())
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return (now or datetime.now(UTC)) - delta
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a time: {text!r}; use RFC 3339 (2024-05-01T10:00:00Z), a date, or an age like 15m, 2h, 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_time(record: dict[str, Any]) -> datetime | None:
    """The record's `ts` as an aware datetime, or None if it has none that parses."""
    ts = record.get("ts")
    if not isinstance(ts, str):
        return None
    try:
        return parse_time(ts)
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class RecordFilter:
    """What `audit query` selects; every field set must match. Text fields take globs."""

    principal: str | None = None
    tool: str | None = None
    verb: str | None = None
    decision: str | None = None
    rule: str | None = None
    namespace: str | None = None
    event: str | None = None
    request_id: str | None = None
    approval_id: str | None = None  # every record of one approval (approvals/), its run included
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether `record` passes every filter that is set."""
        scalar = {
            "principal": self.principal,
            "tool": self.tool,
            "decision": self.decision,
            "rule": self.rule,
            "event": self.event,
            "request_id": self.request_id,
            "approval_id": self.approval_id,
        }
        for field, pattern in scalar.items():
            if pattern is not None and not _glob(record.get(field), pattern):
                return False
        if self.verb is not None and not _any_glob(record.get("verbs"), self.verb):
            return False
        if self.namespace is not None and not _namespace_matches(record.get("namespaces"), self.namespace):
            return False
        if self.since is not None or self.until is not None:
            moment = record_time(record)
            if moment is None:
                return False
            if self.since is not None and moment < self.since:
                return False
            if self.until is not None and moment > self.until:
                return False
        return True


def _glob(value: object, pattern: str) -> bool:
    return isinstance(value, str) and fnmatch.fnmatchcase(value, pattern)


def _any_glob(values: object, pattern: str) -> bool:
    return isinstance(values, list) and any(_glob(value, pattern) for value in values)


def _namespace_matches(values: object, pattern: str) -> bool:
    # A command over every namespace (-A, recorded as "*") touched the one asked about too.
    return _any_glob(values, pattern) or (isinstance(values, list) and "*" in values)
