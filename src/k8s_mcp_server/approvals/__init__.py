"""Approvals held by the server: a person says yes to one exact command, once, before it expires.

policy `approve` ─► preview (dry run, redacted) ─► audit `approval_requested` ─► store (pending)
approver ─► `approved` / `denied` (audited)       requester continues with `approval_id`
─► binding checked (principal, tool, argv digest, cluster, namespaces) ─► `consumed` ─► the run
"""

from __future__ import annotations

from k8s_mcp_server.approvals.gate import ApprovalGate, ApprovalPending
from k8s_mcp_server.approvals.model import Approval, Preview, Status
from k8s_mcp_server.approvals.store import ApprovalStore, SqliteApprovalStore, default_store_path

__all__ = [
    "Approval",
    "ApprovalGate",
    "ApprovalPending",
    "ApprovalStore",
    "Preview",
    "SqliteApprovalStore",
    "Status",
    "default_store_path",
]
