"""What `serve` does between building the app and listening: take the audit file, set up the request
log, and say on the console what is being served (policy, mode, audit file, auth, MCP URL, CLIs)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from fastapi import FastAPI

from k8s_mcp_server import __version__
from k8s_mcp_server.api import requestlog
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.contracts import TOOLS
from k8s_mcp_server.errors import AuditUnavailable, KubeconfigError, ProxyError
from k8s_mcp_server.settings import Settings


def prepare(app: FastAPI, settings: Settings, *, console: TextIO | None = None) -> str | None:
    """None when the server may listen (the banner is printed); otherwise why it must not start."""
    console = console or sys.stderr
    state: AppState = app.state.k8s
    try:
        state.pipeline.audit.open()  # the writer lock now: a second server on this file stops here
    except AuditUnavailable as exc:
        return (
            f"cannot start: {exc.message} (K8S_MCP_AUDIT_LOG={settings.audit_log}): stop the other "
            "server, or give this one its own audit file"
        )
    requestlog.configure(console)
    logging.getLogger("k8s_mcp_server").setLevel(logging.INFO)  # reloads and start-up notes are shown
    root = logging.getLogger()
    if not root.handlers:  # else only warnings would reach the console (logging's last resort)
        handler = logging.StreamHandler(console)
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
        root.addHandler(handler)
    console.write(banner(state, settings))
    console.flush()
    return None


def banner(state: AppState, settings: Settings) -> str:
    policy = state.policies.default.current()
    keys = state.authenticator.store
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{settings.port}"
    if keys is None:
        auth = "no API keys: loopback clients only, as 'anonymous'"
    else:
        principals = len({k.principal for k in keys.current()})
        auth = f"API keys from {settings.api_keys_file} ({principals} principals; Authorization: Bearer)"
    if state.oauth is not None:
        issuers = ", ".join(state.oauth.verifier.issuers)
        tokens = f"OAuth access tokens for {state.oauth.resource} from {issuers}"
        auth = tokens if keys is None else f"{auth}; {tokens}"
    if state.impersonator is not None:
        kubeconfig = "the server's own credential, impersonating each caller (K8S_MCP_IDENTITY_MODE)"
    elif settings.default_kubeconfig is not None:
        kubeconfig = f"the caller's, else {settings.default_kubeconfig} (K8S_MCP_DEFAULT_KUBECONFIG)"
    elif settings.in_cluster:
        kubeconfig = "the caller's, else the pod's service account (K8S_MCP_IN_CLUSTER)"
    else:
        kubeconfig = "sent by each caller (X-Kubeconfig header, base64)"
    binaries = state.pipeline.executor.binaries
    clis = ", ".join(
        f"{tool} {binaries[tool]}" if tool in binaries else f"{tool}: not found" for tool in TOOLS
    )
    mode = f"{policy.mode}, {'read-only' if policy.read_only else 'writes as the rules allow'}"
    lines = [
        f"k8s-mcp-server {__version__}",
        f"  policy      {settings.policy} ({mode}; revision {policy.revision})",
        f"  audit log   {settings.audit_log} (fsync {'on' if settings.audit_fsync else 'off'})",
        f"  auth        {auth}",
        f"  kubeconfig  {kubeconfig}",
        f"  CLIs        {clis}",
        f"  REST        {base}/tools/{{{','.join(TOOLS)}}}   health {base}/health   docs {base}/docs",
        f"  MCP         {base}/mcp (streamable HTTP)",
    ]
    return "\n".join(lines) + "\n"


def start_failure(exc: Exception, settings: Settings) -> str:
    """`cannot start: ...` naming the setting and the file, for what building the app raised."""
    if isinstance(exc, KubeconfigError):
        setting = (
            f"K8S_MCP_DEFAULT_KUBECONFIG={settings.default_kubeconfig}"
            if settings.default_kubeconfig is not None
            else "K8S_MCP_IN_CLUSTER"
        )
        return f"cannot start: the server's default kubeconfig ({setting}) cannot be used: {exc.message}"
    if isinstance(exc, ProxyError):
        return f"cannot start: {exc.message}"
    if isinstance(exc, OSError) and exc.filename is not None:
        files = {
            settings.api_keys_file: "K8S_MCP_API_KEYS_FILE",
            settings.policy: "K8S_MCP_POLICY",
            settings.argocd_auth_token_file: "K8S_MCP_ARGOCD_AUTH_TOKEN_FILE",
            settings.work_dir: "K8S_MCP_WORK_DIR",
        }
        named = {str(path): name for path, name in files.items() if path is not None}
        found = named.get(str(exc.filename))
        where = f"{found}={exc.filename}" if found else str(exc.filename)
        return f"cannot start: {where}: {exc.strerror or type(exc).__name__}"
    return f"cannot start: {exc}"
