"""Without API keys or OAuth every caller is `anonymous`: an approval could not tell the requester
from anyone else, so a command under an approve rule is refused (audited), not held."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.approvals.support import APPROVE_POLICY, records
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import start_server

pytestmark = pytest.mark.cluster


def test_an_anonymous_caller_under_an_approve_rule_is_refused_and_nothing_is_held(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text(APPROVE_POLICY)
    server = start_server(tmp_path, server_env(cluster, standin_dir, tmp_path / "policy.yaml"), name="anon")
    try:
        answer = httpx.post(
            f"{server.url}/tools/kubectl",
            json={"command": "scale deploy/api --replicas=3 -n appr-none"},
            headers={"X-Kubeconfig": cluster.admin_b64()},
            timeout=60,
        )
        listed = httpx.get(f"{server.url}/approvals", timeout=30)
    finally:
        server.stop()
    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"]["code"] == "approval_needs_identity"
    assert listed.status_code == 403 and listed.json()["detail"]["code"] == "approver_required"
    refused = [r for r in records(server) if r.get("error_code") == "approval_needs_identity"]
    assert len(refused) == 1 and refused[0]["decision"] == "rejected"
    assert not any(r["event"] == "approval_requested" for r in records(server))
