"""The server's own kubeconfig, used only when enabled and the caller sent none.

Either a file (`K8S_MCP_DEFAULT_KUBECONFIG`), loaded once at start, or the pod's service account
(`K8S_MCP_IN_CLUSTER=true`): token, CA and namespace from the service-account folder and the API
server from `KUBERNETES_SERVICE_HOST`/`_PORT`. Kubernetes rotates a projected token (about hourly), so
the in-cluster kubeconfig is rebuilt whenever the token file changes. Both go through the same checks
as a caller's kubeconfig; messages name the missing file or variable, never a file's content.
"""

from __future__ import annotations

import abc
import base64
import ipaddress
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig.loader import load_kubeconfig_bytes, load_kubeconfig_file
from k8s_mcp_server.kubeconfig.model import Kubeconfig, KubeconfigPolicy

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# A service-account token or CA bundle is a few KiB; anything far larger is not one.
_MAX_FILE_BYTES = 256 * 1024


class DefaultKubeconfig(abc.ABC):
    """Hands out the current default kubeconfig; `get()` is cheap when nothing changed."""

    @abc.abstractmethod
    def get(self) -> Kubeconfig: ...


class FileKubeconfig(DefaultKubeconfig):
    def __init__(self, path: Path, policy: KubeconfigPolicy) -> None:
        self._loaded = load_kubeconfig_file(path, policy)

    def get(self) -> Kubeconfig:
        return self._loaded


class InClusterKubeconfig(DefaultKubeconfig):
    """The pod's service account as a kubeconfig; rebuilt when the token file changes."""

    def __init__(self, folder: Path, environ: Mapping[str, str], policy: KubeconfigPolicy) -> None:
        self._folder = folder
        self._server = _server_url(environ)
        self._policy = policy
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = self._build()  # fail at start, not at the first request

    def get(self) -> Kubeconfig:
        try:
            stamp = _stamp(self._folder / "token")
        except OSError:
            return self._loaded  # briefly missing during the kubelet's atomic swap: keep the last one
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._loaded = self._build()
        return self._loaded

    def _build(self) -> Kubeconfig:
        token_path = self._folder / "token"
        stamp = _stamp_or_fail(token_path)
        token = _read(token_path).strip()
        if not token:
            raise KubeconfigError(f"the service-account token {token_path} is empty")
        ca = _read(self._folder / "ca.crt")
        namespace_path = self._folder / "namespace"
        namespace = _read(namespace_path).strip() if namespace_path.exists() else ""
        context: dict[str, str] = {"cluster": "in-cluster", "user": "service-account"}
        if namespace:
            context["namespace"] = namespace
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "in-cluster",
                    "cluster": {
                        "server": self._server,
                        "certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": "service-account", "user": {"token": token}}],
            "contexts": [{"name": "in-cluster", "context": context}],
            "current-context": "in-cluster",
        }
        loaded = load_kubeconfig_bytes(json.dumps(document).encode(), self._policy)
        self._stamp = stamp
        return loaded


def default_kubeconfig(
    *,
    file: Path | None,
    in_cluster: bool,
    service_account_dir: Path,
    policy: KubeconfigPolicy,
    environ: Mapping[str, str] | None = None,
) -> DefaultKubeconfig | None:
    """The configured default, or None (the default: a caller must send a kubeconfig)."""
    if file is not None and in_cluster:
        raise KubeconfigError("both K8S_MCP_DEFAULT_KUBECONFIG and K8S_MCP_IN_CLUSTER are set; choose one")
    if file is not None:
        return FileKubeconfig(file, policy)
    if in_cluster:
        return InClusterKubeconfig(service_account_dir, os.environ if environ is None else environ, policy)
    return None


def _server_url(environ: Mapping[str, str]) -> str:
    host = environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = environ.get("KUBERNETES_SERVICE_PORT", "").strip() or "443"
    if not host:
        raise KubeconfigError(
            "K8S_MCP_IN_CLUSTER is set but KUBERNETES_SERVICE_HOST is not: run the server in a pod, "
            "or unset K8S_MCP_IN_CLUSTER"
        )
    if not port.isdigit():
        raise KubeconfigError("KUBERNETES_SERVICE_PORT must be a port number")
    try:
        bracketed = isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        bracketed = False
    return f"https://[{host}]:{port}" if bracketed else f"https://{host}:{port}"


def _stamp(path: Path) -> tuple[int, int, int]:
    # The kubelet swaps a symlinked folder: the target's inode and mtime change on every rotation.
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, info.st_size


def _stamp_or_fail(path: Path) -> tuple[int, int, int]:
    try:
        return _stamp(path)
    except OSError as exc:
        raise KubeconfigError(
            f"the service-account file {path} cannot be read ({exc.strerror}); mount the service account "
            "(automountServiceAccountToken) or unset K8S_MCP_IN_CLUSTER"
        ) from None


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise KubeconfigError(
            f"the service-account file {path} cannot be read ({exc.strerror}); mount the service account "
            "or unset K8S_MCP_IN_CLUSTER"
        ) from None
    if len(data) > _MAX_FILE_BYTES:
        raise KubeconfigError(f"the service-account file {path} is larger than {_MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KubeconfigError(f"the service-account file {path} is not UTF-8 text") from None
