"""The `impersonate` identity mode: the server's own cluster credential, told to act as the caller.

Each request gets the server-side kubeconfig (K8S_MCP_DEFAULT_KUBECONFIG, or the pod's service
account) with its user entry extended by client-go's impersonation fields -- `as` (the principal),
`as-groups` (its groups) and `as-user-extra` (this request's id) -- which kubectl, helm and
argocd --core all honour, so no argv flag is added and no caller flag can undo it (`--as` stays a
guarded flag). The API server authorizes the impersonated user, and its audit log shows
`impersonatedUser.username`, `.groups` and `.extra["k8s-mcp-request-id"]`: the last one is the exact
join key to this proxy's audit record (`request_id`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import yaml

from k8s_mcp_server.errors import KubeconfigError, ProxyError
from k8s_mcp_server.kubeconfig import DefaultKubeconfig, Kubeconfig

REQUEST_ID_EXTRA = "k8s-mcp-request-id"  # lower-case, no '/': an HTTP header name as it is


class ReservedIdentity(ProxyError):
    code = "reserved_identity"
    status = 403


# Kubernetes' own users and groups (system:masters is cluster-admin): no token or key may be one.
RESERVED_PREFIX = "system:"


class Impersonator:
    def __init__(
        self, default: DefaultKubeconfig | None, *, user_prefix: str = "", group_prefix: str = ""
    ) -> None:
        self._default = default
        self.user_prefix = user_prefix
        self.group_prefix = group_prefix
        self._lock = threading.Lock()
        self._parsed: dict[str, dict[str, Any]] = {}  # fingerprint -> document, one per credential

    def names(self, principal: str, groups: Sequence[str]) -> tuple[str, tuple[str, ...]]:
        """The user and groups the cluster is told (with the configured prefixes, like the API
        server's --oidc-username-prefix); Kubernetes' reserved `system:` names are refused."""
        user = self.user_prefix + principal
        told = tuple(self.group_prefix + group for group in groups)
        if user.startswith(RESERVED_PREFIX) or any(group.startswith(RESERVED_PREFIX) for group in told):
            raise ReservedIdentity(
                "this server does not impersonate Kubernetes' reserved system: users or groups; "
                "ask the operator to set K8S_MCP_IMPERSONATE_USER_PREFIX / _GROUP_PREFIX or fix the "
                "identity provider's claims"
            )
        return user, told

    def kubeconfig_for(
        self, user: str, groups: Sequence[str], request_id: str, *, base: Kubeconfig | None = None
    ) -> Kubeconfig:
        """`base` (a named cluster's; default: the server's default kubeconfig) impersonating `user`
        and `groups` for this one request."""
        if base is None:
            if self._default is None:
                raise KubeconfigError(
                    "this server has no default cluster credential: name one of its clusters (`cluster`)",
                    code="kubeconfig_required",
                )
            base = self._default.get()
        doc = self._document(base)
        users = doc.get("users") or []
        if len(users) != 1 or not isinstance(users[0], dict):
            raise KubeconfigError(
                "the server's kubeconfig names no user to impersonate with: give its context a user",
                code="unsafe_kubeconfig",
            )
        entry = dict(users[0].get("user") or {})
        entry["as"] = user
        if groups:
            entry["as-groups"] = list(groups)
        entry["as-user-extra"] = {REQUEST_ID_EXTRA: [request_id]}
        document = {**doc, "users": [{"name": users[0]["name"], "user": entry}]}
        # JSON is YAML whose strings stay strings for every reader (Go's too)
        sanitized = json.dumps(document, separators=(",", ":")).encode()
        return Kubeconfig(sanitized=sanitized, cluster=base.cluster, credentials=base.credentials)

    def _document(self, base: Kubeconfig) -> dict[str, Any]:
        found = self._parsed.get(base.cluster.fingerprint)
        if found is not None:
            return found
        with self._lock:
            doc = yaml.safe_load(base.sanitized)  # our own sanitizer's output, not a caller's text
            if not isinstance(doc, dict):
                raise KubeconfigError(
                    "the server's kubeconfig could not be read back", code="invalid_kubeconfig"
                )
            if len(self._parsed) > 64:  # the default rotates (in-cluster tokens); keep few
                self._parsed.clear()
            self._parsed[base.cluster.fingerprint] = doc
            return doc
