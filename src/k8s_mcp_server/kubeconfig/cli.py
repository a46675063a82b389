"""`k8s-mcp-server kubeconfig export`: the client-side command that makes the kubeconfig to send.

The export module (which runs credential plugins) is imported only when the command runs, so a
server process never loads it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL = 0, 1


def add_kubeconfig_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kubeconfig = subparsers.add_parser(
        "kubeconfig", help="on your machine: make the kubeconfig to send to a k8s-mcp-server"
    )
    sub = kubeconfig.add_subparsers(dest="kubeconfig_command", required=True)
    export = sub.add_parser(
        "export",
        help="print one context as a self-contained kubeconfig: files embedded, an exec plugin replaced "
        "by the token it returns (the plugin runs here, on your machine)",
    )
    export.add_argument("--context", help="the context to export (default: current-context)")
    export.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="the file to read (default: $KUBECONFIG, ~/.kube/config)",
    )
    export.add_argument(
        "--base64",
        action="store_true",
        help="print it base64-encoded on one line, ready for the X-Kubeconfig header",
    )
    export.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    from k8s_mcp_server.kubeconfig.export import ExportError, encode, export_kubeconfig, kubeconfig_paths

    try:
        exported = export_kubeconfig(kubeconfig_paths(args.kubeconfig, os.environ), context=args.context)
    except ExportError as exc:
        print(f"kubeconfig export: {exc}", file=sys.stderr)
        return EXIT_FAIL
    for note in exported.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.base64:
        sys.stdout.write(encode(exported) + "\n")
    else:
        sys.stdout.write(exported.text.decode())
    sys.stdout.flush()
    return EXIT_OK
