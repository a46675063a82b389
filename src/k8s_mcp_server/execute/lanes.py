"""Bound the memory of large outputs: only a few runs may hold more than a threshold at once.

A command's output is copied several times after it is read (decoded for the redactor, redacted,
serialised into the response), so a 20 MB output costs about 100 MB at its peak, and the
concurrency limit does not bound that: a slot is freed when the process ends, before those copies.
A run whose output crosses `threshold` therefore waits for one of `lanes` before reading more (its
process blocks on the full pipe meanwhile, and the command's timeout keeps running), and keeps the
lane for as long as its `RawOutput` is alive: through redaction, not only while reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from k8s_mcp_server.contracts import RawOutput


class OutputLanes:
    def __init__(self, lanes: int, threshold: int) -> None:
        if lanes < 1 or threshold < 1:
            raise ValueError("lanes and threshold must be positive")
        self.threshold = threshold
        self._lanes = asyncio.Semaphore(lanes)

    def ticket(self) -> Ticket:
        """One run's claim: free until its output grows past the threshold."""
        return Ticket(self._lanes, self.threshold)


class Ticket:
    def __init__(self, lanes: asyncio.Semaphore, threshold: int) -> None:
        self._lanes = lanes
        self._threshold = threshold
        self._read = 0
        self.held = False

    async def grow(self, size: int) -> None:
        """Count `size` more bytes read; past the threshold, wait for a lane (once per run)."""
        self._read += size
        if not self.held and self._read > self._threshold:
            await self._lanes.acquire()
            self.held = True

    def bind(self, raw: RawOutput) -> None:
        """Hand the lane to `raw`: it is given back when `raw` is freed, in whichever thread frees it."""
        if self.held:
            self.held = False
            weakref.finalize(raw, _release_soon, asyncio.get_running_loop(), self._lanes)

    def release(self) -> None:
        """Give the lane back now (the run failed: no output will be kept)."""
        if self.held:
            self.held = False
            self._lanes.release()


def _release_soon(loop: asyncio.AbstractEventLoop, lanes: asyncio.Semaphore) -> None:
    # The last reference may go in a worker thread (redaction runs there); the semaphore belongs to
    # the loop. A closed loop (server shutdown) has nobody left to wake.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(lanes.release)
