"""Approvals in the shared database: decided once, consumed once, only for the request they were
given for, and only before they expire; the same through any replica."""

from __future__ import annotations

import threading

import pytest

from k8s_mcp_server.state import ApprovalError, ApprovalStore, Database, migrate, open_database

SHA = "ab" * 32


def ask(store: ApprovalStore, ttl: float = 600) -> str:
    request = {"tool": "kubectl", "command": "delete pod web-1 -n dev"}
    return store.create(
        principal="ci-bot", tool="kubectl", command_sha256=SHA, request=request, rule="r", ttl=ttl
    ).id


def test_an_approval_is_pending_then_approved_then_consumed_once(db: Database) -> None:
    store = ApprovalStore(db)
    approval_id = ask(store)
    assert store.get(approval_id).status == "pending"
    decided = store.decide(approval_id, approver="alice", approve=True, reason="ok")
    assert (decided.status, decided.decided_by, decided.reason) == ("approved", "alice", "ok")
    used = store.consume(approval_id, principal="ci-bot", tool="kubectl", command_sha256=SHA)
    assert used.status == "consumed" and used.consumed_by == "ci-bot"
    with pytest.raises(ApprovalError) as again:
        store.consume(approval_id, principal="ci-bot", tool="kubectl", command_sha256=SHA)
    assert again.value.code == "approval_conflict" and "consumed" in again.value.message


def test_a_pending_or_denied_approval_cannot_be_consumed(db: Database) -> None:
    store = ApprovalStore(db)
    pending = ask(store)
    with pytest.raises(ApprovalError):
        store.consume(pending, principal="ci-bot", tool="kubectl", command_sha256=SHA)
    store.decide(pending, approver="alice", approve=False, reason="no")
    assert store.get(pending).status == "denied"
    with pytest.raises(ApprovalError):
        store.consume(pending, principal="ci-bot", tool="kubectl", command_sha256=SHA)


def test_an_approval_is_only_for_its_own_principal_tool_and_command(db: Database) -> None:
    store = ApprovalStore(db)
    approval_id = ask(store)
    store.decide(approval_id, approver="alice", approve=True, reason="ok")
    for principal, tool, sha in (
        ("other", "kubectl", SHA),
        ("ci-bot", "helm", SHA),
        ("ci-bot", "kubectl", "cd" * 32),
    ):
        with pytest.raises(ApprovalError) as refused:
            store.consume(approval_id, principal=principal, tool=tool, command_sha256=sha)
        assert "another request" in refused.value.message
    assert store.get(approval_id).status == "approved"  # still usable by the right request


def test_the_requester_cannot_approve_their_own_request(db: Database) -> None:
    store = ApprovalStore(db)
    with pytest.raises(ApprovalError) as refused:
        store.decide(ask(store), approver="ci-bot", approve=True, reason="me")
    assert (refused.value.code, refused.value.status) == ("approval_self", 403)


def test_an_expired_approval_can_be_neither_decided_nor_consumed(db: Database) -> None:
    store = ApprovalStore(db)
    expired = ask(store, ttl=-1)  # expired when created: no waiting in the test
    assert store.get(expired).status == "expired"
    with pytest.raises(ApprovalError):
        store.decide(expired, approver="alice", approve=True, reason="late")
    assert store.list(status="expired")[0].id == expired


def test_an_unknown_approval_is_not_found(db: Database) -> None:
    with pytest.raises(ApprovalError) as refused:
        ApprovalStore(db).get("no-such-id")
    assert (refused.value.code, refused.value.status) == ("approval_not_found", 404)


def test_requested_through_one_replica_approved_through_another_consumed_once_by_racing_replicas(
    pg_url: str,
) -> None:
    replicas = []
    for _ in range(6):
        db = open_database(pg_url)
        migrate(db)
        replicas.append(ApprovalStore(db))
    approval_id = ask(replicas[0])
    replicas[1].decide(approval_id, approver="alice", approve=True, reason="ok")
    wins: list[str] = []
    losses: list[str] = []

    def consume(store: ApprovalStore) -> None:
        try:
            store.consume(approval_id, principal="ci-bot", tool="kubectl", command_sha256=SHA)
            wins.append("won")
        except ApprovalError as exc:
            losses.append(exc.code)

    threads = [threading.Thread(target=consume, args=(s,)) for s in replicas[2:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins == ["won"] and losses == ["approval_conflict"] * 3
    for store in replicas:
        store.db.close()
