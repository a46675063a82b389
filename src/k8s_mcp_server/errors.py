"""Failures with stable codes. Messages say what to fix and never carry a secret or raw output."""

from __future__ import annotations


class ProxyError(Exception):
    """A request the proxy refuses or cannot serve; `code` is stable, tests assert it."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class CommandError(ProxyError):
    """The command cannot be parsed or uses something the command language does not allow."""

    code = "invalid_command"


class KubeconfigError(ProxyError):
    """The kubeconfig is missing, malformed (`invalid_kubeconfig`) or unsafe (`unsafe_kubeconfig`)."""

    code = "invalid_kubeconfig"


class AuditUnavailable(ProxyError):
    code = "audit_unavailable"
    status = 503


class Busy(ProxyError):
    """No place for the request in time; `retry_after` (seconds) becomes the Retry-After header."""

    code = "busy"
    status = 429

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ResourceLimit(ProxyError):
    """A stage of the command was stopped by one of its resource limits (`limit` says which)."""

    code = "resource_limit"

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class ToolUnavailable(ProxyError):
    """The endpoint's CLI is not installed or configured on this server: nothing the caller can fix."""

    code = "tool_unavailable"
    status = 503


class Unauthenticated(ProxyError):
    code = "unauthenticated"
    status = 401


class PolicyError(Exception):
    """A policy file that failed validation: every problem, sorted by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
