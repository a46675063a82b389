"""The rendered chart against the real API server: server-side dry runs into a namespace labelled for
the restricted Pod Security Standard.

The test API server is kube-apiserver v1.20, which has no PodSecurity admission (it came in v1.22 and
is on by default from v1.23): the label is set as a real cluster would have it, but v1.20 does not act
on it, so the restricted rules themselves are checked by tests/charts/restricted.py over the same
manifests. What the dry run proves here is that every object is valid for the API server, its
admission chain and RBAC (a ClusterRole that grants impersonation is accepted from the admin).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.charts.render import CHART, IMPERSONATION, helm, template_text, values_file
from tests.support.cluster import Cluster

pytestmark = pytest.mark.cluster

APPLY_TIMEOUT = 120  # a dry run of ~12 objects against the local API server takes about a second


@pytest.fixture
def restricted_namespace(cluster: Cluster) -> Iterator[str]:
    name = f"chart-{uuid.uuid4().hex[:8]}"
    manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/metadata.name": name,  # set by the API server itself from v1.21
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }
    subprocess.run(
        [str(cluster.kubectl), "--kubeconfig", str(cluster.admin), "apply", "-f", "-"],
        input=yaml.safe_dump(manifest),
        capture_output=True,
        text=True,
        check=True,
        timeout=APPLY_TIMEOUT,
    )
    try:
        yield name
    finally:
        cluster.kubectl_run("delete", "namespace", name, "--wait=false", check=False)


def dry_run_apply(cluster: Cluster, namespace: str, manifests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(cluster.kubectl), "--kubeconfig", str(cluster.admin), "apply", "--dry-run=server",
            "-n", namespace, "-o", "name", "-f", "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        timeout=APPLY_TIMEOUT,
        check=False,
    )  # fmt: skip


def server_version(cluster: Cluster) -> str:
    out = cluster.kubectl_run("version", "-o", "json").stdout
    return str(yaml.safe_load(out)["serverVersion"]["gitVersion"])


@pytest.mark.parametrize("values", [{}, IMPERSONATION], ids=["default", "impersonation"])
def test_helm_template_passes_a_server_side_dry_run_in_a_restricted_namespace(
    cluster: Cluster, restricted_namespace: str, tmp_path: Path, values: dict[str, object]
) -> None:
    version = server_version(cluster).lstrip("v")
    manifests = template_text(
        tmp_path, values, "--kube-version", version, "--namespace", restricted_namespace
    )
    out = dry_run_apply(cluster, restricted_namespace, manifests)
    assert out.returncode == 0, out.stderr
    created = sorted(line.split("/")[0] for line in out.stdout.split())
    expected = [
        "configmap", "deployment.apps", "horizontalpodautoscaler.autoscaling",
        "networkpolicy.networking.k8s.io", "pod", "poddisruptionbudget.policy",
        "secret", "secret", "service", "serviceaccount",
    ]  # fmt: skip
    if values:
        expected += ["clusterrole.rbac.authorization.k8s.io", "clusterrolebinding.rbac.authorization.k8s.io"]
    assert created == sorted(expected)


def test_helm_install_dry_run_server_accepts_the_chart_with_the_clusters_own_capabilities(
    cluster: Cluster, restricted_namespace: str, tmp_path: Path
) -> None:
    out = helm(
        "install", "fleet", str(CHART), "--dry-run=server", "--namespace", restricted_namespace,
        "--kubeconfig", str(cluster.admin), "-f", str(values_file(tmp_path, IMPERSONATION)),
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout.split("MANIFEST:", 1)[1].split("NOTES:", 1)[0]) if d]
    versions = {d["kind"]: d["apiVersion"] for d in docs}
    # the v1.20 server has neither policy/v1 nor autoscaling/v2: the chart chose the beta APIs
    if server_version(cluster).startswith("v1.20"):
        assert versions["PodDisruptionBudget"] == "policy/v1beta1"
        assert versions["HorizontalPodAutoscaler"] == "autoscaling/v2beta2"
    assert "ClusterRole" in versions


def test_the_impersonation_role_lets_the_service_account_impersonate_and_nothing_more(
    cluster: Cluster, restricted_namespace: str, tmp_path: Path
) -> None:
    """Applied for real (RBAC objects only, no pods): `kubectl auth can-i` as the ServiceAccount."""
    docs = [
        d
        for d in yaml.safe_load_all(
            template_text(tmp_path, IMPERSONATION, "--namespace", restricted_namespace)
        )
        if d and d["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")
    ]
    role_name = next(d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole")
    text = yaml.safe_dump_all(docs)
    apply = subprocess.run(
        [
            str(cluster.kubectl),
            "--kubeconfig",
            str(cluster.admin),
            "apply",
            "-n",
            restricted_namespace,
            "-f",
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=APPLY_TIMEOUT,
        check=False,
    )
    try:
        assert apply.returncode == 0, apply.stderr
        who = f"system:serviceaccount:{restricted_namespace}:t-k8s-mcp-server"

        def can(*args: str) -> str:
            out = cluster.kubectl_run("auth", "can-i", "--as", who, *args, check=False)
            return out.stdout.strip()

        assert can("impersonate", "users") == "yes"
        assert can("impersonate", "groups") == "yes"
        assert can("impersonate", "serviceaccounts") == "no"
        assert can("get", "pods", "-A") == "no"
        assert can("get", "secrets", "-n", restricted_namespace) == "no"
        assert can("create", "pods", "-n", restricted_namespace) == "no"
    finally:
        cluster.kubectl_run(
            "delete", "clusterrolebinding,clusterrole", role_name, "--ignore-not-found", check=False
        )
