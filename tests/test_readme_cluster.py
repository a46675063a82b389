"""The README's first hour, as a new user follows it, against the real cluster.

- the try-it section's block, run as written in a fresh clone, gets `get ns` through the proxy;
- the existing-cluster test command works with only K8S_MCP_TEST_KUBECONFIG set (no K8S_MCP_TEST_BIN,
  no kubectl on PATH: the CLIs come from the cache serve.sh uses).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.cluster import REPO, Cluster

pytestmark = pytest.mark.cluster

README = REPO / "README.md"
# A fresh clone installs .venv from the lock (pip, from the package index) and fetches the CLIs once:
# generous bounds for a loaded CI machine, never timing assertions.
TRY_IT_TIMEOUT = 900
TEST_COMMAND_TIMEOUT = 1200
TRY_IT_PORT = 9096  # the README's


def try_it_block() -> str:
    text = README.read_text()
    match = re.search(r"<!-- try-it:[^>]*-->\n```bash\n(.*?)```\n<!-- /try-it -->", text, re.DOTALL)
    assert match, "README.md has no try-it block between <!-- try-it: ... --> and <!-- /try-it -->"
    return match[1]


def real_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def test_the_readme_try_it_block_as_written_gets_namespaces_through_the_proxy(
    cluster: Cluster, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", TRY_IT_PORT)) != 0, (
            f"port {TRY_IT_PORT} is taken: stop that server"
        )
    clone = tmp_path / "k8s-mcp-server"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    home = tmp_path / "home"  # a new user's home: their kubeconfig at ~/.kube/config, nothing else
    (home / ".kube").mkdir(parents=True)
    shutil.copy(cluster.admin, home / ".kube" / "config")
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "XDG_CACHE_HOME": str(real_cache()),  # the kubectl/helm download is cached across runs
    }
    script = "set -e\n" + try_it_block()
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    # files, not pipes: the block's `serve.sh &` keeps running (and holding its output) after the block
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        proc = subprocess.Popen(
            ["bash", "-c", script],
            cwd=clone,
            env=env,
            stdout=out_file,
            stderr=err_file,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the block's `serve.sh &` is in this process group
        )
        try:
            proc.wait(timeout=TRY_IT_TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the server the block started in the background
                os.killpg(proc.pid, signal.SIGTERM)
            if proc.poll() is None:
                proc.wait()
    out, err = out_path.read_text(), err_path.read_text()
    assert proc.returncode == 0, err[-4000:]
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["success"] is True, answer
    assert "default" in answer["output"].split()
    assert "kube-system" in answer["output"]
    assert "  MCP         http://127.0.0.1:9096/mcp" in err  # the banner told the user where to connect


def test_the_existing_cluster_test_command_needs_only_k8s_mcp_test_kubeconfig(cluster: Cluster) -> None:
    env = {
        "HOME": str(Path.home()),
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # no kubectl, no helm from the cache on PATH
        "K8S_MCP_TEST_KUBECONFIG": str(cluster.admin),
        "K8S_MCP_TEST_KEEP_CLUSTER": "1",
    }
    if os.environ.get("XDG_CACHE_HOME"):
        env["XDG_CACHE_HOME"] = os.environ["XDG_CACHE_HOME"]
    selection = [
        "tests/api/test_rest_cluster.py::test_no_kubeconfig_is_a_clear_error",
        "tests/policy/test_capabilities_cluster.py::test_permissive_refuses_chart_urls_and_endpoints_and_nothing_is_contacted",
        "-p",
        "no:cacheprovider",
    ]
    proc = subprocess.run(
        ["./scripts/test.sh", *selection],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TEST_COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert re.search(r"\b2 passed\b", proc.stdout), proc.stdout[-2000:]
