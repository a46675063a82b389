"""Fixtures of the real PostgreSQL server (tests/support/postgres.py), registered by tests/conftest.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.postgres import Postgres, create_database, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One server for the session, started on first use (initdb + pg_ctl start: a few seconds)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """A new, empty database for one test."""
    return create_database(postgres, f"t_{uuid.uuid4().hex[:12]}")
