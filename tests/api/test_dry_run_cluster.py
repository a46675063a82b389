"""Dry-run mode end to end: a would-be denial runs, comes back as a warning and is audited as
`would-deny`; the credential-flag guard stays enforced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

DRY_RUN_POLICY = """\
version: 1
mode: dry-run
default: deny
read_only: true
secrets: redact
rules:
  - id: only-namespaces
    effect: allow
    tools: [kubectl]
    verbs: [get]
    resources: [namespaces]
"""


@pytest.fixture(scope="module")
def dry_run_server(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("dry-run")
    policy = tmp / "dry-run.yaml"
    policy.write_text(DRY_RUN_POLICY)
    server = start_server(tmp, server_env(cluster, standin_dir, policy))
    yield server
    server.stop()


def records_of(server: Server, request_id: str) -> list[dict[str, object]]:
    lines = server.audit_log.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("request_id") == request_id]


def test_a_would_be_denial_runs_and_comes_back_as_a_warning(
    dry_run_server: Server, admin_headers: dict[str, str]
) -> None:
    res = httpx.post(
        f"{dry_run_server.url}/tools/kubectl",
        json={"command": "get sa default -n default -o name"},
        headers=admin_headers,
        timeout=60,
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["output"].strip() == "serviceaccount/default"  # it ran
    assert len(body["warnings"]) == 1 and body["warnings"][0].startswith("would deny")
    records = records_of(dry_run_server, body["request_id"])
    assert [(r["event"], r["decision"]) for r in records] == [
        ("decision", "would-deny"),
        ("completion", "would-deny"),
    ]
    assert records[0]["rule"] == "default"


def test_an_allowed_command_has_no_warning_in_dry_run(
    dry_run_server: Server, admin_headers: dict[str, str]
) -> None:
    res = httpx.post(
        f"{dry_run_server.url}/tools/kubectl",
        json={"command": "get ns default -o name"},
        headers=admin_headers,
    )
    assert res.status_code == 200
    assert res.json()["warnings"] == []


def test_credential_flags_stay_refused_in_dry_run(
    dry_run_server: Server, admin_headers: dict[str, str]
) -> None:
    res = httpx.post(
        f"{dry_run_server.url}/tools/kubectl",
        json={"command": "get ns --token=abc"},
        headers=admin_headers,
        timeout=60,
    )
    assert res.status_code == 403
    assert res.json()["detail"]["rule"] == "builtin:guarded-flag"
