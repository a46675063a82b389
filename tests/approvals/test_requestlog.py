"""The server's request log line says a command waiting for an approver is pending, not refused."""

from __future__ import annotations

import logging

import pytest

from k8s_mcp_server.api import requestlog
from k8s_mcp_server.approvals import ApprovalPending
from k8s_mcp_server.contracts import CommandRequest
from tests.approvals.test_store import pending


def test_a_pending_approval_is_logged_as_approve_with_its_code(caplog: pytest.LogCaptureFixture) -> None:
    request = CommandRequest(request_id="r1", tool="kubectl", command="scale deploy/api --replicas=3 -n dev")
    with caplog.at_level(logging.INFO, logger=requestlog.log.name):
        requestlog.refused(request, ApprovalPending(pending("a1"), "r1"), 0.01)
    fields = caplog.records[-1].request_fields  # type: ignore[attr-defined]
    assert (fields["decision"], fields["code"]) == ("approve", "approval_pending")
    assert "scale" not in caplog.text  # never the command
