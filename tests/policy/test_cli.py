"""`policy check | explain | test`, and the shipped policies against their test tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from k8s_mcp_server.policy import add_policy_commands

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("default", "operator-dev", "permissive")
POLICIES = REPO / "policies"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="k8s-mcp-server")
    add_policy_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["policy", *argv])
    code: int = args.func(args)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_policy_passes_its_test_table(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out = run(
        capsys, "test", str(REPO / f"policies/{name}.yaml"), str(REPO / f"policies/tests/{name}.tests.yaml")
    )
    assert code == 0, out
    assert "FAIL" not in out and " 0 failed" in out


def test_check_accepts_every_shipped_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", *(str(REPO / f"policies/{n}.yaml") for n in SHIPPED))
    assert code == 0
    assert out.count(": ok (revision sha256:") == len(SHIPPED)


def test_check_prints_every_problem_and_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("version: 1\n")
    bad.write_text("version: 1\nmode: enforse\nsecrets: redcat\n")
    code, out = run(capsys, "check", str(good), str(bad))
    assert code == 1
    assert f"{good}: ok" in out
    assert f"{bad}:2:7: mode must be one of" in out and f"{bad}:3:10: secrets must be one of" in out


def test_explain_shows_decision_rules_and_parsed_command(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(REPO / "policies/operator-dev.yaml")
    code, out = run(
        capsys, "explain", policy, "--", "kubectl", "scale", "deploy/web", "--replicas", "2", "-n", "dev"
    )
    assert code == 0
    assert "decision:   allow" in out
    assert "rule:       change-deployments-in-dev" in out
    assert "matched:    change-deployments-in-dev (allow, line" in out
    assert "verb:           scale" in out and "class:          write" in out
    assert "resources:      deployments" in out and "namespaces:     dev" in out


def test_explain_of_a_denial_exits_1_and_hides_flag_values(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(REPO / "policies/default.yaml")
    code, out = run(capsys, "explain", policy, "--", "kubectl", "get", "pods", "--token", "s3cr3t-value")
    assert code == 1
    assert "rule:       builtin:guarded-flag" in out
    assert "guarded flags:  --token" in out
    assert "s3cr3t-value" not in out


def test_explain_takes_a_quoted_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(REPO / "policies/default.yaml")
    code, out = run(capsys, "explain", policy, "--", "kubectl", "get pods -n dev | grep web")
    assert code == 0 and "filters:        grep" in out


def test_explain_reports_an_invalid_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "explain", str(REPO / "policies/default.yaml"), "--", "kubectl", "get pods; id")
    assert code == 2 and "decision:   invalid (invalid_command)" in out


def test_explain_needs_a_tool(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "explain", str(REPO / "policies/default.yaml"), "--", "ls", "-la")
    assert code == 2 and "usage:" in out


def test_policy_test_reports_mismatches_and_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text(
        "tests:\n"
        "  - {command: 'kubectl get pods -n dev', decision: allow, rule: allow-reads}\n"
        "  - {command: 'kubectl delete pod x -n dev', decision: allow}\n"
        "  - {command: 'kubectl get pods', decision: allow, rule: wrong-rule}\n"
        "  - {name: 'shell', command: 'get pods && id', tool: kubectl, decision: invalid}\n"
    )
    code, out = run(capsys, "test", str(REPO / "policies/default.yaml"), str(tests))
    assert code == 1
    assert "PASS  kubectl get pods -n dev" in out and "PASS  shell" in out
    assert (
        f"FAIL  kubectl delete pod x -n dev  [{tests}:3]: expected allow, got deny (rule builtin:read-only)"
        in out
    )
    assert "expected allow (rule wrong-rule), got allow (rule allow-reads)" in out
    assert "2 passed, 2 failed" in out


def test_policy_test_validates_the_tests_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text(
        "tests:\n  - {command: 'kubectl get pods', decision: alow}\n  - {comand: x, decision: deny}\n"
    )
    code, out = run(capsys, "test", str(REPO / "policies/default.yaml"), str(tests))
    assert code == 1
    assert f"{tests}:2:45: decision must be one of allow, deny, would-deny, approve, invalid" in out
    assert "(did you mean 'allow'?)" in out
    assert f"{tests}:3:6: unknown key 'comand' in a test (did you mean 'command'?)" in out


def test_policy_test_of_an_empty_table_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text("tests: []\n")
    code, _ = run(capsys, "test", str(REPO / "policies/default.yaml"), str(tests))
    assert code == 1


def test_policy_test_with_dry_run_expects_would_deny(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy, tests = tmp_path / "p.yaml", tmp_path / "t.yaml"
    policy.write_text("version: 1\nmode: dry-run\nrules: [{id: r, effect: allow, verbs: [get]}]\n")
    tests.write_text(
        "tests:\n  - {command: 'kubectl delete pod x', decision: would-deny, rule: 'builtin:read-only'}\n"
    )
    code, out = run(capsys, "test", str(policy), str(tests))
    assert code == 0, out


def test_check_prints_three_mistakes_at_once_each_with_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "three.yaml"
    bad.write_text(
        "version: 1\n"
        "default: deny\n"
        "rules:\n"
        "  - id: reads\n"
        "    effect: alow\n"
        "    verbs: [gett]\n"
        "    resources: [podz]\n"
    )
    code, out = run(capsys, "check", str(bad))
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith(f"{bad}:")]
    assert len(lines) == 3, out
    assert lines[0].startswith(f"{bad}:5:13: effect must be one of")
    assert lines[1].startswith(f"{bad}:6:13: unknown verb 'gett'") and "did you mean 'get'" in lines[1]
    assert lines[2].startswith(f"{bad}:7:17: unknown resource 'podz'") and "did you mean 'pods'" in lines[2]


def test_explain_uses_the_principals_own_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text(
        f"keys:\n- principal: ops\n  sha256: {'a' * 64}\n  policy: {POLICIES / 'permissive.yaml'}\n"
    )
    command = ("--", "kubectl", "scale", "deploy", "web", "--replicas=2", "-n", "dev")
    # the options come before FILE: everything after FILE is the command
    code, text = run(
        capsys, "explain", "--principal", "ops", "--keys", str(keys), str(POLICIES / "default.yaml"), *command
    )
    assert code == 0
    assert "principal:  ops" in text and "permissive.yaml" in text
    code, text = run(capsys, "explain", str(POLICIES / "default.yaml"), *command)
    assert code == 1  # the default policy is read-only


def test_explain_of_an_unknown_principal_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text(f"keys:\n- principal: ops\n  sha256: {'a' * 64}\n")
    args = ("explain", "--principal", "nobody", "--keys", str(keys), str(POLICIES / "default.yaml"))
    code, text = run(capsys, *args, "--", "kubectl", "get", "pods")
    assert code == 2
    assert "nobody" in text
