"""The only code that starts processes."""

from k8s_mcp_server.execute.admission import caller_key
from k8s_mcp_server.execute.argocd import Access, ArgocdServer
from k8s_mcp_server.execute.limits import ChildLimits, find_prlimit
from k8s_mcp_server.execute.runner import Executor, resolve_binaries
from k8s_mcp_server.execute.workspace import default_work_dir

__all__ = [
    "Access",
    "ArgocdServer",
    "ChildLimits",
    "Executor",
    "caller_key",
    "default_work_dir",
    "find_prlimit",
    "resolve_binaries",
]
