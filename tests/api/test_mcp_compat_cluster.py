"""Compatibility suite: real MCP clients at pinned versions against a real server and cluster.

The `mcp` 1.x Python SDK is covered by test_mcp_client.py; here the `mcp` 2.x Python SDK (its own
venv) and the TypeScript SDK run the same plans (tests/clients/), and the MCP Inspector CLI lists
and calls. Each client is installed on first use by tests/support/clients.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.identity_support import bearer, write_keys
from tests.conftest import server_env
from tests.support.clients import inspector, node_clients, results, run_plan
from tests.support.cluster import REPO, Cluster
from tests.support.processes import gone, wait_for_process
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

CLIENTS = ["mcp2", "ts"]


@dataclass
class Restartable:
    server: Server
    env: dict[str, str]
    tmp: Path
    headers: dict[str, str]
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"{self.server.url}/mcp"

    def restart(self) -> None:
        port = int(self.server.url.rsplit(":", 1)[1])
        self.server.stop()
        self.restarts += 1
        self.server = start_server(self.tmp, self.env, name=f"compat-{self.restarts}", port=port)


@pytest.fixture(scope="module")
def compat(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Restartable]:
    """The shipped default policy; a server-side kubeconfig for clients that cannot send headers."""
    tmp = tmp_path_factory.mktemp("mcp-compat")
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    env |= {"K8S_MCP_DEFAULT_KUBECONFIG": str(cluster.admin), "K8S_MCP_MAX_COMMAND_TIMEOUT": "120"}
    holder = Restartable(
        start_server(tmp, env, name="compat"), env, tmp, {"X-Kubeconfig": cluster.admin_b64()}
    )
    try:
        yield holder
    finally:
        holder.server.stop()


def plan(compat: Restartable, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"url": compat.url, "headers": compat.headers, "steps": list(steps)}


def call(command: str, **extra: Any) -> dict[str, Any]:
    arguments = {"command": command, **extra.pop("arguments", {})}
    return {"op": "call", "tool": "kubectl", "arguments": arguments, **extra}


@pytest.mark.parametrize("client", CLIENTS)
def test_list_a_call_a_denial_a_failure_and_null_arguments(
    client: str, compat: Restartable, tmp_path: Path
) -> None:
    listed, ran, denied, failed, nulls = results(
        run_plan(
            client,
            plan(
                compat,
                {"op": "list"},
                call("get ns default -o name"),
                call("delete ns default"),
                call("get pod no-such-pod -n default"),
                call("get ns default -o name", arguments={"namespace": None, "timeout": None}),
            ),
            tmp_path,
        )
    )
    tools = {t["name"]: t for t in listed["tools"]}
    assert sorted(tools) == ["argocd", "helm", "istioctl", "kubectl"]
    assert tools["kubectl"]["annotations"]["readOnlyHint"] is True
    assert tools["kubectl"]["title"] and tools["kubectl"]["outputSchema"]["type"] == "object"
    assert ran["isError"] is False and ran["text"].startswith("namespace/default")
    assert ran["structured"]["exit_code"] == 0
    assert (
        denied["isError"] is True
        and "policy_denied" in denied["text"]
        and "builtin:read-only" in denied["text"]
    )
    assert failed["isError"] is True and failed["structured"]["exit_code"] == 1
    assert nulls["isError"] is False, nulls["text"]


@pytest.mark.parametrize("client", CLIENTS)
def test_progress_arrives_while_a_command_runs_and_its_timeout_is_an_error(
    client: str, compat: Restartable, tmp_path: Path
) -> None:
    (result,) = results(
        run_plan(client, plan(compat, call("get ns -w", arguments={"timeout": 7}, progress=True)), tmp_path)
    )
    assert result["op"] == "call" and result["isError"] is True
    assert result["structured"]["timed_out"] is True
    assert result["progress"] >= 1


@pytest.mark.parametrize("client", CLIENTS)
def test_a_server_restart_between_two_calls_and_the_second_call_works(
    client: str, compat: Restartable, tmp_path: Path
) -> None:
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = run_plan(
        client,
        plan(
            compat,
            call("get ns default -o name"),
            {"op": "touch", "path": str(ready)},
            {"op": "wait_file", "path": str(go)},
            call("get ns kube-system -o name"),
        ),
        tmp_path,
    )
    try:
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        compat.restart()
    finally:
        go.touch()
    first, second = results(proc)
    assert first["isError"] is False
    assert second["op"] == "call" and second["isError"] is False, second
    assert second["text"].startswith("namespace/kube-system")


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_client_that_cancels_a_call_gets_its_command_killed(
    client: str, compat: Restartable, tmp_path: Path
) -> None:
    marker = f"compat-cancel={uuid.uuid4().hex[:12]}"
    abort, checked = tmp_path / "abort", tmp_path / "checked"
    proc = run_plan(
        client,
        plan(
            compat,
            call(f"get ns -w -l {marker}", arguments={"timeout": 120}, abort_when=str(abort)),
            {"op": "wait_file", "path": str(checked)},  # the client stays connected until checked
        ),
        tmp_path,
    )
    try:
        pid = await wait_for_process(marker)
        abort.touch()
        assert await gone(pid)
    finally:
        checked.touch()
    assert results(proc) == [{"op": "aborted"}]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_wrong_api_key_shows_the_servers_reason_not_a_bare_http_error(
    client: str, cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("someone", "the-right-key", None)])
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml") | {
        "K8S_MCP_API_KEYS_FILE": str(keys)
    }
    srv = start_server(tmp_path, env, name="compat-keyed")
    try:
        wrong = {"url": f"{srv.url}/mcp", "headers": bearer("CANARY-wrong-key"), "steps": [{"op": "list"}]}
        (crash,) = results(run_plan(client, wrong, tmp_path), fails=True)
    finally:
        srv.stop()
    assert "the API key is not valid" in crash["message"]
    assert "CANARY" not in crash["message"]


def test_a_70_s_call_succeeds_on_the_typescript_clients_default_timeout_thanks_to_progress(
    compat: Restartable, tmp_path: Path
) -> None:
    """The SDK's default request timeout is 60 s; hosts reset it on progress (resetTimeoutOnProgress)."""
    command = call("get ns -w --request-timeout=70s", arguments={"timeout": 100}, progress=True)
    (result,) = results(run_plan("ts", plan(compat, command), tmp_path))
    assert result["op"] == "call", result
    assert result["isError"] is False and result["structured"]["exit_code"] == 0
    assert result["structured"]["duration_ms"] > 60_000
    assert result["progress"] >= 10


def test_the_inspector_cli_lists_the_tools_and_calls_one(compat: Restartable) -> None:
    modules = node_clients()
    listed = inspector(modules, compat.url, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert '"readOnlyHint": true' in listed.stdout and '"name": "kubectl"' in listed.stdout
    ran = inspector(
        modules,
        compat.url,
        "--method",
        "tools/call",
        "--tool-name",
        "kubectl",
        "--tool-arg",
        "command=get ns -o name",
    )
    assert ran.returncode == 0, ran.stderr
    assert "namespace/kube-system" in ran.stdout and '"isError": false' in ran.stdout
    failed = inspector(
        modules,
        compat.url,
        "--method",
        "tools/call",
        "--tool-name",
        "kubectl",
        "--tool-arg",
        "command=get pod nope",
    )
    assert '"isError": true' in failed.stdout and "NotFound" in failed.stdout
