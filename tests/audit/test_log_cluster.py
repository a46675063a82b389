"""An audit log that cannot be written stops the command: 503 `audit_unavailable`, nothing runs.

The server runs as root here, and root ignores file permissions, so a read-only directory would prove
nothing. The failures are made in ways that hold for root too:
- from the start: the audit path is a symlink to /dev/full (every write fails with ENOSPC, a full
  disk), or its directory is a regular file (the file cannot be created);
- while the server runs with the file already open: RLIMIT_FSIZE on the server process is lowered to
  the file's current size, so the next append fails with EFBIG at write time, as on a full disk.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

CLI_TIMEOUT = 120  # one `audit verify` run; far more than it needs


def create_configmap(srv: Server, cluster: Cluster, name: str) -> httpx.Response:
    return httpx.post(
        f"{srv.url}/tools/kubectl",
        json={"command": f"create configmap {name} -n default --from-literal=a=b"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )


def configmap_exists(cluster: Cluster, name: str) -> bool:
    done = cluster.kubectl_run("get", "configmap", name, "-n", "default", "-o", "name", check=False)
    if done.returncode != 0 and "NotFound" not in done.stderr:
        raise AssertionError(f"kubectl get failed: {done.stderr}")
    return done.returncode == 0


def assert_refused_and_absent(srv: Server, cluster: Cluster) -> None:
    name = f"audit-503-{uuid.uuid4().hex[:10]}"
    res = create_configmap(srv, cluster, name)
    assert res.status_code == 503, res.text
    detail = res.json()["detail"]
    assert detail["code"] == "audit_unavailable"
    assert "cannot be written" in detail["message"]
    assert not configmap_exists(cluster, name)


@pytest.fixture
def permissive_env(cluster: Cluster, standin_dir: Path) -> dict[str, str]:
    return server_env(cluster, standin_dir, REPO / "policies" / "permissive.yaml")


@pytest.fixture
def started(tmp_path: Path, permissive_env: dict[str, str]) -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for srv in servers:
        srv.stop()


def test_a_full_disk_from_the_start_refuses_a_create_with_503_and_nothing_is_created(
    tmp_path: Path, permissive_env: dict[str, str], cluster: Cluster, started: list[Server]
) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.symlink_to("/dev/full")
    started.append(start_server(tmp_path, {**permissive_env, "K8S_MCP_AUDIT_LOG": str(audit)}))
    assert_refused_and_absent(started[0], cluster)
    assert_refused_and_absent(started[0], cluster)  # and it stays closed, request after request


def test_an_audit_directory_that_cannot_exist_stops_the_server_at_start_naming_the_file(
    tmp_path: Path, permissive_env: dict[str, str]
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the audit directory should be\n")
    env = {**permissive_env, "K8S_MCP_AUDIT_LOG": str(blocker / "audit.jsonl")}
    # `serve` opens what it writes beside the audit file before it listens: nothing is ever served
    with pytest.raises(RuntimeError, match="server exited with 2") as info:
        start_server(tmp_path, env)
    assert "cannot start: " in str(info.value) and str(blocker) in str(info.value)


@pytest.mark.parametrize("fsync", ["true", "false"])
def test_a_log_that_fills_up_while_the_server_runs_refuses_the_next_create_and_recovers(
    fsync: str, tmp_path: Path, permissive_env: dict[str, str], cluster: Cluster, started: list[Server]
) -> None:
    srv = start_server(tmp_path, {**permissive_env, "K8S_MCP_AUDIT_FSYNC": fsync})
    started.append(srv)
    first = httpx.post(
        f"{srv.url}/tools/kubectl",
        json={"command": "get ns default -o name"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    assert first.status_code == 200, first.text  # the log is open and holds two records
    size = srv.audit_log.stat().st_size
    pid = srv.process.pid
    before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, before[1]))
    try:
        assert_refused_and_absent(srv, cluster)
        assert srv.audit_log.stat().st_size == size  # no partial line either
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, before)

    # Space again: the same command now runs (so it would have run before), and the chain is intact.
    name = f"audit-503-{uuid.uuid4().hex[:10]}"
    try:
        res = create_configmap(srv, cluster, name)
        assert res.status_code == 200 and res.json()["exit_code"] == 0, res.text
        assert configmap_exists(cluster, name)
    finally:
        cluster.kubectl_run("delete", "configmap", name, "-n", "default", "--ignore-not-found", check=False)
    events = [json.loads(line)["event"] for line in srv.audit_log.read_text().splitlines()]
    assert events == ["decision", "completion", "decision", "completion"]
    done = subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "audit", "verify", str(srv.audit_log)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("ok: 4 records"), done.stdout
