"""Approvals end to end over REST, against the real API server: 202 with a preview, nothing changed,
the requester cannot approve, another approver does, the continue runs once and only as approved."""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.approvals.support import APPROVE_POLICY, Keys, decide, records, run, show
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster


@dataclass
class Setup:
    server: Server
    keys: Keys
    namespace: str
    env: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
def setup(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("approvals")
    policy = tmp / "policy.yaml"
    policy.write_text(APPROVE_POLICY)
    keys = Keys()
    keys.write(tmp / "keys.yaml")
    namespace = f"appr-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "api", "--image=registry.invalid/api:1", "-n", namespace)
    env = {**server_env(cluster, standin_dir, policy), "K8S_MCP_API_KEYS_FILE": str(tmp / "keys.yaml")}
    srv = start_server(tmp, env, name="approvals")
    try:
        yield Setup(srv, keys, namespace, env, tmp)
    finally:
        srv.stop()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def replicas(cluster: Cluster, namespace: str, name: str = "api") -> int:
    out = cluster.kubectl_run("get", "deployment", name, "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    return int(out.stdout)


def test_scale_under_an_approve_rule_is_pending_with_a_preview_and_runs_once_after_another_principal_approves(
    setup: Setup, cluster: Cluster
) -> None:
    kube = {"X-Kubeconfig": cluster.admin_b64()}
    agent = setup.keys.headers("agent", **kube)
    command = f"scale deploy/api --replicas=3 -n {setup.namespace}"
    cluster.kubectl_run("scale", "deployment", "api", "--replicas=1", "-n", setup.namespace)

    asked = run(setup.server, command, agent)
    assert asked.status_code == 202, asked.text
    approval = asked.json()["approval"]
    assert approval["status"] == "pending"
    assert approval["waiting_for"] == ["bob", "carol", "group:sre"]
    assert approval["expires_at"] and approval["id"] in approval["how_to_continue"]
    preview = approval["preview"]
    assert preview["available"] and preview["method"] == "server-dry-run"
    assert "-  replicas: 1" in preview["diff"] and "+  replicas: 3" in preview["diff"]
    assert replicas(cluster, setup.namespace) == 1  # the dry run changed nothing

    own = decide(setup.server, approval["id"], "approve", setup.keys.headers("agent"))
    assert own.status_code == 403 and own.json()["detail"]["code"] == "approval_own_request"
    unlisted = decide(setup.server, approval["id"], "approve", setup.keys.headers("eve"))
    assert unlisted.status_code == 403 and unlisted.json()["detail"]["code"] == "approver_not_listed"
    norole = decide(setup.server, approval["id"], "approve", setup.keys.headers("mallory"))
    assert norole.status_code == 404  # not an approver and not the requester: not even visible

    early = run(setup.server, command, agent, approval_id=approval["id"])
    assert early.status_code == 202 and early.json()["approval"]["status"] == "pending"
    assert replicas(cluster, setup.namespace) == 1

    approved = decide(
        setup.server, approval["id"], "approve", setup.keys.headers("bob"), "ok for the load test"
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"]["decided_by"] == "bob"

    other = run(
        setup.server, f"scale deploy/api --replicas=4 -n {setup.namespace}", agent, approval_id=approval["id"]
    )
    assert other.status_code == 403, other.text
    assert other.json()["detail"]["code"] == "approval_mismatch"
    assert "arguments differ" in other.json()["detail"]["message"]
    assert "--replicas=4" not in other.json()["detail"]["message"]

    ran = run(setup.server, command, agent, approval_id=approval["id"])
    assert ran.status_code == 200, ran.text
    assert ran.json()["exit_code"] == 0
    assert replicas(cluster, setup.namespace) == 3

    again = run(setup.server, command, agent, approval_id=approval["id"])
    assert again.status_code == 409 and again.json()["detail"]["code"] == "approval_used"
    stranger = run(setup.server, command, setup.keys.headers("carol", **kube), approval_id=approval["id"])
    assert stranger.status_code == 404  # another principal's approval is not theirs to use

    chain = [r for r in records(setup.server) if r.get("approval_id") == approval["id"]]
    events = [(r["event"], r["principal"]) for r in chain]
    assert events[0] == ("approval_requested", "agent")
    assert ("approved", "bob") in events
    outcomes = [(r["event"], r["decision"], r.get("error_code")) for r in chain if r["principal"] == "agent"]
    assert outcomes[0] == ("approval_requested", "approve", None)
    at = outcomes.index(("consumed", "approve", None))
    assert outcomes[at + 1 : at + 3] == [("decision", "allow", None), ("completion", "allow", None)]
    assert ("decision", "rejected", "approval_mismatch") in outcomes[:at]
    assert outcomes[at + 3 :] == [("decision", "rejected", "approval_used")]
    done = next(r for r in chain if r["event"] == "completion" and r["decision"] == "allow")
    assert done["exit_code"] == 0 and "approved by bob" in done["reason"]
    approved_record = next(r for r in chain if r["event"] == "approved")
    assert approved_record["reason"] == "ok for the load test"

    cli = [sys.executable, "-m", "k8s_mcp_server", "audit"]
    verify = subprocess.run(
        [*cli, "verify", str(setup.server.audit_log)], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    query = subprocess.run(
        [*cli, "query", str(setup.server.audit_log), "--approval-id", approval["id"], "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert query.returncode == 0, query.stderr
    queried = [line for line in query.stdout.splitlines() if line]
    assert len(queried) == len(chain)
    for event in ("approval_requested", "approved", "consumed", "completion"):
        assert f'"event":"{event}"' in query.stdout


def test_a_denied_approval_is_refused_with_the_approvers_reason(setup: Setup, cluster: Cluster) -> None:
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    command = f"scale deploy/api --replicas=5 -n {setup.namespace}"
    before = replicas(cluster, setup.namespace)
    approval = run(setup.server, command, agent).json()["approval"]

    silent = decide(setup.server, approval["id"], "deny", setup.keys.headers("carol"))
    assert silent.status_code == 400 and silent.json()["detail"]["code"] == "reason_required"
    denied = decide(
        setup.server, approval["id"], "deny", setup.keys.headers("carol"), "not during the freeze"
    )
    assert denied.status_code == 200 and denied.json()["approval"]["status"] == "denied"

    refused = run(setup.server, command, agent, approval_id=approval["id"])
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail["code"] == "approval_denied"
    assert "carol" in detail["message"] and "not during the freeze" in detail["message"]
    assert replicas(cluster, setup.namespace) == before
    late = decide(setup.server, approval["id"], "approve", setup.keys.headers("bob"))
    assert late.status_code == 409 and late.json()["detail"]["code"] == "approval_denied"


def test_an_expired_approval_is_refused_and_audited_once(setup: Setup, cluster: Cluster) -> None:
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    command = f"label deploy/api tier=web --overwrite -n {setup.namespace}"
    approval = run(setup.server, command, agent).json()["approval"]
    assert approval["status"] == "pending"
    status = approval["status"]
    for _ in range(100):  # the rule's ttl is 1 s; the long-poll answers once it is no longer pending
        status = show(setup.server, approval["id"], setup.keys.headers("bob"), wait=2).json()["approval"][
            "status"
        ]
        if status != "pending":
            break
    assert status == "expired"

    late = decide(setup.server, approval["id"], "approve", setup.keys.headers("bob"))
    assert late.status_code == 409 and late.json()["detail"]["code"] == "approval_expired"
    refused = run(setup.server, command, agent, approval_id=approval["id"])
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "approval_expired"
    expired = [
        r for r in records(setup.server) if r.get("approval_id") == approval["id"] and r["event"] == "expired"
    ]
    assert len(expired) == 1 and expired[0]["principal"] == "server"


def test_a_restart_between_request_and_approval_keeps_the_approval(setup: Setup, cluster: Cluster) -> None:
    tmp = setup.tmp / "restart"
    tmp.mkdir()
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    command = f"scale deploy/api --replicas=2 -n {setup.namespace}"
    first = start_server(tmp, setup.env, name="restarted")
    try:
        approval = run(first, command, agent).json()["approval"]
    finally:
        first.stop()
    second = start_server(tmp, setup.env, name="restarted")
    try:
        assert (
            show(second, approval["id"], setup.keys.headers("bob")).json()["approval"]["status"] == "pending"
        )
        assert (
            decide(
                second, approval["id"], "approve", setup.keys.headers("bob"), "after the restart"
            ).status_code
            == 200
        )
        ran = run(second, command, agent, approval_id=approval["id"])
        assert ran.status_code == 200, ran.text
        assert replicas(cluster, setup.namespace) == 2
    finally:
        second.stop()
    verify = subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "audit", "verify", str(second.audit_log)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_preview_is_redacted_like_any_output(setup: Setup, cluster: Cluster) -> None:
    canary = "approval-canary-" + uuid.uuid4().hex
    cluster.kubectl_run(
        "create", "secret", "generic", "db", f"--from-literal=password={canary}", "-n", setup.namespace
    )
    agent = setup.keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
    asked = run(setup.server, f"label secret db tier=web -n {setup.namespace}", agent)
    assert asked.status_code == 202, asked.text
    preview = asked.json()["approval"]["preview"]
    assert preview["available"] and "tier: web" in preview["output"]
    encoded = base64.b64encode(canary.encode()).decode()
    stored = [f.read_bytes().decode("latin-1") for f in setup.tmp.glob("approvals.sqlite3*")]
    assert stored  # the store (and its WAL) beside the audit log
    for text in (asked.text, setup.server.audit_log.read_text(), *stored):
        assert canary not in text and encoded not in text
    assert "REDACTED" in preview["output"]
