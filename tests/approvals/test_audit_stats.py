"""`audit stats` counts a request that needed an approval once: the approval's acts are not requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s_mcp_server.cli import main


def test_approval_acts_are_counted_apart_from_requests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "audit.jsonl"
    events = [
        ("approval_requested", "approve"),
        ("approved", "approve"),
        ("consumed", "approve"),
        ("decision", "allow"),
        ("completion", "allow"),
    ]
    lines = [
        {"event": e, "decision": d, "principal": "agent", "tool": "kubectl", "rule": "r"} for e, d in events
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["audit", "stats", str(log), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["totals"]["requests"] == 2
    assert stats["totals"]["approval_acts"] == 2
    assert stats["decision"] == {"approve": 1, "allow": 1}
