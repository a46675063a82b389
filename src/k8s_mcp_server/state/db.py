"""One small SQL database API over PostgreSQL (psycopg 3) and SQLite, for the stores of this package.

Statements are written once with `%s` placeholders (psycopg's) and turned into `?` for SQLite. Every
unit of work is one `transaction()`: PostgreSQL's default READ COMMITTED plus explicit row locks
(`SELECT ... FOR UPDATE`, `locked()` below), SQLite's `BEGIN IMMEDIATE` (one writer at a time).

Failures are `StateUnavailable` (503, fail closed) with a message that names the backend and the
error class, never the database URL: it carries a password.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from k8s_mcp_server.errors import ProxyError

Dialect = Literal["postgresql", "sqlite"]
Row = tuple[Any, ...]

# Connecting to PostgreSQL: a pod whose database is gone must answer 503 quickly, not hang a request.
CONNECT_TIMEOUT = 5  # seconds (libpq connect_timeout)
# A statement of these stores touches one row by key: anything slower is a stuck lock or server.
STATEMENT_TIMEOUT_MS = 5000
# SQLite: how long a writer waits for another process's write lock (same host, same file).
SQLITE_BUSY_TIMEOUT = 5.0


class StateUnavailable(ProxyError):
    """The shared state cannot be read or written: the request is refused (fail closed)."""

    code = "state_unavailable"
    status = 503


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def one(self) -> Row | None: ...
    def all(self) -> list[Row]: ...
    @property
    def rowcount(self) -> int: ...


@dataclass
class _SqliteCursor:
    raw: sqlite3.Cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(sql.replace("%s", "?"), tuple(params))

    def one(self) -> Row | None:
        row: Row | None = self.raw.fetchone()
        return row

    def all(self) -> list[Row]:
        return list(self.raw.fetchall())

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount


@dataclass
class _PgCursor:
    raw: Any  # psycopg.Cursor[tuple[Any, ...]]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(sql, tuple(params))

    def one(self) -> Row | None:
        row: Row | None = self.raw.fetchone()
        return row

    def all(self) -> list[Row]:
        return list(self.raw.fetchall())

    @property
    def rowcount(self) -> int:
        count: int = self.raw.rowcount
        return count


class Database:
    """A connection to one database, shared by the threads of one process under a lock.

    One connection is enough for these stores (a statement touches one row by key, well under a
    millisecond on PostgreSQL over loopback); a broken connection is dropped and the next
    transaction connects again.
    """

    def __init__(self, dialect: Dialect, *, url: str | None = None, path: Path | None = None) -> None:
        self.dialect: Dialect = dialect
        self._url = url
        self._path = path
        self._lock = threading.Lock()
        self._conn: Any = None

    def __repr__(self) -> str:  # never the URL: it carries the password
        where = str(self._path) if self.dialect == "sqlite" else "postgresql://…"
        return f"Database({self.dialect}, {where})"

    @property
    def describe(self) -> str:
        return "PostgreSQL" if self.dialect == "postgresql" else f"SQLite {self._path}"

    def now(self, cur: Cursor) -> float:
        """Seconds since the epoch by the database's clock (PostgreSQL: one clock for every pod)."""
        if self.dialect == "sqlite":
            return time.time()
        cur.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
        row = cur.one()
        return float(row[0]) if row else time.time()

    def for_update(self) -> str:
        """The row-lock suffix of a SELECT (SQLite's BEGIN IMMEDIATE already holds the write lock)."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One transaction: committed when the block ends, rolled back (and re-raised) on an error."""
        with self._lock:
            try:
                conn = self._connect()
                if self.dialect == "sqlite":
                    cur = conn.cursor()
                    cur.execute("BEGIN IMMEDIATE")
                    try:
                        yield _SqliteCursor(cur)
                    except BaseException:
                        conn.rollback()
                        raise
                    conn.commit()
                else:
                    with conn.transaction(), conn.cursor() as cur:
                        yield _PgCursor(cur)
            except ProxyError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise self._unavailable(exc) from None
            except Exception as exc:
                if _is_psycopg_error(exc):
                    self._drop()
                    raise self._unavailable(exc) from None
                raise

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _connect(self) -> Any:
        if self._conn is not None and not getattr(self._conn, "closed", False):
            return self._conn
        if self.dialect == "sqlite":
            if self._path is None:
                raise StateUnavailable("no SQLite file is configured for the shared state")
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn: Any = sqlite3.connect(
                self._path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._path.chmod(0o600)
        else:
            import psycopg

            conn = psycopg.connect(
                self._url or "",
                connect_timeout=CONNECT_TIMEOUT,
                autocommit=True,  # transactions only through conn.transaction()
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                application_name="k8s-mcp-server",
            )
        self._conn = conn
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # a broken connection may fail to close; it is gone either way
                conn.close()

    def _unavailable(self, exc: BaseException) -> StateUnavailable:
        # the class name only: psycopg's messages can quote the connection string's host and user
        return StateUnavailable(
            f"the shared state ({self.describe}) cannot be used ({type(exc).__name__}): the request "
            "is refused; the operator checks the database (K8S_MCP_DATABASE_URL) and the server log"
        )


def _is_psycopg_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.Error)


def open_database(url: str | None, sqlite_path: Path | None = None) -> Database:
    """PostgreSQL when `url` is given (postgresql:// or postgres://), SQLite at `sqlite_path` otherwise."""
    if url:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in ("postgresql", "postgres"):
            raise ValueError("K8S_MCP_DATABASE_URL must be a postgresql:// URL")
        return Database("postgresql", url=url)
    return Database("sqlite", path=sqlite_path)
