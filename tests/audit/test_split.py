"""`audit split`: the records of several chains in one merged stream (plain JSON Lines or the
container runtime's log format, partial lines included) back into one file per chain, so that
`audit verify --each` checks each and names the chain and position of a record missing from one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from k8s_mcp_server.audit import AuditLog
from k8s_mcp_server.audit.split import split_chains

CLI_TIMEOUT = 60


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "audit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def chain(tmp: Path, name: str, n: int) -> list[bytes]:
    log = AuditLog(tmp / f"{name}-own.jsonl", fsync=False, chain_id=name)
    for i in range(n):
        log.write({"event": "decision", "request_id": f"{name}-{i}", "decision": "allow"})
    log.close()
    return [line for line in (tmp / f"{name}-own.jsonl").read_bytes().splitlines() if line]


def test_every_record_of_a_chain_names_it_and_the_name_is_covered_by_the_hash(tmp_path: Path) -> None:
    lines = chain(tmp_path, "pod-a", 2)
    assert [json.loads(line)["chain"] for line in lines] == ["pod-a", "pod-a"]
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(lines[0].replace(b'"pod-a"', b'"pod-b"') + b"\n" + lines[1] + b"\n")
    assert cli("verify", forged).returncode == 1


def test_a_merged_stream_splits_into_chains_that_verify_each(tmp_path: Path) -> None:
    a, b = chain(tmp_path, "pod-a", 4), chain(tmp_path, "pod-b", 4)
    stream = tmp_path / "merged.jsonl"
    merged = [a[0], b"INFO:uvicorn: a log line", b[0], a[1], b[1], b[2], a[2], a[3], b[3]]
    stream.write_bytes(b"\n".join(merged) + b"\n")
    out = cli("split", stream, "--out", tmp_path / "chains")
    assert out.returncode == 0, out.stderr
    assert "2 chains; 1 other lines skipped" in out.stdout
    assert (tmp_path / "chains" / "pod-a.jsonl").read_bytes().splitlines() == a  # byte for byte, in order
    each = cli("verify", "--each", tmp_path / "chains")
    assert each.returncode == 0 and "2 chains: 2 ok, 0 failed" in each.stdout, each.stdout


def test_a_record_removed_from_the_stream_is_reported_with_its_chain_and_position(tmp_path: Path) -> None:
    a, b = chain(tmp_path, "pod-a", 4), chain(tmp_path, "pod-b", 4)
    stream = tmp_path / "merged.jsonl"
    stream.write_bytes(b"\n".join([a[0], b[0], a[1], b[2], a[2], b[3], a[3]]) + b"\n")  # b[1] is gone
    assert cli("split", stream, "--out", tmp_path / "chains").returncode == 0
    each = cli("verify", "--each", tmp_path / "chains")
    assert each.returncode == 1
    target = tmp_path / "chains" / "pod-b.jsonl"
    assert f"{target}: FAIL: {target}:2: request_id=pod-b-2: deleted" in each.stdout
    assert f"{tmp_path / 'chains' / 'pod-a.jsonl'}: ok: 4 records" in each.stdout


def test_container_log_lines_are_unwrapped_partial_lines_joined_and_stderr_dropped(tmp_path: Path) -> None:
    a = chain(tmp_path, "pod-a", 2)
    half = len(a[1]) // 2
    cri = [
        b"2026-12-02T06:00:00.000000001Z stdout F " + a[0],
        b"2026-12-02T06:00:00.000000002Z stderr F INFO: something the server logged",
        b"2026-12-02T06:00:00.000000003Z stdout P " + a[1][:half],
        b"2026-12-02T06:00:00.000000004Z stdout F " + a[1][half:],
    ]
    log = tmp_path / "server-0.log"
    log.write_bytes(b"\n".join(cri) + b"\n")
    result = split_chains([log], tmp_path / "chains")
    assert (result.chains, result.stderr, result.skipped) == ({"pod-a": 2}, 1, 0)
    assert cli("verify", tmp_path / "chains" / "pod-a.jsonl").returncode == 0


def test_split_never_overwrites_a_chain_file(tmp_path: Path) -> None:
    a = chain(tmp_path, "pod-a", 1)
    stream = tmp_path / "merged.jsonl"
    stream.write_bytes(a[0] + b"\n")
    assert cli("split", stream, "--out", tmp_path / "chains").returncode == 0
    again = cli("split", stream, "--out", tmp_path / "chains")
    assert again.returncode == 2 and "exists" in again.stderr
