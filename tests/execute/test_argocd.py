"""argocd's ways to Argo CD: `--core` with the request's kubeconfig, or the operator's API server.

The server's address and token reach the argocd child (and only it: not a filter, not another
tool) as ARGOCD_SERVER / ARGOCD_AUTH_TOKEN when the command uses neither the kubeconfig nor a
connection of its own; the token is redacted from whatever any CLI prints. Runs the argocd stand-in
(tests/execute/argocd_standin.py) through the real executor and the real pipeline; no cluster.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from k8s_mcp_server.api.app import argocd_server, build_state
from k8s_mcp_server.contracts import CommandRequest
from k8s_mcp_server.errors import KubeconfigError, ProxyError, ToolUnavailable
from k8s_mcp_server.execute import ArgocdServer, Executor, resolve_binaries
from k8s_mcp_server.execute.argocd import MAX_TOKEN_FILE_BYTES, ArgocdNotConfigured, access_for
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.pipeline import Completed, Pipeline, PolicyDenied
from k8s_mcp_server.settings import Settings
from tests.execute.argocd_standin import calls, sha256, write_argocd_standin
from tests.kubeconfig.factory import base_config, encode_yaml
from tests.support.childenv import ALLOWED_CHILD_ENV, SERVER_CHILD_ENV
from tests.support.cluster import REPO

ARGOCD_ENV = {"ARGOCD_SERVER", "ARGOCD_AUTH_TOKEN"}
ADDRESS = "argocd.example.test:443"


def new_token() -> str:
    return f"argo-{uuid.uuid4().hex}{uuid.uuid4().hex}"


def parsed(command: str) -> Any:
    return parse_command("argocd", command)


# --- settings ---------------------------------------------------------------------------------


def test_the_settings_never_show_the_token() -> None:
    token = new_token()
    settings = Settings(argocd_server=ADDRESS, argocd_auth_token=SecretStr(token))
    assert token not in repr(settings)
    assert token not in str(settings)
    assert token not in settings.model_dump_json()
    assert token not in repr(argocd_server(settings))
    assert settings.argocd_auth_token is not None
    assert settings.argocd_auth_token.get_secret_value() == token


def test_the_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("K8S_MCP_ARGOCD_SERVER", ADDRESS)
    monkeypatch.setenv("K8S_MCP_ARGOCD_AUTH_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("K8S_MCP_ARGOCD_GRPC_WEB", "true")
    settings = Settings()
    assert (settings.argocd_server, settings.argocd_auth_token_file) == (ADDRESS, tmp_path / "token")
    assert settings.argocd_grpc_web


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"argocd_server": "https://argocd.example.test"}, "without a scheme"),
        ({"argocd_server": "argocd.example.test --insecure"}, "host[:port]"),
        ({"argocd_server": "user:pw@argocd.example.test"}, "host[:port]"),
        ({"argocd_auth_token": "a-token-value"}, "needs? K8S_MCP_ARGOCD_SERVER"),
        ({"argocd_grpc_web": True}, "needs? K8S_MCP_ARGOCD_SERVER"),
        (
            {"argocd_server": ADDRESS, "argocd_auth_token": "a-token-value", "argocd_auth_token_file": "/t"},
            "not both",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says.replace("[", r"\[").replace("]", r"\]")) as caught:
        Settings(**fields)
    assert "a-token-value" not in str(caught.value)


def test_a_token_too_short_to_be_redacted_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        ArgocdServer(ADDRESS, token=SecretStr("short"))


# --- which way a command goes -------------------------------------------------------------------


SERVER = ArgocdServer(ADDRESS, token=SecretStr(new_token()))


@pytest.mark.parametrize(
    ("command", "reach"),
    [
        ("app list", "server"),
        ("app get web -o yaml", "server"),
        ("version", "server"),
        ("app list --core", "kube"),
        ("--core app list", "kube"),
        ("app list --core=true", "kube"),
        ("app list --core=false", "server"),
        ("app list --port-forward=0", "server"),
        ("app list --port-forward", "kube"),
        ("app list --port-forward-namespace argocd", "kube"),
        ("version --client", "local"),
        ("completion bash", "local"),
        ("app list --server evil.example.test", "caller"),
        ("app list --auth-token x123456789", "caller"),
        ("app list --plaintext", "caller"),
        ("app list --insecure", "caller"),
        ("app list --config /tmp/argocd.yaml", "caller"),
        ("app list --core --server evil.example.test", "caller"),
        ("login evil.example.test", "caller"),
    ],
)
def test_each_command_goes_one_way(command: str, reach: str) -> None:
    assert access_for(parsed(command), SERVER).reach == reach


def test_a_command_after_double_dash_is_not_a_flag() -> None:
    """`--core` after `--` is an argument to argocd too: the command still goes to the server."""
    assert access_for(parsed("app get -- --core"), SERVER).reach == "server"


def test_without_a_server_a_command_that_needs_argo_cd_is_told_what_to_configure() -> None:
    with pytest.raises(ArgocdNotConfigured) as caught:
        access_for(parsed("app list"), None)
    assert caught.value.code == "argocd_not_configured"
    assert caught.value.status == 400
    assert "--core" in caught.value.message
    assert "K8S_MCP_ARGOCD_SERVER" in caught.value.message
    # the kube and local ways need no server
    assert access_for(parsed("app list --core"), None).reach == "kube"
    assert access_for(parsed("version --client"), None).reach == "local"


def test_other_tools_go_their_own_way_but_still_know_the_token() -> None:
    token = new_token()
    server = ArgocdServer(ADDRESS, token=SecretStr(token))
    access = access_for(parse_command("kubectl", "get pods"), server)
    assert access.reach == "none"
    assert access.child_environment() == {}
    assert access.known_secrets() == (token,)
    assert access_for(parse_command("kubectl", "get pods"), None).known_secrets() == ()


# --- the executor: what the child is given ------------------------------------------------------


def executor(argocd: Path, server: ArgocdServer | None, **kwargs: Any) -> Executor:
    binaries = {"argocd": argocd, **resolve_binaries({}, ["env", "grep"])}
    return Executor(
        binaries,
        max_output_bytes=1 << 20,
        max_concurrency=2,
        max_queue=2,
        tools={"argocd"},
        argocd=server,
        **kwargs,
    )


async def run(ex: Executor, command: str, kubeconfig: bytes | None = None, **kwargs: Any) -> Any:
    cmd = parsed(command)
    return await ex.run(cmd.pipeline, kubeconfig=kubeconfig, timeout=20, access=ex.access(cmd), **kwargs)


async def test_the_child_gets_the_server_and_token_only_when_they_are_configured(tmp_path: Path) -> None:
    standin, log = write_argocd_standin(tmp_path)
    token = new_token()
    await run(executor(standin, ArgocdServer(ADDRESS, token=SecretStr(token))), "app list")
    await run(executor(standin, None), "app list --core", kubeconfig=b"apiVersion: v1\n")
    configured, unconfigured = calls(log)
    assert set(configured["env"]) == ALLOWED_CHILD_ENV | ARGOCD_ENV
    assert configured["server"] == ADDRESS
    assert configured["token_sha256"] == sha256(token)
    assert configured["opts"] is None
    assert set(unconfigured["env"]) == ALLOWED_CHILD_ENV
    assert unconfigured["server"] is None and unconfigured["token_sha256"] is None


async def test_the_connection_choices_travel_in_argocd_opts(tmp_path: Path) -> None:
    standin, log = write_argocd_standin(tmp_path)
    server = ArgocdServer(ADDRESS, grpc_web=True, plaintext=True)
    await run(executor(standin, server), "app list")
    (call,) = calls(log)
    assert set(call["env"]) == ALLOWED_CHILD_ENV | {"ARGOCD_SERVER", "ARGOCD_OPTS"}  # no token: none set
    assert call["opts"] == "--grpc-web --plaintext"


@pytest.mark.parametrize(
    "command",
    [
        "app list --core",
        "app list --port-forward",
        "version --client",
        "app list --server evil.example.test",
        "app list --core --server evil.example.test",
        "login evil.example.test",
    ],
)
async def test_no_server_secret_goes_where_the_command_chose(tmp_path: Path, command: str) -> None:
    """--core/--port-forward talk to the caller's cluster, --server to the caller's address: the
    operator's token goes to neither."""
    standin, log = write_argocd_standin(tmp_path)
    await run(executor(standin, SERVER), command, kubeconfig=b"apiVersion: v1\n")
    (call,) = calls(log)
    assert set(call["env"]) == ALLOWED_CHILD_ENV
    assert call["token_sha256"] is None and call["server"] is None and call["opts"] is None


