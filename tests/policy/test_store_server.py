"""Hot reload, shown against a running server: swap, reject an invalid file, recover."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

RELOAD_WAIT = 15.0  # the store re-stats at most once a second; generous for a loaded CI machine

_READS = """\
version: 1
read_only: true
rules:
  - {id: reads, effect: allow, verbs: ["*"]}
"""
_NO_NAMESPACES = (
    _READS
    + """\
  - id: no-namespaces
    effect: deny
    verbs: [get]
    resources: [namespaces]
    reason: namespaces are off limits today
"""
)
_INVALID = """\
version: 1
read_only: ture
rules:
  - {id: reads, effect: allow, verbs: [gett]}
"""


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _health(server: Server) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/health", timeout=10)
    body: dict[str, Any] = response.json()
    # 503 "degraded" while a rejected file is on disk (the last good policy still serves)
    assert (response.status_code, body["status"]) in ((200, "ok"), (503, "degraded"))
    return body


def _wait_for(server: Server, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + RELOAD_WAIT
    while True:
        body = _health(server)
        if condition(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _get_ns(server: Server, cluster: Cluster) -> httpx.Response:
    return httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": "get ns default -o name"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )


@pytest.fixture
def reloading(cluster: Cluster, standin_dir: Path, tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_READS)
    server = start_server(tmp_path, server_env(cluster, standin_dir, policy), name="reload")
    try:
        yield server, policy
    finally:
        server.stop()


def test_the_running_server_swaps_in_a_changed_policy_keeps_it_over_an_invalid_one_and_recovers(
    reloading: tuple[Server, Path], cluster: Cluster
) -> None:
    server, policy = reloading
    first = _health(server)
    assert first["last_error"] is None
    assert _get_ns(server, cluster).status_code == 200

    _write_atomically(policy, _NO_NAMESPACES)
    second = _wait_for(server, lambda body: body["revision"] != first["revision"])
    assert second["revision"] != first["revision"] and second["last_error"] is None
    denied = _get_ns(server, cluster)
    assert denied.status_code == 403
    assert denied.json()["detail"]["rule"] == "no-namespaces"
    assert "namespaces are off limits today" in denied.json()["detail"]["message"]

    _write_atomically(policy, _INVALID)
    rejected = _wait_for(server, lambda body: body["last_error"] is not None)
    assert rejected["revision"] == second["revision"]  # the last good policy stays in force
    assert f"{policy}:2:12:" in rejected["last_error"] and f"{policy}:4:40:" in rejected["last_error"]
    assert _get_ns(server, cluster).json()["detail"]["rule"] == "no-namespaces"

    _write_atomically(policy, _READS + "# fixed\n")
    fixed = _wait_for(server, lambda body: body["last_error"] is None)
    assert fixed["last_error"] is None
    assert fixed["revision"] not in (first["revision"], second["revision"])
    assert _get_ns(server, cluster).status_code == 200
