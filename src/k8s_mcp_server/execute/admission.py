"""Places for requests: a total, a share per caller, and a bounded wait for either.

A place covers a request from its allow decision until its command has ended (running, or queued
for one of the executor's slots). One caller (a principal; an anonymous caller per source address)
holds at most `per_caller` places, so a caller that opens 100 watches leaves the other places to
everyone else. A request that finds no place waits for one at most `wait_seconds`, in arrival order
among the requests that could take it, then gets `busy` with a Retry-After. Waiting is bounded too:
a caller already waiting for `per_caller` places, or a server with `total` requests waiting, is
answered `busy` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from k8s_mcp_server.errors import Busy

# The caller of the server's own runs (the CLI version probes at start-up): no caller key is this.
SERVER_CALLER = "server"


def caller_key(principal: str, source_ip: str | None) -> str:
    """Who shares places: a principal, or each source address of anonymous callers (`anonymous` is
    never a key's principal, so neither can pose as the other)."""
    return f"anonymous@{source_ip or '-'}" if principal == "anonymous" else f"principal:{principal}"


@dataclass(eq=False)
class _Waiter:
    caller: str
    granted: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Admission:
    def __init__(self, *, total: int, per_caller: int, wait_seconds: float) -> None:
        if total < 1 or per_caller < 1 or wait_seconds < 0:
            raise ValueError("total and per_caller must be positive, wait_seconds not negative")
        self.total = total
        self.per_caller = min(per_caller, total)
        self.wait_seconds = wait_seconds
        self._held: Counter[str] = Counter()
        self._in_use = 0
        self._waiters: list[_Waiter] = []

    @property
    def retry_after(self) -> int:
        """Seconds a refused caller is told to wait: about as long as a request may wait here."""
        return max(1, math.ceil(self.wait_seconds))

    def held(self, caller: str) -> int:
        return self._held[caller]

    @property
    def in_use(self) -> int:
        return self._in_use

    @contextlib.asynccontextmanager
    async def place(self, caller: str) -> AsyncIterator[None]:
        """Hold one of `caller`'s places for the block; raises Busy when none comes in time."""
        # waiters left in line are all at their share (free places go out at every release), so a
        # caller with a free place takes it without overtaking anyone who could have had it
        if self._free_for(caller):
            self._take(caller)
        else:
            await self._wait(caller)
        try:
            yield
        finally:
            self._give_back(caller)

    def _share(self, caller: str) -> int:
        # the server's own runs (the version probes at start-up, one per CLI) are not a caller's
        return self.total if caller == SERVER_CALLER else self.per_caller

    def _free_for(self, caller: str) -> bool:
        return self._in_use < self.total and self._held[caller] < self._share(caller)

    def _take(self, caller: str) -> None:
        self._in_use += 1
        self._held[caller] += 1

    async def _wait(self, caller: str) -> None:
        waiting = sum(1 for w in self._waiters if w.caller == caller)
        if waiting >= self._share(caller) or len(self._waiters) >= self.total:
            raise self._busy(caller)
        waiter = _Waiter(caller)
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.wait_seconds):
                await asyncio.shield(waiter.granted)
        except TimeoutError:
            if not waiter.granted.done():
                self._waiters.remove(waiter)
                raise self._busy(caller) from None
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.granted.done():
                self._give_back(caller)  # granted just as it was cancelled: hand the place on
            raise

    def _give_back(self, caller: str) -> None:
        self._in_use -= 1
        self._held[caller] -= 1
        if self._held[caller] <= 0:
            del self._held[caller]
        self._grant()

    def _grant(self) -> None:
        """Give free places to the earliest waiters that may take one (a caller at its share is
        skipped, not allowed to hold up the callers behind it)."""
        for waiter in list(self._waiters):
            if self._in_use >= self.total:
                return
            if self._free_for(waiter.caller):
                self._waiters.remove(waiter)
                self._take(waiter.caller)
                waiter.granted.set_result(None)

    def _busy(self, caller: str) -> Busy:
        if self._held[caller] >= self._share(caller):
            message = (
                f"this caller already has {self.per_caller} requests in flight (the most one caller may "
                f"have, K8S_MCP_MAX_PER_CALLER): wait for one to finish, retry in {self.retry_after} s"
            )
        else:
            message = (
                f"the server has {self.total} requests in flight (K8S_MCP_MAX_CONCURRENCY + "
                f"K8S_MCP_MAX_QUEUE) and none finished within {self.wait_seconds:g} s "
                f"(K8S_MCP_ADMISSION_WAIT): retry in {self.retry_after} s"
            )
        return Busy(message, retry_after=self.retry_after)
