"""State the replicas of a fleet share: rate-limit buckets, approvals and the audit index.

The approvals store for PostgreSQL is `state.pgapprovals.PostgresApprovalStore` (it implements
approvals/store.py's interface; imported on its own so this package does not need the approvals one).

PostgreSQL when `K8S_MCP_DATABASE_URL` is set (every replica sees the same rows), SQLite beside the
audit log otherwise (one host). One interface over both (`db.Database`), numbered migrations applied
at start (`migrations.migrate`), and one store per kind of state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from k8s_mcp_server.state.auditindex import AuditIndex, IndexEntry
from k8s_mcp_server.state.buckets import SharedBuckets
from k8s_mcp_server.state.db import Database, StateUnavailable, open_database
from k8s_mcp_server.state.migrations import LATEST, migrate

if TYPE_CHECKING:
    from k8s_mcp_server.settings import Settings

__all__ = [
    "LATEST",
    "AuditIndex",
    "Database",
    "IndexEntry",
    "SharedBuckets",
    "StateUnavailable",
    "migrate",
    "open_database",
    "open_state",
    "shared_buckets",
    "sqlite_path_for",
]


def sqlite_path_for(audit_log: Path) -> Path:
    """Where the SQLite state lives without a database URL: beside the audit log."""
    return audit_log.parent / "state.sqlite3"


def open_state(url: str | None, audit_log: Path) -> Database:
    """The database, migrated to this server's schema; raises StateUnavailable (fail closed at start)."""
    db = open_database(url, sqlite_path_for(audit_log))
    migrate(db)
    return db


def shared_buckets(settings: Settings) -> SharedBuckets | None:
    """The rate limiter's shared buckets when a database URL is set (None: per-process buckets).

    Raises ValueError (the server does not start) when the database cannot be reached or migrated;
    the message names neither the URL nor its password.
    """
    if settings.database_url is None:
        return None
    try:
        return SharedBuckets(open_state(settings.database_url.get_secret_value(), settings.audit_log))
    except StateUnavailable as exc:
        raise ValueError(exc.message) from None
