"""Where approvals live: an interface, and SQLite beside the audit log by default.

Every state change is one conditional UPDATE (`... WHERE id = ? AND status = 'approved' AND
expires_at > ?`): whichever of many concurrent callers (threads, processes, replicas on one
database) changes the row wins, and the others see `False`. That is what makes an approval
single-use without a lock held across requests. A PostgreSQL store (the fleet issue) implements
the same methods with the same statements.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from k8s_mcp_server.approvals.model import Approval, Preview, Status

# SQLite waits this long for another writer (another server process, the other thread) before
# giving up with "database is locked"; every statement here is short.
BUSY_TIMEOUT_MS = 10_000
SCHEMA_VERSION = 1

_COLUMNS = (
    "id",
    "status",
    "created_at",
    "expires_at",
    "request_id",
    "principal",
    "transport",
    "tool",
    "command",
    "argv_digest",
    "cluster_server",
    "cluster_fingerprint",
    "namespaces",
    "rule",
    "rule_reason",
    "policy_revision",
    "approvers",
    "preview",
    "decided_by",
    "decided_at",
    "decision_reason",
    "consumed_at",
    "consumed_request_id",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    request_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    transport TEXT NOT NULL,
    tool TEXT NOT NULL,
    command TEXT NOT NULL,
    argv_digest TEXT NOT NULL,
    cluster_server TEXT,
    cluster_fingerprint TEXT,
    namespaces TEXT NOT NULL,
    rule TEXT NOT NULL,
    rule_reason TEXT,
    policy_revision TEXT NOT NULL,
    approvers TEXT NOT NULL,
    preview TEXT,
    decided_by TEXT,
    decided_at REAL,
    decision_reason TEXT,
    consumed_at REAL,
    consumed_request_id TEXT
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, expires_at);
PRAGMA user_version = {SCHEMA_VERSION};
"""

Decided = Literal["approved", "denied"]


class ApprovalStore(Protocol):
    """What the gate needs from storage. Each change returns whether this call made it."""

    def create(self, approval: Approval) -> None: ...

    def get(self, approval_id: str) -> Approval | None: ...

    def search(
        self, *, statuses: Sequence[Status] | None = None, principal: str | None = None, limit: int = 100
    ) -> list[Approval]: ...

    def decide(self, approval_id: str, *, status: Decided, by: str, reason: str | None, now: float) -> bool:
        """pending -> approved/denied, unless expired or `by` is the requester."""
        ...

    def undecide(self, approval_id: str, *, by: str) -> None:
        """Back to pending (the audit record of the decision could not be written)."""
        ...

    def consume(self, approval_id: str, *, request_id: str, now: float) -> bool:
        """approved -> consumed, once, before it expires."""
        ...

    def unconsume(self, approval_id: str, *, request_id: str) -> None: ...

    def expire(self, approval_id: str, *, now: float) -> bool:
        """pending/approved -> expired, when its time has passed."""
        ...

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        """Ids of pending or approved approvals past their expiry."""
        ...

    def close(self) -> None: ...


def default_store_path(audit_log: Path) -> Path:
    """Beside the audit log: `audit/approvals.sqlite3` for `audit/audit.jsonl`."""
    return audit_log.parent / "approvals.sqlite3"


class SqliteApprovalStore:
    """One SQLite file (WAL), safe from any thread and from several processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        with self._connection() as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
        with contextlib.suppress(OSError):
            path.chmod(0o600)  # commands, principals and previews: not for every local user

    def create(self, approval: Approval) -> None:
        row = _row(approval)
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._connection() as db:
            db.execute(f"INSERT INTO approvals ({', '.join(_COLUMNS)}) VALUES ({marks})", row)  # noqa: S608

    def get(self, approval_id: str) -> Approval | None:
        with self._connection() as db:
            found = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM approvals WHERE id = ?",  # noqa: S608
                (approval_id,),
            ).fetchone()
        return _approval(found) if found is not None else None

    def search(
        self, *, statuses: Sequence[Status] | None = None, principal: str | None = None, limit: int = 100
    ) -> list[Approval]:
        where: list[str] = []
        params: list[Any] = []
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        if principal is not None:
            where.append("principal = ?")
            params.append(principal)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM approvals {clause} "  # noqa: S608
                "ORDER BY created_at DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_approval(row) for row in rows]

    def decide(self, approval_id: str, *, status: Decided, by: str, reason: str | None, now: float) -> bool:
        return self._change(
            "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ? "
            "WHERE id = ? AND status = 'pending' AND expires_at > ? AND principal != ?",
            (status, by, now, reason, approval_id, now, by),
        )

    def undecide(self, approval_id: str, *, by: str) -> None:
        self._change(
            "UPDATE approvals SET status = 'pending', decided_by = NULL, decided_at = NULL, "
            "decision_reason = NULL WHERE id = ? AND status IN ('approved', 'denied') AND decided_by = ?",
            (approval_id, by),
        )

    def consume(self, approval_id: str, *, request_id: str, now: float) -> bool:
        return self._change(
            "UPDATE approvals SET status = 'consumed', consumed_at = ?, consumed_request_id = ? "
            "WHERE id = ? AND status = 'approved' AND expires_at > ?",
            (now, request_id, approval_id, now),
        )

    def unconsume(self, approval_id: str, *, request_id: str) -> None:
        self._change(
            "UPDATE approvals SET status = 'approved', consumed_at = NULL, consumed_request_id = NULL "
            "WHERE id = ? AND status = 'consumed' AND consumed_request_id = ?",
            (approval_id, request_id),
        )

    def expire(self, approval_id: str, *, now: float) -> bool:
        return self._change(
            "UPDATE approvals SET status = 'expired' "
            "WHERE id = ? AND status IN ('pending', 'approved') AND expires_at <= ?",
            (approval_id, now),
        )

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT id FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= ? "
                "ORDER BY expires_at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        with self._guard:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def _change(self, statement: str, params: tuple[Any, ...]) -> bool:
        with self._connection() as db:
            changed: int = db.execute(statement, params).rowcount
        return changed == 1

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in a transaction committed on success (rolled back on error)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._local.db = db
            with self._guard:
                self._connections.append(db)
        with db:
            yield db


def _row(approval: Approval) -> tuple[Any, ...]:
    values: dict[str, Any] = {
        **{name: getattr(approval, name) for name in _COLUMNS},
        "namespaces": json.dumps(list(approval.namespaces)),
        "approvers": json.dumps(list(approval.approvers)),
        "preview": json.dumps(approval.preview.to_json()) if approval.preview is not None else None,
    }
    return tuple(values[name] for name in _COLUMNS)


def _approval(row: Sequence[Any]) -> Approval:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["namespaces"] = tuple(json.loads(values["namespaces"]))
    values["approvers"] = tuple(json.loads(values["approvers"]))
    preview = values["preview"]
    values["preview"] = Preview.from_json(json.loads(preview)) if preview else None
    return Approval(**values)
