"""The audit index: every pod's records by chain and position, queried across pods."""

from __future__ import annotations

from k8s_mcp_server.state import AuditIndex, Database, IndexEntry


def record(n: int, principal: str, decision: str = "allow") -> dict[str, object]:
    return {
        "ts": f"2026-12-02T06:00:{n:02d}Z",
        "request_id": f"req-{n}",
        "event": "decision",
        "principal": principal,
        "tool": "kubectl",
        "decision": decision,
        "namespaces": ["dev"],
        "hash": f"h{n}",
    }


def test_records_of_two_chains_are_queried_together_in_time_order(db: Database) -> None:
    index = AuditIndex(db)
    a = [IndexEntry.from_record(record(n, "ci-bot"), chain_id="pod-a", seq=n) for n in (1, 3)]
    b = [
        IndexEntry.from_record(record(n, "ci-bot" if n == 2 else "alice", "deny"), chain_id="pod-b", seq=n)
        for n in (2, 4)
    ]
    assert index.add(a) == [] and index.add(b) == []
    assert [(e.chain_id, e.seq) for e in index.query(principal="ci-bot")] == [
        ("pod-a", 1),
        ("pod-b", 2),
        ("pod-a", 3),
    ]
    assert [e.request_id for e in index.query(decision="deny")] == ["req-2", "req-4"]
    assert [e.seq for e in index.query(since="2026-12-02T06:00:02Z", until="2026-12-02T06:00:04Z")] == [2, 3]
    assert index.query(request_id="req-4")[0].namespaces == ("dev",)
    assert index.chains() == {"pod-a": 2, "pod-b": 2}
    assert index.last_seq("pod-a") == 3 and index.last_seq("pod-c") is None


def test_indexing_a_position_again_is_a_no_op_and_another_hash_there_is_reported(db: Database) -> None:
    index = AuditIndex(db)
    entry = IndexEntry.from_record(record(1, "ci-bot"), chain_id="pod-a", seq=1)
    assert index.add([entry]) == []
    assert index.add([entry]) == []
    forged = IndexEntry.from_record({**record(1, "ci-bot"), "hash": "other"}, chain_id="pod-a", seq=1)
    assert index.add([forged]) == [forged]
    assert index.query(request_id="req-1")[0].hash == "h1"  # the first one indexed stays
