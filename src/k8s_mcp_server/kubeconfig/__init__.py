"""The caller's kubeconfig: decode, validate, refuse what is unsafe, and reduce it to one context."""

from k8s_mcp_server.kubeconfig.cache import KubeconfigCache
from k8s_mcp_server.kubeconfig.default import DefaultKubeconfig, default_kubeconfig
from k8s_mcp_server.kubeconfig.loader import load_kubeconfig, load_kubeconfig_bytes, load_kubeconfig_file
from k8s_mcp_server.kubeconfig.model import Kubeconfig, KubeconfigPolicy

__all__ = [
    "DefaultKubeconfig",
    "Kubeconfig",
    "KubeconfigCache",
    "KubeconfigPolicy",
    "default_kubeconfig",
    "load_kubeconfig",
    "load_kubeconfig_bytes",
    "load_kubeconfig_file",
]
