"""The MCP clients of the compatibility suite, installed at pinned versions on first use.

- the `mcp` 2.x Python SDK (tests/clients/requirements-mcp2.txt) in a venv of its own: the server's
  own venv has mcp 1.x, which fastapi-mcp needs;
- the TypeScript SDK and the MCP Inspector CLI (tests/clients/package.json + package-lock.json,
  `npm ci`), run with the machine's Node.

Both go to ~/.cache/k8s-mcp-server/mcp-clients/<hash of the pin files>, beside the test cluster's
cache, so a second run installs nothing; a changed pin gets a fresh directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.cluster import REPO

CLIENTS = REPO / "tests" / "clients"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "k8s-mcp-server" / "mcp-clients"
# A client run ends on its own (every plan is finite); the bound only stops a hung client.
CLIENT_RUN_BOUND = 300
INSTALL_BOUND = 900


def _digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _ready(target: Path) -> bool:
    return (target / ".complete").exists()


def python_mcp2() -> Path:
    """The python of a venv with the pinned mcp 2.x."""
    pins = CLIENTS / "requirements-mcp2.txt"
    target = CACHE / f"py-mcp2-{_digest(pins)}"
    if not _ready(target):
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=INSTALL_BOUND)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(pins)], check=True, timeout=INSTALL_BOUND, stdout=subprocess.DEVNULL)
        (target / ".complete").touch()
    return target / "bin" / "python"


def node_clients() -> Path:
    """node_modules with the pinned TypeScript SDK and Inspector CLI."""
    manifest, lock = CLIENTS / "package.json", CLIENTS / "package-lock.json"
    target = CACHE / f"node-{_digest(manifest, lock)}"
    if not _ready(target):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy(manifest, target / "package.json")
        shutil.copy(lock, target / "package-lock.json")
        npm = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(npm, cwd=target, check=True, timeout=INSTALL_BOUND, stdout=subprocess.DEVNULL)
        (target / ".complete").touch()
    return target / "node_modules"


def run_plan(client: str, plan: dict[str, Any], workdir: Path) -> subprocess.Popen[str]:
    """Start `client` ("mcp2" or "ts") on `plan`; its stdout is one JSON line per step."""
    plan_file = workdir / f"plan-{client}-{os.urandom(4).hex()}.json"
    plan_file.write_text(json.dumps(plan))
    if client == "mcp2":
        argv = [str(python_mcp2()), str(CLIENTS / "mcp2_client.py"), str(plan_file)]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    else:
        argv = ["node", str(CLIENTS / "ts_client.cjs"), str(plan_file)]
        env = {**os.environ, "NODE_PATH": str(node_clients())}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def results(proc: subprocess.Popen[str], *, fails: bool = False) -> list[dict[str, Any]]:
    """The client's lines; `fails`: it is expected to stop with a `crash` line (exit code 1)."""
    out, err = proc.communicate(timeout=CLIENT_RUN_BOUND)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if fails:
        assert proc.returncode == 1 and lines and lines[-1]["op"] == "crash", (out, err[-2000:])
    elif proc.returncode != 0:
        raise AssertionError(f"client exited {proc.returncode}: {err[-2000:]}")
    return lines


def inspector(node_modules: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The MCP Inspector CLI (`--cli` mode's own package) against `url`."""
    cli = node_modules / "@modelcontextprotocol" / "inspector-cli" / "build" / "index.js"
    return subprocess.run(
        ["node", str(cli), url, "--transport", "http", *args],
        capture_output=True,
        text=True,
        timeout=CLIENT_RUN_BOUND,
        check=False,
    )
