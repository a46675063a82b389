"""`policy diff` on a real audit log: requests sent through a real server against the real API server,
then replayed under a policy that drops `dev` from the allowed namespaces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import start_server

pytestmark = pytest.mark.cluster

OLD = """\
version: 1
default: deny
read_only: true
secrets: redact
namespaces: {allow: [dev, prod, default]}
rules:
  - {id: reads, effect: allow, classes: [read, sensitive-read]}
"""
NEW = OLD.replace("[dev, prod, default]", "[prod, default]")
SENT = [
    ("get pods -n dev", "dev"),
    ("get configmaps -n dev", "dev"),
    ("get deploy", "dev"),  # the request's namespace field
    ("get pods -n prod", None),
    ("get pods -n default", None),
    ("get namespaces", None),
    ("delete pod x -n dev", None),  # denied under both: not a change
    ("get pods -n kube-system", None),  # denied under both
]


def test_policy_diff_lists_exactly_the_audited_dev_requests_as_newly_denied(
    cluster: Cluster, standin_dir: Path, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    srv = start_server(tmp_path, server_env(cluster, standin_dir, tmp_path / "old.yaml"), name="impact")
    allowed_dev = 0
    try:
        for _ in range(3):
            for command, namespace in SENT:
                body = {"command": command, **({"namespace": namespace} if namespace else {})}
                res = httpx.post(f"{srv.url}/tools/kubectl", json=body, headers=admin_headers, timeout=60)
                assert res.status_code in (200, 403), res.text[:300]
                allowed_dev += res.status_code == 200 and ("-n dev" in command or namespace == "dev")
    finally:
        srv.stop()
    run = subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "policy", "diff", str(tmp_path / "old.yaml"),
         str(tmp_path / "new.yaml"), "--audit", str(srv.audit_log), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert allowed_dev == 9
    assert len(report["newly_denied"]) == allowed_dev
    assert all(
        c["namespaces"] == ["dev"] and c["new_rule"] == "builtin:namespaces" for c in report["newly_denied"]
    )
    assert report["newly_allowed"] == [] and report["not_replayable"] == 0
    assert report["replayed"] == len(SENT) * 3
