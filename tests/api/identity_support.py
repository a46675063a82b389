"""Helpers for the identity tests: keys files, MCP calls with a bearer header, audit reading."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from mcp.types import CallToolResult

from tests.support.mcp import call_tool as mcp_call_tool
from tests.support.mcp import text_of as text_of  # re-exported for the identity tests
from tests.support.server import Server

READER_POLICY = """\
version: 1
default: deny
read_only: true
namespaces:
  allow: [default]
rules:
  - id: reads
    effect: allow
    verbs: ["*"]
"""

SCALER_POLICY = """\
version: 1
default: deny
read_only: false
namespaces:
  allow: ["dev-*"]
rules:
  - id: scale-dev
    effect: allow
    tools: [kubectl]
    verbs: [scale, get]
    resources: [deployments]
"""


def key_line(principal: str, key: str, policy: Path | None = None) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    line = f"  - principal: {principal}\n    sha256: {digest}\n"
    return line + (f"    policy: {policy}\n" if policy else "")


def write_keys(path: Path, entries: list[tuple[str, str, Path | None]]) -> None:
    """Write the keys file atomically (a server re-reads it on change)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text("keys:\n" + "".join(key_line(p, k, pol) for p, k, pol in entries))
    tmp.replace(path)


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def post(server: Server, tool: str, command: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/tools/{tool}", json={"command": command}, headers=headers, timeout=60)


def audit_lines(server: Server) -> list[str]:
    return server.audit_log.read_text().splitlines() if server.audit_log.exists() else []


def audit_records(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit_lines(server)]


async def call_tool(
    server: Server, headers: dict[str, str], tool: str, arguments: dict[str, Any]
) -> CallToolResult:
    return await mcp_call_tool(server.url, headers, tool, arguments)
