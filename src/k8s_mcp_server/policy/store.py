"""PolicyStore: the current policy, reloaded atomically when its file changes; a bad file never wins."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy.model import CompiledPolicy
from k8s_mcp_server.policy.validate import MAX_POLICY_BYTES, compile_bytes

CHECK_INTERVAL = 1.0  # seconds between stat() calls: cheap enough per request, quick enough for an operator

_Signature = tuple[int, int, int, int]  # device, inode, size, mtime in ns


class PolicyStore:
    """Holds the last good policy of one file. `current()` is cheap and safe to call from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load `path` now; raise PolicyError if that fails (the server must not start without a policy)."""
        self.path = path
        self.check_interval = check_interval
        self.last_error: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        loaded = None
        for _attempt in range(3):  # a file being rewritten right now settles within a few tries
            loaded = self._load()
            if loaded is not None:
                break
        if loaded is None:
            loaded = PolicyError([f"{path}:1:1: the policy file kept changing while it was read"])
        if isinstance(loaded, PolicyError):
            raise loaded
        self._policy, self._signature = loaded
        self.loaded_at = datetime.now(UTC)
        self._checked_at = clock()

    def current(self) -> CompiledPolicy:
        """The policy to use now; re-stats the file at most once per `check_interval`."""
        if self._clock() - self._checked_at >= self.check_interval and self._lock.acquire(blocking=False):
            try:
                self._checked_at = self._clock()
                self._refresh()
            finally:
                self._lock.release()
        return self._policy

    def reload(self) -> CompiledPolicy:
        """Check the file now, whatever the interval; returns the policy in force afterwards."""
        with self._lock:
            self._checked_at = self._clock()
            self._refresh()
        return self._policy

    def _refresh(self) -> None:
        try:
            signature = _signature(self.path)
        except OSError as exc:
            self.last_error = (
                f"{self.path}: cannot read the policy file: {exc.strerror or type(exc).__name__}"
            )
            return
        if signature == self._signature:
            return
        loaded = self._load()
        if loaded is None:
            return  # changed while read: the next check sees the finished file
        if isinstance(loaded, PolicyError):
            self.last_error = str(loaded)
            self._signature = signature  # do not re-validate the same bad file every second
            return
        self._policy, self._signature = loaded
        self.loaded_at = datetime.now(UTC)
        self.last_error = None

    def _load(self) -> tuple[CompiledPolicy, _Signature] | PolicyError | None:
        """Read the file between two stats; None when it changed while read (a writer is busy)."""
        try:
            before = _signature(self.path)
            with self.path.open("rb") as handle:
                data = handle.read(MAX_POLICY_BYTES + 1)
            after = _signature(self.path)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return PolicyError([f"{self.path}:1:1: cannot read the policy file: {reason}"])
        if before != after:
            return None
        try:
            return compile_bytes(data, source=str(self.path)), after
        except PolicyError as exc:
            return exc


def _signature(path: Path) -> _Signature:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
