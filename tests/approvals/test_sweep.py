"""Approvals nobody touches after their ttl are expired by the server's sweep, and audited once;
a store that fails answers approvals_unavailable."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from k8s_mcp_server.approvals import ApprovalGate, SqliteApprovalStore
from k8s_mcp_server.approvals.gate import ApprovalsUnavailable
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


class BrokenStore(SqliteApprovalStore):
    def get(self, approval_id: str) -> None:  # type: ignore[override]
        raise sqlite3.OperationalError("disk I/O error")


def test_a_store_that_fails_is_approvals_unavailable_not_a_server_error(tmp_path: Path) -> None:
    gate = ApprovalGate(BrokenStore(tmp_path / "a.sqlite3"), AuditLog(tmp_path / "audit.jsonl"), max_wait=1)
    with pytest.raises(ApprovalsUnavailable) as info:
        asyncio.run(gate.get("apr-1", None))
    assert info.value.status == 503 and "disk I/O" not in info.value.message
