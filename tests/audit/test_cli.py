from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from k8s_mcp_server.audit import AuditLog, add_audit_commands
from k8s_mcp_server.audit.cli import follow
from k8s_mcp_server.audit.files import rotated_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="audit")
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def _rec(
    rid: str, principal: str, tool: str, verb: str, decision: str, rule: str, ns: str, **kw: Any
) -> dict[str, Any]:
    return {
        "request_id": rid, "event": "decision", "principal": principal, "tool": tool, "verbs": [verb],
        "decision": decision, "rule": rule, "namespaces": [ns], "command": f"{verb} things -n {ns}", **kw,
    }  # fmt: skip


@pytest.fixture
def populated(log_path: Path) -> Path:
    log = AuditLog(log_path, fsync=False)
    log.write(_rec("a", "ci-bot", "kubectl", "get", "allow", "allow-reads", "dev"))
    log.write(
        _rec("a", "ci-bot", "kubectl", "get", "allow", "allow-reads", "dev", event="completion", exit_code=0)
    )
    log.write(_rec("b", "alice", "kubectl", "scale", "deny", "no-scale-prod", "prod-eu"))
    log.write(_rec("c", "anonymous", "helm", "install", "rejected", "", "dev", error_code="invalid_command"))
    log.write(_rec("d", "ci-bot", "kubectl", "delete", "would-deny", "read-only", "dev"))
    log.write(
        _rec(
            "d",
            "ci-bot",
            "kubectl",
            "delete",
            "would-deny",
            "read-only",
            "dev",
            event="completion",
            exit_code=1,
        )
    )
    log.write(_rec("e", "alice", "kubectl", "get", "allow", "allow-reads", "*"))
    log.close()
    return log_path


def _json_ids(out: str) -> list[tuple[str, str]]:
    return [(r["request_id"], r["event"]) for r in map(json.loads, out.splitlines())]


def test_verify_ok_prints_count_and_last_hash(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(populated))
    last = json.loads(populated.read_text().splitlines()[-1])["hash"]
    assert code == 0 and out.splitlines()[0] == f"ok: 7 records, last hash {last}"


def test_verify_failure_exits_1_and_names_file_line_and_request(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = populated.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("alice", "alicf")
    populated.write_text("".join(lines))
    code, out, _ = run(capsys, "verify", str(populated))
    assert code == 1 and f"{populated}:3: request_id=b: modified" in out


def test_verify_rotated_expands_the_set(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1)
    for i in range(3):
        log.write(_rec(str(i), "p", "kubectl", "get", "allow", "r", "dev"))
    log.close()
    assert rotated_path(log_path, 2).exists()
    code, out, _ = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 0 and out.startswith("ok: 3 records") and "the chain starts after" not in out
    assert "note: anchored through the checkpoint" in out  # the anchors file beside the log was read
    code, out, _ = run(capsys, "verify", str(log_path))
    assert code == 0 and "note: the chain starts after hash" in out


def test_verify_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "verify", str(tmp_path / "nope.jsonl"))
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--principal", "alice"], [("b", "decision"), ("e", "decision")]),
        (["--decision", "deny"], [("b", "decision")]),
        (["--rule", "read-only", "--event", "decision"], [("d", "decision")]),
        (["--verb", "scale"], [("b", "decision")]),
        (["--tool", "helm"], [("c", "decision")]),
        (["--namespace", "prod-*"], [("b", "decision"), ("e", "decision")]),  # "*" (-A) touched prod too
        (["--principal", "ci-*", "--event", "completion"], [("a", "completion"), ("d", "completion")]),
        (["--request-id", "d"], [("d", "decision"), ("d", "completion")]),
    ],
)
def test_query_filters(
    populated: Path, capsys: pytest.CaptureFixture[str], filters: list[str], expected: list[tuple[str, str]]
) -> None:
    code, out, _ = run(capsys, "query", str(populated), "--json", *filters)
    assert code == 0 and _json_ids(out) == expected


