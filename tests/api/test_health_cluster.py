"""Honest health and a useful console, against real server processes.

/health is 503 with the reason whenever requests would be refused (or the files on disk are not what
is in force); a second server on one audit file does not start; the console shows a banner, one
structured line per request and every reload.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.identity_support import bearer, write_keys
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.mcp import call_tool
from tests.support.server import Server, free_port, start_server

pytestmark = pytest.mark.cluster

KEY = "kms_test-health-key-0123456789abcdef"
# Files are re-read at most once a second (watched.CHECK_INTERVAL); a loaded CI machine gets slack.
RELOAD_WAIT = 20.0
SECOND_SERVER_TIMEOUT = 60


def health(server: Server) -> tuple[int, dict[str, Any]]:
    res = httpx.get(f"{server.url}/health", timeout=10)
    body: dict[str, Any] = res.json()
    return res.status_code, body


def wait_for(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + RELOAD_WAIT
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_second_server_on_the_same_audit_file_exits_naming_the_file(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    env["K8S_MCP_AUDIT_LOG"] = str(tmp_path / "shared-audit.jsonl")
    first = start_server(tmp_path, env, name="first")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "k8s_mcp_server", "serve"],
            env={**os.environ, **env, "K8S_MCP_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=SECOND_SERVER_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 2
        assert (
            f"another process is already writing the audit log {tmp_path / 'shared-audit.jsonl'}"
            in proc.stderr
        )
        assert "K8S_MCP_AUDIT_LOG" in proc.stderr
        assert health(first) == (200, {**health(first)[1], "status": "ok", "problems": []})
    finally:
        first.stop()


def test_a_broken_keys_file_makes_health_503_with_the_reason_and_it_recovers(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("ci", KEY, None)])
    env = server_env(cluster, standin_dir, REPO / "policies" / "default.yaml")
    env["K8S_MCP_API_KEYS_FILE"] = str(keys)
    server = start_server(tmp_path, env)
    try:
        assert health(server)[1]["problems"] == []
        keys.write_text("keys:\n  - principal: ci\n    sha256: not-a-hash\n")
        assert wait_for(lambda: health(server)[0] == 503)
        body = health(server)[1]
        assert body["status"] == "unavailable"
        assert any(p.startswith("keys: ") and str(keys) in p for p in body["problems"]), body
        assert KEY not in json.dumps(body)
        res = httpx.post(
            f"{server.url}/tools/kubectl", json={"command": "get ns"}, headers=bearer(KEY), timeout=30
        )
        assert res.status_code == 401
        write_keys(keys, [("ci", KEY, None)])
        assert wait_for(lambda: health(server)[0] == 200)
        log = server.log_path.read_text()
        assert "keys: " in log and "keys file" in log and "reloaded: 1 principals" in log
        assert KEY not in log
    finally:
        server.stop()


def test_a_rejected_policy_file_makes_health_503_naming_it_and_the_revision_in_force(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text((REPO / "policies" / "default.yaml").read_text())
    server = start_server(tmp_path, server_env(cluster, standin_dir, policy))
    try:
        revision = health(server)[1]["revision"]
        policy.write_text("version: 1\nrulez: []\n")
        assert wait_for(lambda: health(server)[0] == 503)
        body = health(server)[1]
        assert body["status"] == "degraded"
        (problem,) = body["problems"]
        assert problem.startswith(f"policy {policy}: the changed file was rejected")
        assert revision in problem and "rulez" in problem
        assert "was rejected, revision" in server.log_path.read_text()
    finally:
        server.stop()


def test_the_console_shows_a_banner_and_one_json_line_per_request_without_the_command(
    server: Server, admin_headers: dict[str, str]
) -> None:
    log = server.log_path.read_text()
    for line in ("  policy      ", "  audit log   ", "  auth        no API keys", "  CLIs        kubectl /"):
        assert line in log
    assert f"  MCP         {server.url}/mcp" in log
    denied = httpx.post(
        f"{server.url}/tools/kubectl", json={"command": "delete pod web-7f3c -n default"}, timeout=30
    )
    ran = httpx.post(
        f"{server.url}/tools/kubectl", json={"command": "get ns default"}, headers=admin_headers, timeout=30
    )
    wanted = {denied.json()["detail"]["request_id"], ran.json()["request_id"]}
    lines: dict[str, dict[str, Any]] = {}

    def logged() -> bool:
        for text in server.log_path.read_text().splitlines():
            if text.startswith("{") and '"event":"request"' in text:
                entry = json.loads(text)
                lines[entry["request_id"]] = entry
        return wanted <= set(lines)

    assert wait_for(logged)
    deny = lines[denied.json()["detail"]["request_id"]]
    assert (deny["decision"], deny["code"], deny["tool"], deny["transport"]) == (
        "deny",
        "policy_denied",
        "kubectl",
        "rest",
    )
    assert deny["rule"] == denied.json()["detail"]["rule"]
    allow = lines[ran.json()["request_id"]]
    assert (allow["decision"], allow["exit_code"], allow["code"]) == ("allow", 0, None)
    assert allow["rule"] and isinstance(allow["duration_ms"], float)
    assert "web-7f3c" not in server.log_path.read_text()


async def test_an_mcp_tool_call_gets_its_request_line_too(
    server: Server, admin_headers: dict[str, str]
) -> None:
    result = await call_tool(server.url, admin_headers, "kubectl", {"command": "get ns default"})
    assert not result.isError
    assert result.structuredContent is not None
    request_id = result.structuredContent["request_id"]

    def line() -> dict[str, Any] | None:
        for text in server.log_path.read_text().splitlines():
            if text.startswith("{") and request_id in text:
                entry: dict[str, Any] = json.loads(text)
                return entry
        return None

    assert wait_for(lambda: line() is not None)
    entry = line()
    assert entry is not None
    assert (entry["transport"], entry["decision"], entry["exit_code"]) == ("mcp", "allow", 0)
