from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.audit import AuditLog, verify
from k8s_mcp_server.audit.files import rotated_path
from tests.audit.conftest import sample


@pytest.fixture
def five(log_path: Path) -> Path:
    log = AuditLog(log_path, fsync=False)
    for i in range(1, 6):
        log.write(sample(i))
    log.close()
    return log_path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_intact_log_verifies(five: Path) -> None:
    result = verify([five])
    assert result.ok and result.records == 5 and result.problem is None


def test_one_edited_byte_names_the_modified_record(five: Path) -> None:
    data = bytearray(five.read_bytes())
    lines = _lines(five)
    offset = len(lines[0]) + len(lines[1]) + lines[2].index(b"dev #") + 1  # "dev" -> "dav" in record 3
    data[offset] = ord("a")
    five.write_bytes(bytes(data))
    problem = verify([five]).problem
    assert problem is not None
    assert (problem.line, problem.request_id, problem.kind) == (3, "req-3", "modified")


def test_edited_hash_field_is_caught(five: Path) -> None:
    lines = _lines(five)
    lines[1] = lines[1].replace(b'"hash":"', b'"hash":"0', 1)[:-66] + lines[1][-65:]
    five.write_bytes(b"".join(lines))
    problem = verify([five]).problem
    assert problem is not None and problem.line == 2


def test_reencoded_but_equal_content_is_caught(five: Path) -> None:
    lines = _lines(five)
    lines[3] = lines[3].replace(b'"principal":', b'"principal" :')
    five.write_bytes(b"".join(lines))
    problem = verify([five]).problem
    assert problem is not None and (problem.line, problem.kind) == (4, "modified")


def test_deleted_line_names_the_record_after_the_gap(five: Path) -> None:
    lines = _lines(five)
    del lines[2]
    five.write_bytes(b"".join(lines))
    result = verify([five])
    assert result.problem is not None
    assert (result.problem.line, result.problem.request_id, result.problem.kind) == (3, "req-4", "deleted")
    assert result.records == 2


def test_two_swapped_lines_are_reported_as_reordered(five: Path) -> None:
    lines = _lines(five)
    lines[1], lines[2] = lines[2], lines[1]
    five.write_bytes(b"".join(lines))
    problem = verify([five]).problem
    assert problem is not None
    assert (problem.line, problem.request_id, problem.kind) == (2, "req-3", "reordered")
    assert f"{five}:3" in problem.detail


def test_file_truncated_mid_line_is_reported_as_truncated(five: Path) -> None:
    five.write_bytes(five.read_bytes()[:-40])
    result = verify([five])
    assert result.problem is not None
    assert (result.problem.line, result.problem.kind) == (5, "truncated")
    assert result.records == 4


def test_garbage_line_in_the_middle_is_malformed(five: Path) -> None:
    lines = _lines(five)
    lines.insert(1, b"hello\n")
    five.write_bytes(b"".join(lines))
    problem = verify([five]).problem
    assert problem is not None and (problem.line, problem.kind) == (2, "malformed")


def test_replaced_from_scratch_prefix_is_reported(five: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    log = AuditLog(other, fsync=False)
    log.write(sample(99))
    log.close()
    five.write_bytes(_lines(five)[0] + other.read_bytes())
    problem = verify([five]).problem
    assert problem is not None and problem.line == 2 and "new chain" in problem.detail


def test_rotated_set_verifies_in_order_and_fails_out_of_order(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1200)
    for i in range(12):
        log.write(sample(i))
    log.close()
    files = [rotated_path(log_path, i) for i in range(10, 0, -1) if rotated_path(log_path, i).exists()]
    files.append(log_path)
    assert verify(files).records == 12
    assert len(files) >= 3
    swapped = [files[0], files[2], files[1], *files[3:]]
    problem = verify(swapped).problem
    assert problem is not None and problem.kind == "reordered"
    oldest_later = verify([files[1], files[0], *files[2:]]).problem
    assert oldest_later is not None and "out of order" in oldest_later.detail


def test_a_missing_rotated_file_in_the_middle_is_a_gap(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1)
    for i in range(4):
        log.write(sample(i))
    log.close()
    files = [rotated_path(log_path, 3), rotated_path(log_path, 1), log_path]  # .2 left out
    problem = verify(files).problem
    assert problem is not None and problem.kind == "deleted" and problem.path == rotated_path(log_path, 1)


def test_a_set_that_starts_after_rotated_away_files_still_verifies(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1)
    for i in range(3):
        log.write(sample(i))
    log.close()
    result = verify([log_path])
    assert result.ok and result.first_prev_hash != "0" * 64
