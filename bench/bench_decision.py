"""Decision cost (parse + evaluate) against bashlex alone, over the golden table.

Run: .venv/bin/python bench/bench_decision.py [--repeats N]

For every string of tests/parse/cases.py (allowed, denied and refused rows) it measures, interleaved
so that machine noise hits both alike:

- the decision uncached: the parser's uncached entry point plus the policy's uncached evaluation
  under policies/default.yaml (the parse cache and the decision cache are bypassed, not warmed);
- `bashlex.parse` alone on the same string (the baseline: the cost of reading the shell grammar);
- the decision repeated: `parse_command` + `evaluate` with warm caches (a repeated command).

Each figure is the per-string median of N runs; the summary gives median and p99 across strings,
the ratio of those, and the median of the per-string ratios. The target is <= 1.1x bashlex.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bashlex

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the golden table lives in tests/parse/cases.py

from tests.parse.cases import GOLDEN  # noqa: E402

from k8s_mcp_server.errors import CommandError  # noqa: E402
from k8s_mcp_server.parse import _parse, parse_command  # noqa: E402
from k8s_mcp_server.policy import evaluate, load_policy  # noqa: E402
from k8s_mcp_server.policy.decide import _evaluate  # noqa: E402

TARGET = 1.1


def _once(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(Exception):  # refused strings cost time too; bashlex raises on many
        call()
    return time.perf_counter() - started


def _summary(name: str, values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name:<34} median {median * 1e6:8.1f} us   p99 {p99 * 1e6:8.1f} us")
    return median, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    repeats = parser.parse_args().repeats
    policy = load_policy(REPO / "policies" / "default.yaml")
    uncached_evaluate = _evaluate.__wrapped__
    rows = [(row.tool, row.command) for row in GOLDEN]

    def decide_uncached(tool: str, command: str) -> object:
        return uncached_evaluate(policy, _parse(tool, command, None, "default", 8192))

    def decide(tool: str, command: str) -> object:
        try:
            return evaluate(policy, parse_command(tool, command))
        except CommandError:
            return None

    ours: list[float] = []
    theirs: list[float] = []
    ratios: list[float] = []
    for tool, command in rows:
        mine, base = [], []
        for _ in range(repeats):  # interleaved: a burst of load slows both readings
            mine.append(_once(lambda t=tool, c=command: decide_uncached(t, c)))
            base.append(_once(lambda c=command: bashlex.parse(c)))
        ours.append(statistics.median(mine))
        theirs.append(statistics.median(base))
        ratios.append(ours[-1] / theirs[-1])
    for tool, command in rows:
        decide(tool, command)  # warm both caches
    cached = [
        statistics.median(_once(lambda t=tool, c=command: decide(t, c)) for _ in range(repeats))
        for tool, command in rows
    ]
    print(f"{len(rows)} golden strings (allowed, denied, refused), {repeats} interleaved runs each")
    ours_median, ours_p99 = _summary("decision, uncached (parse+evaluate)", ours)
    base_median, base_p99 = _summary("bashlex.parse alone", theirs)
    _summary("decision, repeated (cached)", cached)
    print(
        f"ratio to bashlex: median {ours_median / base_median:.2f}x   p99 {ours_p99 / base_p99:.2f}x   "
        f"median of per-string ratios {statistics.median(ratios):.2f}x   (target <= {TARGET}x)"
    )


if __name__ == "__main__":
    main()
