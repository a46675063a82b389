from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.audit import AuditLog, verify
from k8s_mcp_server.audit.files import chain_files, count_lines, iter_tail_lines, read_tail, rotated_path
from k8s_mcp_server.errors import AuditUnavailable
from tests.audit.conftest import read_records, sample


def test_read_tail_finds_a_last_line_longer_than_one_read_chunk(tmp_path: Path) -> None:
    path = tmp_path / "f"
    big = b"x" * 200_000
    path.write_bytes(b"first\n" + big + b"\n" + b"torn")
    tail = read_tail(path)
    assert tail.last_line == big and tail.torn == b"torn" and tail.complete_end == len(path.read_bytes()) - 4


def test_read_tail_of_a_single_line_and_of_no_newline(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"only\n")
    assert read_tail(path).last_line == b"only"
    path.write_bytes(b"partial")
    tail = read_tail(path)
    assert tail.last_line is None and tail.torn == b"partial" and tail.complete_end == 0


def test_iter_tail_lines_returns_whole_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "f"
    lines = [f"line-{i}-".encode() + b"y" * 30_000 for i in range(10)]
    path.write_bytes(b"\n".join(lines) + b"\ntorn")
    assert iter_tail_lines(path, 3) == lines[-3:]
    assert iter_tail_lines(path, 50) == lines
    assert iter_tail_lines(path, 0) == []


def test_restart_continues_after_a_record_bigger_than_the_read_chunk(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    last = log.write(sample(1, command="get pods " + "a" * 150_000))
    log.close()
    again = AuditLog(log_path, fsync=False)
    assert again.write(sample(2))["prev_hash"] == last["hash"]
    again.close()


def test_rotation_with_fsync_and_chain_files_lists_the_set_oldest_first(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=True, max_bytes=1)
    for i in range(3):
        log.write(sample(i))
    log.close()
    files = chain_files(log_path)
    assert files == [rotated_path(log_path, 2), rotated_path(log_path, 1), log_path]
    assert [read_records(path)[0]["request_id"] for path in files] == ["req-0", "req-1", "req-2"]
    assert verify(files).records == 3


def test_a_log_pointed_at_a_device_is_not_read_forever_and_fails_closed_on_write(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.symlink_to("/dev/full")  # endless zeros to read, ENOSPC on every write
    assert count_lines(log_path) == 0
    log = AuditLog(log_path, fsync=False)
    log.open()
    with pytest.raises(AuditUnavailable):
        log.write({"event": "decision"})
    log.close()
