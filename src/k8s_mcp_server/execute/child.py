"""A started process whose exit the event loop learns from a pidfd.

asyncio's subprocess support waits for each child in a thread of its own (ThreadedChildWatcher) and
wraps it in transports; measured against `subprocess.run` of the same kubectl command that costs
0.6-2.5 ms per request. Here the process is started with `subprocess.Popen` (vfork + exec, as asyncio
does too) and its exit is a readable pidfd (Linux >= 5.3) in the event loop; where pidfds are not
available the wait falls back to a worker thread (which waits without reaping).

The process is reaped with wait4, which also tells the CPU time it used: the executor needs it to
tell a stage killed at its CPU limit from one killed for another reason (execute/limits.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Sequence


class Child:
    def __init__(
        self, argv: Sequence[str], *, stdin: int, stdout: int, stderr: int, env: dict[str, str], cwd: str
    ):
        self._popen = subprocess.Popen(  # noqa: S603 - argv is the checked pipeline stage, never a shell
            list(argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
        self.pid = self._popen.pid
        self.argv = tuple(argv)
        self.cpu_seconds = 0.0  # user + system time, known once the process is reaped
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # no pidfd_open: not Linux, or too old
            self._pidfd = os.pidfd_open(self.pid)
        self._exit: asyncio.Future[None] | None = None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (reaping it), else None."""
        return self._reap(block=False)

    async def wait(self) -> int:
        """Wait for the process to end; safe to call again after a cancelled wait."""
        await asyncio.shield(self._exited())
        code = self._reap(block=True)  # it has ended: this only reaps it
        self.close()
        return code if code is not None else -1

    def _reap(self, *, block: bool) -> int | None:
        """wait4 instead of Popen's waitpid, for the CPU time; Popen is then told the status."""
        if self._popen.returncode is None:
            try:
                pid, status, usage = os.wait4(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: Popen knows no more than we do
                return self._popen.poll()
            if pid == 0:
                return None
            self._popen.returncode = os.waitstatus_to_exitcode(status)
            self.cpu_seconds = usage.ru_utime + usage.ru_stime
        return self._popen.returncode

    def close(self) -> None:
        """Release the pidfd (the process itself is the caller's to end)."""
        if self._pidfd is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def _exited(self) -> asyncio.Future[None]:
        if self._exit is None:
            loop = asyncio.get_running_loop()
            self._exit = exit_ = loop.create_future()
            if self.returncode is not None:
                exit_.set_result(None)
            elif self._pidfd is not None:
                loop.add_reader(self._pidfd, self._on_exit)
            else:
                waiting = loop.run_in_executor(None, self._wait_unreaped)
                waiting.add_done_callback(lambda _: self._on_exit())
        return self._exit

    def _wait_unreaped(self) -> None:
        # WNOWAIT: the status stays for _reap; a process reaped meanwhile (returncode asked) is gone
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)

    def _on_exit(self) -> None:
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)  # readable for good now
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(None)
