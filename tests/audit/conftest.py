"""Helpers shared by the audit tests: a log in a temp dir and sample contracts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_mcp_server.audit import AuditLog


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


@pytest.fixture
def audit_log(log_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(log_path, fsync=False)
    yield log
    log.close()


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def sample(n: int, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "request_id": f"req-{n}",
        "event": "decision",
        "principal": "ci-bot",
        "tool": "kubectl",
        "command": f"get pods -n dev # {n}",
        "decision": "allow",
        "rule": "allow-reads",
        "verbs": ["get"],
        "namespaces": ["dev"],
    }
    record.update(extra)
    return record


@pytest.fixture(autouse=True, scope="session")
def _compiled_redaction_rules() -> None:
    """Compile the shared redaction rules once up front, so Hypothesis deadlines time the redaction
    and not the one-time Hyperscan compile of the first example."""
    from k8s_mcp_server.redact.ruleset import ruleset

    ruleset()
