"""The approval: what was asked, bound to the exact command, and what became of it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from k8s_mcp_server.contracts import ParsedCommand

Status = Literal["pending", "approved", "denied", "expired", "consumed"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "denied", "expired", "consumed")


def argv_digest(parsed: ParsedCommand) -> str:
    """`sha256:<hex>` of the canonical pipeline that would run (the tool's argv and every filter's):
    the approval binds to this, so any changed argument, flag or filter is another command."""
    canonical = json.dumps([list(stage) for stage in parsed.pipeline], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Preview:
    """What the command would change, as the cluster itself answered a dry run; redacted text only."""

    available: bool
    method: str  # "server-dry-run", "helm-dry-run" or "none"
    commands: tuple[str, ...] = ()  # what ran for the preview, as the audit log writes commands
    diff: str = ""  # current object against the dry-run result (kubectl), when both could be read
    output: str = ""  # the dry run's own output
    error: str = ""
    exit_code: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "commands": list(self.commands)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preview:
        return cls(**{**data, "commands": tuple(data.get("commands", ()))})


@dataclass(frozen=True, kw_only=True)
class Approval:
    """One approval. Everything but the `*_by/_at/reason` fields is fixed when it is requested."""

    id: str
    status: Status
    created_at: float  # seconds since the epoch
    expires_at: float
    request_id: str  # the request that asked for it
    principal: str  # who asked; the only principal who may continue it, and who may not approve it
    transport: str
    tool: str
    command: str  # as the audit log writes it (secrets redacted)
    argv_digest: str
    cluster_server: str | None
    cluster_fingerprint: str | None
    namespaces: tuple[str, ...]
    rule: str
    rule_reason: str | None
    policy_revision: str
    approvers: tuple[str, ...]  # principals and `group:NAME`; empty: any principal with the approver role
    preview: Preview | None = None
    decided_by: str | None = None
    decided_at: float | None = None
    decision_reason: str | None = None
    consumed_at: float | None = None
    consumed_request_id: str | None = None

    def view(self) -> dict[str, Any]:
        """The approval as REST, MCP and the CLI show it (no kubeconfig, no raw output)."""
        return {
            "id": self.id,
            "status": self.status,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "request_id": self.request_id,
            "principal": self.principal,
            "tool": self.tool,
            "command": self.command,
            "argv_digest": self.argv_digest,
            "cluster": {"server": self.cluster_server, "fingerprint": self.cluster_fingerprint},
            "namespaces": list(self.namespaces),
            "rule": self.rule,
            "rule_reason": self.rule_reason,
            "policy_revision": self.policy_revision,
            "waiting_for": list(self.approvers) or ["any principal with the approver role"],
            "preview": self.preview.to_json() if self.preview is not None else None,
            "decided_by": self.decided_by,
            "decided_at": iso(self.decided_at) if self.decided_at is not None else None,
            "decision_reason": self.decision_reason,
            "consumed_at": iso(self.consumed_at) if self.consumed_at is not None else None,
            "consumed_request_id": self.consumed_request_id,
        }


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
