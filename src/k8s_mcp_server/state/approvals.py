"""Approvals (issue 16) in the shared database: requested through one replica, approved through a
second and consumed through a third, exactly once.

Each step is one conditional UPDATE (`... WHERE status = 'pending' AND expires_at > now`), so two
approvers, or two replicas consuming the same approval, race on the row and one of them wins; the
other is told the approval is no longer in that state.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.state.db import Database, Row

Status = Literal["pending", "approved", "denied", "consumed", "expired"]

_COLUMNS = (
    "id, principal, tool, command_sha256, request, rule, status, created_at, expires_at, "
    "decided_by, decided_at, reason, consumed_at, consumed_by"
)


class ApprovalError(ProxyError):
    """`approval_not_found` (404), `approval_conflict` (409: not in the state the step needs),
    `approval_self` (403: the requester cannot approve their own request)."""

    status = 409


@dataclass(frozen=True, kw_only=True)
class Approval:
    id: str
    principal: str
    tool: str
    command_sha256: str
    request: dict[str, Any]
    rule: str
    status: Status
    created_at: float
    expires_at: float
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None
    consumed_at: float | None = None
    consumed_by: str | None = None


def _approval(row: Row, now: float) -> Approval:
    status: Status = row[6]
    if status in ("pending", "approved") and now >= float(row[8]):
        status = "expired"
    return Approval(
        id=row[0],
        principal=row[1],
        tool=row[2],
        command_sha256=row[3],
        request=json.loads(row[4]),
        rule=row[5],
        status=status,
        created_at=float(row[7]),
        expires_at=float(row[8]),
        decided_by=row[9],
        decided_at=None if row[10] is None else float(row[10]),
        reason=row[11],
        consumed_at=None if row[12] is None else float(row[12]),
        consumed_by=row[13],
    )


def _not_found(approval_id: str) -> ApprovalError:
    err = ApprovalError("no approval has this id (or it was removed)", code="approval_not_found")
    err.status = 404
    return err


class ApprovalStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        *,
        principal: str,
        tool: str,
        command_sha256: str,
        request: dict[str, Any],
        rule: str,
        ttl: float,
    ) -> Approval:
        """A pending approval that expires `ttl` seconds from now (by the database's clock)."""
        approval_id = secrets.token_urlsafe(18)
        with self.db.transaction() as cur:
            now = self.db.now(cur)
            cur.execute(
                "INSERT INTO approvals (id, principal, tool, command_sha256, request, rule, status, "
                "created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s)",
                (approval_id, principal, tool, command_sha256, json.dumps(request), rule, now, now + ttl),
            )
            return self._get(cur, approval_id, now)

    def get(self, approval_id: str) -> Approval:
        with self.db.transaction() as cur:
            return self._get(cur, approval_id, self.db.now(cur))

    def list(self, *, status: Status | None = None, limit: int = 100) -> list[Approval]:
        """Newest first; `expired` is computed, so it is filtered after reading."""
        with self.db.transaction() as cur:
            now = self.db.now(cur)
            cur.execute(f"SELECT {_COLUMNS} FROM approvals ORDER BY created_at DESC LIMIT %s", (limit,))  # noqa: S608 - constant column list
            found = [_approval(row, now) for row in cur.all()]
        return [a for a in found if status is None or a.status == status]

    def decide(self, approval_id: str, *, approver: str, approve: bool, reason: str) -> Approval:
        """Approve or deny a pending, unexpired approval; the requester cannot decide their own."""
        with self.db.transaction() as cur:
            now = self.db.now(cur)
            current = self._get(cur, approval_id, now)
            if current.principal == approver:
                err = ApprovalError(
                    "an approval cannot be decided by the principal who asked for it", code="approval_self"
                )
                err.status = 403
                raise err
            cur.execute(
                "UPDATE approvals SET status = %s, decided_by = %s, decided_at = %s, reason = %s "
                "WHERE id = %s AND status = 'pending' AND expires_at > %s",
                ("approved" if approve else "denied", approver, now, reason, approval_id, now),
            )
            if cur.rowcount != 1:
                raise ApprovalError(
                    f"the approval is {current.status}, not pending: it cannot be decided now",
                    code="approval_conflict",
                )
            return self._get(cur, approval_id, now)

    def consume(self, approval_id: str, *, principal: str, tool: str, command_sha256: str) -> Approval:
        """Use an approved approval for the exact request it was given for, once."""
        with self.db.transaction() as cur:
            now = self.db.now(cur)
            cur.execute(
                "UPDATE approvals SET status = 'consumed', consumed_at = %s, consumed_by = %s "
                "WHERE id = %s AND status = 'approved' AND expires_at > %s "
                "AND principal = %s AND tool = %s AND command_sha256 = %s",
                (now, principal, approval_id, now, principal, tool, command_sha256),
            )
            if cur.rowcount != 1:
                current = self._get(cur, approval_id, now)
                same = (current.principal, current.tool, current.command_sha256) == (
                    principal,
                    tool,
                    command_sha256,
                )
                why = f"it is {current.status}" if same else "it was given for another request"
                raise ApprovalError(f"the approval cannot be used: {why}", code="approval_conflict")
            return self._get(cur, approval_id, now)

    def _get(self, cur: Any, approval_id: str, now: float) -> Approval:
        cur.execute(f"SELECT {_COLUMNS} FROM approvals WHERE id = %s", (approval_id,))  # noqa: S608 - constant column list
        row = cur.one()
        if row is None:
            raise _not_found(approval_id)
        return _approval(row, now)
