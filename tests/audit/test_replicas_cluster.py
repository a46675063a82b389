"""Audit across replicas: each server process keeps its own hash-chained file. A replica killed with
SIGKILL in the middle of requests loses no decision record (written and flushed before its command
ran), its file still verifies, the other replica keeps serving, and `audit verify --each` over both
files (or their folder) reports each chain, naming the chain, line and request of a record removed
from the middle of either."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.api.identity_support import bearer, write_keys
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

KEY = "kms_audit-replicas-0123456789abcdef"
REQUESTS = 12
VERIFY_TIMEOUT = 60


def records(path: Path) -> list[dict[str, object]]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "audit", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=VERIFY_TIMEOUT,
        check=False,
    )


@pytest.fixture
def pair(cluster: Cluster, standin_dir: Path, tmp_path: Path, pg_url: str) -> tuple[Server, Server]:
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("ci-bot", KEY, None)])
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    env |= {"K8S_MCP_API_KEYS_FILE": str(keys), "K8S_MCP_DATABASE_URL": pg_url}
    a = start_server(tmp_path, env, name="replica-a")
    b = start_server(tmp_path, env, name="replica-b")
    return a, b


def get_ns(server: Server, cluster: Cluster) -> httpx.Response:
    return httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": "get namespaces"},
        headers=bearer(KEY, **{"X-Kubeconfig": cluster.admin_b64()}),
        timeout=60,
    )


def test_a_replica_killed_mid_requests_loses_no_decision_record_and_the_other_keeps_serving(
    pair: tuple[Server, Server], cluster: Cluster
) -> None:
    a, b = pair
    try:
        answered: list[str] = []
        refused: list[str] = []  # 429 busy: more than MAX_PER_CALLER places for one principal
        failed: list[str] = []
        enough = threading.Event()
        lock = threading.Lock()

        def one() -> None:
            try:
                res = get_ns(a, cluster)
            except httpx.HTTPError as exc:
                with lock:
                    failed.append(type(exc).__name__)
                return
            with lock:
                if res.status_code != 200:
                    refused.append(res.json()["detail"]["code"])
                    return
                answered.append(res.json()["request_id"])
                if len(answered) >= 3:
                    enough.set()

        threads = [threading.Thread(target=one) for _ in range(REQUESTS)]
        for t in threads:
            t.start()
        assert enough.wait(120)
        a.process.send_signal(signal.SIGKILL)
        a.process.wait()
        for t in threads:
            t.join()
        assert len(answered) + len(refused) + len(failed) == REQUESTS and answered
        assert set(refused) <= {"busy"}

        written = records(a.audit_log)
        decided = {r["request_id"] for r in written if r["event"] == "decision" and r["decision"] == "allow"}
        completed = {r["request_id"] for r in written if r["event"] == "completion"}
        assert set(answered) <= decided  # every answered request was audited before it ran ...
        assert set(answered) <= completed  # ... and after
        assert completed <= decided  # no completion without its decision
        out = verify(a.audit_log)
        assert out.returncode == 0, out.stdout + out.stderr
        anchored = verify("--rotated", a.audit_log)  # against its anchors file (checkpoints) too
        assert anchored.returncode == 0, anchored.stdout + anchored.stderr

        assert get_ns(b, cluster).status_code == 200  # the fleet keeps serving
    finally:
        b.stop()
        if a.process.poll() is None:
            a.stop()


def test_verify_over_both_replicas_files_names_the_file_and_line_of_a_removed_record(
    pair: tuple[Server, Server], cluster: Cluster, tmp_path: Path
) -> None:
    a, b = pair
    try:
        for server in (a, b, a, b, a, b):
            assert get_ns(server, cluster).status_code == 200
    finally:
        a.stop()
        b.stop()
    # each replica's file is its own chain: `--each` reports every one (plain `verify A B` would read
    # A and B as segments of one chain)
    both = verify("--each", a.audit_log, b.audit_log)
    assert both.returncode == 0, both.stdout + both.stderr
    for server in (a, b):
        assert f"{server.audit_log}: ok: " in both.stdout
    assert "2 chains: 2 ok, 0 failed" in both.stdout
    folder = verify("--each", a.audit_log.parent)  # a folder holding both (as a collector's would)
    assert folder.returncode == 0 and "2 chains: 2 ok, 0 failed" in folder.stdout, folder.stdout

    lines = b.audit_log.read_text().splitlines(keepends=True)
    assert len(lines) >= 6
    removed = json.loads(lines[2])
    b.audit_log.write_text("".join(lines[:2] + lines[3:]))  # the third record of b's chain is gone
    broken = verify("--each", a.audit_log.parent)
    assert broken.returncode == 1
    report = broken.stdout
    assert f"{a.audit_log}: ok: " in report  # the other chain is reported intact
    # the broken chain, the line where it breaks, and the request whose record is gone
    assert f"{b.audit_log}: FAIL: {b.audit_log}:3: request_id={removed['request_id']}" in report
    assert f"{b.audit_log}: (2 records before it are intact)" in report
    assert "2 chains: 1 ok, 1 failed" in report


def test_the_replicas_stdout_merged_splits_into_their_chains_which_verify(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, pg_url: str
) -> None:
    """What a node's collector sees: each pod's stdout (its audit records, one chain named by
    K8S_MCP_AUDIT_CHAIN_ID) beside its stderr log; merged, split by chain, each chain verifies and
    holds every record its pod wrote to its own file."""
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("ci-bot", KEY, None)])
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    env |= {
        "K8S_MCP_API_KEYS_FILE": str(keys),
        "K8S_MCP_DATABASE_URL": pg_url,
        "K8S_MCP_AUDIT_STDOUT": "true",
    }
    servers = []
    for name in ("pod-a", "pod-b"):
        servers.append(start_server(tmp_path, {**env, "K8S_MCP_AUDIT_CHAIN_ID": name}, name=name))
    try:
        for server in (*servers, *servers):
            assert get_ns(server, cluster).status_code == 200
    finally:
        for server in servers:
            server.stop()
    merged = tmp_path / "collected.log"  # stdout and stderr of both, as the server logs hold them
    merged.write_bytes(b"".join(server.log_path.read_bytes() for server in servers))
    split = subprocess.run(
        [
            sys.executable,
            "-m",
            "k8s_mcp_server",
            "audit",
            "split",
            str(merged),
            "--out",
            str(tmp_path / "chains"),
        ],
        capture_output=True,
        text=True,
        timeout=VERIFY_TIMEOUT,
        check=False,
    )
    assert split.returncode == 0, split.stderr
    for server, name in zip(servers, ("pod-a", "pod-b"), strict=True):
        shipped = (tmp_path / "chains" / f"{name}.jsonl").read_bytes()
        assert shipped == server.audit_log.read_bytes()  # the stream carried the file, byte for byte
        assert all(r["chain"] == name for r in records(server.audit_log))
    each = verify("--each", tmp_path / "chains")
    assert each.returncode == 0 and "2 chains: 2 ok, 0 failed" in each.stdout, each.stdout
