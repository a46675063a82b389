"""Per-user identity at the real API server: OAuth tokens from a real issuer, the server's own
credential (a ServiceAccount that may only impersonate) acting as each caller, RBAC deciding per user,
and the API server's audit log naming the impersonated user -- over REST and MCP."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.api.identity_support import audit_records, call_tool, text_of
from tests.conftest import server_env
from tests.identity.test_tokens import hs256_with_public_key, tampered, unsigned
from tests.support.clients import CLIENT_RUN_BOUND, CLIENTS, node_clients
from tests.support.cluster import Cluster
from tests.support.issuer import Issuer, SigningKey, running_issuer
from tests.support.server import Server, free_port, start_server

pytestmark = pytest.mark.cluster

POLICY = """\
version: 1
default: deny
read_only: true
secrets: redact
namespaces:
  allow: ["dev-*"]
clusters: [dev]
rules:
  - id: reads
    effect: allow
    verbs: ["*"]
"""

NO_SECRETS_POLICY = """\
version: 1
default: deny
read_only: true
secrets: deny
namespaces:
  allow: ["dev-*"]
rules:
  - id: reads-but-no-secrets
    effect: allow
    verbs: ["*"]
"""

IMPERSONATOR_RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: k8s-mcp-impersonator}
rules:
  - apiGroups: [""]
    resources: [users, groups]
    verbs: [impersonate]
  - apiGroups: [authentication.k8s.io]
    resources: [userextras/k8s-mcp-request-id]
    verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: k8s-mcp-impersonator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: k8s-mcp-impersonator}
subjects:
  - {kind: ServiceAccount, name: k8s-mcp-proxy, namespace: default}
"""


def reader_rbac(namespace: str) -> str:
    return f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: secret-reader, namespace: {namespace}}}
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: secret-readers, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}}
subjects:
  - {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev-readers}}
"""


@dataclass
class Setup:
    server: Server
    issuer: Issuer
    resource: str
    namespace: str
    identity_map: Path
    api_audit: Path | None
    api_audit_start: int = 0  # the log's size when this module's server started: read only what follows

    def token(self, subject: str, groups: list[str], **extra: Any) -> str:
        return self.issuer.token(subject, audience=self.resource, groups=groups, azp="agent-app", **extra)

    def bearer(self, subject: str, groups: list[str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, groups)}"}


def apply(cluster: Cluster, tmp: Path, name: str, manifest: str) -> None:
    path = tmp / f"{name}.yaml"
    path.write_text(manifest)
    cluster.kubectl_run("apply", "-f", str(path))


def proxy_kubeconfig(cluster: Cluster, tmp: Path) -> Path:
    """The server's own credential: a ServiceAccount whose only right is to impersonate."""
    cluster.kubectl_run("create", "serviceaccount", "k8s-mcp-proxy", "-n", "default", check=False)
    apply(cluster, tmp, "impersonator", IMPERSONATOR_RBAC)
    token = ""
    for _ in range(100):  # the token controller writes the ServiceAccount's Secret
        token = cluster.kubectl_run("create", "token", "k8s-mcp-proxy", "-n", "default", check=False).stdout
        secret = cluster.kubectl_run(
            "get", "sa", "k8s-mcp-proxy", "-n", "default", "-o", "jsonpath={.secrets[0].name}", check=False
        ).stdout.strip()
        if token.strip() or secret:
            break
        time.sleep(0.1)
    if not token.strip():
        encoded = cluster.kubectl_run(
            "get", "secret", secret, "-n", "default", "-o", "jsonpath={.data.token}"
        ).stdout
        token = base64.b64decode(encoded).decode()
    doc = json.loads(cluster.kubectl_run("config", "view", "--raw", "--minify", "-o", "json").stdout)
    doc["users"] = [{"name": "k8s-mcp-proxy", "user": {"token": token.strip()}}]
    doc["contexts"][0]["context"]["user"] = "k8s-mcp-proxy"
    path = tmp / "proxy.kubeconfig"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def setup(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("impersonation")
    namespace = f"dev-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run(
        "create", "secret", "generic", "db-password", "-n", namespace, "--from-literal=pw=hunter2x"
    )
    apply(cluster, tmp, "reader", reader_rbac(namespace))
    policy, strict = tmp / "policy.yaml", tmp / "no-secrets.yaml"
    policy.write_text(POLICY)
    strict.write_text(NO_SECRETS_POLICY)
    identity_map = tmp / "identities.yaml"
    caller_only = tmp / "caller-kubeconfig-only.yaml"
    caller_only.write_text(POLICY + "identity_mode: caller-kubeconfig\n")
    identity_map.write_text(
        f"identities:\n  - principal: carol\n    policy: {strict}\n"
        f"  - principal: dave\n    policy: {caller_only}\n"
    )
    proxy = proxy_kubeconfig(cluster, tmp)
    clusters = tmp / "clusters.yaml"  # two names for the one test cluster: the policy allows only dev
    clusters.write_text(
        f"clusters:\n  - name: dev\n    kubeconfig: {proxy}\n  - name: prod\n    kubeconfig: {proxy}\n"
    )
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    audit_path = cluster.admin.parent / "audit.log" if cluster.started_here or _ours(cluster) else None
    with running_issuer() as issuer:
        env = {
            **server_env(cluster, standin_dir, policy),
            "K8S_MCP_IDENTITY_MODE": "impersonate",
            "K8S_MCP_DEFAULT_KUBECONFIG": str(proxy),
            "K8S_MCP_CLUSTERS_FILE": str(clusters),
            "K8S_MCP_OAUTH_RESOURCE": resource,
            "K8S_MCP_OAUTH_ISSUERS": issuer.url,
            "K8S_MCP_OAUTH_JWKS_MIN_REFETCH": "0",
            "K8S_MCP_IDENTITY_MAP_FILE": str(identity_map),
        }
        srv = start_server(tmp, env, name="impersonation", port=port)
        try:
            start = audit_path.stat().st_size if audit_path is not None and audit_path.exists() else 0
            yield Setup(srv, issuer, resource, namespace, identity_map, audit_path, start)
        finally:
            srv.stop()
            cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def _ours(cluster: Cluster) -> bool:
    """A cluster scripts/cluster.sh started (now or before this run) keeps its audit log beside it."""
    return (cluster.admin.parent / "audit.log").exists()


