"""REST end to end: a real server process, the real API server, real kubectl and helm."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cluster import Cluster
from tests.support.server import Server
from tests.support.standins import recorded_calls

pytestmark = pytest.mark.cluster


def post(
    server: Server, tool: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(f"{server.url}/tools/{tool}", json=body, headers=headers or {}, timeout=60)


def audit_records(server: Server, request_id: str) -> list[dict[str, Any]]:
    lines = server.audit_log.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("request_id") == request_id]


@pytest.fixture(scope="module")
def canary_secret(cluster: Cluster) -> tuple[str, str]:
    name, value = f"canary-{uuid.uuid4().hex[:8]}", f"s3cr3t-{uuid.uuid4().hex}"
    cluster.kubectl_run(
        "create", "secret", "generic", name, "-n", "default", f"--from-literal=password={value}"
    )
    return name, value


def test_health_reports_the_loaded_policy(server: Server) -> None:
    body = httpx.get(f"{server.url}/health", timeout=10).json()
    assert body["status"] == "ok"
    assert body["revision"].startswith("sha256:")
    assert body["last_error"] is None


def test_get_namespaces_lists_the_clusters_namespaces(server: Server, admin_headers: dict[str, str]) -> None:
    res = post(server, "kubectl", {"command": "get ns"}, admin_headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["success"] is True and body["exit_code"] == 0
    assert {"default", "kube-system", "kube-public"} <= {
        line.split()[0] for line in body["output"].splitlines()[1:]
    }
    assert body["request_id"] and body["duration_ms"] > 0


def test_the_tool_name_in_front_is_optional(server: Server, admin_headers: dict[str, str]) -> None:
    res = post(server, "kubectl", {"command": "kubectl get ns default -o name"}, admin_headers)
    assert res.status_code == 200
    assert res.json()["output"].strip() == "namespace/default"


def test_another_tools_name_in_front_is_refused(server: Server, admin_headers: dict[str, str]) -> None:
    res = post(server, "kubectl", {"command": "helm list"}, admin_headers)
    assert res.status_code == 400
    assert res.json()["detail"]["code"] == "invalid_command"


def test_deleting_a_namespace_is_denied_by_the_default_policy_and_nothing_changes(
    server: Server, cluster: Cluster, admin_headers: dict[str, str]
) -> None:
    res = post(server, "kubectl", {"command": "delete ns default"}, admin_headers)
    assert res.status_code == 403
    detail = res.json()["detail"]
    assert detail["code"] == "policy_denied"
    assert detail["rule"] == "builtin:read-only"
    assert detail["message"]
    records = audit_records(server, detail["request_id"])
    assert [r["event"] for r in records] == ["decision"]
    assert records[0]["decision"] == "deny" and records[0]["rule"] == "builtin:read-only"
    assert cluster.kubectl_run("get", "ns", "default", "-o", "name").stdout.strip() == "namespace/default"


def test_a_flag_before_the_verb_does_not_hide_a_delete(server: Server, admin_headers: dict[str, str]) -> None:
    res = post(server, "kubectl", {"command": "  -n kube-public delete configmap x"}, admin_headers)
    assert res.status_code == 403
    assert res.json()["detail"]["code"] == "policy_denied"


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_secret_comes_back_with_its_values_redacted(
    server: Server, admin_headers: dict[str, str], canary_secret: tuple[str, str], fmt: str
) -> None:
    name, value = canary_secret
    res = post(server, "kubectl", {"command": f"get secret {name} -n default -o {fmt}"}, admin_headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["success"]
    assert name in body["output"]  # the object is there ...
    assert "password" in body["output"]  # ... with its keys ...
    assert value not in body["output"]  # ... but not its value, raw or base64
    assert base64.b64encode(value.encode()).decode() not in body["output"]
    assert "[REDACTED:" in body["output"]
    assert body["redactions"] >= 1


@pytest.mark.parametrize(
    "command",
    ["get pods; rm -rf /", "get pods $(id)", "get pods `id`", "get pods && id", "get pods > /tmp/x"],
)
def test_shell_syntax_is_refused_before_anything_runs(
    server: Server, admin_headers: dict[str, str], command: str
) -> None:
    res = post(server, "kubectl", {"command": command}, admin_headers)
    assert res.status_code == 400
    detail = res.json()["detail"]
    assert detail["code"] == "invalid_command"
    assert detail["message"]
    records = audit_records(server, detail["request_id"])
    assert [(r["event"], r["decision"]) for r in records] == [("decision", "rejected")]


def test_a_command_substitution_never_executes(
    server: Server, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    res = post(server, "kubectl", {"command": f"get pods $(touch {marker})"}, admin_headers)
    assert res.status_code == 400
    assert not marker.exists()


def test_the_header_kubeconfig_wins_over_the_body(
    server: Server, cluster: Cluster, admin_headers: dict[str, str]
) -> None:
    body = {"command": "get ns default -o name", "kubeconfig": cluster.norights_b64()}
    res = post(server, "kubectl", body, admin_headers)
    assert res.json()["output"].strip() == "namespace/default"
    res = post(server, "kubectl", body)  # body only: the identity with no rights
    assert res.json()["success"] is False
    assert "forbidden" in (res.json()["error"] or "").lower()


def test_the_clusters_rbac_still_applies_to_allowed_commands(server: Server, cluster: Cluster) -> None:
    res = post(
        server, "kubectl", {"command": "get pods -n default"}, {"X-Kubeconfig": cluster.norights_b64()}
    )
    assert res.status_code == 200
    body = res.json()
    assert body["success"] is False and body["exit_code"] != 0
    assert "cannot list resource" in body["error"]


def test_no_kubeconfig_is_a_clear_error(server: Server) -> None:
    res = post(server, "kubectl", {"command": "get ns"})
    assert res.status_code == 400
    assert res.json()["detail"]["code"] == "kubeconfig_required"


def test_the_namespace_field_is_the_namespace_the_policy_sees(
    server: Server, admin_headers: dict[str, str]
) -> None:
    res = post(
        server, "kubectl", {"command": "get sa default -o name", "namespace": "kube-public"}, admin_headers
    )
    assert res.status_code == 200
    assert res.json()["output"].strip() == "serviceaccount/default"
    records = audit_records(server, res.json()["request_id"])
    assert records[0]["namespaces"] == ["kube-public"]
    conflict = post(
        server, "kubectl", {"command": "get sa -n default", "namespace": "kube-public"}, admin_headers
    )
    assert conflict.status_code == 400
    assert conflict.json()["detail"]["code"] == "invalid_command"


def test_helm_runs_against_the_real_cluster(server: Server, admin_headers: dict[str, str]) -> None:
    res = post(server, "helm", {"command": "list -n default"}, admin_headers)
    assert res.status_code == 200, res.text
    assert res.json()["success"], res.json()
    assert res.json()["output"].startswith("NAME")


@pytest.mark.parametrize("tool,command", [("istioctl", "proxy-status"), ("argocd", "app list --core")])
def test_istioctl_and_argocd_take_the_same_path(
    server: Server, admin_headers: dict[str, str], standin_dir: Path, tool: str, command: str
) -> None:
    res = post(server, tool, {"command": command}, admin_headers)
    assert res.status_code == 200, res.text
    assert res.json()["output"].startswith(f"standin {tool}:")
    call = recorded_calls(standin_dir / "standin-calls.jsonl")[-1]
    assert call["tool"] == tool
    assert call["argv"][: len(command.split())] == command.split()
    assert "K8S_MCP_POLICY" not in call["env"]  # the server's settings never reach a CLI
    records = audit_records(server, res.json()["request_id"])
    assert [r["event"] for r in records] == ["decision", "completion"]


def test_audit_records_every_allowed_request_twice_without_kubeconfig_content(
    server: Server, cluster: Cluster, admin_headers: dict[str, str]
) -> None:
    res = post(server, "kubectl", {"command": "get ns kube-system -o name"}, admin_headers)
    records = audit_records(server, res.json()["request_id"])
    assert [r["event"] for r in records] == ["decision", "completion"]
    decision, completion = records
    for field in (
        "schema_version",
        "ts",
        "request_id",
        "event",
        "principal",
        "transport",
        "source_ip",
        "tool",
        "command",
        "argv",
        "verbs",
        "resources",
        "namespaces",
        "decision",
        "rule",
        "reason",
        "policy_revision",
        "cluster",
        "prev_hash",
        "hash",
    ):
        assert field in decision, field
    for field in ("exit_code", "duration_ms", "output_bytes", "truncated", "timed_out", "redactions"):
        assert field in completion, field
    assert decision["decision"] == "allow" and decision["transport"] == "rest"
    assert decision["principal"] == "anonymous" and decision["source_ip"] == "127.0.0.1"
    assert decision["cluster"]["fingerprint"].startswith("sha256:")
    assert completion["prev_hash"] == decision["hash"] or completion["ts"] >= decision["ts"]
    text = server.audit_log.read_text()
    admin = cluster.admin.read_text()
    for line in admin.splitlines():
        if "-data:" in line or "token:" in line:
            assert line.split(":", 1)[1].strip() not in text
