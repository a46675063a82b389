"""Containment against the real API server: watches end at the timeout, load ends in 200 or 429.

The server runs with its own temporary directory (TMPDIR), so the workspaces it leaves (none, we
check) are told apart from those of other test sessions on the same machine.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from k8s_mcp_server.execute.runner import TERM_GRACE_SECONDS
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

CONCURRENCY, QUEUE, REQUESTS = 4, 6, 100
# Time on top of the timeout and the grace period for HTTP, audit writes and a loaded CI machine.
SLACK_SECONDS = 1.5


class Contained:
    def __init__(self, server: Server, tmpdir: Path) -> None:
        self.server = server
        self.tmpdir = tmpdir

    def workspaces(self) -> list[str]:
        """Per-request workspaces in the server's temp dir (the discovery cache root lives for the server)."""
        return [
            p
            for p in os.listdir(self.tmpdir)
            if p.startswith("k8s-mcp-") and not p.startswith("k8s-mcp-discovery-")
        ]


@pytest.fixture(scope="module")
def contained(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Contained]:
    tmp = tmp_path_factory.mktemp("contained")
    tmpdir = tmp / "tmpdir"
    tmpdir.mkdir()
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_MAX_CONCURRENCY": str(CONCURRENCY),
        "K8S_MCP_MAX_QUEUE": str(QUEUE),
        # the hundred requests come from one address as one caller: this tests the total, not the
        # per-caller share or the connection cap (tests/api/test_fairness_cluster.py does)
        "K8S_MCP_MAX_PER_CALLER": str(CONCURRENCY + QUEUE),
        "K8S_MCP_ADMISSION_WAIT": "0",
        "K8S_MCP_MAX_CONNECTIONS_PER_SOURCE": str(2 * REQUESTS),
        "K8S_MCP_AUDIT_FSYNC": "false",
        "TMPDIR": str(tmpdir),
    }
    srv = start_server(tmp, env)
    try:
        yield Contained(srv, tmpdir)
    finally:
        srv.stop()


def descendants(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent chain reaches `pid`."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found = []
    for child in parents:
        node = child
        while node in parents and node not in (0, 1):
            node = parents[node]
            if node == pid:
                found.append(child)
                break
    return found


def with_marker(marker: str) -> list[int]:
    """Processes whose command line carries `marker`, except this test process."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


def test_a_watch_ends_at_the_timeout_and_leaves_no_process(contained: Contained, cluster: Cluster) -> None:
    marker = f"k8s-mcp-watch-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    res = httpx.post(
        f"{contained.server.url}/tools/kubectl",
        json={"command": f"get pods -w -n default -l app={marker}", "timeout": 3},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["timed_out"] is True
    assert body["success"] is False
    assert 3.0 <= elapsed < 3.0 + TERM_GRACE_SECONDS + SLACK_SECONDS
    assert with_marker(marker) == []
    assert descendants(contained.server.process.pid) == []
    assert contained.workspaces() == []


def test_a_watch_is_really_running_until_the_timeout(contained: Contained, cluster: Cluster) -> None:
    """The control for the test above: while the request is in flight, kubectl is a child of the server."""
    marker = f"k8s-mcp-watch-{uuid.uuid4().hex[:12]}"

    async def scenario() -> tuple[list[int], list[int], list[str]]:
        async with httpx.AsyncClient(timeout=60) as client:
            call = asyncio.ensure_future(
                client.post(
                    f"{contained.server.url}/tools/kubectl",
                    json={"command": f"get pods -w -n default -l app={marker}", "timeout": 3},
                    headers={"X-Kubeconfig": cluster.admin_b64()},
                )
            )
            await asyncio.sleep(1.5)
            seen, children = with_marker(marker), descendants(contained.server.process.pid)
            spaces = contained.workspaces()
            assert (await call).status_code == 200
            return seen, children, spaces

    seen, children, spaces = asyncio.run(scenario())
    assert seen and set(seen) <= set(children)
    assert len(spaces) == 1
    assert with_marker(marker) == []


def test_a_hundred_concurrent_requests_each_complete_or_get_busy(
    contained: Contained, cluster: Cluster
) -> None:
    headers = {"X-Kubeconfig": cluster.admin_b64()}

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=REQUESTS)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{contained.server.url}/tools/kubectl",
                        json={"command": "get ns default -o name"},
                        headers=headers,
                    )
                    for _ in range(REQUESTS)
                )
            )

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, statuses
    done = [r.json() for r in responses if r.status_code == 200]
    busy = [r.json()["detail"] for r in responses if r.status_code == 429]
    assert len(done) >= CONCURRENCY
    assert busy, "the limits were never reached: the test did not test the queue"
    assert all(d["code"] == "busy" for d in busy)
    assert all(b["success"] and b["output"].strip() == "namespace/default" for b in done)
    assert contained.workspaces() == []
    assert descendants(contained.server.process.pid) == []
