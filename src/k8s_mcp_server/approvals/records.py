"""Audit records of an approval's life: requested, approved, denied, expired, consumed.

They go into the same hash-chained log as every decision, and all carry `approval_id`, so
`audit query --approval-id ID` shows the whole sequence, the continuing request's own decision and
completion included.
"""

from __future__ import annotations

from typing import Any, Literal

from k8s_mcp_server.approvals.model import Approval, iso
from k8s_mcp_server.audit import decision_record
from k8s_mcp_server.audit.secrets import redact_text
from k8s_mcp_server.contracts import ClusterRef, CommandRequest, Decision, ParsedCommand, Transport

Act = Literal["approved", "denied", "expired", "consumed"]


def requested_record(
    *,
    request: CommandRequest,
    parsed: ParsedCommand,
    decision: Decision,
    cluster: ClusterRef | None,
    approval: Approval,
) -> dict[str, Any]:
    """`event: approval_requested`: the request's decision record (outcome approve), nothing ran."""
    record = decision_record(
        request=request,
        parsed=parsed,
        decision=decision,
        outcome="approve",
        rule=None,
        reason=None,
        policy_revision=None,
        cluster=cluster,
    )
    record.update(event="approval_requested", approval_id=approval.id, approval=_summary(approval))
    return record


def act_record(
    *,
    act: Act,
    approval: Approval,
    actor: str,
    reason: str | None,
    request_id: str,
    transport: Transport | None,
    source_ip: str | None,
) -> dict[str, Any]:
    """`event: approved | denied | expired | consumed`: who acted (`principal`; `server` for an
    expiry) and why, on which approval and command."""
    return {
        "event": act,
        "request_id": request_id,
        "principal": actor,
        "transport": transport,
        "source_ip": source_ip,
        "tool": approval.tool,
        "command": approval.command,
        "argv": None,
        "filters": [],
        "verbs": [],
        "resources": [],
        "names": [],
        "namespaces": list(approval.namespaces),
        "cluster": {"server": approval.cluster_server, "fingerprint": approval.cluster_fingerprint},
        "decision": "approve",
        "rule": approval.rule,
        "reason": redact_text(reason) if reason else None,
        "policy_revision": approval.policy_revision,
        "error_code": None,
        "warnings": [],
        "approval_id": approval.id,
        "approval": {
            **_summary(approval),
            "requester": approval.principal,
            "requested_by": approval.request_id,
        },
    }


def _summary(approval: Approval) -> dict[str, Any]:
    preview = approval.preview
    return {
        "argv_digest": approval.argv_digest,
        "approvers": list(approval.approvers),
        "expires_at": iso(approval.expires_at),
        "preview": None
        if preview is None
        else {
            "method": preview.method,
            "available": preview.available,
            "commands": list(preview.commands),
            "exit_code": preview.exit_code,
        },
    }
