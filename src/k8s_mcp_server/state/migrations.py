"""The schema of the shared state, as numbered migrations applied once, in order, by whichever
replica starts first (PostgreSQL: under an advisory lock, so two pods starting together do not both
migrate; SQLite: under its write lock).

A migration is never edited after it shipped: a change is a new one. A database migrated by a newer
server than this one is refused at start (this server would not know what its tables mean).
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_mcp_server.state.db import Database, StateUnavailable

# pg_advisory_xact_lock key: any fixed 64-bit number that no other application on the database uses
MIGRATION_LOCK = 0x6B386D6370  # "k8mcp"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]  # the same SQL for both dialects (types chosen to mean the same)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "rate-limit buckets",
        (
            # one token bucket per key (api/ratelimit.bucket_key): tokens left at updated_at (epoch s)
            """CREATE TABLE rate_buckets (
                key TEXT PRIMARY KEY,
                tokens DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX rate_buckets_updated ON rate_buckets (updated_at)",
        ),
    ),
    Migration(
        2,
        "approvals",
        (
            # issue 16's approvals (approvals/store.py): the SQLite store's table, column for column
            """CREATE TABLE approvals (
                id TEXT PRIMARY KEY,
                status TEXT NOT NULL
                    CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                request_id TEXT NOT NULL,
                principal TEXT NOT NULL,
                transport TEXT NOT NULL,
                tool TEXT NOT NULL,
                command TEXT NOT NULL,
                argv_digest TEXT NOT NULL,
                cluster_server TEXT,
                cluster_fingerprint TEXT,
                namespaces TEXT NOT NULL,
                rule TEXT NOT NULL,
                rule_reason TEXT,
                policy_revision TEXT NOT NULL,
                approvers TEXT NOT NULL,
                preview TEXT,
                decided_by TEXT,
                decided_at DOUBLE PRECISION,
                decision_reason TEXT,
                consumed_at DOUBLE PRECISION,
                consumed_request_id TEXT
            )""",
            "CREATE INDEX approvals_status ON approvals (status, expires_at)",
        ),
    ),
    Migration(
        3,
        "audit index",
        (
            # one row per audit record of every pod: where it is (chain, position) and what it says
            """CREATE TABLE audit_index (
                chain_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                ts TEXT NOT NULL,
                request_id TEXT NOT NULL,
                event TEXT NOT NULL,
                principal TEXT NOT NULL,
                tool TEXT NOT NULL,
                decision TEXT NOT NULL,
                namespaces TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (chain_id, seq)
            )""",
            "CREATE INDEX audit_index_request ON audit_index (request_id)",
            "CREATE INDEX audit_index_principal_ts ON audit_index (principal, ts)",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the missing migrations in one transaction; returns the versions applied now."""
    latest = migrations[-1].version if migrations else 0
    with db.transaction() as cur:
        if db.dialect == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cur.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at DOUBLE PRECISION NOT NULL
            )"""
        )
        cur.execute("SELECT version FROM schema_migrations")
        applied = {int(row[0]) for row in cur.all()}
        newer = sorted(v for v in applied if v > latest)
        if newer:
            raise StateUnavailable(
                f"the shared state's schema is at version {max(newer)}, newer than this server's "
                f"{latest}: a newer server migrated it; run that version (or a newer one)"
            )
        done: list[int] = []
        now = db.now(cur)
        for migration in migrations:
            if migration.version in applied:
                continue
            for statement in migration.statements:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, now),
            )
            done.append(migration.version)
        return done


def schema_version(db: Database) -> int:
    with db.transaction() as cur:
        cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        row = cur.one()
        return int(row[0]) if row else 0
