"""The golden table: each command's parse and its decision under the three shipped policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.contracts import Decision
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import evaluate, load_policy
from tests.parse.cases import CODES, GOLDEN, OK, POLICIES, REFUSED, Golden

_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
_LOADED = {name: load_policy(_POLICY_DIR / f"{name}.yaml") for name in POLICIES}


def _code(decision: Decision) -> str:
    """The table's code for a decision; the raw rule id when no code stands for it."""
    if decision.allowed and decision.outcome == "allow":
        return "a"
    wanted = (decision.outcome, decision.rule)
    return next((code for code, expected in CODES.items() if expected == wanted), f"{wanted}")


@pytest.mark.parametrize("row", GOLDEN, ids=[row.id for row in GOLDEN])
def test_command_parses_and_is_decided_as_the_golden_table_says(row: Golden) -> None:
    if row.verb is None:
        with pytest.raises(CommandError) as caught:
            parse_command(row.tool, row.command)
        assert caught.value.code == "invalid_command" and caught.value.message
        return
    parsed = parse_command(row.tool, row.command)
    assert (parsed.verb, parsed.command_class.value, parsed.resources, parsed.namespaces) == (
        row.verb,
        row.cls,
        row.resources,
        row.namespaces,
    )
    got = tuple(_code(evaluate(_LOADED[name], parsed)) for name in POLICIES)
    assert got == row.decisions, dict(zip(POLICIES, got, strict=True))


def test_golden_table_has_three_hundred_rows_for_every_tool_and_every_code() -> None:
    assert len(OK) >= 300 and len(GOLDEN) == len(OK) + len(REFUSED)
    assert {row.tool for row in GOLDEN if row.verb} == {"kubectl", "helm", "istioctl", "argocd"}
    assert {code for row in GOLDEN for code in row.decisions} >= set(CODES) - {"s"}
