"""A file the server re-reads when it changes: the policy files and the API keys file.

`current()`-style callers call `poll()` on every request; it re-stats the file at most once per
`check_interval`, from whichever thread gets there first, and never blocks a request behind a reload
(a request that finds the lock taken uses the value in force). What a failed reload means differs
(a bad policy keeps the last good one; a bad keys file lets nobody in), so that is the subclass's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

CHECK_INTERVAL = 1.0  # seconds between stat() calls: cheap enough per request, quick enough for an operator

Signature = tuple[int, int, int, int]  # device, inode, size, mtime in ns


def signature(path: Path) -> Signature:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_stable(path: Path, limit: int) -> tuple[bytes, Signature] | None:
    """Up to `limit + 1` bytes, read between two stats; None when the file changed while it was read
    (a writer is busy: the next check sees the finished file). OSError propagates."""
    before = signature(path)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    after = signature(path)
    return (data, after) if before == after else None


class Polled:
    """Throttled change checks for one file; subclasses implement `_refresh()`."""

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.check_interval = check_interval
        self.last_error: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = clock()

    def poll(self) -> None:
        """Check the file if `check_interval` has passed and no other thread is checking it now."""
        if self._clock() - self._checked_at >= self.check_interval and self._lock.acquire(blocking=False):
            try:
                self._checked_at = self._clock()
                self._refresh()
            finally:
                self._lock.release()

    def check_now(self) -> None:
        """Check the file now, whatever the interval (waits for a check in progress)."""
        with self._lock:
            self._checked_at = self._clock()
            self._refresh()

    def _refresh(self) -> None:
        raise NotImplementedError
