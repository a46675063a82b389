"""Who may decide an approval, and what a continuing request is compared on (never by value)."""

from __future__ import annotations

import time

from k8s_mcp_server.approvals.gate import differs, may_decide, may_see
from k8s_mcp_server.approvals.model import argv_digest
from k8s_mcp_server.contracts import ClusterRef, CommandRequest, Identity
from k8s_mcp_server.identity.oauth import TokenCaller
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.parse import parse_command
from tests.approvals.test_store import pending

SCALE = parse_command("kubectl", "scale deploy/api --replicas=3 -n dev")
CLUSTER = ClusterRef(server="https://10.0.0.1:6443", fingerprint="sha256:ab")


def key(principal: str, *roles: str) -> ApiKey:
    return ApiKey(principal=principal, sha256=b"\0" * 32, roles=frozenset(roles))


def token(principal: str, *groups: str) -> TokenCaller:
    return TokenCaller(
        principal=principal, sha256=b"", identity=Identity(method="oauth", groups=tuple(groups))
    )


def approval(approvers: tuple[str, ...] = ("bob", "group:sre")):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(pending("a1"), approvers=approvers, argv_digest=argv_digest(SCALE))


def test_keys_callers_need_the_approver_role_and_to_be_named_when_the_rule_names_approvers() -> None:
    assert may_decide(key("bob", "approver"), approval())
    assert not may_decide(key("bob"), approval())  # named, but no role
    assert not may_decide(key("eve", "approver"), approval())  # role, not named
    assert may_decide(key("eve", "approver"), approval(approvers=()))  # any approver
    assert may_see(key("eve", "approver"), approval()) and not may_see(key("mallory"), approval())
    assert may_see(key("agent"), approval())  # the requester sees their own


def test_token_callers_decide_when_the_rule_names_their_principal_or_one_of_their_groups() -> None:
    assert may_decide(token("dana", "sre"), approval())
    assert may_decide(token("bob"), approval())
    assert not may_decide(token("dana", "dev"), approval())


def test_a_continuing_request_is_compared_on_tool_cluster_namespaces_and_the_argv_digest() -> None:
    request = CommandRequest(request_id="r", tool="kubectl", command="x", principal="agent")
    assert differs(approval(), request, SCALE, CLUSTER) == []
    four = parse_command("kubectl", "scale deploy/api --replicas=4 -n dev --token=s3cr3t-value")
    found = differs(approval(), request, four, CLUSTER)
    assert len(found) == 1 and "arguments differ" in found[0]
    assert "s3cr3t" not in found[0] and "--replicas" not in found[0]
    other_ns = parse_command("kubectl", "scale deploy/api --replicas=3 -n stage")
    assert any(
        "namespaces differ (approved: dev; this request: stage)" in d
        for d in differs(approval(), request, other_ns, CLUSTER)
    )
    elsewhere = ClusterRef(server="https://10.0.0.2:6443", fingerprint="sha256:cd")
    assert any("cluster differs" in d for d in differs(approval(), request, SCALE, elsewhere))
    assert any("rule other" in d for d in differs(approval(), request, SCALE, CLUSTER, "other"))
    assert approval().expires_at > time.time()
