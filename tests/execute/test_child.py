"""A child process whose exit the loop learns from a pidfd, or from a thread where there is none."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest

from k8s_mcp_server.execute.child import Child


def start(*argv: str) -> Child:
    return Child(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={},
        cwd="/",
    )


async def test_wait_returns_the_exit_status_and_reaps_the_process() -> None:
    child = start("/bin/sh", "-c", "exit 3")
    assert await child.wait() == 3
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # already reaped: no zombie left


async def test_a_cancelled_wait_can_be_waited_again() -> None:
    child = start("/bin/sleep", "0.5")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await child.wait()
    assert child.returncode is None
    assert await child.wait() == 0


async def test_without_pidfds_the_wait_falls_back_to_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open")
    child = start("/bin/sh", "-c", "exit 4")
    assert child._pidfd is None
    assert await child.wait() == 4


async def test_an_ended_child_reports_its_code_without_waiting() -> None:
    child = start("/bin/true")
    for _ in range(100):
        if child.returncode is not None:
            break
        await asyncio.sleep(0.01)
    assert child.returncode == 0
    assert await child.wait() == 0
    child.close()  # idempotent


async def test_the_cpu_time_a_process_used_is_known_once_it_is_reaped() -> None:
    child = start("/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
    assert await child.wait() == 0
    assert child.cpu_seconds > 0
