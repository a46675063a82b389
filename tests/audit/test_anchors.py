"""Rotation keeps its evidence: every rotated file is anchored, none is deleted unverified, and
`audit verify --rotated` names a missing file, a cut-off end and a gap (real files in a temp dir)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from k8s_mcp_server.audit import AuditLog, add_audit_commands
from k8s_mcp_server.audit.anchors import anchors_path, read_anchors
from k8s_mcp_server.audit.files import chain_files, rotated_files, rotated_path
from tests.audit.conftest import sample

RECORD_BYTES = 1  # a sample record is ~400 bytes: every record gets a file of its own


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="audit")
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    code = args.func(args)
    out, _ = capsys.readouterr()
    return code, out


def write(path: Path, count: int, *, start: int = 0, max_bytes: int = RECORD_BYTES, **kw: bool) -> None:
    log = AuditLog(path, fsync=False, max_bytes=max_bytes, **kw)
    for i in range(start, start + count):
        log.write(sample(i))
    log.close()


def kinds(path: Path) -> list[str]:
    return [entry["kind"] for entry in read_anchors(anchors_path(path))]


def test_each_rotation_enters_the_rotated_file_s_record_count_and_last_hash(log_path: Path) -> None:
    write(log_path, 4, max_bytes=900)  # two records per file
    rotated = [e for e in read_anchors(anchors_path(log_path)) if e["kind"] == "rotated"]
    assert [e["segment"] for e in rotated] == [1]
    oldest = rotated_path(log_path, 1).read_text().splitlines()
    assert rotated[0]["records"] == len(oldest) == 2
    assert rotated[0]["last_hash"] == json.loads(oldest[-1])["hash"]
    assert kinds(log_path) == ["start", "rotated", "checkpoint"]  # the close checkpoints the live file


def test_an_intact_rotated_set_verifies_against_its_anchors(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 6)
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 0, out
    assert out.startswith("ok: 6 records") and "anchored through the checkpoint" in out


@pytest.mark.parametrize("index", [1, 2, 3, 4, 5])
def test_deleting_any_rotated_file_makes_verify_fail_naming_the_missing_segment(
    index: int, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 6)  # audit.jsonl.5 (oldest) .. .1 and the live file
    assert len(rotated_files(log_path)) == 5
    rotated_path(log_path, index).unlink()
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 1, out
    segment = 6 - index
    assert f"segment {segment} (1 records" in out
    assert ("gap:" in out) if index < 5 else ("missing:" in out and "the oldest file" in out)


def test_a_deleted_oldest_file_is_caught_only_with_the_anchors_and_the_chain_alone_says_so(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 3)
    rotated_path(log_path, 2).unlink()
    code, out = run(capsys, "verify", *map(str, chain_files(log_path)))  # no anchors: the chain holds
    assert code == 0 and "the chain starts after hash" in out
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 1 and "missing: segment 1" in out


def test_records_cut_off_the_end_after_a_checkpoint_are_a_truncated_tail(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 5, max_bytes=0)
    lines = log_path.read_bytes().splitlines(keepends=True)
    log_path.write_bytes(b"".join(lines[:3]))  # two whole records removed at a line boundary
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 1 and "truncated: the log ends at record 3" in out and "names record 5" in out


def test_a_live_file_cut_while_the_server_was_down_and_written_again_fails_verify(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 5, max_bytes=0)
    lines = log_path.read_bytes().splitlines(keepends=True)
    log_path.write_bytes(b"".join(lines[:2]))
    write(log_path, 4, start=5, max_bytes=0)  # 6 records now, and a newer checkpoint that names them
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 1 and "truncated" in out and "names record 5" in out


def test_records_after_the_last_checkpoint_are_reported_as_covered_by_the_chain_only(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = AuditLog(log_path, fsync=False)
    log.write(sample(1))
    assert log.checkpoint()
    assert not log.checkpoint()  # nothing new: no entry
    log.write(sample(2))
    log.write(sample(3))
    shutil.copy(anchors_path(log_path), log_path.with_name("kept.anchors"))  # as of now
    log.close()
    code, out = run(capsys, "verify", "--anchors", str(log_path.with_name("kept.anchors")), str(log_path))
    assert code == 0 and "2 record(s) written after it are covered by the chain only" in out


def test_an_edited_anchors_file_fails_verify(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(log_path, 3)
    anchors = anchors_path(log_path)
    anchors.write_text(anchors.read_text().replace('"records":1', '"records":7', 1))
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 1 and "the anchors file is damaged" in out


def test_rotation_never_deletes_an_unverified_file_and_releases_it_once_anchored(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 14)
    assert len(rotated_files(log_path)) == 13  # past keep=10: nothing was verified, nothing deleted
    code, out = run(capsys, "anchor", str(log_path))
    assert code == 0 and out.startswith("anchored: 14 records in 14 file(s)")
    write(log_path, 1, start=14)  # the next rotation may release the verified files past keep
    assert len(rotated_files(log_path)) == 10
    released = [e for e in read_anchors(anchors_path(log_path)) if e["kind"] == "released"]
    assert [(e["segment"], e["why"]) for e in released] == [
        (1, "verified"),
        (2, "verified"),
        (3, "verified"),
        (4, "verified"),
    ]
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 0 and "released by rotation after being verified: segment(s) 1, 2, 3, 4" in out
    first = json.loads(chain_files(log_path)[0].read_text().splitlines()[0])
    assert first["request_id"] == "req-4"


def test_files_written_after_the_last_anchor_are_kept_even_past_keep(log_path: Path) -> None:
    write(log_path, 11)
    AuditLog(log_path).close()
    code = add_and_anchor(log_path)
    assert code == 0
    write(log_path, 12, start=11)  # 12 more files, none of them verified
    remaining = [json.loads(p.read_text().splitlines()[0])["request_id"] for p in chain_files(log_path)]
    # The ten verified files went; req-10 (live when anchored) and every later file stay, 13 > keep.
    assert remaining == [f"req-{i}" for i in range(10, 23)]


def add_and_anchor(path: Path) -> int:
    parser = argparse.ArgumentParser(prog="audit")
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", "anchor", str(path)])
    code: int = args.func(args)
    return code


def test_with_the_stdout_sink_rotated_files_are_shipped_and_released_past_keep(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 13, stdout=True)
    capsys.readouterr()
    assert len(rotated_files(log_path)) == 10
    assert {e["why"] for e in read_anchors(anchors_path(log_path)) if e["kind"] == "released"} == {"shipped"}
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 0, out


def test_a_rotation_a_crash_left_unentered_is_entered_at_the_next_start(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 2, max_bytes=0)
    anchors = anchors_path(log_path)
    before = anchors.read_bytes()
    log_path.rename(rotated_path(log_path, 1))  # renamed, then the process died before the entry
    anchors.write_bytes(before)
    write(log_path, 1, start=2, max_bytes=0)
    assert "rotated" in kinds(log_path)
    code, out = run(capsys, "verify", "--rotated", str(log_path))
    assert code == 0, out


def test_an_anchor_refuses_a_broken_set_and_records_nothing(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log_path, 4)
    rotated_path(log_path, 2).unlink()
    entries = len(read_anchors(anchors_path(log_path)))
    code, out = run(capsys, "anchor", str(log_path))
    assert code == 1 and "nothing was anchored" in out
    assert len(read_anchors(anchors_path(log_path))) == entries
