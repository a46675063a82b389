"""The shared change check: throttled, never blocking a request, and reads that see one version."""

from __future__ import annotations

import os
from pathlib import Path

from k8s_mcp_server.watched import Polled, read_stable, signature


class Counting(Polled):
    def __init__(self, path: Path, clock: list[float]) -> None:
        super().__init__(path, check_interval=1.0, clock=lambda: clock[0])
        self.checks = 0

    def _refresh(self) -> None:
        self.checks += 1


def test_poll_checks_the_file_at_most_once_per_interval(tmp_path: Path) -> None:
    now = [100.0]
    polled = Counting(tmp_path / "f", now)
    polled.poll()
    now[0] += 0.5
    polled.poll()
    assert polled.checks == 0
    now[0] += 0.6
    polled.poll()
    polled.poll()
    assert polled.checks == 1
    polled.check_now()
    assert polled.checks == 2


def test_a_poll_that_finds_a_check_in_progress_does_not_wait(tmp_path: Path) -> None:
    now = [100.0]
    polled = Counting(tmp_path / "f", now)
    now[0] += 5
    with polled._lock:  # another thread is checking right now
        polled.poll()
    assert polled.checks == 0


def test_a_changed_file_has_a_new_signature_and_a_stable_read_returns_it(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one")
    first = signature(path)
    path.write_bytes(b"two!")
    os.utime(path, ns=(1, 2))
    read = read_stable(path, limit=10)
    assert read is not None
    data, after = read
    assert data == b"two!"
    assert after == signature(path) != first


def test_a_stable_read_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    read = read_stable(path, limit=10)
    assert read is not None and len(read[0]) == 11
