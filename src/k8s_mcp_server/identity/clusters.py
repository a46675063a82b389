"""Named clusters: credentials the server holds by name, for requests that pick one (`cluster`).

```yaml
clusters:
  - name: dev
    kubeconfig: dev.kubeconfig            # relative to this file's folder
  - name: prod
    kubeconfig: /etc/k8s-mcp-server/prod.kubeconfig
```

Each kubeconfig goes through the same checks as a caller's and is loaded once at start (a broken
one stops the start), like K8S_MCP_DEFAULT_KUBECONFIG. Which principal may use which cluster is the
policy's `clusters:` allow-list (policy/clusters.py); the audit record's `cluster.name` says which
one a request used.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.kubeconfig import Kubeconfig, KubeconfigPolicy
from k8s_mcp_server.kubeconfig.loader import load_kubeconfig_file

CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_CLUSTERS_FILE_BYTES = 256 * 1024


class UnknownCluster(ProxyError):
    code = "unknown_cluster"


class ClusterRegistry:
    def __init__(self, kubeconfigs: dict[str, Kubeconfig]) -> None:
        self._kubeconfigs = kubeconfigs

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._kubeconfigs)

    def get(self, name: str) -> Kubeconfig:
        found = self._kubeconfigs.get(name)
        if found is None:
            raise UnknownCluster(
                f"this server has no cluster of that name; it has: {', '.join(self.names) or 'none'}"
            )
        return found

    @classmethod
    def load(cls, path: Path, policy: KubeconfigPolicy) -> ClusterRegistry:
        """Read the clusters file and every kubeconfig it names; ValueError/KubeconfigError stop the start."""
        with path.open("rb") as handle:
            data = handle.read(MAX_CLUSTERS_FILE_BYTES + 1)
        if len(data) > MAX_CLUSTERS_FILE_BYTES:
            raise ValueError(f"{path}: the clusters file is larger than {MAX_CLUSTERS_FILE_BYTES} bytes")
        try:
            doc = yaml.safe_load(data)
        except yaml.YAMLError:
            raise ValueError(f"{path}: not valid YAML") from None
        entries = doc.get("clusters") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or set(doc) - {"clusters"} or not isinstance(entries, list):
            raise ValueError(f"{path}: expected a mapping with only a `clusters:` list")
        found: dict[str, Kubeconfig] = {}
        for i, entry in enumerate(entries):
            where = f"{path}: clusters[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"name", "kubeconfig"}:
                raise ValueError(f"{where}: expected `name` and `kubeconfig`")
            name, file = entry["name"], entry["kubeconfig"]
            if not isinstance(name, str) or not CLUSTER_NAME.match(name):
                raise ValueError(f"{where}: `name` must be a lower-case DNS label (letters, digits, '-')")
            if name in found:
                raise ValueError(f"{where}: the name appears twice")
            if not isinstance(file, str) or not file:
                raise ValueError(f"{where}: `kubeconfig` must be a file path")
            kubeconfig_path = Path(file) if Path(file).is_absolute() else path.parent / file
            loaded = load_kubeconfig_file(kubeconfig_path, policy)
            found[name] = replace(loaded, cluster=replace(loaded.cluster, name=name))
        return cls(found)
