"""KeyStore: the keys of one file, re-read when the file changes.

Revoking a key is the operator's security action, so a changed file that cannot be read or fails
validation does NOT leave the previous keys in force: every request is refused (401) until the file
is fixed, and `/health` shows why. (A bad *policy* file keeps the last good policy instead: there
the safe side is the policy that was reviewed.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from k8s_mcp_server.keys.file import MAX_KEYS_FILE_BYTES, ApiKey, parse_api_keys
from k8s_mcp_server.watched import CHECK_INTERVAL, Polled, Signature, read_stable, signature

log = logging.getLogger(__name__)


class KeyStore(Polled):
    """Holds the keys currently in force; `current()` is cheap and safe from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load `path` now; raise OSError/ValueError if that fails (the server must not start)."""
        super().__init__(path, check_interval=check_interval, clock=clock)
        keys, read_signature = self._read()
        self._keys: tuple[ApiKey, ...] = keys
        self._signature: Signature | None = read_signature
        self.loaded_at = datetime.now(UTC)

    def current(self) -> tuple[ApiKey, ...]:
        """The keys in force now (empty while the file is broken: nobody gets in)."""
        self.poll()
        return self._keys

    def reload(self) -> tuple[ApiKey, ...]:
        self.check_now()
        return self._keys

    @property
    def broken(self) -> bool:
        return self.last_error is not None

    def _refresh(self) -> None:
        try:
            current = signature(self.path)
        except OSError as exc:
            self._fail(f"{self.path}: cannot read the keys file: {exc.strerror or type(exc).__name__}")
            return
        if current == self._signature:
            return
        try:
            keys, read_signature = self._read()
        except (OSError, ValueError) as exc:
            self._fail(str(exc) if isinstance(exc, ValueError) else f"{self.path}: cannot read the keys file")
            self._signature = current  # do not re-read the same bad file every second
            return
        if read_signature != current:
            return  # changed while read: the next check sees the finished file
        self._keys, self._signature = keys, current
        self.loaded_at = datetime.now(UTC)
        self.last_error = None
        log.info("keys file %s reloaded: %d principals", self.path, len({k.principal for k in keys}))

    def _fail(self, message: str) -> None:
        self._keys = ()
        self._signature = None
        self.last_error = message + " (every request is refused until the file is fixed)"
        log.error("keys: %s", self.last_error)

    def _read(self) -> tuple[tuple[ApiKey, ...], Signature]:
        """Parse the file; a file that changed while it was read gets a signature that matches no
        file, so `_refresh` keeps the keys in force and the next check reads the finished file."""
        read = read_stable(self.path, MAX_KEYS_FILE_BYTES)
        if read is None:
            with self.path.open("rb") as handle:
                return parse_api_keys(handle.read(MAX_KEYS_FILE_BYTES + 1), source=self.path), _UNSTABLE
        data, after = read
        return parse_api_keys(data, source=self.path), after


_UNSTABLE: Signature = (0, 0, 0, 0)
