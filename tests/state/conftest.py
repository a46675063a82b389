"""Each store test runs on both backends (PostgreSQL fixtures: tests/support/postgres_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_mcp_server.state import Database, migrate, open_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: SQLite in the test's folder, or a fresh database on the real PostgreSQL."""
    if request.param == "sqlite":
        database = open_database(None, tmp_path / "state.sqlite3")
    else:
        database = open_database(request.getfixturevalue("pg_url"))
    migrate(database)
    try:
        yield database
    finally:
        database.close()
