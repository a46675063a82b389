"""`k8s-mcp-server approvals list | show | approve | deny`: an approver's client of `/approvals`.

It talks to the running server over REST rather than opening the approvals store itself: an
approval's decision must be in the audit log's hash chain, and only the server writes that file
(it holds the writer lock); the server is also the one place that checks the approver's key, role
and the rule's approvers, and that the requester is not deciding their own request.

The API key is read from K8S_MCP_API_KEY or from --key-file (never a flag value: it would sit in
the shell's history and in `ps`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import httpx

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_URL = "http://127.0.0.1:9096"
# Connect and read bound of one call; `show --wait` adds its own wait on top.
HTTP_TIMEOUT = 30.0
MAX_KEY_FILE_BYTES = 4096


def add_approvals_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    approvals = subparsers.add_parser("approvals", help="list, show, approve and deny pending approvals")
    approvals.add_argument(
        "--url",
        default=os.environ.get("K8S_MCP_URL", DEFAULT_URL),
        help=f"the server (default: K8S_MCP_URL or {DEFAULT_URL})",
    )
    approvals.add_argument(
        "--key-file", type=Path, metavar="FILE", help="a file holding your API key (default: K8S_MCP_API_KEY)"
    )
    approvals.add_argument("--json", action="store_true", help="print the server's JSON")
    sub = approvals.add_subparsers(dest="approvals_command", required=True)

    listing = sub.add_parser("list", help="approvals you may decide and your own requests, newest first")
    listing.add_argument("--status", default="pending", help="pending (default), approved, denied, expired, "
                         "consumed, comma-separated, or all")  # fmt: skip
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=list_command)

    show = sub.add_parser("show", help="one approval: the command, who asked, the preview")
    show.add_argument("id", metavar="ID")
    show.add_argument("--wait", type=float, default=0.0, help="seconds to wait while it is pending")
    show.set_defaults(func=show_command)

    for verdict in ("approve", "deny"):
        act = sub.add_parser(verdict, help=f"{verdict} a pending approval (audited with your principal)")
        act.add_argument("id", metavar="ID")
        act.add_argument(
            "--reason", required=verdict == "deny", help="why (shown to the requester; required to deny)"
        )
        act.set_defaults(func=decide_command, verdict=verdict)


def list_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    params: dict[str, Any] = {"limit": args.limit}
    if args.status != "all":
        params["status"] = args.status
    status, body = _call(args, "GET", "/approvals", params=params)
    if status != 200:
        return _failed(body, out)
    if args.json:
        print(json.dumps(body, indent=2, sort_keys=True), file=out)
        return EXIT_OK
    rows = body.get("approvals", [])
    if not rows:
        print("no approvals", file=out)
    for a in rows:
        print(f"{a['id']}  {a['status']:<8}  {a['principal']:<16}  expires {a['expires_at']}  "
              f"{a['tool']} {_safe(a['command'])}", file=out)  # fmt: skip
    return EXIT_OK


def show_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    params = {"wait": args.wait} if args.wait > 0 else {}
    status, body = _call(args, "GET", f"/approvals/{args.id}", params=params, wait=args.wait)
    if status != 200:
        return _failed(body, out)
    if args.json:
        print(json.dumps(body, indent=2, sort_keys=True), file=out)
        return EXIT_OK
    print(render(body["approval"]), file=out)
    return EXIT_OK


def decide_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    body_in = {"reason": args.reason} if args.reason else {}
    status, body = _call(args, "POST", f"/approvals/{args.id}/{args.verdict}", body=body_in)
    if status != 200:
        return _failed(body, out)
    approval = body["approval"]
    if args.json:
        print(json.dumps(body, indent=2, sort_keys=True), file=out)
    else:
        print(f"{approval['id']}: {approval['status']} by {approval['decided_by']}", file=out)
    return EXIT_OK


def render(a: dict[str, Any]) -> str:
    """The approval as an approver reads it: what, who, where, until when, and the preview."""
    cluster = a.get("cluster") or {}
    lines = [
        f"id:          {a['id']}",
        f"status:      {a['status']}",
        f"requested:   {a['created_at']} by {a['principal']} (request {a['request_id']})",
        f"expires:     {a['expires_at']}",
        f"command:     {a['tool']} {_safe(a['command'])}",
        f"namespaces:  {', '.join(a['namespaces']) or '-'}",
        f"cluster:     {cluster.get('server') or '-'} ({cluster.get('fingerprint') or '-'})",
        f"rule:        {a['rule']}" + (f": {_safe(a['rule_reason'])}" if a.get("rule_reason") else ""),
        f"waiting for: {', '.join(a['waiting_for'])}",
    ]
    if a.get("decided_by"):
        reason = f": {_safe(a['decision_reason'])}" if a.get("decision_reason") else ""
        lines.append(f"decided:     {a['status']} by {a['decided_by']} at {a['decided_at']}{reason}")
    preview = a.get("preview") or {}
    if preview:
        lines.append(f"preview:     {preview.get('method')} ({'; '.join(preview.get('commands', []))})")
        if preview.get("note"):
            lines.append(f"             {_safe(preview['note'])}")
        text = preview.get("diff") or preview.get("output") or preview.get("error") or ""
        lines.extend("  " + _safe(line) for line in text.splitlines())
    return "\n".join(lines)


def _call(
    args: argparse.Namespace,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    wait: float = 0.0,
) -> tuple[int, dict[str, Any]]:
    key = _key(args)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.request(
            method,
            args.url.rstrip("/") + path,
            params=params,
            json=body if method == "POST" else None,
            headers=headers,
            timeout=HTTP_TIMEOUT + max(wait, 0.0),
        )
    except httpx.HTTPError as exc:
        return 0, {
            "detail": {"code": "unreachable", "message": f"cannot reach {args.url}: {type(exc).__name__}"}
        }
    try:
        found = response.json()
    except ValueError:
        found = {"detail": {"code": "bad_response", "message": f"HTTP {response.status_code} without JSON"}}
    return response.status_code, found if isinstance(found, dict) else {}


def _key(args: argparse.Namespace) -> str | None:
    if args.key_file is not None:
        with args.key_file.open("rb") as handle:
            return handle.read(MAX_KEY_FILE_BYTES).decode("utf-8", errors="replace").strip() or None
    return os.environ.get("K8S_MCP_API_KEY") or None


def _failed(body: dict[str, Any], out: TextIO) -> int:
    found = body.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    code, message = detail.get("code", "error"), detail.get("message", "the server refused")
    print(f"error: {message} ({code})", file=out)
    return EXIT_FAIL


def _safe(text: object) -> str:
    """Printable text only: a command or reason cannot send escape sequences to the terminal."""
    value = "" if text is None else str(text)
    return value if value.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
