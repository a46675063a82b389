"""The real PostgreSQL server of the state tests, started once per session (tests/support/postgres.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_mcp_server.state import Database, migrate, open_database
from tests.support.postgres import Postgres, create_database, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """A new, empty database for one test."""
    return create_database(postgres, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Each store test runs on both backends, migrated."""
    if request.param == "sqlite":
        database = open_database(None, tmp_path / "state.sqlite3")
    else:
        database = open_database(request.getfixturevalue("pg_url"), tmp_path / "unused.sqlite3")
    migrate(database)
    try:
        yield database
    finally:
        database.close()
