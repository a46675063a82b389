"""The executor's overhead over a bare subprocess run, and the server's memory under large outputs.

1. Overhead: the same `kubectl get ns` against the real API server, interleaved in one run:
   `subprocess.run` directly, `asyncio.create_subprocess_exec` directly, and `Executor.run` (private
   workspace, allow-listed env, kubeconfig written and removed, process-group handling).
2. Memory: a real server whose `istioctl` is a stand-in printing N MB of kubectl-like lines; M
   concurrent requests; the server's peak RSS (VmHWM from /proc/<pid>/status) against its idle RSS.

Needs the real cluster (started here through scripts/cluster.sh if not running, or
K8S_MCP_TEST_KUBECONFIG). Usage: .venv/bin/python bench/bench_executor.py [--rounds N] [--requests M] [--mb N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from k8s_mcp_server.parse.clispec import grammar_version

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import server_env  # noqa: E402
from tests.support.cluster import Cluster, start_cluster, stop_cluster  # noqa: E402
from tests.support.server import start_server  # noqa: E402
from tests.support.standins import write_standins  # noqa: E402

from k8s_mcp_server.execute import Executor, resolve_binaries  # noqa: E402
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, load_kubeconfig_file  # noqa: E402

COMMAND = ["get", "ns"]
MEMORY_TARGET_MB = 300

_BIG_OUTPUT = """#!{python}
import sys
if sys.argv[1:2] == ["version"]:  # the server's start-up version gate
    print("istioctl version {version} (bench stand-in)")
    sys.exit(0)
line = b"pod-%08d                        1/1     Running   0          3d4h   10.244.1.17   node-a\\n"
size, out, i = {size}, sys.stdout.buffer, 0

written = 0
while written < size:
    chunk = b"".join(line % (i + k) for k in range(1000))
    i += 1000
    out.write(chunk[: size - written])
    written += len(chunk)
