"""Helpers for the approval tests: a policy with approve rules, keys with roles, REST calls."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import Server

APPROVE_POLICY = """\
version: 1
default: deny
read_only: false
namespaces:
  allow: ["appr-*"]
rules:
  - id: reads
    effect: allow
    tools: [kubectl]
    verbs: [get]
  - id: scale-needs-approval
    effect: approve
    tools: [kubectl]
    verbs: [scale]
    resources: [deployments]
    approvers: [bob, carol, "group:sre"]
    ttl: 10m
    reason: scaling is reviewed by the platform team
  - id: label-expires-fast
    effect: approve
    tools: [kubectl]
    verbs: [label]
    approvers: [bob]
    ttl: 1s
"""


class Keys:
    """Keys of the principals in these tests; `agent` asks, `bob` and `carol` approve, `eve` is an
    approver the rules do not name, `mallory` has no role."""

    def __init__(self) -> None:
        self.values = {
            name: f"kms_{name}-{uuid.uuid4().hex}" for name in ("agent", "bob", "carol", "eve", "mallory")
        }
        self.roles = {"agent": ["approver"], "bob": ["approver"], "carol": ["approver"], "eve": ["approver"]}

    def write(self, path: Path) -> None:
        lines = ["keys:"]
        for name, key in self.values.items():
            lines.append(f"  - principal: {name}")
            lines.append(f"    sha256: {hashlib.sha256(key.encode()).hexdigest()}")
            if name in self.roles:
                lines.append(f"    roles: [{', '.join(self.roles[name])}]")
        path.write_text("\n".join(lines) + "\n")

    def headers(self, name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.values[name]}", **extra}


def run(server: Server, command: str, headers: dict[str, str], **fields: Any) -> httpx.Response:
    body = {"command": command, **fields}
    return httpx.post(f"{server.url}/tools/kubectl", json=body, headers=headers, timeout=90)


def decide(
    server: Server, approval_id: str, verdict: str, headers: dict[str, str], reason: str | None = None
) -> httpx.Response:
    body = {"reason": reason} if reason is not None else {}
    return httpx.post(
        f"{server.url}/approvals/{approval_id}/{verdict}", json=body, headers=headers, timeout=60
    )


def show(server: Server, approval_id: str, headers: dict[str, str], wait: float = 0) -> httpx.Response:
    return httpx.get(
        f"{server.url}/approvals/{approval_id}", params={"wait": wait}, headers=headers, timeout=90
    )


def records(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.audit_log.read_text().splitlines()]
