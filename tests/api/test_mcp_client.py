"""MCP end to end: the `mcp` package's streamable HTTP client against the running server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from mcp.types import CallToolResult

from tests.support.cluster import Cluster
from tests.support.mcp import call_tool, mcp_session, text_of
from tests.support.server import Server

pytestmark = pytest.mark.cluster


async def call(
    server: Server, headers: dict[str, str], tool: str, arguments: dict[str, Any]
) -> CallToolResult:
    return await call_tool(server.url, headers, tool, arguments)


async def test_list_tools_shows_the_four_tools_and_nothing_else(server: Server) -> None:
    async with mcp_session(server.url) as session:
        tools = (await session.list_tools()).tools
    assert sorted(t.name for t in tools) == ["argocd", "helm", "istioctl", "kubectl"]
    for tool in tools:
        assert "policy" in (tool.description or "").lower()
        assert "command" in tool.inputSchema["properties"]


async def test_kubectl_get_ns_works_with_the_kubeconfig_in_a_header(
    server: Server, admin_headers: dict[str, str]
) -> None:
    result = await call(server, admin_headers, "kubectl", {"command": "get ns"})
    assert not result.isError, text_of(result)
    body = json.loads(text_of(result))
    assert body["success"] is True
    assert "kube-system" in body["output"]
    records = [json.loads(line) for line in server.audit_log.read_text().splitlines()]
    mine = [r for r in records if r["request_id"] == body["request_id"]]
    assert [r["event"] for r in mine] == ["decision", "completion"]
    assert mine[0]["transport"] == "mcp"
    assert mine[0]["source_ip"] == "127.0.0.1"


async def test_a_denied_command_is_a_tool_error_naming_the_rule(
    server: Server, admin_headers: dict[str, str], cluster: Cluster
) -> None:
    result = await call(server, admin_headers, "kubectl", {"command": "delete ns default"})
    assert result.isError
    text = text_of(result)
    assert "policy_denied" in text
    assert "builtin:read-only" in text
    assert cluster.kubectl_run("get", "ns", "default", "-o", "name").stdout.strip() == "namespace/default"


async def test_an_invalid_command_is_a_tool_error_with_its_code(
    server: Server, admin_headers: dict[str, str]
) -> None:
    result = await call(server, admin_headers, "kubectl", {"command": "get pods; id"})
    assert result.isError
    assert "invalid_command" in text_of(result)


async def test_a_forged_mcp_origin_header_over_rest_is_not_trusted(
    server: Server, admin_headers: dict[str, str]
) -> None:
    headers = {**admin_headers, "x-k8s-mcp-origin": "guess;10.9.9.9"}
    res = httpx.post(
        f"{server.url}/tools/kubectl", json={"command": "get ns -o name"}, headers=headers, timeout=30
    )
    request_id = res.json()["request_id"]
    records = [json.loads(line) for line in server.audit_log.read_text().splitlines()]
    decision = next(r for r in records if r["request_id"] == request_id)
    assert decision["transport"] == "rest"
    assert decision["source_ip"] == "127.0.0.1"


async def test_tool_arguments_are_still_validated_against_their_schema(
    server: Server, admin_headers: dict[str, str]
) -> None:
    async with mcp_session(server.url, admin_headers) as session:
        tools = (await session.list_tools()).tools
        assert {t.inputSchema.get("$schema") for t in tools} == {"http://json-schema.org/draft-07/schema#"}
        wrong_type = await session.call_tool("kubectl", {"command": 5})
        missing = await session.call_tool("kubectl", {})
    assert wrong_type.isError and "validation" in text_of(wrong_type).lower()
    assert missing.isError and "validation" in text_of(missing).lower()


async def test_a_denial_over_mcp_leaves_no_traceback_in_the_server_log(
    server: Server, admin_headers: dict[str, str]
) -> None:
    before = server.log_path.read_text()
    result = await call(server, admin_headers, "kubectl", {"command": "delete ns kube-public"})
    assert result.isError
    added = server.log_path.read_text()[len(before) :]
    assert "Traceback" not in added
    assert "Error calling" not in added
