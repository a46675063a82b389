"""MCP against REST on one server, and how fast a cancelled MCP call's command is gone. One run.

1. the same `kubectl get ns`, interleaved: REST, MCP on the wire (one JSON-RPC POST, no SDK), and the
   `mcp` 1.x SDK's call_tool (which also parses and validates the result on the client side);
2. a `ping` against `GET /health`: what the MCP layer costs on its own;
3. a `get ns -w` call stopped by the client, by closing its connection and by `notifications/cancelled`:
   milliseconds from the client's act until the kubectl process is gone (reaped).

Needs the real cluster (started through scripts/cluster.sh if not running). Usage:
.venv/bin/python bench/bench_mcp.py [--rounds N] [--cancels N] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import anyio
import httpx
from mcp import McpError
from mcp import types as mt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import server_env  # noqa: E402
from tests.support.cluster import start_cluster, stop_cluster  # noqa: E402
from tests.support.mcp import mcp_session  # noqa: E402
from tests.support.processes import exists, wait_for_process  # noqa: E402
from tests.support.server import start_server  # noqa: E402
from tests.support.standins import write_standins  # noqa: E402

COMMAND = "get ns"
ACCEPT = {"Accept": "application/json, text/event-stream"}


def med(samples: list[float]) -> float:
    return statistics.median(samples)


def line(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"  {name:<28} median {med(samples):8.2f} ms  p90 {ordered[int(len(ordered) * 0.9) - 1]:8.2f} ms"


async def gone_after(pid: int, since: float) -> float:
    while exists(pid):
        await anyio.sleep(0.002)
    return (time.perf_counter() - since) * 1000


async def cancel_by_disconnect(url: str, headers: dict[str, str]) -> float:
    marker = f"bench-gone={uuid.uuid4().hex[:10]}"
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            async with mcp_session(url, headers) as session:
                await session.call_tool("kubectl", {"command": f"get ns -w -l {marker}", "timeout": 120})

        tg.start_soon(call)
        pid = await wait_for_process(marker)
        since = time.perf_counter()
        tg.cancel_scope.cancel()
    return await gone_after(pid, since)


async def cancel_by_notification(url: str, headers: dict[str, str]) -> float:
    marker = f"bench-cancel={uuid.uuid4().hex[:10]}"
    async with mcp_session(url, headers) as session, anyio.create_task_group() as tg:

        async def call() -> None:
            with contextlib.suppress(McpError):  # the cancelled call's error answer is expected
                await session.call_tool("kubectl", {"command": f"get ns -w -l {marker}", "timeout": 120})

        tg.start_soon(call)
        pid = await wait_for_process(marker)
        since = time.perf_counter()
        params = mt.CancelledNotificationParams(requestId=session._request_id - 1)
        await session.send_notification(mt.ClientNotification(mt.CancelledNotification(params=params)))
        took = await gone_after(pid, since)
    return took


async def measure(rounds: int, cancels: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    cluster = start_cluster(tmp)
    write_standins(tmp / "standins")
    env = server_env(cluster, tmp / "standins", REPO / "policies" / "default.yaml")
    server = start_server(tmp, {**env, "K8S_MCP_RATE_LIMIT_PER_MINUTE": "0"})
    headers = {"X-Kubeconfig": cluster.admin_b64()}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    call["params"] = {"name": "kubectl", "arguments": {"command": COMMAND}}
    rest: list[float] = []
    wire: list[float] = []
    sdk: list[float] = []
    ping: list[float] = []
    health: list[float] = []
    try:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers) as client,
            mcp_session(server.url, headers) as session,
        ):
            await session.list_tools()

            async def timed(kind: str) -> float:
                t = time.perf_counter()
                if kind == "rest":
                    res = await client.post("/tools/kubectl", json={"command": COMMAND})
                    assert res.status_code == 200 and res.json()["success"], res.text
                elif kind == "wire":
                    res = await client.post("/mcp", json=call, headers=ACCEPT)
                    assert res.json()["result"]["isError"] is False, res.text
                elif kind == "sdk":
                    assert not (await session.call_tool("kubectl", {"command": COMMAND})).isError
                elif kind == "ping":
                    await client.post(
                        "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=ACCEPT
                    )
                else:
                    await client.get("/health")
                return (time.perf_counter() - t) * 1000

            samples: dict[str, list[float]] = {
                "rest": rest,
                "wire": wire,
                "sdk": sdk,
                "ping": ping,
                "health": health,
            }
            order = list(samples)
            shuffle = random.Random(0)  # noqa: S311 -- the order of measurements, not a secret
            for i in range(rounds + 3):  # interleaved in a new order each round; 3 warm-up rounds
                shuffle.shuffle(order)
                for kind in order:
                    took = await timed(kind)
                    if i >= 3:
                        samples[kind].append(took)
        gone_disconnect = [await cancel_by_disconnect(server.url, headers) for _ in range(cancels)]
        gone_notified = [await cancel_by_notification(server.url, headers) for _ in range(cancels)]
    finally:
        server.stop()
        stop_cluster(cluster)
    print(f"kubectl {COMMAND!r} against the real API server, {rounds} rounds, interleaved")
    print(line("REST /tools/kubectl", rest))
    print(line("MCP tools/call (wire)", wire))
    print(line("MCP call_tool (mcp 1.x SDK)", sdk))
    print(line("MCP ping", ping))
    print(line("GET /health", health))
    ratio = med(wire) / med(rest)
    print(f"  MCP wire - REST              {med(wire) - med(rest):+.2f} ms   ({ratio:.3f}x; target <= 3 ms)")
    print(f"  MCP SDK - REST               {med(sdk) - med(rest):+.2f} ms   (client-side parsing included)")
    print(f"  MCP ping - GET /health       {med(ping) - med(health):+.2f} ms   (the MCP layer alone)")
    print(f"cancelled calls, {cancels} each: ms from the client's act until kubectl is gone (target <= 1000)")
    print(
        f"  connection closed            median {med(gone_disconnect):7.1f}  max {max(gone_disconnect):7.1f}"
    )
    print(f"  notifications/cancelled      median {med(gone_notified):7.1f}  max {max(gone_notified):7.1f}")
    summary = {
        "rest_ms": med(rest),
        "mcp_wire_over_rest": med(wire) / med(rest),
        "mcp_wire_minus_rest_ms": med(wire) - med(rest),
        "mcp_sdk_minus_rest_ms": med(sdk) - med(rest),
        "kill_after_disconnect_ms_max": max(gone_disconnect),
        "kill_after_cancel_ms_max": max(gone_notified),
    }
    print(json.dumps(summary))


async def in_process(rounds: int) -> None:
    """The same comparison through the ASGI app in this process: no sockets, no uvicorn, so the
    difference is what the MCP layer itself costs a tool call."""
    import os

    from k8s_mcp_server.api.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-mcp-asgi-"))
    cluster = start_cluster(tmp)
    os.environ |= {
        "K8S_MCP_AUDIT_LOG": str(tmp / "audit.jsonl"),
        "K8S_MCP_RATE_LIMIT_PER_MINUTE": "0",
        "K8S_MCP_KUBECTL": str(cluster.kubectl),
        "K8S_MCP_HELM": str(cluster.helm),
    }
    app = create_app()
    headers = {"X-Kubeconfig": cluster.admin_b64(), "Host": "127.0.0.1:9096", **ACCEPT}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    call["params"] = {"name": "kubectl", "arguments": {"command": COMMAND}}
    rest: list[float] = []
    wire: list[float] = []
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9096", timeout=60) as c:

            async def via_rest() -> float:
                t = time.perf_counter()
                res = await c.post("/tools/kubectl", json={"command": COMMAND}, headers=headers)
                assert res.status_code == 200, res.text
                return (time.perf_counter() - t) * 1000

            async def via_mcp() -> float:
                t = time.perf_counter()
                res = await c.post("/mcp", json=call, headers=headers)
                assert res.json()["result"]["isError"] is False, res.text
                return (time.perf_counter() - t) * 1000

            for i in range(rounds + 3):  # the order alternates: the second of a pair is not favoured
                if i % 2:
                    w, r = await via_mcp(), await via_rest()
                else:
                    r, w = await via_rest(), await via_mcp()
                if i >= 3:
                    rest.append(r)
                    wire.append(w)
    finally:
        stop_cluster(cluster)
    print(f"in process (ASGI, no sockets), {rounds} rounds, interleaved")
    print(line("REST /tools/kubectl", rest))
    print(line("MCP tools/call", wire))
    print(f"  MCP - REST                   {med(wire) - med(rest):+.2f} ms   ({med(wire) / med(rest):.3f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--cancels", type=int, default=5)
    parser.add_argument("--in-process", action="store_true", help="through the ASGI app, no server")
    args = parser.parse_args()
    asyncio.run(in_process(args.rounds) if args.in_process else measure(args.rounds, args.cancels))


if __name__ == "__main__":
    main()
