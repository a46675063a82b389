"""Whom the cluster is told the caller is, and which kubeconfig the server chooses (identity/callers.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from k8s_mcp_server.contracts import CommandRequest
from k8s_mcp_server.errors import KubeconfigError, Unauthenticated
from k8s_mcp_server.identity.callers import at_cluster
from k8s_mcp_server.identity.clusters import ClusterRegistry, UnknownCluster
from k8s_mcp_server.identity.impersonate import Impersonator
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, default_kubeconfig
from tests.identity.test_impersonate import KUBECONFIG

KEY = ApiKey(principal="ci-bot", sha256=b"x" * 32)


def request(**fields: Any) -> CommandRequest:
    return CommandRequest(request_id="req-9", tool="kubectl", command="get ns", **fields)


def state(tmp_path: Path, *, impersonate: bool, clusters: bool = False) -> Any:
    path = tmp_path / "server.kubeconfig"
    path.write_text(KUBECONFIG)
    default = default_kubeconfig(
        file=path, in_cluster=False, service_account_dir=tmp_path, policy=KubeconfigPolicy()
    )
    registry = None
    if clusters:
        listing = tmp_path / "clusters.yaml"
        listing.write_text(f"clusters:\n  - name: dev\n    kubeconfig: {path}\n")
        registry = ClusterRegistry.load(listing, KubeconfigPolicy())
    return SimpleNamespace(impersonator=Impersonator(default) if impersonate else None, clusters=registry)


def test_an_api_key_caller_is_impersonated_by_its_principal_without_groups(tmp_path: Path) -> None:
    chosen, kubeconfig = at_cluster(state(tmp_path, impersonate=True), request(), KEY, None)
    assert chosen.identity is not None and chosen.identity.method == "api-key"
    assert (chosen.identity.impersonated_user, chosen.identity.impersonated_groups) == ("ci-bot", ())
    assert kubeconfig is not None and json.loads(kubeconfig.sanitized)["users"][0]["user"]["as"] == "ci-bot"


def test_impersonation_refuses_a_caller_kubeconfig_and_anonymous_callers(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        at_cluster(state(tmp_path, impersonate=True), request(), KEY, "a2luZDogQ29uZmln")
    assert info.value.code == "kubeconfig_refused" and "impersonate" in info.value.message
    with pytest.raises(Unauthenticated):
        at_cluster(state(tmp_path, impersonate=True), request(), None, None)


def test_without_impersonation_the_callers_kubeconfig_is_left_to_the_pipeline(tmp_path: Path) -> None:
    chosen, kubeconfig = at_cluster(state(tmp_path, impersonate=False), request(), KEY, "a2luZDogQ29uZmln")
    assert kubeconfig is None and chosen.identity is None


def test_a_named_cluster_is_chosen_unless_a_kubeconfig_is_sent_too_or_it_is_unknown(tmp_path: Path) -> None:
    servers = state(tmp_path, impersonate=False, clusters=True)
    _, kubeconfig = at_cluster(servers, request(cluster="dev"), KEY, None)
    assert kubeconfig is not None and kubeconfig.cluster.name == "dev"
    with pytest.raises(KubeconfigError, match="not both"):
        at_cluster(servers, request(cluster="dev"), KEY, "a2luZDogQ29uZmln")
    with pytest.raises(UnknownCluster):
        at_cluster(servers, request(cluster="prod"), KEY, None)
    with pytest.raises(UnknownCluster):
        at_cluster(state(tmp_path, impersonate=False), request(cluster="dev"), KEY, None)
