"""What this package hands out (`Kubeconfig`) and what it checks against (`KubeconfigPolicy`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from k8s_mcp_server.contracts import ClusterRef
from k8s_mcp_server.kubeconfig.hosts import DeniedHost, parse_denied_host

if TYPE_CHECKING:
    from k8s_mcp_server.settings import Settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DENIED_NETWORKS: tuple[str, ...] = (
    "169.254.0.0/16",
    "fe80::/10",
    "100.100.100.200/32",
    "fd00:ec2::254/128",
)
DEFAULT_MAX_BYTES = 256 * 1024


@dataclass(frozen=True, kw_only=True, repr=False)
class Kubeconfig:
    """A caller's kubeconfig that passed every check, reduced to the one context that will be used.

    `sanitized` is the YAML to write for the run; `credentials` are the secret strings the redactor
    removes from output. The repr shows neither.
    """

    sanitized: bytes
    cluster: ClusterRef
    credentials: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"Kubeconfig(fingerprint={self.cluster.fingerprint!r}, "
            f"sanitized=<{len(self.sanitized)} bytes hidden>, credentials=<{len(self.credentials)} hidden>)"
        )


@dataclass(frozen=True, kw_only=True)
class KubeconfigPolicy:
    """What a kubeconfig may contain on this server. Invalid networks or hosts raise `ValueError`."""

    allow_proxy_url: bool = False
    allow_insecure_tls: bool = False
    denied_networks: tuple[str, ...] = DEFAULT_DENIED_NETWORKS
    denied_hosts: tuple[str, ...] = ()  # "host", "host:port", "[v6]:port"; e.g. the proxy's own address
    max_bytes: int = DEFAULT_MAX_BYTES
    networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    hosts: tuple[DeniedHost, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        networks = tuple(ipaddress.ip_network(net, strict=False) for net in self.denied_networks)
        object.__setattr__(self, "networks", networks)
        object.__setattr__(self, "hosts", tuple(parse_denied_host(h) for h in self.denied_hosts))

    @classmethod
    def from_settings(cls, settings: Settings) -> KubeconfigPolicy:
        """The policy for this server: its switches, its denied networks, and its own listen address."""
        host = settings.host
        listen = f"[{host}]:{settings.port}" if ":" in host else f"{host}:{settings.port}"
        return cls(
            allow_proxy_url=settings.allow_proxy_url,
            allow_insecure_tls=settings.allow_insecure_tls,
            denied_networks=settings.denied_server_networks,
            denied_hosts=(listen,),
        )
