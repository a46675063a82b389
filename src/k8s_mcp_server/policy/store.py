"""PolicyStore: the current policy, reloaded atomically when its file changes; a bad file never wins."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy.model import CompiledPolicy
from k8s_mcp_server.policy.validate import MAX_POLICY_BYTES, compile_bytes
from k8s_mcp_server.watched import CHECK_INTERVAL, Polled, Signature, read_stable, signature


class PolicyStore(Polled):
    """Holds the last good policy of one file. `current()` is cheap and safe to call from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load `path` now; raise PolicyError if that fails (the server must not start without a policy)."""
        super().__init__(path, check_interval=check_interval, clock=clock)
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

    def current(self) -> CompiledPolicy:
        """The policy to use now; re-stats the file at most once per `check_interval`."""
        self.poll()
        return self._policy

    def reload(self) -> CompiledPolicy:
        """Check the file now, whatever the interval; returns the policy in force afterwards."""
        self.check_now()
        return self._policy

    def _refresh(self) -> None:
        try:
            current = signature(self.path)
        except OSError as exc:
            self.last_error = (
                f"{self.path}: cannot read the policy file: {exc.strerror or type(exc).__name__}"
            )
            return
        if current == self._signature:
            return
        loaded = self._load()
        if loaded is None:
            return  # changed while read: the next check sees the finished file
        if isinstance(loaded, PolicyError):
            self.last_error = str(loaded)
            self._signature = current  # do not re-validate the same bad file every second
            return
        self._policy, self._signature = loaded
        self.loaded_at = datetime.now(UTC)
        self.last_error = None

    def _load(self) -> tuple[CompiledPolicy, Signature] | PolicyError | None:
        """Read and compile the file; None when it changed while read (a writer is busy)."""
        try:
            read = read_stable(self.path, MAX_POLICY_BYTES)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return PolicyError([f"{self.path}:1:1: cannot read the policy file: {reason}"])
        if read is None:
            return None
        data, after = read
        try:
            return compile_bytes(data, source=str(self.path)), after
        except PolicyError as exc:
            return exc
