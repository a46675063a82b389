"""A flood of unauthenticated requests against a real server (`k8s-mcp-server serve` with an API keys
file): how long 100,000 refusals take, over REST and over MCP, and how much the audit log grows.

Before the aggregate every refusal was a record of ~560 bytes (100,000 refusals: ~56 MB, with the
default 100 MiB rotation half a rotated file each time); now a few per source and interval have a
record of their own and the rest are counted.

Run: .venv/bin/python bench/bench_refusals.py [--requests N] [--connections N]
No cluster needed: a refused request never reaches a CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
import time
from pathlib import Path

from tests.support.cluster import REPO
from tests.support.flood import flood, request_bytes
from tests.support.server import start_server

from k8s_mcp_server.audit.files import chain_files


def log_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in chain_files(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        keys = tmp / "keys.yaml"
        keys.write_text(f"keys:\n- principal: agent\n  sha256: {hashlib.sha256(b'kms_bench').hexdigest()}\n")
        env = {"K8S_MCP_POLICY": str(REPO / "policies" / "default.yaml"), "K8S_MCP_API_KEYS_FILE": str(keys)}
        srv = start_server(tmp, env, name="bench")
        host = srv.url.removeprefix("http://")
        cases = {
            "REST /tools/kubectl": request_bytes(host, "/tools/kubectl", {"command": "get secrets -A"}),
            "MCP /mcp": request_bytes(host, "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        }
        try:
            for name, request in cases.items():
                before = log_bytes(srv.audit_log)
                started = time.perf_counter()
                statuses = asyncio.run(flood(srv.url, request, args.requests, connections=args.connections))
                seconds = time.perf_counter() - started
                grown = log_bytes(srv.audit_log) - before
                print(
                    f"{name}: {args.requests} refusals in {seconds:.1f} s ({args.requests / seconds:.0f}/s, "
                    f"{seconds / args.requests * 1000:.2f} ms each over {args.connections} connections), "
                    f"statuses {dict(statuses)}; log +{grown} bytes while running"
                )
        finally:
            srv.stop()
        files = chain_files(srv.audit_log)
        records = [json.loads(line) for path in files for line in path.read_text().splitlines()]
        refusals = [r for r in records if r.get("event") == "refusals"]
        individual = [r for r in records if r.get("event") == "decision"]
        print(
            f"after shutdown: {log_bytes(srv.audit_log)} bytes, {len(individual)} individual records, "
            f"{len(refusals)} aggregate records counting {sum(r['count'] for r in refusals)} refusals"
        )


if __name__ == "__main__":
    main()
