"""The rendered chart against the real API server: server-side dry runs into a namespace labelled for
the restricted Pod Security Standard.

The test API server is kube-apiserver v1.20, which has no PodSecurity admission (it came in v1.22 and
is on by default from v1.23): the label is set as a real cluster would have it, but v1.20 does not act
on it, so the restricted rules themselves are checked by tests/charts/restricted.py over the same
manifests. What the dry run proves here is that every object is valid for the API server, its
admission chain and RBAC (a ClusterRole that grants impersonation is accepted from the admin).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from k8s_mcp_server.identity.impersonate import REQUEST_ID_EXTRA
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


def impersonating_kubeconfig(cluster: Cluster, namespace: str, tmp: Path, extra: str) -> Path:
    """The chart's ServiceAccount token (v1.20: the token controller's Secret) in a kubeconfig that
    impersonates a user, a group and the request-id extra, as the impersonate mode writes it."""
    secret = ""
    for _attempt in range(60):  # the token controller fills the Secret within a moment
        secret = cluster.kubectl_run(
            "get", "sa", "t-k8s-mcp-server", "-n", namespace, "-o", "jsonpath={.secrets[0].name}", check=False
        ).stdout.strip()
        if secret:
            break
        time.sleep(0.5)
    token = base64.b64decode(
        cluster.kubectl_run("get", "secret", secret, "-n", namespace, "-o", "jsonpath={.data.token}").stdout
    ).decode()
    doc = json.loads(cluster.kubectl_run("config", "view", "--raw", "--minify", "-o", "json").stdout)
    doc["users"] = [
        {
            "name": "sa",
            "user": {
                "token": token,
                "as": "alice@example.com",
                "as-groups": ["developers"],
                "as-user-extra": {extra: ["req-1"]},
            },
        }
    ]
    doc["contexts"][0]["context"]["user"] = "sa"
    path = tmp / "impersonating.kubeconfig"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return path


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
        "secret", "service", "serviceaccount",
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
        # the mode's own kubeconfig shape (identity/impersonate.py): the ServiceAccount's token with
        # as, as-groups and as-user-extra; the API server accepts the impersonation and then answers
        # as the impersonated user (who has no rights here: Forbidden names that user, not the SA)
        # (kubectl auth can-i cannot ask about userextras: the API server's answer to the real
        # kubeconfig is the check, and an extra key the role does not name is refused)
        for extra, refused in ((REQUEST_ID_EXTRA, False), ("other-extra", True)):
            kubeconfig = impersonating_kubeconfig(cluster, restricted_namespace, tmp_path, extra)
            out = subprocess.run(
                [
                    str(cluster.kubectl),
                    "--kubeconfig",
                    str(kubeconfig),
                    "get",
                    "pods",
                    "-n",
                    restricted_namespace,
                ],
                capture_output=True,
                text=True,
                timeout=APPLY_TIMEOUT,
                check=False,
            )
            assert out.returncode != 0
            assert ('cannot impersonate resource "userextras/other-extra"' in out.stderr) is refused, (
                out.stderr
            )
            if not refused:
                assert 'User "alice@example.com" cannot list resource "pods"' in out.stderr, out.stderr
    finally:
        cluster.kubectl_run(
            "delete", "clusterrolebinding,clusterrole", role_name, "--ignore-not-found", check=False
        )