async def test_core_mode_reads_the_requests_kubeconfig_in_its_workspace(tmp_path: Path) -> None:
    standin, log = write_argocd_standin(tmp_path)
    kubeconfig = f"apiVersion: v1\nkind: Config\n# request {uuid.uuid4().hex}\n".encode()
    await run(executor(standin, SERVER, work_dir=tmp_path), "app list --core", kubeconfig=kubeconfig)
    (call,) = calls(log)
    assert call["kubeconfig_content"] == kubeconfig.decode()
    assert Path(call["kubeconfig"]) == Path(call["cwd"]) / "kubeconfig"  # the request's own workspace
    assert Path(call["cwd"]).parent == tmp_path
    assert not Path(call["cwd"]).exists()  # removed after the run


async def test_a_filter_after_the_pipe_never_gets_the_token(tmp_path: Path) -> None:
    standin, _ = write_argocd_standin(tmp_path)
    ex = Executor(
        {"argocd": standin, **resolve_binaries({}, ["env"])},
        max_output_bytes=1 << 20,
        max_concurrency=2,
        max_queue=2,
        tools={"argocd"},
        filters={"env"},  # `env` as a stage prints the environment that stage was given
        argocd=SERVER,
    )
    cmd = parsed("app list")
    raw = await ex.run([*cmd.pipeline, ("env",)], kubeconfig=None, timeout=20, access=ex.access(cmd))
    names = {line.split("=", 1)[0] for line in raw.stdout.decode().splitlines()}
    assert names == ALLOWED_CHILD_ENV


