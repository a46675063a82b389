"""`GET /metrics` against a real server: the counters match the requests this test sent."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from tests.api.identity_support import bearer, call_tool, post, write_keys
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

KEY = "kms_metrics-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("metrics")
    keys = tmp / "keys.yaml"
    write_keys(keys, [("watcher", KEY, None)])
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_API_KEYS_FILE": str(keys),
    }
    srv = start_server(tmp, env, name="metrics")
    try:
        yield srv
    finally:
        srv.stop()


def scrape(server: Server) -> dict[str, list[tuple[dict[str, str], float]]]:
    res = httpx.get(f"{server.url}/metrics", headers=bearer(KEY), timeout=10)
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(res.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in samples.get(name, []) if all(got.get(k) == w for k, w in labels.items()))


async def test_metrics_counters_match_the_allowed_denied_and_invalid_requests_sent(
    server: Server, cluster: Cluster
) -> None:
    headers = bearer(KEY, **{"X-Kubeconfig": cluster.admin_b64()})
    allowed, denied, invalid, unauthenticated = 3, 2, 4, 2
    for _ in range(allowed):
        assert post(server, "kubectl", "get ns default -o name", headers).status_code == 200
    for _ in range(denied):
        assert post(server, "kubectl", "delete ns default", headers).status_code == 403
    for _ in range(invalid):
        assert post(server, "kubectl", "get pods; id", headers).status_code == 400
    for _ in range(unauthenticated):
        assert post(server, "kubectl", "get ns", {"Authorization": "Bearer wrong"}).status_code == 401
    mcp = await call_tool(server, headers, "kubectl", {"command": "get ns default -o name"})
    assert not mcp.isError

    m = scrape(server)
    requests = "k8s_mcp_requests_total"
    assert total(m, requests, tool="kubectl", transport="rest", decision="allow") == allowed
    assert total(m, requests, tool="kubectl", transport="mcp", decision="allow") == 1
    assert total(m, requests, decision="deny", rule="builtin:read-only") == denied
    assert total(m, requests, decision="rejected", code="invalid_command") == invalid
    assert total(m, requests, decision="rejected", code="unauthenticated") == unauthenticated
    assert total(m, requests) == allowed + 1 + denied + invalid + unauthenticated

    ran = allowed + 1
    assert total(m, "k8s_mcp_stage_duration_seconds_count", stage="execute") == ran
    assert total(m, "k8s_mcp_stage_duration_seconds_count", stage="redact") == ran
    assert total(m, "k8s_mcp_stage_duration_seconds_count", stage="policy") == ran + denied
    assert total(m, "k8s_mcp_stage_duration_seconds_count", stage="total") == ran + denied + invalid
    assert total(m, "k8s_mcp_stage_duration_seconds_sum", stage="execute") > 0
    assert total(m, "k8s_mcp_requests_in_flight") == 0


async def test_metrics_is_not_an_mcp_tool(server: Server) -> None:
    async with (
        httpx.AsyncClient(headers=bearer(KEY), timeout=30) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        names = sorted(t.name for t in (await session.list_tools()).tools)
    assert names == ["argocd", "helm", "istioctl", "kubectl"]


def test_redactions_are_counted_by_rule(server: Server, cluster: Cluster) -> None:
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    cluster.kubectl_run(
        "create", "secret", "generic", name, "-n", "default", "--from-literal=password=hunter2-x9"
    )
    try:
        before = total(scrape(server), "k8s_mcp_redactions_total")
        headers = bearer(KEY, **{"X-Kubeconfig": cluster.admin_b64()})
        res = post(server, "kubectl", f"get secret {name} -n default -o yaml", headers)
        assert res.status_code == 200, res.text
        assert "hunter2-x9" not in res.text
        after = scrape(server)
        assert total(after, "k8s_mcp_redactions_total") - before == res.json()["redactions"] > 0
    finally:
        cluster.kubectl_run("delete", "secret", name, "-n", "default", check=False)


def test_a_policy_reload_and_a_rejected_policy_file_are_counted(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    original = (REPO / "policies" / "default.yaml").read_text()
    policy.write_text(original)
    srv = start_server(tmp_path, server_env(cluster, standin_dir, policy), name="reloads")
    try:
        policy.write_text(original + "\n# changed\n")
        _wait_for(srv, "k8s_mcp_policy_reloads_total", 1)
        policy.write_text("version: 1\nrulez: []\n")
        _wait_for(srv, "k8s_mcp_policy_reload_failures_total", 1)
    finally:
        srv.stop()


def _wait_for(srv: Server, name: str, value: float) -> None:
    deadline = time.monotonic() + 10
    got = 0.0
    while time.monotonic() < deadline:
        text = httpx.get(f"{srv.url}/metrics", timeout=10).text
        got = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)
        if got >= value:
            assert got == value
            return
        time.sleep(0.3)
    raise AssertionError(f"{name} stayed at {got}")
