"""Who is calling and whom the cluster is told it is: the two identity steps the composer calls."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from k8s_mcp_server.contracts import CommandRequest, Identity
from k8s_mcp_server.errors import KubeconfigError, Unauthenticated
from k8s_mcp_server.identity.clusters import ClusterRegistry, UnknownCluster
from k8s_mcp_server.identity.oauth import OAuth, TokenCaller
from k8s_mcp_server.identity.tokens import looks_like_jwt
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.kubeconfig import Kubeconfig

if TYPE_CHECKING:  # the api package imports this module
    from k8s_mcp_server.api.auth import Authenticator
    from k8s_mcp_server.api.state import AppState


async def identify(
    oauth: OAuth | None, keys: Authenticator, authorization: str | None, source_ip: str | None
) -> ApiKey | None:
    """The caller's API key or verified access token (None: anonymous on loopback).

    With OAuth configured, a bearer token shaped like a JWT is an access token and anything else an
    API key (API keys never have that shape), and nobody is anonymous.
    """
    if oauth is not None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and looks_like_jwt(token.strip()):
            return await oauth.caller(token.strip())
        if not keys.configured:
            raise Unauthenticated(
                "send `Authorization: Bearer <access token>` (an OAuth 2.1 token for this server)"
            )
    return keys.principal(authorization, source_ip)


def at_cluster(
    state: AppState, request: CommandRequest, key: ApiKey | None, kubeconfig_b64: str | None
) -> tuple[CommandRequest, Kubeconfig | None]:
    """The request with the caller's identity, and the kubeconfig the server chose for it: a named
    cluster's, and in `impersonate` mode that (or the default) acting as the caller. None: the
    caller's or the default, as the pipeline decides (`caller-kubeconfig` mode, no cluster named)."""
    if isinstance(key, TokenCaller):
        request = replace(request, identity=key.identity)
    if kubeconfig_b64 and state.impersonator is not None:
        raise KubeconfigError(
            "this server runs every command as you with its own cluster credential "
            "(K8S_MCP_IDENTITY_MODE=impersonate), so it does not accept a kubeconfig: send the request "
            "without X-Kubeconfig and without the `kubeconfig` field",
            code="kubeconfig_refused",
        )
    named = _named(state.clusters, request, kubeconfig_b64)
    if state.impersonator is None:
        return request, named
    if key is None:
        raise Unauthenticated("this server impersonates its callers at the cluster: authenticate first")
    identity = request.identity or Identity(method="api-key")
    user, groups = state.impersonator.names(key.principal, identity.groups)
    identity = replace(identity, impersonated_user=user, impersonated_groups=groups)
    kubeconfig = state.impersonator.kubeconfig_for(user, groups, request.request_id, base=named)
    return replace(request, identity=identity), kubeconfig


def _named(
    clusters: ClusterRegistry | None, request: CommandRequest, kubeconfig_b64: str | None
) -> Kubeconfig | None:
    if request.cluster is None:
        return None
    if kubeconfig_b64:
        raise KubeconfigError(
            "send a kubeconfig or name one of the server's clusters (`cluster`), not both",
            code="invalid_kubeconfig",
        )
    if clusters is None:
        raise UnknownCluster(
            "this server holds no named clusters (K8S_MCP_CLUSTERS_FILE): leave out `cluster`"
        )
    return clusters.get(request.cluster)
