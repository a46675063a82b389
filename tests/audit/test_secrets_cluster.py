"""Planted canary secrets never reach the audit log the running server writes (file and stdout sink).

Each request carries its own canary in a place an attacker or a careless agent would put one; the
test then reads the whole log file and the server's stdout (the audit stdout sink is on) and looks for
every canary, its base64 form, and the secret parts of the kubeconfigs the requests were sent with.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

API_KEY = f"key-{uuid.uuid4().hex}"


def canary() -> str:
    return f"CANARY{uuid.uuid4().hex}"


@dataclass
class Sent:
    tool: str
    command: str
    secret: str
    status: int
    request_id: str | None


@pytest.fixture(scope="module")
def srv(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("audit-canary")
    keys = tmp / "keys.yaml"
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    keys.write_text(f"keys:\n- principal: canary-bot\n  sha256: {digest}\n")
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "permissive.yaml"),
        "K8S_MCP_API_KEYS_FILE": str(keys),
        "K8S_MCP_AUDIT_STDOUT": "true",
    }
    server = start_server(tmp, env, name="canary")
    try:
        yield server
    finally:
        server.stop()


def kubeconfig_with_token(cluster: Cluster, token: str) -> str:
    """The admin kubeconfig with its user replaced by a bearer token (a canary)."""
    doc = yaml.safe_load(cluster.admin.read_text())
    doc["users"] = [{"name": "canary", "user": {"token": token}}]
    doc["contexts"][0]["context"]["user"] = "canary"
    return base64.b64encode(yaml.safe_dump(doc).encode()).decode()


def kubeconfig_secrets(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    found = []
    for user in doc["users"]:
        for key in ("token", "client-key-data", "password"):
            if value := user["user"].get(key):
                found.append(value)
                if key.endswith("-data"):
                    found.append(base64.b64decode(value).decode())
    return found


@pytest.fixture(scope="module")
def sent(srv: Server, cluster: Cluster) -> Iterator[list[Sent]]:
    suffix = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {API_KEY}", "X-Kubeconfig": cluster.admin_b64()}
    cases: list[tuple[str, str, str]] = []

    def plant(tool: str, template: str) -> None:
        secret = canary()
        cases.append((tool, template.format(c=secret, s=suffix), secret))

    plant("kubectl", "get pods --token={c}")  # refused by the engine: the record still has the command
    plant("kubectl", "get pods --token {c}")
    plant("kubectl", 'get pods "--tok""en={c}"')
    plant("kubectl", "create secret generic canary-a-{s} -n default --from-literal=password={c}")
    plant("kubectl", "create secret generic canary-b-{s} -n default --from-literal password={c}")
    plant(
        "kubectl",
        "create secret docker-registry canary-c-{s} -n default --docker-server=r.example "
        "--docker-username=u --docker-password={c}",
    )
    plant("kubectl", 'get pods -n default | grep "Authorization: Bearer {c}"')
    plant("kubectl", "get pods -n default | grep https://admin:{c}@example.com/x")
    # `helm template` takes install's values and runs under permissive (install/upgrade are exec now)
    plant("helm", "template canary-{s} nosuchrepo/chart -n default --set password={c}")
    plant("helm", "template canary-{s} nosuchrepo/chart -n default --set image.tag=1,db.password={c}")
    plant("helm", "template canary-{s} nosuchrepo/chart --set-string auth.apiKey={c}")
    plant("helm", "registry login r.example -u me -p {c}")
    out: list[Sent] = []
    try:
        for tool, command, secret in cases:
            res = httpx.post(f"{srv.url}/tools/{tool}", json={"command": command}, headers=auth, timeout=60)
            out.append(Sent(tool, command, secret, res.status_code, _request_id(res)))

        # A bearer API key that is not valid: 401, audited, key not logged.
        secret = canary()
        res = httpx.post(
            f"{srv.url}/tools/kubectl",
            json={"command": "get ns"},
            headers={"Authorization": f"Bearer {secret}", "X-Kubeconfig": cluster.admin_b64()},
            timeout=60,
        )
        out.append(Sent("kubectl", "get ns (bad API key)", secret, res.status_code, _request_id(res)))

        # A kubeconfig whose user token is a canary: it runs (the API server says 401), and the log
        # holds only the server URL and a fingerprint.
        secret = canary()
        res = httpx.post(
            f"{srv.url}/tools/kubectl",
            json={"command": "get ns"},
            headers={
                "Authorization": f"Bearer {API_KEY}",
                "X-Kubeconfig": kubeconfig_with_token(cluster, secret),
            },
            timeout=60,
        )
        out.append(Sent("kubectl", "get ns (token kubeconfig)", secret, res.status_code, _request_id(res)))
        yield out
    finally:
        for name in ("canary-a", "canary-b", "canary-c"):
            cluster.kubectl_run(
                "delete", "secret", f"{name}-{suffix}", "-n", "default", "--ignore-not-found", check=False
            )


def _request_id(res: httpx.Response) -> str | None:
    body = res.json()
    rid = body.get("request_id") or body.get("detail", {}).get("request_id")
    return str(rid) if rid else None


# What the permissive policy does with each planted command (so the test knows which path it covered).
# --token x3: refused by the engine; two generic secrets created; docker-registry refused (a
# credential); grep pipes and the three helm templates run (helm fails: no such repo); registry login
# refused; a bad API key is 401; the canary-token kubeconfig runs (the API server refuses it).
EXPECTED_STATUSES = [403, 403, 403, 200, 200, 403, 200, 200, 200, 200, 200, 403, 401, 200]


def forms(secret: str) -> list[str]:
    """The secret as written and base64-encoded (standard and URL-safe, without padding)."""
    encoded = base64.b64encode(secret.encode()).decode().rstrip("=")
    return [secret, encoded, encoded.replace("+", "-").replace("/", "_")]


def test_every_canary_request_was_answered_and_audited(srv: Server, sent: list[Sent]) -> None:
    records = [json.loads(line) for line in srv.audit_log.read_text().splitlines()]
    by_id: dict[str, list[dict[str, object]]] = {}
    for record in records:
        by_id.setdefault(str(record["request_id"]), []).append(record)
    statuses = [(s.command.replace(s.secret, "<canary>"), s.status) for s in sent]
    assert all(s.request_id in by_id for s in sent), statuses
    assert [status for _, status in statuses] == EXPECTED_STATUSES, statuses


def test_no_canary_reaches_the_audit_file_or_the_stdout_sink(srv: Server, sent: list[Sent]) -> None:
    log = srv.audit_log.read_text()
    stdout = srv.log_path.read_text()
    assert log.count('"event":"decision"') >= len(sent)
    assert stdout.count('"event":"decision"') >= len(sent)  # the sink really carried the records
    leaks = [
        (s.command, where)
        for s in sent
        for form in forms(s.secret)
        for where, text in (("file", log), ("stdout", stdout))
        if form in text
    ]
    assert leaks == []
    assert "CANARY" not in log and "CANARY" not in stdout


def test_no_kubeconfig_secret_reaches_the_audit_log(srv: Server, sent: list[Sent], cluster: Cluster) -> None:
    log = srv.audit_log.read_text()
    secrets = kubeconfig_secrets(cluster.admin)
    assert secrets  # the admin kubeconfig has a client key
    for secret in secrets:
        for line in secret.strip().splitlines():
            if len(line) > 16 and "-----" not in line:
                assert line not in log
    assert base64.b64decode(cluster.admin_b64()).decode()[:200] not in log
    assert cluster.admin_b64()[:64] not in log
    fingerprint = "sha256:" + hashlib.sha256(cluster.admin.read_bytes()).hexdigest()
    clusters = [json.loads(line)["cluster"] for line in log.splitlines()]
    assert {"server": "https://127.0.0.1:26443", "fingerprint": fingerprint} in clusters


async def test_a_canary_sent_over_mcp_does_not_reach_the_log(srv: Server, cluster: Cluster) -> None:
    secret = canary()
    name = f"canary-mcp-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Kubeconfig": cluster.admin_b64()}
    try:
        async with (
            httpx.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(f"{srv.url}/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool(
                "kubectl",
                {"command": f"create secret generic {name} -n default --from-literal=token={secret}"},
            )
        assert not result.isError
    finally:
        cluster.kubectl_run("delete", "secret", name, "-n", "default", "--ignore-not-found", check=False)
    log = srv.audit_log.read_text()
    mine = [json.loads(line) for line in log.splitlines() if name in line]
    assert [r["transport"] for r in mine] == ["mcp", "mcp"]
    assert all(form not in log for form in forms(secret))


def test_an_mcp_request_with_a_wrong_api_key_is_audited_once_without_the_key(srv: Server) -> None:
    secret = canary()
    before = srv.audit_log.read_text().count("\n")
    res = httpx.post(
        f"{srv.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
        headers={"Authorization": f"Bearer {secret}", "Accept": "application/json, text/event-stream"},
        timeout=60,
    )
    assert res.status_code == 401
    rid = res.json()["error"]["data"]["request_id"]  # a JSON-RPC error carrying the REST detail
    log = srv.audit_log.read_text()
    new = [json.loads(line) for line in log.splitlines()[before:]]
    mine = [r for r in new if r["request_id"] == rid]
    assert [(r["event"], r["decision"], r["error_code"], r["transport"]) for r in mine] == [
        ("decision", "rejected", "unauthenticated", "mcp")
    ]
    assert all(form not in log for form in forms(secret))
