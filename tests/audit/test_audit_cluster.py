"""The audit log end to end: a real server process under load, the real API server, the real CLI.

These tests read the file the running server wrote and check it with `k8s-mcp-server audit …` run as
a separate process, exactly as an auditor would.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

CLIENTS = 50
REQUESTS = 500
# kind -> (command, expected status, records per request)
COMMANDS: dict[str, tuple[str, int, int]] = {
    "allowed": ("get ns default -o name", 200, 2),
    "denied": ("delete ns default", 403, 1),
    "invalid": ("get pods; rm -rf /", 400, 1),
}
# A CLI run takes well under a second; the bound covers a loaded machine.
CLI_TIMEOUT = 120


def audit_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`k8s-mcp-server audit …` as its own process (the installed console script when there is one)."""
    script = Path(sys.executable).with_name("k8s-mcp-server")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "k8s_mcp_server"]
    return subprocess.run(
        [*argv, "audit", *args], capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def loaded(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, list[tuple[str, httpx.Response]]]]:
    """A server on the default policy after 500 requests from 50 concurrent clients."""
    tmp = tmp_path_factory.mktemp("audit-load")
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        # room for every client at once, all of them one anonymous caller: this test is about the
        # audit log, not about 429 busy or rate_limited
        "K8S_MCP_MAX_QUEUE": str(CLIENTS * 2),
        "K8S_MCP_MAX_PER_CALLER": str(CLIENTS * 2),
        "K8S_MCP_RATE_LIMIT_PER_MINUTE": "0",
    }
    srv = start_server(tmp, env, name="load")
    rng = random.Random(5)  # noqa: S311 - a reproducible mix, not a secret
    kinds = [rng.choice(list(COMMANDS)) for _ in range(REQUESTS)]
    headers = {"X-Kubeconfig": cluster.admin_b64()}

    async def client(mine: list[str]) -> list[tuple[str, httpx.Response]]:
        out = []
        async with httpx.AsyncClient(base_url=srv.url, headers=headers, timeout=120) as http:
            for kind in mine:
                res = await http.post("/tools/kubectl", json={"command": COMMANDS[kind][0]})
                out.append((kind, res))
        return out

    async def drive() -> list[tuple[str, httpx.Response]]:
        shares = [kinds[i::CLIENTS] for i in range(CLIENTS)]
        results = await asyncio.gather(*(client(share) for share in shares))
        return [pair for result in results for pair in result]

    try:
        yield srv, asyncio.run(drive())
    finally:
        srv.stop()


def request_id(res: httpx.Response) -> str:
    body = res.json()
    rid = body["request_id"] if res.status_code == 200 else body["detail"]["request_id"]
    assert isinstance(rid, str)
    return rid


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_request_got_its_expected_status(
    loaded: tuple[Server, list[tuple[str, httpx.Response]]],
) -> None:
    _, results = loaded
    assert len(results) == REQUESTS
    wrong = [
        (kind, res.status_code, res.text[:200])
        for kind, res in results
        if res.status_code != COMMANDS[kind][1]
    ]
    assert wrong == []
    assert {kind for kind, _ in results} == set(COMMANDS)  # the mix holds every kind


def test_500_concurrent_requests_leave_exactly_the_expected_records_each_valid_json(
    loaded: tuple[Server, list[tuple[str, httpx.Response]]],
) -> None:
    srv, results = loaded
    lines = srv.audit_log.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a complete line
    parsed = [json.loads(line) for line in lines[:-1]]
    assert all(isinstance(record, dict) for record in parsed)
    assert len(parsed) == sum(COMMANDS[kind][2] for kind, _ in results)

    by_request: dict[str, list[dict[str, Any]]] = {}
    for record in parsed:
        by_request.setdefault(record["request_id"], []).append(record)
    assert len(by_request) == REQUESTS
    expected_events = {
        "allowed": (["decision", "completion"], ["allow", "allow"]),
        "denied": (["decision"], ["deny"]),
        "invalid": (["decision"], ["rejected"]),
    }
    for kind, res in results:
        mine = by_request[request_id(res)]
        assert ([r["event"] for r in mine], [r["decision"] for r in mine]) == expected_events[kind]
        assert {r["command"] for r in mine} == {COMMANDS[kind][0]}
        assert all(r["transport"] == "rest" and r["principal"] == "anonymous" for r in mine)


