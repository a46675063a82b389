"""`GET /health`: 200 only when requests would be served as the operator configured them.

503 with the reasons when requests would be refused (`unavailable`: the audit log cannot be written,
the keys file is broken, a policy file an API key names cannot be loaded) or are served by something
other than the files on disk (`degraded`: a changed policy file was rejected and the last good one is
in force). Reasons name the file and what is wrong with it, never a key, token or command.
"""

from __future__ import annotations

from typing import Any

from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.errors import AuditUnavailable


def health_report(state: AppState) -> tuple[int, dict[str, Any]]:
    """(status code, body)."""
    refused: list[str] = []
    degraded: list[str] = []
    try:
        state.pipeline.audit.open()  # already open after a good start: a cheap check
    except AuditUnavailable as exc:
        refused.append(f"audit: {exc.message} (every request is refused: nothing runs unaudited)")
    keys = state.authenticator.store
    if keys is not None:
        keys.current()
        if keys.broken:
            refused.append(f"keys: {keys.last_error}")
    if state.oauth is not None:  # a broken identity map or JWKS file, an issuer that cannot be reached
        refused.extend(state.oauth.problems())
    for path, error in state.policies.failed().items():
        refused.append(f"policy {path}: requests of the API keys naming it are refused: {error}")
    for policy in state.policies.loaded():
        policy.current()
        if policy.last_error is not None:
            degraded.append(
                f"policy {policy.path}: the changed file was rejected, the last good policy "
                f"(revision {policy.current().revision}) stays in force: {policy.last_error}"
            )
    status = "unavailable" if refused else "degraded" if degraded else "ok"
    return (200 if status == "ok" else 503), {"status": status, "problems": [*refused, *degraded]}
