"""Provenance against the real API server: a Secret's value copied where no rule can know it is a
secret (a ConfigMap key, an env value under an innocuous name) is scrubbed for a caller whose
credentials can read that Secret, and left alone for a caller who cannot (no oracle)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import server_env
from tests.redact.test_redaction_cluster import _kubectl_apply
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster


def _reader_kubeconfig(cluster: Cluster, ns: str, tmp: Path) -> str:
    """A ServiceAccount that may read ConfigMaps and Deployments in `ns`, not Secrets (base64)."""
    name = "cm-reader"
    cluster.kubectl_run("create", "serviceaccount", name, "-n", ns)
    cluster.kubectl_run(
        "create", "role", name, "-n", ns, "--verb=get,list", "--resource=configmaps,deployments.apps"
    )
    cluster.kubectl_run(
        "create", "rolebinding", name, "-n", ns, f"--role={name}", f"--serviceaccount={ns}:{name}"
    )
    token = cluster.kubectl_run("create", "token", name, "-n", ns, check=False).stdout.strip()
    if not token:
        for _ in range(100):
            secret = cluster.kubectl_run(
                "get", "sa", name, "-n", ns, "-o", "jsonpath={.secrets[0].name}"
            ).stdout.strip()
            if secret:
                break
        data = cluster.kubectl_run("get", "secret", secret, "-n", ns, "-o", "jsonpath={.data.token}").stdout
        token = base64.b64decode(data).decode()
    doc = json.loads(cluster.kubectl_run("config", "view", "--raw", "--minify", "-o", "json").stdout)
    doc["users"] = [{"name": name, "user": {"token": token}}]
    doc["contexts"][0]["context"]["user"] = name
    return base64.b64encode(json.dumps(doc).encode()).decode()


@pytest.fixture(scope="module")
def copied(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ns = f"prov-{uuid.uuid4().hex[:8]}"
    value = f"prv{uuid.uuid4().hex}Q7"
    cluster.kubectl_run("create", "namespace", ns)
    try:
        cluster.kubectl_run("create", "secret", "generic", "db", "-n", ns, f"--from-literal=password={value}")
        cluster.kubectl_run(
            "create",
            "configmap",
            "app",
            "-n",
            ns,
            f"--from-literal=note={value}",
            "--from-literal=greeting=hello",
        )
        _kubectl_apply(
            cluster,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "api", "namespace": ns},
                "spec": {
                    "selector": {"matchLabels": {"app": "api"}},
                    "template": {
                        "metadata": {"labels": {"app": "api"}},
                        "spec": {
                            "containers": [
                                {"name": "api", "image": "x:1", "env": [{"name": "FOO", "value": value}]}
                            ]
                        },
                    },
                },
            },
        )
        reader = _reader_kubeconfig(cluster, ns, tmp_path_factory.mktemp("provenance"))
        yield {"ns": ns, "value": value, "reader": reader}
    finally:
        cluster.kubectl_run("delete", "namespace", ns, "--wait=false", check=False)


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [value, base64.b64encode(raw).decode().rstrip("="), raw.hex(), raw.hex().upper()]


def _run(server: Server, kubeconfig_b64: str, command: str) -> dict[str, Any]:
    res = httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": command},
        headers={"X-Kubeconfig": kubeconfig_b64},
        timeout=60,
    )
    assert res.status_code == 200, res.text[:300]
    body: dict[str, Any] = res.json()
    assert body["exit_code"] == 0, body
    return body


COMMANDS = [
    "get cm app -n {ns} -o yaml",
    "get cm app -n {ns} -o json | jq -r .data.note",
    "get cm app -n {ns} -o json | jq -r '.data.note|@base64'",
    "get cm app -n {ns} -o json | jq -r '.data.note|@uri'",
    "describe cm app -n {ns}",
    "get deploy api -n {ns} -o yaml",
    "get deploy api -n {ns} -o json | jq -r '.spec.template.spec.containers[0].env[0].value'",
    "describe deploy api -n {ns}",
]


def test_a_copied_secret_value_is_scrubbed_for_a_caller_who_can_read_the_secret(
    server: Server, copied: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    for command in COMMANDS:
        body = _run(server, admin_headers["X-Kubeconfig"], command.format(ns=copied["ns"]))
        text = json.dumps(body)
        assert not any(form in text for form in _forms(copied["value"])), command
        assert body["redactions"] >= 1, command


def test_without_provenance_the_copied_value_is_not_recognised(
    cluster: Cluster, standin_dir: Path, copied: dict[str, Any], admin_headers: dict[str, str], tmp_path: Path
) -> None:
    # what the scrub above is owed to: no rule knows `note: <value>` is a secret
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_PROVENANCE": "false",
    }
    srv = start_server(tmp_path, env, name="no-provenance")
    try:
        body = _run(srv, admin_headers["X-Kubeconfig"], f"get cm app -n {copied['ns']} -o yaml")
    finally:
        srv.stop()
    assert copied["value"] in body["output"]


def test_for_a_caller_who_cannot_read_secrets_nothing_is_scrubbed_so_nothing_is_revealed(
    server: Server, copied: dict[str, Any]
) -> None:
    denied = httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": f"get secrets -n {copied['ns']} -o yaml"},
        headers={"X-Kubeconfig": copied["reader"]},
        timeout=60,
    ).json()
    assert "forbidden" in json.dumps(denied).lower()  # RBAC: this caller cannot read the Secret
    body = _run(server, copied["reader"], f"get cm app -n {copied['ns']} -o yaml")
    assert copied["value"] in body["output"]  # whether a value is a Secret's is not told to this caller
