"""Compose the stages: decode, parse, validate, refuse the unsafe, sanitize.

Only `load_kubeconfig_file` does I/O.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from k8s_mcp_server.contracts import ClusterRef
from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig.decode import decode_base64, decode_text, too_large
from k8s_mcp_server.kubeconfig.model import Kubeconfig, KubeconfigPolicy
from k8s_mcp_server.kubeconfig.problems import Problems
from k8s_mcp_server.kubeconfig.safety import clean_cluster, clean_user
from k8s_mcp_server.kubeconfig.sanitize import sanitized_yaml
from k8s_mcp_server.kubeconfig.schema import read_document
from k8s_mcp_server.kubeconfig.yamlsafe import load_yaml


def load_kubeconfig(encoded: str, policy: KubeconfigPolicy) -> Kubeconfig:
    """Load a caller's base64 kubeconfig (standard or URL-safe, whitespace and missing padding tolerated).

    Raises `KubeconfigError` with code `invalid_kubeconfig` (cannot be read) or `unsafe_kubeconfig`
    (would run a program, read a local file, or reach a denied address).
    """
    return load_kubeconfig_bytes(decode_base64(encoded, policy.max_bytes), policy)


def load_kubeconfig_file(path: Path, policy: KubeconfigPolicy) -> Kubeconfig:
    """Load the server's default kubeconfig from `path` with the same checks as a caller's."""
    try:
        with path.open("rb") as handle:
            data = handle.read(policy.max_bytes + 1)
    except OSError as exc:
        raise KubeconfigError(
            f"the server's default kubeconfig {path} cannot be read: {exc.strerror}"
        ) from None
    if len(data) > policy.max_bytes:
        raise KubeconfigError(too_large(policy.max_bytes))
    return load_kubeconfig_bytes(data, policy)


def load_kubeconfig_bytes(data: bytes, policy: KubeconfigPolicy) -> Kubeconfig:
    """Validate and sanitize kubeconfig bytes (YAML or JSON)."""
    parsed = load_yaml(decode_text(data, policy.max_bytes))
    try:
        return _load(parsed, data, policy)
    except KubeconfigError as exc:
        raise KubeconfigError(_scrub(exc.message, _user_strings(parsed)), code=exc.code) from None


def _user_strings(parsed: object) -> set[str]:
    """Every string inside a user entry but its username: tokens, passwords, plugin config and env."""
    users = parsed.get("users") if isinstance(parsed, dict) else None
    bodies = [item.get("user") for item in users if isinstance(item, dict)] if isinstance(users, list) else []
    found: set[str] = set()
    stack: list[object] = [
        {k: v for k, v in body.items() if k != "username"} for body in bodies if isinstance(body, dict)
    ]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and value:
            found.add(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _scrub(message: str, secrets: set[str]) -> str:
    # Messages quote names the caller chose; a name may equal a secret, so secrets are cut out last.
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret if len(secret) >= 4 else repr(secret), "<redacted>")
    return message


def _load(parsed: object, data: bytes, policy: KubeconfigPolicy) -> Kubeconfig:
    document = read_document(parsed)  # the context in use, its cluster and its user; the rest is dropped
    problems = Problems()
    cluster = clean_cluster(document.cluster, policy, problems)
    user: dict[str, Any] | None = None
    credentials: set[str] = set()
    if document.user is not None:
        user, secrets = clean_user(document.user, problems)
        credentials.update(secret for secret in secrets if secret.strip())
    if document.cluster.body.get("server") in (None, ""):
        problems.invalid(
            f"{document.cluster.path}.server is missing; set it to the API server's https:// URL"
        )
    problems.raise_if_any()
    return Kubeconfig(
        sanitized=sanitized_yaml(document, cluster, user),
        cluster=ClusterRef(
            server=cluster["server"],
            fingerprint="sha256:" + hashlib.sha256(data).hexdigest(),
            context_namespace=document.namespace,
        ),
        # Longest first, so a redactor replacing in order never leaves the tail of a longer secret.
        credentials=tuple(sorted(credentials, key=lambda secret: (-len(secret), secret))),
    )
