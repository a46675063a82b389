"""The real Kubernetes API server the integration tests talk to.

By default the suite starts the project's own control plane with `scripts/cluster.sh start`
(built once and cached outside the checkout). Point the tests at an existing cluster instead with:

    K8S_MCP_TEST_KUBECONFIG            an admin kubeconfig (required)
    K8S_MCP_TEST_NORIGHTS_KUBECONFIG   an identity with no RBAC bindings (optional: otherwise a
                                       ServiceAccount with no bindings is created and its token used)
    K8S_MCP_TEST_BIN                   a folder with kubectl and helm (optional: otherwise the pinned
                                       binaries `scripts/cluster.sh tools` keeps in the cache serve.sh
                                       uses, whatever kubectl is on PATH)
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.clibin import pinned_bin

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "cluster.sh"
# Building the control plane on a fresh machine took 644 s on 2 cores; starting it ~6 s.
CLUSTER_START_TIMEOUT = 40 * 60


@dataclass(frozen=True)
class Cluster:
    admin: Path  # admin kubeconfig
    norights: Path  # kubeconfig of an identity with no RBAC rights
    bin_dir: Path  # kubectl + helm
    started_here: bool

    @property
    def kubectl(self) -> Path:
        return self.bin_dir / "kubectl"

    @property
    def helm(self) -> Path:
        return self.bin_dir / "helm"

    def admin_b64(self) -> str:
        return base64.b64encode(self.admin.read_bytes()).decode()

    def norights_b64(self) -> str:
        return base64.b64encode(self.norights.read_bytes()).decode()

    def kubectl_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run kubectl directly as the admin, for set-up and for checking what the proxy did."""
        return subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.admin), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )


def start_cluster(tmp: Path) -> Cluster:
    existing = os.environ.get("K8S_MCP_TEST_KUBECONFIG")
    if existing:
        bin_dir = pinned_bin()  # K8S_MCP_TEST_BIN, else the CLIs serve.sh uses (never PATH's kubectl)
        cluster = Cluster(Path(existing), Path(existing), bin_dir, started_here=False)
        norights = os.environ.get("K8S_MCP_TEST_NORIGHTS_KUBECONFIG")
        path = Path(norights) if norights else _service_account_kubeconfig(cluster, tmp)
        return Cluster(Path(existing), path, bin_dir, started_here=False)
    status = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, text=True, timeout=60)
    already_running = "kube-apiserver: running" in status.stdout
    proc = subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=CLUSTER_START_TIMEOUT
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"scripts/cluster.sh start failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    values = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            values[key] = value
    return Cluster(
        admin=Path(values["K8S_MCP_TEST_KUBECONFIG"]),
        norights=Path(values["K8S_MCP_TEST_NORIGHTS_KUBECONFIG"]),
        bin_dir=Path(values["K8S_MCP_TEST_BIN"]),
        started_here=not already_running,  # a cluster someone else started is left running
    )


def stop_cluster(cluster: Cluster) -> None:
    if cluster.started_here and not os.environ.get("K8S_MCP_TEST_KEEP_CLUSTER"):
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=120, check=False)


def _service_account_kubeconfig(cluster: Cluster, tmp: Path) -> Path:
    """A ServiceAccount with no bindings: RBAC gives it nothing (for clusters we did not start)."""
    ns, name = "default", "k8s-mcp-test-norights"
    cluster.kubectl_run("create", "serviceaccount", name, "-n", ns, check=False)
    token = cluster.kubectl_run("create", "token", name, "-n", ns, check=False).stdout.strip()
    if not token:  # servers before 1.24: the token controller's Secret
        secret = cluster.kubectl_run(
            "get", "sa", name, "-n", ns, "-o", "jsonpath={.secrets[0].name}"
        ).stdout.strip()
        token = base64.b64decode(
            cluster.kubectl_run("get", "secret", secret, "-n", ns, "-o", "jsonpath={.data.token}").stdout
        ).decode()
    view = cluster.kubectl_run("config", "view", "--raw", "--minify", "-o", "json").stdout
    doc = json.loads(view)
    doc["users"] = [{"name": name, "user": {"token": token}}]
    doc["contexts"][0]["context"]["user"] = name
    path = tmp / "norights.kubeconfig"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return path
