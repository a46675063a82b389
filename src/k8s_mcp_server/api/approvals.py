"""REST for approvers (and requesters watching their own): `/approvals`.

    GET  /approvals[?status=pending&limit=100]   approvals the caller may decide, and their own requests
    GET  /approvals/{id}[?wait=SECONDS]          one approval; with wait, a bounded long-poll that
                                                 answers as soon as it is no longer pending
    POST /approvals/{id}/approve  {"reason": "..."}   (reason optional)
    POST /approvals/{id}/deny     {"reason": "..."}   (reason required: the requester sees it)

Deciding takes an API key whose entry has `roles: [approver]` (and, when the rule names approvers,
being named), or an OAuth token whose principal or group the rule names. The requester can never
decide their own request. A refused attempt to decide is audited like any refused request.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from k8s_mcp_server.api.compose import authenticate
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.approvals import Approval, ApprovalGate
from k8s_mcp_server.approvals.gate import ApprovalRefused, ApprovalsUnavailable
from k8s_mcp_server.approvals.model import STATUSES, Status
from k8s_mcp_server.contracts import CommandRequest
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.keys import ApiKey

MAX_LIST = 500


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None,
        max_length=1000,
        description="Why: shown to the requester and written to the audit log (required to deny).",
    )


def approvals_router() -> APIRouter:
    router = APIRouter(prefix="/approvals", tags=["approvals"])

    @router.get("", operation_id="approvals_list")
    async def list_approvals(request: Request, status: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Approvals the caller may decide (approvers) and the caller's own requests, newest first."""
        _, gate, viewer, _ = await _caller(request)
        statuses: tuple[Status, ...] | None = None
        if status is not None:
            wanted = tuple(s.strip() for s in status.split(",") if s.strip())
            if not wanted or any(s not in STATUSES for s in wanted):
                raise ProxyError(
                    f"status must be one or more of {', '.join(STATUSES)}, comma-separated",
                    code="invalid_arguments",
                )
            statuses = tuple(s for s in STATUSES if s in wanted)
        found = await gate.list(viewer, statuses=statuses, limit=max(1, min(limit, MAX_LIST)))
        return {"approvals": [_view(a) for a in found]}

    @router.get("/{approval_id}", operation_id="approvals_show")
    async def show_approval(request: Request, approval_id: str, wait: float = 0.0) -> dict[str, Any]:
        """One approval; `wait` (seconds, bounded by the server) long-polls while it is pending."""
        _, gate, viewer, _ = await _caller(request)
        approval = await gate.get(approval_id, viewer)
        if wait > 0 and approval.status == "pending":
            approval = await gate.wait(approval_id, wait) or approval
        return {"approval": _view(approval)}

    @router.post("/{approval_id}/approve", operation_id="approvals_approve")
    async def approve(request: Request, approval_id: str, body: DecisionBody | None = None) -> dict[str, Any]:
        return await _decide(request, approval_id, approve=True, reason=body.reason if body else None)

    @router.post("/{approval_id}/deny", operation_id="approvals_deny")
    async def deny(request: Request, approval_id: str, body: DecisionBody | None = None) -> dict[str, Any]:
        return await _decide(request, approval_id, approve=False, reason=body.reason if body else None)

    return router


async def _decide(request: Request, approval_id: str, *, approve: bool, reason: str | None) -> dict[str, Any]:
    state, gate, actor, probe = await _caller(request)
    try:
        decided = await gate.decide(
            approval_id,
            actor,
            approve=approve,
            reason=reason,
            request_id=probe.request_id,
            transport="rest",
            source_ip=probe.source_ip,
        )
    except ApprovalRefused as exc:
        await state.audit_rejection(probe, exc)
        raise
    return {"approval": _view(decided)}


async def _caller(request: Request) -> tuple[AppState, ApprovalGate, ApiKey, CommandRequest]:
    state: AppState = request.app.state.k8s
    request_id = str(uuid.uuid4())
    request.state.request_id = request_id
    probe = CommandRequest(
        request_id=request_id,
        tool="",
        command="",
        transport="rest",
        source_ip=request.client.host if request.client else None,
    )
    key = await authenticate(state, request.headers.get("authorization"), probe)
    gate = state.pipeline.approvals
    if gate is None:
        raise ApprovalsUnavailable("this server keeps no approvals store (K8S_MCP_APPROVALS_DB)")
    if key is None:
        exc = ApprovalRefused(
            "approvals are seen and decided by named principals: configure API keys (an approver's "
            "entry has `roles: [approver]`) or OAuth; an anonymous caller has no approvals",
            code="approver_required",
        )
        await state.audit_rejection(probe, exc)
        raise exc
    return state, gate, key, replace(probe, principal=key.principal)


def _view(approval: Approval) -> dict[str, Any]:
    return approval.view()