def test_audit_verify_passes_on_the_log_the_server_wrote(
    loaded: tuple[Server, list[tuple[str, httpx.Response]]],
) -> None:
    srv, results = loaded
    total = sum(COMMANDS[kind][2] for kind, _ in results)
    last = records(srv.audit_log)[-1]["hash"]
    done = audit_cli("verify", str(srv.audit_log))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == f"ok: {total} records, last hash {last}"
    anchored = audit_cli("verify", "--anchor", last, str(srv.audit_log))
    assert anchored.returncode == 0, anchored.stdout + anchored.stderr


def test_audit_query_finds_every_denial_and_only_denials(
    loaded: tuple[Server, list[tuple[str, httpx.Response]]],
) -> None:
    srv, results = loaded
    done = audit_cli("query", str(srv.audit_log), "--decision", "deny", "--json")
    assert done.returncode == 0, done.stderr
    found = [json.loads(line) for line in done.stdout.splitlines()]
    denied = {request_id(res) for kind, res in results if kind == "denied"}
    assert {r["request_id"] for r in found} == denied and len(found) == len(denied)
    assert {(r["decision"], r["rule"]) for r in found} == {("deny", "builtin:read-only")}


def test_audit_stats_counts_requests_by_decision(
    loaded: tuple[Server, list[tuple[str, httpx.Response]]],
) -> None:
    srv, results = loaded
    done = audit_cli("stats", "--json", str(srv.audit_log))
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    kinds = Counter(kind for kind, _ in results)
    assert stats["totals"] == {
        "records": 2 * kinds["allowed"] + kinds["denied"] + kinds["invalid"],
        "requests": REQUESTS,
        "completions": kinds["allowed"],
        "nonzero_exit": 0,
        "timed_out": 0,
    }
    assert stats["decision"] == {
        "allow": kinds["allowed"],
        "deny": kinds["denied"],
        "rejected": kinds["invalid"],
    }
    assert stats["tool"] == {"kubectl": REQUESTS}
    assert stats["principal"] == {"anonymous": REQUESTS}


# --- tampering with the file the server wrote: `audit verify` names the first bad record ----------


@pytest.fixture
def copy(loaded: tuple[Server, list[tuple[str, httpx.Response]]], tmp_path: Path) -> Path:
    target = tmp_path / "audit.jsonl"
    shutil.copyfile(loaded[0].audit_log, target)
    return target


def _rid(line: bytes) -> str:
    return str(json.loads(line)["request_id"])


def _fails_at(path: Path, line: int, rid: str, kind: str) -> None:
    done = audit_cli("verify", str(path))
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith(f"FAIL: {path}:{line}: request_id={rid}: {kind}: ")
    assert f"({line - 1} records before it are intact)" in done.stdout


def test_verify_names_a_record_with_one_byte_changed(copy: Path) -> None:
    lines = copy.read_bytes().splitlines(keepends=True)
    index = 123
    at = lines[index].index(b'"principal":"anonymous"') + len(b'"principal":"anonymou')
    lines[index] = lines[index][:at] + b"z" + lines[index][at + 1 :]
    copy.write_bytes(b"".join(lines))
    _fails_at(copy, index + 1, _rid(lines[index]), "modified")


def test_verify_names_the_record_after_a_deleted_line(copy: Path) -> None:
    lines = copy.read_bytes().splitlines(keepends=True)
    index = 200
    del lines[index]
    copy.write_bytes(b"".join(lines))
    _fails_at(copy, index + 1, _rid(lines[index]), "deleted")


def test_verify_names_the_first_of_two_swapped_lines(copy: Path) -> None:
    lines = copy.read_bytes().splitlines(keepends=True)
    index = 300
    lines[index], lines[index + 1] = lines[index + 1], lines[index]
    copy.write_bytes(b"".join(lines))
    _fails_at(copy, index + 1, _rid(lines[index]), "reordered")


def test_verify_names_a_cut_off_last_line(copy: Path) -> None:
    data = copy.read_bytes()
    copy.write_bytes(data[: len(data) // 2])
    count = data[: len(data) // 2].count(b"\n")
    _fails_at(copy, count + 1, "?", "truncated")


def test_verify_with_an_anchor_catches_records_cut_off_at_a_line_boundary(copy: Path) -> None:
    lines = copy.read_bytes().splitlines(keepends=True)
    anchor = json.loads(lines[-1])["hash"]
    copy.write_bytes(b"".join(lines[:-3]))
    assert audit_cli("verify", str(copy)).returncode == 0  # the chain alone cannot see this
    done = audit_cli("verify", "--anchor", anchor, str(copy))
    assert done.returncode == 1
    assert done.stdout.startswith(f"FAIL: the anchored hash {anchor} is not in the log")
