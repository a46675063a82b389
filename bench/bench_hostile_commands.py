"""Issue 12 acceptance 1 against a real server: commands of 64 KB, 1 MB and 10 MB in each shape that
makes a backtracking pattern slow (runs of one character class after each kind of keyword the audit
and output rules key on) are answered within 1 s, while `/health` from another caller stays near its
quiet median.

The server is the shipped default policy with the rate limit off (a flood is not what is measured
here, the cost of one hostile command is). Usage: .venv/bin/python bench/bench_hostile_commands.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import server_env  # noqa: E402
from tests.support.cluster import start_cluster, stop_cluster  # noqa: E402
from tests.support.server import start_server  # noqa: E402
from tests.support.standins import write_standins  # noqa: E402

SIZES = {"64 KB": 64 << 10, "1 MB": 1 << 20, "10 MB": 10 << 20}
# a prefix the rules key on, then a long run of one character class (the classic backtracking shape)
SHAPES = {
    "word run": ("get pods ", "a"),
    "password= word run": ("get pods --password=", "a"),
    "key=value pairs": ("get pods ", "k=v "),
    "bearer + base64 run": ("get pods -l 'Authorization: Bearer ", "A"),
    "url credentials": ("get pods https://user:", "p"),
    "quotes": ("get pods ", "'\""),
    "dollar braces": ("get pods ", "${"),
    "spaces then token": ("get pods ", " "),
    "pem header run": ("get pods -----BEGIN RSA PRIVATE KEY-----", "M"),
    "jwt-like": ("get pods eyJ", "a."),
}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    cluster = start_cluster(tmp)
    standins = tmp / "standins"
    write_standins(standins)
    env = {
        **server_env(cluster, standins, REPO / "policies" / "default.yaml"),
        "K8S_MCP_RATE_LIMIT_PER_MINUTE": "0",
    }
    server = start_server(tmp, env, name="hostile")
    headers = {"X-Kubeconfig": cluster.admin_b64()}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as probe:
            quiet = []
            for _ in range(60):
                started = time.perf_counter()
                probe.get("/health")
                quiet.append(time.perf_counter() - started)
        quiet_ms = statistics.median(quiet) * 1e3
        print(f"/health quiet median {quiet_ms:.2f} ms")
        during: list[float] = []
        stop = threading.Event()

        def probing() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    client.get("/health")
                    during.append(time.perf_counter() - started)
                    time.sleep(0.01)

        thread = threading.Thread(target=probing, daemon=True)
        thread.start()
        slowest = 0.0
        print(f"{'shape':24} {'size':>6}  status  answered in")
        with httpx.Client(base_url=server.url, timeout=120, headers=headers) as client:
            for name, (prefix, unit) in SHAPES.items():
                for label, size in SIZES.items():
                    command = prefix + unit * ((size - len(prefix)) // len(unit))
                    started = time.perf_counter()
                    res = client.post("/tools/kubectl", json={"command": command})
                    took = time.perf_counter() - started
                    slowest = max(slowest, took)
                    code = res.json().get("detail", {}).get("code", "-") if res.status_code != 200 else "ran"
                    print(f"{name:24} {label:>6}  {res.status_code} {code:18} {took * 1e3:8.1f} ms")
        stop.set()
        thread.join()
        during_ms = statistics.median(during) * 1e3
        print(f"slowest answer {slowest * 1e3:.1f} ms (target < 1000 ms)")
        print(
            f"/health during median {during_ms:.2f} ms over {len(during)} probes = "
            f"{during_ms / quiet_ms:.2f}x quiet (target <= 1.5x)"
        )
    finally:
        server.stop()
        stop_cluster(cluster)


if __name__ == "__main__":
    main()
