"""Shared fixture for the redactor tests."""

from __future__ import annotations

import pytest

from k8s_mcp_server.redact import Redactor


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


@pytest.fixture(autouse=True, scope="session")
def _compiled_redaction_rules() -> None:
    """Compile the shared redaction rules once up front, so Hypothesis deadlines time the redaction
    and not the one-time Hyperscan compile of the first example."""
    from k8s_mcp_server.redact.ruleset import ruleset

    ruleset()
