"""The refusal aggregate: counts per source and reason per interval, written at the interval's end and
at shutdown, nothing lost (a real log in a temp dir)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from k8s_mcp_server.audit import AuditLog, verify
from k8s_mcp_server.audit.refusals import PER_INTERVAL, PER_KEY, RefusalAggregator
from tests.audit.conftest import read_records


def refuse(
    agg: RefusalAggregator, n: int, *, source: str = "10.0.0.9", code: str = "unauthenticated"
) -> None:
    for i in range(n):
        agg.add(
            code=code, reason="the API key is not valid", transport="rest", source_ip=source,
            tool="kubectl", status=401, request_id=f"r{i}",
        )  # fmt: skip


def test_many_refusals_become_one_record_per_source_and_reason(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    agg = RefusalAggregator(log, interval=10)
    refuse(agg, 1000)
    refuse(agg, 300, source="10.0.0.8")
    refuse(agg, 7, code="forbidden_host")
    assert agg.flush() == 1307 and agg.pending == 0
    log.close()
    records = read_records(log_path)
    assert len(records) == 3
    counts = {(r["source_ip"], r["error_code"]): r["count"] for r in records}
    assert counts == {("10.0.0.9", "unauthenticated"): 1000, ("10.0.0.8", "unauthenticated"): 300,
                      ("10.0.0.9", "forbidden_host"): 7}  # fmt: skip
    first = records[0]
    assert (first["event"], first["decision"], first["status"], first["interval_seconds"]) == (
        "refusals", "rejected", 401, 10,
    )  # fmt: skip
    assert first["request_ids"] == ["r0", "r1", "r2"] and first["first_ts"] <= first["last_ts"]
    assert verify([log_path]).ok


def test_an_empty_interval_writes_nothing(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    assert RefusalAggregator(log).flush() == 0
    log.close()
    assert not log_path.exists() or read_records(log_path) == []


def test_past_max_keys_further_sources_are_folded_into_one_count_per_reason(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    agg = RefusalAggregator(log, max_keys=4)
    for i in range(100):
        refuse(agg, 2, source=f"10.1.0.{i}")
    assert agg.flush() == 200
    log.close()
    records = read_records(log_path)
    assert len(records) == 5
    folded = [r for r in records if r["folded"]]
    assert len(folded) == 1 and folded[0]["source_ip"] is None and folded[0]["count"] == 192


def test_counts_whose_record_cannot_be_written_are_kept_for_the_next_flush(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    broken = AuditLog(blocker / "audit.jsonl", fsync=False)
    agg = RefusalAggregator(broken)
    refuse(agg, 50)
    assert agg.flush() == 0 and agg.pending == 50
    refuse(agg, 5)
    good = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    agg.audit = good
    assert agg.flush() == 55
    good.close()
    assert [r["count"] for r in read_records(tmp_path / "audit.jsonl")] == [55]


def test_only_the_first_few_refusals_per_key_and_interval_get_a_record_of_their_own(log_path: Path) -> None:
    agg = RefusalAggregator(AuditLog(log_path, fsync=False))
    key = {"code": "unauthenticated", "transport": "rest", "source_ip": "10.0.0.9"}
    assert [agg.individual(**key) for _ in range(PER_KEY + 2)] == [True] * PER_KEY + [False, False]
    others = [agg.individual(code="unauthenticated", transport="rest", source_ip=f"10.2.{i // 250}.{i % 250}")
              for i in range(PER_INTERVAL * 2)]  # fmt: skip
    assert sum(others) == PER_INTERVAL - PER_KEY  # the interval's budget is shared
    agg.flush()
    assert agg.individual(**key)  # a new interval, a new budget
    agg.audit.close()


async def test_the_flush_task_writes_the_interval_s_counts_at_its_end_and_checkpoints(log_path: Path) -> None:
    log = AuditLog(log_path, fsync=False)
    agg = RefusalAggregator(log, interval=0.05)
    task = asyncio.create_task(agg.run())
    refuse(agg, 20)
    try:
        for _ in range(400):  # until the interval has ended and its flush has run
            if log_path.exists() and read_records(log_path):
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert [r["count"] for r in read_records(log_path)] == [20]
    refuse(agg, 3)
    assert agg.flush() == 3  # what shutdown does after cancelling the task
    log.close()
    assert sum(r["count"] for r in read_records(log_path)) == 23
