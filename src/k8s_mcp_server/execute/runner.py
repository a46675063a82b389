"""Run a checked pipeline of argv lists: real processes joined by pipes, never a shell.

Discipline (MCP python-sdk's stdio client): absolute binary paths, an allow-listed environment,
stdin from /dev/null, a new session per stage, bounded reads, and on timeout SIGTERM to every
stage's process group, a grace period, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from k8s_mcp_server.contracts import RawOutput
from k8s_mcp_server.errors import Busy, ProxyError
from k8s_mcp_server.execute.workspace import workspace

# Time a stage gets to exit after SIGTERM before SIGKILL: kubectl/helm flush and exit in well under 1 s.
TERM_GRACE_SECONDS = 2.0
# Read size per pipe read: large enough to keep syscalls few on 20 MB outputs.
READ_CHUNK = 256 * 1024


def resolve_binaries(configured: Mapping[str, Path | None], names: Sequence[str]) -> dict[str, Path]:
    """Absolute paths for the tools and filters: a configured path wins, else the server's PATH.

    A name that cannot be found is left out; running it is then refused with a clear code.
    """
    found: dict[str, Path] = {}
    for name in names:
        path = configured.get(name)
        if path is None:
            where = shutil.which(name)
            path = Path(where) if where else None
        if path is not None and path.is_file() and os.access(path, os.X_OK):
            found[name] = path.resolve()
    return found


class _Capped:
    """Collects a stream up to a byte cap; anything past it is counted but not kept."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.kept = 0
        self.truncated = False

    async def drain(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(READ_CHUNK):
            room = self.cap - self.kept
            if len(chunk) > room:
                self.truncated = True
                chunk = chunk[:room]
            if chunk:
                self.chunks.append(chunk)
                self.kept += len(chunk)

    def value(self) -> bytes:
        return b"".join(self.chunks)


class Executor:
    """Starts pipelines under a concurrency limit with a bounded queue."""

    def __init__(
        self,
        binaries: Mapping[str, Path],
        *,
        max_output_bytes: int,
        max_concurrency: int,
        max_queue: int,
    ) -> None:
        self._binaries = dict(binaries)
        self._max_output = max_output_bytes
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_waiting = max_concurrency + max_queue
        self._admitted = 0

    @property
    def binaries(self) -> Mapping[str, Path]:
        return self._binaries

    async def run(
        self, pipeline: Sequence[Sequence[str]], *, kubeconfig: bytes | None, timeout: float
    ) -> RawOutput:
        """Run `pipeline` (argv per stage, program names unresolved) and return what it printed."""
        argvs = [self._resolve(stage) for stage in pipeline]
        if self._admitted >= self._max_waiting:
            raise Busy("too many requests in flight; retry in a moment")
        self._admitted += 1
        try:
            async with self._slots:
                with workspace(kubeconfig) as ws:
                    return await self._run(argvs, ws.environment(), str(ws.root), timeout)
        finally:
            self._admitted -= 1

    def _resolve(self, stage: Sequence[str]) -> list[str]:
        program = self._binaries.get(stage[0])
        if program is None:
            raise ProxyError(
                f"'{stage[0]}' is not installed on this server (see GET /tools/status)",
                code="tool_unavailable",
            )
        return [str(program), *stage[1:]]

    async def _run(self, argvs: list[list[str]], env: dict[str, str], cwd: str, timeout: float) -> RawOutput:
        started = time.perf_counter()
        procs: list[asyncio.subprocess.Process] = []
        out, err = _Capped(self._max_output), _Capped(self._max_output)
        err_r, err_w = os.pipe()
        try:
            stdin: int = asyncio.subprocess.DEVNULL
            for i, argv in enumerate(argvs):
                last = i == len(argvs) - 1
                if last:
                    stdout_target: int = asyncio.subprocess.PIPE
                    next_r = -1
                else:
                    next_r, stdout_target = os.pipe()
                try:
                    proc = await asyncio.create_subprocess_exec(
                        *argv,
                        stdin=stdin,
                        stdout=stdout_target,
                        stderr=err_w,
                        env=env,
                        cwd=cwd,
                        start_new_session=True,
                        close_fds=True,
                    )
                finally:
                    if stdin != asyncio.subprocess.DEVNULL:
                        os.close(stdin)
                    if not last:
                        os.close(stdout_target)
                procs.append(proc)
                stdin = next_r
            os.close(err_w)
            err_w = -1
            loop = asyncio.get_running_loop()
            err_reader = asyncio.StreamReader(limit=READ_CHUNK)
            err_transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(err_reader), os.fdopen(err_r, "rb", buffering=0)
            )
            err_r = -1
            last_proc = procs[-1]
            assert last_proc.stdout is not None  # noqa: S101 - PIPE was requested just above
            timed_out = False
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.gather(out.drain(last_proc.stdout), err.drain(err_reader))
                    await asyncio.gather(*(p.wait() for p in procs))
            except TimeoutError:
                timed_out = True
            finally:
                err_transport.close()
            exit_code = await self._finish(procs)
        except BaseException:
            await self._finish(procs)
            raise
        finally:
            for fd in (err_r, err_w):
                if fd >= 0:
                    os.close(fd)
        return RawOutput(
            stdout=out.value(),
            stderr=err.value(),
            exit_code=exit_code,
            duration_ms=(time.perf_counter() - started) * 1000,
            truncated=out.truncated or err.truncated,
            timed_out=timed_out,
        )

    async def _finish(self, procs: list[asyncio.subprocess.Process]) -> int:
        """Make sure every stage (and its group) is gone; return the last stage's exit code."""
        running = [p for p in procs if p.returncode is None]
        for proc in running:
            _signal_group(proc.pid, signal.SIGTERM)
        if running:
            try:
                async with asyncio.timeout(TERM_GRACE_SECONDS):
                    await asyncio.gather(*(p.wait() for p in running))
            except TimeoutError:
                for proc in running:
                    _signal_group(proc.pid, signal.SIGKILL)
                await asyncio.gather(*(p.wait() for p in running))
        for proc in procs:
            # a stage may have exited while children it started still hold the pipes open
            _signal_group(proc.pid, signal.SIGKILL)
        if not procs:
            return -1
        code = procs[-1].returncode
        return code if code is not None else -1


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
