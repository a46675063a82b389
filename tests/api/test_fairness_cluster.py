"""Against the real server and cluster: one caller's hundred watches do not starve another caller.

Caller A (anonymous at 127.0.0.1) opens 100 concurrent `get pods -w`; it holds its share of places
(K8S_MCP_MAX_PER_CALLER) and every other request of it is answered `429 busy` with a Retry-After
after at most the admission wait. Caller B (anonymous at 127.0.0.2) meanwhile runs `get ns`, which
succeeds while A's watches are still running. Timing is asserted only generously (10x the bound);
the medians are printed with -s.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

WATCHES = 100
PER_CALLER = 4
ADMISSION_WAIT = 1.0
WATCH_SECONDS = 15


@pytest.fixture(scope="module")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_MAX_PER_CALLER": str(PER_CALLER),
        "K8S_MCP_ADMISSION_WAIT": str(ADMISSION_WAIT),
        # every watch gets a connection: this tests the admission, not the connection cap
        "K8S_MCP_MAX_CONNECTIONS_PER_SOURCE": str(2 * WATCHES),
        "K8S_MCP_AUDIT_FSYNC": "false",
    }
    srv = start_server(tmp_path_factory.mktemp("fairness"), env, name="fairness")
    try:
        yield srv
    finally:
        srv.stop()


def client(server: Server, source: str, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url,
        headers=headers,
        timeout=120,
        transport=httpx.AsyncHTTPTransport(
            local_address=source, limits=httpx.Limits(max_connections=WATCHES)
        ),
    )


async def timed_post(
    http: httpx.AsyncClient, command: str, timeout: float | None = None
) -> tuple[float, httpx.Response]:
    body: dict[str, object] = {"command": command}
    if timeout is not None:
        body["timeout"] = timeout
    started = time.monotonic()
    res = await http.post("/tools/kubectl", json=body)
    return time.monotonic() - started, res


async def test_a_hundred_watches_of_one_caller_leave_another_callers_get_ns_alone(
    server: Server, cluster: Cluster
) -> None:
    headers = {"X-Kubeconfig": cluster.admin_b64()}
    async with client(server, "127.0.0.1", headers) as a, client(server, "127.0.0.2", headers) as b:
        quiet = [(await timed_post(b, "get ns -o name"))[0] for _ in range(5)]
        watches = [
            asyncio.ensure_future(timed_post(a, "get pods -w -n default", WATCH_SECONDS))
            for _ in range(WATCHES)
        ]
        await asyncio.sleep(ADMISSION_WAIT + 1)  # A's refusals are out; its share is running
        loaded = []
        for _ in range(5):
            took, res = await timed_post(b, "get ns -o name")
            assert res.status_code == 200, res.text
            assert "namespace/default" in res.json()["output"]
            loaded.append(took)
        assert not all(w.done() for w in watches), "B was measured after A's watches had ended"
        results = await asyncio.gather(*watches)

    ran = [(t, r) for t, r in results if r.status_code == 200]
    busy = [(t, r) for t, r in results if r.status_code == 429]
    assert len(ran) + len(busy) == WATCHES, sorted({r.status_code for _, r in results})
    assert len(ran) == PER_CALLER
    assert all(r.json()["timed_out"] for _, r in ran)
    assert all(r.json()["detail"]["code"] == "busy" and int(r.headers["Retry-After"]) >= 1 for _, r in busy)
    # nobody waits without an answer: every refusal came within (generously) the admission bound
    assert max(t for t, _ in busy) < 10 * ADMISSION_WAIT
    print(
        f"\n{WATCHES} watches of one caller: {len(ran)} ran, {len(busy)} busy (slowest refusal "
        f"{max(t for t, _ in busy):.2f} s); another caller's get ns: quiet median "
        f"{statistics.median(quiet) * 1e3:.0f} ms, during {statistics.median(loaded) * 1e3:.0f} ms"
    )


async def test_a_callers_timeout_is_capped_by_the_servers_maximum(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_MAX_COMMAND_TIMEOUT": "2",
    }
    srv = start_server(tmp_path, env, name="cap")
    try:
        async with client(srv, "127.0.0.1", {"X-Kubeconfig": cluster.admin_b64()}) as http:
            took, res = await timed_post(http, "get pods -w -n default", 3600)
        assert res.status_code == 200 and res.json()["timed_out"] is True
        assert took < 60  # ended at the server's 2 s, not the hour asked for
    finally:
        srv.stop()


def test_the_default_rate_limit_is_on(cluster: Cluster, standin_dir: Path, tmp_path: Path) -> None:
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    srv = start_server(tmp_path, env, name="ratelimit", rate_limited=True)  # the shipped default
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            statuses = [
                http.post("/tools/kubectl", json={"command": "get pods; id"}).status_code for _ in range(130)
            ]
            refused = http.post("/tools/kubectl", json={"command": "get pods; id"})
        assert statuses[:120] == [400] * 120  # refused by the parser, but counted
        assert refused.status_code == 429 and refused.json()["detail"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
    finally:
        srv.stop()
