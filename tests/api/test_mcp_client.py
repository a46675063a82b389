"""MCP end to end: the `mcp` package's (1.x) streamable HTTP client against the running server."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import McpError
from mcp import types as mt

from k8s_mcp_server import __version__
from tests.api.identity_support import bearer, write_keys
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.mcp import call_tool, mcp_session, text_of
from tests.support.processes import gone, wait_for_process
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

READ_KEY, WRITE_KEY, SWITCH_KEY = "mcp-test-reader-key", "mcp-test-writer-key", "mcp-test-switch-key"
# How long a test waits for the server to notice a rewritten policy file (it re-stats it about once a
# second): a liveness bound, not a timing.
RELOAD_BOUND = 30.0


def audit(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.audit_log.read_text().splitlines()]


@dataclass
class Keyed:
    server: Server
    env: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
def keyed(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keyed]:
    """API keys on (a read-only and a permissive principal); istioctl and argocd not installed."""
    tmp = tmp_path_factory.mktemp("mcp-keyed")
    keys = tmp / "keys.yaml"
    permissive = REPO / "policies" / "permissive.yaml"
    (tmp / "switch.yaml").write_text(permissive.read_text())  # rewritten by the reload test
    write_keys(
        keys,
        [
            ("reader", READ_KEY, None),
            ("writer", WRITE_KEY, permissive),
            ("switch", SWITCH_KEY, tmp / "switch.yaml"),
        ],
    )
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    del env["K8S_MCP_ISTIOCTL"], env["K8S_MCP_ARGOCD"]
    env |= {"K8S_MCP_API_KEYS_FILE": str(keys), "PATH": "/usr/bin:/bin"}
    holder = Keyed(start_server(tmp, env, name="keyed"), env, tmp)
    try:
        yield holder
    finally:
        holder.server.stop()  # the restart test replaces it


async def test_list_tools_gives_each_tool_a_title_annotations_and_its_own_examples(server: Server) -> None:
    async with mcp_session(server.url) as session:
        info = session.get_server_capabilities()
        tools = (await session.list_tools()).tools
    assert info is not None and info.tools is not None
    assert sorted(t.name for t in tools) == ["argocd", "helm", "istioctl", "kubectl"]
    for tool in tools:
        description = tool.description or ""
        assert tool.title and tool.title.startswith(tool.name)
        assert tool.annotations is not None
        assert tool.annotations.readOnlyHint is True  # the shipped default policy only reads
        assert tool.annotations.destructiveHint is False
        assert tool.annotations.openWorldHint is True
        assert "read-only" in description
        assert "Responses" not in description and len(description) < 800
        assert tool.outputSchema is not None
        assert {"exit_code", "timed_out", "truncated", "redactions", "request_id", "warnings"} <= set(
            tool.outputSchema["properties"]
        )
    by_name = {t.name: t.description or "" for t in tools}
    assert "get pods -n default" in by_name["kubectl"]
    assert "get pods" not in by_name["helm"] and "list -A" in by_name["helm"]
    assert "proxy-status" in by_name["istioctl"] and "app list --core" in by_name["argocd"]


async def test_server_info_carries_the_package_version_and_the_instructions(server: Server) -> None:
    async with (
        httpx.AsyncClient(timeout=30) as http,
    ):
        res = await http.post(
            f"{server.url}/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": mt.LATEST_PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "0"},
                },
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
    result = res.json()["result"]
    assert result["serverInfo"] == {"name": "k8s-mcp-server", "version": __version__}
    assert "policy" in result["instructions"]
    assert res.headers.get("mcp-session-id")  # a correlation token, never looked up


async def test_a_command_that_ran_gives_its_output_then_a_status_line_and_structured_content(
    server: Server, admin_headers: dict[str, str]
) -> None:
    result = await call_tool(server.url, admin_headers, "kubectl", {"command": "get ns"})
    assert not result.isError, text_of(result)
    lines = text_of(result).splitlines()
    assert lines[0].startswith("NAME") and any(line.startswith("kube-system") for line in lines)
    assert lines[-1].startswith("[exit code 0;")
    structured = result.structuredContent
    assert structured is not None
    assert structured["exit_code"] == 0 and structured["success"] is True and structured["timed_out"] is False
    assert "output" not in structured  # the output is the text, once
    mine = [r for r in audit(server) if r["request_id"] == structured["request_id"]]
    assert [r["event"] for r in mine] == ["decision", "completion"]
    assert (mine[0]["transport"], mine[0]["source_ip"]) == ("mcp", "127.0.0.1")


async def test_a_command_that_exits_non_zero_is_a_tool_error_with_its_exit_code(
    server: Server, admin_headers: dict[str, str]
) -> None:
    result = await call_tool(
        server.url, admin_headers, "kubectl", {"command": "get pod no-such-pod -n default"}
    )
    assert result.isError
    text = text_of(result)
    assert "NotFound" in text
    assert text.splitlines()[-1].startswith("[failed: exit code 1;")
    assert result.structuredContent is not None and result.structuredContent["exit_code"] == 1


async def test_a_command_that_times_out_is_a_tool_error_and_progress_arrives_while_it_runs(
    server: Server, admin_headers: dict[str, str]
) -> None:
    seen: list[tuple[float, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, message))

    async with mcp_session(server.url, admin_headers) as session:
        result = await session.call_tool(
            "kubectl", {"command": "get ns -w", "timeout": 7}, progress_callback=progress
        )
    assert result.isError
    assert result.structuredContent is not None and result.structuredContent["timed_out"] is True
    assert "timed out after" in text_of(result).splitlines()[-1]
    assert seen and all(value > 0 for value, _ in seen)
    assert "kubectl is still running" in (seen[0][1] or "")


async def test_a_denied_command_is_a_tool_error_naming_code_and_rule(
    server: Server, admin_headers: dict[str, str], cluster: Cluster
) -> None:
    result = await call_tool(server.url, admin_headers, "kubectl", {"command": "delete ns default"})
    assert result.isError
    text = text_of(result)
    assert "code policy_denied" in text and "rule builtin:read-only" in text
    assert cluster.kubectl_run("get", "ns", "default", "-o", "name").stdout.strip() == "namespace/default"


async def test_an_invalid_command_is_a_tool_error_with_its_code(
    server: Server, admin_headers: dict[str, str]
) -> None:
    result = await call_tool(server.url, admin_headers, "kubectl", {"command": "get pods; id"})
    assert result.isError
    assert "invalid_command" in text_of(result)


async def test_null_for_every_optional_argument_is_accepted(
    server: Server, admin_headers: dict[str, str]
) -> None:
    arguments = {"command": "get ns default -o name", "namespace": None, "timeout": None, "kubeconfig": None}
    result = await call_tool(server.url, admin_headers, "kubectl", arguments)
    assert not result.isError, text_of(result)
    assert text_of(result).startswith("namespace/default")


@pytest.mark.parametrize(
    "arguments",
    [
        {"command": "get ns", "kubeconfig_b64": "CANARY-unknown-value"},
        {"command": "get ns", "CANARY-unknown-key": "x"},
        {"command": ["CANARY-wrong-type"]},
        {"command": "get ns", "timeout": "CANARY-wrong-type"},
        {"command": "get ns", "namespace": "CANARY-bad-namespace"},
        {"command": "get ns " + "CANARY-too-long " * 5000},
    ],
    ids=["unknown-value", "unknown-key", "wrong-type", "wrong-type-timeout", "bad-pattern", "too-long"],
)
async def test_an_argument_that_does_not_fit_is_a_tool_error_without_its_value(
    server: Server, admin_headers: dict[str, str], arguments: dict[str, Any]
) -> None:
    result = await call_tool(server.url, admin_headers, "kubectl", arguments)
    assert result.isError
    text = text_of(result)
    assert "invalid_arguments" in text
    assert "CANARY" not in text


async def test_an_unknown_tool_is_a_jsonrpc_invalid_params_error(server: Server) -> None:
    async with mcp_session(server.url) as session:
        with pytest.raises(McpError) as info:
            await session.call_tool("bash", {"command": "id"})
    assert info.value.error.code == mt.INVALID_PARAMS


async def test_the_second_call_works_after_a_server_restart_in_the_same_client_session(
    keyed: Keyed, admin_headers: dict[str, str]
) -> None:
    port = int(keyed.server.url.rsplit(":", 1)[1])
    headers = {**admin_headers, **bearer(READ_KEY)}
    async with mcp_session(keyed.server.url, headers) as session:
        first = await session.call_tool("kubectl", {"command": "get ns default -o name"})
        keyed.server.stop()
        keyed.server = start_server(keyed.tmp, keyed.env, name="keyed-restarted", port=port)
        second = await session.call_tool("kubectl", {"command": "get ns kube-system -o name"})
    assert not first.isError and not second.isError, text_of(second)
    assert text_of(second).startswith("namespace/kube-system")


async def test_annotations_follow_the_callers_policy(keyed: Keyed) -> None:
    async with mcp_session(keyed.server.url, bearer(READ_KEY)) as session:
        reader = {t.name: t for t in (await session.list_tools()).tools}
    async with mcp_session(keyed.server.url, bearer(WRITE_KEY)) as session:
        writer = {t.name: t for t in (await session.list_tools()).tools}
    assert reader["kubectl"].annotations is not None and writer["kubectl"].annotations is not None
    assert reader["kubectl"].annotations.readOnlyHint is True
    assert writer["kubectl"].annotations.readOnlyHint is False
    assert writer["kubectl"].annotations.destructiveHint is True
    assert "read-only" in (reader["kubectl"].description or "")
    assert "read-only" not in (writer["kubectl"].description or "")


async def test_tool_metadata_follows_a_policy_reload_without_a_restart(keyed: Keyed) -> None:
    async def kubectl_tool() -> mt.Tool:
        async with mcp_session(keyed.server.url, bearer(SWITCH_KEY)) as session:
            return next(t for t in (await session.list_tools()).tools if t.name == "kubectl")

    before = await kubectl_tool()
    assert before.annotations is not None and before.annotations.readOnlyHint is False
    (keyed.tmp / "switch.yaml").write_text((REPO / "policies" / "default.yaml").read_text())
    deadline = time.monotonic() + RELOAD_BOUND
    after = await kubectl_tool()
    while (
        after.annotations is not None and not after.annotations.readOnlyHint and time.monotonic() < deadline
    ):
        await anyio.sleep(0.2)
        after = await kubectl_tool()
    assert after.annotations is not None and after.annotations.readOnlyHint is True
    assert "read-only" in (after.description or "") and "read-only" not in (before.description or "")


async def test_only_installed_tools_are_listed(keyed: Keyed) -> None:
    async with mcp_session(keyed.server.url, bearer(READ_KEY)) as session:
        tools = (await session.list_tools()).tools
    assert sorted(t.name for t in tools) == ["helm", "kubectl"]


async def test_no_key_on_mcp_is_401_with_a_jsonrpc_error_and_www_authenticate(keyed: Keyed) -> None:
    res = httpx.post(
        f"{keyed.server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream", "Authorization": "Bearer CANARY-wrong-key"},
        timeout=30,
    )
    assert res.status_code == 401
    assert res.headers["www-authenticate"].startswith("Bearer")
    body = res.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32001
    assert body["error"]["data"]["code"] == "unauthenticated"
    assert "CANARY" not in res.text


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b'{"jsonrpc": "2.0", "id": 7, "method": "no/such/method"}', 200, -32601),
        (b'{"jsonrpc": "2.0", "id": 7, "method": "resources/list"}', 200, -32601),
        (b'{"jsonrpc": "2.0", "id": 7, "method": ', 400, -32700),
        (b'[{"jsonrpc": "2.0", "id": 7, "method": "ping"}]', 400, -32600),
        (b'{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": 5}}', 200, -32602),
    ],
    ids=["unknown-method", "unserved-method", "parse-error", "batch", "invalid-params"],
)
def test_jsonrpc_errors_carry_the_specifications_codes(
    server: Server, payload: bytes, status: int, code: int
) -> None:
    res = httpx.post(
        f"{server.url}/mcp",
        content=payload,
        headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
        timeout=30,
    )
    assert res.status_code == status, res.text
    assert res.json()["error"]["code"] == code
    assert "mcp-session-id" not in res.headers


def test_get_and_delete_on_mcp_are_405_there_is_no_session(server: Server) -> None:
    for method in ("GET", "DELETE"):
        res = httpx.request(method, f"{server.url}/mcp", headers={"Accept": "text/event-stream"}, timeout=30)
        assert res.status_code == 405
        assert res.headers["allow"] == "POST"


async def test_a_client_that_goes_away_mid_call_gets_its_command_killed(
    server: Server, admin_headers: dict[str, str]
) -> None:
    marker = f"mcp-gone={uuid.uuid4().hex[:12]}"
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            async with mcp_session(server.url, admin_headers) as session:
                await session.call_tool("kubectl", {"command": f"get ns -w -l {marker}", "timeout": 120})

        tg.start_soon(call)
        pid = await wait_for_process(marker)
        tg.cancel_scope.cancel()  # closes the HTTP connection, as a killed client would
    assert await gone(pid)
    completions = [r for r in audit(server) if marker in r.get("command", "") and r["event"] == "completion"]
    for _ in range(50):  # written once the server has stopped the command
        if completions:
            break
        await anyio.sleep(0.1)
        completions = [
            r for r in audit(server) if marker in r.get("command", "") and r["event"] == "completion"
        ]
    assert [(r["error_code"], r["exit_code"]) for r in completions] == [("cancelled", None)]


async def test_notifications_cancelled_kills_the_command_of_that_request(
    server: Server, admin_headers: dict[str, str]
) -> None:
    marker = f"mcp-cancel={uuid.uuid4().hex[:12]}"
    async with mcp_session(server.url, admin_headers) as session:
        outcome: dict[str, Any] = {}

        async def call() -> None:
            try:
                outcome["result"] = await session.call_tool(
                    "kubectl", {"command": f"get ns -w -l {marker}", "timeout": 120}
                )
            except McpError as exc:
                outcome["error"] = exc.error

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            pid = await wait_for_process(marker)
            request_id = session._request_id - 1  # the SDK numbers requests; the call is the last one
            await session.send_notification(
                mt.ClientNotification(
                    mt.CancelledNotification(params=mt.CancelledNotificationParams(requestId=request_id))
                )
            )
            assert await gone(pid)
    assert outcome["error"].code == -32800


def _tools_call(command: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": "kubectl", "arguments": {"command": command}}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params}


def test_a_call_without_a_progress_token_is_one_json_answer(
    server: Server, admin_headers: dict[str, str]
) -> None:
    res = httpx.post(
        f"{server.url}/mcp",
        json=_tools_call("get ns default -o name"),
        headers={**admin_headers, "Accept": "application/json, text/event-stream"},
        timeout=60,
    )
    assert res.headers["content-type"].startswith("application/json")
    body = res.json()
    assert body["id"] == 3 and body["result"]["isError"] is False
    assert body["result"]["content"][0]["text"].startswith("namespace/default")
    assert body["result"]["structuredContent"]["exit_code"] == 0


def test_a_call_with_a_progress_token_is_an_sse_stream_of_progress_then_the_answer(
    server: Server, admin_headers: dict[str, str]
) -> None:
    with httpx.stream(
        "POST",
        f"{server.url}/mcp",
        json=_tools_call("get ns -w --request-timeout=6s", {"progressToken": "p-1"}),
        headers={**admin_headers, "Accept": "application/json, text/event-stream"},
        timeout=60,
    ) as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[5:]) for line in res.iter_lines() if line.startswith("data:")]
    progress = [e for e in events if e.get("method") == "notifications/progress"]
    assert progress and all(e["params"]["progressToken"] == "p-1" for e in progress)
    assert events[-1]["id"] == 3 and events[-1]["result"]["isError"] is False


def test_a_client_that_does_not_accept_json_is_406(server: Server) -> None:
    res = httpx.post(
        f"{server.url}/mcp", json=_tools_call("get ns"), headers={"Accept": "text/html"}, timeout=30
    )
    assert res.status_code == 406
    assert res.json()["error"]["code"] == -32600


async def test_denials_and_a_client_gone_mid_call_leave_no_traceback_in_the_server_log(
    server: Server, admin_headers: dict[str, str]
) -> None:
    before = server.log_path.read_text()
    denied = await call_tool(server.url, admin_headers, "kubectl", {"command": "delete ns kube-public"})
    invalid = await call_tool(server.url, admin_headers, "kubectl", {"command": 5})
    marker = f"mcp-quiet={uuid.uuid4().hex[:12]}"
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            async with mcp_session(server.url, admin_headers) as session:
                await session.call_tool(
                    "kubectl", {"command": f"get ns -w -l {marker}", "timeout": 60}, progress_callback=_ignore
                )

        tg.start_soon(call)
        pid = await wait_for_process(marker)
        tg.cancel_scope.cancel()
    assert denied.isError and invalid.isError and await gone(pid)
    added = server.log_path.read_text()[len(before) :]
    assert "Traceback" not in added, added[-3000:]


async def _ignore(value: float, total: float | None, message: str | None) -> None:
    pass
