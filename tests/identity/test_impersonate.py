"""The impersonating kubeconfig: the server's credential with as / as-groups / as-user-extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s_mcp_server.identity.impersonate import REQUEST_ID_EXTRA, Impersonator, ReservedIdentity
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, default_kubeconfig

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.9.8.7:6443"}}]
users: [{name: proxy, user: {token: proxy-token-abc}}]
contexts: [{name: x, context: {cluster: c, user: proxy, namespace: dev}}]
current-context: x
"""


def impersonator(tmp_path: Path, **prefixes: str) -> Impersonator:
    path = tmp_path / "server.kubeconfig"
    path.write_text(KUBECONFIG)
    default = default_kubeconfig(
        file=path, in_cluster=False, service_account_dir=tmp_path, policy=KubeconfigPolicy()
    )
    return Impersonator(default, **prefixes)


def test_the_request_kubeconfig_is_the_servers_acting_as_the_caller(tmp_path: Path) -> None:
    built = impersonator(tmp_path).kubeconfig_for("alice", ("dev-readers",), "req-1")
    user = json.loads(built.sanitized)["users"][0]["user"]
    assert user["token"] == "proxy-token-abc"  # the server's credential...
    assert user["as"] == "alice" and user["as-groups"] == ["dev-readers"]  # ...acting as the caller
    assert user["as-user-extra"] == {REQUEST_ID_EXTRA: ["req-1"]}
    assert "proxy-token-abc" in built.credentials  # still redacted from every output
    assert "proxy-token-abc" not in repr(built)


def test_prefixes_apply_and_reserved_system_names_are_refused(tmp_path: Path) -> None:
    prefixed = impersonator(tmp_path, user_prefix="oidc:", group_prefix="oidc:")
    assert prefixed.names("alice", ("system:masters",)) == ("oidc:alice", ("oidc:system:masters",))
    plain = impersonator(tmp_path)
    for principal, groups in (("system:admin", ()), ("alice", ("dev", "system:masters"))):
        with pytest.raises(ReservedIdentity):
            plain.names(principal, groups)
