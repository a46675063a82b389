"""50 approvals requested, approved and continued at once against the real server and cluster: each
approval is decided once, consumed once, and none is lost (the test counts)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.approvals.support import APPROVE_POLICY, Keys, records
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

N = 50


@dataclass
class Setup:
    server: Server
    keys: Keys
    namespace: str


@pytest.fixture(scope="module")
def setup(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("approvals-many")
    policy = tmp / "policy.yaml"
    policy.write_text(APPROVE_POLICY)
    keys = Keys()
    keys.write(tmp / "keys.yaml")
    namespace = f"appr-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "bulk", "--image=registry.invalid/bulk:1", "-n", namespace)
    env = {
        **server_env(cluster, standin_dir, policy),
        "K8S_MCP_API_KEYS_FILE": str(tmp / "keys.yaml"),
        # one principal sends all of it at once: let it wait for a place instead of 429 busy
        "K8S_MCP_MAX_PER_CALLER": "200",
        "K8S_MCP_MAX_CONCURRENCY": "16",
        "K8S_MCP_MAX_QUEUE": "400",
        "K8S_MCP_ADMISSION_WAIT": "60",
        "K8S_MCP_MAX_CONNECTIONS_PER_SOURCE": "512",
        "K8S_MCP_COMMAND_TIMEOUT": "60",
    }
    srv = start_server(tmp, env, name="approvals-many")
    try:
        yield Setup(srv, keys, namespace)
    finally:
        srv.stop()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


async def everything_at_once(setup: Setup, kubeconfig: str) -> tuple[list[str], Counter[str], Counter[str]]:
    url = setup.server.url
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": kubeconfig})
    command = f"scale deploy/bulk --replicas=2 -n {setup.namespace}"
    limits = httpx.Limits(max_connections=4 * N)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        asked = await asyncio.gather(
            *(http.post(f"{url}/tools/kubectl", json={"command": command}, headers=agent) for _ in range(N))
        )
        assert [r.status_code for r in asked] == [202] * N, [r.text for r in asked if r.status_code != 202][
            :2
        ]
        ids = [r.json()["approval"]["id"] for r in asked]

        # every approval approved by two approvers at the same moment: one of them decides it
        decisions = await asyncio.gather(
            *(
                http.post(
                    f"{url}/approvals/{i}/approve", json={"reason": "bulk"}, headers=setup.keys.headers(who)
                )
                for i in ids
                for who in ("bob", "carol")
            )
        )
        decided = Counter(str(r.status_code) for r in decisions)

        # and continued twice at the same moment: one of them runs it
        continued = await asyncio.gather(
            *(
                http.post(f"{url}/tools/kubectl", json={"command": command, "approval_id": i}, headers=agent)
                for i in ids
                for _ in range(2)
            )
        )
        outcomes = Counter(
            "ran" if r.status_code == 200 and r.json()["exit_code"] == 0 else r.json()["detail"]["code"]
            for r in continued
        )
        per_approval = Counter(ids[n // 2] for n, r in enumerate(continued) if r.status_code == 200)
        assert set(per_approval.values()) == {1} and len(per_approval) == N
    return ids, decided, outcomes


def test_fifty_concurrent_approvals_are_each_decided_once_and_consumed_once(
    setup: Setup, cluster: Cluster
) -> None:
    ids, decided, outcomes = asyncio.run(everything_at_once(setup, cluster.admin_b64()))

    assert len(set(ids)) == N
    assert decided == Counter({"200": N, "409": N})
    assert outcomes == Counter({"ran": N, "approval_used": N})

    events = Counter(
        (r["event"], r["approval_id"]) for r in records(setup.server) if r.get("approval_id") in ids
    )
    for approval_id in ids:
        assert events[("approval_requested", approval_id)] == 1
        assert events[("approved", approval_id)] == 1
        assert events[("consumed", approval_id)] == 1
        assert events[("completion", approval_id)] == 1
    verify = subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "audit", "verify", str(setup.server.audit_log)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    listed = httpx.get(
        f"{setup.server.url}/approvals",
        params={"status": "consumed", "limit": 500},
        headers=setup.keys.headers("bob"),
    ).json()["approvals"]
    assert {a["id"] for a in listed} >= set(ids)
