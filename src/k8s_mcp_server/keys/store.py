"""KeyStore: the keys of one file, re-read when the file changes.

Revoking a key is the operator's security action, so a changed file that cannot be read or fails
validation does NOT leave the previous keys in force: every request is refused (401) until the file
is fixed, and `/health` shows why. (A bad *policy* file keeps the last good policy instead: there
the safe side is the policy that was reviewed.)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from k8s_mcp_server.keys.file import MAX_KEYS_FILE_BYTES, ApiKey, parse_api_keys

CHECK_INTERVAL = 1.0  # seconds between stat() calls, like the policy store

_Signature = tuple[int, int, int, int]


class KeyStore:
    """Holds the keys currently in force; `current()` is cheap and safe from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load `path` now; raise OSError/ValueError if that fails (the server must not start)."""
        self.path = path
        self.check_interval = check_interval
        self.last_error: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        keys, signature = self._read()
        self._keys: tuple[ApiKey, ...] = keys
        self._signature: _Signature | None = signature
        self.loaded_at = datetime.now(UTC)
        self._checked_at = clock()

    def current(self) -> tuple[ApiKey, ...]:
        """The keys in force now (empty while the file is broken: nobody gets in)."""
        if self._clock() - self._checked_at >= self.check_interval and self._lock.acquire(blocking=False):
            try:
                self._checked_at = self._clock()
                self._refresh()
            finally:
                self._lock.release()
        return self._keys

    def reload(self) -> tuple[ApiKey, ...]:
        with self._lock:
            self._checked_at = self._clock()
            self._refresh()
        return self._keys

    @property
    def broken(self) -> bool:
        return self.last_error is not None

    def _refresh(self) -> None:
        try:
            signature = _signature(self.path)
        except OSError as exc:
            self._fail(f"{self.path}: cannot read the keys file: {exc.strerror or type(exc).__name__}")
            return
        if signature == self._signature:
            return
        try:
            keys, read_signature = self._read()
        except (OSError, ValueError) as exc:
            self._fail(str(exc) if isinstance(exc, ValueError) else f"{self.path}: cannot read the keys file")
            self._signature = signature  # do not re-read the same bad file every second
            return
        if read_signature != signature:
            return  # changed while read: the next check sees the finished file
        self._keys, self._signature = keys, signature
        self.loaded_at = datetime.now(UTC)
        self.last_error = None

    def _fail(self, message: str) -> None:
        self._keys = ()
        self._signature = None
        self.last_error = message + " (every request is refused until the file is fixed)"

    def _read(self) -> tuple[tuple[ApiKey, ...], _Signature]:
        before = _signature(self.path)
        with self.path.open("rb") as fh:
            data = fh.read(MAX_KEYS_FILE_BYTES + 1)
        after = _signature(self.path)
        keys = parse_api_keys(data, source=self.path)
        return keys, after if before == after else (0, 0, 0, 0)


def _signature(path: Path) -> _Signature:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
