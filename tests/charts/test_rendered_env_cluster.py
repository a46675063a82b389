"""The chart's rendered pod, run as a real server process: its environment as the kubelet would give
it, its volumes as folders holding what the ConfigMap and Secret render (no container engine runs
here, so the process stands in for the container). The server accepts every setting the chart sets,
starts on 0.0.0.0 with the keys file and Host list the chart builds, answers the probes with the
probes' Host header, refuses a call without a key, runs one with a key against the real cluster, and
with a database URL shares its buckets through PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.charts.render import render
from tests.support.cluster import Cluster
from tests.support.server import Server, free_port, start_server

pytestmark = pytest.mark.cluster

KEY = "kms_chart-env-key-0123456789abcdef"


def pod_as_process(
    tmp: Path, docs: list[dict[str, Any]], secrets: dict[str, str]
) -> tuple[dict[str, str], Path]:
    """The container's env with each mount path replaced by a folder under `tmp` holding the volume."""
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    volumes = {v["name"]: v for v in spec["volumes"]}
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    mounts: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        folder = tmp / "pod" / mount["mountPath"].strip("/")
        folder.mkdir(parents=True, exist_ok=True)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            for name, text in objects[("ConfigMap", volume["configMap"]["name"])]["data"].items():
                (folder / name).write_text(text)
        elif "secret" in volume:
            for name, text in objects[("Secret", volume["secret"]["secretName"])]["stringData"].items():
                (folder / name).write_text(text)
        mounts[mount["mountPath"]] = folder
    env: dict[str, str] = {}
    values = {"POD_IP": "127.0.0.1", "POD_NAME": "t-k8s-mcp-server-0"}
    for entry in container["env"]:
        if "value" in entry:
            value = re.sub(r"\$\((\w+)\)", lambda m: values[m[1]], entry["value"])
        else:
            ref = entry["valueFrom"]
            if "fieldRef" in ref:
                continue
            value = secrets[ref["secretKeyRef"]["name"]]
        for mount_path, folder in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            if value.startswith(mount_path):
                value = str(folder) + value[len(mount_path) :]
                break
        env[entry["name"]] = value
    return env, mounts["/var/lib/k8s-mcp/audit"]


def start_rendered(
    tmp: Path, cluster: Cluster, standins: Path, values: dict[str, Any], secrets: dict[str, str], name: str
) -> tuple[Server, int]:
    port = free_port()
    docs = render(tmp, {**values, "service": {"port": port}})
    env, _audit = pod_as_process(tmp / name, docs, secrets)
    # the image has the CLIs on PATH; here they are the pinned ones and the stand-ins
    env |= {
        "K8S_MCP_KUBECTL": str(cluster.kubectl),
        "K8S_MCP_HELM": str(cluster.helm),
        "K8S_MCP_ISTIOCTL": str(standins / "istioctl"),
        "K8S_MCP_ARGOCD": str(standins / "argocd"),
    }
    assert env["K8S_MCP_HOST"] == "0.0.0.0" and env["K8S_MCP_PORT"] == str(port)  # noqa: S104 - the chart binds every address
    server = start_server(tmp / name, env, name=name, port=port)
    return server, port


def keyed(principal: str = "ci-bot") -> dict[str, Any]:
    return {
        "apiKeys": {"keys": [{"principal": principal, "sha256": hashlib.sha256(KEY.encode()).hexdigest()}]}
    }


def test_the_default_pod_starts_answers_its_probes_and_refuses_calls_without_a_key(
    tmp_path: Path, cluster: Cluster, standin_dir: Path
) -> None:
    server, port = start_rendered(tmp_path, cluster, standin_dir, {}, {}, "default")
    try:
        probe = {"Host": f"localhost:{port}"}
        assert httpx.get(f"{server.url}/livez", headers=probe, timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/health", headers=probe, timeout=10).status_code == 200
        call = httpx.post(f"{server.url}/tools/kubectl", json={"command": "get ns"}, timeout=30)
        assert call.status_code == 401  # the chart's default keys file is empty: nobody gets in
        other_host = httpx.get(f"{server.url}/livez", headers={"Host": "evil.example"}, timeout=10)
        assert other_host.status_code == 403
    finally:
        server.stop()


def test_a_keyed_pod_with_a_database_runs_commands_against_the_cluster_and_limits_through_postgresql(
    tmp_path: Path, cluster: Cluster, standin_dir: Path, pg_url: str
) -> None:
    values = {
        **keyed(),
        "database": {"existingSecret": "mcp-db", "key": "url"},
        "settings": {"rateLimitPerMinute": 1},
    }
    server, port = start_rendered(tmp_path, cluster, standin_dir, values, {"mcp-db": pg_url}, "keyed")
    try:
        host = f"t-k8s-mcp-server.mcp.svc:{port}"  # as a client in the cluster names the Service
        headers = {"Authorization": f"Bearer {KEY}", "X-Kubeconfig": cluster.admin_b64(), "Host": host}
        first = httpx.post(
            f"{server.url}/tools/kubectl", json={"command": "get ns"}, headers=headers, timeout=60
        )
        assert first.status_code == 200 and "default" in first.json()["output"]
        second = httpx.post(
            f"{server.url}/tools/kubectl", json={"command": "get ns"}, headers=headers, timeout=60
        )
        assert second.status_code == 429
        import psycopg

        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT key FROM rate_buckets").fetchall()
        assert row == [("key:ci-bot",)]  # the bucket lives in the shared database
    finally:
        server.stop()
