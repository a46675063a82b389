"""One PolicyStore per policy file: the default, and each file an API key names.

Stores are shared by file path (two keys naming one file share one store) and created when a key
first names a file; each reloads on its own like the default. A policy file that a key names and
that cannot be loaded refuses that key's requests (503 `policy_unavailable`), never falls back to
another policy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from k8s_mcp_server.errors import PolicyError, ProxyError
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.policy import CompiledPolicy, PolicyStore

ReloadHook = Callable[[str, bool], None]  # (policy name, ok)
log = logging.getLogger(__name__)


class PolicyUnavailable(ProxyError):
    code = "policy_unavailable"
    status = 503


class TrackedPolicy:
    """A PolicyStore that reports reloads and rejected files to a hook (for metrics)."""

    def __init__(self, name: str, store: PolicyStore, on_reload: ReloadHook | None = None) -> None:
        self.name = name
        self.store = store
        self._on_reload = on_reload
        self._loaded_at = store.loaded_at
        self._last_error = store.last_error

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def loaded_at(self) -> datetime:
        return self.store.loaded_at

    @property
    def last_error(self) -> str | None:
        return self.store.last_error

    def current(self) -> CompiledPolicy:
        policy = self.store.current()
        if self.store.loaded_at != self._loaded_at or self.store.last_error != self._last_error:
            if self.store.loaded_at != self._loaded_at:
                log.info("policy %s reloaded from %s: revision %s", self.name, self.path, policy.revision)
                if self._on_reload is not None:
                    self._on_reload(self.name, True)
            if self.store.last_error is not None and self.store.last_error != self._last_error:
                log.error(
                    "policy %s: the changed file %s was rejected, revision %s stays in force: %s",
                    self.name,
                    self.path,
                    policy.revision,
                    self.store.last_error,
                )
                if self._on_reload is not None:
                    self._on_reload(self.name, False)
            self._loaded_at, self._last_error = self.store.loaded_at, self.store.last_error
        return policy

    def describe(self) -> dict[str, Any]:
        policy = self.current()
        return {
            "name": self.name,
            "path": str(self.path),
            "revision": policy.revision,
            "loaded_at": self.loaded_at.isoformat(),
            "last_error": self.last_error,
        }


class PolicyRegistry:
    """Finds the policy for a caller: the key's own file, or the default."""

    def __init__(self, default: PolicyStore, *, on_reload: ReloadHook | None = None) -> None:
        self.default = TrackedPolicy("default", default, on_reload)
        self._on_reload = on_reload
        self._by_path: dict[Path, TrackedPolicy] = {}
        self._failed: dict[Path, str] = {}
        self._lock = threading.Lock()

    def preload(self, keys: tuple[ApiKey, ...]) -> None:
        """Load every policy the keys name now; raises PolicyError (the server must not start)."""
        self.preload_files(key.policy for key in keys if key.policy is not None)

    def preload_files(self, paths: Iterable[Path]) -> None:
        """Load these policy files now (the identity map's too); raises PolicyError."""
        for path in paths:
            self._load(path, raise_errors=True)

    def for_key(self, key: ApiKey | None) -> TrackedPolicy:
        if key is None or key.policy is None:
            return self.default
        return self._load(key.policy, raise_errors=False)

    def loaded(self) -> list[TrackedPolicy]:
        return [self.default, *self._by_path.values()]

    def failed(self) -> dict[Path, str]:
        return dict(self._failed)

    def _load(self, path: Path, *, raise_errors: bool) -> TrackedPolicy:
        found = self._by_path.get(path)
        if found is not None:
            return found
        with self._lock:
            found = self._by_path.get(path)
            if found is not None:
                return found
            try:
                store = PolicyStore(path)
            except PolicyError as exc:
                self._failed[path] = str(exc)
                if raise_errors:
                    raise
                raise PolicyUnavailable(
                    f"the policy file this API key names ({path.name}) cannot be loaded: "
                    "ask the operator to fix it (`k8s-mcp-server policy check`)"
                ) from None
            self._failed.pop(path, None)
            tracked = TrackedPolicy(str(path), store, self._on_reload)
            self._by_path[path] = tracked
            return tracked
