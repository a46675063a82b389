"""Fuzzing the shell layer, always in a bounded child process (memory rlimit, timeout).

bashlex 0.18 loops forever, growing memory, on a partly single-quoted word holding `${` with no `}`
after it (`'${'x`): its word expansion looks for the closing quote from the opening one, finds the
opening one itself, and then `_paramexpand` moves the scan back to the start of the word. The shell
layer now shows bashlex only the command's shape (x, quotes, backslashes, spaces, `|`); these tests
would catch a regression without hanging the suite: every candidate runs in a child process.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.parse.fuzzgen import LOOPING

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 20.0  # seconds per candidate: generous, a loop never ends and a parse takes milliseconds
_WORKER = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import _parse
from k8s_mcp_server.parse import shell
from k8s_mcp_server.policy import load_policy
from k8s_mcp_server.policy.decide import _evaluate
policy = load_policy(Path(sys.argv[1]) / "policies" / "default.yaml")
evaluate = _evaluate.__wrapped__
for tool in ("kubectl", "helm", "istioctl", "argocd"):  # load each tool's data before timing
    try:
        evaluate(policy, _parse(tool, "version", None, "default", 8192))
    except CommandError:
        pass
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    mode, tool, text = json.loads(line)
    started = time.perf_counter()
    try:
        if mode == "shape":
            shell._bashlex_spans.__wrapped__(text)
        else:
            evaluate(policy, _parse(tool, text, None, "default", 8192))
        out = "ok"
    except CommandError:
        out = "refused"
    except BaseException as exc:
        out = "crash: " + type(exc).__name__
    print(json.dumps([out, time.perf_counter() - started]), flush=True)
"""


class Bounded:
    """One child process that decides inputs; a candidate that does not answer in time is a hang."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(REPO)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None and json.loads(proc.stdout.readline()) == "ready"
        return proc

    def run(self, mode: str, tool: str, text: str) -> tuple[str, float]:
        if self.proc is None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps([mode, tool, text]) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            return ("hang or out of memory", TIMEOUT)
        out, seconds = json.loads(line)
        return out, seconds

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None


@pytest.fixture(scope="module")
def bounded() -> Iterator[Bounded]:
    worker = Bounded()
    yield worker
    worker.close()


_LOOPING_CLASS = [
    *LOOPING,
    "get pods '${'x",
    "get pods -o go-template='{{${'.x",
    "get pods -l 'a'\"b\"'${'",
    "get 'a'\\''${'",
    "get x'${'y'${'z",
]


@pytest.mark.parametrize("command", _LOOPING_CLASS)
def test_the_looping_class_is_decided_at_once(bounded: Bounded, command: str) -> None:
    out, seconds = bounded.run("decide", "kubectl", command)
    assert out in ("ok", "refused"), out
    assert seconds < 5.0


_SHELLISH = st.sampled_from(
    ["'", '"', "$", "{", "}", "(", ")", "\\", "|", " ", "a", "get", "pods", "-o", "=", "'$'", "${", "$(",
     "$'", "`", "[", "]", "*", "!", "~", "#", ";", "&", "a" * 40, "'" * 9, "$" * 9, "{" * 9, "\\" * 9]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(command=st.lists(_SHELLISH, min_size=1, max_size=16).map("".join))
def test_shell_ish_fragments_never_hang_or_crash_the_parser(bounded: Bounded, command: str) -> None:
    out, _ = bounded.run("decide", "kubectl", command)
    assert out in ("ok", "refused"), (out, command)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    shape=st.lists(st.sampled_from(["x", "'", '"', "\\", " ", "|", "''", "'x'", '"x"', "\\x"]), max_size=40)
)
def test_bashlex_terminates_on_every_shape(bounded: Bounded, shape: list[str]) -> None:
    out, _ = bounded.run("shape", "kubectl", "".join(shape))
    assert out in ("ok", "refused"), (out, shape)


def test_a_fixed_seed_sample_of_the_generator_is_decided_quickly(bounded: Bounded) -> None:
    """The CI sample of bench/bench_fuzz.py: every input decided or refused, none slow (a generous
    bound against a hang; the benchmark measures the 10 ms target on a million inputs)."""
    from tests.parse.fuzzgen import generate

    slowest = (0.0, "")
    for tool, command in generate(3000, seed=20261201):
        out, seconds = bounded.run("decide", tool, command)
        assert out in ("ok", "refused"), (out, command[:200])
        slowest = max(slowest, (seconds, command))
    print(f"slowest of 3000: {slowest[0] * 1e3:.2f} ms ({len(slowest[1])} characters)")
    assert slowest[0] < 1.0, slowest[1][:200]