def rest(setup: Setup, command: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return httpx.post(
        f"{setup.server.url}/tools/kubectl", json={"command": command, **body}, headers=headers, timeout=60
    )


def api_audit_events(setup: Setup, request_id: str) -> list[dict[str, Any]]:
    """The API server's audit events of one proxy request (joined on the impersonated extra)."""
    assert setup.api_audit is not None
    events = []
    with setup.api_audit.open("rb") as log:
        if log.seek(0, os.SEEK_END) >= setup.api_audit_start:  # smaller: rotated, read it all
            log.seek(setup.api_audit_start)
        else:
            log.seek(0)
        text = log.read().decode()
    for line in text.splitlines():
        if request_id not in line:
            continue
        event = json.loads(line)
        extra = event.get("impersonatedUser", {}).get("extra", {})
        if extra.get("k8s-mcp-request-id") == [request_id]:
            events.append(event)
    return events


def wait_for_api_audit(setup: Setup, request_id: str) -> list[dict[str, Any]]:
    # the API server writes its audit log asynchronously (buffered backend): poll, do not time it
    for _ in range(200):
        events = [
            e
            for e in api_audit_events(setup, request_id)
            if e.get("objectRef", {}).get("resource") == "secrets"
        ]
        if events:
            return events
        time.sleep(0.05)
    return []


def proxy_record(setup: Setup, request_id: str, event: str = "decision") -> dict[str, Any]:
    return next(
        r for r in audit_records(setup.server) if r["request_id"] == request_id and r["event"] == event
    )


def test_the_same_get_secrets_is_answered_for_a_reader_and_forbidden_by_the_cluster_for_another_over_rest(
    setup: Setup,
) -> None:
    command = f"get secrets -n {setup.namespace}"
    alice = rest(setup, command, setup.bearer("alice", ["dev-readers"]))
    bob = rest(setup, command, setup.bearer("bob", ["interns"]))
    assert alice.status_code == 200 and alice.json()["success"], alice.text
    assert "db-password" in alice.json()["output"]
    assert bob.status_code == 200 and not bob.json()["success"]
    assert "forbidden" in bob.json()["error"].lower() and 'user "bob"' in bob.json()["error"].lower()
    for response, user, groups in ((alice, "alice", ["dev-readers"]), (bob, "bob", ["interns"])):
        record = proxy_record(setup, response.json()["request_id"])
        assert record["principal"] == user
        assert record["identity"]["issuer"] == setup.issuer.url and record["identity"]["subject"] == user
        assert record["identity"]["client"] == "agent-app"
        assert record["identity"]["impersonation"]["user"] == user
        assert record["identity"]["impersonation"]["groups"] == groups


def test_the_api_servers_audit_log_shows_each_caller_as_the_impersonated_user(setup: Setup) -> None:
    if setup.api_audit is None:
        pytest.skip("the API server's audit log is only known for the cluster scripts/cluster.sh runs")
    command = f"get secrets -n {setup.namespace}"
    for user, groups, allowed in (("alice", ["dev-readers"], True), ("bob", ["interns"], False)):
        response = rest(setup, command, setup.bearer(user, groups))
        request_id = response.json()["request_id"]
        events = wait_for_api_audit(setup, request_id)
        assert events, f"no API server audit event carries request id {request_id}"
        for event in events:
            assert event["user"]["username"] == "system:serviceaccount:default:k8s-mcp-proxy"
            assert event["impersonatedUser"]["username"] == user
            assert set(groups) <= set(event["impersonatedUser"]["groups"])
            code = event["responseStatus"]["code"]
            assert (code == 200) if allowed else (code == 403)


async def test_the_same_get_secrets_is_answered_for_one_and_forbidden_for_the_other_over_mcp(
    setup: Setup,
) -> None:
    arguments = {"command": f"get secrets -n {setup.namespace}"}
    alice = await call_tool(setup.server, setup.bearer("alice", ["dev-readers"]), "kubectl", arguments)
    bob = await call_tool(setup.server, setup.bearer("bob", ["interns"]), "kubectl", arguments)
    assert not alice.isError and "db-password" in text_of(alice)
    assert bob.isError and 'user "bob"' in text_of(bob).lower() and "forbidden" in text_of(bob).lower()
    mcp_records = [
        r for r in audit_records(setup.server) if r["transport"] == "mcp" and r["event"] == "decision"
    ]
    assert {r["identity"]["impersonation"]["user"] for r in mcp_records} >= {"alice", "bob"}
    if setup.api_audit is not None:
        for record in mcp_records[-2:]:
            events = wait_for_api_audit(setup, record["request_id"])
            assert events and events[0]["impersonatedUser"]["username"] == record["principal"]


def test_a_caller_kubeconfig_is_refused_in_impersonate_mode_with_a_message_that_says_so(
    setup: Setup, cluster: Cluster
) -> None:
    headers = {**setup.bearer("alice", ["dev-readers"]), "X-Kubeconfig": cluster.admin_b64()}
    response = rest(setup, f"get pods -n {setup.namespace}", headers)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["code"] == "kubeconfig_refused" and "impersonate" in detail["message"]
    record = proxy_record(setup, detail["request_id"])
    assert record["decision"] == "rejected" and record["error_code"] == "kubeconfig_refused"


def test_the_identity_map_gives_a_principal_its_own_policy_and_a_change_applies_without_restart(
    setup: Setup, tmp_path: Path
) -> None:
    command = f"get secrets -n {setup.namespace}"
    denied = rest(setup, command, setup.bearer("carol", ["dev-readers"]))
    assert denied.status_code == 403 and denied.json()["detail"]["code"] == "policy_denied"
    text = setup.identity_map.read_text()
    replacement = tmp_path / "identities.yaml"
    replacement.write_text(text.replace("principal: carol", "principal: someone-else"))
    replacement.replace(setup.identity_map)
    try:
        for _ in range(100):  # the map is re-read within a second of a change
            allowed = rest(setup, command, setup.bearer("carol", ["dev-readers"]))
            if allowed.status_code == 200:
                break
            time.sleep(0.05)
        assert allowed.status_code == 200 and "db-password" in allowed.json()["output"]
    finally:
        setup.identity_map.write_text(text)


def test_the_protected_resource_metadata_names_the_resource_and_its_issuer(setup: Setup) -> None:
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        doc = httpx.get(f"{setup.server.url}{path}", timeout=10).json()
        assert doc["resource"] == setup.resource
        assert doc["authorization_servers"] == [setup.issuer.url]
        assert doc["bearer_methods_supported"] == ["header"]


def _challenge(response: httpx.Response, setup: Setup) -> None:
    expected = f'resource_metadata="{setup.server.url}/.well-known/oauth-protected-resource/mcp"'
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert expected in response.headers["www-authenticate"]


def bad_tokens(setup: Setup) -> dict[str, tuple[str, str]]:
    aud, issuer, now = setup.resource, setup.issuer, int(time.time())
    good = setup.token("mallory", ["dev-readers"])
    return {
        "expired": (issuer.token("mallory", audience=aud, lifetime=-300), "expired"),
        "not yet valid": (issuer.token("mallory", audience=aud, nbf=now + 900), "not valid yet"),
        "another audience": (
            issuer.token("mallory", audience="https://elsewhere.example/mcp"),
            "another audience",
        ),
        "unknown kid": (issuer.token("mallory", audience=aud, key=SigningKey.new()), "unknown kid"),
        "alg none": (unsigned({"alg": "none"}, issuer.claims("mallory", audience=aud)), "allow-list"),
        "HS256 with the public key": (hs256_with_public_key(issuer, aud), "allow-list"),
        "tampered": (tampered(good), "does not verify"),
    }


def test_each_bad_token_is_a_401_with_the_challenge_and_its_reason_in_the_audit_record_never_a_500(
    setup: Setup,
) -> None:
    with running_issuer() as stranger:
        cases = {
            **bad_tokens(setup),
            "another issuer": (stranger.token("mallory", audience=setup.resource), "does not trust"),
        }
        for i, (case, (token, reason)) in enumerate(cases.items()):
            # each from its own loopback address: past 5 refusals per source and interval the audit
            # log counts them in aggregate (audit/refusals.py), and this test is not a flood
            with httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.0.{20 + i}")) as client:
                response = client.post(
                    f"{setup.server.url}/tools/kubectl",
                    json={"command": "version --client"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
            assert response.status_code == 401, (case, response.text)
            _challenge(response, setup)
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
            detail = response.json()["detail"]
            assert reason in detail["message"], case
            record = next(
                r for r in reversed(audit_records(setup.server)) if r["request_id"] == detail["request_id"]
            )
            assert record["decision"] == "rejected" and record["error_code"] == "unauthenticated"
            assert reason in record["reason"], case
            assert token not in setup.server.audit_log.read_text()


def test_a_request_without_a_token_gets_the_challenge_over_rest_and_mcp(setup: Setup) -> None:
    _challenge(rest(setup, "version --client", {}), setup)
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    response = httpx.post(f"{setup.server.url}/mcp", json=initialize, headers=headers, timeout=10)
    assert response.status_code == 401
    _challenge(response, setup)


def test_a_rotated_signing_key_is_picked_up_without_a_restart(setup: Setup) -> None:
    before = rest(setup, "version --client", setup.bearer("alice", ["dev-readers"]))
    assert before.status_code == 200
    setup.issuer.rotate()
    after = rest(setup, "version --client", setup.bearer("alice", ["dev-readers"]))
    assert after.status_code == 200, after.text


class MemoryStorage:
    """The MCP SDK's TokenStorage, in memory: what a client would keep between runs."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def test_an_mcp_client_finds_the_issuer_from_the_401_gets_a_token_and_calls_a_tool_with_none_pasted(
    setup: Setup,
) -> None:
    """The MCP SDK's own OAuth client: 401 -> resource metadata -> issuer discovery -> dynamic
    registration -> authorization code with PKCE (the test issuer consents at once as alice) ->
    token for this resource -> the tool call, impersonating alice at the cluster."""
    setup.issuer.login = ("alice", ["dev-readers"])
    landed: dict[str, str | None] = {}

    async def redirect(url: str) -> None:  # the user's browser at the issuer
        async with httpx.AsyncClient(timeout=30) as browser:
            response = await browser.get(url)
        query = parse_qs(urlsplit(response.headers["location"]).query)
        landed.update(code=query["code"][0], state=query.get("state", [None])[0])

    async def callback() -> tuple[str, str | None]:
        return str(landed["code"]), landed["state"]

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=f"{setup.server.url}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="test-agent",
            redirect_uris=[AnyUrl("http://127.0.0.1:9/callback")],
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect,
        callback_handler=callback,
    )
    async with (
        httpx.AsyncClient(auth=provider, timeout=60) as http,
        streamable_http_client(f"{setup.server.url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("kubectl", {"command": f"get secrets -n {setup.namespace}"})
    assert not result.isError and "db-password" in text_of(result)
    assert storage.client is not None and storage.tokens is not None
    record = next(
        r
        for r in reversed(audit_records(setup.server))
        if r["transport"] == "mcp" and r["event"] == "decision"
    )
    assert record["principal"] == "alice"
    assert record["identity"]["client"] == storage.client.client_id
    assert record["identity"]["impersonation"]["user"] == "alice"


def test_a_named_cluster_the_policy_allows_is_used_and_named_in_the_audit_record(setup: Setup) -> None:
    response = rest(
        setup, f"get secrets -n {setup.namespace}", setup.bearer("alice", ["dev-readers"]), cluster="dev"
    )
    assert response.status_code == 200 and "db-password" in response.json()["output"], response.text
    record = proxy_record(setup, response.json()["request_id"])
    assert record["cluster"]["name"] == "dev"
    assert record["identity"]["impersonation"]["user"] == "alice"


async def test_a_cluster_the_principals_policy_does_not_list_is_denied_by_a_named_rule_over_rest_and_mcp(
    setup: Setup,
) -> None:
    command = f"get secrets -n {setup.namespace}"
    response = rest(setup, command, setup.bearer("alice", ["dev-readers"]), cluster="prod")
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "policy_denied" and detail["rule"] == "builtin:clusters"
    record = proxy_record(setup, detail["request_id"])
    assert record["decision"] == "deny" and record["rule"] == "builtin:clusters"
    assert record["cluster"]["name"] == "prod"
    result = await call_tool(
        setup.server,
        setup.bearer("alice", ["dev-readers"]),
        "kubectl",
        {"command": command, "cluster": "prod"},
    )
    assert result.isError and "builtin:clusters" in text_of(result)


def test_a_cluster_the_server_does_not_hold_is_refused_without_echoing_the_name(setup: Setup) -> None:
    response = rest(setup, "get ns", setup.bearer("alice", ["dev-readers"]), cluster="nope-zz9")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["code"] == "unknown_cluster" and "nope-zz9" not in detail["message"]
    assert "dev, prod" in detail["message"]


def test_a_policy_that_requires_the_callers_kubeconfig_refuses_to_run_impersonated(setup: Setup) -> None:
    response = rest(setup, f"get secrets -n {setup.namespace}", setup.bearer("dave", ["dev-readers"]))
    assert response.status_code == 403
    assert response.json()["detail"]["rule"] == "builtin:identity-mode"


def test_a_token_claiming_a_reserved_system_group_is_never_impersonated(setup: Setup) -> None:
    response = rest(setup, f"get secrets -n {setup.namespace}", setup.bearer("mallory", ["system:masters"]))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail["code"] == "reserved_identity"
    record = proxy_record(setup, detail["request_id"])
    assert record["decision"] == "rejected" and record["error_code"] == "reserved_identity"


def test_the_typescript_sdks_oauth_client_gets_a_token_by_itself_and_calls_a_tool(setup: Setup) -> None:
    """The client library the MCP Inspector and mcp-remote use, with no token given to it."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    setup.issuer.login = ("alice", ["dev-readers"])
    arguments = json.dumps({"command": f"get secrets -n {setup.namespace}"})
    done = subprocess.run(
        ["node", str(CLIENTS / "ts_oauth_client.cjs"), f"{setup.server.url}/mcp", "kubectl", arguments],
        capture_output=True,
        text=True,
        timeout=CLIENT_RUN_BOUND,
        env={**os.environ, "NODE_PATH": str(node_clients())},
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines and "error" not in lines[-1], (lines, done.stderr[-2000:])
    assert not lines[-1]["isError"] and "db-password" in lines[-1]["text"]
    record = next(
        r
        for r in reversed(audit_records(setup.server))
        if r["transport"] == "mcp" and r["event"] == "decision"
    )
    assert record["principal"] == "alice" and record["identity"]["client"] == lines[-1]["client_id"]
