"""`k8s-mcp-server policy check | explain | test`: validate, explain and test policy files in CI."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TextIO

from k8s_mcp_server.contracts import TOOLS, ApprovalNeed, Decision, ParsedCommand
from k8s_mcp_server.errors import CommandError, PolicyError
from k8s_mcp_server.policy.decide import evaluate
from k8s_mcp_server.policy.diffcli import add_diff_command
from k8s_mcp_server.policy.model import CompiledPolicy
from k8s_mcp_server.policy.tabletest import read_cases, run_case
from k8s_mcp_server.policy.validate import load_policy

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_APPROVE = 3  # explain: the command runs only once a person approves it (effect approve)


def add_policy_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `policy check FILE...`, `policy explain FILE -- TOOL ARGS...` and `policy test FILE TESTS`."""
    policy = subparsers.add_parser("policy", help="validate, explain and test policy files")
    sub = policy.add_subparsers(dest="policy_command", required=True)

    check = sub.add_parser("check", help="validate policy files; exit 1 on any problem")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(func=check_command)

    explain = sub.add_parser("explain", help="show the decision for one command and the rules behind it")
    explain.add_argument("file", type=Path, metavar="FILE")
    explain.add_argument("-n", "--namespace", help="the request's namespace field")
    explain.add_argument("--default-namespace", default="default", help="the kubeconfig's namespace")
    explain.add_argument(
        "--principal", help="explain under this principal's policy (from --keys; FILE is the default policy)"
    )
    explain.add_argument(
        "--keys", type=Path, help="the API keys file (K8S_MCP_API_KEYS_FILE) for --principal"
    )
    explain.add_argument("command", nargs=argparse.REMAINDER, help="-- TOOL ARGS... (quote '|' as \\|)")
    explain.set_defaults(func=explain_command)

    test = sub.add_parser(
        "test", help="run a table of commands with expected decisions; exit 1 on a mismatch"
    )
    test.add_argument("file", type=Path, metavar="FILE")
    test.add_argument("tests", type=Path, metavar="TESTS.yaml")
    test.set_defaults(func=test_command)

    add_diff_command(sub)


def check_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    status = EXIT_OK
    for path in args.files:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            status = EXIT_FAIL
            print("\n".join(exc.problems), file=out)
            continue
        print(f"{path}: ok (revision {policy.revision}, {len(policy.rules)} rules)", file=out)
    return status


def explain_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    words = list(args.command)
    if words and words[0] == "--":
        words = words[1:]
    if not words or words[0] not in TOOLS:
        print(f"usage: policy explain FILE -- TOOL ARGS...  (TOOL is one of {', '.join(TOOLS)})", file=out)
        return EXIT_USAGE
    path: Path = args.file
    principal = getattr(args, "principal", None)
    if principal:
        from k8s_mcp_server.keys import policy_file_for

        if getattr(args, "keys", None) is None:
            print("policy explain: --principal needs --keys FILE (the API keys file)", file=out)
            return EXIT_USAGE
        try:
            path = policy_file_for(principal, args.keys, args.file)
        except (LookupError, OSError, ValueError) as exc:
            print(f"policy explain: {exc}", file=out)
            return EXIT_USAGE
        print(f"principal:  {principal}", file=out)
    policy = _load(path, out)
    if policy is None:
        return EXIT_USAGE
    tool, rest = words[0], words[1:]
    # one argument after the tool is the whole command string, so `-- kubectl "get po | grep x"` works too
    command = rest[0] if len(rest) == 1 else " ".join(w if w == "|" else shlex.quote(w) for w in rest)
    from k8s_mcp_server.parse import parse_command

    try:
        parsed = parse_command(
            tool, command, namespace=args.namespace, default_namespace=args.default_namespace
        )
    except CommandError as exc:
        print(f"decision:   invalid ({exc.code})\nreason:     {exc.message}", file=out)
        return EXIT_USAGE
    decision = evaluate(policy, parsed)
    print(render_explanation(policy, parsed, decision), file=out)
    if decision.approval is not None:
        return EXIT_APPROVE
    return EXIT_OK if decision.allowed else EXIT_FAIL


def render_explanation(policy: CompiledPolicy, parsed: ParsedCommand, decision: Decision) -> str:
    """The text `policy explain` prints. Flag values are left out: they may carry credentials."""
    by_id = {rule.id: rule for rule in policy.rules}
    matched = [f"{rid} ({by_id[rid].effect}, line {by_id[rid].line})" for rid in decision.matched_rules]
    lines = [
        f"decision:   {decision.outcome}",
        f"rule:       {decision.rule}",
        f"reason:     {decision.reason}",
        *(f"warning:    {w}" for w in decision.warnings),
        *(_approval_lines(decision.approval) if decision.approval is not None else ()),
        f"matched:    {', '.join(matched) or '(no rule)'}",
        f"policy:     {policy.source} ({policy.revision}): mode {policy.mode}, default {policy.default}, "
        f"read_only {str(policy.read_only).lower()}, secrets {policy.secrets}",
        "parsed:",
        f"  tool:           {parsed.tool}",
        f"  verb:           {parsed.verb}",
        f"  class:          {parsed.command_class.value}",
        f"  resources:      {_list(parsed.resources)}",
        f"  names:          {_list(parsed.names)}",
        f"  namespaces:     {_list(parsed.namespaces)}",
        f"  cluster-scoped: {'yes' if parsed.cluster_scoped else 'no'}",
        f"  flags:          {_list(tuple('--' + f.name for f in parsed.flags))}",
        f"  guarded flags:  {_list(tuple('--' + f.lstrip('-') for f in parsed.guarded_flags))}",
        f"  filters:        {_list(tuple(stage[0] for stage in parsed.filters if stage))}",
    ]
    return "\n".join(lines)


def test_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    policy = _load(args.file, out)
    try:
        cases = read_cases(args.tests.read_text(encoding="utf-8"), source=str(args.tests))
    except PolicyError as exc:
        print("\n".join(exc.problems), file=out)
        return EXIT_FAIL
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.tests}: cannot read the tests file: {type(exc).__name__}", file=out)
        return EXIT_FAIL
    if policy is None:
        return EXIT_FAIL
    from k8s_mcp_server.parse import parse_command

    failed = 0
    for case in cases:
        result = run_case(policy, case, parse_command)
        if result.passed:
            print(f"PASS  {case.name}", file=out)
            continue
        failed += 1
        want = case.decision + (f" (rule {case.rule})" if case.rule else "")
        print(f"FAIL  {case.name}  [{args.tests}:{case.line}]: expected {want}, got {result.got}", file=out)
    print(f"{len(cases) - failed} passed, {failed} failed ({args.file} {policy.revision})", file=out)
    return EXIT_FAIL if failed or not cases else EXIT_OK


def _load(path: Path, out: TextIO) -> CompiledPolicy | None:
    try:
        return load_policy(path)
    except PolicyError as exc:
        print("\n".join(exc.problems), file=out)
        return None


def _approval_lines(need: ApprovalNeed) -> tuple[str, ...]:
    who = ", ".join(need.approvers) or "any principal with the approver role"
    return (f"approvers:  {who}", f"ttl:        {need.ttl_seconds:g} s")


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "-"
