"""Every stage runs under its resource limits, and a stage stopped by one is told apart from one that
merely failed: real processes under real rlimits (prlimit), plus a table for the runtimes' messages."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from k8s_mcp_server.errors import ResourceLimit
from k8s_mcp_server.execute import ChildLimits, Executor, find_prlimit, resolve_binaries
from k8s_mcp_server.execute.limits import Ended, diagnose, program_name

MiB = 1024 * 1024


def limits(**overrides: int) -> ChildLimits:
    values = {"memory_bytes": 256 * MiB, "cpu_seconds": 30, "open_files": 64, "processes": 4096, **overrides}
    return ChildLimits(prlimit=find_prlimit(), **values)


def executor(child_limits: ChildLimits, extra: dict[str, Path] | None = None) -> Executor:
    binaries = resolve_binaries({}, ["cat", "printf", "sleep", "jq", "grep"])
    binaries.update(extra or {})
    tools = {"cat", "printf", "sleep", *(extra or {})}
    return Executor(
        binaries, tools=tools, max_output_bytes=1 << 20, max_concurrency=2, max_queue=2, limits=child_limits
    )


def proc_limits(text: str) -> dict[str, str]:
    """`Max open files  64  64  files` -> {"Max open files": "64 64"} from /proc/<pid>/limits."""
    rows = {}
    for line in text.splitlines():
        if not line.startswith("Max "):
            continue  # the header
        name, values = line[:26].strip(), line[26:].split()
        rows[name] = " ".join(values[:2])
    return rows


async def test_the_tool_and_every_filter_run_under_the_limits() -> None:
    configured = limits(memory_bytes=300 * MiB, cpu_seconds=20, open_files=100, processes=2000)
    runner = executor(configured)
    tool = await runner.run([["cat", "/proc/self/limits"]], kubeconfig=None, timeout=10)
    piped = await runner.run(
        [["printf", "x"], ["grep", "-h", "Max", "/proc/self/limits", "-"]], kubeconfig=None, timeout=10
    )
    for raw in (tool, piped):
        rows = proc_limits(raw.stdout.decode())
        assert rows["Max data size"] == f"{300 * MiB} {300 * MiB}"
        assert rows["Max cpu time"] == "20 22"  # SIGXCPU at 20 s, SIGKILL at 22 s
        assert rows["Max open files"] == "100 100"
        assert rows["Max processes"] == "2000 2000"
        assert rows["Max core file size"] == "0 0"


async def test_go_programs_get_a_gc_target_below_the_memory_limit() -> None:
    raw = await executor(limits(memory_bytes=400 * MiB)).run(
        [["cat", "/proc/self/environ"]], kubeconfig=None, timeout=10
    )
    assert f"GOMEMLIMIT={300 * MiB}".encode() in raw.stdout.split(b"\0")


async def test_a_filter_past_its_memory_ends_with_resource_limit_memory() -> None:
    with pytest.raises(ResourceLimit) as info:
        await executor(limits(memory_bytes=128 * MiB)).run(
            [["printf", "1"], ["jq", "-n", "[range(6e7)]|length"]], kubeconfig=None, timeout=60
        )
    assert info.value.code == "resource_limit" and info.value.limit == "memory"
    assert "stage 2" in info.value.message and "jq" in info.value.message
    assert "K8S_MCP_CHILD_MEMORY_BYTES" in info.value.message


async def test_a_filter_past_its_cpu_time_ends_with_resource_limit_cpu_time() -> None:
    with pytest.raises(ResourceLimit) as info:
        await executor(limits(cpu_seconds=1)).run(
            [["printf", "1"], ["jq", "-n", "reduce range(1e12) as $i (0; . + 1)"]],
            kubeconfig=None,
            timeout=60,
        )
    assert info.value.limit == "cpu_time"
    assert "K8S_MCP_CHILD_CPU_SECONDS" in info.value.message


async def test_a_program_that_ignores_sigxcpu_is_killed_at_the_hard_limit_and_still_reported(
    tmp_path: Path,
) -> None:
    spinner = tmp_path / "spinner"
    spinner.write_text(
        f"#!{sys.executable}\nimport signal\n"
        "signal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n"
    )
    spinner.chmod(0o755)
    with pytest.raises(ResourceLimit) as info:
        await executor(limits(cpu_seconds=1), {"spinner": spinner}).run(
            [["spinner"]], kubeconfig=None, timeout=60
        )
    assert info.value.limit == "cpu_time"


async def test_an_ordinary_failure_is_a_result_not_a_resource_limit() -> None:
    raw = await executor(limits()).run([["printf", "not json"], ["jq", "."]], kubeconfig=None, timeout=10)
    assert raw.exit_code != 0 and raw.stderr


async def test_a_timeout_stands_as_the_result_even_when_the_stage_dies_by_a_signal() -> None:
    raw = await executor(limits()).run([["sleep", "30"]], kubeconfig=None, timeout=0.5)
    assert raw.timed_out


def test_the_prefix_does_not_hide_the_program_name() -> None:
    wrapped = limits().wrap(["/usr/bin/jq", "-n", "--", "1"])
    assert program_name(wrapped) == "jq"
    assert program_name(["/usr/bin/grep", "x"]) == "grep"


def ended(code: int, cpu: float = 0.0, program: str = "kubectl") -> Ended:
    return Ended(program=program, returncode=code, cpu_seconds=cpu)


@pytest.mark.parametrize(
    ("stages", "stderr", "expected"),
    [
        ([ended(2)], b"fatal error: runtime: cannot allocate memory\n\ngoroutine 1 [running]:\n", "memory"),
        ([ended(2)], b"fatal error: out of memory allocating heap arena map\n", "memory"),
        ([ended(2)], b"fatal error: failed to reserve page summary memory\n", "memory"),
        ([ended(0), ended(-signal.SIGABRT, program="jq")], b"jq: error: cannot allocate memory\n", "memory"),
        ([ended(0), ended(2, program="grep")], b"grep: memory exhausted\n", "memory"),
        (
            [ended(2)],
            b"runtime: epollcreate failed with 24\nfatal error: runtime: netpollinit failed\n",
            "open_files",
        ),
        ([ended(1)], b"error: open /tmp/x/cache: too many open files\n", "open_files"),
        ([ended(2)], b"runtime: failed to create new OS thread (have 9 already; errno=11)\n", "processes"),
        ([ended(-signal.SIGXCPU)], b"", "cpu_time"),
        ([ended(-signal.SIGKILL, cpu=30.5)], b"", "cpu_time"),
        # kubectl's own errors, even with a limit's words in a name, are results
        ([ended(1)], b'Error from server (NotFound): pods "too many open files" not found\n', None),
        ([ended(1)], b'Error from server (NotFound): pods "memory exhausted" not found\n', None),
        # killed by someone else (not after its CPU limit): not guessed at
        ([ended(-signal.SIGKILL, cpu=0.1)], b"", None),
        # a stage that only saw its input end early is not blamed; the earliest abnormal one is
        ([ended(-signal.SIGPIPE), ended(0, program="head")], b"", None),
        ([ended(0)], b"fatal error: runtime: out of memory\n", None),
    ],
)
def test_which_limit_stopped_a_stage(stages: list[Ended], stderr: bytes, expected: str | None) -> None:
    hit = diagnose(stages, stderr, limits())
    assert (hit.limit if hit else None) == expected


def test_the_stage_blamed_is_the_earliest_that_ended_abnormally() -> None:
    hit = diagnose(
        [ended(2, program="kubectl"), ended(5, program="jq")],
        b"fatal error: runtime: out of memory\n",
        limits(),
    )
    assert hit is not None and (hit.stage, hit.program) == (1, "kubectl")


def test_a_huge_stderr_is_scanned_at_its_ends_only() -> None:
    noise = b"W1202 warning line\n" * 100_000
    head = diagnose([ended(2)], b"fatal error: runtime: out of memory\n" + noise, limits())
    tail = diagnose(
        [ended(0), ended(-signal.SIGABRT, program="jq")],
        noise + b"jq: error: cannot allocate memory\n",
        limits(),
    )
    assert head is not None and head.limit == "memory"
    assert tail is not None and tail.limit == "memory"
