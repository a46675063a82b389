"""The approvals store (approvals/store.py's `ApprovalStore`) in PostgreSQL, for a fleet: the same
methods and the same conditional UPDATEs as the SQLite store, on the shared database, so an approval
requested through one replica is decided through a second and consumed once through any.

The table is the SQLite store's (state/migrations.py, version 2, same columns); rows are converted by
the SQLite store's own helpers, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from k8s_mcp_server.approvals.model import Approval, Status
from k8s_mcp_server.approvals.store import (
    _COLUMNS,
    ApprovalStore,
    Decided,
    SqliteApprovalStore,
    _approval,
    _row,
    default_store_path,
)
from k8s_mcp_server.settings import Settings
from k8s_mcp_server.state import open_state
from k8s_mcp_server.state.db import Database, StateUnavailable

_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM approvals"  # noqa: S608 - a constant column list


class PostgresApprovalStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, approval: Approval) -> None:
        marks = ", ".join("%s" for _ in _COLUMNS)
        with self.db.transaction() as cur:
            cur.execute(f"INSERT INTO approvals ({', '.join(_COLUMNS)}) VALUES ({marks})", _row(approval))  # noqa: S608 - constant columns

    def get(self, approval_id: str) -> Approval | None:
        with self.db.transaction() as cur:
            cur.execute(f"{_SELECT} WHERE id = %s", (approval_id,))
            found = cur.one()
        return _approval(found) if found is not None else None

    def search(
        self, *, statuses: Sequence[Status] | None = None, principal: str | None = None, limit: int = 100
    ) -> list[Approval]:
        where: list[str] = []
        params: list[Any] = []
        if statuses:
            where.append(f"status IN ({', '.join('%s' for _ in statuses)})")
            params.extend(statuses)
        if principal is not None:
            where.append("principal = %s")
            params.append(principal)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.db.transaction() as cur:
            cur.execute(f"{_SELECT}{clause} ORDER BY created_at DESC LIMIT %s", (*params, limit))
            return [_approval(row) for row in cur.all()]

    def decide(self, approval_id: str, *, status: Decided, by: str, reason: str | None, now: float) -> bool:
        return self._change(
            "UPDATE approvals SET status = %s, decided_by = %s, decided_at = %s, decision_reason = %s "
            "WHERE id = %s AND status = 'pending' AND expires_at > %s AND principal != %s",
            (status, by, now, reason, approval_id, now, by),
        )

    def undecide(self, approval_id: str, *, by: str) -> None:
        self._change(
            "UPDATE approvals SET status = 'pending', decided_by = NULL, decided_at = NULL, "
            "decision_reason = NULL WHERE id = %s AND status IN ('approved', 'denied') AND decided_by = %s",
            (approval_id, by),
        )

    def consume(self, approval_id: str, *, request_id: str, now: float) -> bool:
        return self._change(
            "UPDATE approvals SET status = 'consumed', consumed_at = %s, consumed_request_id = %s "
            "WHERE id = %s AND status = 'approved' AND expires_at > %s",
            (now, request_id, approval_id, now),
        )

    def unconsume(self, approval_id: str, *, request_id: str) -> None:
        self._change(
            "UPDATE approvals SET status = 'approved', consumed_at = NULL, consumed_request_id = NULL "
            "WHERE id = %s AND status = 'consumed' AND consumed_request_id = %s",
            (approval_id, request_id),
        )

    def expire(self, approval_id: str, *, now: float) -> bool:
        return self._change(
            "UPDATE approvals SET status = 'expired' "
            "WHERE id = %s AND status IN ('pending', 'approved') AND expires_at <= %s",
            (approval_id, now),
        )

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT id FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= %s "
                "ORDER BY expires_at LIMIT %s",
                (now, limit),
            )
            return [str(row[0]) for row in cur.all()]

    def close(self) -> None:
        self.db.close()

    def _change(self, statement: str, params: tuple[Any, ...]) -> bool:
        with self.db.transaction() as cur:
            cur.execute(statement, params)
            return cur.rowcount == 1


def approval_store(settings: Settings) -> ApprovalStore:
    """PostgreSQL when K8S_MCP_DATABASE_URL is set (every replica sees the same approvals), else the
    SQLite file (K8S_MCP_APPROVALS_DB, default beside the audit log). ValueError: cannot start."""
    if settings.database_url is None:
        return SqliteApprovalStore(settings.approvals_db or default_store_path(settings.audit_log))
    try:
        return PostgresApprovalStore(open_state(settings.database_url.get_secret_value(), settings.audit_log))
    except StateUnavailable as exc:
        raise ValueError(exc.message) from None
