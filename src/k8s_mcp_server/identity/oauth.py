"""The OAuth 2.1 resource server: a verified access token becomes a caller with a principal, groups
and the policy the identity map gives them.

Built from the settings once per app; `caller()` is what the composer calls for a bearer token that
has the shape of a JWT (API keys never do), so API keys keep working beside tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from k8s_mcp_server.contracts import Identity
from k8s_mcp_server.identity.jwks import DiscoveredKeys, FileKeys, KeySource
from k8s_mcp_server.identity.mapping import IdentityMap
from k8s_mcp_server.identity.tokens import TokenVerifier
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.settings import Settings

METADATA_PATH = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True, kw_only=True)
class TokenCaller(ApiKey):
    """A caller authenticated by an access token: an `ApiKey` to everything that only needs the
    principal and the policy file (rate limit, policy choice), plus what the token said."""

    identity: Identity


def metadata_path(resource: str) -> str:
    """RFC 9728 section 3.1: the well-known path inserted before the resource's own path."""
    path = urlsplit(resource).path.rstrip("/")
    return METADATA_PATH + path


class OAuth:
    def __init__(
        self,
        *,
        resource: str,
        verifier: TokenVerifier,
        identity_map: IdentityMap | None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.resource = resource
        self.verifier = verifier
        self.identity_map = identity_map
        self._client = client
        parts = urlsplit(resource)
        self.metadata_url = urlunsplit((parts.scheme, parts.netloc, metadata_path(resource), "", ""))

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuth | None:
        """None when OAuth is not configured; raises OSError/ValueError for a broken JWKS or map file."""
        if settings.oauth_resource is None:
            return None
        client: httpx.AsyncClient | None = None
        sources: list[KeySource] = []
        for issuer in settings.oauth_issuers:
            if settings.oauth_jwks_file is not None:
                sources.append(FileKeys(issuer, settings.oauth_jwks_file))
                continue
            if client is None:
                client = httpx.AsyncClient(follow_redirects=False, headers={"Accept": "application/json"})
            sources.append(DiscoveredKeys(issuer, client, min_refetch=settings.oauth_jwks_min_refetch))
        verifier = TokenVerifier(
            sources=sources,
            audience=settings.oauth_resource,
            algorithms=settings.oauth_algorithms,
            leeway=settings.oauth_leeway,
            required_scopes=settings.oauth_required_scopes,
            principal_claim=settings.oauth_principal_claim,
            groups_claim=settings.oauth_groups_claim,
        )
        mapping = IdentityMap(settings.identity_map_file) if settings.identity_map_file else None
        return cls(resource=settings.oauth_resource, verifier=verifier, identity_map=mapping, client=client)

    async def caller(self, token: str) -> TokenCaller:
        """The verified caller; raises InvalidToken (401), IssuerUnavailable or a broken map (503)."""
        verified = await self.verifier.verify(token)
        policy = (
            self.identity_map.policy_for(verified.principal, verified.groups)
            if self.identity_map is not None
            else None
        )
        identity = Identity(
            method="oauth",
            issuer=verified.issuer,
            subject=verified.subject,
            client=verified.client,
            groups=verified.groups,
            act=verified.act,
        )
        return TokenCaller(principal=verified.principal, sha256=b"", policy=policy, identity=identity)

    def metadata(self) -> dict[str, Any]:
        """The protected-resource metadata document (RFC 9728)."""
        doc: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": list(self.verifier.issuers),
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": sorted(self.verifier.algorithms),
            "resource_name": "k8s-mcp-server",
        }
        if self.verifier.required_scopes:
            doc["scopes_supported"] = list(self.verifier.required_scopes)
        return doc

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"issuers": [source.describe() for source in self.verifier.sources()]}
        if self.identity_map is not None:
            described["identity_map"] = {
                "path": str(self.identity_map.path),
                "entries": len(self.identity_map.mappings()),
                "loaded_at": self.identity_map.loaded_at.isoformat(),
                "last_error": self.identity_map.last_error,
            }
        return described

    def problems(self) -> list[str]:
        """What makes token callers refused now, for `/health` (files and issuers, never a token)."""
        found: list[str] = []
        if self.identity_map is not None:
            self.identity_map.mappings()  # notices a change
            if self.identity_map.last_error is not None:
                found.append(f"identity map: {self.identity_map.last_error}")
        for source in self.verifier.sources():
            described = source.describe()
            error = described.get("last_error")
            if error and not described.get("keys"):  # keys still held: tokens are still checked
                found.append(f"issuer {source.issuer}: its keys cannot be read or fetched: {error}")
        return found

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
