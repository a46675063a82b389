"""Issue 12 items 2-4 measured against a real server with the shipped defaults and the real cluster.

1. prlimit: `kubectl get ns` through Executor.run with and without the child limits, interleaved.
2. A 400 MiB body (by Content-Length, then chunked): the answer, the time to it, the server's RSS.
3. 300 half-sent requests (from 5 loopback addresses, under the per-source cap): /health latency
   while they are held, and when each is dropped (the default read timeout is 10 s).
4. `get ns -o json | jq -n '[range(6e7)]|length'`: the answer, its time, the server's RSS.
5. One caller's 100 concurrent watches (timeout 20 s) against another caller's `get ns`.

Needs the real cluster (started here through scripts/cluster.sh if not running, or
K8S_MCP_TEST_KUBECONFIG). Usage: .venv/bin/python bench/bench_bounds.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import server_env  # noqa: E402
from tests.support.cluster import Cluster, start_cluster, stop_cluster  # noqa: E402
from tests.support.server import Server, start_server  # noqa: E402
from tests.support.standins import write_standins  # noqa: E402

from k8s_mcp_server.execute import ChildLimits, Executor, find_prlimit, resolve_binaries  # noqa: E402
from k8s_mcp_server.settings import Settings  # noqa: E402

MiB = 1024 * 1024


def rss(server: Server) -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:.1f} ms"


async def prlimit_overhead(cluster: Cluster, rounds: int) -> None:
    defaults = Settings()
    limits = ChildLimits(
        memory_bytes=defaults.child_memory_bytes,
        cpu_seconds=defaults.child_cpu_seconds,
        open_files=defaults.child_open_files,
        processes=defaults.child_processes,
        prlimit=find_prlimit(),
    )
    binaries = resolve_binaries({"kubectl": cluster.kubectl}, ["kubectl"])
    common = {"max_output_bytes": 10 << 20, "max_concurrency": 2, "max_queue": 2}
    plain, limited = Executor(binaries, **common), Executor(binaries, limits=limits, **common)  # type: ignore[arg-type]
    argv = [["kubectl", "--kubeconfig", str(cluster.admin), "get", "ns"]]
    times: dict[str, list[float]] = {"without limits": [], "with prlimit": []}
    for i in range(rounds + 3):
        for name, executor in (("without limits", plain), ("with prlimit", limited)):
            started = time.perf_counter()
            raw = await executor.run(argv, kubeconfig=None, timeout=30)
            assert raw.exit_code == 0, raw
            if i >= 3:
                times[name].append(time.perf_counter() - started)
    print("1. kubectl get ns via Executor.run: " + ", ".join(f"{k} {median_ms(v)}" for k, v in times.items()))


def connect(server: Server, source: str = "127.0.0.1") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=60, source_address=(source, 0))


def drain(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return data
        if not chunk:
            return data
        data += chunk


def big_body(server: Server) -> None:
    for chunked in (False, True):
        before = rss(server)[0]
        framing = b"transfer-encoding: chunked" if chunked else f"content-length: {400 * MiB}".encode()
        chunk = b'{"kubeconfig": "' + b"A" * MiB
        started = time.perf_counter()
        sent = 0
        with connect(server) as sock:
            sock.sendall(b"POST /tools/kubectl HTTP/1.1\r\nhost: 127.0.0.1\r\n%s\r\n\r\n" % framing)
            try:
                while sent < 400 * MiB:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = drain(sock)
        took = time.perf_counter() - started
        now, peak = rss(server)
        status = answer.split(b"\r\n", 1)[0].decode()
        print(
            f"2. 400 MiB body ({'chunked' if chunked else 'content-length'}): {status} "
            f"after {took * 1e3:.0f} ms, {sent / MiB:.0f} MiB sent before the close; "
            f"RSS {before:.1f} -> {now:.1f} MiB (peak {peak:.1f})"
        )


def slow_clients(server: Server) -> None:
    quiet = [timed_health(server) for _ in range(20)]
    sockets, opened = [], []
    for i in range(300):
        sock = connect(server, f"127.0.1.{i % 5 + 1}")
        sock.sendall(b"POST /tools/kubectl HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-le")
        sockets.append(sock)
        opened.append(time.monotonic())
    held = [timed_health(server) for _ in range(20)]
    dropped = []
    for sock, at in zip(sockets, opened, strict=True):
        answer = drain(sock)
        dropped.append((time.monotonic() - at, answer.startswith(b"HTTP/1.1 408")))
        sock.close()
    times = [t for t, _ in dropped]
    print(
        f"3. 300 half-sent requests: /health median {median_ms(quiet)} quiet, {median_ms(held)} while held; "
        f"{sum(ok for _, ok in dropped)} dropped with 408, "
        f"{min(times):.2f}-{max(times):.2f} s after each was opened"
    )


def timed_health(server: Server) -> float:
    started = time.perf_counter()
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    return time.perf_counter() - started


def jq_array(server: Server, headers: dict[str, str]) -> None:
    before = rss(server)[0]
    started = time.perf_counter()
    res = httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": "get ns -o json | jq -n '[range(6e7)]|length'"},
        headers=headers,
        timeout=120,
    )
    took = time.perf_counter() - started
    detail = res.json().get("detail", {})
    now, peak = rss(server)
    print(
        f"4. jq [range(6e7)]: {res.status_code} {detail.get('code')} ({detail.get('limit')}) "
        f"after {took:.1f} s; "
        f"server RSS {before:.1f} -> {now:.1f} MiB (peak {peak:.1f})"
    )


async def watches(server: Server, headers: dict[str, str]) -> None:
    def client(source: str) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=source, limits=httpx.Limits(max_connections=100))
        return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120, transport=transport)

    async def post(http: httpx.AsyncClient, body: dict[str, object]) -> tuple[float, int | str]:
        started = time.perf_counter()
        try:
            res = await http.post("/tools/kubectl", json=body)
            outcome: int | str = res.status_code
        except httpx.TransportError as exc:  # refused at the connection cap: closed before a request
            outcome = type(exc).__name__
        return time.perf_counter() - started, outcome

    async with client("127.0.0.1") as a, client("127.0.0.2") as b:
        quiet = [(await post(b, {"command": "get ns -o name"}))[0] for _ in range(10)]
        tasks = [
            asyncio.ensure_future(post(a, {"command": "get pods -w -n default", "timeout": 20}))
            for _ in range(100)
        ]
        await asyncio.sleep(1)
        during = [await post(b, {"command": "get ns -o name"}) for _ in range(10)]
        results = await asyncio.gather(*tasks)
    outcomes: dict[str, list[float]] = {}
    for took, outcome in results:
        outcomes.setdefault(str(outcome), []).append(took)
    summary = ", ".join(f"{k}: {len(v)} (max {max(v):.2f} s)" for k, v in sorted(outcomes.items()))
    assert all(code == 200 for _, code in during)
    print(
        f"5. 100 watches of one caller: {summary}; the other caller's get ns median "
        f"{median_ms(quiet)} quiet, {median_ms([t for t, _ in during])} during"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-bounds-"))
    cluster = start_cluster(tmp)
    standins = tmp / "standins"
    standins.mkdir()
    write_standins(standins)
    try:
        asyncio.run(prlimit_overhead(cluster, args.rounds))
        env = server_env(cluster, standins, REPO / "policies" / "default.yaml")
        server = start_server(tmp, env, name="bounds", rate_limited=True)  # every setting at its default
        try:
            headers = {"X-Kubeconfig": cluster.admin_b64()}
            httpx.post(f"{server.url}/tools/kubectl", json={"command": "get ns"}, headers=headers, timeout=60)
            print(f"idle server RSS {rss(server)[0]:.1f} MiB")
            big_body(server)
            slow_clients(server)
            jq_array(server, headers)
            asyncio.run(watches(server, headers))
        finally:
            server.stop()
    finally:
        stop_cluster(cluster)


if __name__ == "__main__":
    main()
