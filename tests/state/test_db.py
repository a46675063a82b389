"""The database layer: PostgreSQL or SQLite by the URL, and failures that refuse (503) without
saying the URL or its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.state import StateUnavailable, open_database, open_state
from k8s_mcp_server.state.db import Database
from tests.support.postgres import Postgres
from tests.support.server import free_port

PASSWORD = "s3cret-Passw0rd-canary"


def test_no_url_is_sqlite_beside_the_audit_log(tmp_path: Path) -> None:
    db = open_state(None, tmp_path / "audit" / "audit.jsonl")
    assert db.dialect == "sqlite"
    assert (tmp_path / "audit" / "state.sqlite3").stat().st_mode & 0o777 == 0o600
    db.close()


def test_a_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="postgresql://") as refused:
        open_database(f"mysql://u:{PASSWORD}@h/db", tmp_path / "s.sqlite3")
    assert PASSWORD not in str(refused.value)


def test_an_unreachable_database_is_state_unavailable_without_the_url(tmp_path: Path) -> None:
    url = f"postgresql://k8smcp:{PASSWORD}@127.0.0.1:{free_port()}/k8smcp"
    db = open_database(url, tmp_path / "s.sqlite3")
    with pytest.raises(StateUnavailable) as refused:
        open_state(url, tmp_path / "audit.jsonl")
    assert refused.value.status == 503 and refused.value.code == "state_unavailable"
    for text in (refused.value.message, repr(db), str(refused.value)):
        assert PASSWORD not in text and "127.0.0.1" not in text


def test_a_wrong_password_is_state_unavailable_without_the_password(
    postgres: Postgres, tmp_path: Path
) -> None:
    base = postgres.url.split("@", 1)[1]
    with pytest.raises(StateUnavailable) as refused:
        open_state(f"postgresql://k8smcp:{PASSWORD}@{base}", tmp_path / "audit.jsonl")
    assert PASSWORD not in refused.value.message and "k8smcp" not in refused.value.message


def test_a_failed_transaction_is_rolled_back(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as cur:
        cur.execute("INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (%s, %s, %s)", ("k", 1.0, 0.0))
        raise RuntimeError("stop")
    with db.transaction() as cur:
        cur.execute("SELECT COUNT(*) FROM rate_buckets")
        assert cur.one() == (0,)


def test_a_dropped_connection_is_replaced_by_the_next_transaction(pg_url: str) -> None:
    db = open_database(pg_url)
    with db.transaction() as cur:
        cur.execute("SELECT pg_backend_pid()")
        row = cur.one()
        assert row is not None
    killer = open_database(pg_url)
    with killer.transaction() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (row[0],))
    with pytest.raises(StateUnavailable), db.transaction() as cur:  # this one finds the connection dead
        cur.execute("SELECT 1")
    with db.transaction() as cur:  # and the next one connects again
        cur.execute("SELECT 1")
        assert cur.one() == (1,)
    db.close()
    killer.close()
