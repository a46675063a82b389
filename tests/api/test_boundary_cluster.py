"""Rate limits and the Host/Origin allow-lists on a real server, over REST and MCP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.identity_support import audit_lines, bearer, call_tool, post, text_of, write_keys
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

LIMIT = 3
KEY_A = "kms_a-" + uuid.uuid4().hex
KEY_B = "kms_b-" + uuid.uuid4().hex
KEY_C = "kms_c-" + uuid.uuid4().hex
ALLOWED_ORIGIN = "http://localhost:6274"  # the MCP Inspector's default


@pytest.fixture(scope="module")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("boundary")
    keys = tmp / "keys.yaml"
    write_keys(keys, [("a", KEY_A, None), ("b", KEY_B, None), ("c", KEY_C, None)])
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_API_KEYS_FILE": str(keys),
        "K8S_MCP_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "K8S_MCP_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
    }
    srv = start_server(tmp, env, name="boundary")
    try:
        yield srv
    finally:
        srv.stop()


def last_record(server: Server) -> dict[str, object]:
    record: dict[str, object] = json.loads(audit_lines(server)[-1])
    return record


def test_a_principal_over_its_rate_gets_429_with_retry_after_and_others_do_not(
    server: Server, cluster: Cluster
) -> None:
    kube = {"X-Kubeconfig": cluster.admin_b64()}
    for _ in range(LIMIT):
        assert post(server, "kubectl", "get ns default -o name", bearer(KEY_A, **kube)).status_code == 200
    before = len(audit_lines(server))
    res = post(server, "kubectl", "get ns default -o name", bearer(KEY_A, **kube))
    assert res.status_code == 429
    assert res.json()["detail"]["code"] == "rate_limited"
    assert 1 <= int(res.headers["retry-after"]) <= 60 // LIMIT
    assert len(audit_lines(server)) == before + 1
    record = last_record(server)
    assert (record["decision"], record["error_code"], record["principal"]) == (
        "rejected",
        "rate_limited",
        "a",
    )
    assert post(server, "kubectl", "get ns default -o name", bearer(KEY_B, **kube)).status_code == 200


async def test_mcp_tool_calls_count_against_the_same_bucket_and_come_back_as_rate_limited(
    server: Server, cluster: Cluster
) -> None:
    kube = {"X-Kubeconfig": cluster.admin_b64()}
    for _ in range(LIMIT):
        assert post(server, "kubectl", "get ns default -o name", bearer(KEY_C, **kube)).status_code == 200
    result = await call_tool(server, bearer(KEY_C, **kube), "kubectl", {"command": "get ns default -o name"})
    assert result.isError and "rate_limited" in text_of(result)
    record = last_record(server)
    assert (record["transport"], record["error_code"], record["principal"]) == ("mcp", "rate_limited", "c")


@pytest.mark.parametrize("path", ["/mcp", "/tools/kubectl"])
def test_a_foreign_host_header_is_forbidden_host_and_audited(server: Server, path: str) -> None:
    before = len(audit_lines(server))
    res = httpx.post(
        f"{server.url}{path}",
        json={"command": "get ns"},
        headers=bearer(KEY_B, Host="attacker.example:9096"),
        timeout=10,
    )
    assert res.status_code == 403
    body = res.json()  # on /mcp a JSON-RPC error whose data is the REST detail
    assert (body["error"]["data"] if path == "/mcp" else body["detail"])["code"] == "forbidden_host"
    assert len(audit_lines(server)) == before + 1
    record = last_record(server)
    assert (record["decision"], record["error_code"]) == ("rejected", "forbidden_host")
    assert record["transport"] == ("mcp" if path == "/mcp" else "rest")
    assert KEY_B not in audit_lines(server)[-1]


async def test_a_web_page_origin_is_refused_over_mcp_unless_listed(server: Server) -> None:
    res = httpx.post(
        f"{server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers=bearer(KEY_B, Origin="http://attacker.example"),
        timeout=10,
    )
    assert res.status_code == 403 and res.json()["error"]["data"]["code"] == "forbidden_origin"
    with pytest.raises(BaseException) as info:
        await call_tool(
            server, bearer(KEY_B, Origin="http://attacker.example"), "kubectl", {"command": "version"}
        )
    assert "403" in repr(info.value)
    listed = await call_tool(
        server, bearer(KEY_B, Origin=ALLOWED_ORIGIN), "kubectl", {"command": "version --client"}
    )
    assert not listed.isError, text_of(listed)


def test_a_web_page_origin_is_refused_over_rest(server: Server, cluster: Cluster) -> None:
    res = post(
        server,
        "kubectl",
        "get ns",
        bearer(KEY_B, Origin="http://attacker.example", **{"X-Kubeconfig": cluster.admin_b64()}),
    )
    assert res.status_code == 403 and res.json()["detail"]["code"] == "forbidden_origin"


def test_a_forged_internal_stamp_does_not_bypass_the_host_check(server: Server) -> None:
    res = httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": "get ns"},
        headers=bearer(KEY_B, Host="attacker.example", **{"x-k8s-mcp-origin": "guess;127.0.0.1"}),
        timeout=10,
    )
    assert res.status_code == 403 and res.json()["detail"]["code"] == "forbidden_host"


def test_two_host_headers_are_refused(server: Server) -> None:
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"GET /metrics HTTP/1.1\r\nHost: {host}:{port}\r\nHost: attacker.example\r\n"
            f"Authorization: Bearer {KEY_B}\r\nConnection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = reply.split(b"\r\n", 1)[0]
    assert b" 403 " in status or b" 400 " in status, status
