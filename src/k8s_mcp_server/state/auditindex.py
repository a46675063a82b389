"""An index of every pod's audit records in the shared database: which chain and position holds a
request's records, and queries across pods without reading every file.

The records themselves stay in each pod's hash-chained file (and on stdout for the collector); the
index holds where they are and what they say, so `audit query` across a fleet reads one table. An
entry is written once: indexing the same position again with the same hash is a no-op, with another
hash it is reported (the file at that position is not the one indexed before).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from k8s_mcp_server.state.db import Database


@dataclass(frozen=True, kw_only=True)
class IndexEntry:
    chain_id: str
    seq: int
    ts: str
    request_id: str
    event: str
    principal: str
    tool: str
    decision: str
    namespaces: tuple[str, ...]
    hash: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, chain_id: str, seq: int) -> IndexEntry:
        """From one audit record (the JSON object of one line) at position `seq` of `chain_id`."""
        return cls(
            chain_id=chain_id,
            seq=seq,
            ts=str(record.get("ts", "")),
            request_id=str(record.get("request_id", "")),
            event=str(record.get("event", "")),
            principal=str(record.get("principal", "")),
            tool=str(record.get("tool", "")),
            decision=str(record.get("decision", "")),
            namespaces=tuple(str(n) for n in record.get("namespaces") or ()),
            hash=str(record.get("hash", "")),
        )


_COLUMNS = "chain_id, seq, ts, request_id, event, principal, tool, decision, namespaces, hash"


def _entry(row: tuple[Any, ...]) -> IndexEntry:
    return IndexEntry(
        chain_id=row[0],
        seq=int(row[1]),
        ts=row[2],
        request_id=row[3],
        event=row[4],
        principal=row[5],
        tool=row[6],
        decision=row[7],
        namespaces=tuple(json.loads(row[8])),
        hash=row[9],
    )


class AuditIndex:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, entries: Iterable[IndexEntry]) -> list[IndexEntry]:
        """Index `entries`; returns those whose position was already indexed with another hash."""
        conflicts: list[IndexEntry] = []
        with self.db.transaction() as cur:
            for e in entries:
                cur.execute(
                    f"INSERT INTO audit_index ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608 - constant column list
                    "ON CONFLICT (chain_id, seq) DO NOTHING",
                    (
                        e.chain_id, e.seq, e.ts, e.request_id, e.event, e.principal, e.tool, e.decision,
                        json.dumps(list(e.namespaces)), e.hash,
                    ),
                )  # fmt: skip
                if cur.rowcount == 0:
                    cur.execute(
                        "SELECT hash FROM audit_index WHERE chain_id = %s AND seq = %s", (e.chain_id, e.seq)
                    )
                    row = cur.one()
                    if row is not None and row[0] != e.hash:
                        conflicts.append(e)
        return conflicts

    def last_seq(self, chain_id: str) -> int | None:
        """The highest indexed position of a chain (where a pod resumes indexing), or None."""
        with self.db.transaction() as cur:
            cur.execute("SELECT MAX(seq) FROM audit_index WHERE chain_id = %s", (chain_id,))
            row = cur.one()
            return None if row is None or row[0] is None else int(row[0])

    def chains(self) -> dict[str, int]:
        """Every chain id and how many records of it are indexed."""
        with self.db.transaction() as cur:
            cur.execute("SELECT chain_id, COUNT(*) FROM audit_index GROUP BY chain_id ORDER BY chain_id")
            return {str(r[0]): int(r[1]) for r in cur.all()}

    def query(
        self,
        *,
        principal: str | None = None,
        decision: str | None = None,
        request_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 1000,
    ) -> list[IndexEntry]:
        """Entries of every chain that match all the given filters, oldest first (`ts` is RFC 3339 UTC)."""
        where: list[str] = []
        params: list[Any] = []
        for column, value, op in (
            ("principal", principal, "="),
            ("decision", decision, "="),
            ("request_id", request_id, "="),
            ("ts", since, ">="),
            ("ts", until, "<"),
        ):
            if value is not None:
                where.append(f"{column} {op} %s")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM audit_index{clause} ORDER BY ts, chain_id, seq LIMIT %s",  # noqa: S608 - columns and operators are constants; values are parameters
                (*params, limit),
            )
            return [_entry(r) for r in cur.all()]
