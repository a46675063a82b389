"""OAuth callers as approvers, against the real server and cluster: a token whose group the rule names
(`group:sre`) approves; a token of another group cannot; the API-key requester then runs the command."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.approvals.support import APPROVE_POLICY, Keys, decide, records, run
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.issuer import running_issuer
from tests.support.server import free_port, start_server

pytestmark = pytest.mark.cluster


def test_a_token_whose_group_the_rule_names_approves_and_another_group_cannot(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text(APPROVE_POLICY)
    keys = Keys()
    keys.write(tmp_path / "keys.yaml")
    namespace = f"appr-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "api", "--image=registry.invalid/api:1", "-n", namespace)
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with running_issuer() as issuer:
        env = {
            **server_env(cluster, standin_dir, tmp_path / "policy.yaml"),
            "K8S_MCP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
            "K8S_MCP_OAUTH_RESOURCE": resource,
            "K8S_MCP_OAUTH_ISSUERS": issuer.url,
        }
        server = start_server(tmp_path, env, name="approvals-oauth", port=port)
        try:
            agent = keys.headers("agent", **{"X-Kubeconfig": cluster.admin_b64()})
            command = f"scale deploy/api --replicas=2 -n {namespace}"
            approval = run(server, command, agent).json()["approval"]

            def bearer(subject: str, groups: list[str]) -> dict[str, str]:
                return {"Authorization": f"Bearer {issuer.token(subject, audience=resource, groups=groups)}"}

            seen = httpx.get(f"{server.url}/approvals", headers=bearer("dana", ["sre"]), timeout=30)
            assert approval["id"] in {a["id"] for a in seen.json()["approvals"]}
            other = decide(server, approval["id"], "approve", bearer("erin", ["dev"]))
            assert other.status_code == 404  # not named by the rule: not even visible
            approved = decide(server, approval["id"], "approve", bearer("dana", ["sre"]), "sre on call")
            assert approved.status_code == 200, approved.text
            assert approved.json()["approval"]["decided_by"] == "dana"
            ran = run(server, command, agent, approval_id=approval["id"])
            assert ran.status_code == 200, ran.text
            out = cluster.kubectl_run(
                "get", "deployment", "api", "-n", namespace, "-o", "jsonpath={.spec.replicas}"
            )
            assert out.stdout == "2"
        finally:
            server.stop()
            cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)
    act = next(r for r in records(server) if r["event"] == "approved")
    assert (act["principal"], act["reason"]) == ("dana", "sre on call")
