"""Shared fixture for the redactor tests."""

from __future__ import annotations

import pytest

from k8s_mcp_server.redact import Redactor


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()
