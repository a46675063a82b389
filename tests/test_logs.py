"""The server's log rate-limits its own repeated lines."""

from __future__ import annotations

import logging

from k8s_mcp_server.logs import RepeatFilter, install


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, name: str = "asyncio", level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_a_repeated_line_is_logged_a_few_times_per_interval_then_the_count_of_the_rest() -> None:
    clock = Clock()
    repeat = RepeatFilter(burst=3, interval=60, clock=clock)
    passed = [repeat.filter(record("socket.accept() out of system resource fd=7")) for _ in range(1000)]
    assert sum(passed) == 3
    clock.now += 60
    later = record("socket.accept() out of system resource fd=9")
    assert repeat.filter(later)
    assert "997 more like this" in later.getMessage()


def test_different_lines_are_counted_apart_and_numbers_do_not_make_a_line_different() -> None:
    repeat = RepeatFilter(burst=1, interval=60, clock=Clock())
    assert repeat.filter(record("Invalid HTTP request received.", "uvicorn.error", logging.WARNING))
    assert repeat.filter(record("Too many open files: 12"))
    assert not repeat.filter(record("Too many open files: 13"))


def test_one_record_meeting_the_filter_twice_counts_once() -> None:
    repeat = RepeatFilter(burst=1, interval=60, clock=Clock())
    first = record("x")
    assert repeat.filter(first) and repeat.filter(first)
    assert not repeat.filter(record("x"))


def test_install_covers_the_handlers_every_record_reaches() -> None:
    repeat = install(RepeatFilter())
    assert logging.getLogger().handlers
    for handler in logging.getLogger().handlers:
        assert repeat in handler.filters
    assert logging.lastResort is None or repeat in logging.lastResort.filters
    for handler in list(logging.getLogger().handlers):
        handler.removeFilter(repeat)
    if logging.lastResort is not None:
        logging.lastResort.removeFilter(repeat)
