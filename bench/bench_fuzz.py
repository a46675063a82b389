"""Fuzz benchmark: decide (parse + policy) a million generated inputs; none may take over 10 ms.

Run: .venv/bin/python bench/bench_fuzz.py [--count N] [--seed S] [--save FILE]

Inputs come from tests/parse/fuzzgen.py (golden commands with shell-ish fragments spliced in,
random fragment strings, the looping class `'${'x`, long runs up to the length limit). Each is
decided uncached (the parser's uncached entry point and the policy's uncached evaluation under
policies/default.yaml; the shell layer's cache of bashlex readings stays on, as in the server).
Every input over the limit is timed again five times with that cache cleared: an input is slow when
even its fastest re-run is over the limit (a single slow run can be the machine, not the input).
Prints the count, the raw and confirmed counts over the limit, the median and the slowest inputs.
"""

from __future__ import annotations

import argparse
import heapq
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the generator lives in tests/parse/fuzzgen.py

from tests.parse.fuzzgen import generate  # noqa: E402

from k8s_mcp_server.errors import CommandError  # noqa: E402
from k8s_mcp_server.parse import _parse, shell  # noqa: E402
from k8s_mcp_server.policy import load_policy  # noqa: E402
from k8s_mcp_server.policy.decide import _evaluate  # noqa: E402

LIMIT = 0.010
KEEP = 1000  # the slowest single runs, timed again: a single run's rank is partly noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--save", type=Path, help="write the slowest inputs as JSON here")
    args = parser.parse_args()
    policy = load_policy(REPO / "policies" / "default.yaml")
    evaluate = _evaluate.__wrapped__

    def decide(tool: str, command: str) -> str:
        try:
            evaluate(policy, _parse(tool, command, None, "default", 8192))
            return "decided"
        except CommandError:
            return "refused"

    for tool, command in generate(2000, seed=1):  # load each tool's data and warm the interpreter
        decide(tool, command)
    outcomes = {"decided": 0, "refused": 0}
    slowest: list[tuple[float, str, str]] = []
    over: list[tuple[float, str, str]] = []
    sample: list[float] = []
    clock = time.perf_counter
    started = clock()
    for index, (tool, command) in enumerate(generate(args.count, seed=args.seed)):
        begun = clock()
        outcome = decide(tool, command)
        took = clock() - begun
        outcomes[outcome] += 1
        if index % 100 == 0:
            sample.append(took)
        if took > LIMIT:
            over.append((took, tool, command))
        if len(slowest) < KEEP:
            heapq.heappush(slowest, (took, tool, command))
        elif took > slowest[0][0]:
            heapq.heapreplace(slowest, (took, tool, command))
    elapsed = clock() - started

    def retime(tool: str, command: str) -> float:
        runs = []
        for _ in range(5):
            shell._bashlex_spans.cache_clear()
            begun = clock()
            decide(tool, command)
            runs.append(clock() - begun)
        return min(runs)

    retimed = {(t, c): retime(t, c) for _, t, c in [*over, *slowest]}
    confirmed = [(took, t, c) for (t, c), took in retimed.items() if took > LIMIT]
    ranked = sorted(((took, t, c) for (t, c), took in retimed.items()), reverse=True)
    print(f"{args.count} inputs (seed {args.seed}) in {elapsed:.1f} s: {outcomes}")
    print(f"median {statistics.median(sample) * 1e6:.1f} us (every 100th input)")
    limit_ms = f"{LIMIT * 1e3:.0f} ms"
    print(f"over {limit_ms}: {len(over)} single runs, {len(confirmed)} confirmed (fastest of 5 re-runs)")
    print(f"slowest single run: {max(slowest)[0] * 1e3:.2f} ms")
    print(f"slowest of {len(retimed)} re-timed inputs, fastest of 5 re-runs with bashlex's cache cleared:")
    for took, tool, command in ranked[:10]:
        print(f"  {took * 1e3:7.2f} ms  {tool:<8} {len(command):5} chars  {command[:70]!r}")
    if args.save:
        rows = [{"ms": round(t * 1e3, 3), "tool": tool, "command": c} for t, tool, c in ranked[: KEEP // 10]]
        args.save.write_text(json.dumps(rows, indent=1) + "\n")
    if confirmed:
        sys.exit(f"{len(confirmed)} inputs slower than {LIMIT * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
