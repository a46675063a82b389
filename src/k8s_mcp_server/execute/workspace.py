"""A private directory per request: the kubeconfig, HOME and every CLI cache live inside it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The child sees these variables and nothing else of the server's environment.
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True, kw_only=True)
class Workspace:
    root: Path
    kubeconfig: Path | None
    discovery_cache: Path | None = None

    def environment(self) -> dict[str, str]:
        """The child's whole environment: an allow-list, built from the workspace alone."""
        home = str(self.root / "home")
        env = {
            "PATH": _SAFE_PATH,
            "HOME": home,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "XDG_DATA_HOME": f"{home}/.local/share",
            "HELM_CONFIG_HOME": f"{home}/.config/helm",
            "HELM_CACHE_HOME": f"{home}/.cache/helm",
            "HELM_DATA_HOME": f"{home}/.local/share/helm",
            "HELM_PLUGINS": f"{home}/.local/share/helm/plugins",
            "KUBECACHEDIR": str(self.discovery_cache or f"{home}/.kube/cache"),
            "KUBECTL_KUBERC": "false",  # no user preferences file (kubectl >= 1.33 reads ~/.kube/kuberc)
        }
        # An empty KUBECONFIG would make kubectl fall back to ~/.kube/config; point at a file that
        # does not exist instead so a command without a kubeconfig cannot reach any cluster.
        env["KUBECONFIG"] = str(self.kubeconfig or (self.root / "no-kubeconfig"))
        return env


def default_work_dir() -> Path | None:
    """Where workspaces go unless settings say: memory-backed /dev/shm when it is usable (faster to
    create and remove, and the caller's kubeconfig never reaches a disk), unless TMPDIR asks for
    another place; None means the system temporary directory."""
    if os.environ.get("TMPDIR"):
        return None
    shm = Path("/dev/shm")  # noqa: S108 - a private 0700 directory is made inside it
    return shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


@contextmanager
def workspace(
    kubeconfig: bytes | None, *, discovery_cache: Path | None = None, base: Path | None = None
) -> Iterator[Workspace]:
    """Create the 0700 directory (kubeconfig 0600 inside), and remove it on every path out.

    `discovery_cache` is kubectl's API discovery cache, kept across requests by the executor for one
    kubeconfig (same server, same credentials): without it every request re-discovers the API.
    """
    root = Path(tempfile.mkdtemp(prefix="k8s-mcp-", dir=base))  # mkdtemp creates it 0700
    try:
        (root / "home").mkdir(mode=0o700)
        path: Path | None = None
        if kubeconfig is not None:
            path = root / "kubeconfig"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(kubeconfig)
        yield Workspace(root=root, kubeconfig=path, discovery_cache=discovery_cache)
    finally:
        shutil.rmtree(root, ignore_errors=True)
