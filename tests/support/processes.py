"""Find a process the server started (by a marker in its argv) and see it end, through /proc."""

from __future__ import annotations

import time
from pathlib import Path

import anyio

# Liveness bounds, not timings: how long a test waits for a command to start or to be gone before it
# fails. The kill latency itself is measured in bench/bench_mcp.py.
START_BOUND = 30.0
GONE_BOUND = 15.0


def pids_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(marker.encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


def exists(pid: int) -> bool:
    """True while /proc has the pid, a zombie (exited, never reaped) included."""
    return Path(f"/proc/{pid}").exists()


async def wait_for_process(marker: str) -> int:
    deadline = time.monotonic() + START_BOUND
    while time.monotonic() < deadline:
        if found := pids_with(marker):
            return found[0]
        await anyio.sleep(0.02)
    raise AssertionError(f"no process with {marker!r} in its argv started")


async def gone(pid: int, bound: float = GONE_BOUND) -> bool:
    """Waits until `pid` has ended and been reaped; False if it is still there after `bound` s."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if not exists(pid):
            return True
        await anyio.sleep(0.01)
    return False
