"""A real server process (`k8s-mcp-server serve`) on a free loopback port, for HTTP and MCP clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

# uvicorn plus the app factory start in ~1-2 s here; the bound is generous for a loaded CI machine.
SERVER_START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    audit_log: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    tmp: Path,
    env: Mapping[str, str],
    *,
    name: str = "server",
    port: int | None = None,
    rate_limited: bool = False,
) -> Server:
    """`port`: a given one (a restart on the same address), else a free one. The suite sends hundreds
    of calls a minute from one address, so the rate limit is off unless `env` sets it, or
    `rate_limited` asks for the shipped default (tests/api/test_fairness_cluster.py tests it)."""
    port = port or free_port()
    audit = tmp / f"{name}-audit.jsonl"
    log_path = tmp / f"{name}.log"
    full_env = {
        **os.environ,
        "K8S_MCP_HOST": "127.0.0.1",
        "K8S_MCP_PORT": str(port),
        "K8S_MCP_AUDIT_LOG": str(audit),
        **env,
    }
    if rate_limited:
        full_env.pop("K8S_MCP_RATE_LIMIT_PER_MINUTE", None)
    else:
        full_env.setdefault("K8S_MCP_RATE_LIMIT_PER_MINUTE", "0")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "k8s_mcp_server", "serve", "--log-level", "warning"],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Server(url=url, audit_log=audit, process=proc, log_path=log_path)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not answer /health in time:\n{log_path.read_text()[-4000:]}")
