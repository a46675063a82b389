"""Migrations: applied once, in order, by whichever replica gets there first; a newer schema is refused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from k8s_mcp_server.state import LATEST, Database, StateUnavailable, migrate, open_database
from k8s_mcp_server.state.migrations import MIGRATIONS, Migration, schema_version


def test_a_migrated_database_is_at_the_latest_version_and_migrating_again_does_nothing(db: Database) -> None:
    assert schema_version(db) == LATEST
    assert migrate(db) == []


def test_a_fresh_database_gets_every_migration_in_order(tmp_path: Path) -> None:
    fresh = open_database(None, tmp_path / "fresh.sqlite3")
    assert migrate(fresh) == [m.version for m in MIGRATIONS]
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))


def test_a_new_migration_is_applied_on_top_of_the_shipped_ones(db: Database) -> None:
    extra = Migration(LATEST + 1, "test column", ("CREATE TABLE later_table (id TEXT PRIMARY KEY)",))
    assert migrate(db, (*MIGRATIONS, extra)) == [LATEST + 1]
    assert schema_version(db) == LATEST + 1
    with pytest.raises(StateUnavailable) as refused:  # this server's shipped list is now too old
        migrate(db)
    assert refused.value.code == "state_unavailable" and "newer than this server's" in refused.value.message


def test_replicas_starting_together_migrate_once(pg_url: str, tmp_path: Path) -> None:
    """Four connections race to migrate an empty PostgreSQL database: the advisory lock lets one do it."""
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start() -> None:
        replica = open_database(pg_url, tmp_path / "unused.sqlite3")
        try:
            results.append(migrate(replica))
        except BaseException as exc:
            errors.append(exc)
        finally:
            replica.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results, key=len) == [[], [], [], [m.version for m in MIGRATIONS]]
