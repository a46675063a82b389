"""The only code that starts processes."""

from k8s_mcp_server.execute.runner import Executor, resolve_binaries

__all__ = ["Executor", "resolve_binaries"]
