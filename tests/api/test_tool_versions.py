"""A configured CLI whose version has no grammar is withheld at start-up (a real server process).

The parser understands the CLI versions its generated data describe; a kubectl of another minor
version may have other commands and flags, so the server does not run it: every kubectl request
answers 503 `tool_unavailable` saying which version to install, `/tools/status` shows it, and the
other tools (here an istioctl of the right version) keep working.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from k8s_mcp_server.parse.clispec import grammar_version
from tests.support.cluster import REPO
from tests.support.server import Server, start_server

_FAKE = """#!{python}
import sys
if sys.argv[1:2] == ["version"]:
    print({banner!r})
else:
    open({marker!r}, "a").write("ran\\n")
    print("ran")
"""

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: "abc"}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""


def _fake(folder: Path, tool: str, banner: str) -> Path:
    path = folder / tool
    path.write_text(_FAKE.format(python=sys.executable, banner=banner, marker=str(folder / f"{tool}.ran")))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("versions")
    env = {
        "K8S_MCP_POLICY": str(REPO / "policies" / "default.yaml"),
        "K8S_MCP_KUBECTL": str(_fake(tmp, "kubectl", "Client Version: v1.29.0")),
        "K8S_MCP_ISTIOCTL": str(_fake(tmp, "istioctl", grammar_version("istioctl"))),
    }
    srv = start_server(tmp, env, name="versions")
    try:
        yield srv, tmp
    finally:
        srv.stop()


def _post(srv: Server, tool: str, command: str) -> httpx.Response:
    headers = {"X-Kubeconfig": base64.b64encode(KUBECONFIG.encode()).decode()}
    return httpx.post(f"{srv.url}/tools/{tool}", json={"command": command}, headers=headers, timeout=30)


def test_a_kubectl_of_another_minor_version_is_withheld_and_never_run(server: tuple[Server, Path]) -> None:
    srv, folder = server
    response = _post(srv, "kubectl", "get ns")
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "tool_unavailable"
    assert "v1.29.0" in detail["message"] and grammar_version("kubectl") in detail["message"]
    assert "K8S_MCP_KUBECTL" in detail["message"]
    assert not (folder / "kubectl.ran").exists()


def test_a_cli_of_the_grammars_version_runs_beside_it(server: tuple[Server, Path]) -> None:
    srv, folder = server
    response = _post(srv, "istioctl", "proxy-status")
    assert response.status_code == 200, response.text
    assert (folder / "istioctl.ran").exists()


def test_tools_status_says_which_cli_has_a_grammar(server: tuple[Server, Path]) -> None:
    srv, _ = server
    status = httpx.get(f"{srv.url}/tools/status", timeout=30).json()
    tools = status.get("tools", status)
    assert tools["kubectl"]["grammar"] is False
    assert tools["istioctl"]["grammar"] is True