def test_query_time_window(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [json.loads(line) for line in populated.read_text().splitlines()]
    code, out, _ = run(
        capsys, "query", str(populated), "--json", "--since", records[2]["ts"], "--until", records[3]["ts"]
    )
    assert code == 0 and _json_ids(out) == [("b", "decision"), ("c", "decision")]
    _, out, _ = run(capsys, "query", str(populated), "--json", "--since", "1h")
    assert len(out.splitlines()) == 7
    _, out, _ = run(capsys, "query", str(populated), "--json", "--until", "2000-01-01")
    assert out == ""


def test_query_bad_time_exits_2_with_a_hint(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "query", str(populated), "--since", "yesterday")
    assert code == 2 and "15m" in err


def test_query_table_is_aligned_and_escapes_terminal_controls(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = AuditLog(log_path, fsync=False)
    log.write(
        _rec("x", "mallory", "kubectl", "get", "allow", "allow-reads", "dev", command="get pods \x1b[2J\x07")
    )
    log.write(_rec("y", "ci-bot-with-long-name", "helm", "list", "deny", "default", "dev"))
    log.close()
    code, out, _ = run(capsys, "query", str(log_path))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[0].split()[:3] == ["TS", "EVENT", "PRINCIPAL"]
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[2J" in out
    assert len({line.index(line.split()[6]) for line in lines[1:]}) == 1  # rule column starts at one offset


def test_query_skips_damaged_lines_with_a_warning(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with populated.open("a") as handle:
        handle.write("garbage\n")
    code, out, err = run(capsys, "query", str(populated), "--json")
    assert code == 0 and len(out.splitlines()) == 7 and "skipped 1 line" in err


def test_stats_counts_requests_by_decision_rule_principal_tool(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "stats", str(populated), "--json")
    stats = json.loads(out)
    assert code == 0
    assert stats["totals"] == {
        "records": 7,
        "requests": 5,
        "completions": 2,
        "nonzero_exit": 1,
        "timed_out": 0,
    }
    assert stats["decision"] == {"allow": 2, "deny": 1, "rejected": 1, "would-deny": 1}
    assert stats["rule"] == {"allow-reads": 2, "no-scale-prod": 1, "-": 1, "read-only": 1}
    assert stats["principal"] == {"ci-bot": 2, "alice": 2, "anonymous": 1}
    assert stats["tool"] == {"kubectl": 4, "helm": 1}
    code, out, _ = run(capsys, "stats", str(populated))
    assert code == 0 and "requests=5" in out and "by decision:" in out


def test_stats_counts_a_refusals_record_as_the_requests_it_counts(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = AuditLog(log_path, fsync=False)
    log.write(_rec("a", "ci-bot", "kubectl", "get", "allow", "allow-reads", "dev"))
    log.write({"event": "refusals", "decision": "rejected", "principal": "anonymous", "tool": "",
               "error_code": "unauthenticated", "count": 4000, "request_id": None})  # fmt: skip
    log.close()
    code, out, _ = run(capsys, "stats", str(log_path), "--json")
    stats = json.loads(out)
    assert code == 0 and stats["totals"]["requests"] == 4001 and stats["totals"]["records"] == 2
    assert stats["decision"] == {"allow": 1, "rejected": 4000}


def test_tail_prints_the_last_n_records(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tail", "-n", "2", "--json", str(populated))
    assert code == 0 and _json_ids(out) == [("d", "completion"), ("e", "decision")]
    code, out, _ = run(capsys, "tail", "-n", "3", str(populated))
    assert len(out.splitlines()) == 4


def test_follow_yields_new_records_and_survives_rotation(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=600)
    log.write(_rec("old", "p", "kubectl", "get", "allow", "r", "dev"))
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for record in follow(log_path, poll=0.01, stop=done.is_set):
            seen.append(record["request_id"])

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.1)
    for i in range(4):
        log.write(_rec(f"new{i}", "p", "kubectl", "get", "allow", "r", "dev"))
        time.sleep(0.1)
    deadline = time.monotonic() + 5
    while len(seen) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    done.set()
    thread.join()
    log.close()
    assert rotated_path(log_path, 1).exists()
    assert seen == ["new0", "new1", "new2", "new3"]


def test_the_console_script_reaches_the_audit_commands(populated: Path) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).parent / "k8s-mcp-server"
    done = subprocess.run([script, "audit", "verify", populated], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("ok: 7 records")


def test_verify_with_an_anchor_that_is_in_the_log_passes(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    middle = json.loads(populated.read_text().splitlines()[3])["hash"]
    code, out, _ = run(capsys, "verify", "--anchor", middle.upper(), str(populated))
    assert code == 0 and out.startswith("ok: 7 records")


def test_verify_with_an_anchor_from_a_rewritten_log_fails(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = json.loads(populated.read_text().splitlines()[-1])["hash"]
    populated.unlink()
    log = AuditLog(populated, fsync=False)  # a fresh chain in its place
    log.write(_rec("x", "ci-bot", "kubectl", "get", "allow", "allow-reads", "dev"))
    log.close()
    code, out, _ = run(capsys, "verify", "--anchor", anchor, str(populated))
    assert code == 1 and out.startswith(f"FAIL: the anchored hash {anchor} is not in the log")


def test_verify_refuses_an_anchor_that_is_not_a_hash(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "verify", "--anchor", "abc", str(populated))
    assert code == 2 and "not a record hash" in err