"""


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return f"median {statistics.median(samples):7.2f} ms  p90 {p90:7.2f} ms"


async def overhead(cluster: Cluster, rounds: int) -> dict[str, float]:
    kubeconfig = load_kubeconfig_file(cluster.admin, KubeconfigPolicy())
    executor = Executor(
        resolve_binaries({"kubectl": cluster.kubectl}, ["kubectl"]),
        max_output_bytes=10 << 20,
        max_concurrency=4,
        max_queue=4,
    )
    argv = [str(cluster.kubectl), "--kubeconfig", str(cluster.admin), *COMMAND]
    series: dict[str, list[float]] = {"subprocess.run": [], "asyncio exec": [], "Executor.run": []}
    try:
        for i in range(rounds + 3):  # interleaved so drift hits all alike; 3 warm-up rounds
            t = time.perf_counter()
            direct = subprocess.run(argv, capture_output=True, check=True)
            d = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            await proc.communicate()
            a = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            raw = await executor.run(
                [["kubectl", *COMMAND]],
                kubeconfig=kubeconfig.sanitized,
                timeout=30,
                cache_key=kubeconfig.cluster.fingerprint,
            )
            e = (time.perf_counter() - t) * 1000
            # other sessions may create namespaces meanwhile: compare what both must show
            if (
                raw.exit_code != 0
                or "default" not in _names(raw.stdout)
                or "default" not in _names(direct.stdout)
            ):
                raise SystemExit(f"the executor's run differs from kubectl's own (exit {raw.exit_code})")
            if i >= 3:
                for name, value in zip(series, (d, a, e), strict=True):
                    series[name].append(value)
    finally:
        executor.close()
    base = statistics.median(series["subprocess.run"])
    print(f"kubectl {' '.join(COMMAND)!r} against the real API server, {rounds} rounds, interleaved")
    for name, samples in series.items():
        med = statistics.median(samples)
        print(f"  {name:16} {ms(samples)}   {med / base:.3f}x  ({med - base:+.2f} ms)")
    return {name: statistics.median(samples) for name, samples in series.items()}


def _names(output: bytes) -> list[str]:
    return [line.split()[0] for line in output.decode().splitlines() if line.strip()]


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def memory(
    cluster: Cluster, tmp: Path, requests: int, megabytes: int, command: str = "proxy-status"
) -> dict[str, float]:
    tmp.mkdir(parents=True, exist_ok=True)
    standins = tmp / "standins"
    write_standins(standins)
    big = standins / "istioctl"
    big.write_text(
        _BIG_OUTPUT.format(python=sys.executable, size=megabytes << 20, version=grammar_version("istioctl"))
    )
    big.chmod(0o755)
    env = {
        **server_env(cluster, standins, REPO / "policies" / "default.yaml"),
        "K8S_MCP_MAX_OUTPUT_BYTES": str((megabytes + 4) << 20),
        "K8S_MCP_MAX_QUEUE": str(requests),
        "K8S_MCP_MAX_PER_CALLER": str(requests),  # one client sends them all
        "K8S_MCP_ADMISSION_WAIT": "60",
        "K8S_MCP_AUDIT_FSYNC": "false",
        "K8S_MCP_COMMAND_TIMEOUT": "300",
    }
    server = start_server(tmp, env, name="memory")
    pid = server.process.pid
    peak_rss = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_rss
        while not stop.is_set():
            try:
                peak_rss = max(peak_rss, _status_kb(pid, "VmRSS"))
            except (FileNotFoundError, KeyError):
                return
            time.sleep(0.01)

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=requests)
        async with httpx.AsyncClient(base_url=server.url, timeout=600, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post("/tools/istioctl", json={"command": command}, headers=headers)
                    for _ in range(requests)
                )
            )

    headers = {"X-Kubeconfig": cluster.admin_b64()}
    try:
        warm = httpx.post(f"{server.url}/tools/istioctl", json={"command": "version"}, headers=headers)
        if warm.status_code != 200:
            raise SystemExit(f"warm-up failed: {warm.text[:500]}")
        idle = _status_kb(pid, "VmRSS")
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        responses = asyncio.run(burst())
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        hwm = _status_kb(pid, "VmHWM")
        after = _status_kb(pid, "VmRSS")
    finally:
        stop.set()
        server.stop()
    statuses = [r.status_code for r in responses]
    ok = [r.json() for r in responses if r.status_code == 200]
    sizes = [len(body["output"]) for body in ok]
    print(
        f"{requests} concurrent `istioctl {command}`, each printing {megabytes} MB (a stand-in), one server"
    )
    print(f"  statuses          {dict((s, statuses.count(s)) for s in sorted(set(statuses)))}")
    print(f"  output per reply  {min(sizes, default=0) / 2**20:.1f} - {max(sizes, default=0) / 2**20:.1f} MB")
    print(f"  wall time         {elapsed:.1f} s")
    print(f"  server RSS idle   {idle / 1024:7.1f} MB")
    print(f"  server RSS peak   {hwm / 1024:7.1f} MB (VmHWM; sampled VmRSS max {peak_rss / 1024:.1f} MB)")
    print(f"  server RSS after  {after / 1024:7.1f} MB")
    verdict = "OK" if hwm / 1024 < MEMORY_TARGET_MB else "OVER"
    print(f"  target            < {MEMORY_TARGET_MB} MB resident: {verdict}")
    return {"idle_mb": idle / 1024, "peak_mb": hwm / 1024, "after_mb": after / 1024, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    cluster = start_cluster(tmp)
    results: dict[str, object] = {}
    try:
        if not args.skip_overhead:
            results["overhead_ms"] = asyncio.run(overhead(cluster, args.rounds))
        results["memory"] = memory(cluster, tmp / "plain", args.requests, args.mb)
        # with a filter the tool's output is held and redacted before the filter reads it
        results["memory_filtered"] = memory(
            cluster, tmp / "filtered", args.requests, args.mb, "proxy-status | wc -l"
        )
    finally:
        stop_cluster(cluster)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
