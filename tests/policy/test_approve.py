"""The approve effect: validated with its approvers and ttl, decided after the built-in steps and
deny rules and before allow rules, and known to `policy explain` and `policy test`."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import pytest

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.contracts import Flag
from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy import cli as policy_cli
from k8s_mcp_server.policy import evaluate
from tests.policy.conftest import cmd, policy_of

POLICY = """\
version: 1
default: deny
read_only: false
namespaces:
  deny: [kube-system]
rules:
  - id: scale-dev
    effect: allow
    verbs: [scale]
    namespaces: [dev]
  - id: scale-needs-ok
    effect: approve
    verbs: [scale]
    resources: [deployments]
    approvers: [bob, "group:sre"]
    ttl: 15m
    reason: scaling is reviewed
  - id: no-scale-prod
    effect: deny
    verbs: [scale]
    namespaces: ["prod-*"]
"""

WRITE = C.WRITE


def test_approve_overrides_allow_and_carries_its_approvers_ttl_and_reason() -> None:
    decision = evaluate(policy_of(POLICY), cmd("scale", command_class=WRITE, resources=("deployments",)))
    assert (decision.outcome, decision.allowed, decision.rule) == ("approve", False, "scale-needs-ok")
    assert decision.approval is not None
    assert decision.approval.approvers == ("bob", "group:sre")
    assert decision.approval.ttl_seconds == 900
    assert "needs an approval by bob, group:sre (rule scale-needs-ok): scaling is reviewed" in decision.reason


def test_deny_rules_and_builtin_steps_decide_before_approve() -> None:
    policy = policy_of(POLICY)
    prod = evaluate(
        policy, cmd("scale", command_class=WRITE, resources=("deployments",), namespaces=("prod-eu",))
    )
    assert (prod.outcome, prod.rule, prod.approval) == ("deny", "no-scale-prod", None)
    system = evaluate(
        policy, cmd("scale", command_class=WRITE, resources=("deployments",), namespaces=("kube-system",))
    )
    assert (system.outcome, system.rule) == ("deny", "builtin:namespaces")
    guarded = evaluate(
        policy, cmd("scale", command_class=WRITE, resources=("deployments",), guarded_flags=("token",))
    )
    assert guarded.rule == "builtin:guarded-flag"


def test_an_approve_rule_catches_a_command_touching_anything_it_names() -> None:
    # like a deny rule: one deployment among the resources is enough to need the approval
    parsed = cmd("scale", command_class=WRITE, resources=("deployments", "statefulsets"))
    assert evaluate(policy_of(POLICY), parsed).outcome == "approve"
    other = cmd(
        "scale", command_class=WRITE, resources=("statefulsets",), flags=(Flag(name="replicas", value="2"),)
    )
    assert evaluate(policy_of(POLICY), other).outcome == "allow"


def test_in_dry_run_mode_an_approve_rule_lets_the_command_run_with_a_warning() -> None:
    decision = evaluate(
        policy_of("mode: dry-run\n" + POLICY), cmd("scale", command_class=WRITE, resources=("deployments",))
    )
    assert decision.allowed and decision.outcome == "would-deny" and decision.approval is None
    assert decision.warnings[0].startswith("would need approval: ")


def test_a_rule_without_approvers_waits_for_any_approver_for_an_hour() -> None:
    policy = policy_of(
        """\
        version: 1
        read_only: false
        rules:
          - id: ok
            effect: approve
            verbs: [delete]
        """
    )
    decision = evaluate(policy, cmd("delete", command_class=WRITE))
    assert decision.approval is not None
    assert (decision.approval.approvers, decision.approval.ttl_seconds) == ((), 3600.0)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("effect: allow\n    ttl: 5m", "'ttl' belongs to an approve rule; rule 'r' has effect allow"),
        ("effect: deny\n    approvers: [bob]", "'approvers' belongs to an approve rule"),
        ("effect: approve\n    ttl: 2d", "ttl must be a duration from 1s to 24h"),
        ("effect: approve\n    ttl: 0", "ttl must be a duration from 1s to 24h"),
        ("effect: approve\n    ttl: 25h", "ttl must be a duration from 1s to 24h"),
        ("effect: approve\n    approvers: [bob, bob]", "'bob' is listed twice in approvers"),
        ("effect: approve\n    approvers: ['a b']", "each approver is a principal"),
        ("effect: aprove", "(did you mean 'approve'?)"),
    ],
)
def test_approve_rule_mistakes_are_reported_with_what_to_change(rule: str, problem: str) -> None:
    text = f"version: 1\nread_only: false\nrules:\n  - id: r\n    verbs: [delete]\n    {rule}\n"
    with pytest.raises(PolicyError) as info:
        policy_of(text)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_an_approve_rule_for_writes_contradicts_read_only() -> None:
    with pytest.raises(PolicyError) as info:
        policy_of("version: 1\nrules:\n  - id: r\n    effect: approve\n    verbs: [delete]\n")
    assert "read_only: true refuses" in info.value.problems[0]


def test_explain_prints_the_approvers_and_exits_3_and_a_tests_table_expects_approve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)

    args = argparse.Namespace(
        file=policy,
        command=["--", "kubectl", "scale", "deploy/api", "--replicas=3", "-n", "dev"],
        namespace=None,
        default_namespace="default",
        principal=None,
    )
    assert policy_cli.explain_command(args) == policy_cli.EXIT_APPROVE
    out = capsys.readouterr().out
    assert "decision:   approve" in out and "approvers:  bob, group:sre" in out and "ttl:        900 s" in out

    tests = tmp_path / "t.yaml"
    tests.write_text(
        textwrap.dedent(
            """\
            tests:
              - command: "kubectl scale deploy/api --replicas=3 -n dev"
                decision: approve
                rule: scale-needs-ok
              - command: "kubectl scale deploy/api --replicas=3 -n prod-eu"
                decision: deny
            """
        )
    )

    assert policy_cli.test_command(argparse.Namespace(file=policy, tests=tests)) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out
