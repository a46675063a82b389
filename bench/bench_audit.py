"""Audit log write throughput and latency, with and without fsync, in a temp dir on this machine.

Run: .venv/bin/python bench/bench_audit.py [--records N]
Target: with fsync, the median added latency per record is <= 1 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from k8s_mcp_server.audit import AuditLog, verify

TARGET_MS = 1.0


def record(n: int) -> dict[str, Any]:
    """A decision record of realistic size (~600 bytes on disk)."""
    return {
        "request_id": f"0f8e2c1a-{n:08d}",
        "event": "decision",
        "principal": "ci-bot",
        "transport": "rest",
        "source_ip": "127.0.0.1",
        "tool": "kubectl",
        "command": "kubectl get pods -n team-payments -l app=checkout -o wide | grep Running",
        "argv": ["get", "pods", "-n", "team-payments", "-l", "app=checkout", "-o", "wide"],
        "filters": [["grep", "Running"]],
        "verbs": ["get"],
        "resources": ["pods"],
        "namespaces": ["team-payments"],
        "decision": "allow",
        "rule": "allow-reads",
        "reason": "reads are allowed in team namespaces",
        "policy_revision": "sha256:3b1f0c",
        "cluster": {"server": "https://10.0.0.1:6443", "fingerprint": "sha256:" + "ab" * 32},
    }


def run(directory: Path, *, fsync: bool, count: int, threads: int = 1) -> dict[str, float]:
    """Write `count` records (split over `threads`); return rate and per-record latency stats."""
    path = directory / f"audit-{'fsync' if fsync else 'nofsync'}-{threads}.jsonl"
    log = AuditLog(path, fsync=fsync)
    log.write(record(-1))  # open the file outside the timed part
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        mine: list[float] = []
        for n in range(offset, count, threads):
            started = time.perf_counter()
            log.write(record(n))
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    log.close()
    result = verify([path])
    if not result.ok or result.records != count + 1:
        raise SystemExit(f"chain broken after the benchmark: {result.problem}")
    latencies.sort()
    return {
        "per_second": count / elapsed,
        "median_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "max_ms": latencies[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--dir", type=Path, help="parent of the temp dir (the filesystem to measure)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-", dir=args.dir) as tmp:
        directory = Path(tmp)
        print(f"{args.records} records per run, temp dir on {directory}")
        print(f"{'mode':<22}{'records/s':>12}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
        results = {}
        for fsync, threads in ((False, 1), (True, 1), (True, 8)):
            name = f"{'fsync' if fsync else 'no fsync'}, {threads} thread{'s' if threads > 1 else ''}"
            stats = run(directory, fsync=fsync, count=args.records, threads=threads)
            results[(fsync, threads)] = stats
            print(
                f"{name:<22}{stats['per_second']:>12.0f}{stats['median_ms']:>12.3f}"
                f"{stats['p99_ms']:>10.3f}{stats['max_ms']:>10.3f}"
            )
    median = results[(True, 1)]["median_ms"]
    verdict = "meets" if median <= TARGET_MS else "MISSES"
    print(f"fsync median {median:.3f} ms per record {verdict} the {TARGET_MS} ms target")
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
