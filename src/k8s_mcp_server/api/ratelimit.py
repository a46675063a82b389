"""A token bucket per principal: `rate` requests per minute, bursts up to `rate`."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import anyio

from k8s_mcp_server.errors import ProxyError

# Buckets are kept for this many callers at most; the least recently seen full bucket goes first.
# Anonymous callers are keyed by source IP (loopback only), so this bounds memory, not fairness.
MAX_BUCKETS = 10_000


class RateLimited(ProxyError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SharedBackend(Protocol):
    """Buckets every replica shares (state/buckets.py): 0.0 when a token was taken, else the wait."""

    def take(self, key: str, capacity: float, refill_per_second: float) -> float: ...


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        backend: SharedBackend | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.backend = backend  # None: this process's own buckets below
        self._capacity = float(per_minute)
        self._refill = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def check(self, principal: str) -> None:
        """Take one token for `principal`; raises RateLimited (with Retry-After seconds) when empty."""
        if not self.enabled:
            return
        if self.backend is not None:
            self._check_shared(principal, self.backend)
            return
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(principal, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - at) * self._refill)
            if tokens < 1.0:
                self._buckets[principal] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self._refill))
                raise RateLimited(
                    f"more than {self.per_minute} requests per minute for this caller: retry in {wait} s",
                    retry_after=wait,
                )
            self._buckets[principal] = (tokens - 1.0, now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)

    async def acheck(self, principal: str) -> None:
        """`check` for the event loop: a shared backend's round trip runs in a worker thread."""
        if self.backend is None or not self.enabled:
            self.check(principal)
        else:
            await anyio.to_thread.run_sync(self.check, principal)

    def _check_shared(self, principal: str, backend: SharedBackend) -> None:
        wait = backend.take(principal, self._capacity, self._refill)  # StateUnavailable: refused (503)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"more than {self.per_minute} requests per minute for this caller: retry in {seconds} s",
                retry_after=seconds,
            )


def bucket_key(principal: str, source_ip: str | None, *, anonymous: bool) -> str:
    """Anonymous callers are one principal per source address; keyed principals share one bucket."""
    return f"anonymous@{source_ip or '-'}" if anonymous else f"key:{principal}"
