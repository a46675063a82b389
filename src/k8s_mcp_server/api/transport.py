"""Host and Origin allow-lists: a web page must not reach this server through DNS rebinding.

A browser tricked into resolving `evil.example` to 127.0.0.1 sends `Host: evil.example` and its own
`Origin`; both are refused unless the operator listed them. Requests without an Origin header (MCP
clients, curl, SDKs) are fine.
"""

from __future__ import annotations

from collections.abc import Iterable

from k8s_mcp_server.api.auth import is_loopback
from k8s_mcp_server.errors import ProxyError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Forbidden(ProxyError):
    status = 403


def default_allowed_hosts(port: int) -> tuple[str, ...]:
    return (*(f"{name}:{port}" for name in LOOPBACK_NAMES), *LOOPBACK_NAMES)


def needs_host_list(bind_host: str) -> bool:
    """Binding a non-loopback address means clients use names the server cannot guess."""
    return not (is_loopback(bind_host) or bind_host == "localhost")


class HostOriginGuard:
    def __init__(self, allowed_hosts: Iterable[str], allowed_origins: Iterable[str]) -> None:
        hosts = [h.strip().lower() for h in allowed_hosts if h.strip()]
        self.hosts = frozenset(h for h in hosts if not h.endswith(":*"))
        self.any_port = frozenset(h[:-2] for h in hosts if h.endswith(":*"))
        self.origins = frozenset(o.strip().rstrip("/").lower() for o in allowed_origins if o.strip())

    def check(self, host: str | None, origin: str | None) -> None:
        """Raise Forbidden (`forbidden_host` / `forbidden_origin`) unless both are allowed."""
        name = (host or "").strip().lower()
        if not name or not self._host_allowed(name):
            raise Forbidden(
                "the Host header of this request is not in the server's allow-list (DNS rebinding "
                "protection): connect with an allowed name or have the operator add it to "
                "K8S_MCP_ALLOWED_HOSTS",
                code="forbidden_host",
            )
        if origin is not None and origin.strip().rstrip("/").lower() not in self.origins:
            raise Forbidden(
                "requests from a web page origin are refused unless the operator lists the origin in "
                "K8S_MCP_ALLOWED_ORIGINS",
                code="forbidden_origin",
            )

    def _host_allowed(self, name: str) -> bool:
        if name in self.hosts:
            return True
        base, sep, port = name.rpartition(":")
        return bool(sep) and port.isdigit() and base in self.any_port
