"""`k8s-mcp-server approvals list|show|approve|deny` against a real server and cluster: the approver's
CLI goes through the server's REST, so the decision is audited and the requester check holds."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.approvals.support import APPROVE_POLICY, Keys, records, run
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def served(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Keys, str]]:
    tmp = tmp_path_factory.mktemp("approvals-cli")
    (tmp / "policy.yaml").write_text(APPROVE_POLICY)
    keys = Keys()
    keys.write(tmp / "keys.yaml")
    namespace = f"appr-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "api", "--image=registry.invalid/api:1", "-n", namespace)
    env = {
        **server_env(cluster, standin_dir, tmp / "policy.yaml"),
        "K8S_MCP_API_KEYS_FILE": str(tmp / "keys.yaml"),
    }
    srv = start_server(tmp, env, name="approvals-cli")
    try:
        yield srv, keys, namespace
    finally:
        srv.stop()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def cli(server: Server, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "K8S_MCP_API_KEY": key, "K8S_MCP_URL": server.url}
    return subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "approvals", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_an_approver_lists_shows_and_approves_from_the_cli_and_the_requester_cannot(
    served: tuple[Server, Keys, str], cluster: Cluster
) -> None:
    server, keys, namespace = served
    agent = keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    approval = run(server, f"scale deploy/api --replicas=3 -n {namespace}", agent).json()["approval"]

    listed = cli(server, keys.values["bob"], "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert approval["id"] in listed.stdout and "pending" in listed.stdout and "agent" in listed.stdout

    shown = cli(server, keys.values["bob"], "show", approval["id"])
    assert shown.returncode == 0
    assert "+  replicas: 3" in shown.stdout and "waiting for: bob, carol, group:sre" in shown.stdout

    own = cli(server, keys.values["agent"], "approve", approval["id"], "--reason", "mine")
    assert own.returncode == 1 and "approval_own_request" in own.stdout
    unreasoned = cli(server, keys.values["carol"], "deny", approval["id"])
    assert unreasoned.returncode == 2  # --reason is required to deny

    approved = cli(server, keys.values["bob"], "approve", approval["id"], "--reason", "looks right")
    assert approved.returncode == 0 and "approved by bob" in approved.stdout
    record = next(
        r for r in records(server) if r["event"] == "approved" and r["approval_id"] == approval["id"]
    )
    assert (record["principal"], record["reason"]) == ("bob", "looks right")

    again = cli(server, keys.values["carol"], "deny", approval["id"], "--reason", "too late")
    assert again.returncode == 1 and "approval_approved" in again.stdout
