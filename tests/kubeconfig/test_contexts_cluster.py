"""The kubeconfigs people have, against the real server and the real API server.

A ~/.kube/config with several contexts is accepted when the one in use is safe, and only that one
reaches kubectl; an exec user in use is refused with the command to run instead, and that command
(`kubeconfig export`, with a credential plugin that prints a real token) gives a kubeconfig that works.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.cluster import REPO, Cluster
from tests.support.server import Server

pytestmark = pytest.mark.cluster

SA, NS = "k8s-mcp-test-export", "default"


@pytest.fixture(scope="module")
def viewer_token(cluster: Cluster) -> str:
    """A real bearer token: a ServiceAccount bound to the built-in `view` role."""
    cluster.kubectl_run("create", "serviceaccount", SA, "-n", NS, check=False)
    cluster.kubectl_run(
        "create", "clusterrolebinding", SA, "--clusterrole=view", f"--serviceaccount={NS}:{SA}", check=False
    )
    token = cluster.kubectl_run("create", "token", SA, "-n", NS, check=False).stdout.strip()
    if not token:  # servers without the TokenRequest API: the token controller's Secret
        secret = cluster.kubectl_run(
            "get", "sa", SA, "-n", NS, "-o", "jsonpath={.secrets[0].name}"
        ).stdout.strip()
        data = cluster.kubectl_run("get", "secret", secret, "-n", NS, "-o", "jsonpath={.data.token}").stdout
        token = base64.b64decode(data).decode()
    assert token
    return token


def admin_cluster(cluster: Cluster) -> dict[str, Any]:
    doc = yaml.safe_load(cluster.admin.read_text())
    body = doc["clusters"][0]["cluster"]
    return {"server": body["server"], "certificate-authority-data": body["certificate-authority-data"]}


def plugin_script(folder: Path, token: str) -> Path:
    """A credential plugin as EKS/GKE/AKS ship them: prints an ExecCredential on stdout."""
    credential = folder / "credential.json"
    credential.write_text(
        json.dumps(
            {
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "status": {"token": token},
            }
        )
    )
    credential.chmod(0o600)
    plugin = folder / "test-credential-plugin"
    plugin.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(open(sys.argv[1]).read())\n")
    plugin.chmod(0o755)
    return plugin


def post(server: Server, command: str, kubeconfig: bytes) -> httpx.Response:
    return httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": command},
        headers={"X-Kubeconfig": base64.b64encode(kubeconfig).decode()},
        timeout=60,
    )


def test_three_contexts_with_an_unused_exec_and_file_user_are_accepted_and_only_the_used_one_runs(
    server: Server, cluster: Cluster, viewer_token: str, tmp_path: Path
) -> None:
    marker = tmp_path / "exec-ran"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "test",
        "clusters": [
            {"name": "test", "cluster": admin_cluster(cluster)},
            {
                "name": "eks",
                "cluster": {"server": "https://eks.example.com", "certificate-authority": "ca.pem"},
            },
        ],
        "users": [
            {"name": "viewer", "user": {"token": viewer_token}},
            {"name": "eks", "user": {"exec": {"command": "/usr/bin/touch", "args": [str(marker)]}}},
            {"name": "onprem", "user": {"client-certificate": "/root/c.pem", "client-key": "/root/k.pem"}},
        ],
        "contexts": [
            {"name": "test", "context": {"cluster": "test", "user": "viewer"}},
            {"name": "eks", "context": {"cluster": "eks", "user": "eks"}},
            {"name": "onprem", "context": {"cluster": "test", "user": "onprem"}},
        ],
    }
    text = yaml.safe_dump(doc).encode()
    res = post(server, "get ns", text)
    assert res.status_code == 200, res.text
    assert res.json()["success"], res.json()
    assert "default" in res.json()["output"]
    # the kubeconfig kubectl was given holds the context in use and nothing else
    contexts = post(server, "config get-contexts -o name", text)
    assert contexts.status_code == 200, contexts.text
    assert contexts.json()["output"].split() == ["test"]
    users = post(server, "config get-users", text)
    assert users.json()["output"].split() == ["NAME", "viewer"]
    assert not marker.exists()
    # the same file with the exec context in use is still refused, saying what to run instead
    res = post(server, "get ns", yaml.safe_dump({**doc, "current-context": "eks"}).encode())
    assert res.status_code == 400
    assert res.json()["detail"]["code"] == "unsafe_kubeconfig"
    assert "k8s-mcp-server kubeconfig export" in res.json()["detail"]["message"]
    assert not marker.exists()


def test_kubeconfig_export_turns_an_exec_user_into_a_kubeconfig_the_proxy_runs(
    server: Server, cluster: Cluster, viewer_token: str, tmp_path: Path
) -> None:
    plugin = plugin_script(tmp_path, viewer_token)
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "cloud",
        "clusters": [{"name": "cloud", "cluster": admin_cluster(cluster)}],
        "users": [
            {
                "name": "cloud-user",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": str(plugin),
                        "args": [str(tmp_path / "credential.json")],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "cloud", "context": {"cluster": "cloud", "user": "cloud-user"}}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    refused = post(server, "get ns", path.read_bytes())
    assert refused.status_code == 400
    assert "k8s-mcp-server kubeconfig export --base64" in refused.json()["detail"]["message"]
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "k8s-mcp-server"), "kubeconfig", "export", "--base64"],
        env={"KUBECONFIG": str(path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no note: a default server accepts it
    res = httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": "get ns"},
        headers={"X-Kubeconfig": proc.stdout.strip()},
        timeout=60,
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["success"], body
    assert "default" in body["output"]
    assert viewer_token not in res.text
