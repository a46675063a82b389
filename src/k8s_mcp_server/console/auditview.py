"""What the console's audit page shows, read from the audit log set (the log is the source of truth).

Reads stream the files once per page; what a page keeps is bounded (MAX_ROWS rows, counters). The
chain state of each file is verified once per change of the set (size and mtime), not on every page.
"""

from __future__ import annotations

import fnmatch
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from k8s_mcp_server.audit.files import chain_files
from k8s_mcp_server.audit.reader import RecordFilter, iter_records, record_time
from k8s_mcp_server.audit.verify import verify

MAX_ROWS = 200
HOURS = 48


@dataclass(kw_only=True)
class Overview:
    rows: list[dict[str, Any]] = field(default_factory=list)  # newest first, at most MAX_ROWS
    matched: int = 0
    per_hour: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    denied_rules: list[tuple[str, int]] = field(default_factory=list)
    principals: list[tuple[str, int]] = field(default_factory=list)


def overview(
    audit_log: Path, filt: RecordFilter, cluster: str | None, *, now: datetime | None = None
) -> Overview:
    """Decision records that match, newest first, and the counts the charts draw."""
    now = now or datetime.now(UTC)
    start = (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    hours: dict[str, Counter[str]] = defaultdict(Counter)
    denied: Counter[str] = Counter()
    principals: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    matched = 0
    for record in iter_records(chain_files(audit_log)):
        if (
            record.get("event") != "decision"
            or not filt.matches(record)
            or not _cluster_matches(record, cluster)
        ):
            continue
        matched += 1
        rows.append(record)
        if len(rows) > MAX_ROWS:
            del rows[0]
        principals[str(record.get("principal"))] += 1
        if record.get("decision") in ("deny", "would-deny"):
            denied[str(record.get("rule"))] += 1
        moment = record_time(record)
        if moment is not None and moment >= start:
            hours[moment.strftime("%Y-%m-%d %H:00")][str(record.get("decision"))] += 1
    labels = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00") for i in range(HOURS)]
    return Overview(
        rows=list(reversed(rows)),
        matched=matched,
        per_hour=[(label, dict(hours.get(label, {}))) for label in labels],
        denied_rules=denied.most_common(10),
        principals=principals.most_common(10),
    )


def timeline(audit_log: Path, request_id: str) -> list[dict[str, Any]]:
    """Every record of one request, in chain order: its decision, the approval it asked for (requested,
    approved or denied, expired, consumed: records of the approval's id), the request that continued it
    and that one's completion."""
    files = chain_files(audit_log)
    requests, approvals = {request_id}, set()
    for record in iter_records(files):  # first pass: which approval, and which request continued it
        if record.get("request_id") in requests and isinstance(record.get("approval_id"), str):
            approvals.add(record["approval_id"])
        if record.get("approval_id") in approvals and isinstance(record.get("request_id"), str):
            requests.add(record["request_id"])
        if len(requests) > MAX_ROWS:
            break
    found: list[dict[str, Any]] = []
    for record in iter_records(files):
        if record.get("request_id") in requests or record.get("approval_id") in approvals:
            found.append(record)
            if len(found) >= MAX_ROWS:
                break
    return found


@dataclass(frozen=True, kw_only=True)
class FileState:
    path: str
    records: int
    ok: bool
    problem: str | None


class ChainState:
    """The verification state of each file of the set, recomputed only when a file changed."""

    def __init__(self) -> None:
        self._key: tuple[tuple[str, int, int], ...] | None = None
        self._states: list[FileState] = []

    def states(self, audit_log: Path) -> list[FileState]:
        files = chain_files(audit_log)
        key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())
        if key != self._key:
            result = verify(files)
            bad = result.problem
            states = [
                FileState(path=str(s.path), records=s.records, ok=True, problem=None) for s in result.files
            ]
            if bad is not None:
                states.append(
                    FileState(path=str(bad.path), records=0, ok=False, problem=f"{bad.kind}: line {bad.line}")
                )
            self._key, self._states = key, states
        return self._states


def _cluster_matches(record: dict[str, Any], pattern: str | None) -> bool:
    if not pattern:
        return True
    cluster = record.get("cluster")
    server = cluster.get("server") if isinstance(cluster, dict) else None
    return isinstance(server, str) and fnmatch.fnmatchcase(server, pattern)
