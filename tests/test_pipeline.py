"""The pipeline's audit promises at the edges: no audited allow followed by `busy`, and an allowed
command that could not start says so in a completion record."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster


def records_of(server: Server, request_id: str) -> list[dict[str, Any]]:
    lines = server.audit_log.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("request_id") == request_id]


@pytest.fixture
def one_slot_server(cluster: Cluster, standin_dir: Path, tmp_path: Path) -> Any:
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    # no wait for a place: the second request is refused while the watch holds the only one
    env.update(K8S_MCP_MAX_CONCURRENCY="1", K8S_MCP_MAX_QUEUE="0", K8S_MCP_ADMISSION_WAIT="0")
    server = start_server(tmp_path, env)
    yield server
    server.stop()


async def test_a_busy_refusal_is_audited_as_rejected_never_as_an_allow(
    one_slot_server: Server, admin_headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=one_slot_server.url, headers=admin_headers, timeout=30) as client:
        slow = asyncio.ensure_future(
            client.post("/tools/kubectl", json={"command": "get pods -w -n default", "timeout": 2})
        )
        await asyncio.sleep(0.8)  # the watch holds the only slot
        busy = await client.post("/tools/kubectl", json={"command": "get ns"})
        assert (await slow).status_code == 200
    assert busy.status_code == 429
    detail = busy.json()["detail"]
    assert detail["code"] == "busy"
    records = records_of(one_slot_server, detail["request_id"])
    assert [(r["event"], r["decision"], r.get("error_code")) for r in records] == [
        ("decision", "rejected", "busy")
    ]


def test_an_allowed_command_that_cannot_start_leaves_a_not_run_completion(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, admin_headers: dict[str, str]
) -> None:
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    env["K8S_MCP_ISTIOCTL"] = str(tmp_path / "no-such-istioctl")
    env["PATH"] = "/usr/bin:/bin"  # no istioctl to fall back on
    server = start_server(tmp_path, env)
    try:
        res = httpx.post(
            f"{server.url}/tools/istioctl", json={"command": "proxy-status"}, headers=admin_headers
        )
    finally:
        server.stop()
    assert res.status_code == 503
    detail = res.json()["detail"]
    assert detail["code"] == "tool_unavailable"
    records = records_of(server, detail["request_id"])
    assert [(r["event"], r["decision"]) for r in records] == [("decision", "allow"), ("completion", "allow")]
    assert records[1]["error_code"] == "tool_unavailable"
    assert records[1]["exit_code"] is None


def test_a_command_the_policy_denies_is_denied_before_a_kubeconfig_is_asked_for(server: Server) -> None:
    res = httpx.post(
        f"{server.url}/tools/kubectl", json={"command": "delete pod web-1 -n default"}, timeout=30
    )
    assert res.status_code == 403, res.text
    detail = res.json()["detail"]
    assert detail["code"] == "policy_denied"
    records = records_of(server, detail["request_id"])
    assert [(r["event"], r["decision"]) for r in records] == [("decision", "deny")]


def test_an_allowed_command_without_a_kubeconfig_is_refused_with_what_to_send(server: Server) -> None:
    res = httpx.post(f"{server.url}/tools/kubectl", json={"command": "get ns"}, timeout=30)
    assert res.status_code == 400, res.text
    detail = res.json()["detail"]
    assert detail["code"] == "kubeconfig_required"
    assert "base64 -w0 ~/.kube/config" in detail["message"]
    assert "k8s-mcp-server kubeconfig export --base64" in detail["message"]
    assert "K8S_MCP_DEFAULT_KUBECONFIG" in detail["message"]
    records = records_of(server, detail["request_id"])
    assert [(r["event"], r["decision"], r["error_code"]) for r in records] == [
        ("decision", "rejected", "kubeconfig_required")
    ]


def test_a_call_whose_client_goes_away_still_gets_its_completion_record(
    server: Server, admin_headers: dict[str, str]
) -> None:
    marker = f"cancelled-{uuid.uuid4().hex[:10]}"
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "kubectl", "arguments": {"command": f"get ns -w -l x={marker}", "timeout": 60}},
    }
    headers = {
        **admin_headers,
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
        httpx.post(f"{server.url}/mcp", json=call, headers=headers, timeout=httpx.Timeout(30, read=2))
    records: list[dict[str, Any]] = []
    for _ in range(100):  # the completion is written once the server has stopped the command
        records = [
            r
            for r in map(json.loads, server.audit_log.read_text().splitlines())
            if marker in r.get("command", "")
        ]
        if any(r["event"] == "completion" for r in records):
            break
        time.sleep(0.1)
    assert [(r["event"], r["decision"]) for r in records] == [("decision", "allow"), ("completion", "allow")]
    assert records[1]["error_code"] == "cancelled" and records[1]["exit_code"] is None


def test_a_command_refused_for_its_length_is_audited_by_size_not_redacted_in_full(server: Server) -> None:
    canary = f"cnry{uuid.uuid4().hex}"
    command = "get pods --token=" + canary + " " + "a" * 20000
    res = httpx.post(f"{server.url}/tools/kubectl", json={"command": command}, timeout=30)
    assert res.status_code == 400 and res.json()["detail"]["code"] == "invalid_command"
    (record,) = records_of(server, res.json()["detail"]["request_id"])
    assert record["decision"] == "rejected" and record["error_code"] == "invalid_command"
    assert (
        record["command"]
        == f"[not recorded: {len(command)} characters, over K8S_MCP_MAX_COMMAND_LENGTH=8192]"
    )
    assert canary not in server.audit_log.read_text()
