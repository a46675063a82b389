"""The executor runs real processes: pipes, caps, timeouts, environment and workspace hygiene."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from k8s_mcp_server.errors import Busy, ProxyError
from k8s_mcp_server.execute import Executor, resolve_binaries
from k8s_mcp_server.execute.runner import TERM_GRACE_SECONDS
from tests.support.childenv import ALLOWED_CHILD_ENV

PROGRAMS = ["printf", "grep", "head", "sleep", "env", "yes", "wc", "cat"]


def make_executor(extra: dict[str, Path] | None = None, **kwargs: Any) -> Executor:
    """An executor whose "tools" are ordinary programs (and test scripts); filters are the real ones."""
    binaries = resolve_binaries({}, PROGRAMS)
    binaries.update(extra or {})
    options = {"max_output_bytes": 1 << 20, "max_concurrency": 4, "max_queue": 4, **kwargs}
    return Executor(binaries, tools=set(binaries), **options)


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(0o755)
    return path


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting for init to reap it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


def k8s_workspaces() -> set[str]:
    # per-request workspaces only: the executor's discovery cache root lives as long as the executor
    return {
        p
        for p in os.listdir(tempfile.gettempdir())
        if p.startswith("k8s-mcp-") and not p.startswith("k8s-mcp-discovery-")
    }


async def test_a_pipeline_runs_as_real_processes_joined_by_pipes() -> None:
    raw = await make_executor().run(
        [["printf", "alpha\\nbeta\\ngamma\\n"], ["grep", "a"], ["wc", "-l"]], kubeconfig=None, timeout=10
    )
    assert raw.stdout.strip() == b"3"
    assert raw.exit_code == 0
    assert not raw.truncated and not raw.timed_out


async def test_shell_syntax_in_an_argument_is_just_text() -> None:
    raw = await make_executor().run([["printf", "%s", "$(id); rm -rf /"]], kubeconfig=None, timeout=10)
    assert raw.stdout == b"$(id); rm -rf /"


async def test_the_server_environment_does_not_reach_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K8S_MCP_CANARY_SECRET", "canary-4f1d2e")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-aws-9a8b")
    raw = await make_executor().run([["env"]], kubeconfig=None, timeout=10)
    names = {line.split("=", 1)[0] for line in raw.stdout.decode().splitlines()}
    assert b"canary" not in raw.stdout
    assert names <= ALLOWED_CHILD_ENV


async def test_kubeconfig_is_private_to_the_request_and_removed_afterwards(tmp_path: Path) -> None:
    probe = script(
        tmp_path,
        "probe",
        "import os, stat\n"
        "p = os.environ['KUBECONFIG']\n"
        "print(p)\n"
        "mode = lambda f: oct(stat.S_IMODE(os.stat(f).st_mode))\n"
        "print(mode(p), mode(os.path.dirname(p)))\n"
        "print(open(p).read())\n"
        "print(os.environ['HOME'].startswith(os.path.dirname(p)))",
    )
    raw = await make_executor({"probe": probe}).run([["probe"]], kubeconfig=b"apiVersion: v1\n", timeout=10)
    path, modes, content, _, home_inside = raw.stdout.decode().splitlines()
    assert modes == "0o600 0o700"
    assert content == "apiVersion: v1"
    assert home_inside == "True"
    assert not Path(path).exists()
    assert not Path(path).parent.exists()


async def test_without_a_kubeconfig_the_servers_own_is_not_used(tmp_path: Path) -> None:
    probe = script(tmp_path, "probe", "import os; p = os.environ['KUBECONFIG']; print(p, os.path.exists(p))")
    raw = await make_executor({"probe": probe}).run([["probe"]], kubeconfig=None, timeout=10)
    path, exists = raw.stdout.decode().split()
    assert exists == "False"
    assert not path.startswith(str(Path.home()))


async def test_stdin_is_closed() -> None:
    raw = await make_executor().run([["cat"]], kubeconfig=None, timeout=5)
    assert raw.stdout == b""
    assert raw.exit_code == 0


async def test_timeout_kills_every_stage_and_leaves_no_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    spawner = script(
        tmp_path,
        "spawner",
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(300)",
    )
    started = time.monotonic()
    raw = await make_executor({"spawner": spawner}).run(
        [["spawner"], ["grep", "-v", "zzz"]], kubeconfig=None, timeout=1.0
    )
    elapsed = time.monotonic() - started
    assert raw.timed_out
    assert elapsed < 1.0 + TERM_GRACE_SECONDS + 1.0
    await asyncio.sleep(0.2)
    assert not is_running(int(pid_file.read_text()))


async def test_output_beyond_the_cap_is_cut_and_marked_truncated() -> None:
    started = time.monotonic()
    raw = await make_executor(max_output_bytes=4096).run([["yes"]], kubeconfig=None, timeout=20)
    assert raw.truncated
    assert len(raw.stdout) == 4096
    assert not raw.timed_out
    assert time.monotonic() - started < 5  # the endless producer was stopped, not waited for


async def test_stderr_is_captured_separately() -> None:
    raw = await make_executor().run([["grep", "--no-such-flag"]], kubeconfig=None, timeout=5)
    assert raw.exit_code == 2
    assert raw.stdout == b""
    assert b"no-such-flag" in raw.stderr


async def test_a_tool_that_is_not_installed_is_refused_with_a_code() -> None:
    executor = Executor({}, max_output_bytes=1024, max_concurrency=1, max_queue=0)
    with pytest.raises(ProxyError) as info:
        await executor.run([["kubectl", "get", "ns"]], kubeconfig=None, timeout=5)
    assert info.value.code == "tool_unavailable"


async def test_a_first_stage_that_is_not_a_tool_is_refused_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    touch = script(tmp_path, "touch-marker", f"open({str(marker)!r}, 'w').close()")
    binaries = {**resolve_binaries({}, ["grep"]), "kubectl": touch, "sh": touch}
    executor = Executor(binaries, max_output_bytes=1024, max_concurrency=1, max_queue=0)
    for pipeline in ([["grep", "x"]], [["sh", "-c", "id"]], [["/bin/sh"]], [[]]):
        with pytest.raises(ProxyError) as info:
            await executor.run(pipeline, kubeconfig=None, timeout=5)
        assert info.value.code == "invalid_command"
    assert not marker.exists()
    assert "sh" not in executor.binaries  # a binary for a name that is neither tool nor filter is dropped


async def test_a_later_stage_that_is_not_a_filter_is_refused_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    touch = script(tmp_path, "touch-marker", f"open({str(marker)!r}, 'w').close()")
    executor = Executor(
        {**resolve_binaries({}, ["grep"]), "kubectl": touch, "helm": touch},
        max_output_bytes=1024,
        max_concurrency=1,
        max_queue=0,
    )
    for later in (["kubectl"], ["helm"], ["sh"], ["env"]):
        with pytest.raises(ProxyError) as info:
            await executor.run([["kubectl", "get", "ns"], later], kubeconfig=None, timeout=5)
        assert info.value.code == "invalid_command"
    assert not marker.exists()


async def test_requests_past_the_queue_get_busy() -> None:
    executor = make_executor(max_concurrency=1, max_queue=1)
    first = asyncio.ensure_future(executor.run([["sleep", "1"]], kubeconfig=None, timeout=5))
    second = asyncio.ensure_future(executor.run([["sleep", "1"]], kubeconfig=None, timeout=5))
    await asyncio.sleep(0.1)
    with pytest.raises(Busy):
        await executor.run([["sleep", "1"]], kubeconfig=None, timeout=5)
    assert (await first).exit_code == 0
    assert (await second).exit_code == 0


async def test_a_cancelled_request_kills_its_process_and_removes_its_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "sleeper.pid"
    sleeper = script(
        tmp_path,
        "sleeper",
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(30)",
    )
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # private: other test runs cannot interfere
    executor = make_executor({"sleeper": sleeper})
    task = asyncio.ensure_future(executor.run([["sleeper"]], kubeconfig=b"x", timeout=60))
    for _ in range(50):
        await asyncio.sleep(0.1)
        if pid_file.exists() and pid_file.read_text():
            break
    assert len(k8s_workspaces()) == 1  # the request's workspace exists while it runs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert k8s_workspaces() == set()
    assert not is_running(int(pid_file.read_text()))


def test_binaries_resolve_to_absolute_paths_and_missing_ones_are_left_out(tmp_path: Path) -> None:
    found = resolve_binaries({"kubectl": tmp_path / "missing"}, ["kubectl", "grep"])
    assert "kubectl" not in found
    assert found["grep"].is_absolute()
    assert found["grep"] == Path(shutil.which("grep") or "").resolve()
    assert stat.S_IMODE(found["grep"].stat().st_mode) & 0o111


async def test_a_second_large_output_waits_until_the_first_is_freed() -> None:
    executor = make_executor(large_output_bytes=4096, max_large_outputs=1)
    big = [["yes"], ["head", "-c", "200000"]]
    first = await executor.run(big, kubeconfig=None, timeout=10)
    assert len(first.stdout) == 200000
    blocked = await executor.run(big, kubeconfig=None, timeout=1)
    assert blocked.timed_out  # stalled on the full pipe while the first output is alive
    assert len(blocked.stdout) < 200000
    del first, blocked
    await asyncio.sleep(0)  # the lane comes back through the event loop
    again = await executor.run(big, kubeconfig=None, timeout=10)
    assert len(again.stdout) == 200000 and not again.timed_out


async def test_small_outputs_never_wait_for_a_lane() -> None:
    executor = make_executor(large_output_bytes=4096, max_large_outputs=1)
    held = await executor.run([["yes"], ["head", "-c", "200000"]], kubeconfig=None, timeout=10)
    small = await executor.run([["printf", "ok"]], kubeconfig=None, timeout=2)
    assert small.stdout == b"ok" and not small.timed_out
    assert len(held.stdout) == 200000


async def test_the_discovery_cache_is_per_kubeconfig_and_removed_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    probe = script(tmp_path, "probe", "import os; print(os.environ['KUBECACHEDIR'])")
    executor = make_executor({"probe": probe})
    first = await executor.run([["probe"]], kubeconfig=b"a", timeout=10, cache_key="sha256:aaa")
    again = await executor.run([["probe"]], kubeconfig=b"a", timeout=10, cache_key="sha256:aaa")
    other = await executor.run([["probe"]], kubeconfig=b"b", timeout=10, cache_key="sha256:bbb")
    assert first.stdout == again.stdout != other.stdout
    cache = Path(first.stdout.decode().strip())
    assert cache.is_dir() and stat.S_IMODE(cache.stat().st_mode) == 0o700
    executor.close()
    assert not cache.exists()
    assert not any(p.name.startswith("k8s-mcp-discovery-") for p in tmp_path.iterdir())


async def test_workspaces_go_to_the_configured_work_dir(tmp_path: Path) -> None:
    probe = script(tmp_path, "probe", "import os; print(os.environ['HOME'])")
    work = tmp_path / "work"
    work.mkdir()
    executor = make_executor({"probe": probe}, work_dir=work)
    raw = await executor.run([["probe"]], kubeconfig=b"x", timeout=10)
    home = Path(raw.stdout.decode().strip())
    assert home.parent.parent == work
    assert list(work.iterdir()) == []  # removed afterwards


def test_the_default_work_dir_is_memory_backed_unless_tmpdir_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from k8s_mcp_server.execute import default_work_dir

    monkeypatch.delenv("TMPDIR", raising=False)
    if Path("/dev/shm").is_dir():
        assert default_work_dir() == Path("/dev/shm")
    monkeypatch.setenv("TMPDIR", "/var/tmp")
    assert default_work_dir() is None


async def test_with_a_between_step_the_filters_read_only_what_it_returns() -> None:
    seen: list[bytes] = []

    async def between(stdout: bytes) -> bytes:
        seen.append(stdout)
        return stdout.replace(b"s3cret", b"[gone]")

    raw = await make_executor().run(
        [["printf", "user=a pw=s3cret\\nnext\\n"], ["grep", "pw"], ["head", "-n", "5"]],
        kubeconfig=None,
        timeout=10,
        between=between,
    )
    assert seen == [b"user=a pw=s3cret\nnext\n"]  # the tool's whole stdout, once
    assert raw.stdout == b"user=a pw=[gone]\n" and raw.exit_code == 0


async def test_a_filter_that_stops_reading_early_ends_the_feed_quietly(tmp_path: Path) -> None:
    tool = script(tmp_path, "tool", "import sys\nsys.stdout.write('x' * (4 << 20))")

    async def between(stdout: bytes) -> bytes:
        return stdout

    raw = await make_executor({"tool": tool}, max_output_bytes=8 << 20).run(
        [["tool"], ["head", "-c", "3"]], kubeconfig=None, timeout=10, between=between
    )
    assert raw.stdout == b"xxx" and raw.exit_code == 0 and not raw.timed_out


async def test_a_tool_that_fails_still_feeds_its_filters_and_its_stderr_is_kept(tmp_path: Path) -> None:
    tool = script(tmp_path, "tool", "import sys\nprint('partial')\nsys.stderr.write('boom\\n')\nsys.exit(3)")

    async def between(stdout: bytes) -> bytes:
        return stdout.upper()

    raw = await make_executor({"tool": tool}).run(
        [["tool"], ["head", "-n", "5"]], kubeconfig=None, timeout=10, between=between
    )
    assert raw.stdout == b"PARTIAL\n" and raw.stderr == b"boom\n"
    assert raw.exit_code == 0  # the last stage's, as a shell without pipefail reports it


async def test_the_deadline_covers_the_tool_and_its_filters_together(tmp_path: Path) -> None:
    stuck = script(tmp_path, "stuck", "import time\ntime.sleep(30)")

    async def between(stdout: bytes) -> bytes:
        return stdout

    raw = await make_executor({"uniq": stuck}).run(
        [["printf", "x\\n"], ["uniq"]], kubeconfig=None, timeout=1, between=between
    )
    assert raw.timed_out  # the stuck filter was ended by the request's one deadline
