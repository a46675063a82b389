"""`k8s-mcp-server policy diff OLD NEW --audit FILE`: what NEW would newly allow or deny, measured on
the requests the audit log holds (policy/impact.py). Exit 0: no change; 1: changes; 2: unusable input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from k8s_mcp_server.audit.files import chain_files
from k8s_mcp_server.audit.reader import iter_records, parse_time, record_time
from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy.impact import Change, replay
from k8s_mcp_server.policy.validate import load_policy

EXIT_SAME, EXIT_CHANGED, EXIT_USAGE = 0, 1, 2


def add_diff_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    diff = sub.add_parser(
        "diff",
        help="replay the audit log under two policies; list what NEW newly allows or denies (exit 1 if any)",
    )
    diff.add_argument("old", type=Path, metavar="OLD", help="the policy in force")
    diff.add_argument("new", type=Path, metavar="NEW", help="the proposed policy")
    diff.add_argument(
        "--audit", required=True, type=Path, metavar="FILE", help="the audit log (and its rotated files)"
    )
    diff.add_argument("--since", metavar="TIME", help="only requests since: RFC 3339, a date, or 7d, 12h")
    diff.add_argument("--principal", help="only this principal's requests")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.set_defaults(func=diff_command)


def diff_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    paths = (args.old, args.new)
    try:
        old, new = (load_policy(p) for p in paths)
    except PolicyError as exc:
        print("\n".join(exc.problems), file=out)
        return EXIT_USAGE
    files = chain_files(args.audit)
    if not files:
        print(
            f"{args.audit}: no audit file there (nor rotated ones); name the K8S_MCP_AUDIT_LOG file", file=out
        )
        return EXIT_USAGE
    try:
        since = parse_time(args.since) if args.since else None
    except ValueError as exc:
        print(f"--since: {exc}", file=out)
        return EXIT_USAGE
    impact = replay(
        old, new, iter_records(files), since=since, principal=args.principal, record_time=record_time
    )
    if args.json:
        print(
            json.dumps({"old": str(paths[0]), "new": str(paths[1]), "files": len(files), **impact.as_dict()}),
            file=out,
        )
    else:
        print(
            f"{impact.replayed} audited decisions replayed from {len(files)} file(s); "
            f"{len(impact.newly_denied)} newly denied, {len(impact.newly_allowed)} newly allowed, "
            f"{impact.unchanged} unchanged ({impact.rule_changed} by another rule), "
            f"{impact.not_replayable} not replayable (a redacted secret changed the command)",
            file=out,
        )
        for title, changes in (
            ("newly denied", impact.newly_denied),
            ("newly allowed", impact.newly_allowed),
        ):
            if changes:
                print(f"\n{title}:", file=out)
                for change in changes:
                    print(_line(change), file=out)
    return EXIT_CHANGED if impact.changed else EXIT_SAME


def _line(change: Change) -> str:
    where = ",".join(change.namespaces) or "-"
    return (
        f"  {change.ts}  {change.principal}  {change.tool} {change.command}  [{where}]  "
        f"{change.old_rule} -> {change.new_rule}"
    )
