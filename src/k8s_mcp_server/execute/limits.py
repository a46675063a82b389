"""Resource limits for every process a command starts (the CLI and each filter), and how a stage
that hit one is told apart from a stage that merely failed.

The limits are set by util-linux `prlimit`, which the stage's argv starts with: it sets them on
itself and then execs the program (same pid, same process group), so no Python runs between fork
and exec (a `preexec_fn` is unsafe in a server with threads, and would turn vfork into fork).

Memory is bounded with RLIMIT_DATA, not RLIMIT_AS: the Go runtime of kubectl v1.32 and helm v3.17
reserves ~730 MiB of address space at start (both fail with "failed to reserve page summary memory"
under RLIMIT_AS = 700 MiB and start at 768 MiB), which says nothing about what they use. RLIMIT_DATA
counts writable private mappings (Linux >= 4.7): the Go heap and glibc's malloc arenas, not Go's
PROT_NONE reservations; kubectl starts with 64 MiB. Go CLIs also get GOMEMLIMIT a quarter below
the limit, so their garbage collector works harder before the hard limit is reached.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Where prlimit is looked for: the system's own directories, never the caller's or the server's PATH.
PRLIMIT_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
# SIGXCPU comes at the soft CPU limit; a program that ignores it (every Go binary does) is killed
# with SIGKILL at the hard limit, this much later.
CPU_KILL_GRACE_SECONDS = 2
# GOMEMLIMIT as a share of the memory limit: the Go GC's soft target, with room for what it does not
# count (goroutine stacks are in it, C allocations and fragmentation are not).
GO_MEMORY_SHARE = 0.75
# Only short stderr lines are compared with the runtimes' messages (they are all under 100 chars),
# and only in the first and last part of a long stderr (the message is at the start of a Go crash
# dump, at the end of what jq or grep printed): a 10 MiB stderr is not split on the event loop.
MESSAGE_LINE_MAX = 200
MESSAGE_SCAN_BYTES = 256 * 1024

LIMIT_SETTINGS = {
    "memory": "K8S_MCP_CHILD_MEMORY_BYTES",
    "cpu_time": "K8S_MCP_CHILD_CPU_SECONDS",
    "open_files": "K8S_MCP_CHILD_OPEN_FILES",
    "processes": "K8S_MCP_CHILD_PROCESSES",
}


def find_prlimit() -> Path:
    """The prlimit binary, or RuntimeError saying what to install (commands never run unlimited)."""
    where = shutil.which("prlimit", path=PRLIMIT_PATH)
    if where is None:
        raise RuntimeError(
            "prlimit (util-linux) is not installed: it sets the memory, CPU, open-file and process "
            "limits of every command this server runs; install util-linux"
        )
    return Path(where)


@dataclass(frozen=True, kw_only=True)
class ChildLimits:
    memory_bytes: int  # RLIMIT_DATA
    cpu_seconds: int  # RLIMIT_CPU (soft; hard = soft + CPU_KILL_GRACE_SECONDS)
    open_files: int  # RLIMIT_NOFILE, soft = hard (the Go runtime raises soft to hard)
    processes: int  # RLIMIT_NPROC: processes + threads of the server's user, as the kernel counts them
    prlimit: Path

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv` started under the limits (and without core dumps: a crashing CLI's memory holds the
        caller's credentials)."""
        return [
            str(self.prlimit),
            f"--data={self.memory_bytes}",
            f"--cpu={self.cpu_seconds}:{self.cpu_seconds + CPU_KILL_GRACE_SECONDS}",
            f"--nofile={self.open_files}",
            f"--nproc={self.processes}",
            "--core=0",
            "--",
            *argv,
        ]

    def environment(self) -> dict[str, str]:
        """Added to every stage's environment (programs that are not Go ignore it)."""
        return {"GOMEMLIMIT": str(int(self.memory_bytes * GO_MEMORY_SHARE))}

    def describe(self, limit: str) -> str:
        value = {
            "memory": f"{self.memory_bytes / 2**20:g} MiB of memory",
            "cpu_time": f"{self.cpu_seconds} s of CPU time",
            "open_files": f"{self.open_files} open files",
            "processes": f"{self.processes} processes and threads",
        }[limit]
        return f"{value} ({LIMIT_SETTINGS[limit]})"


def program_name(argv: Sequence[str]) -> str:
    """The program a stage runs, whether or not its argv starts with prlimit and its options."""
    if argv and Path(argv[0]).name == "prlimit" and "--" in argv[:-1]:
        return Path(argv[list(argv).index("--") + 1]).name
    return Path(argv[0]).name if argv else ""


@dataclass(frozen=True, kw_only=True)
class Ended:
    """How one stage ended: its exit status (negative: the signal) and the CPU time it used."""

    program: str
    returncode: int
    cpu_seconds: float


@dataclass(frozen=True, kw_only=True)
class Hit:
    limit: str  # a key of LIMIT_SETTINGS
    stage: int  # 1-based position in the pipeline
    program: str


def diagnose(stages: Sequence[Ended], stderr: bytes, limits: ChildLimits) -> Hit | None:
    """The limit that stopped the command, or None when every stage ended on its own terms.

    Only the earliest stage that ended abnormally is blamed: the stages after it only saw their input
    end early. CPU time is told by the signal (SIGXCPU, or SIGKILL after using the soft limit); the
    others by the message the runtime prints when an allocation, a thread or a file is refused.
    """
    for index, stage in enumerate(stages, start=1):
        code = stage.returncode
        if code == 0 or code in (-signal.SIGPIPE, -signal.SIGTERM):
            continue
        if code == -signal.SIGXCPU or (code == -signal.SIGKILL and stage.cpu_seconds >= limits.cpu_seconds):
            return Hit(limit="cpu_time", stage=index, program=stage.program)
        limit = _limit_in_messages(stderr)
        return Hit(limit=limit, stage=index, program=stage.program) if limit else None
    return None


def _limit_in_messages(stderr: bytes) -> str | None:
    if len(stderr) > 2 * MESSAGE_SCAN_BYTES:
        stderr = stderr[:MESSAGE_SCAN_BYTES] + b"\n" + stderr[-MESSAGE_SCAN_BYTES:]
    for raw in stderr.splitlines():
        if len(raw) > MESSAGE_LINE_MAX:
            continue
        line = raw.decode("latin-1").strip().lower()
        if _is_memory(line):
            return "memory"
        if _is_open_files(line):
            return "open_files"
        if _is_processes(line):
            return "processes"
    return None


def _is_memory(line: str) -> bool:
    if line.startswith("fatal error:") and ("out of memory" in line or "allocate memory" in line):
        return True  # the Go runtime: heap growth refused
    if line.startswith("fatal error: failed to reserve"):
        return True  # the Go runtime at start-up
    # jq ("jq: error: cannot allocate memory"), grep/sort/coreutils ("grep: memory exhausted")
    return line.endswith(("error: cannot allocate memory", ": memory exhausted"))


def _is_open_files(line: str) -> bool:
    return line.endswith(": too many open files") or line.startswith("runtime: epollcreate failed with 24")


def _is_processes(line: str) -> bool:
    return line.startswith(("runtime: failed to create new os thread", "fatal error: newosproc")) or (
        line.endswith("resource temporarily unavailable") and ("pthread_create" in line or "fork" in line)
    )
