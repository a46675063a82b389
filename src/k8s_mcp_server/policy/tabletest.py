"""`policy test`: a table of commands with expected decisions, run against one policy (like `opa test`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yaml.nodes import Node, SequenceNode

from k8s_mcp_server.contracts import TOOLS, ParsedCommand
from k8s_mcp_server.errors import CommandError, PolicyError
from k8s_mcp_server.policy.decide import evaluate
from k8s_mcp_server.policy.fields import Fields
from k8s_mcp_server.policy.model import CompiledPolicy
from k8s_mcp_server.policy.yamlnodes import Problems, compose

EXPECTATIONS = ("allow", "deny", "would-deny", "approve", "invalid")
CASE_KEYS = ("name", "command", "tool", "decision", "rule", "namespace", "default_namespace")

Parser = Callable[..., ParsedCommand]


@dataclass(frozen=True, kw_only=True)
class Case:
    command: str
    tool: str
    decision: str
    rule: str | None
    namespace: str | None
    default_namespace: str
    name: str
    line: int


@dataclass(frozen=True, kw_only=True)
class CaseResult:
    case: Case
    passed: bool
    got: str  # "allow (rule x)" / "invalid: <message>"


def read_cases(text: str, *, source: str) -> list[Case]:
    """The cases of a tests file; PolicyError lists every problem with its position."""
    problems = Problems(source)
    fields = Fields(problems)
    root = compose(text, problems)
    cases: list[Case] = []
    mapping = fields.mapping(root, "the tests file") if root is not None else None
    if mapping is not None:
        values = dict(fields.keys(mapping, ("tests",), "the tests file"))
        tests = values.get("tests")
        if not isinstance(tests, SequenceNode):
            problems.add(tests or root, "the tests file needs 'tests:', a list of {command, decision}")
        else:
            cases = [case for node in tests.value if (case := _case(node, fields)) is not None]
    if problems:
        raise PolicyError(problems.rendered())
    return cases


def _case(node: Node, fields: Fields) -> Case | None:
    mapping = fields.mapping(node, "each test")
    if mapping is None:
        return None
    values = dict(fields.keys(mapping, CASE_KEYS, "a test"))
    text = {k: fields.text(v, k) for k, v in values.items() if k != "decision"}
    decision = fields.choice(values["decision"], "decision", EXPECTATIONS) if "decision" in values else None
    if "command" not in values or "decision" not in values:
        fields.problems.add(node, "each test needs 'command' and 'decision'")
        return None
    command, tool = text.get("command"), text.get("tool")
    if command is None or decision is None or None in text.values():
        return None
    words = command.split()
    tool = tool or (words[0] if words else "")
    if tool not in TOOLS:
        fields.problems.add(
            values["command"], f"start the command with a tool ({', '.join(TOOLS)}) or add 'tool:'"
        )
        return None
    return Case(
        command=command,
        tool=tool,
        decision=decision,
        rule=text.get("rule"),
        namespace=text.get("namespace"),
        default_namespace=text.get("default_namespace") or "default",
        name=text.get("name") or command,
        line=node.start_mark.line + 1,
    )


def run_case(policy: CompiledPolicy, case: Case, parse: Parser) -> CaseResult:
    """Parse and evaluate one case; compare the outcome (and the rule, when the case names one)."""
    try:
        parsed = parse(
            case.tool, case.command, namespace=case.namespace, default_namespace=case.default_namespace
        )
    except CommandError as exc:
        return CaseResult(case=case, passed=case.decision == "invalid", got=f"invalid: {exc.message}")
    decision = evaluate(policy, parsed)
    passed = decision.outcome == case.decision and case.rule in (None, decision.rule)
    return CaseResult(case=case, passed=passed, got=f"{decision.outcome} (rule {decision.rule})")