# --- the token file -----------------------------------------------------------------------------


def test_the_token_file_is_read_at_request_time(tmp_path: Path) -> None:
    path = tmp_path / "token"
    first, second = new_token(), new_token()
    path.write_text(first + "\n")
    server = ArgocdServer(ADDRESS, token_file=path)
    assert server.environment()["ARGOCD_AUTH_TOKEN"] == first
    path.write_text(second)  # rotated, no restart
    assert server.environment()["ARGOCD_AUTH_TOKEN"] == second
    assert set(server.known_secrets()) == {first, second}  # output of a run with the old one still redacted
    assert first not in repr(server) and second not in repr(server)


def test_a_token_file_kubernetes_mounts_through_symlinks_is_read(tmp_path: Path) -> None:
    token = new_token()
    (tmp_path / "..data").mkdir()
    (tmp_path / "..data" / "token").write_text(token)
    (tmp_path / "token").symlink_to(tmp_path / "..data" / "token")
    assert ArgocdServer(ADDRESS, token_file=tmp_path / "token").token() == token


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"x" * (MAX_TOKEN_FILE_BYTES + 1), "larger than"),
        (b"", "at least 8"),
        (b"two tokens-here", "at least 8"),
        (b"\xff\xfe-not-text-at-all", "at least 8"),
    ],
)
def test_a_token_file_that_is_not_one_token_is_refused_without_showing_it(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)
    settings = Settings(argocd_server=ADDRESS, argocd_auth_token_file=path)
    with pytest.raises(RuntimeError, match=why) as caught:
        argocd_server(settings)  # at start: the server does not come up
    assert "K8S_MCP_ARGOCD_AUTH_TOKEN_FILE" in str(caught.value)
    assert "tokens-here" not in str(caught.value) and "xxxxxxxx" not in str(caught.value)


def test_a_token_file_that_is_missing_or_no_file_fails_the_start(tmp_path: Path) -> None:
    with pytest.raises(ToolUnavailable, match="K8S_MCP_ARGOCD_AUTH_TOKEN_FILE"):
        ArgocdServer(ADDRESS, token_file=tmp_path / "missing")
    with pytest.raises(ToolUnavailable, match="not a regular file"):
        ArgocdServer(ADDRESS, token_file=tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ToolUnavailable, match="not a regular file"):  # and does not block on it
        ArgocdServer(ADDRESS, token_file=fifo)


async def test_a_token_file_gone_at_request_time_runs_nothing(tmp_path: Path) -> None:
    standin, log = write_argocd_standin(tmp_path / "bin")
    path = tmp_path / "token"
    path.write_text(new_token())
    ex = executor(standin, ArgocdServer(ADDRESS, token_file=path))
    path.unlink()
    with pytest.raises(ToolUnavailable, match="K8S_MCP_ARGOCD_AUTH_TOKEN_FILE"):
        await run(ex, "app list")
    assert calls(log) == []


# --- the pipeline: redaction, audit, refusals ---------------------------------------------------


def pipeline(tmp_path: Path, policy: str = "default.yaml", **fields: Any) -> Pipeline:
    standin, _ = write_argocd_standin(tmp_path / "bin")
    settings = Settings(
        policy=REPO / "policies" / policy if "/" not in policy else Path(policy),
        audit_log=tmp_path / "audit.jsonl",
        argocd=standin,
        work_dir=tmp_path,
        **fields,
    )
    return build_state(settings).pipeline


