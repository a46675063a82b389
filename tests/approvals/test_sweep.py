"""Approvals nobody touches after their ttl are expired by the server's sweep, and audited once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from k8s_mcp_server.approvals import ApprovalGate, SqliteApprovalStore
from k8s_mcp_server.audit import AuditLog
from tests.approvals.test_store import pending


def expired_records(log: Path) -> list[dict[str, object]]:
    return [r for r in map(json.loads, log.read_text().splitlines()) if r["event"] == "expired"]


def test_the_sweep_expires_an_untouched_approval_once_and_audits_it(tmp_path: Path) -> None:
    store = SqliteApprovalStore(tmp_path / "approvals.sqlite3")
    audit = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    gate = ApprovalGate(store, audit, max_wait=1)
    store.create(pending("old", ttl=-1))
    store.create(pending("fresh"))

    async def sweep_twice() -> tuple[int, int]:
        return await gate.sweep(), await gate.sweep()

    assert asyncio.run(sweep_twice()) == (1, 0)
    audit.close()
    (record,) = expired_records(tmp_path / "audit.jsonl")
    assert (record["approval_id"], record["principal"]) == ("old", "server")
    assert store.get("fresh").status == "pending"  # type: ignore[union-attr]


def test_the_background_sweep_runs_until_cancelled(tmp_path: Path) -> None:
    store = SqliteApprovalStore(tmp_path / "approvals.sqlite3")
    audit = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    gate = ApprovalGate(store, audit, max_wait=1)
    store.create(pending("old", ttl=-1))

    async def until_expired() -> None:
        task = asyncio.create_task(gate.sweep_forever(interval=0.01))
        log = tmp_path / "audit.jsonl"
        while not (log.exists() and expired_records(log)):
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(until_expired())
    audit.close()
    assert len(expired_records(tmp_path / "audit.jsonl")) == 1
