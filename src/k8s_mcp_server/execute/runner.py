"""Run a checked pipeline of argv lists: real processes joined by pipes, never a shell.

Discipline (MCP python-sdk's stdio client): absolute binary paths, an allow-listed environment,
stdin from /dev/null, a new session per stage, bounded reads, and on timeout SIGTERM to every
stage's process group, a grace period, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from k8s_mcp_server.contracts import TOOLS, ParsedCommand, RawOutput
from k8s_mcp_server.errors import CommandError, ResourceLimit, ToolUnavailable
from k8s_mcp_server.execute.admission import SERVER_CALLER, Admission
from k8s_mcp_server.execute.argocd import Access, ArgocdServer, access_for
from k8s_mcp_server.execute.child import Child
from k8s_mcp_server.execute.lanes import OutputLanes, Ticket
from k8s_mcp_server.execute.limits import ChildLimits, Ended, diagnose, program_name
from k8s_mcp_server.execute.workspace import workspace
from k8s_mcp_server.parse.filters import FILTERS

# Time a stage gets to exit after SIGTERM before SIGKILL: kubectl/helm flush and exit in well under 1 s.
TERM_GRACE_SECONDS = 2.0
# Read size per pipe read: large enough to keep syscalls few on 20 MB outputs.
READ_CHUNK = 256 * 1024
# Output past this size needs one of the few large-output lanes (see lanes.py). 256 KiB (the size
# above which redaction moves to a worker thread) covers most listings and bounds what 50 waiting
# requests buffer to ~13 MB. A 20 MB output costs ~120 MB at its peak (raw, decoded, redacted,
# serialised); with the server's own ~105 MB (redaction rules compiled), one lane keeps 50 concurrent
# 20 MB outputs under 300 MB (bench/bench_executor.py: two lanes peaked at 356 MB). Redaction holds
# the GIL, so a second lane bought little throughput.
LARGE_OUTPUT_BYTES = 256 * 1024
MAX_LARGE_OUTPUTS = 1

# Reads the server makes on a request's behalf (provenance) at once: a few, beside the slots.
INTERNAL_CONCURRENCY = 4

# What the tool printed -> what its filters read: the pipeline passes the redactor, so that a filter
# after `|` only ever sees redacted objects (issue: transforms see only redacted data).
Between = Callable[[bytes], Awaitable[bytes]]


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

    def __init__(self, cap: int, ticket: Ticket) -> None:
        self.cap = cap
        self.ticket = ticket
        self.chunks: list[bytes] = []
        self.kept = 0
        self.truncated = False

    async def drain(self, reader: asyncio.StreamReader) -> None:
        """Read to EOF, or stop at the cap: the pipeline is then ended, not read further."""
        while chunk := await reader.read(READ_CHUNK):
            room = self.cap - self.kept
            if len(chunk) > room:
                self.truncated = True
                chunk = chunk[:room]
            if chunk:
                self.chunks.append(chunk)
                self.kept += len(chunk)
                await self.ticket.grow(len(chunk))
            if self.truncated:
                return

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
        tools: Collection[str] = TOOLS,
        filters: Collection[str] = FILTERS,
        large_output_bytes: int = LARGE_OUTPUT_BYTES,
        max_large_outputs: int = MAX_LARGE_OUTPUTS,
        work_dir: Path | None = None,
        argocd: ArgocdServer | None = None,
        limits: ChildLimits | None = None,
        max_per_caller: int | None = None,
        admission_wait: float = 0.0,
    ) -> None:
        # Defence in depth behind the parser: the first stage is one of `tools`, every later stage one
        # of `filters`, and a binary for any other name is never kept.
        self._tools = frozenset(tools)
        self._filters = frozenset(filters)
        self._binaries = {
            name: path for name, path in binaries.items() if name in self._tools | self._filters
        }
        # kubectl's discovery cache per kubeconfig fingerprint, private to this server process; made on
        # first use and removed by close(), or at the latest when the executor is collected or the
        # interpreter exits
        self._work_dir = work_dir  # where workspaces and the cache go; None: the system temp dir
        self._cache_root: Path | None = None
        self._cache_cleanup: weakref.finalize[Any, Any] | None = None
        self._argocd = argocd  # the operator's Argo CD API server (execute/argocd.py), if any
        self._withheld: dict[str, str] = {}  # tool -> why it is not run (see withhold)
        self._max_output = max_output_bytes
        self._lanes = OutputLanes(max_large_outputs, large_output_bytes)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._internal_slots = asyncio.Semaphore(INTERNAL_CONCURRENCY)
        total = max_concurrency + max_queue  # running + queued for a slot
        self._admission = Admission(
            total=total, per_caller=max_per_caller or total, wait_seconds=admission_wait
        )
        self._limits = limits  # every stage's rlimits (execute/limits.py); None: none (tests only)

    @property
    def binaries(self) -> Mapping[str, Path]:
        return self._binaries

    def withhold(self, tool: str, reason: str) -> None:
        """Refuse to run `tool` from now on (`tool_unavailable` with `reason`): its version has no grammar."""
        self._withheld[tool] = reason

    def access(self, parsed: ParsedCommand) -> Access:
        """How `parsed` reaches what it talks to (argocd: kubeconfig, the configured server, or its own
        flags); raises with what to configure when an argocd command can reach nothing. No I/O."""
        return access_for(parsed, self._argocd)

    async def run(
        self,
        pipeline: Sequence[Sequence[str]],
        *,
        kubeconfig: bytes | None,
        timeout: float,
        cache_key: str | None = None,
        admitted: bool = False,
        access: Access | None = None,
        between: Between | None = None,
        internal: bool = False,
    ) -> RawOutput:
        """Run `pipeline` (argv per stage, program names unresolved) and return what it printed.

        `cache_key` (the kubeconfig's fingerprint) selects a discovery cache shared only by requests
        that carry the very same kubeconfig, so no caller reads or seeds another caller's cache.
        `access` (from `access()`) adds what the tool needs to reach its server (argocd's configured
        server and token, read now) to the first stage's environment only, never to a filter's.
        `between` (the redactor) turns what the tool printed into what the filters read; without it
        the stages are joined by pipes directly. `internal`: a read the server makes for a request
        that already holds its place (provenance, redact/provenance.py): it takes one of a few places
        of its own instead of a slot, so a request never waits for a second slot while holding one.
        """
        argvs = [self._resolve(stage, first=i == 0) for i, stage in enumerate(pipeline)]
        admission: contextlib.AbstractAsyncContextManager[None] = (
            contextlib.nullcontext() if admitted or internal else self.admit()
        )
        slots = self._internal_slots if internal else self._slots
        async with admission, slots:
            cache = self._discovery_cache(cache_key)
            with workspace(kubeconfig, discovery_cache=cache, base=self._work_dir) as ws:
                env = ws.environment() | (self._limits.environment() if self._limits else {})
                extra = access.child_environment() if access is not None else {}
                tool_env = {**env, **extra} if extra else env
                return await self._run(argvs, env, str(ws.root), timeout, tool_env=tool_env, between=between)

    def admit(self, caller: str = SERVER_CALLER) -> contextlib.AbstractAsyncContextManager[None]:
        """A place among the running and queued requests for `caller` (execute/admission.py): at
        once, after a bounded wait, or `Busy` with a Retry-After.

        The pipeline takes it before it writes an allow decision, so an audited allow is never
        followed by a busy refusal; `run(..., admitted=True)` then uses that place.
        """
        return self._admission.place(caller)

    def _discovery_cache(self, key: str | None) -> Path | None:
        if key is None:
            return None
        if self._cache_root is None:
            self._cache_root = Path(tempfile.mkdtemp(prefix="k8s-mcp-discovery-", dir=self._work_dir))
            self._cache_cleanup = weakref.finalize(self, shutil.rmtree, str(self._cache_root), True)
        path = self._cache_root / hashlib.sha256(key.encode()).hexdigest()[:32]
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def close(self) -> None:
        if self._cache_cleanup is not None:
            self._cache_cleanup()

    def _resolve(self, stage: Sequence[str], *, first: bool) -> list[str]:
        allowed, role = (self._tools, "the tool") if first else (self._filters, "a filter after '|'")
        if not stage or stage[0] not in allowed:
            name = stage[0] if stage else ""
            raise CommandError(
                f"{name!r} cannot run as {role}: allowed are {', '.join(sorted(allowed))}",
                code="invalid_command",
            )
        if stage[0] in self._withheld:
            raise ToolUnavailable(self._withheld[stage[0]])
        program = self._binaries.get(stage[0])
        if program is None:
            raise ToolUnavailable(f"'{stage[0]}' is not installed on this server (see GET /tools/status)")
        argv = [str(program), *stage[1:]]
        return self._limits.wrap(argv) if self._limits is not None else argv

    async def _run(
        self,
        argvs: list[list[str]],
        env: dict[str, str],
        cwd: str,
        timeout: float,
        *,
        tool_env: dict[str, str] | None = None,
        between: Between | None = None,
    ) -> RawOutput:
        """Run the stages under one deadline. With `between` and filters, the tool runs alone first;
        its stdout, passed through `between` (the redactor), is what the first filter reads."""
        started = time.perf_counter()
        procs: list[Child] = []
        ticket = self._lanes.ticket()
        out, err = _Capped(self._max_output, ticket), _Capped(self._max_output, ticket)
        timed_out = False
        truncated = False
        try:
            try:
                async with asyncio.timeout(timeout):
                    if between is None or len(argvs) == 1:
                        await self._stages(argvs, None, out, err, env, cwd, tool_env, procs)
                    else:
                        first = _Capped(self._max_output, ticket)
                        await self._stages(argvs[:1], None, first, err, env, cwd, tool_env, procs)
                        await self._finish(procs[:1])  # capped: the tool is not read further
                        truncated = first.truncated
                        fed = await between(first.value())
                        first.chunks.clear()
                        await self._stages(argvs[1:], fed, out, err, env, cwd, None, procs)
            except TimeoutError:
                timed_out = True
            exit_code = await self._finish(procs)
        except BaseException:
            ticket.release()
            await self._finish(procs)
            raise
        raw = RawOutput(
            stdout=out.value(),
            stderr=err.value(),
            exit_code=exit_code,
            duration_ms=(time.perf_counter() - started) * 1000,
            truncated=truncated or out.truncated or err.truncated,
            timed_out=timed_out,
        )
        self._check_limits(procs, raw, ticket)
        ticket.bind(raw)
        return raw

    async def _stages(
        self,
        argvs: list[list[str]],
        feed: bytes | None,
        out: _Capped,
        err: _Capped,
        env: dict[str, str],
        cwd: str,
        tool_env: dict[str, str] | None,
        procs: list[Child],
    ) -> None:
        """Start `argvs` joined by pipes (the first reads `feed`, or nothing), read the last one's stdout
        and every stderr until EOF or a cap, then wait for the stages. Started stages go to `procs`."""
        transports: list[asyncio.BaseTransport] = []
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        owned = [out_r, out_w, err_r, err_w]  # fds this function still has to close
        feeder: asyncio.Task[None] | None = None
        first = len(procs)
        try:
            stdin: int = subprocess.DEVNULL
            feed_w = -1
            if feed is not None:
                stdin, feed_w = os.pipe()
                owned += [stdin, feed_w]
            for i, argv in enumerate(argvs):
                last = i == len(argvs) - 1
                next_r, stage_out = (-1, out_w) if last else os.pipe()
                if not last:
                    owned += [next_r, stage_out]
                stage_env = tool_env if i == 0 and tool_env is not None else env
                procs.append(Child(argv, stdin=stdin, stdout=stage_out, stderr=err_w, env=stage_env, cwd=cwd))
                # the child has its copies; ours must go or the readers never see EOF
                for fd in (stdin, stage_out):
                    if fd in owned:
                        os.close(fd)
                        owned.remove(fd)
                stdin = next_r
            os.close(err_w)
            owned.remove(err_w)
            if feed is not None:
                owned.remove(feed_w)
                feeder = asyncio.ensure_future(_feed(feed_w, feed, transports))
            out_reader = await self._reader(out_r, transports)
            owned.remove(out_r)
            err_reader = await self._reader(err_r, transports)
            owned.remove(err_r)
            if await _read_both(out, out_reader, err, err_reader):
                await asyncio.gather(*(p.wait() for p in procs[first:]))
        finally:
            if feeder is not None:
                feeder.cancel()
                await asyncio.gather(feeder, return_exceptions=True)
            for transport in transports:
                transport.close()
            for fd in owned:
                os.close(fd)

    def _check_limits(self, procs: Sequence[Child], raw: RawOutput, ticket: Ticket) -> None:
        """Raise ResourceLimit when a stage was stopped by one of its limits (the timeout and the output
        cap end stages on purpose: those results stand)."""
        if self._limits is None or raw.timed_out or raw.truncated:
            return
        ended = [
            Ended(program=program_name(p.argv), returncode=code, cpu_seconds=p.cpu_seconds)
            for p in procs
            if (code := p.returncode) is not None
        ]
        hit = diagnose(ended, raw.stderr, self._limits)
        if hit is not None:
            ticket.release()
            raise ResourceLimit(
                f"stage {hit.stage} of the command ({hit.program}) was stopped at its limit of "
                f"{self._limits.describe(hit.limit)}: narrow what it processes (a namespace, a selector, "
                "fewer fields), or ask the operator to raise that setting",
                limit=hit.limit,
            )

    @staticmethod
    async def _reader(fd: int, transports: list[asyncio.BaseTransport]) -> asyncio.StreamReader:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_CHUNK)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
        transports.append(transport)
        return reader

    async def _finish(self, procs: list[Child]) -> int:
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
            proc.close()
        if not procs:
            return -1
        code = procs[-1].returncode
        return code if code is not None else -1


async def _read_both(
    out: _Capped, out_reader: asyncio.StreamReader, err: _Capped, err_reader: asyncio.StreamReader
) -> bool:
    """Drain stdout and stderr together; False as soon as either hits its cap (the rest is dropped)."""
    tasks = {asyncio.ensure_future(out.drain(out_reader)), asyncio.ensure_future(err.drain(err_reader))}
    try:
        while tasks:
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            if out.truncated or err.truncated:
                return False
        return True
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _feed(fd: int, data: bytes, transports: list[asyncio.BaseTransport]) -> None:
    """Write `data` into the pipe `fd` (the first filter's stdin), then close it; a filter that stops
    reading early (`head`) ends the write, as it would in a shell."""
    loop = asyncio.get_running_loop()
    pipe = os.fdopen(fd, "wb", buffering=0)
    try:
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
    except BaseException:
        pipe.close()
        raise
    transports.append(transport)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for i in range(0, len(data), READ_CHUNK):
            writer.write(data[i : i + READ_CHUNK])
            await writer.drain()
    transport.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
