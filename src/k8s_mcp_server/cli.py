"""`k8s-mcp-server serve | policy … | audit … | keys … | kubeconfig export`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from k8s_mcp_server import __version__
from k8s_mcp_server.allocator import tune_allocator
from k8s_mcp_server.api.transport import needs_host_list
from k8s_mcp_server.approvals.cli import add_approvals_commands
from k8s_mcp_server.audit import add_audit_commands
from k8s_mcp_server.errors import PolicyError, ProxyError
from k8s_mcp_server.keys import add_keys_commands
from k8s_mcp_server.kubeconfig.cli import add_kubeconfig_commands
from k8s_mcp_server.policy import add_policy_commands
from k8s_mcp_server.settings import Settings


def serve(args: argparse.Namespace) -> int:
    from k8s_mcp_server.api import create_app
    from k8s_mcp_server.api.serving import serve as run_server
    from k8s_mcp_server.api.startup import prepare, start_failure

    overrides: dict[str, Any] = {
        k: v
        for k, v in {"host": args.host, "port": args.port, "policy": args.policy}.items()
        if v is not None
    }
    if args.insecure_bind:
        overrides["allow_insecure_bind"] = True
    settings = Settings(**overrides)
    refusal = bind_refusal(settings)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    if needs_host_list(settings.host) and not settings.api_keys_file and not settings.oauth_resource:
        print(f"WARNING: serving {settings.host} without API keys (--insecure-bind)", file=sys.stderr)
    try:
        app = create_app(settings)
    except PolicyError as exc:
        print("a policy file is not valid; nothing is served:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (OSError, ValueError, ProxyError) as exc:
        print(start_failure(exc, settings), file=sys.stderr)
        return 2
    refusal = prepare(app, settings)  # takes the audit file, prints the banner
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    tune_allocator()
    run_server(app, settings, log_level=args.log_level)
    return 0


def bind_refusal(settings: Settings) -> str | None:
    """Why `serve` must not start on this address, or None."""
    if not needs_host_list(settings.host):
        return None
    if not settings.api_keys_file and not settings.oauth_resource and not settings.allow_insecure_bind:
        return (
            f"refusing to listen on {settings.host} without API keys: anyone who can reach the port "
            "could run commands. Create a key with `k8s-mcp-server keys create NAME`, put the printed "
            "entry in a keys file and set K8S_MCP_API_KEYS_FILE to it; or bind 127.0.0.1 "
            "(K8S_MCP_HOST / --host); or pass --insecure-bind if something in front of this server "
            "authenticates callers."
        )
    if settings.allowed_hosts is None:
        return (
            f"listening on {settings.host} needs the names clients use to reach this server: set "
            "K8S_MCP_ALLOWED_HOSTS (comma-separated host:port values, e.g. "
            f"`mcp.example.com:{settings.port},10.0.0.5:{settings.port}`; `name:*` allows any port). "
            "Requests with another Host header are refused (DNS rebinding protection)."
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="k8s-mcp-server", description=__doc__)
    parser.add_argument("--version", action="version", version=f"k8s-mcp-server {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the REST + MCP server (settings: K8S_MCP_* environment variables)")
    p.add_argument("--host", help="listen address (default 127.0.0.1; K8S_MCP_HOST)")
    p.add_argument("--port", type=int, help="listen port (default 9096; K8S_MCP_PORT)")
    p.add_argument("--policy", type=Path, help="policy file (default policies/default.yaml; K8S_MCP_POLICY)")
    p.add_argument(
        "--insecure-bind", action="store_true", help="allow a non-loopback address without API keys"
    )
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=serve)
    add_policy_commands(sub)
    add_audit_commands(sub)
    add_keys_commands(sub)
    add_kubeconfig_commands(sub)
    add_approvals_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # `audit query ... | head`: the reader has what it wanted; no traceback, and no second error
        # when Python flushes stdout at exit (the documented recipe: point it at /dev/null)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command cut off by its pipe
    return result


if __name__ == "__main__":
    raise SystemExit(main())
