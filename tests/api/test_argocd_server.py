"""argocd over REST with the operator's Argo CD API server configured (a real server process, the
argocd stand-in; no cluster): the caller cannot choose the server or the token by any request field,
the token never comes back, and neither the audit log nor the server's own log holds it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.execute.argocd_standin import calls, sha256, write_argocd_standin
from tests.support.cluster import REPO
from tests.support.server import Server, start_server

ADDRESS = "argocd.example.test:443"


@dataclass
class Proxy:
    server: Server
    token: str
    token_file: Path
    log: Path


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    tmp = tmp_path_factory.mktemp("argocd-server")
    standin, log = write_argocd_standin(tmp / "bin")
    token = f"argo-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    token_file = tmp / "argocd-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    env = {
        "K8S_MCP_POLICY": str(REPO / "policies" / "default.yaml"),
        "K8S_MCP_ARGOCD": str(standin),
        "K8S_MCP_ARGOCD_SERVER": ADDRESS,
        "K8S_MCP_ARGOCD_AUTH_TOKEN_FILE": str(token_file),
    }
    srv = start_server(tmp, env, name="argocd")
    try:
        yield Proxy(server=srv, token=token, token_file=token_file, log=log)
    finally:
        srv.stop()


def post(proxy: Proxy, body: dict[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{proxy.server.url}/tools/argocd", json=body, headers=headers or {}, timeout=30)


def test_an_argocd_command_reaches_the_configured_server_without_a_kubeconfig(proxy: Proxy) -> None:
    res = post(proxy, {"command": "app list"})
    assert res.status_code == 200, res.text
    call = calls(proxy.log)[-1]
    assert (call["server"], call["token_sha256"]) == (ADDRESS, sha256(proxy.token))


def test_the_token_printed_by_argocd_comes_back_redacted_and_is_in_no_log(proxy: Proxy) -> None:
    res = post(proxy, {"command": "app get print-token"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert calls(proxy.log)[-1]["token_sha256"] == sha256(proxy.token)  # it was there to print
    assert "[REDACTED:known-secret:" in body["output"]
    assert "[REDACTED:known-secret:" in body["error"]
    assert proxy.token not in res.text
    assert proxy.token not in proxy.server.audit_log.read_text()
    assert proxy.token not in proxy.server.log_path.read_text()


@pytest.mark.parametrize(
    "body",
    [
        {"command": "app list", "env": {"ARGOCD_SERVER": "evil.example.test"}},
        {"command": "app list", "argocd_server": "evil.example.test"},
        {"command": "app list", "auth_token": "callers-token-123"},
    ],
)
def test_no_request_field_sets_the_server_or_the_token(proxy: Proxy, body: dict[str, object]) -> None:
    before = len(calls(proxy.log))
    res = post(proxy, body)
    assert res.status_code == 422, res.text
    assert len(calls(proxy.log)) == before


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("ARGOCD_SERVER=evil.example.test app list", "invalid_command"),
        ("env ARGOCD_AUTH_TOKEN=callers-token-123 argocd app list", "invalid_command"),
        ("app list --server evil.example.test", "policy_denied"),
        ("app list --auth-token callers-token-123", "policy_denied"),
        ("app list --config /tmp/argocd-config", "policy_denied"),
        ("app list -H 'Authorization: Bearer callers-token-123'", "policy_denied"),
    ],
)
def test_the_command_cannot_set_them_either(proxy: Proxy, command: str, code: str) -> None:
    before = len(calls(proxy.log))
    res = post(proxy, {"command": command})
    assert res.status_code in (400, 403), res.text
    assert res.json()["detail"]["code"] == code
    assert len(calls(proxy.log)) == before


def test_headers_do_not_set_them(proxy: Proxy) -> None:
    headers = {"X-Argocd-Server": "evil.example.test", "X-Argocd-Auth-Token": "callers-token-123"}
    res = post(proxy, {"command": "app list"}, headers)
    assert res.status_code == 200, res.text
    call = calls(proxy.log)[-1]
    assert (call["server"], call["token_sha256"]) == (ADDRESS, sha256(proxy.token))


def test_the_health_and_tools_pages_do_not_show_the_token(proxy: Proxy) -> None:
    for path in ("/health", "/tools/status", "/metrics", "/openapi.json"):
        res = httpx.get(f"{proxy.server.url}{path}", timeout=30)
        assert proxy.token not in res.text
        assert str(proxy.token_file) not in res.text


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"K8S_MCP_ARGOCD_AUTH_TOKEN": "{token}"}, "K8S_MCP_ARGOCD_SERVER"),
        (
            {"K8S_MCP_ARGOCD_SERVER": ADDRESS, "K8S_MCP_ARGOCD_AUTH_TOKEN_FILE": "{file}"},
            "K8S_MCP_ARGOCD_AUTH_TOKEN_FILE",
        ),
    ],
)
def test_a_server_that_cannot_use_its_argocd_settings_does_not_start_and_says_why(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    token = f"argo-{uuid.uuid4().hex}"
    bad_file = tmp_path / "token"
    bad_file.write_text(f"{token} {token}\n")  # two words: not one token
    full = {
        "K8S_MCP_POLICY": str(REPO / "policies" / "default.yaml"),
        **{k: v.format(token=token, file=bad_file) for k, v in env.items()},
    }
    with pytest.raises(RuntimeError) as caught:
        start_server(tmp_path, full, name="bad-argocd")
    message = str(caught.value)
    assert says in message
    assert token not in message
    assert token not in (tmp_path / "bad-argocd.log").read_text()
    audit = tmp_path / "bad-argocd-audit.jsonl"
    assert not audit.exists() or not [json.loads(x) for x in audit.read_text().splitlines()]
