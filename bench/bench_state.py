"""The cost of a shared rate-limit bucket, from one run on this machine.

A real PostgreSQL (started like the tests start it, tests/support/postgres.py; or
K8S_MCP_TEST_DATABASE_URL) and a SQLite file in a temp dir: the median and p99 latency of one
`RateLimiter.check` with the shared backend, against the in-process buckets (the baseline), from one
thread and from 8 threads on 8 connections (8 replicas' worth of contention on one key and on
8 keys). Postgres here runs with fsync=off, as the test server does: a production server's commit
adds its WAL flush (typically 0.1-2 ms on SSDs).

Run: .venv/bin/python bench/bench_state.py [--takes N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.postgres import start_postgres  # noqa: E402

from k8s_mcp_server.api.ratelimit import RateLimiter  # noqa: E402
from k8s_mcp_server.state import SharedBuckets, migrate, open_database  # noqa: E402

PER_MINUTE = 10**9  # never refused: measures the take, not the refusal


def timed(check: Callable[[str], None], key: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        check(key)
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(name: str, samples: list[float], base: float) -> str:
    samples.sort()
    med = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    return f"{name:<44} median {med:8.3f} ms  p99 {p99:8.3f} ms  x{med / base:8.1f} of in-process"


def threaded(make: Callable[[], RateLimiter], keys: list[str], n: int) -> list[float]:
    results: list[list[float]] = [[] for _ in keys]
    limiters = [make() for _ in keys]

    def run(i: int) -> None:
        results[i] = timed(limiters[i].check, keys[i], n)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for r in results for x in r]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--takes", type=int, default=2000)
    n = parser.parse_args().takes
    pg = start_postgres()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base_samples = timed(RateLimiter(PER_MINUTE).check, "key:bench", n)
            base = statistics.median(base_samples)
            print(summary("in-process buckets (baseline)", base_samples, base))

            def pg_limiter() -> RateLimiter:
                db = open_database(pg.url)
                migrate(db)
                return RateLimiter(PER_MINUTE, backend=SharedBuckets(db))

            def sqlite_limiter() -> RateLimiter:
                db = open_database(None, Path(tmp) / "state.sqlite3")
                migrate(db)
                return RateLimiter(PER_MINUTE, backend=SharedBuckets(db))

            print(summary("PostgreSQL, 1 connection", timed(pg_limiter().check, "key:bench", n), base))
            print(
                summary(
                    "SQLite (WAL, synchronous=FULL), 1 connection",
                    timed(sqlite_limiter().check, "key:b", n),
                    base,
                )
            )
            print(
                summary(
                    "PostgreSQL, 8 connections, one key", threaded(pg_limiter, ["key:hot"] * 8, n // 4), base
                )
            )
            keys = [f"key:{i}" for i in range(8)]
            print(summary("PostgreSQL, 8 connections, 8 keys", threaded(pg_limiter, keys, n // 4), base))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
