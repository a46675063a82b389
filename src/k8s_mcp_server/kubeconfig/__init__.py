"""The caller's kubeconfig: decode, validate, refuse what is unsafe, and reduce it to one context."""

from k8s_mcp_server.kubeconfig.cache import KubeconfigCache
from k8s_mcp_server.kubeconfig.loader import load_kubeconfig, load_kubeconfig_bytes, load_kubeconfig_file
from k8s_mcp_server.kubeconfig.model import Kubeconfig, KubeconfigPolicy

__all__ = [
    "Kubeconfig",
    "KubeconfigCache",
    "KubeconfigPolicy",
    "load_kubeconfig",
    "load_kubeconfig_bytes",
    "load_kubeconfig_file",
]
