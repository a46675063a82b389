"""Approvals over MCP (the `mcp` Python SDK client) against the real API server: a pending approval
is a non-error result carrying the approval; the agent continues with the `approval_id` argument,
also by waiting in the call (`approval_wait`) while an approver decides."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.approvals.support import APPROVE_POLICY, Keys, records
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.mcp import call_tool, text_of
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster


@dataclass
class Setup:
    server: Server
    keys: Keys
    namespace: str


@pytest.fixture(scope="module")
def setup(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("approvals-mcp")
    policy = tmp / "policy.yaml"
    policy.write_text(APPROVE_POLICY)
    keys = Keys()
    keys.write(tmp / "keys.yaml")
    namespace = f"appr-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "api", "--image=registry.invalid/api:1", "-n", namespace)
    env = {**server_env(cluster, standin_dir, policy), "K8S_MCP_API_KEYS_FILE": str(tmp / "keys.yaml")}
    srv = start_server(tmp, env, name="approvals-mcp")
    try:
        yield Setup(srv, keys, namespace)
    finally:
        srv.stop()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def replicas(cluster: Cluster, namespace: str) -> int:
    out = cluster.kubectl_run("get", "deployment", "api", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    return int(out.stdout)


async def approve_when_requested(setup: Setup, approval_id: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(
            f"{setup.server.url}/approvals/{approval_id}/approve",
            json={"reason": "reviewed over MCP"},
            headers=setup.keys.headers("bob"),
        )


def test_over_mcp_a_pending_approval_is_a_non_error_result_and_the_approved_command_runs_once(
    setup: Setup, cluster: Cluster
) -> None:
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    command = f"scale deploy/api --replicas=3 -n {setup.namespace}"
    cluster.kubectl_run("scale", "deployment", "api", "--replicas=1", "-n", setup.namespace)

    asked = asyncio.run(call_tool(setup.server.url, agent, "kubectl", {"command": command}))
    assert not asked.isError, text_of(asked)
    assert asked.structuredContent is not None
    approval = asked.structuredContent["approval"]
    assert approval["status"] == "pending" and approval["expires_at"]
    assert "+  replicas: 3" in approval["preview"]["diff"]
    text = text_of(asked)
    assert approval["id"] in text and "approval_id" in text and "bob, carol, group:sre" in text
    assert replicas(cluster, setup.namespace) == 1

    own = httpx.post(
        f"{setup.server.url}/approvals/{approval['id']}/approve", json={}, headers=setup.keys.headers("agent")
    )
    assert own.status_code == 403

    async def continue_while_bob_approves() -> tuple[object, httpx.Response]:
        arguments = {"command": command, "approval_id": approval["id"], "approval_wait": 40}
        waiting = asyncio.ensure_future(call_tool(setup.server.url, agent, "kubectl", arguments))
        await asyncio.sleep(0)  # the call is on its way; the approval may come before or during its wait
        decided = await approve_when_requested(setup, approval["id"])
        return await waiting, decided

    ran, decided = asyncio.run(continue_while_bob_approves())
    assert decided.status_code == 200, decided.text
    assert not ran.isError, text_of(ran)  # type: ignore[attr-defined]
    assert ran.structuredContent["exit_code"] == 0  # type: ignore[attr-defined]
    assert replicas(cluster, setup.namespace) == 3

    again = asyncio.run(
        call_tool(setup.server.url, agent, "kubectl", {"command": command, "approval_id": approval["id"]})
    )
    assert again.isError and "approval_used" in text_of(again)
    other = asyncio.run(
        call_tool(
            setup.server.url,
            agent,
            "kubectl",
            {"command": f"scale deploy/api --replicas=4 -n {setup.namespace}", "approval_id": approval["id"]},
        )
    )
    assert other.isError and "approval_mismatch" in text_of(other)

    mine = [r for r in records(setup.server) if r.get("approval_id") == approval["id"]]
    assert {"approval_requested", "approved", "consumed", "completion"} <= {r["event"] for r in mine}
    assert all(r["transport"] == "mcp" for r in mine if r["principal"] == "agent")


def test_over_mcp_a_denied_approval_is_refused_with_the_reason_and_an_expired_one_is_refused(
    setup: Setup, cluster: Cluster
) -> None:
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    scale = f"scale deploy/api --replicas=6 -n {setup.namespace}"
    before = replicas(cluster, setup.namespace)
    asked = asyncio.run(call_tool(setup.server.url, agent, "kubectl", {"command": scale}))
    denied_id = asked.structuredContent["approval"]["id"]  # type: ignore[index]
    denied = httpx.post(
        f"{setup.server.url}/approvals/{denied_id}/deny",
        json={"reason": "six is too many"},
        headers=setup.keys.headers("carol"),
    )
    assert denied.status_code == 200, denied.text
    refused = asyncio.run(
        call_tool(setup.server.url, agent, "kubectl", {"command": scale, "approval_id": denied_id})
    )
    assert refused.isError
    assert "approval_denied" in text_of(refused) and "carol: six is too many" in text_of(refused)
    assert replicas(cluster, setup.namespace) == before

    label = f"label deploy/api tier=web --overwrite -n {setup.namespace}"
    short = asyncio.run(call_tool(setup.server.url, agent, "kubectl", {"command": label}))
    short_id = short.structuredContent["approval"]["id"]  # type: ignore[index]
    status = "pending"
    for _ in range(100):  # the rule's ttl is 1 s; the long-poll answers once it is no longer pending
        shown = httpx.get(
            f"{setup.server.url}/approvals/{short_id}",
            params={"wait": 2},
            headers=setup.keys.headers("bob"),
            timeout=60,
        )
        status = shown.json()["approval"]["status"]
        if status != "pending":
            break
    assert status == "expired"
    late = asyncio.run(
        call_tool(setup.server.url, agent, "kubectl", {"command": label, "approval_id": short_id})
    )
    assert late.isError and "approval_expired" in text_of(late)
