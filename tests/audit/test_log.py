from __future__ import annotations

import io
import json
import re
import sys
import threading
from pathlib import Path

import pytest

from k8s_mcp_server.audit import GENESIS_HASH, SCHEMA_VERSION, AuditLog, compute_hash, verify
from k8s_mcp_server.audit.files import rotated_path
from k8s_mcp_server.errors import AuditUnavailable
from tests.audit.conftest import read_records, sample


def test_write_adds_chain_fields_and_returns_the_full_record(audit_log: AuditLog, log_path: Path) -> None:
    written = audit_log.write(sample(1))
    assert written["schema_version"] == SCHEMA_VERSION
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", written["ts"])
    assert written["prev_hash"] == GENESIS_HASH
    assert written["hash"] == compute_hash(GENESIS_HASH, written)
    assert read_records(log_path) == [written]


def test_line_is_compact_sorted_json(audit_log: AuditLog, log_path: Path) -> None:
    written = audit_log.write(sample(1, command="get pods\nwith newline \x1b[31m"))
    line = log_path.read_bytes()
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert line.decode() == json.dumps(written, sort_keys=True, separators=(",", ":")) + "\n"
    assert b"\x1b" not in line


def test_caller_cannot_forge_chain_fields(audit_log: AuditLog) -> None:
    first = audit_log.write(sample(1))
    second = audit_log.write(sample(2, prev_hash="f" * 64, hash="e" * 64, ts="1999-01-01T00:00:00Z"))
    assert second["prev_hash"] == first["hash"]
    assert second["hash"] == compute_hash(first["hash"], second)
    assert not second["ts"].startswith("1999")


