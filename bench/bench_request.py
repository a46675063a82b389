"""REST request vs the same kubectl command run directly; MCP call_tool vs REST. One run, ratios.

Needs the real cluster (started here through scripts/cluster.sh if not running, or
K8S_MCP_TEST_KUBECONFIG). Usage: .venv/bin/python bench/bench_request.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import server_env  # noqa: E402
from tests.support.cluster import start_cluster, stop_cluster  # noqa: E402
from tests.support.server import start_server  # noqa: E402
from tests.support.standins import write_standins  # noqa: E402

COMMAND = "get ns"


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"median {statistics.median(samples):7.2f} ms  p90 {p90:7.2f} ms"


async def measure(rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-request-"))
    cluster = start_cluster(tmp)
    write_standins(tmp / "standins")
    server = start_server(tmp, server_env(cluster, tmp / "standins", REPO / "policies" / "default.yaml"))
    headers = {"X-Kubeconfig": cluster.admin_b64()}
    direct: list[float] = []
    rest: list[float] = []
    mcp: list[float] = []
    health: list[float] = []  # an HTTP round trip to the same server that runs nothing
    try:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=60) as client,
            httpx.AsyncClient(headers=headers, timeout=60) as mcp_http,
            streamable_http_client(f"{server.url}/mcp", http_client=mcp_http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for i in range(rounds + 3):  # interleaved so drift hits all three alike; 3 warm-up rounds
                t = time.perf_counter()
                proc = subprocess.run(
                    [str(cluster.kubectl), "--kubeconfig", str(cluster.admin), *COMMAND.split()],
                    capture_output=True,
                    check=True,
                )
                d = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                res = await client.post("/tools/kubectl", json={"command": COMMAND}, headers=headers)
                r = (time.perf_counter() - t) * 1000
                assert res.status_code == 200 and res.json()["success"], res.text
                names = [line.split()[0] for line in res.json()["output"].splitlines()]
                assert names == [line.split()[0] for line in proc.stdout.decode().splitlines()]
                t = time.perf_counter()
                await client.get("/health")
                h = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                result = await session.call_tool("kubectl", {"command": COMMAND})
                m = (time.perf_counter() - t) * 1000
                assert not result.isError
                if i >= 3:
                    direct.append(d)
                    rest.append(r)
                    mcp.append(m)
                    health.append(h)
    finally:
        server.stop()
        stop_cluster(cluster)
    d_med, r_med, m_med = (statistics.median(x) for x in (direct, rest, mcp))
    print(f"kubectl {COMMAND!r} against the real API server, {rounds} rounds, interleaved")
    print(f"  kubectl run directly   {ms(direct)}")
    print(f"  REST /tools/kubectl    {ms(rest)}")
    print(f"  MCP call_tool          {ms(mcp)}")
    print(f"  GET /health            {ms(health)}   (the HTTP round trip alone, for attribution)")
    print(f"  REST / direct          {r_med / d_med:.3f}x   (+{r_med - d_med:.2f} ms; target <= 1.02x)")
    print(f"  MCP - REST             {m_med - r_med:+.2f} ms   (target <= 3 ms)")
    print(json.dumps({"direct_ms": d_med, "rest_ms": r_med, "mcp_ms": m_med, "rest_ratio": r_med / d_med}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(measure(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
