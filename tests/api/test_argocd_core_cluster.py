"""`argocd --core` against the real cluster's kubeconfigs: the argocd child reads the kubeconfig the
request sent (its own workspace copy, per request), and the operator's Argo CD server and token are
not given to it, even when they are configured."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import server_env
from tests.execute.argocd_standin import calls, sha256, write_argocd_standin
from tests.support.childenv import SERVER_CHILD_ENV
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

ADDRESS = "argocd.example.test:443"


@dataclass
class Proxy:
    server: Server
    log: Path
    token: str


@pytest.fixture(scope="module")
def proxy(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    tmp = tmp_path_factory.mktemp("argocd-core")
    standin, log = write_argocd_standin(tmp / "bin")
    token = f"argo-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_ARGOCD": str(standin),
        "K8S_MCP_ARGOCD_SERVER": ADDRESS,
        "K8S_MCP_ARGOCD_AUTH_TOKEN": token,
    }
    srv = start_server(tmp, env, name="argocd-core")
    try:
        yield Proxy(server=srv, log=log, token=token)
    finally:
        srv.stop()


def current(kubeconfig: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the current context's server URL, its user's credentials)."""
    ctx = next(c["context"] for c in kubeconfig["contexts"] if c["name"] == kubeconfig["current-context"])
    server = next(c["cluster"]["server"] for c in kubeconfig["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in kubeconfig["users"] if u["name"] == ctx["user"])
    return server, user


@pytest.mark.parametrize("who", ["admin", "norights"])
def test_core_mode_reads_the_kubeconfig_the_request_sent(proxy: Proxy, cluster: Cluster, who: str) -> None:
    sent = cluster.admin if who == "admin" else cluster.norights
    res = httpx.post(
        f"{proxy.server.url}/tools/argocd",
        json={"command": "app list --core"},
        headers={"X-Kubeconfig": base64.b64encode(sent.read_bytes()).decode()},
        timeout=60,
    )
    assert res.status_code == 200, res.text
    call = calls(proxy.log)[-1]
    assert call["argv"] == ["app", "list", "--core"]
    assert Path(call["kubeconfig"]).parent == Path(call["cwd"])  # the request's workspace, not ~/.kube
    seen = yaml.safe_load(call["kubeconfig_content"])
    assert current(seen) == current(yaml.safe_load(sent.read_text()))
    assert set(call["env"]) == SERVER_CHILD_ENV
    assert call["server"] is None and call["token_sha256"] is None
    assert call["token_sha256"] != sha256(proxy.token)
