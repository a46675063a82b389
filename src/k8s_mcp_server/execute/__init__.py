"""The only code that starts processes."""

from k8s_mcp_server.execute.argocd import Access, ArgocdServer
from k8s_mcp_server.execute.runner import Executor, resolve_binaries
from k8s_mcp_server.execute.workspace import default_work_dir

__all__ = ["Access", "ArgocdServer", "Executor", "default_work_dir", "resolve_binaries"]
