"""The approvals store in PostgreSQL behaves as the SQLite one does, method for method, and holds
across replicas: requested through one, approved through another, consumed exactly once by racing
replicas, never by its own requester's approval."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_mcp_server.approvals.model import Approval
from k8s_mcp_server.approvals.store import _COLUMNS, ApprovalStore, SqliteApprovalStore
from k8s_mcp_server.state import migrate, open_database
from k8s_mcp_server.state.pgapprovals import PostgresApprovalStore

NOW = 1_800_000_000.0


def approval(approval_id: str, *, expires_in: float = 600) -> Approval:
    return Approval(
        id=approval_id,
        status="pending",
        created_at=NOW,
        expires_at=NOW + expires_in,
        request_id="req-1",
        principal="agent",
        transport="rest",
        tool="kubectl",
        command="scale deploy web --replicas=3 -n appr-dev",
        argv_digest="sha256:" + "ab" * 32,
        cluster_server="https://127.0.0.1:6443",
        cluster_fingerprint="f" * 64,
        namespaces=("appr-dev",),
        rule="scale-needs-approval",
        rule_reason="reviewed",
        policy_revision="r1",
        approvers=("bob", "group:sre"),
    )


def pg_store(url: str) -> PostgresApprovalStore:
    db = open_database(url)
    migrate(db)
    return PostgresApprovalStore(db)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApprovalStore]:
    made: ApprovalStore
    if request.param == "sqlite":
        made = SqliteApprovalStore(tmp_path / "approvals.sqlite3")
    else:
        made = pg_store(request.getfixturevalue("pg_url"))
    try:
        yield made
    finally:
        made.close()


def test_the_postgresql_table_has_the_sqlite_stores_columns(pg_url: str) -> None:
    db = open_database(pg_url)
    migrate(db)
    with db.transaction() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'approvals' "
            "ORDER BY ordinal_position"
        )
        assert tuple(row[0] for row in cur.all()) == _COLUMNS
    db.close()


def test_an_approval_round_trips_unchanged(store: ApprovalStore) -> None:
    created = approval("a1")
    store.create(created)
    assert store.get("a1") == created
    assert store.get("missing") is None
    assert [a.id for a in store.search(statuses=["pending"], principal="agent")] == ["a1"]
    assert store.search(statuses=["approved"]) == []


def test_decide_consume_once_and_undo(store: ApprovalStore) -> None:
    store.create(approval("a1"))
    assert not store.decide("a1", status="approved", by="agent", reason=None, now=NOW)  # own request
    assert store.decide("a1", status="approved", by="bob", reason="ok", now=NOW)
    assert not store.decide("a1", status="denied", by="carol", reason=None, now=NOW)  # decided already
    assert store.consume("a1", request_id="req-2", now=NOW)
    assert not store.consume("a1", request_id="req-3", now=NOW)
    store.unconsume("a1", request_id="req-2")  # the completion's audit record failed: usable again
    assert store.consume("a1", request_id="req-4", now=NOW)
    found = store.get("a1")
    assert found is not None and (found.status, found.decided_by, found.consumed_request_id) == (
        "consumed",
        "bob",
        "req-4",
    )


def test_an_expired_approval_is_neither_decided_nor_consumed(store: ApprovalStore) -> None:
    store.create(approval("a1", expires_in=10))
    assert store.overdue(NOW + 11) == ["a1"]
    assert not store.decide("a1", status="approved", by="bob", reason=None, now=NOW + 11)
    assert store.expire("a1", now=NOW + 11)
    assert not store.expire("a1", now=NOW + 11)
    assert store.overdue(NOW + 11) == []


def test_requested_on_one_replica_approved_on_another_consumed_once_by_four_racing(pg_url: str) -> None:
    replicas = [pg_store(pg_url) for _ in range(6)]
    replicas[0].create(approval("a1"))
    assert replicas[1].decide("a1", status="approved", by="bob", reason="ok", now=NOW)
    results: list[bool] = []
    lock = threading.Lock()

    def consume(store: PostgresApprovalStore, n: int) -> None:
        won = store.consume("a1", request_id=f"req-{n}", now=NOW)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=consume, args=(s, n)) for n, s in enumerate(replicas[2:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    for store in replicas:
        store.close()
