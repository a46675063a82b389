"""Against the real server and cluster: a filter or a CLI past its limits ends with `resource_limit`
naming the limit, and the server's own memory stays in its range (the children's is theirs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

MiB = 1024 * 1024
MEMORY_HEADROOM = 64 * MiB  # caches and allocator slack; a child's memory never counts here
CONCURRENT = 4


def rss(server: Server) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_AUDIT_FSYNC": "false",
    }
    srv = start_server(tmp_path_factory.mktemp("limits"), env, name="limits")  # the default limits
    try:
        yield srv
    finally:
        srv.stop()


async def test_jq_building_a_huge_array_ends_with_resource_limit_memory_and_the_server_stays_small(
    server: Server, cluster: Cluster
) -> None:
    headers = {"X-Kubeconfig": cluster.admin_b64()}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as http:
        await http.post("/tools/kubectl", json={"command": "get ns -o name"})  # warm
        before = rss(server)
        command = {"command": "get ns -o json | jq -n '[range(6e7)]|length'"}
        results = await asyncio.gather(
            *(http.post("/tools/kubectl", json=command) for _ in range(CONCURRENT))
        )
        after = rss(server)
        still = await http.post("/tools/kubectl", json={"command": "get ns default -o name | head -1"})
    for res in results:
        assert res.status_code == 400, res.text
        detail = res.json()["detail"]
        assert (detail["code"], detail["limit"]) == ("resource_limit", "memory")
        assert "jq" in detail["message"] and "K8S_MCP_CHILD_MEMORY_BYTES" in detail["message"]
    assert still.status_code == 200 and still.json()["output"].strip() == "namespace/default"
    records = [
        json.loads(line)
        for line in server.audit_log.read_text().splitlines()
        if results[0].json()["detail"]["request_id"] in line
    ]
    assert [(r["event"], r["decision"], r["error_code"]) for r in records] == [
        ("decision", "allow", None),
        ("completion", "allow", "resource_limit"),
    ]
    print(f"\n{CONCURRENT} x jq [range(6e7)]: RSS {before / MiB:.1f} -> {after / MiB:.1f} MiB")
    assert after < before + MEMORY_HEADROOM


def test_kubectl_fed_the_whole_openapi_past_its_memory_limit_ends_with_resource_limit_memory(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        # kubectl v1.32 starts (and lists namespaces) in 56 MiB; `explain pods --recursive` needs ~90
        "K8S_MCP_CHILD_MEMORY_BYTES": str(64 * MiB),
    }
    srv = start_server(tmp_path, env, name="small")
    try:
        res = httpx.post(
            f"{srv.url}/tools/kubectl",
            json={"command": "explain pods --recursive"},
            headers={"X-Kubeconfig": cluster.admin_b64()},
            timeout=60,
        )
    finally:
        srv.stop()
    assert res.status_code == 400, res.text
    detail = res.json()["detail"]
    assert (detail["code"], detail["limit"]) == ("resource_limit", "memory")
    assert "stage 1 of the command (kubectl)" in detail["message"]
