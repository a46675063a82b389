"""What the identity settings may say together; checked when the settings are read (fail at start)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from k8s_mcp_server.settings import Settings

# Asymmetric JWS algorithms PyJWT verifies with `cryptography`. HMAC (HS*) is never accepted: its key
# would be a secret shared with the issuer, and a public key mistaken for one is the classic forgery.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> None:
    """https, or http on a loopback address; no userinfo, query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute https URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{what} must use https (http is accepted on a loopback address only)")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"{what} must not carry a user, a query or a fragment")


def check_identity_settings(settings: Settings) -> None:
    """ValueError naming the setting to fix; never echoes a value."""
    oauth_on = settings.oauth_resource is not None or bool(settings.oauth_issuers)
    if oauth_on:
        if settings.oauth_resource is None:
            raise ValueError("K8S_MCP_OAUTH_ISSUERS needs K8S_MCP_OAUTH_RESOURCE (this server's URL)")
        check_url(settings.oauth_resource, "K8S_MCP_OAUTH_RESOURCE")
        if not settings.oauth_issuers:
            raise ValueError("K8S_MCP_OAUTH_RESOURCE needs K8S_MCP_OAUTH_ISSUERS (the trusted issuers)")
        for issuer in settings.oauth_issuers:
            check_url(issuer, "each of K8S_MCP_OAUTH_ISSUERS")
        bad = [alg for alg in settings.oauth_algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if bad or not settings.oauth_algorithms:
            raise ValueError(
                "K8S_MCP_OAUTH_ALGORITHMS may list only asymmetric algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); `none` and HS* are never accepted"
            )
        if not settings.oauth_principal_claim or not settings.oauth_groups_claim:
            raise ValueError("K8S_MCP_OAUTH_PRINCIPAL_CLAIM and K8S_MCP_OAUTH_GROUPS_CLAIM must not be empty")
    if settings.oauth_jwks_file is not None and len(settings.oauth_issuers) != 1:
        raise ValueError(
            "K8S_MCP_OAUTH_JWKS_FILE holds the keys of exactly one issuer: name one in K8S_MCP_OAUTH_ISSUERS"
        )
    if settings.identity_map_file is not None and not oauth_on:
        raise ValueError("K8S_MCP_IDENTITY_MAP_FILE maps token callers: it needs K8S_MCP_OAUTH_RESOURCE")
    if settings.identity_mode == "impersonate":
        if settings.default_kubeconfig is None and not settings.in_cluster and settings.clusters_file is None:
            raise ValueError(
                "K8S_MCP_IDENTITY_MODE=impersonate needs the server's own cluster credential: "
                "K8S_MCP_DEFAULT_KUBECONFIG, K8S_MCP_IN_CLUSTER=true or K8S_MCP_CLUSTERS_FILE"
            )
        if settings.api_keys_file is None and not oauth_on:
            raise ValueError(
                "K8S_MCP_IDENTITY_MODE=impersonate needs authenticated callers: configure API keys "
                "(K8S_MCP_API_KEYS_FILE) or OAuth (K8S_MCP_OAUTH_RESOURCE, K8S_MCP_OAUTH_ISSUERS)"
            )