async def send(
    pipe: Pipeline, command: str, kubeconfig: str | None = None, tool: str = "argocd"
) -> Completed:
    request = CommandRequest(request_id=uuid.uuid4().hex, tool=tool, command=command)
    return await pipe.run(request, kubeconfig)


def standin_calls(tmp_path: Path) -> list[dict[str, Any]]:
    return calls(tmp_path / "bin" / "argocd-calls.jsonl")


async def test_the_token_a_cli_prints_comes_back_redacted_and_stays_out_of_the_audit(tmp_path: Path) -> None:
    token = new_token()
    token_file = tmp_path / "token"
    token_file.write_text(token)
    pipe = pipeline(tmp_path, argocd_server=ADDRESS, argocd_auth_token_file=token_file)
    done = await send(pipe, "app get print-token")
    (call,) = standin_calls(tmp_path)
    assert call["token_sha256"] == sha256(token)  # the control: it really had the token to print
    encoded = base64.b64encode(token.encode()).decode()
    for text in (done.output.stdout, done.output.stderr):
        assert token not in text and encoded not in text
        assert "[REDACTED:known-secret:" in text
    assert done.output.redactions["known-secret"] >= 3
    assert token not in (tmp_path / "audit.jsonl").read_text()
    pipe.executor.close()


async def test_any_tool_that_prints_the_token_has_it_redacted(tmp_path: Path) -> None:
    token = new_token()
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\necho 'the argocd token: {token}'\n")
    kubectl.chmod(0o755)
    pipe = pipeline(tmp_path, argocd_server=ADDRESS, argocd_auth_token=token, kubectl=kubectl)
    done = await send(pipe, "get pods", kubeconfig=encode_yaml(base_config()), tool="kubectl")
    assert token not in done.output.stdout
    assert done.output.redactions.get("known-secret") == 1


async def test_the_server_way_needs_no_kubeconfig_and_the_core_way_does(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path, argocd_server=ADDRESS, argocd_auth_token=new_token())
    done = await send(pipe, "app list")
    assert done.output.stdout.startswith("standin argocd: app list")
    with pytest.raises(KubeconfigError) as caught:
        await send(pipe, "app list --core")
    assert caught.value.code == "kubeconfig_required"


async def test_core_mode_through_the_pipeline_gets_the_requests_kubeconfig(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path)  # no Argo CD server configured: --core needs none
    done = await send(pipe, "app list --core", kubeconfig=encode_yaml(base_config()))
    assert done.output.exit_code == 0
    (call,) = standin_calls(tmp_path)
    assert set(call["env"]) == SERVER_CHILD_ENV  # the app's executor: with the child limits
    assert "https://k8s.example.com:6443" in call["kubeconfig_content"]  # the cluster the request sent
    assert Path(call["kubeconfig"]).parent == Path(call["cwd"])


async def test_unconfigured_is_refused_before_anything_runs_and_audited(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path)
    with pytest.raises(ProxyError) as caught:
        await send(pipe, "app list", kubeconfig=encode_yaml(base_config()))
    assert caught.value.code == "argocd_not_configured"
    assert standin_calls(tmp_path) == []
    (record,) = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert (record["decision"], record["error_code"]) == ("rejected", "argocd_not_configured")


async def test_the_callers_own_server_flag_stays_guarded(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path, argocd_server=ADDRESS, argocd_auth_token=new_token())
    for command in ("app list --server evil.example.test", "app list --auth-token abcdefgh123"):
        with pytest.raises(PolicyDenied) as caught:
            await send(pipe, command)
        assert caught.value.rule == "builtin:guarded-flag"
    assert standin_calls(tmp_path) == []


async def test_a_policy_that_allows_server_gets_the_callers_server_and_never_the_token(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "server-allowed.yaml"
    policy.write_text(
        "version: 1\ndefault: allow\nread_only: true\nflags:\n  allow: [server]\n"
        "rules:\n  - id: reads\n    effect: allow\n    verbs: ['*']\n"
    )
    pipe = pipeline(tmp_path, str(policy), argocd_server=ADDRESS, argocd_auth_token=new_token())
    await send(pipe, "app list --server evil.example.test", kubeconfig=encode_yaml(base_config()))
    (call,) = standin_calls(tmp_path)
    assert call["argv"][-2:] == ["--server", "evil.example.test"]
    assert call["token_sha256"] is None and call["server"] is None
