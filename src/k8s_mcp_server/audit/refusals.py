"""Refusals that come in floods, recorded in aggregate: one record per source and reason per interval.

A request refused before anyone is known (no or a wrong API key, a foreign Host or Origin, a body the
schema refuses, a rate limit) costs the caller nothing; a record of its own for each would let a
flood fill the log, rotate it and, with every rotation, bury the records that matter. So per
interval only the first PER_KEY refusals of each (transport, source address, principal, tool, code,
route) key, and at most PER_INTERVAL in all, get a record of their own (`individual()`); the rest
are counted in memory (O(1), no I/O on the request path), and at the end of every interval, and at
shutdown, each key becomes one `event: refusals` record with its `count`, the first and last time
and a few request ids. A failed write keeps the counts for the next interval: nothing is lost short
of the process dying, which loses at most one interval of counts (never a record of a request that
was let in). A flood of any size thus costs the log at most PER_INTERVAL + MAX_KEYS records per
interval.

Memory is bounded: past MAX_KEYS distinct keys in one interval, further sources are counted under
one key per reason with `source_ip: null` and `folded: true`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from k8s_mcp_server.audit.chain import utc_timestamp
from k8s_mcp_server.audit.log import AuditLog
from k8s_mcp_server.audit.secrets import redact_text
from k8s_mcp_server.errors import AuditUnavailable

log = logging.getLogger(__name__)

# Refusal codes counted instead of recorded one by one: nobody was let in, or the caller is told to
# slow down. Every other refusal (invalid_command, policy_denied, busy, ...) keeps a record of its own.
AGGREGATED_CODES = frozenset({"unauthenticated", "forbidden_host", "forbidden_origin", "rate_limited"})
DEFAULT_INTERVAL = 10.0  # seconds: how stale the log's view of a flood may be
MAX_KEYS = 1024  # distinct (source, reason, ...) keys per interval before sources are folded
PER_KEY = 5  # refusals per key and interval that still get a record of their own
PER_INTERVAL = 50  # ... and in all, per interval
SAMPLE_IDS = 3  # request ids kept per key, so a caller's 401 can be found in the log

_Key = tuple[str, str | None, str, str, str, str]  # transport, source_ip, principal, tool, code, route


@dataclass
class _Count:
    count: int
    status: int | None
    reason: str
    first_ts: str
    last_ts: str
    request_ids: list[str] = field(default_factory=list)
    folded: bool = False


class RefusalAggregator:
    """Counts refusals and writes them to `audit` as one record per key per interval."""

    def __init__(
        self, audit: AuditLog, *, interval: float = DEFAULT_INTERVAL, max_keys: int = MAX_KEYS
    ) -> None:
        self.audit = audit
        self.interval = interval
        self.max_keys = max_keys
        self._lock = threading.Lock()  # add() runs on the event loop, flush() in a worker thread
        self._counts: dict[_Key, _Count] = {}
        self._individual: dict[_Key, int] = {}  # records of their own this interval, per key
        # One flush at a time: shutdown's flush waits for one still running in the worker thread (its
        # task was cancelled, the thread was not), so no count is written after the log is closed.
        self._flushing = threading.Lock()

    def individual(
        self, *, code: str, transport: str, source_ip: str | None, principal: str = "anonymous",
        tool: str = "", route: str = "",
    ) -> bool:  # fmt: skip
        """Whether this refusal still gets a record of its own this interval (the budget is used)."""
        key: _Key = (transport, source_ip, principal, tool, code, route)
        with self._lock:
            used = self._individual.get(key, 0)
            if used >= PER_KEY or sum(self._individual.values()) >= PER_INTERVAL:
                return False
            if key not in self._individual and len(self._individual) >= self.max_keys:
                return False
            self._individual[key] = used + 1
            return True

    def add(
        self,
        *,
        code: str,
        reason: str,
        transport: str,
        source_ip: str | None,
        principal: str = "anonymous",
        tool: str = "",
        route: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Count one refusal. `reason` is the server's own message (it is redacted anyway)."""
        now = utc_timestamp()
        key: _Key = (transport, source_ip, principal, tool, code, route)
        with self._lock:
            entry = self._counts.get(key)
            if entry is None and len(self._counts) >= self.max_keys:
                key = (transport, None, "*", tool, code, route)
                entry = self._counts.get(key)
                if entry is None:
                    entry = self._counts[key] = _Count(0, status, reason, now, now, folded=True)
            if entry is None:
                entry = self._counts[key] = _Count(0, status, reason, now, now)
            entry.count += 1
            entry.last_ts = now
            if request_id is not None and len(entry.request_ids) < SAMPLE_IDS:
                entry.request_ids.append(request_id)

    @property
    def pending(self) -> int:
        """Refusals counted and not yet written."""
        with self._lock:
            return sum(entry.count for entry in self._counts.values())

    def flush(self) -> int:
        """Write one durable record per key; returns how many refusals they count. Keys whose record
        cannot be written are merged back for the next flush."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            counts, self._counts = self._counts, {}
            self._individual = {}
        written = 0
        items = sorted(counts.items(), key=lambda item: item[1].first_ts)
        for index, (key, entry) in enumerate(items):
            try:
                self.audit.write(_record(key, entry, self.interval))
            except AuditUnavailable as exc:
                log.error(
                    "audit: %d aggregated refusal(s) kept for the next flush: %s", entry.count, exc.message
                )
                self._merge_back(items[index:])
                break
            written += entry.count
        return written

    def _merge_back(self, items: list[tuple[_Key, _Count]]) -> None:
        with self._lock:
            for key, entry in items:
                newer = self._counts.get(key)
                if newer is not None:
                    entry.count += newer.count
                    entry.last_ts = newer.last_ts
                self._counts[key] = entry

    async def run(self) -> None:
        """Flush (and checkpoint the log) every interval until cancelled; the caller flushes at shutdown."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.flush)
                await asyncio.to_thread(self.audit.checkpoint)
            except Exception:  # a bug must not end the flushing: the counts would only pile up
                log.exception("audit: the refusal flush failed; retrying at the next interval")


def _record(key: _Key, entry: _Count, interval: float) -> dict[str, Any]:
    transport, source_ip, principal, tool, code, route = key
    return {
        "request_id": None,
        "event": "refusals",
        "decision": "rejected",
        "error_code": code,
        "status": entry.status,
        "reason": redact_text(entry.reason),
        "principal": principal,
        "transport": transport,
        "source_ip": source_ip,
        "tool": tool,
        "route": route,
        "count": entry.count,
        "first_ts": entry.first_ts,
        "last_ts": entry.last_ts,
        "interval_seconds": interval,
        "request_ids": entry.request_ids,
        "folded": entry.folded,
        "command": "",
        "argv": None,
        "filters": [],
        "verbs": [],
        "resources": [],
        "names": [],
        "namespaces": [],
        "cluster": None,
        "rule": None,
        "policy_revision": None,
        "warnings": [],
    }
