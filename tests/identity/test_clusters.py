"""Named clusters: the clusters file, and the policy's `clusters:` allow-list as a named rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.contracts import CommandRequest, Decision, Identity
from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.identity.clusters import ClusterRegistry, UnknownCluster
from k8s_mcp_server.kubeconfig import KubeconfigPolicy
from k8s_mcp_server.policy import compile_policy
from k8s_mcp_server.policy.clusters import CLUSTERS, IDENTITY_MODE, cluster_decision, request_decision

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.9.8.7:6443"}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""

BASE = "version: 1\ndefault: allow\nread_only: true\n"


def allowed(policy_revision: str) -> Decision:
    return Decision(allowed=True, outcome="allow", rule="r", reason="ok", policy_revision=policy_revision)


def test_the_clusters_file_names_kubeconfigs_that_pass_the_usual_checks(tmp_path: Path) -> None:
    (tmp_path / "dev.kubeconfig").write_text(KUBECONFIG)
    path = tmp_path / "clusters.yaml"
    path.write_text("clusters:\n  - name: dev\n    kubeconfig: dev.kubeconfig\n")
    registry = ClusterRegistry.load(path, KubeconfigPolicy())
    assert registry.names == ("dev",)
    assert registry.get("dev").cluster.name == "dev"
    with pytest.raises(UnknownCluster) as info:
        registry.get("prod")
    assert "prod" not in info.value.message and "dev" in info.value.message


@pytest.mark.parametrize(
    "body",
    [
        "clusters: {}",
        "clusters:\n  - name: Dev\n    kubeconfig: x\n",
        "clusters:\n  - name: dev\n",
        "clusters:\n" + "  - name: dev\n    kubeconfig: dev.kubeconfig\n" * 2,
    ],
)
def test_a_malformed_clusters_file_stops_the_start(tmp_path: Path, body: str) -> None:
    (tmp_path / "dev.kubeconfig").write_text(KUBECONFIG)
    path = tmp_path / "clusters.yaml"
    path.write_text(body)
    with pytest.raises(ValueError, match="clusters"):
        ClusterRegistry.load(path, KubeconfigPolicy())


def test_a_cluster_off_the_policys_list_is_denied_by_builtin_clusters() -> None:
    policy = compile_policy(BASE + 'clusters: [dev, "staging-*"]\n', source="p.yaml")
    assert cluster_decision(policy, "dev", allowed(policy.revision)).allowed
    assert cluster_decision(policy, "staging-eu", allowed(policy.revision)).allowed
    denied = cluster_decision(policy, "prod", allowed(policy.revision))
    assert not denied.allowed and denied.outcome == "deny" and denied.rule == CLUSTERS
    assert "prod" in denied.reason and "dev" in denied.reason
    assert cluster_decision(policy, None, allowed(policy.revision)).allowed  # no cluster named


def test_without_a_clusters_list_every_named_cluster_is_allowed_and_dry_run_only_warns() -> None:
    policy = compile_policy(BASE, source="p.yaml")
    assert cluster_decision(policy, "prod", allowed(policy.revision)).allowed
    dry = compile_policy(
        BASE.replace("default: allow", "mode: dry-run\ndefault: allow") + "clusters: []\n", source="p"
    )
    decision = cluster_decision(dry, "prod", allowed(dry.revision))
    assert decision.allowed and decision.outcome == "would-deny" and CLUSTERS in decision.warnings[-1]


def test_a_cluster_pattern_that_is_not_a_name_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="clusters"):
        compile_policy(BASE + "clusters: [Prod_1]\n", source="p.yaml")


def _request(impersonated: bool) -> CommandRequest:
    identity = Identity(method="oauth", impersonated_user="alice") if impersonated else None
    return CommandRequest(request_id="r", tool="kubectl", command="get ns", identity=identity)


def test_a_policy_that_requires_impersonation_denies_commands_run_with_the_callers_kubeconfig() -> None:
    policy = compile_policy(BASE + "identity_mode: impersonate\n", source="p.yaml")
    denied = request_decision(policy, _request(impersonated=False), allowed(policy.revision))
    assert not denied.allowed and denied.rule == IDENTITY_MODE and "K8S_MCP_IDENTITY_MODE" in denied.reason
    assert request_decision(policy, _request(impersonated=True), allowed(policy.revision)).allowed
    other = compile_policy(BASE + "identity_mode: caller-kubeconfig\n", source="p.yaml")
    assert not request_decision(other, _request(impersonated=True), allowed(other.revision)).allowed
    with pytest.raises(PolicyError, match="identity_mode"):
        compile_policy(BASE + "identity_mode: sometimes\n", source="p.yaml")
