"""Policy impact: audited decisions replayed under two policies."""

from __future__ import annotations

import io
import json
from argparse import Namespace
from pathlib import Path
from typing import Any

from k8s_mcp_server.policy import compile_policy
from k8s_mcp_server.policy.diffcli import EXIT_CHANGED, EXIT_SAME, EXIT_USAGE, diff_command
from k8s_mcp_server.policy.impact import replay

OLD = """\
version: 1
default: deny
read_only: true
namespaces: {allow: [dev, prod]}
rules:
  - {id: reads, effect: allow, verbs: [get]}
"""
NEW = OLD.replace("[dev, prod]", "[prod]")


def _record(command: str, namespaces: list[str], decision: str = "allow", **extra: Any) -> dict[str, Any]:
    return {
        "event": "decision",
        "decision": decision,
        "tool": "kubectl",
        "command": command,
        "namespaces": namespaces,
        "principal": "alice",
        "request_id": command,
        "ts": "2026-12-01T10:00:00Z",
        **extra,
    }


RECORDS = [
    _record("get pods -n dev", ["dev"]),
    _record("get pods", ["dev"]),  # dev came from the kubeconfig's context: the record says so
    _record("get pods -n prod", ["prod"]),
    _record("delete pod x -n dev", ["dev"], decision="deny"),
    _record("get ns", []),
    {**_record("get pods -n dev", ["dev"]), "event": "completion"},  # not a decision: not replayed again
    _record("get pods --token [REDACTED] -n dev", ["dev"], decision="rejected"),
    _record("get pods -n dev --kubeconfig=[REDACTED]", ["dev"], decision="deny"),
]


def test_dropping_a_namespace_lists_exactly_its_allowed_requests_as_newly_denied() -> None:
    impact = replay(compile_policy(OLD), compile_policy(NEW), RECORDS)
    assert sorted(c.request_id for c in impact.newly_denied) == ["get pods", "get pods -n dev"]
    assert all(c.old_rule == "reads" and c.new_rule == "builtin:namespaces" for c in impact.newly_denied)
    assert impact.newly_allowed == [] and impact.replayed == 6 and impact.unchanged == 4


def test_the_reverse_change_lists_them_as_newly_allowed() -> None:
    impact = replay(compile_policy(NEW), compile_policy(OLD), RECORDS)
    assert len(impact.newly_allowed) == 2 and impact.newly_denied == []


def test_a_recorded_command_that_no_longer_parses_is_counted_not_dropped() -> None:
    broken = _record("get pods -n dev 'unterminated", ["dev"])
    impact = replay(compile_policy(OLD), compile_policy(NEW), [broken])
    assert impact.not_replayable == 1 and impact.replayed == 0


def _args(tmp_path: Path, **extra: Any) -> Namespace:
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    audit = tmp_path / "audit.jsonl"
    audit.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    fields = {"since": None, "principal": None, "json": True, **extra}
    return Namespace(old=tmp_path / "old.yaml", new=tmp_path / "new.yaml", audit=audit, **fields)


def test_the_cli_prints_json_and_exits_1_on_changes_0_without(tmp_path: Path) -> None:
    out = io.StringIO()
    assert diff_command(_args(tmp_path), out) == EXIT_CHANGED
    report = json.loads(out.getvalue())
    assert len(report["newly_denied"]) == 2 and report["files"] == 1
    same = _args(tmp_path)
    same.new = same.old
    assert diff_command(same, io.StringIO()) == EXIT_SAME


def test_the_cli_filters_by_principal_and_time(tmp_path: Path) -> None:
    out = io.StringIO()
    assert diff_command(_args(tmp_path, principal="bob"), out) == EXIT_SAME
    out = io.StringIO()
    assert diff_command(_args(tmp_path, since="2026-12-02"), out) == EXIT_SAME


def test_the_cli_says_what_is_wrong_with_its_input(tmp_path: Path) -> None:
    args = _args(tmp_path, json=False)
    args.audit = tmp_path / "missing.jsonl"
    out = io.StringIO()
    assert diff_command(args, out) == EXIT_USAGE and "no audit file" in out.getvalue()
    args = _args(tmp_path, since="yesterday-ish")
    out = io.StringIO()
    assert diff_command(args, out) == EXIT_USAGE and "--since" in out.getvalue()
    (tmp_path / "new.yaml").write_text("version: 1\ndefault: maybe\n")
    args = _args(tmp_path)
    (tmp_path / "new.yaml").write_text("version: 1\ndefault: maybe\n")
    out = io.StringIO()
    assert diff_command(args, out) == EXIT_USAGE and "default" in out.getvalue()