def test_fifty_threads_writing_twenty_records_each_leave_exactly_1000_linked_lines(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    barrier = threading.Barrier(50)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(20):
            log.write(sample(t * 100 + i))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    lines = log_path.read_text().splitlines()
    assert len(lines) == 1000
    ids = {json.loads(line)["request_id"] for line in lines}
    assert len(ids) == 1000
    assert verify([log_path]).ok


async def test_many_asyncio_tasks_writing_through_awrite_keep_the_chain(log_path: Path) -> None:
    import asyncio

    log = AuditLog(log_path, fsync=False)
    await asyncio.gather(*(log.awrite(sample(i)) for i in range(200)))
    log.close()
    result = verify([log_path])
    assert result.ok and result.records == 200


def test_chain_continues_after_restart(log_path: Path) -> None:
    first = AuditLog(log_path, fsync=False)
    last = first.write(sample(1))
    first.close()
    second = AuditLog(log_path, fsync=False)
    assert second.write(sample(2))["prev_hash"] == last["hash"]
    second.close()
    assert verify([log_path]).records == 2


def test_rotation_keeps_the_chain_across_files(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1500)
    written = [log.write(sample(i)) for i in range(20)]
    log.close()
    files = [rotated_path(log_path, i) for i in range(10, 0, -1) if rotated_path(log_path, i).exists()]
    files.append(log_path)
    assert len(files) > 2
    assert all(path.stat().st_size <= 1500 for path in files)
    result = verify(files)
    assert result.ok and result.records == 20 and result.last_hash == written[-1]["hash"]
    assert read_records(log_path)[0]["prev_hash"] == read_records(files[-2])[-1]["hash"]


def test_rotation_keeps_files_past_the_tenth_while_they_are_not_verified_and_anchored(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1)  # every record gets a file of its own
    for i in range(15):
        log.write(sample(i))
    log.close()
    assert rotated_path(log_path, 14).exists() and not rotated_path(log_path, 15).exists()
    assert read_records(log_path)[0]["request_id"] == "req-14"
    assert read_records(rotated_path(log_path, 14))[0]["request_id"] == "req-0"


def test_restart_after_rotation_with_empty_live_file_continues_from_newest_rotated(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1)
    log.write(sample(1))
    last = log.write(sample(2))
    log.close()
    log_path.rename(rotated_path(log_path, 1).with_suffix(".tmp"))  # simulate crash right after a rotation
    rotated_path(log_path, 1).unlink()
    rotated_path(log_path, 1).with_suffix(".tmp").rename(rotated_path(log_path, 1))
    assert not log_path.exists()
    again = AuditLog(log_path, fsync=False)
    assert again.write(sample(3))["prev_hash"] == last["hash"]
    again.close()


def test_directory_that_cannot_exist_raises_audit_unavailable_on_write_not_construction(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    log = AuditLog(blocker / "audit.jsonl")
    with pytest.raises(AuditUnavailable) as raised:
        log.write(sample(1, command="get pods --token=CANARY-tok"))
    assert raised.value.code == "audit_unavailable"
    assert "CANARY" not in raised.value.message


def test_write_failure_is_audit_unavailable_and_the_log_recovers(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    log.write(sample(1))
    log.close()
    log_path.unlink()
    log_path.mkdir()  # the log path is now a directory: opening it for append fails
    second = AuditLog(log_path, fsync=False)
    with pytest.raises(AuditUnavailable):
        second.write(sample(2))
    log_path.rmdir()
    assert second.write(sample(3))["prev_hash"] == GENESIS_HASH
    second.close()


def test_unserialisable_record_fails_closed(audit_log: AuditLog) -> None:
    with pytest.raises(AuditUnavailable):
        audit_log.write(sample(1, extra=object()))
    with pytest.raises(AuditUnavailable):
        audit_log.write(sample(1, extra=float("nan")))


def test_second_writer_on_the_same_file_is_refused(log_path: Path) -> None:
    first = AuditLog(log_path, fsync=False)
    first.write(sample(1))
    second = AuditLog(log_path, fsync=False)
    with pytest.raises(AuditUnavailable) as raised:
        second.write(sample(2))
    assert "another process" in raised.value.message
    first.close()
    assert second.write(sample(3))["prev_hash"] == read_records(log_path)[0]["hash"]
    second.close()


def test_torn_last_line_is_cut_off_and_the_chain_continues_from_the_last_whole_record(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    last = log.write(sample(1))
    log.close()
    with log_path.open("ab") as handle:
        handle.write(b'{"request_id":"half-writ')
    again = AuditLog(log_path, fsync=False)
    assert again.write(sample(2))["prev_hash"] == last["hash"]
    again.close()
    assert verify([log_path]).ok


def test_complete_last_record_without_newline_is_kept(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    last = log.write(sample(1))
    log.close()
    log_path.write_bytes(log_path.read_bytes().rstrip(b"\n"))
    again = AuditLog(log_path, fsync=False)
    assert again.write(sample(2))["prev_hash"] == last["hash"]
    again.close()
    assert verify([log_path]).records == 2


def test_damaged_last_record_stops_writes_rather_than_forking_the_chain(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.write_text("this is not json\n")
    log = AuditLog(log_path, fsync=False)
    with pytest.raises(AuditUnavailable) as raised:
        log.write(sample(1))
    assert "audit verify" in raised.value.message
    log.close()


def test_stdout_sink_gets_the_same_line(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.StringIO()
    monkeypatch.setattr(sys, "stdout", fake)
    log = AuditLog(log_path, fsync=True, stdout=True)
    log.write(sample(1))
    log.close()
    assert fake.getvalue() == log_path.read_text()


def test_write_after_close_fails_closed(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    log.close()
    with pytest.raises(AuditUnavailable):
        log.write(sample(1))


def test_new_file_is_private(audit_log: AuditLog, log_path: Path) -> None:
    audit_log.write(sample(1))
    assert log_path.stat().st_mode & 0o077 == 0


def test_live_file_holding_only_a_torn_line_continues_from_the_rotated_file(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False, max_bytes=1)
    log.write(sample(1))
    last = log.write(sample(2))
    log.close()
    rotated_path(log_path, 1).unlink()
    log_path.rename(rotated_path(log_path, 1))
    log_path.write_bytes(b'{"request_id":"cut-sho')  # crash during the first write after a rotation
    again = AuditLog(log_path, fsync=False)
    assert again.write(sample(3))["prev_hash"] == last["hash"]
    again.close()
    assert verify([rotated_path(log_path, 1), log_path]).records == 2


def test_concurrent_writers_share_fsyncs_and_each_returns_only_after_its_record_is_synced(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import time

    real_fsync = os.fsync
    synced: list[int] = []  # file size covered by each completed fsync of the audit file
    guard = threading.Lock()

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        time.sleep(0.005)  # a disk that takes 5 ms per fsync
        real_fsync(fd)
        with guard:
            synced.append(size)

    log = AuditLog(log_path, fsync=True)
    log.write(sample(-1))
    monkeypatch.setattr(os, "fsync", slow_fsync)
    covered_at_return: dict[str, int] = {}
    barrier = threading.Barrier(20)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(10):
            rid = log.write(sample(t * 100 + i))["request_id"]
            with guard:
                covered_at_return[rid] = max(synced, default=0)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(os, "fsync", real_fsync)
    log.close()
    end_of: dict[str, int] = {}
    offset = 0
    for line in log_path.read_bytes().splitlines(keepends=True):
        offset += len(line)
        end_of[json.loads(line)["request_id"]] = offset
    assert len(covered_at_return) == 200
    late = [rid for rid, covered in covered_at_return.items() if covered < end_of[rid]]
    assert late == []  # no writer returned before an fsync covered its line
    assert len(synced) < 100  # 200 records, far fewer fsyncs: they were shared
    assert verify([log_path]).records == 201


def test_a_failed_fsync_fails_the_write_and_the_log_recovers_afterwards(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    real_fsync = os.fsync

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    log = AuditLog(log_path, fsync=True)
    log.write(sample(1))
    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(AuditUnavailable) as raised:
        log.write(sample(2))
    assert raised.value.code == "audit_unavailable"
    monkeypatch.setattr(os, "fsync", real_fsync)
    log.write(sample(3))
    log.close()
    result = verify([log_path])
    assert result.ok and read_records(log_path)[-1]["request_id"] == "req-3"


def test_a_failed_fsync_fails_every_concurrent_writer_it_covered(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os
    import time

    def broken(fd: int) -> None:
        time.sleep(0.01)
        raise OSError(errno.EIO, "Input/output error")

    log = AuditLog(log_path, fsync=True)
    log.write(sample(0))
    monkeypatch.setattr(os, "fsync", broken)
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def worker(t: int) -> None:
        barrier.wait()
        try:
            log.write(sample(t))
            outcomes.append("written")
        except AuditUnavailable:
            outcomes.append("unavailable")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(1, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert outcomes == ["unavailable"] * 10


def test_a_non_durable_record_is_in_the_file_at_once_and_fsynced_by_the_next_durable_one(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    real_fsync = os.fsync
    synced_sizes: list[int] = []

    def counting_fsync(fd: int) -> None:
        synced_sizes.append(os.fstat(fd).st_size)
        real_fsync(fd)

    log = AuditLog(log_path, fsync=True)
    monkeypatch.setattr(os, "fsync", counting_fsync)
    log.write(sample(1), durable=False)
    assert synced_sizes == []  # nothing waited for the disk ...
    assert json.loads(log_path.read_bytes().splitlines()[-1])["request_id"] == sample(1)["request_id"]
    log.write(sample(2))  # ... and the next durable record's fsync covers both lines
    assert synced_sizes == [log_path.stat().st_size]
    log.close()
    assert verify([log_path]).records == 2
