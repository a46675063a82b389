"""Parser cost against bashlex alone, over the golden command strings.

Run: .venv/bin/python bench/bench_parse.py
Prints median and p99 (across strings) of the per-string median time of parse_command (uncached),
bashlex.parse alone, their ratio, and the cached repeat cost.
"""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bashlex

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import _parse, parse_command

REPEATS = 15


def _cases() -> list[tuple[str, str]]:
    path = Path(__file__).resolve().parents[1] / "tests" / "parse" / "cases.py"
    spec = importlib.util.spec_from_file_location("parse_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["parse_cases"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return [(row[0], row[1]) for row in module.OK] + list(module.REFUSED)


def _time(call: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # refused strings cost time too; bashlex raises on them
            call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _summary(name: str, values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name:<28} median {median * 1e6:9.1f} us   p99 {p99 * 1e6:9.1f} us")
    return median, p99


def main() -> None:
    cases = _cases()
    uncached = _parse
    ours = [_time(lambda t=t, c=c: uncached(t, c, None, "default", 8192)) for t, c in cases]
    theirs = [_time(lambda c=c: bashlex.parse(c)) for _, c in cases]
    for tool, command in cases:  # warm the cache
        with contextlib.suppress(CommandError):
            parse_command(tool, command)
    cached = [_time(lambda t=t, c=c: parse_command(t, c)) for t, c in cases]
    print(f"{len(cases)} golden strings, {REPEATS} runs each")
    ours_median, ours_p99 = _summary("parse_command (uncached)", ours)
    theirs_median, theirs_p99 = _summary("bashlex.parse alone", theirs)
    _summary("parse_command (repeat)", cached)
    ratio = f"ratio median {ours_median / theirs_median:.2f}x   p99 {ours_p99 / theirs_p99:.2f}x"
    print(f"{ratio}   (target <= 1.1x)")


if __name__ == "__main__":
    main()
