"""Approvals across two server processes sharing one real PostgreSQL, both serving the real cluster:
requested through one replica, approved through the other, run once through the first, and refused
as used through either after that; the scale happened exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.approvals.support import APPROVE_POLICY, Keys, decide, run, show
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster


@pytest.fixture
def fleet(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, pg_url: str
) -> Iterator[tuple[Server, Server, Keys, str, str]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(APPROVE_POLICY)
    keys = Keys()
    keys.write(tmp_path / "keys.yaml")
    namespace = f"appr-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "api", "--image=registry.invalid/api:1", "-n", namespace)
    env = {
        **server_env(cluster, standin_dir, policy),
        "K8S_MCP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        "K8S_MCP_DATABASE_URL": pg_url,
    }
    # each replica in its own folder, as pods are: no SQLite file beside the audit logs is shared
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_server(tmp_path / "a", env, name="replica-a")
    try:
        b = start_server(tmp_path / "b", env, name="replica-b")
        try:
            yield a, b, keys, namespace, pg_url
        finally:
            b.stop()
    finally:
        a.stop()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def spec_replicas(cluster: Cluster, namespace: str) -> int:
    out = cluster.kubectl_run("get", "deployment", "api", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    return int(out.stdout)


def test_requested_on_one_replica_approved_on_the_other_consumed_once(
    fleet: tuple[Server, Server, Keys, str, str], cluster: Cluster
) -> None:
    a, b, keys, namespace, pg_url = fleet
    agent = keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    command = f"scale deploy/api --replicas=3 -n {namespace}"

    asked = run(a, command, agent)
    assert asked.status_code == 202, asked.text
    approval_id = asked.json()["approval"]["id"]
    seen = show(b, approval_id, keys.headers("bob"))  # the other replica sees it
    assert seen.status_code == 200 and seen.json()["approval"]["status"] == "pending"
    own = decide(b, approval_id, "approve", keys.headers("agent"))
    assert own.status_code == 403  # the requester cannot approve it through any replica

    approved = decide(b, approval_id, "approve", keys.headers("bob"), "ok")
    assert approved.status_code == 200, approved.text
    assert show(a, approval_id, keys.headers("agent")).json()["approval"]["status"] == "approved"

    ran = run(a, command, agent, approval_id=approval_id)
    assert ran.status_code == 200 and ran.json()["exit_code"] == 0, ran.text
    assert spec_replicas(cluster, namespace) == 3
    for server in (b, a):
        again = run(server, command, agent, approval_id=approval_id)
        assert again.status_code == 409 and again.json()["detail"]["code"] == "approval_used"
    assert show(b, approval_id, keys.headers("bob")).json()["approval"]["status"] == "consumed"
    with psycopg.connect(pg_url) as conn:  # the approval lives in the shared database
        rows = conn.execute("SELECT id, status, decided_by FROM approvals").fetchall()
    assert rows == [(approval_id, "consumed", "bob")]
    assert not any(
        p.name.endswith(".sqlite3") for p in (a.audit_log.parent, b.audit_log.parent) for p in p.iterdir()
    )
