"""A real PostgreSQL server for the tests (Debian's `postgresql`, scripts/postgres.sh), started for
the session like the cluster: initdb into a fresh folder, pg_ctl start on a loopback port with
password authentication, a role and a database for the tests.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (or `nobody`) in a
folder that user owns. K8S_MCP_TEST_DATABASE_URL points the tests at a server you run instead.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[2]
# initdb takes ~1-2 s here and pg_ctl start under a second; generous bounds for a loaded CI machine.
INITDB_TIMEOUT = 120
START_TIMEOUT = 60
ROLE = "k8smcp"


@dataclass
class Postgres:
    url: str  # postgresql://k8smcp:<password>@127.0.0.1:<port>/k8smcp
    data_dir: Path | None  # None: a server the tests did not start
    bin_dir: Path | None
    user: str | None

    def admin_url(self, database: str) -> str:
        base, _, _ = self.url.rpartition("/")
        return f"{base}/{database}"

    def stop(self) -> None:
        if self.data_dir is None or self.bin_dir is None:
            return
        _run(
            self.user,
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
            timeout=START_TIMEOUT,
            check=False,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _run(
    user: str | None, argv: Sequence[str], *, timeout: float, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=check, cwd="/")


def _server_user() -> str | None:
    """None when this process may run postgres itself; else a non-root user to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root with neither a `postgres` nor a `nobody` user to run PostgreSQL as")


def start_postgres() -> Postgres:
    given = os.environ.get("K8S_MCP_TEST_DATABASE_URL")
    if given:
        return Postgres(url=given, data_dir=None, bin_dir=None, user=None)
    found = subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres.sh"), "bin"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if found.returncode != 0:
        raise RuntimeError(
            f"no PostgreSQL server binaries: {found.stderr.strip()} (run scripts/postgres.sh install)"
        )
    bin_dir = Path(found.stdout.strip())
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="k8s-mcp-pg-"))  # in /tmp (1777), not under pytest's 0700 folders
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    password = secrets.token_urlsafe(24)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (root, sockets, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    root.chmod(0o700)
    pwfile.chmod(0o600)
    _run(
        user,
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            ROLE,
            "--pwfile",
            str(pwfile),
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ],
        timeout=INITDB_TIMEOUT,
    )
    pwfile.unlink()
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} -c fsync=off"
    )
    _run(
        user,
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
        ],
        timeout=START_TIMEOUT + 10,
    )
    url = f"postgresql://{ROLE}:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
    server = Postgres(url=url, data_dir=data, bin_dir=bin_dir, user=user)
    create_database(server, ROLE)
    server.url = server.admin_url(ROLE)
    return server


def create_database(server: Postgres, name: str) -> str:
    """A fresh database on the server (tests that need an empty schema); returns its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.admin_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.admin_url(name)
