"""The SQLite approvals store: every change is one conditional UPDATE, so concurrent callers (threads
here, processes and replicas in production) change a row once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from k8s_mcp_server.approvals import Approval, SqliteApprovalStore


def pending(approval_id: str, *, ttl: float = 600.0, principal: str = "agent") -> Approval:
    now = time.time()
    return Approval(
        id=approval_id,
        status="pending",
        created_at=now,
        expires_at=now + ttl,
        request_id="req-" + approval_id,
        principal=principal,
        transport="rest",
        tool="kubectl",
        command="scale deploy/api --replicas=3 -n dev",
        argv_digest="sha256:00",
        cluster_server="https://10.0.0.1:6443",
        cluster_fingerprint="sha256:ab",
        namespaces=("dev",),
        rule="scale-needs-approval",
        rule_reason=None,
        policy_revision="sha256:1",
        approvers=("bob",),
    )


def race(workers: int, change: object) -> list[bool]:
    results: list[bool] = []
    start = threading.Barrier(workers)
    lock = threading.Lock()

    def work() -> None:
        start.wait()
        won = change()  # type: ignore[operator]
        with lock:
            results.append(bool(won))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_concurrent_consumers_across_two_store_instances_consume_an_approval_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "approvals.sqlite3"
    first, second = SqliteApprovalStore(path), SqliteApprovalStore(path)  # two processes' worth of handles
    first.create(pending("a1"))
    assert first.decide("a1", status="approved", by="bob", reason="ok", now=time.time())
    stores = [first, second]
    calls = iter(range(50))

    def consume() -> bool:
        n = next(calls)
        return stores[n % 2].consume("a1", request_id=f"r{n}", now=time.time())

    results = race(50, consume)
    assert results.count(True) == 1 and len(results) == 50
    assert second.get("a1").status == "consumed"  # type: ignore[union-attr]


def test_the_requester_cannot_decide_and_an_approval_is_decided_once(tmp_path: Path) -> None:
    store = SqliteApprovalStore(tmp_path / "a.sqlite3")
    store.create(pending("a2"))
    assert not store.decide("a2", status="approved", by="agent", reason=None, now=time.time())
    results = race(20, lambda: store.decide("a2", status="approved", by="bob", reason=None, now=time.time()))
    assert results.count(True) == 1
    assert not store.decide("a2", status="denied", by="carol", reason="late", now=time.time())


def test_an_expired_approval_cannot_be_decided_or_consumed_and_expires_once(tmp_path: Path) -> None:
    store = SqliteApprovalStore(tmp_path / "a.sqlite3")
    store.create(pending("a3", ttl=-1))
    now = time.time()
    assert not store.decide("a3", status="approved", by="bob", reason=None, now=now)
    assert store.overdue(now) == ["a3"]
    assert race(10, lambda: store.expire("a3", now=time.time())).count(True) == 1
    assert not store.consume("a3", request_id="r", now=now)
    assert store.get("a3").status == "expired"  # type: ignore[union-attr]


def test_an_approval_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    SqliteApprovalStore(path).create(pending("a4"))
    again = SqliteApprovalStore(path)
    found = again.get("a4")
    assert found is not None and found.status == "pending" and found.namespaces == ("dev",)
    assert [a.id for a in again.search(statuses=("pending",))] == ["a4"]
    assert (path.stat().st_mode & 0o777) == 0o600
