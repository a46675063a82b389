"""Ordinary output from the real cluster comes back byte-identical through the proxy.

Each command runs directly with kubectl (admin) right after it ran through the server; columns that
move between the two runs (AGE) are the only allowed difference, and YAML/JSON must match exactly while
the objects' resourceVersions do not change.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.cluster import Cluster
from tests.support.server import Server

pytestmark = pytest.mark.cluster

_AGE = re.compile(r"\b\d+(?:\.\d+)?[smhd](?:\d+[smh])?\b")


@pytest.fixture(scope="module")
def workload(cluster: Cluster) -> Iterator[str]:
    ns = f"golden-{uuid.uuid4().hex[:8]}"
    cluster.kubectl_run("create", "namespace", ns)
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "registry.example.com/web:1.2.3",
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "PORT", "value": "8080"},
                            ],
                            "ports": [{"containerPort": 8080}],
                        }
                    ]
                },
            },
        },
    }
    _create(cluster, deploy)
    try:
        yield ns
    finally:
        cluster.kubectl_run("delete", "namespace", ns, "--wait=false", check=False)


def _create(cluster: Cluster, manifest: dict[str, Any]) -> None:
    subprocess.run(
        [str(cluster.kubectl), "--kubeconfig", str(cluster.admin), "create", "-f", "-"],
        input=json.dumps(manifest),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def _through_proxy(server: Server, headers: dict[str, str], command: str) -> dict[str, Any]:
    res = httpx.post(f"{server.url}/tools/kubectl", json={"command": command}, headers=headers, timeout=60)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    assert body["exit_code"] == 0, body["error"]
    return body


def _without_ages(text: str) -> str:
    return _AGE.sub("<age>", text)


@pytest.mark.parametrize(
    "args",
    [
        ("get", "pods", "-o", "wide"),
        ("get", "deploy", "-o", "wide"),
        ("get", "rs"),
    ],
)
def test_tables_come_back_as_kubectl_prints_them(
    server: Server, cluster: Cluster, admin_headers: dict[str, str], workload: str, args: tuple[str, ...]
) -> None:
    body = _through_proxy(server, admin_headers, " ".join((*args, "-n", workload)))
    direct = cluster.kubectl_run(*args, "-n", workload).stdout
    assert body["redactions"] == 0
    assert _without_ages(body["output"]) == _without_ages(direct)
    assert len(body["output"].splitlines()) >= 2


@pytest.mark.parametrize(
    "args",
    [
        ("get", "deploy", "web", "-o", "yaml"),
        ("get", "deploy", "-o", "json"),
        ("get", "pods", "-o", "yaml"),
    ],
)
def test_yaml_and_json_without_secrets_come_back_byte_identical(
    server: Server, cluster: Cluster, admin_headers: dict[str, str], workload: str, args: tuple[str, ...]
) -> None:
    for _ in range(5):  # the controllers may still be writing status: retry until both runs agree
        before = cluster.kubectl_run(*args, "-n", workload).stdout
        body = _through_proxy(server, admin_headers, " ".join((*args, "-n", workload)))
        after = cluster.kubectl_run(*args, "-n", workload).stdout
        if before == after:
            break
    assert before == after, "the objects kept changing"
    assert body["redactions"] == 0
    assert body["output"] == after


def test_namespaces_as_json_and_api_resources_come_back_byte_identical(
    server: Server, cluster: Cluster, admin_headers: dict[str, str], workload: str
) -> None:
    ns_json = _through_proxy(server, admin_headers, "get ns -o json")
    assert ns_json["output"] == cluster.kubectl_run("get", "ns", "-o", "json").stdout
    resources = _through_proxy(server, admin_headers, "api-resources")
    assert resources["output"] == cluster.kubectl_run("api-resources").stdout
    assert resources["redactions"] == 0 and "secrets" in resources["output"]
